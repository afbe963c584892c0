#include "tickwire/connector/stream_tracker.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/connector/events.hpp"

namespace tickwire::connector {
namespace {

IdVerdict::Kind kind_of(StreamTracker& t, std::size_t s, std::uint64_t id, std::uint32_t gen = 0) {
  return t.check(s, id, id, gen).kind;
}

TEST(StreamTracker, ContiguousIdsAreAcceptedAndRepeatsAreDuplicates) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kContiguous);
  EXPECT_EQ(kind_of(t, s, 100), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 101), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 101), IdVerdict::kDuplicate);
  EXPECT_EQ(kind_of(t, s, 99), IdVerdict::kDuplicate);
  EXPECT_EQ(t.last_id(s), 101u);
}

TEST(StreamTracker, AGapIsReportedWithItsExactRangeAndTheMessageIsAccepted) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kContiguous);
  kind_of(t, s, 10);
  const IdVerdict v = t.check(s, 14, 14, 0);
  EXPECT_EQ(v.kind, IdVerdict::kGap);
  EXPECT_EQ(v.gap_from, 11u);
  EXPECT_EQ(v.gap_to, 13u);
  EXPECT_EQ(t.last_id(s), 14u);
  // A late message from inside the gap is older than the stream now: a duplicate, not data.
  EXPECT_EQ(kind_of(t, s, 12), IdVerdict::kDuplicate);
}

TEST(StreamTracker, RangesMustStraddleTheNextIdLikeDepthDiffs) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kContiguous);
  EXPECT_EQ(t.check(s, 1, 5, 0).kind, IdVerdict::kAccept);
  EXPECT_EQ(t.check(s, 4, 9, 0).kind, IdVerdict::kAccept);  // straddles 6
  EXPECT_EQ(t.check(s, 10, 12, 0).kind, IdVerdict::kAccept);
  EXPECT_EQ(t.check(s, 7, 12, 0).kind, IdVerdict::kDuplicate);
  const IdVerdict v = t.check(s, 20, 25, 0);
  EXPECT_EQ(v.kind, IdVerdict::kGap);
  EXPECT_EQ(v.gap_from, 13u);
  EXPECT_EQ(v.gap_to, 19u);
}

TEST(StreamTracker, MonotonicStreamsOnlyDropOlderIds) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kMonotonic);
  EXPECT_EQ(kind_of(t, s, 5), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 50), IdVerdict::kAccept);  // not a gap: ids are shared with other updates
  EXPECT_EQ(kind_of(t, s, 50), IdVerdict::kDuplicate);
  EXPECT_EQ(kind_of(t, s, 49), IdVerdict::kDuplicate);
}

TEST(StreamTracker, IncreasingTradeIdsTakeALateTradeAndDropRepeats) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kIncreasing);
  EXPECT_EQ(kind_of(t, s, 10), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 20), IdVerdict::kAccept);  // ids skip: no gap
  EXPECT_EQ(kind_of(t, s, 15), IdVerdict::kAccept);  // late (a reordered pair): never accepted, so new
  EXPECT_EQ(t.last_id(s), 20u);
  EXPECT_EQ(kind_of(t, s, 15), IdVerdict::kDuplicate);
  EXPECT_EQ(kind_of(t, s, 20), IdVerdict::kDuplicate);
  EXPECT_EQ(kind_of(t, s, 9), IdVerdict::kDuplicate);  // older than anything remembered: cannot be told
  EXPECT_EQ(kind_of(t, s, 21), IdVerdict::kAccept);
}

TEST(StreamTracker, IncreasingTradeIdsRememberTheLast64) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kIncreasing);
  for (std::uint64_t id = 100; id < 300; id += 2) ASSERT_EQ(kind_of(t, s, id), IdVerdict::kAccept) << id;
  // The ring holds 172..298: 173 is late and new, 171 is below it all.
  EXPECT_EQ(kind_of(t, s, 173), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 173), IdVerdict::kDuplicate);
  EXPECT_EQ(kind_of(t, s, 171), IdVerdict::kDuplicate);
  EXPECT_EQ(kind_of(t, s, 298), IdVerdict::kDuplicate);
  t.reset(s);
  EXPECT_EQ(kind_of(t, s, 50), IdVerdict::kAccept);  // after a reset the next id is taken as is
}

