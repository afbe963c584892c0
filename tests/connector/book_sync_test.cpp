#include "tickwire/connector/book/book_sync.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tickwire/connector/feeds/binance.hpp"

namespace tickwire::connector::book {
namespace {

PriceLevel lv(std::int64_t price, std::int64_t size) { return {{price, 0}, {size, 0}}; }

// Delta: a hand-written delta whose levels outlive the call.
struct Delta {
  std::uint64_t first, last;
  std::vector<PriceLevel> bids, asks;
  BookDeltaEvent event() const { return {"TEST", 0, first, last, bids, asks}; }
};

struct Snapshot {
  std::uint64_t last;
  std::vector<PriceLevel> bids, asks;
  BookSnapshotEvent event() const { return {"TEST", last, bids, asks}; }
};

const Snapshot kSnapshot{100, {lv(10, 5), lv(9, 5)}, {lv(11, 5), lv(12, 5)}};

TEST(BookSync, BuffersUntilASnapshotThenReplaysFromTheStraddlingDelta) {
  BookSync sync;
  EXPECT_TRUE(sync.needs_snapshot());
  EXPECT_EQ(sync.on_delta(Delta{95, 99, {lv(10, 1)}, {}}.event()).outcome, SyncOutcome::kBuffered);
  EXPECT_EQ(sync.on_delta(Delta{100, 102, {lv(10, 7)}, {}}.event()).outcome, SyncOutcome::kBuffered);
  EXPECT_EQ(sync.on_delta(Delta{103, 103, {}, {lv(11, 0)}}.event()).outcome, SyncOutcome::kBuffered);
  EXPECT_EQ(sync.buffered(), 3u);
  const SyncResult r = sync.on_snapshot(kSnapshot.event());
  EXPECT_EQ(r.outcome, SyncOutcome::kSynced);
  EXPECT_EQ(r.discarded, 1u);
  EXPECT_EQ(r.applied, 2u);
  EXPECT_FALSE(sync.needs_snapshot());
  EXPECT_EQ(sync.last_update_id(), 103u);
  EXPECT_EQ(sync.buffered(), 0u);
  EXPECT_EQ(*sync.book().best_bid(), lv(10, 7));
  EXPECT_EQ(*sync.book().best_ask(), lv(12, 5));
  // Live deltas continue from 103.
  const SyncResult live = sync.on_delta(Delta{104, 105, {lv(9, 0)}, {}}.event());
  EXPECT_EQ(live.outcome, SyncOutcome::kApplied);
  EXPECT_EQ(sync.book().depth(BookSide::kBid), 1u);
  EXPECT_EQ(sync.counters().applied, 3u);
  EXPECT_EQ(sync.counters().discarded, 1u);
  EXPECT_EQ(sync.counters().gaps, 0u);
  EXPECT_EQ(sync.counters().syncs, 1u);
}

TEST(BookSync, DiscardsStaleDeltasWhenSynced) {
  BookSync sync;
  ASSERT_EQ(sync.on_snapshot(kSnapshot.event()).outcome, SyncOutcome::kSynced);
  const SyncResult r = sync.on_delta(Delta{90, 100, {lv(10, 99)}, {}}.event());
  EXPECT_EQ(r.outcome, SyncOutcome::kStale);
  EXPECT_EQ(*sync.book().best_bid(), lv(10, 5));  // untouched
  EXPECT_EQ(sync.on_delta(Delta{99, 101, {lv(10, 6)}, {}}.event()).outcome, SyncOutcome::kApplied);
  // A duplicate of what was just applied is stale too.
  EXPECT_EQ(sync.on_delta(Delta{99, 101, {lv(10, 6)}, {}}.event()).outcome, SyncOutcome::kStale);
  EXPECT_EQ(sync.counters().discarded, 2u);
}

TEST(BookSync, ReportsAGapWithTheMissingRangeAndKeepsLaterDeltas) {
  BookSync sync;
  ASSERT_EQ(sync.on_snapshot(kSnapshot.event()).outcome, SyncOutcome::kSynced);
  ASSERT_EQ(sync.on_delta(Delta{101, 110, {}, {}}.event()).outcome, SyncOutcome::kApplied);
  const SyncResult gap = sync.on_delta(Delta{115, 120, {lv(10, 1)}, {}}.event());
  EXPECT_EQ(gap.outcome, SyncOutcome::kGap);
  EXPECT_EQ(gap.from_id, 111u);
  EXPECT_EQ(gap.to_id, 114u);
  EXPECT_TRUE(sync.needs_snapshot());
  EXPECT_TRUE(sync.book().empty());
  // Diffs that arrive during the snapshot fetch are kept...
  EXPECT_EQ(sync.on_delta(Delta{121, 125, {lv(10, 2)}, {}}.event()).outcome, SyncOutcome::kBuffered);
  EXPECT_EQ(sync.buffered(), 2u);
  // ...and replayed onto the new snapshot.
  const SyncResult r = sync.on_snapshot(Snapshot{118, {lv(10, 9)}, {lv(11, 1)}}.event());
  EXPECT_EQ(r.outcome, SyncOutcome::kSynced);
  EXPECT_EQ(r.applied, 2u);
  EXPECT_EQ(sync.last_update_id(), 125u);
  EXPECT_EQ(*sync.book().best_bid(), lv(10, 2));
  EXPECT_EQ(sync.counters().gaps, 1u);
  EXPECT_EQ(sync.counters().resyncs, 1u);
  EXPECT_EQ(sync.counters().syncs, 2u);
}

TEST(BookSync, AsksForAnotherSnapshotWhenItIsOlderThanTheBuffer) {
  BookSync sync;
  ASSERT_EQ(sync.on_delta(Delta{105, 108, {lv(10, 1)}, {}}.event()).outcome, SyncOutcome::kBuffered);
  const SyncResult old = sync.on_snapshot(kSnapshot.event());  // 100: ids 101..104 unknown
  EXPECT_EQ(old.outcome, SyncOutcome::kSnapshotTooOld);
  EXPECT_EQ(old.from_id, 101u);
  EXPECT_EQ(old.to_id, 104u);
  EXPECT_TRUE(sync.needs_snapshot());
  EXPECT_EQ(sync.buffered(), 1u);  // kept for the next one
  // A snapshot at 104 is exactly one short of the first delta: it straddles 105.
  const SyncResult r = sync.on_snapshot(Snapshot{104, {lv(10, 3)}, {lv(11, 3)}}.event());
  EXPECT_EQ(r.outcome, SyncOutcome::kSynced);
  EXPECT_EQ(r.applied, 1u);
  EXPECT_EQ(sync.counters().too_old, 1u);
}

TEST(BookSync, FindsAGapInsideTheBufferWhileReplaying) {
  BookSync sync;
  sync.on_delta(Delta{101, 102, {lv(10, 1)}, {}}.event());
  sync.on_delta(Delta{106, 107, {lv(10, 2)}, {}}.event());  // 103..105 never arrived
  sync.on_delta(Delta{108, 108, {lv(10, 3)}, {}}.event());
  const SyncResult r = sync.on_snapshot(kSnapshot.event());
  EXPECT_EQ(r.outcome, SyncOutcome::kGap);
  EXPECT_EQ(r.from_id, 103u);
  EXPECT_EQ(r.to_id, 105u);
  EXPECT_EQ(r.applied, 1u);
  EXPECT_TRUE(sync.needs_snapshot());
  EXPECT_EQ(sync.buffered(), 2u);  // 106..107 and 108 wait for the next snapshot
  EXPECT_EQ(sync.on_snapshot(Snapshot{106, {lv(10, 8)}, {lv(11, 1)}}.event()).outcome, SyncOutcome::kSynced);
  EXPECT_EQ(*sync.book().best_bid(), lv(10, 3));
}

TEST(BookSync, ResyncsWhenTheBookCrosses) {
  BookSync sync;
  ASSERT_EQ(sync.on_snapshot(kSnapshot.event()).outcome, SyncOutcome::kSynced);
  const SyncResult r = sync.on_delta(Delta{101, 101, {lv(11, 1)}, {}}.event());  // bid 11 == ask 11
  EXPECT_EQ(r.outcome, SyncOutcome::kCrossed);
  EXPECT_EQ(r.from_id, 101u);
  EXPECT_EQ(r.to_id, 101u);
  EXPECT_TRUE(sync.needs_snapshot());
  EXPECT_EQ(sync.buffered(), 1u);  // the crossing delta is real data: kept
  EXPECT_EQ(sync.counters().crossed, 1u);
  // A crossed snapshot is refused too.
  EXPECT_EQ(sync.on_snapshot(Snapshot{100, {lv(12, 1)}, {lv(11, 1)}}.event()).outcome, SyncOutcome::kCrossed);
  // A snapshot after the crossing delta recovers.
  EXPECT_EQ(sync.on_snapshot(Snapshot{101, {lv(10, 1)}, {lv(11, 1)}}.event()).outcome, SyncOutcome::kSynced);
  EXPECT_FALSE(sync.book().crossed());
}

TEST(BookSync, RejectsNegativeSizesAndResyncs) {
  BookSync sync;
  ASSERT_EQ(sync.on_snapshot(kSnapshot.event()).outcome, SyncOutcome::kSynced);
  const SyncResult r = sync.on_delta(Delta{101, 102, {lv(10, -1)}, {}}.event());
  EXPECT_EQ(r.outcome, SyncOutcome::kNegative);
  EXPECT_EQ(r.from_id, 101u);
  EXPECT_TRUE(sync.needs_snapshot());
  EXPECT_EQ(sync.buffered(), 0u);  // it can never apply: not kept
  EXPECT_EQ(sync.on_snapshot(Snapshot{102, {lv(10, -1)}, {}}.event()).outcome, SyncOutcome::kNegative);
  EXPECT_TRUE(sync.needs_snapshot());
  EXPECT_EQ(sync.counters().negative, 2u);
  EXPECT_EQ(sync.counters().resyncs, 2u);
}

TEST(BookSync, IgnoresMalformedRanges) {
  BookSync sync;
  EXPECT_EQ(sync.on_delta(Delta{5, 4, {}, {}}.event()).outcome, SyncOutcome::kMalformed);
  EXPECT_EQ(sync.buffered(), 0u);
  EXPECT_EQ(sync.counters().malformed, 1u);
}

TEST(BookSync, BoundsTheBufferByDroppingTheOldest) {
  SyncOptions options;
  options.max_buffered_deltas = 3;
  options.max_buffered_levels = 4;
  BookSync sync(options);
  for (std::uint64_t id = 1; id <= 5; ++id) sync.on_delta(Delta{id, id, {lv(10, 1)}, {}}.event());
  EXPECT_EQ(sync.buffered(), 3u);
  EXPECT_EQ(sync.counters().overflowed, 2u);
  sync.on_delta(Delta{6, 6, {lv(10, 1), lv(9, 1), lv(8, 1)}, {}}.event());  // 3 levels: only 1 other fits
  EXPECT_EQ(sync.buffered(), 2u);
  sync.on_delta(Delta{7, 7, {lv(1, 1), lv(2, 1), lv(3, 1), lv(4, 1), lv(5, 1)}, {}}.event());  // never fits
  EXPECT_EQ(sync.counters().overflowed, 5u);
  // The snapshot must now reach the oldest kept delta (5); then 7 is missing.
  EXPECT_EQ(sync.on_snapshot(Snapshot{2, {}, {}}.event()).outcome, SyncOutcome::kSnapshotTooOld);
  const SyncResult r = sync.on_snapshot(Snapshot{4, {lv(1, 1)}, {lv(20, 1)}}.event());
  EXPECT_EQ(r.outcome, SyncOutcome::kSynced);
  EXPECT_EQ(r.applied, 2u);
  EXPECT_EQ(sync.on_delta(Delta{8, 8, {}, {}}.event()).outcome, SyncOutcome::kGap);
}

// The fixture case documented in SOURCES.md: the 2021 NKNUSDT REST snapshot
// with the recorded diffs discards 1 and applies 149 with no gap; wherever a
// recorded bookTicker has the same update id, the book's top equals it.
class BookSyncFixture : public testing::Test {
 protected:
  static std::vector<std::string> lines(const std::string& name) {
    std::ifstream in(std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "binance" / name);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(line + std::string(simdjson::SIMDJSON_PADDING, '\0'));
    }
    return out;
  }
  static std::size_t text_size(const std::string& padded) { return padded.size() - simdjson::SIMDJSON_PADDING; }

