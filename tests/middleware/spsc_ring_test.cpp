#include "tickwire/middleware/spsc_ring.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "middleware/queue_test_support.hpp"

namespace tickwire::middleware {
namespace {

using testing::kStressDivisor;
using testing::Tracked;

TEST(SpscRing, StartsEmptyWithItsCapacity) {
  SpscRing<int, 8> ring;
  EXPECT_EQ(ring.capacity(), 8u);
  EXPECT_EQ(ring.size_approx(), 0u);
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.front(), nullptr);
  int out = 0;
  EXPECT_FALSE(ring.try_pop(out));
  EXPECT_FALSE(ring.try_pop().has_value());
}

TEST(SpscRing, FillsToExactlyCapacityThenRefusesAPush) {
  SpscRing<int, 4> ring;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.try_push(i));
  EXPECT_EQ(ring.size_approx(), 4u);
  EXPECT_FALSE(ring.try_push(99));
  EXPECT_FALSE(ring.try_emplace(99));
  EXPECT_EQ(*ring.front(), 0);
  ring.pop();
  EXPECT_TRUE(ring.try_push(4));
  EXPECT_FALSE(ring.try_push(5));
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(ring.try_pop(), i);
  EXPECT_TRUE(ring.empty());
}

TEST(SpscRing, WrapsAroundManyTimesKeepingOrder) {
  SpscRing<std::uint64_t, 8> ring;
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int burst = 1 + round % 8;
    for (int i = 0; i < burst; ++i) ASSERT_TRUE(ring.try_push(next_in++));
    for (int i = 0; i < burst; ++i) {
      std::uint64_t v = 0;
      ASSERT_TRUE(ring.try_pop(v));
      ASSERT_EQ(v, next_out++);
    }
  }
  EXPECT_TRUE(ring.empty());
}

