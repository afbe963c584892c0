#include "tickwire/middleware/arena.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string>
#include <vector>

namespace tickwire::middleware {
namespace {

TEST(Arena, HandsOutAlignedNonOverlappingBlocks) {
  Arena arena(1024);
  auto* a = static_cast<std::byte*>(arena.try_allocate(3, 1));
  auto* b = static_cast<std::byte*>(arena.try_allocate(8, 8));
  auto* c = static_cast<std::byte*>(arena.try_allocate(1, 64));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % 8, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(c) % 64, 0u);
  EXPECT_GE(b, a + 3);
  EXPECT_GE(c, b + 8);
  EXPECT_EQ(arena.used(), static_cast<std::size_t>(c + 1 - a));
}

TEST(Arena, RefusesWhenFullAndCountsEveryRefusal) {
  Arena arena(128);
  EXPECT_NE(arena.try_allocate(100, 1), nullptr);
  EXPECT_EQ(arena.try_allocate(29, 1), nullptr);
  EXPECT_EQ(arena.try_allocate(std::size_t{1} << 62, 1), nullptr);
  EXPECT_EQ(arena.failures(), 2u);
  EXPECT_NE(arena.try_allocate(28, 1), nullptr);
  EXPECT_EQ(arena.remaining(), 0u);
}

TEST(Arena, ResetMakesTheWholeBlockAvailableAgainAndKeepsTheHighWater) {
  Arena arena(256);
  void* first = arena.try_allocate(200, 8);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(arena.try_allocate(100, 8), nullptr);
  arena.reset();
  EXPECT_EQ(arena.used(), 0u);
  EXPECT_EQ(arena.try_allocate(256, 8), first);
  EXPECT_EQ(arena.high_water(), 256u);
}

TEST(Arena, PmrContainersLiveInTheArenaUntilItRunsOutThenThrowWithoutFallingBackToMalloc) {
  Arena arena(4096, "test-arena");
  {
    std::pmr::vector<std::uint64_t> v(&arena);
    v.reserve(64);
    for (std::uint64_t i = 0; i < 64; ++i) v.push_back(i);
    const auto* p = reinterpret_cast<const std::byte*>(v.data());
    const auto* base = static_cast<const std::byte*>(arena.try_allocate(0, 1)) - arena.used();
    EXPECT_GE(p, base);
    EXPECT_LT(p, base + arena.capacity());
    std::pmr::string s("a string long enough to need the heap in std::string", &arena);
    EXPECT_EQ(s.get_allocator().resource(), &arena);
    std::pmr::vector<std::byte> big(&arena);
    try {
      big.resize(8192);
      ADD_FAILURE() << "an 8 KiB vector fitted in a 4 KiB arena";
    } catch (const ArenaExhausted& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("test-arena"), std::string::npos) << what;
      EXPECT_NE(what.find("8192"), std::string::npos) << what;
      EXPECT_NE(what.find("4096"), std::string::npos) << what;
    }
    EXPECT_EQ(arena.failures(), 1u);
  }
  arena.reset();
  EXPECT_EQ(arena.used(), 0u);
}

TEST(Arena, WorksOverCallerMemoryWithoutOwningIt) {
  alignas(64) std::array<std::byte, 512> storage{};
  Arena arena(storage);
  std::pmr::monotonic_buffer_resource chained(64, &arena);  // a pmr resource may sit on top of the arena
  void* p = chained.allocate(32, 8);
  EXPECT_GE(static_cast<std::byte*>(p), storage.data());
  EXPECT_LT(static_cast<std::byte*>(p), storage.data() + storage.size());
  EXPECT_TRUE(arena.is_equal(arena));
  Arena other(64);
  EXPECT_FALSE(arena.is_equal(other));
}

}  // namespace
}  // namespace tickwire::middleware