TEST(StreamTracker, NonDecreasingStreamsAcceptARepeatedIdAndDropOnlyOlderOnes) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kNonDecreasing);
  EXPECT_EQ(kind_of(t, s, 5), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 5), IdVerdict::kAccept);  // another trade of the same Bybit seq
  EXPECT_EQ(kind_of(t, s, 9), IdVerdict::kAccept);  // not a gap
  EXPECT_EQ(kind_of(t, s, 8), IdVerdict::kDuplicate);
}

IdVerdict::Kind tagged(StreamTracker& t, std::size_t s, std::uint64_t id, std::string_view trade,
                       std::uint32_t gen = 0) {
  return t.check(s, id, id, gen, trade_tag(trade)).kind;
}

TEST(StreamTracker, NonDecreasingStreamsTellARepeatAtTheLastIdByItsTag) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kNonDecreasing);
  EXPECT_EQ(tagged(t, s, 5, "a"), IdVerdict::kAccept);
  EXPECT_EQ(tagged(t, s, 5, "b"), IdVerdict::kAccept);     // another fill of the same seq
  EXPECT_EQ(tagged(t, s, 5, "a"), IdVerdict::kDuplicate);  // the message again
  EXPECT_EQ(tagged(t, s, 5, "b"), IdVerdict::kDuplicate);
  EXPECT_EQ(tagged(t, s, 9, "a"), IdVerdict::kAccept);  // the seq moved on: the same text is another trade
  EXPECT_EQ(tagged(t, s, 9, "c"), IdVerdict::kAccept);
  EXPECT_EQ(tagged(t, s, 5, "z"), IdVerdict::kDuplicate);  // older
  EXPECT_EQ(tagged(t, s, 9, "c"), IdVerdict::kDuplicate);
  t.reset(s);
  EXPECT_EQ(tagged(t, s, 9, "c"), IdVerdict::kAccept);  // after a reset nothing is remembered
}

TEST(StreamTracker, NonDecreasingStreamsRememberAThousandTradesOfOneSeqAndPassTheRestOfATooLargeOne) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kNonDecreasing);
  // Bybit sends up to 1024 trades in one message, all of one seq.
  for (int i = 0; i < 1024; ++i) ASSERT_EQ(tagged(t, s, 7, "fill-" + std::to_string(i)), IdVerdict::kAccept) << i;
  for (int i = 0; i < 1024; ++i) ASSERT_EQ(tagged(t, s, 7, "fill-" + std::to_string(i)), IdVerdict::kDuplicate) << i;
  // Past the table's capacity new tags are still accepted (not remembered).
  for (int i = 1024; i < 5000; ++i) ASSERT_EQ(tagged(t, s, 7, "fill-" + std::to_string(i)), IdVerdict::kAccept) << i;
  EXPECT_EQ(tagged(t, s, 7, "fill-0"), IdVerdict::kDuplicate);
  EXPECT_EQ(tagged(t, s, 8, "fill-0"), IdVerdict::kAccept);  // the table empties when the seq moves on
  EXPECT_EQ(tagged(t, s, 8, "fill-4999"), IdVerdict::kAccept);
}