TEST(SpscRing, PushNStopsAtFullAndReportsHowManyWentIn) {
  SpscRing<int, 8> ring;
  std::vector<int> in(12);
  std::iota(in.begin(), in.end(), 0);
  EXPECT_EQ(ring.try_push_n(in.begin(), 5), 5u);
  EXPECT_EQ(ring.try_push_n(in.begin() + 5, 7), 3u);
  EXPECT_EQ(ring.try_push_n(in.begin(), 1), 0u);
  std::vector<int> out;
  EXPECT_EQ(ring.pop_n(std::back_inserter(out), 6), 6u);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ring.try_push_n(in.begin() + 8, 4), 4u);
  out.clear();
  EXPECT_EQ(ring.pop_n(std::back_inserter(out), 100), 6u);
  EXPECT_EQ(out, (std::vector<int>{6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(ring.pop_n(std::back_inserter(out), 100), 0u);
}

TEST(SpscRing, ConsumeAllDrainsEverythingVisibleInOrderAcrossTheWrap) {
  SpscRing<int, 8> ring;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(ring.try_push(i));
  ASSERT_EQ(ring.consume_up_to(5, [](int&&) {}), 5u);
  for (int i = 6; i < 13; ++i) ASSERT_TRUE(ring.try_push(i));
  std::vector<int> seen;
  EXPECT_EQ(ring.consume_all([&seen](int&& v) { seen.push_back(v); }), 8u);
  EXPECT_EQ(seen, (std::vector<int>{5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(ring.consume_all([](int&&) {}), 0u);
  EXPECT_TRUE(ring.empty());
}

TEST(SpscRing, ConsumeAllLeavesTheThrowingElementAndLaterOnesInTheRing) {
  SpscRing<int, 8> ring;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring.try_push(i));
  std::vector<int> seen;
  EXPECT_THROW(ring.consume_all([&seen](int&& v) {
    if (v == 2) throw std::runtime_error("stop");
    seen.push_back(v);
  }),
               std::runtime_error);
  EXPECT_EQ(seen, (std::vector<int>{0, 1}));
  EXPECT_EQ(ring.size_approx(), 3u);
  EXPECT_EQ(*ring.front(), 2);
}

TEST(SpscRing, NeitherLeaksNorDoubleDestroysTrackedElements) {
  Tracked::reset();
  {
    SpscRing<Tracked, 8> ring;
    for (int round = 0; round < 50; ++round) {
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring.try_emplace(i));
      Tracked t(-1);
      ASSERT_TRUE(ring.try_pop(t));
      ASSERT_EQ(ring.try_pop()->value(), 1);
      ring.pop();
      std::vector<Tracked> out;
      ring.pop_n(std::back_inserter(out), 1);
      ring.consume_all([](Tracked&&) {});
    }
    const std::array<Tracked, 3> batch{Tracked(1), Tracked(2), Tracked(3)};
    ASSERT_EQ(ring.try_push_n(batch.begin(), batch.size()), 3u);
    ASSERT_TRUE(ring.try_push(Tracked(4)));
  }
  EXPECT_EQ(Tracked::live(), 0);
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

TEST(SpscRing, DestroysElementsLeftInTheRingAfterWrapping) {
  Tracked::reset();
  {
    SpscRing<Tracked, 4> ring;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(ring.try_emplace(i));
    ring.consume_all([](Tracked&&) {});
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_emplace(i));
    EXPECT_EQ(Tracked::live(), 4);
  }
  EXPECT_EQ(Tracked::live(), 0);
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

TEST(SpscRing, CarriesMoveOnlyElements) {
  SpscRing<std::unique_ptr<int>, 4> ring;
  ASSERT_TRUE(ring.try_push(std::make_unique<int>(1)));
  ASSERT_TRUE(ring.try_emplace(new int(2)));
  std::vector<std::unique_ptr<int>> batch;
  batch.push_back(std::make_unique<int>(3));
  ASSERT_EQ(ring.try_push_n(std::make_move_iterator(batch.begin()), 1), 1u);
  std::unique_ptr<int> out;
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_EQ(*out, 1);
  EXPECT_EQ(**ring.try_pop(), 2);
  std::vector<std::unique_ptr<int>> rest;
  ring.pop_n(std::back_inserter(rest), 4);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(*rest[0], 3);
  ASSERT_TRUE(ring.try_emplace(new int(4)));
}

TEST(SpscRing, ARefusedPushLeavesTheMoveOnlyArgumentIntact) {
  SpscRing<std::unique_ptr<int>, 2> ring;
  ASSERT_TRUE(ring.try_push(std::make_unique<int>(1)));
  ASSERT_TRUE(ring.try_push(std::make_unique<int>(2)));
  auto third = std::make_unique<int>(3);
  EXPECT_FALSE(ring.try_push(std::move(third)));
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(*third, 3);
}

// Producer and consumer on two threads mixing single and batch calls; the
// consumer checks that it sees 0, 1, 2, ... with nothing lost or repeated.
// A side that cannot proceed yields, so the test also runs well on a busy machine.
TEST(SpscRing, DeliversMillionsOfItemsInOrderAcrossTwoThreads) {
  constexpr std::uint64_t kItems = 4'000'000 / kStressDivisor;
  auto ring = std::make_unique<SpscRing<std::uint64_t, 1024>>();
  std::thread producer([&ring] {
    std::array<std::uint64_t, 16> batch{};
    std::uint64_t next = 0;
    while (next < kItems) {
      if (next % 3 == 0) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(batch.size(), kItems - next));
        for (std::size_t i = 0; i < want; ++i) batch[i] = next + i;
        const std::size_t pushed = ring->try_push_n(batch.begin(), want);
        next += pushed;
        if (pushed == 0) std::this_thread::yield();
      } else if (ring->try_push(next)) {
        ++next;
      } else {
        std::this_thread::yield();
      }
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t errors = 0;
  while (expected < kItems) {
    std::size_t got = 0;
    switch (expected % 3) {
      case 0:
        got = ring->consume_all([&](std::uint64_t&& v) { errors += (v != expected++); });
        break;
      case 1:
        if (const std::uint64_t* p = ring->front()) {
          errors += (*p != expected++);
          ring->pop();
          got = 1;
        }
        break;
      default:
        if (auto v = ring->try_pop()) {
          errors += (*v != expected++);
          got = 1;
        }
        break;
    }
    if (got == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(expected, kItems);
  EXPECT_TRUE(ring->empty());
}

}  // namespace
}  // namespace tickwire::middleware