  void SetUp() override {
    snapshot_lines_ = lines("depth_snapshot_rest.cryptofeed2021.json");
    delta_lines_ = lines("depthUpdate.cryptofeed2021.json");
    ticker_lines_ = lines("bookTicker.cryptofeed2021.json");
    if (snapshot_lines_.empty() || delta_lines_.empty() || ticker_lines_.empty()) {
      GTEST_SKIP() << "fixtures binance/{depth_snapshot_rest,depthUpdate,bookTicker}.cryptofeed2021.json not found "
                   << "under " << TICKWIRE_FIXTURES_DIR;
    }
  }

  std::vector<std::string> snapshot_lines_, delta_lines_, ticker_lines_;
};

TEST_F(BookSyncFixture, DiscardsOneAndAppliesTheOther149WhetherBufferedOrLive) {
  for (const bool snapshot_first : {false, true}) {
    feeds::BinanceParser parser;
    feeds::BinanceParser snapshot_parser;
    BookSync sync;
    std::map<std::uint64_t, QuoteEvent> tickers;
    for (const auto& line : ticker_lines_) {
      auto m = parser.parse(line.data(), text_size(line));
      ASSERT_EQ(m.event, feeds::EventKind::kQuote) << parser.error();
      if (m.quote.symbol == "NKNUSDT") tickers[m.quote.update_id] = m.quote;  // decimals only: symbol unused
    }
    const auto snap = snapshot_parser.parse_depth_snapshot(snapshot_lines_[0].data(), text_size(snapshot_lines_[0]));
    ASSERT_EQ(snap.event, feeds::EventKind::kBookSnapshot) << snapshot_parser.error();
    if (snapshot_first) {
      ASSERT_EQ(sync.on_snapshot(snap.snapshot).outcome, SyncOutcome::kSynced);
    }
    std::size_t nkn = 0;
    std::size_t checked_tops = 0;
    for (const auto& line : delta_lines_) {
      auto m = parser.parse(line.data(), text_size(line));
      ASSERT_EQ(m.event, feeds::EventKind::kBookDelta) << parser.error();
      if (m.delta.symbol != "NKNUSDT") continue;
      ++nkn;
      const SyncResult r = sync.on_delta(m.delta);
      ASSERT_NE(r.outcome, SyncOutcome::kGap);
      ASSERT_NE(r.outcome, SyncOutcome::kCrossed);
      if (r.outcome != SyncOutcome::kApplied) continue;
      auto t = tickers.find(m.delta.last_update_id);
      if (t == tickers.end()) continue;
      ++checked_tops;
      EXPECT_EQ(compare_decimal(sync.book().best_bid()->price, t->second.bid_price), std::strong_ordering::equal);
      EXPECT_EQ(compare_decimal(sync.book().best_bid()->size, t->second.bid_size), std::strong_ordering::equal);
      EXPECT_EQ(compare_decimal(sync.book().best_ask()->price, t->second.ask_price), std::strong_ordering::equal);
      EXPECT_EQ(compare_decimal(sync.book().best_ask()->size, t->second.ask_size), std::strong_ordering::equal);
    }
    EXPECT_EQ(nkn, 150u);
    if (!snapshot_first) {
      EXPECT_EQ(sync.buffered(), 150u);
      const SyncResult r = sync.on_snapshot(snap.snapshot);
      EXPECT_EQ(r.outcome, SyncOutcome::kSynced);
      EXPECT_EQ(r.discarded, 1u);
      EXPECT_EQ(r.applied, 149u);
    } else {
      EXPECT_EQ(checked_tops, 19u);
    }
    EXPECT_EQ(sync.counters().discarded, 1u) << "snapshot first: " << snapshot_first;
    EXPECT_EQ(sync.counters().applied, 149u);
    EXPECT_EQ(sync.counters().gaps, 0u);
    EXPECT_EQ(sync.counters().resyncs, 0u);
    EXPECT_FALSE(sync.needs_snapshot());
    EXPECT_FALSE(sync.book().crossed());
  }
}

}  // namespace
}  // namespace tickwire::connector::book