TEST(StreamTracker, NonDecreasingRolloverHoldsTheNewConnectionAheadUntilTheOldOneDeliversIt) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kNonDecreasing);
  EXPECT_EQ(tagged(t, s, 10, "x", 1), IdVerdict::kAccept);
  t.begin_rollover(2);
  EXPECT_FALSE(t.overlapped());
  // The newer connection is ahead: seq 12 and 14 are held, the old one brings them.
  EXPECT_EQ(tagged(t, s, 12, "p", 2), IdVerdict::kHeld);
  EXPECT_EQ(tagged(t, s, 14, "q", 2), IdVerdict::kHeld);
  EXPECT_EQ(tagged(t, s, 11, "o", 1), IdVerdict::kAccept);
  EXPECT_EQ(tagged(t, s, 12, "p", 1), IdVerdict::kAccept);
  EXPECT_FALSE(t.overlapped());
  EXPECT_EQ(tagged(t, s, 14, "q", 1), IdVerdict::kAccept);
  EXPECT_TRUE(t.overlapped());  // the old connection caught up with all the newer one held back
  EXPECT_EQ(tagged(t, s, 14, "q", 2), IdVerdict::kDuplicate);
  EXPECT_EQ(tagged(t, s, 15, "r", 2), IdVerdict::kAccept);
  EXPECT_EQ(tagged(t, s, 15, "r", 1), IdVerdict::kDuplicate);
  t.end_rollover();
}

TEST(StreamTracker, NonDecreasingRolloverOverlapsWhenTheNewConnectionRepeatsTheLastSeq) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kNonDecreasing);
  EXPECT_EQ(tagged(t, s, 10, "x", 1), IdVerdict::kAccept);
  EXPECT_EQ(tagged(t, s, 10, "y", 1), IdVerdict::kAccept);
  t.begin_rollover(2);
  EXPECT_EQ(tagged(t, s, 10, "x", 2), IdVerdict::kDuplicate);
  EXPECT_TRUE(t.overlapped());
  EXPECT_EQ(tagged(t, s, 10, "y", 2), IdVerdict::kDuplicate);
  EXPECT_EQ(tagged(t, s, 10, "w", 2), IdVerdict::kAccept);  // a fill of seq 10 the old one had not delivered
  EXPECT_EQ(tagged(t, s, 10, "w", 1), IdVerdict::kDuplicate);
  EXPECT_EQ(tagged(t, s, 11, "v", 2), IdVerdict::kAccept);
}

TEST(StreamTracker, ResetTakesTheNextIdAsIs) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kContiguous);
  kind_of(t, s, 10);
  t.reset(s);
  EXPECT_EQ(kind_of(t, s, 3), IdVerdict::kAccept);
  EXPECT_EQ(t.last_id(s), 3u);
}

TEST(StreamTracker, RolloverWhereTheNewConnectionStartsBehindOverlapsOnItsFirstRepeat) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kContiguous);
  for (std::uint64_t id = 1; id <= 10; ++id) kind_of(t, s, id, 1);
  t.begin_rollover(2);
  EXPECT_FALSE(t.overlapped());
  EXPECT_EQ(kind_of(t, s, 9, 2), IdVerdict::kDuplicate);
  EXPECT_TRUE(t.overlapped());
  EXPECT_EQ(kind_of(t, s, 10, 2), IdVerdict::kDuplicate);
  EXPECT_EQ(kind_of(t, s, 11, 2), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 11, 1), IdVerdict::kDuplicate);
  t.end_rollover();
  EXPECT_EQ(kind_of(t, s, 12, 2), IdVerdict::kAccept);
}

TEST(StreamTracker, RolloverWhereTheNewConnectionIsAheadHoldsItUntilTheOldCatchesUp) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kContiguous);
  for (std::uint64_t id = 1; id <= 10; ++id) kind_of(t, s, id, 1);
  t.begin_rollover(2);
  EXPECT_EQ(kind_of(t, s, 13, 2), IdVerdict::kHeld);  // 11, 12 still to come from the old one
  EXPECT_EQ(kind_of(t, s, 14, 2), IdVerdict::kHeld);
  EXPECT_FALSE(t.overlapped());
  EXPECT_EQ(kind_of(t, s, 11, 1), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 12, 1), IdVerdict::kAccept);
  EXPECT_FALSE(t.overlapped());  // 13 was held, so the old one must still deliver it
  EXPECT_EQ(kind_of(t, s, 13, 1), IdVerdict::kAccept);
  EXPECT_EQ(kind_of(t, s, 14, 1), IdVerdict::kAccept);
  EXPECT_TRUE(t.overlapped());
  EXPECT_EQ(kind_of(t, s, 15, 2), IdVerdict::kAccept);
}

