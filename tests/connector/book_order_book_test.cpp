#include "tickwire/connector/book/order_book.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <vector>

namespace tickwire::connector::book {
namespace {

PriceLevel lv(std::int64_t price_m, std::int8_t price_e, std::int64_t size_m, std::int8_t size_e = 0) {
  return {{price_m, price_e}, {size_m, size_e}};
}

TEST(CompareDecimal, ComparesExactlyAcrossExponents) {
  EXPECT_EQ(compare_decimal({35, -2}, {3500, -4}), std::strong_ordering::equal);
  EXPECT_EQ(compare_decimal({35, -2}, {3501, -4}), std::strong_ordering::less);
  EXPECT_EQ(compare_decimal({3501, -4}, {35, -2}), std::strong_ordering::greater);
  EXPECT_EQ(compare_decimal({-1, 0}, {1, -30}), std::strong_ordering::less);
  // Exponent gaps beyond int64's range of powers of ten: only signs decide.
  EXPECT_EQ(compare_decimal({1, 40}, {INT64_MAX, 0}), std::strong_ordering::greater);
  EXPECT_EQ(compare_decimal({-1, 40}, {INT64_MIN, 0}), std::strong_ordering::less);
  EXPECT_EQ(compare_decimal({0, 40}, {-5, 0}), std::strong_ordering::greater);
  EXPECT_EQ(compare_decimal({0, 40}, {0, -3}), std::strong_ordering::equal);
  // The largest mantissa scaled by 10^18 still compares exactly.
  EXPECT_EQ(compare_decimal({INT64_MAX, 18}, {INT64_MAX, 0}), std::strong_ordering::greater);
}

TEST(OrderBook, AppliesAbsoluteSizesAndDeletesOnZero) {
  OrderBook b;
  ASSERT_TRUE(b.apply(std::array{lv(100, 0, 5), lv(99, 0, 7), lv(101, 0, 1)}, std::array{lv(103, 0, 2), lv(102, 0, 4)}));
  ASSERT_NE(b.best_bid(), nullptr);
  EXPECT_EQ(*b.best_bid(), lv(101, 0, 1));
  EXPECT_EQ(*b.best_ask(), lv(102, 0, 4));
  ASSERT_TRUE(b.set_level(BookSide::kBid, lv(101, 0, 9)));  // replace, not add
  EXPECT_EQ(b.best_bid()->size, (Decimal{9, 0}));
  ASSERT_TRUE(b.set_level(BookSide::kBid, lv(1010, -1, 0)));  // "101.0" deletes "101"
  EXPECT_EQ(*b.best_bid(), lv(100, 0, 5));
  ASSERT_TRUE(b.set_level(BookSide::kAsk, lv(50, 0, 0)));  // deleting an absent level is a no-op
  EXPECT_EQ(b.depth(BookSide::kBid), 2u);
  EXPECT_EQ(b.depth(BookSide::kAsk), 2u);
  EXPECT_EQ(b.levels(BookSide::kBid), (std::vector{lv(100, 0, 5), lv(99, 0, 7)}));
  EXPECT_EQ(b.levels(BookSide::kAsk), (std::vector{lv(102, 0, 4), lv(103, 0, 2)}));
}

TEST(OrderBook, RejectsANegativeSizeWithoutApplyingAnything) {
  OrderBook b;
  ASSERT_TRUE(b.apply(std::array{lv(100, 0, 5)}, std::array{lv(102, 0, 4)}));
  EXPECT_FALSE(b.apply(std::array{lv(99, 0, 1)}, std::array{lv(102, 0, 0), lv(103, 0, -1)}));
  EXPECT_EQ(b.depth(BookSide::kBid), 1u);
  EXPECT_EQ(*b.best_ask(), lv(102, 0, 4));
  EXPECT_FALSE(b.set_level(BookSide::kBid, lv(100, 0, -5)));
  EXPECT_EQ(*b.best_bid(), lv(100, 0, 5));
}

TEST(OrderBook, DetectsCrossedAndLockedBooks) {
  OrderBook b;
  ASSERT_TRUE(b.apply(std::array{lv(100, 0, 5)}, std::array{lv(1005, -1, 4)}));
  EXPECT_FALSE(b.crossed());
  ASSERT_TRUE(b.set_level(BookSide::kBid, lv(10050, -2, 1)));  // 100.50 == 100.5: locked
  EXPECT_TRUE(b.crossed());
  ASSERT_TRUE(b.set_level(BookSide::kBid, lv(10050, -2, 0)));
  ASSERT_TRUE(b.set_level(BookSide::kBid, lv(101, 0, 1)));
  EXPECT_TRUE(b.crossed());
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_FALSE(b.crossed());
  EXPECT_EQ(b.best_bid(), nullptr);
}

TEST(OrderBook, FillsTopNIntoTheCallersBuffer) {
  OrderBook b;
  std::vector<PriceLevel> bids;
  for (int i = 1; i <= 20; ++i) bids.push_back(lv(i, 0, i));
  ASSERT_TRUE(b.load(bids, std::array{lv(30, 0, 1), lv(31, 0, 1)}));
  std::array<PriceLevel, 5> out{};
  ASSERT_EQ(b.top(BookSide::kBid, out), 5u);
  EXPECT_EQ(out[0], lv(20, 0, 20));
  EXPECT_EQ(out[4], lv(16, 0, 16));
  ASSERT_EQ(b.top(BookSide::kAsk, out), 2u);
  EXPECT_EQ(out[0], lv(30, 0, 1));
  EXPECT_EQ(out[1], lv(31, 0, 1));
}

TEST(OrderBook, LoadReplacesTheBookAndRejectsNegativeSnapshots) {
  OrderBook b;
  ASSERT_TRUE(b.apply(std::array{lv(1, 0, 1)}, {}));
  ASSERT_TRUE(b.load(std::array{lv(5, 0, 1), lv(4, 0, 1)}, std::array{lv(6, 0, 1)}));
  EXPECT_EQ(b.levels(BookSide::kBid), (std::vector{lv(5, 0, 1), lv(4, 0, 1)}));
  EXPECT_FALSE(b.load(std::array{lv(5, 0, -1)}, {}));
  EXPECT_TRUE(b.empty());
}

TEST(OrderBook, ComparesBooksByExactValue) {
  OrderBook a, b;
  ASSERT_TRUE(a.apply(std::array{lv(35, -2, 10)}, std::array{lv(36, -2, 1)}));
  ASSERT_TRUE(b.apply(std::array{lv(3500, -4, 1000, -2)}, std::array{lv(36, -2, 1)}));
  EXPECT_TRUE(a == b);
  ASSERT_TRUE(b.set_level(BookSide::kAsk, lv(37, -2, 1)));
  EXPECT_FALSE(a == b);
}

// The same random update stream applied to the book and to a std::map model
// gives the same levels: covers the linear scan, the binary search and
// insertion at every depth.
TEST(OrderBook, MatchesAMapModelOnRandomUpdates) {
  std::mt19937_64 rng(7);
  OrderBook b(16);
  std::map<std::int64_t, std::int64_t, std::greater<>> bids;
  std::map<std::int64_t, std::int64_t> asks;
  for (int i = 0; i < 20000; ++i) {
    const bool bid = rng() % 2 == 0;
    // Clustered near the top: a geometric-ish distance from the mid.
    const auto distance = static_cast<std::int64_t>(rng() % 4 == 0 ? rng() % 500 : rng() % 12);
    const std::int64_t price = bid ? 10000 - distance : 10001 + distance;
    const auto size = static_cast<std::int64_t>(rng() % 3 == 0 ? 0 : rng() % 100 + 1);
    // Alternate exponents for the same value to exercise exact comparison.
    const PriceLevel level = i % 2 ? lv(price, 0, size) : lv(price * 100, -2, size);
    ASSERT_TRUE(b.set_level(bid ? BookSide::kBid : BookSide::kAsk, level));
    if (bid) {
      if (size == 0) bids.erase(price); else bids[price] = size;
    } else {
      if (size == 0) asks.erase(price); else asks[price] = size;
    }
  }
  auto check = [](const std::vector<PriceLevel>& got, const auto& model) {
    ASSERT_EQ(got.size(), model.size());
    std::size_t i = 0;
    for (const auto& [price, size] : model) {
      EXPECT_EQ(compare_decimal(got[i].price, {price, 0}), std::strong_ordering::equal) << i;
      EXPECT_EQ(got[i].size, (Decimal{size, 0})) << i;
      ++i;
    }
  };
  check(b.levels(BookSide::kBid), bids);
  check(b.levels(BookSide::kAsk), asks);
  EXPECT_FALSE(b.crossed());
}

}  // namespace
}  // namespace tickwire::connector::book
