#include "tickwire/middleware/chase_lev_deque.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "middleware/queue_test_support.hpp"

namespace tickwire::middleware {
namespace {

using testing::kStressDivisor;
using Deque = ChaseLevDeque<std::uint64_t>;

TEST(ChaseLevDeque, OwnerTakesLifoAndThievesStealFifo) {
  Deque d(8);
  for (std::uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(d.push(i));
  std::uint64_t out = 0;
  ASSERT_TRUE(d.take(out));
  EXPECT_EQ(out, 4u);
  auto s = d.steal();
  ASSERT_EQ(s.status, Deque::StealResult::kSuccess);
  EXPECT_EQ(s.value, 1u);
  ASSERT_TRUE(d.take(out));
  EXPECT_EQ(out, 3u);
  ASSERT_TRUE(d.take(out));
  EXPECT_EQ(out, 2u);
  EXPECT_FALSE(d.take(out));
  EXPECT_EQ(d.steal().status, Deque::StealResult::kEmpty);
}

TEST(ChaseLevDeque, IsBoundedAndReportsFullInsteadOfGrowing) {
  Deque d(4);
  EXPECT_EQ(d.capacity(), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(d.push(i));
  EXPECT_FALSE(d.push(99));
  ASSERT_EQ(d.steal().status, Deque::StealResult::kSuccess);
  EXPECT_TRUE(d.push(99));
  EXPECT_EQ(d.size_approx(), 4u);
}

TEST(ChaseLevDeque, WrapsAroundTheBufferManyTimes) {
  Deque d(4);
  std::uint64_t next = 0;
  std::uint64_t out = 0;
  for (int round = 0; round < 1000; ++round) {
    ASSERT_TRUE(d.push(next));
    ASSERT_TRUE(d.push(next + 1));
    ASSERT_EQ(d.steal().value, next);
    ASSERT_TRUE(d.take(out));
    ASSERT_EQ(out, next + 1);
    next += 2;
  }
}

// Every pushed item is taken by the owner or stolen by a thief exactly once,
// including the last-item race between take() and steal().
TEST(ChaseLevDeque, EveryItemIsTakenOrStolenExactlyOnceUnderConcurrentThieves) {
  const std::uint64_t kItems = 400'000 / kStressDivisor;
  constexpr int kThieves = 3;
  Deque d(64);
  std::vector<std::atomic<std::uint8_t>> seen(kItems);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> stolen{0};
  std::vector<std::thread> thieves;
  for (int t = 0; t < kThieves; ++t) {
    thieves.emplace_back([&] {
      std::uint64_t mine = 0;
      while (!done.load(std::memory_order_acquire)) {  // pairs with the owner's release
        const auto r = d.steal();
        if (r.status == Deque::StealResult::kSuccess) {
          seen[r.value].fetch_add(1, std::memory_order_relaxed);  // checked after join
          ++mine;
        }
      }
      stolen.fetch_add(mine, std::memory_order_relaxed);  // read after join
    });
  }
  std::uint64_t taken = 0;
  std::uint64_t out = 0;
  for (std::uint64_t i = 0; i < kItems; ++i) {
    while (!d.push(i)) {
      if (d.take(out)) {
        seen[out].fetch_add(1, std::memory_order_relaxed);  // checked after join
        ++taken;
      }
    }
    if (i % 3 == 0 && d.take(out)) {  // keep the deque short so take() and steal() race for the last item
      seen[out].fetch_add(1, std::memory_order_relaxed);  // checked after join
      ++taken;
    }
  }
  while (d.take(out)) {
    seen[out].fetch_add(1, std::memory_order_relaxed);  // checked after join
    ++taken;
  }
  done.store(true, std::memory_order_release);  // pairs with the thieves' acquire
  for (auto& t : thieves) t.join();
  EXPECT_EQ(taken + stolen.load(std::memory_order_relaxed), kItems);  // after join
  std::uint64_t wrong = 0;
  for (auto& s : seen) wrong += s.load(std::memory_order_relaxed) != 1;  // after join
  EXPECT_EQ(wrong, 0u);
}

}  // namespace
}  // namespace tickwire::middleware
