#include "tickwire/middleware/cache_padded.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>

namespace tickwire::middleware {
namespace {

struct TwoCounters {
  CachePadded<std::atomic<std::uint64_t>> a;
  CachePadded<std::atomic<std::uint64_t>> b;
};

TEST(CachePadded, AdjacentValuesLiveOnDifferentCacheLines) {
  TwoCounters c;
  auto pa = reinterpret_cast<std::uintptr_t>(&c.a.value);
  auto pb = reinterpret_cast<std::uintptr_t>(&c.b.value);
  EXPECT_EQ(pa % kCacheLineSize, 0u);
  EXPECT_GE(pb - pa, kCacheLineSize);
  EXPECT_NE(pa / kCacheLineSize, pb / kCacheLineSize);
}

TEST(CachePadded, ForwardsConstructorArguments) {
  CachePadded<std::uint64_t> v(std::in_place, 42u);
  EXPECT_EQ(*v, 42u);
}

}  // namespace
}  // namespace tickwire::middleware
