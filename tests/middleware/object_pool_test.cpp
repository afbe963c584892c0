#include "tickwire/middleware/object_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "middleware/queue_test_support.hpp"
#include "tickwire/middleware/mpmc_queue.hpp"

namespace tickwire::middleware {
namespace {

using testing::kStressDivisor;
using testing::Tracked;

static_assert(!std::is_copy_constructible_v<ObjectPool<int>::Handle>, "handles are move-only");
static_assert(std::is_nothrow_move_constructible_v<ObjectPool<int>::Handle>);

template <typename Pool>
class ObjectPoolBothVariants : public ::testing::Test {};
using PoolTypes = ::testing::Types<ObjectPool<Tracked>, LocalObjectPool<Tracked>>;
TYPED_TEST_SUITE(ObjectPoolBothVariants, PoolTypes);

TYPED_TEST(ObjectPoolBothVariants, ConstructsOnAcquireAndDestroysOnHandleDestruction) {
  Tracked::reset();
  {
    TypeParam pool(4);
    {
      auto a = pool.try_acquire(1);
      auto b = pool.try_acquire(2);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(a->value(), 1);
      EXPECT_EQ((*b).value(), 2);
      EXPECT_EQ(Tracked::live(), 2);
      EXPECT_EQ(pool.stats().in_use, 2u);
    }
    EXPECT_EQ(Tracked::live(), 0);
    EXPECT_EQ(pool.stats().in_use, 0u);
    EXPECT_EQ(pool.stats().high_water, 2u);
  }
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

TYPED_TEST(ObjectPoolBothVariants, CountsExhaustionAndReturnsAnEmptyHandleInsteadOfCrashing) {
  Tracked::reset();
  TypeParam pool(2);
  auto a = pool.try_acquire(1);
  auto b = pool.try_acquire(2);
  auto c = pool.try_acquire(3);
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(c);
  EXPECT_EQ(c.get(), nullptr);
  EXPECT_EQ(pool.stats().exhausted, 1u);
  EXPECT_EQ(Tracked::live(), 2);  // the refused acquire constructed nothing
  a.reset();
  auto d = pool.try_acquire(4);
  EXPECT_TRUE(d);
  EXPECT_EQ(pool.stats().exhausted, 1u);
  EXPECT_EQ(pool.stats().high_water, 2u);
}

TYPED_TEST(ObjectPoolBothVariants, MovingAHandleTransfersOwnershipWithoutDestroying) {
  Tracked::reset();
  {
    TypeParam pool(2);
    auto a = pool.try_acquire(7);
    auto* raw = a.get();
    typename TypeParam::Handle b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is specified empty
    EXPECT_EQ(b.get(), raw);
    EXPECT_EQ(Tracked::live(), 1);
    auto c = pool.try_acquire(8);
    c = std::move(b);  // c's old object is destroyed, b's moves in
    EXPECT_EQ(Tracked::live(), 1);
    EXPECT_EQ(c->value(), 7);
    EXPECT_EQ(pool.stats().in_use, 1u);
  }
  EXPECT_EQ(Tracked::live(), 0);
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

TYPED_TEST(ObjectPoolBothVariants, ReusesEverySlotManyTimesWithoutLeaking) {
  Tracked::reset();
  {
    TypeParam pool(8);
    std::vector<typename TypeParam::Handle> held;
    for (int round = 0; round < 1000; ++round) {
      const int n = 1 + round % 8;
      for (int i = 0; i < n; ++i) held.push_back(pool.try_acquire(i));
      for (auto& h : held) ASSERT_TRUE(h);
      held.clear();
    }
    EXPECT_EQ(pool.stats().exhausted, 0u);
    EXPECT_EQ(pool.stats().high_water, 8u);
  }
  EXPECT_EQ(Tracked::live(), 0);
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

TYPED_TEST(ObjectPoolBothVariants, ReleasedPointersComeBackThroughAdopt) {
  Tracked::reset();
  TypeParam pool(1);
  Tracked* raw = pool.try_acquire(5).release();
  EXPECT_EQ(pool.stats().in_use, 1u);
  EXPECT_EQ(Tracked::live(), 1);
  {
    auto back = pool.adopt(raw);
    EXPECT_EQ(back->value(), 5);
  }
  EXPECT_EQ(pool.stats().in_use, 0u);
  EXPECT_EQ(Tracked::live(), 0);
}

struct ThrowsOnNegative {
  explicit ThrowsOnNegative(int v) {
    if (v < 0) throw std::invalid_argument("negative");
  }
};

TEST(ObjectPool, FreesTheSlotWhenTheConstructorThrows) {
  ObjectPool<ThrowsOnNegative> pool(1);
  EXPECT_THROW((void)pool.try_acquire(-1), std::invalid_argument);
  EXPECT_EQ(pool.stats().in_use, 0u);
  EXPECT_TRUE(pool.try_acquire(1));
}

TEST(ObjectPool, HonoursOverAlignedTypes) {
  struct alignas(128) Wide {
    std::uint8_t b = 0;
  };
  ObjectPool<Wide> pool(3);
  std::vector<ObjectPool<Wide>::Handle> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(pool.try_acquire());
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(held.back().get()) % 128, 0u);
  }
}

TEST(ObjectPool, HandlesMovedToAnotherThreadAreReleasedThereWithoutLeaks) {
  Tracked::reset();
  constexpr std::uint32_t kCapacity = 64;
  const int kItems = static_cast<int>(200'000 / kStressDivisor);
  {
    ObjectPool<Tracked> pool(kCapacity);
    MpmcQueue<ObjectPool<Tracked>::Handle> handoff(kCapacity);
    std::atomic<bool> producers_done{false};
    std::atomic<long> received_sum{0};
    std::vector<std::thread> consumers;
    for (int c = 0; c < 2; ++c) {
      consumers.emplace_back([&] {
        long sum = 0;
        for (;;) {
          ObjectPool<Tracked>::Handle h;
          if (handoff.try_pop(h)) {
            sum += h->value();  // h dies here, on this thread
            continue;
          }
          if (producers_done.load(std::memory_order_acquire) && handoff.size_approx() == 0) break;  // pairs with the release below
          std::this_thread::yield();
        }
        received_sum.fetch_add(sum, std::memory_order_relaxed);  // read after join
      });
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p) {
      producers.emplace_back([&] {
        for (int i = 1; i <= kItems; ++i) {
          ObjectPool<Tracked>::Handle h;
          while (!(h = pool.try_acquire(1))) std::this_thread::yield();
          while (!handoff.try_push(std::move(h))) std::this_thread::yield();
        }
      });
    }
    for (auto& t : producers) t.join();
    producers_done.store(true, std::memory_order_release);  // pairs with the consumers' acquire
    for (auto& t : consumers) t.join();
    EXPECT_EQ(received_sum.load(std::memory_order_relaxed), 2L * kItems);  // after join
    const PoolStats s = pool.stats();
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_LE(s.high_water, kCapacity);
    EXPECT_GT(s.high_water, 0u);
  }
  EXPECT_EQ(Tracked::live(), 0);
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

TEST(ObjectPool, ConcurrentAcquirersNeverShareASlotAndCountEveryRefusal) {
  constexpr std::uint32_t kCapacity = 4;
  const int kRounds = static_cast<int>(100'000 / kStressDivisor);
  ObjectPool<std::atomic<int>> pool(kCapacity);
  std::atomic<std::uint64_t> refused{0};
  std::atomic<bool> shared_slot{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::uint64_t mine = 0;
      for (int i = 0; i < kRounds; ++i) {
        auto h = pool.try_acquire(0);
        if (!h) {
          ++mine;
          continue;
        }
        // A slot owned by two handles at once would see the other's increment.
        if (h->fetch_add(1, std::memory_order_relaxed) != 0) shared_slot.store(true, std::memory_order_relaxed);  // a flag read after join
      }
      refused.fetch_add(mine, std::memory_order_relaxed);  // read after join
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(shared_slot.load(std::memory_order_relaxed));  // after join
  EXPECT_EQ(pool.stats().exhausted, refused.load(std::memory_order_relaxed));  // after join
  EXPECT_EQ(pool.stats().in_use, 0u);
  EXPECT_LE(pool.stats().high_water, kCapacity);
}

}  // namespace
}  // namespace tickwire::middleware