namespace tickwire::connector::book {
namespace {

// Binance USD-M: diffs chained by pu (the previous diff's u); U is not
// previous u + 1, so the spot rule would see a gap in every diff.
struct ChainedDelta {
  std::uint64_t first, last, prev;
  std::vector<PriceLevel> bids, asks;
  BookDeltaEvent event() const {
    BookDeltaEvent e{"TEST", 0, first, last, bids, asks};
    e.prev_update_id = prev;
    e.has_prev = true;
    return e;
  }
};

BookSync futures_sync() {
  SyncOptions options;
  options.rule = ChainRule::kPrevId;
  return BookSync(options);
}

TEST(BookSyncPrevId, AppliesAChainLinkedByPuWhereUIsNotPreviousUPlusOne) {
  BookSync sync = futures_sync();
  // Buffered before the snapshot (100): one stale, one straddling U <= 100 <= u.
  EXPECT_EQ(sync.on_delta(ChainedDelta{90, 95, 80, {lv(10, 1)}, {}}.event()).outcome, SyncOutcome::kBuffered);
  EXPECT_EQ(sync.on_delta(ChainedDelta{97, 104, 95, {lv(10, 7)}, {}}.event()).outcome, SyncOutcome::kBuffered);
  const SyncResult r = sync.on_snapshot(kSnapshot.event());
  ASSERT_EQ(r.outcome, SyncOutcome::kSynced);
  EXPECT_EQ(r.applied, 1u);
  EXPECT_EQ(r.discarded, 1u);
  EXPECT_EQ(sync.last_update_id(), 104u);
  // U = 110 is not 104 + 1, but pu = 104: it continues the book.
  EXPECT_EQ(sync.on_delta(ChainedDelta{110, 112, 104, {lv(9, 0)}, {}}.event()).outcome, SyncOutcome::kApplied);
  EXPECT_EQ(sync.on_delta(ChainedDelta{120, 121, 112, {}, {lv(12, 3)}}.event()).outcome, SyncOutcome::kApplied);
  EXPECT_EQ(sync.last_update_id(), 121u);
  EXPECT_EQ(sync.counters().gaps, 0u);
}

TEST(BookSyncPrevId, ABrokenChainIsAGapThatNeedsASnapshot) {
  BookSync sync = futures_sync();
  ASSERT_EQ(sync.on_snapshot(kSnapshot.event()).outcome, SyncOutcome::kSynced);
  ASSERT_EQ(sync.on_delta(ChainedDelta{99, 105, 98, {lv(10, 2)}, {}}.event()).outcome, SyncOutcome::kApplied);
  // pu = 107, but the book is at 105: 106..107 were missed.
  const SyncResult gap = sync.on_delta(ChainedDelta{109, 112, 107, {lv(10, 3)}, {}}.event());
  EXPECT_EQ(gap.outcome, SyncOutcome::kGap);
  EXPECT_EQ(gap.from_id, 106u);
  EXPECT_EQ(gap.to_id, 107u);
  EXPECT_TRUE(sync.needs_snapshot());
  EXPECT_EQ(sync.counters().gaps, 1u);
}

TEST(BookSyncPrevId, TheSpotRuleWouldHaveSeenGapsInTheSameChain) {
  // The same diffs under the spot rule: U = 110 after u = 104 is a gap there.
  BookSync sync;
  ASSERT_EQ(sync.on_snapshot(kSnapshot.event()).outcome, SyncOutcome::kSynced);
  ASSERT_EQ(sync.on_delta(ChainedDelta{97, 104, 95, {lv(10, 7)}, {}}.event()).outcome, SyncOutcome::kApplied);
  EXPECT_EQ(sync.on_delta(ChainedDelta{110, 112, 104, {lv(9, 0)}, {}}.event()).outcome, SyncOutcome::kGap);
}

TEST(BookSyncPrevId, ASnapshotNewerThanTheFirstBufferedDiffsStartIsTooOld) {
  BookSync sync = futures_sync();
  EXPECT_EQ(sync.on_delta(ChainedDelta{150, 160, 140, {lv(10, 1)}, {}}.event()).outcome, SyncOutcome::kBuffered);
  EXPECT_EQ(sync.on_snapshot(kSnapshot.event()).outcome, SyncOutcome::kSnapshotTooOld);
}

}  // namespace
}  // namespace tickwire::connector::book
