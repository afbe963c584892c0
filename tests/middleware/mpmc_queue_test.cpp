#include "tickwire/middleware/mpmc_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "middleware/queue_test_support.hpp"

namespace tickwire::middleware {
namespace {

using testing::encode_item;
using testing::item_producer;
using testing::item_seq;
using testing::kStressDivisor;
using testing::Tracked;

TEST(MpmcQueue, RoundsCapacityUpToAPowerOfTwo) {
  EXPECT_EQ(MpmcQueue<int>(5).capacity(), 8u);
  EXPECT_EQ(MpmcQueue<int>(8).capacity(), 8u);
  EXPECT_EQ(MpmcQueue<int>(0).capacity(), 2u);
}

TEST(MpmcQueue, FillsToExactlyCapacityThenRefusesAPush) {
  MpmcQueue<int> q(4);
  int out = 0;
  EXPECT_FALSE(q.try_pop(out));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(q.try_push(i));
  EXPECT_FALSE(q.try_push(4));
  EXPECT_EQ(q.size_approx(), 4u);
  ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(out, 0);
  EXPECT_TRUE(q.try_push(4));
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(q.try_pop(), i);
  EXPECT_FALSE(q.try_pop().has_value());
  EXPECT_EQ(q.size_approx(), 0u);
}

TEST(MpmcQueue, WrapsAroundManyTimesKeepingOrder) {
  MpmcQueue<std::uint64_t> q(8);
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int burst = 1 + round % 8;
    for (int i = 0; i < burst; ++i) ASSERT_TRUE(q.try_push(next_in++));
    for (int i = 0; i < burst; ++i) ASSERT_EQ(q.try_pop(), next_out++);
  }
}

TEST(MpmcQueue, NeitherLeaksNorDoubleDestroysTrackedElements) {
  Tracked::reset();
  {
    MpmcQueue<Tracked> q(8);
    for (int round = 0; round < 50; ++round) {
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.try_emplace(i));
      Tracked t(-1);
      ASSERT_TRUE(q.try_pop(t));
      EXPECT_EQ(t.value(), 0);
      for (int i = 1; i < 5; ++i) ASSERT_EQ(q.try_pop()->value(), i);
    }
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.try_emplace(i));
    (void)q.try_pop();
    const Tracked copy(9);
    ASSERT_TRUE(q.try_push(copy));
    ASSERT_TRUE(q.try_push(Tracked(10)));
  }
  EXPECT_EQ(Tracked::live(), 0);
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

TEST(MpmcQueue, CarriesMoveOnlyElements) {
  MpmcQueue<std::unique_ptr<int>> q(2);
  ASSERT_TRUE(q.try_push(std::make_unique<int>(1)));
  ASSERT_TRUE(q.try_emplace(new int(2)));
  auto third = std::make_unique<int>(3);
  EXPECT_FALSE(q.try_push(std::move(third)));
  ASSERT_NE(third, nullptr);
  std::unique_ptr<int> out;
  ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(*out, 1);
  EXPECT_EQ(**q.try_pop(), 2);
}

TEST(MpmcQueue, RefusesPushesAfterCloseAndStillDrains) {
  MpmcQueue<int> q(4);
  ASSERT_TRUE(q.try_push(1));
  ASSERT_TRUE(q.try_push(2));
  EXPECT_FALSE(q.is_closed());
  q.close();
  q.close();
  EXPECT_TRUE(q.is_closed());
  EXPECT_FALSE(q.try_push(3));
  EXPECT_FALSE(q.closed_and_drained());
  EXPECT_EQ(q.try_pop(), 1);
  EXPECT_EQ(q.try_pop(), 2);
  EXPECT_FALSE(q.try_pop().has_value());
  EXPECT_TRUE(q.closed_and_drained());
}

// Producers push (producer, sequence) pairs; every item must be popped once,
// and each consumer must see each producer's items in increasing order.
void run_stress(int producers, int consumers, std::uint64_t per_producer) {
  MpmcQueue<std::uint64_t> q(1024);
  std::vector<std::vector<std::atomic<std::uint8_t>>> seen;
  for (int p = 0; p < producers; ++p) seen.emplace_back(per_producer);
  std::atomic<std::uint64_t> popped{0};
  std::atomic<std::uint64_t> order_errors{0};
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);

  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&q, p, per_producer] {
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        while (!q.try_push(encode_item(static_cast<std::uint64_t>(p), i))) std::this_thread::yield();
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&, producers] {
      std::vector<std::int64_t> last(static_cast<std::size_t>(producers), -1);
      std::uint64_t errors = 0;
      // relaxed: a progress counter; results are read after join.
      while (popped.load(std::memory_order_relaxed) < total) {
        std::uint64_t v = 0;
        if (!q.try_pop(v)) {
          std::this_thread::yield();
          continue;
        }
        const auto producer = static_cast<std::size_t>(item_producer(v));
        const auto seq = static_cast<std::int64_t>(item_seq(v));
        errors += (seq <= last[producer]);
        last[producer] = seq;
        seen[producer][static_cast<std::size_t>(seq)].fetch_add(1, std::memory_order_relaxed);  // read after join
        popped.fetch_add(1, std::memory_order_relaxed);  // a progress counter; results are read after join
      }
      order_errors.fetch_add(errors, std::memory_order_relaxed);  // read after join
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(order_errors.load(std::memory_order_relaxed), 0u);  // threads joined
  EXPECT_EQ(popped.load(std::memory_order_relaxed), total);     // threads joined
  std::uint64_t wrong = 0;
  for (auto& per : seen) {
    for (auto& count : per) wrong += (count.load(std::memory_order_relaxed) != 1);  // threads joined
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(q.size_approx(), 0u);
}

TEST(MpmcQueue, TwoProducersAndTwoConsumersLoseAndDuplicateNothing) {
  run_stress(2, 2, 1'000'000 / kStressDivisor);
}

TEST(MpmcQueue, FourProducersAndFourConsumersLoseAndDuplicateNothing) {
  run_stress(4, 4, 500'000 / kStressDivisor);
}

}  // namespace
}  // namespace tickwire::middleware
