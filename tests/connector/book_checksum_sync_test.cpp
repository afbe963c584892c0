// ChecksumSync: the in-stream checksum policy over Kraken's real checksum
// function (kraken::book_checksum at a precision the test sets, or none yet).
#include "tickwire/connector/book/checksum_sync.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "tickwire/connector/venues/kraken/checksum.hpp"

namespace tickwire::connector::book {
namespace {

// KrakenSum: Kraken's checksum at price precision 1 and qty precision 8, once `ready`.
class KrakenSum final : public BookChecksum {
 public:
  bool ready = true;
  std::optional<std::uint32_t> checksum(std::string_view, std::span<const PriceLevel> bids,
                                        std::span<const PriceLevel> asks) const override {
    if (!ready) return std::nullopt;
    return venues::kraken::book_checksum(asks, bids, 1, 8);
  }
};

PriceLevel lvl(std::int64_t price_tenths, std::int64_t qty) { return {Decimal{price_tenths, -1}, Decimal{qty, 0}}; }

// sum_of: the checksum a book of these levels (best first) has.
std::uint32_t sum_of(const std::vector<PriceLevel>& bids, const std::vector<PriceLevel>& asks) {
  return venues::kraken::book_checksum(asks, bids, 1, 8);
}

BookSnapshotEvent snapshot(const std::vector<PriceLevel>& bids, const std::vector<PriceLevel>& asks, std::uint32_t sum) {
  BookSnapshotEvent s;
  s.symbol = "BTC/USD";
  s.bids = bids;
  s.asks = asks;
  s.checksum = sum;
  s.has_checksum = true;
  return s;
}

BookDeltaEvent delta(const std::vector<PriceLevel>& bids, const std::vector<PriceLevel>& asks, std::uint32_t sum) {
  BookDeltaEvent d;
  d.symbol = "BTC/USD";
  d.bids = bids;
  d.asks = asks;
  d.checksum = sum;
  d.has_checksum = true;
  return d;
}

const std::vector<PriceLevel> kBids = {lvl(1000, 1), lvl(999, 2), lvl(998, 3)};
const std::vector<PriceLevel> kAsks = {lvl(1010, 1), lvl(1011, 2), lvl(1012, 3)};

TEST(ChecksumSync, ASnapshotWithItsChecksumIsValidAndUpdatesAreNumberedOnFromIt) {
  KrakenSum sum;
  ChecksumSync sync("BTC/USD", 3, 10);
  const ChecksumResult r = sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum);
  EXPECT_EQ(r.outcome, ChecksumOutcome::kReplaced);
  EXPECT_EQ(r.reason, ChecksumReplace::kFirst);
  EXPECT_EQ(r.id, 1u);
  EXPECT_TRUE(sync.valid());
  const std::vector<PriceLevel> after_bids = {lvl(1000, 5), lvl(999, 2), lvl(998, 3)};
  const ChecksumResult u = sync.on_delta(delta({lvl(1000, 5)}, {}, sum_of(after_bids, kAsks)), &sum);
  EXPECT_EQ(u.outcome, ChecksumOutcome::kApplied);
  EXPECT_EQ(u.id, 2u);
  EXPECT_EQ(u.expected, u.computed);
  EXPECT_EQ(sync.book().levels(BookSide::kBid), after_bids);
}

TEST(ChecksumSync, AMismatchNamesBothChecksumsAndInvalidatesTheBookUntilTheNextSnapshot) {
  KrakenSum sum;
  ChecksumSync sync("BTC/USD", 3, 10);
  ASSERT_EQ(sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum).outcome, ChecksumOutcome::kReplaced);
  const std::vector<PriceLevel> after_bids = {lvl(1000, 5), lvl(999, 2), lvl(998, 3)};
  const std::uint32_t right = sum_of(after_bids, kAsks);
  const ChecksumResult r = sync.on_delta(delta({lvl(1000, 5)}, {}, right + 1), &sum);
  EXPECT_EQ(r.outcome, ChecksumOutcome::kMismatch);
  EXPECT_EQ(r.expected, right + 1);
  EXPECT_EQ(r.computed, right);
  EXPECT_FALSE(sync.valid());
  EXPECT_FALSE(sync.held());
  EXPECT_EQ(sync.on_delta(delta({lvl(1000, 6)}, {}, 0), &sum).outcome, ChecksumOutcome::kWaiting);
  const ChecksumResult again = sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum);
  EXPECT_EQ(again.outcome, ChecksumOutcome::kReplaced);
  EXPECT_EQ(again.reason, ChecksumReplace::kFirst) << "the book was invalid";
}