TEST(StreamTracker, OnlyStreamsWithDataMustOverlap) {
  StreamTracker t;
  const auto busy = t.add_stream(StreamKind::kContiguous);
  const auto quiet = t.add_stream(StreamKind::kContiguous);
  const auto quote = t.add_stream(StreamKind::kMonotonic);
  kind_of(t, busy, 1, 1);
  kind_of(t, quote, 7, 1);
  t.begin_rollover(2);
  (void)quiet;
  EXPECT_EQ(t.not_overlapped(), 2u);
  kind_of(t, busy, 1, 2);
  EXPECT_EQ(t.not_overlapped(), 1u);
  EXPECT_EQ(kind_of(t, quote, 9, 2), IdVerdict::kAccept);  // monotonic: any message from the new one overlaps
  EXPECT_TRUE(t.overlapped());
}

// Two connections deliver the same contiguous stream with random lags; the
// accepted ids must be exactly 1..N, once each, in order, whatever the interleaving.
TEST(StreamTracker, RandomInterleavingsOfTwoConnectionsLoseAndRepeatNothing) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    StreamTracker t;
    const auto s = t.add_stream(StreamKind::kContiguous);
    constexpr std::uint64_t kN = 300;
    const std::uint64_t switch_at = 50 + rng() % 100;   // the old connection stops after the overlap
    const std::uint64_t new_start = switch_at - 20 + rng() % 40;  // the new one starts around there
    std::vector<std::uint64_t> accepted;
    std::uint64_t old_next = 1;
    std::uint64_t new_next = 0;
    bool old_open = true;
    while (accepted.size() < kN && (old_open || new_next != 0)) {
      if (new_next == 0 && old_next >= switch_at - 20) {
        t.begin_rollover(2);
        new_next = new_start;
      }
      const bool new_has_more = new_next != 0 && new_next <= kN;
      if (!old_open && !new_has_more) break;
      const bool pick_old = old_open && (!new_has_more || rng() % 2 == 0);
      std::uint64_t id = 0;
      std::uint32_t gen = 0;
      if (pick_old) {
        id = old_next++;
        gen = 1;
      } else {
        id = new_next++;
        gen = 2;
      }
      const IdVerdict v = t.check(s, id, id, gen);
      ASSERT_NE(v.kind, IdVerdict::kGap) << "seed " << seed << " id " << id << " gen " << gen;
      if (v.kind == IdVerdict::kAccept) accepted.push_back(id);
      if (old_open && t.rolling_over() && t.overlapped()) {
        t.end_rollover();
        old_open = false;
      }
      if (old_next > kN) old_open = false;
    }
    ASSERT_FALSE(accepted.empty());
    for (std::size_t i = 0; i < accepted.size(); ++i) {
      ASSERT_EQ(accepted[i], i + 1) << "seed " << seed;
    }
    EXPECT_EQ(accepted.size(), kN) << "seed " << seed;
  }
}

// begin_rollover for the generation already rolling to changes nothing: what
// was held back from it stays held (the session announces the candidate, then
// its start).
TEST(StreamTracker, BeginningTheSameRolloverTwiceKeepsWhatWasHeld) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kContiguous);
  EXPECT_EQ(t.check(s, 10, 10, 1).kind, IdVerdict::kAccept);
  t.begin_rollover(2);
  EXPECT_EQ(t.check(s, 13, 13, 2).kind, IdVerdict::kHeld);
  t.begin_rollover(2);
  EXPECT_TRUE(t.rolling_to(2));
  EXPECT_FALSE(t.overlapped());
  EXPECT_EQ(t.check(s, 11, 11, 1).kind, IdVerdict::kAccept);
  EXPECT_FALSE(t.overlapped());  // 12 and 13 are still the old connection's to deliver
  EXPECT_EQ(t.check(s, 12, 13, 1).kind, IdVerdict::kAccept);
  EXPECT_TRUE(t.overlapped());
}

