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

}  // namespace
}  // namespace tickwire::connector::book