TEST(ChecksumSync, TheBookIsCutToDepthAndTheCutIsReportedAsDeletes) {
  KrakenSum sum;
  ChecksumSync sync("BTC/USD", 3, 10);
  ASSERT_EQ(sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum).outcome, ChecksumOutcome::kReplaced);
  OrderBook replayed;
  ASSERT_TRUE(replayed.load(kBids, kAsks));
  // A better bid pushes 99.8 below the depth of 3; Kraken sends no delete for it.
  const std::vector<PriceLevel> after_bids = {lvl(1005, 1), lvl(1000, 1), lvl(999, 2)};
  const ChecksumResult r = sync.on_delta(delta({lvl(1005, 1)}, {}, sum_of(after_bids, kAsks)), &sum);
  ASSERT_EQ(r.outcome, ChecksumOutcome::kApplied);
  EXPECT_EQ(sync.book().levels(BookSide::kBid), after_bids);
  const std::vector<PriceLevel> applied(sync.applied_bids().begin(), sync.applied_bids().end());
  EXPECT_EQ(applied, (std::vector<PriceLevel>{lvl(1005, 1), {Decimal{998, -1}, Decimal{}}}));
  ASSERT_TRUE(replayed.apply(sync.applied_bids(), sync.applied_asks()));
  EXPECT_EQ(replayed, sync.book()) << "a replay of what was journaled is the same book";
}

TEST(ChecksumSync, AWrongSumFromALevelLeftBeyondDepthIsCaught) {
  KrakenSum sum;
  ChecksumSync sync("BTC/USD", 0, 10);  // 0: never cut, as a feed that forgot to would
  ASSERT_EQ(sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum).outcome, ChecksumOutcome::kReplaced);
  // The venue's own book (depth 3) dropped 99.8; its checksum covers three bids.
  const std::vector<PriceLevel> venue_bids = {lvl(1005, 1), lvl(1000, 1), lvl(999, 2)};
  EXPECT_EQ(sync.on_delta(delta({lvl(1005, 1)}, {}, sum_of(venue_bids, kAsks)), &sum).outcome,
            ChecksumOutcome::kMismatch);
}

TEST(ChecksumSync, ABookIsHeldUntrustedUntilItsChecksumCanBeComputed) {
  KrakenSum sum;
  sum.ready = false;
  ChecksumSync sync("BTC/USD", 3, 10);
  const ChecksumResult r = sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum);
  EXPECT_EQ(r.outcome, ChecksumOutcome::kUnverified);
  EXPECT_FALSE(sync.valid());
  EXPECT_TRUE(sync.held());
  const std::vector<PriceLevel> after_bids = {lvl(1000, 5), lvl(999, 2), lvl(998, 3)};
  EXPECT_EQ(sync.on_delta(delta({lvl(1000, 5)}, {}, sum_of(after_bids, kAsks)), &sum).outcome,
            ChecksumOutcome::kUnverified);
  sum.ready = true;
  const std::vector<PriceLevel> last_bids = {lvl(1000, 6), lvl(999, 2), lvl(998, 3)};
  const ChecksumResult v = sync.on_delta(delta({lvl(1000, 6)}, {}, sum_of(last_bids, kAsks)), &sum);
  EXPECT_EQ(v.outcome, ChecksumOutcome::kReplaced);
  EXPECT_EQ(v.reason, ChecksumReplace::kVerified);
  EXPECT_TRUE(sync.valid());
}

TEST(ChecksumSync, ANewSnapshotReplacesAValidBookAndSaysSo) {
  KrakenSum sum;
  ChecksumSync sync("BTC/USD", 3, 10);
  ASSERT_EQ(sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum).outcome, ChecksumOutcome::kReplaced);
  const std::vector<PriceLevel> bids = {lvl(990, 1)};
  const ChecksumResult r = sync.on_snapshot(snapshot(bids, kAsks, sum_of(bids, kAsks)), &sum);
  EXPECT_EQ(r.outcome, ChecksumOutcome::kReplaced);
  EXPECT_EQ(r.reason, ChecksumReplace::kSnapshot);
  EXPECT_EQ(r.id, 2u);
}

TEST(ChecksumSync, ACrossedBookOrANegativeSizeIsInvalid) {
  KrakenSum sum;
  ChecksumSync sync("BTC/USD", 3, 10);
  ASSERT_EQ(sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum).outcome, ChecksumOutcome::kReplaced);
  EXPECT_EQ(sync.on_delta(delta({lvl(1010, 1)}, {}, 0), &sum).outcome, ChecksumOutcome::kCrossed);
  EXPECT_FALSE(sync.valid());
  ASSERT_EQ(sync.on_snapshot(snapshot(kBids, kAsks, sum_of(kBids, kAsks)), &sum).outcome, ChecksumOutcome::kReplaced);
  EXPECT_EQ(sync.on_delta(delta({{Decimal{999, -1}, Decimal{-1, 0}}}, {}, 0), &sum).outcome, ChecksumOutcome::kNegative);
  EXPECT_FALSE(sync.held());
}

}  // namespace
}  // namespace tickwire::connector::book