// Increasing ids (OKX, USD-M trades) during a rollover: a new id from the
// newer connection ahead of the stream is held back, not accepted (seen on
// OKX under CPU starvation: accepting it proved an overlap that was not
// there, the old connection was closed, and the trades it still had in
// flight were lost). The old connection reaching the highest held id proves it.
TEST(StreamTracker, IncreasingIdsFromTheNewConnectionAheadAreHeldUntilTheOldOneReachesThem) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kIncreasing);
  EXPECT_EQ(t.check(s, 100, 100, 1).kind, IdVerdict::kAccept);
  t.begin_rollover(2);
  EXPECT_EQ(t.check(s, 130, 130, 2).kind, IdVerdict::kHeld);
  EXPECT_EQ(t.check(s, 150, 150, 2).kind, IdVerdict::kHeld);
  EXPECT_FALSE(t.overlapped());
  EXPECT_EQ(t.check(s, 110, 110, 1).kind, IdVerdict::kAccept);  // in flight on the old connection
  EXPECT_EQ(t.check(s, 130, 130, 1).kind, IdVerdict::kAccept);
  EXPECT_FALSE(t.overlapped());
  EXPECT_EQ(t.check(s, 150, 150, 1).kind, IdVerdict::kAccept);
  EXPECT_TRUE(t.overlapped());
  EXPECT_EQ(t.check(s, 150, 150, 2).kind, IdVerdict::kDuplicate);
  EXPECT_EQ(t.check(s, 160, 160, 2).kind, IdVerdict::kAccept);
  t.end_rollover();
}

// ... or the newer connection repeating an accepted id: it covers the stream from there.
TEST(StreamTracker, IncreasingIdsOverlapWhenTheNewConnectionRepeatsAnAcceptedOne) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kIncreasing);
  EXPECT_EQ(t.check(s, 100, 100, 1).kind, IdVerdict::kAccept);
  t.begin_rollover(2);
  EXPECT_EQ(t.check(s, 100, 100, 2).kind, IdVerdict::kDuplicate);
  EXPECT_TRUE(t.overlapped());
  EXPECT_EQ(t.check(s, 120, 120, 2).kind, IdVerdict::kAccept);
}

// The interleaving behind Coinbase trades journaled twice across a rollover:
// the old connection lags 50 trades behind the new one. Accepted at once,
// the new one's 150..200 filled the ring of recent ids, the old one's late
// 101..149 pushed them out, and its 150.. were accepted a second time. Held
// back, every id is accepted exactly once.
TEST(StreamTracker, IncreasingIdsAcrossARolloverWithALaggingOldConnectionAreAcceptedOnce) {
  StreamTracker t;
  const auto s = t.add_stream(StreamKind::kIncreasing);
  std::map<std::uint64_t, int> accepted;
  auto deliver = [&](std::uint64_t id, std::uint32_t generation) {
    if (t.check(s, id, id, generation).kind == IdVerdict::kAccept) ++accepted[id];
  };
  for (std::uint64_t id = 1; id <= 100; ++id) deliver(id, 1);
  t.begin_rollover(2);
  for (std::uint64_t id = 150; id <= 200; ++id) deliver(id, 2);  // the new connection, ahead
  for (std::uint64_t id = 101; id <= 210; ++id) deliver(id, 1);  // the old one catches up and goes on
  for (std::uint64_t id = 201; id <= 230; ++id) deliver(id, 2);
  EXPECT_TRUE(t.overlapped());
  t.end_rollover();
  ASSERT_EQ(accepted.size(), 230u);
  for (const auto& [id, times] : accepted) ASSERT_EQ(times, 1) << id;
}

}  // namespace
}  // namespace tickwire::connector
