#include "tickwire/connector/book/stream_sync.hpp"

namespace tickwire::connector::book {

StreamResult StreamSync::invalidate(StreamOutcome outcome, std::uint64_t from, std::uint64_t to) {
  valid_ = false;
  book_.clear();
  return {outcome, from, to, ReplaceReason::kFirst};
}

StreamResult StreamSync::replace(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks,
                                 std::uint64_t id, std::uint64_t cross_sequence, ReplaceReason reason) {
  if (!book_.load(bids, asks)) return invalidate(StreamOutcome::kNegative, id, id);
  if (book_.crossed()) return invalidate(StreamOutcome::kCrossed, id, id);
  valid_ = true;
  last_ = id;
  cross_sequence_ = cross_sequence;
  return {StreamOutcome::kReplaced, id, id, reason};
}

StreamResult StreamSync::on_snapshot(const BookSnapshotEvent& snapshot) {
  const std::uint64_t id = snapshot.last_update_id;
  if (is_repeat(snapshot)) return {StreamOutcome::kRepeat, id, id, ReplaceReason::kFirst};
  return replace(snapshot.bids, snapshot.asks, id, snapshot.cross_sequence,
                 valid_ ? ReplaceReason::kSnapshot : ReplaceReason::kFirst);
}

StreamResult StreamSync::on_delta(const BookDeltaEvent& delta) {
  const std::uint64_t id = delta.last_update_id;
  if (delta.restart) return replace(delta.bids, delta.asks, id, delta.cross_sequence, ReplaceReason::kRestart);
  if (!valid_) return {StreamOutcome::kWaiting, id, id, ReplaceReason::kFirst};
  if (id <= last_) return {StreamOutcome::kStale, id, id, ReplaceReason::kFirst};
  if (id - last_ > 1 && !connection_sequence_) return invalidate(StreamOutcome::kGap, last_ + 1, id - 1);
  if (!book_.apply(delta.bids, delta.asks)) return invalidate(StreamOutcome::kNegative, id, id);
  if (book_.crossed()) return invalidate(StreamOutcome::kCrossed, id, id);
  last_ = id;
  cross_sequence_ = delta.cross_sequence;
  return {StreamOutcome::kApplied, id, id, ReplaceReason::kFirst};
}

}  // namespace tickwire::connector::book
