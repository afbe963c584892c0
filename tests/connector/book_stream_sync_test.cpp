#include "tickwire/connector/book/stream_sync.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tickwire::connector::book {
namespace {

PriceLevel level(std::int64_t price, std::int64_t size) { return {Decimal{price, 0}, Decimal{size, 0}}; }

struct Levels {
  std::vector<PriceLevel> bids, asks;
};

BookSnapshotEvent snapshot(std::uint64_t u, const Levels& l) { return {"S", u, l.bids, l.asks, 0, 0}; }

BookDeltaEvent delta(std::uint64_t u, const Levels& l, bool restart = false) {
  BookDeltaEvent d{"S", 0, u, u, l.bids, l.asks};
  d.restart = restart;
  return d;
}

TEST(StreamSync, DeltasBeforeAnySnapshotWait) {
  StreamSync s;
  const Levels l{{level(10, 1)}, {}};
  EXPECT_EQ(s.on_delta(delta(5, l)).outcome, StreamOutcome::kWaiting);
  EXPECT_FALSE(s.valid());
  EXPECT_EQ(s.book().depth(BookSide::kBid), 0u);
}

TEST(StreamSync, ASnapshotSyncsAndDeltasMustStepByOne) {
  StreamSync s;
  const Levels base{{level(10, 1)}, {level(11, 1)}};
  const StreamResult r = s.on_snapshot(snapshot(100, base));
  EXPECT_EQ(r.outcome, StreamOutcome::kReplaced);
  EXPECT_EQ(r.reason, ReplaceReason::kFirst);
  EXPECT_EQ(s.on_delta(delta(101, {{level(10, 2)}, {}})).outcome, StreamOutcome::kApplied);
  EXPECT_EQ(s.on_delta(delta(101, {{level(10, 9)}, {}})).outcome, StreamOutcome::kStale);
  EXPECT_EQ(s.book().levels(BookSide::kBid)[0].size, (Decimal{2, 0}));
  const StreamResult gap = s.on_delta(delta(104, {{level(10, 3)}, {}}));
  EXPECT_EQ(gap.outcome, StreamOutcome::kGap);
  EXPECT_EQ(gap.from_id, 102u);
  EXPECT_EQ(gap.to_id, 103u);
  EXPECT_FALSE(s.valid());
  EXPECT_EQ(s.on_delta(delta(105, {{level(10, 3)}, {}})).outcome, StreamOutcome::kWaiting);
}

TEST(StreamSync, TheSameSnapshotAgainIsARepeatAndANewOneReplaces) {
  StreamSync s;
  s.on_snapshot(snapshot(7, {{level(10, 1)}, {level(11, 1)}}));
  EXPECT_EQ(s.on_snapshot(snapshot(7, {{level(10, 1)}, {level(11, 1)}})).outcome, StreamOutcome::kRepeat);
  const StreamResult r = s.on_snapshot(snapshot(3, {{level(9, 1)}, {level(11, 1)}}));
  EXPECT_EQ(r.outcome, StreamOutcome::kReplaced);
  EXPECT_EQ(r.reason, ReplaceReason::kSnapshot);
  EXPECT_EQ(s.last_update_id(), 3u);
  EXPECT_EQ(s.book().depth(BookSide::kBid), 1u);
}

TEST(StreamSync, ARestartDeltaReplacesTheBookEvenWithoutOne) {
  StreamSync s;
  const StreamResult r = s.on_delta(delta(1, {{level(10, 1), level(9, 0)}, {level(11, 2)}}, true));
  EXPECT_EQ(r.outcome, StreamOutcome::kReplaced);
  EXPECT_EQ(r.reason, ReplaceReason::kRestart);
  EXPECT_TRUE(s.valid());
  EXPECT_EQ(s.book().depth(BookSide::kBid), 1u);
  EXPECT_EQ(s.on_delta(delta(2, {{}, {level(11, 0)}})).outcome, StreamOutcome::kApplied);
}

TEST(StreamSync, ACrossedOrNegativeBookIsInvalid) {
  StreamSync s;
  s.on_snapshot(snapshot(1, {{level(10, 1)}, {level(11, 1)}}));
  EXPECT_EQ(s.on_delta(delta(2, {{level(12, 1)}, {}})).outcome, StreamOutcome::kCrossed);
  EXPECT_FALSE(s.valid());
  EXPECT_EQ(s.on_snapshot(snapshot(3, {{level(10, -1)}, {}})).outcome, StreamOutcome::kNegative);
  EXPECT_FALSE(s.valid());
}

// chained: an OKX-style update: seqId `id`, prevSeqId `prev`.
BookDeltaEvent chained(std::uint64_t prev, std::uint64_t id, const Levels& l) {
  BookDeltaEvent d{"S", 0, id > prev ? prev + 1 : id, id, l.bids, l.asks};
  d.prev_update_id = prev;
  d.has_prev = true;
  return d;
}

TEST(StreamSync, ChainedUpdatesApplyWhenTheirPrevIsTheBooksIdWhateverTheirOwn) {
  StreamSync s;
  s.on_snapshot(snapshot(100, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(s.on_delta(chained(100, 107, {{level(10, 2)}, {}})).outcome, StreamOutcome::kApplied);
  EXPECT_EQ(s.last_update_id(), 107u);
  // A repeat of an applied update is stale, not a gap.
  EXPECT_EQ(s.on_delta(chained(100, 107, {{level(10, 9)}, {}})).outcome, StreamOutcome::kStale);
  EXPECT_EQ(s.book().levels(BookSide::kBid)[0].size, (Decimal{2, 0}));
  // The one naming 115 as its previous: the updates 108..115 are missing.
  const StreamResult gap = s.on_delta(chained(115, 120, {{level(10, 3)}, {}}));
  EXPECT_EQ(gap.outcome, StreamOutcome::kGap);
  EXPECT_EQ(gap.from_id, 108u);
  EXPECT_EQ(gap.to_id, 115u);
  EXPECT_FALSE(s.valid());
}

TEST(StreamSync, AnEmptyUpdateAtItsOwnPrevIsAKeepaliveAndAResetGoesOn) {
  StreamSync s;
  s.on_snapshot(snapshot(50, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(s.on_delta(chained(50, 50, {})).outcome, StreamOutcome::kKeepalive);
  EXPECT_TRUE(s.valid());
  EXPECT_EQ(s.last_update_id(), 50u);
  // A keepalive that does not chain is a break like any other.
  StreamSync t;
  t.on_snapshot(snapshot(50, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(t.on_delta(chained(60, 60, {})).outcome, StreamOutcome::kGap);
  // Maintenance: seqId below its prevSeqId, and the chain goes on from it.
  EXPECT_EQ(s.on_delta(chained(50, 3, {{level(11, 1)}, {}})).outcome, StreamOutcome::kApplied);
  EXPECT_EQ(s.last_update_id(), 3u);
  EXPECT_EQ(s.on_delta(chained(3, 9, {{level(11, 0)}, {}})).outcome, StreamOutcome::kApplied);
  EXPECT_EQ(s.book().depth(BookSide::kBid), 1u);
}

// sum_of_sizes: a stand-in checksum (the size mantissas of the top levels).
std::uint32_t sum_of_sizes(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks, std::size_t levels) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < levels && i < bids.size(); ++i) sum += static_cast<std::uint32_t>(bids[i].size.mantissa);
  for (std::size_t i = 0; i < levels && i < asks.size(); ++i) sum += static_cast<std::uint32_t>(asks[i].size.mantissa);
  return sum;
}

TEST(StreamSync, AMessageChecksumIsVerifiedOverTheTopLevelsAndZeroLevelsMeansNone) {
  StreamSync s(OrderBook::kDefaultReserve, sum_of_sizes, 1);
  const Levels base{{level(10, 1), level(9, 5)}, {level(12, 2)}};
  BookSnapshotEvent snap = snapshot(10, base);
  snap.checksum = 3;  // the top level a side: 1 + 2
  snap.has_checksum = true;
  EXPECT_EQ(s.on_snapshot(snap).outcome, StreamOutcome::kReplaced);
  const Levels four{{level(10, 4)}, {}}, seven{{level(10, 7)}, {}}, eight{{level(10, 8)}, {}};
  BookDeltaEvent d = chained(10, 11, four);
  d.checksum = 6;
  d.has_checksum = true;
  EXPECT_EQ(s.on_delta(d).outcome, StreamOutcome::kApplied);
  BookDeltaEvent unchecked = chained(11, 12, seven);
  EXPECT_EQ(s.on_delta(unchecked).outcome, StreamOutcome::kApplied) << "no checksum: nothing to verify";
  BookDeltaEvent wrong = chained(12, 13, eight);
  wrong.checksum = 1;
  wrong.has_checksum = true;
  const StreamResult r = s.on_delta(wrong);
  EXPECT_EQ(r.outcome, StreamOutcome::kChecksum);
  EXPECT_EQ(r.to_id, 13u);
  EXPECT_FALSE(s.valid());
  // Without a checksum function (or with 0 levels) a checksum is not verified.
  StreamSync plain(OrderBook::kDefaultReserve, sum_of_sizes, 0);
  EXPECT_EQ(plain.on_snapshot(snap).outcome, StreamOutcome::kReplaced);
  BookDeltaEvent unverified = chained(10, 13, eight);
  unverified.checksum = 1;
  unverified.has_checksum = true;
  EXPECT_EQ(plain.on_delta(unverified).outcome, StreamOutcome::kApplied);
}

TEST(StreamSync, ARestSnapshotReplaysTheKeptChainFromTheUpdateThatCoversIt) {
  StreamSync s;
  s.begin_bootstrap();
  EXPECT_TRUE(s.bootstrapping());
  EXPECT_EQ(s.on_delta(chained(100, 105, {{level(10, 5)}, {}})).outcome, StreamOutcome::kBuffered);
  EXPECT_EQ(s.on_delta(chained(105, 110, {{level(10, 6)}, {level(13, 1)}})).outcome, StreamOutcome::kBuffered);
  EXPECT_EQ(s.on_delta(chained(110, 118, {{}, {level(12, 0)}})).outcome, StreamOutcome::kBuffered);
  EXPECT_EQ(s.kept(), 3u);
  EXPECT_FALSE(s.valid());
  // OKX: the first applied update satisfies prevSeqId <= 107 < seqId (110).
  const BootstrapResult r = s.on_rest_snapshot(snapshot(107, {{level(10, 9)}, {level(12, 1)}}));
  EXPECT_EQ(r.result.outcome, StreamOutcome::kReplaced);
  EXPECT_EQ(r.result.reason, ReplaceReason::kRest);
  EXPECT_EQ(r.result.from_id, 107u);
  EXPECT_EQ(r.result.to_id, 118u);
  EXPECT_EQ(r.discarded, 1u);
  EXPECT_EQ(r.applied, 2u);
  EXPECT_FALSE(s.bootstrapping());
  EXPECT_TRUE(s.valid());
  EXPECT_EQ(s.last_update_id(), 118u);
  const std::vector<PriceLevel> bids = s.book().levels(BookSide::kBid);
  const std::vector<PriceLevel> asks = s.book().levels(BookSide::kAsk);
  ASSERT_EQ(bids.size(), 1u);
  EXPECT_EQ(bids[0].size, (Decimal{6, 0})) << "110's size, over the snapshot's";
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].price, (Decimal{13, 0})) << "12 deleted by 118";
  EXPECT_EQ(s.on_delta(chained(118, 120, {{level(10, 1)}, {}})).outcome, StreamOutcome::kApplied);
}

TEST(StreamSync, ASnapshotOlderThanTheKeptUpdatesIsTooOldAndTheyWaitForAnother) {
  StreamSync s;
  s.begin_bootstrap();
  s.on_delta(chained(120, 125, {{level(10, 2)}, {}}));
  const BootstrapResult old = s.on_rest_snapshot(snapshot(110, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(old.result.outcome, StreamOutcome::kTooOld);
  EXPECT_EQ(old.result.from_id, 111u);
  EXPECT_EQ(old.result.to_id, 120u);
  EXPECT_TRUE(s.bootstrapping());
  EXPECT_FALSE(s.valid());
  EXPECT_EQ(s.kept(), 1u);
  const BootstrapResult r = s.on_rest_snapshot(snapshot(122, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(r.result.outcome, StreamOutcome::kReplaced);
  EXPECT_EQ(r.applied, 1u);
  EXPECT_EQ(s.last_update_id(), 125u);
}

TEST(StreamSync, WithNothingKeptAfterTheRestSnapshotTheFirstUpdateMustCoverIt) {
  StreamSync s;
  s.begin_bootstrap();
  s.on_delta(chained(40, 45, {{level(10, 2)}, {}}));
  const BootstrapResult r = s.on_rest_snapshot(snapshot(50, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(r.result.outcome, StreamOutcome::kReplaced);
  EXPECT_EQ(r.discarded, 1u);
  EXPECT_EQ(r.applied, 0u);
  EXPECT_EQ(s.last_update_id(), 50u);
  EXPECT_EQ(s.on_delta(chained(45, 49, {{level(10, 7)}, {}})).outcome, StreamOutcome::kStale);
  EXPECT_EQ(s.on_delta(chained(49, 52, {{level(10, 3)}, {}})).outcome, StreamOutcome::kApplied);
  EXPECT_EQ(s.book().levels(BookSide::kBid)[0].size, (Decimal{3, 0}));
  // After that the chain is exact again.
  const StreamResult gap = s.on_delta(chained(55, 58, {{level(10, 4)}, {}}));
  EXPECT_EQ(gap.outcome, StreamOutcome::kGap);
  EXPECT_EQ(gap.from_id, 53u);
  EXPECT_EQ(gap.to_id, 55u);
  // Nothing kept, and the first update names a prev after the snapshot: a gap.
  StreamSync t;
  t.begin_bootstrap();
  t.on_rest_snapshot(snapshot(50, {{level(10, 1)}, {level(12, 1)}}));
  const StreamResult late = t.on_delta(chained(51, 53, {{level(10, 2)}, {}}));
  EXPECT_EQ(late.outcome, StreamOutcome::kGap);
  EXPECT_EQ(late.from_id, 51u);
  EXPECT_EQ(late.to_id, 51u);
}

TEST(StreamSync, UnchainedIdsAfterARestSnapshotStartAtItsIdPlusOne) {
  // Bybit orderbook.full: u strictly consecutive, the REST u the stream's.
  StreamSync s;
  s.begin_bootstrap();
  for (std::uint64_t u = 10; u <= 12; ++u) {
    EXPECT_EQ(s.on_delta(delta(u, {{level(10, static_cast<std::int64_t>(u))}, {}})).outcome,
              StreamOutcome::kBuffered);
  }
  const BootstrapResult r = s.on_rest_snapshot(snapshot(10, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(r.result.outcome, StreamOutcome::kReplaced);
  EXPECT_EQ(r.discarded, 1u);
  EXPECT_EQ(r.applied, 2u);
  EXPECT_EQ(s.book().levels(BookSide::kBid)[0].size, (Decimal{12, 0}));
  StreamSync t;
  t.begin_bootstrap();
  t.on_delta(delta(10, {{level(10, 1)}, {}}));
  const BootstrapResult old = t.on_rest_snapshot(snapshot(8, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(old.result.outcome, StreamOutcome::kTooOld);
  EXPECT_EQ(old.result.from_id, 9u);
  EXPECT_EQ(old.result.to_id, 9u);
}

TEST(StreamSync, ABreakInTheKeptChainDropsWhatCameBeforeIt) {
  StreamSync s;
  s.begin_bootstrap();
  s.on_delta(delta(5, {{level(10, 1)}, {}}));
  s.on_delta(delta(6, {{level(10, 2)}, {}}));
  EXPECT_EQ(s.kept(), 2u);
  s.on_delta(delta(9, {{level(10, 3)}, {}}));
  EXPECT_EQ(s.kept(), 1u);
  // A snapshot at 6 cannot be bridged to 9: too old, 7..8 unknown.
  const BootstrapResult r = s.on_rest_snapshot(snapshot(6, {{level(10, 1)}, {level(12, 1)}}));
  EXPECT_EQ(r.result.outcome, StreamOutcome::kTooOld);
  EXPECT_EQ(r.result.from_id, 7u);
  EXPECT_EQ(r.result.to_id, 8u);
}

TEST(StreamSync, ASnapshotInTheStreamEndsTheBootstrapAndTheLateRestOneChangesNothing) {
  StreamSync s;
  s.begin_bootstrap();
  s.on_delta(chained(10, 12, {{level(10, 2)}, {}}));
  EXPECT_EQ(s.on_snapshot(snapshot(12, {{level(10, 2)}, {level(12, 1)}})).outcome, StreamOutcome::kReplaced);
  EXPECT_FALSE(s.bootstrapping());
  EXPECT_EQ(s.kept(), 0u);
  const BootstrapResult late = s.on_rest_snapshot(snapshot(11, {{level(9, 1)}, {level(12, 1)}}));
  EXPECT_EQ(late.result.outcome, StreamOutcome::kStale);
  EXPECT_EQ(s.last_update_id(), 12u);
  EXPECT_EQ(s.book().levels(BookSide::kBid)[0].price, (Decimal{10, 0}));
}

TEST(StreamSync, AnInvalidBookAfterTheKeptDeltasEndsTheBootstrapWithWhy) {
  StreamSync s;
  s.begin_bootstrap();
  s.on_delta(chained(10, 12, {{level(13, 2)}, {}}));
  const BootstrapResult r = s.on_rest_snapshot(snapshot(11, {{level(10, 2)}, {level(12, 1)}}));
  EXPECT_EQ(r.result.outcome, StreamOutcome::kCrossed);
  EXPECT_EQ(r.result.to_id, 12u);
  EXPECT_FALSE(s.valid());
  EXPECT_FALSE(s.bootstrapping());
}

}  // namespace
}  // namespace tickwire::connector::book
