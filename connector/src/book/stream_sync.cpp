#include "tickwire/connector/book/stream_sync.hpp"

namespace tickwire::connector::book {

StreamSync::StreamSync(std::size_t book_reserve, SequenceChecksum checksum, std::size_t checksum_levels,
                       bool connection_sequence)
    : book_(book_reserve), checksum_(checksum_levels == 0 ? nullptr : checksum),
      connection_sequence_(connection_sequence) {
  top_bids_.resize(checksum_levels);
  top_asks_.resize(checksum_levels);
}

bool StreamSync::checksum_ok(bool has_checksum, std::uint32_t checksum) {
  if (!has_checksum || checksum_ == nullptr) return true;
  const std::size_t nb = book_.top(BookSide::kBid, top_bids_);
  const std::size_t na = book_.top(BookSide::kAsk, top_asks_);
  return checksum_(std::span<const PriceLevel>(top_bids_.data(), nb), std::span<const PriceLevel>(top_asks_.data(), na),
                   top_bids_.size()) == checksum;
}

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
  const StreamResult r = replace(snapshot.bids, snapshot.asks, id, snapshot.cross_sequence,
                                 valid_ ? ReplaceReason::kSnapshot : ReplaceReason::kFirst);
  if (r.outcome == StreamOutcome::kReplaced && !checksum_ok(snapshot.has_checksum, snapshot.checksum)) {
    return invalidate(StreamOutcome::kChecksum, id, id);
  }
  return r;
}

StreamResult StreamSync::on_chained(const BookDeltaEvent& delta) {
  const std::uint64_t id = delta.last_update_id;
  const std::uint64_t prev = delta.prev_update_id;
  if (prev != last_) {
    if (id <= last_ && prev < last_) return {StreamOutcome::kStale, id, id, ReplaceReason::kFirst};
    // The updates after L up to the one this names as its previous are missing.
    return prev > last_ ? invalidate(StreamOutcome::kGap, last_ + 1, prev) : invalidate(StreamOutcome::kGap, id, id);
  }
  if (id == prev && delta.bids.empty() && delta.asks.empty()) {
    return {StreamOutcome::kKeepalive, id, id, ReplaceReason::kFirst};
  }
  if (!book_.apply(delta.bids, delta.asks)) return invalidate(StreamOutcome::kNegative, id, id);
  if (book_.crossed()) return invalidate(StreamOutcome::kCrossed, id, id);
  if (!checksum_ok(delta.has_checksum, delta.checksum)) return invalidate(StreamOutcome::kChecksum, id, id);
  last_ = id;  // below prev after a maintenance reset: the chain goes on from it
  cross_sequence_ = delta.cross_sequence;
  return {StreamOutcome::kApplied, id, id, ReplaceReason::kFirst};
}

StreamResult StreamSync::on_delta(const BookDeltaEvent& delta) {
  const std::uint64_t id = delta.last_update_id;
  if (delta.restart) return replace(delta.bids, delta.asks, id, delta.cross_sequence, ReplaceReason::kRestart);
  if (!valid_) return {StreamOutcome::kWaiting, id, id, ReplaceReason::kFirst};
  if (delta.has_prev) return on_chained(delta);
  if (id <= last_) return {StreamOutcome::kStale, id, id, ReplaceReason::kFirst};
  if (id - last_ > 1 && !connection_sequence_) return invalidate(StreamOutcome::kGap, last_ + 1, id - 1);
  if (!book_.apply(delta.bids, delta.asks)) return invalidate(StreamOutcome::kNegative, id, id);
  if (book_.crossed()) return invalidate(StreamOutcome::kCrossed, id, id);
  last_ = id;
  cross_sequence_ = delta.cross_sequence;
  return {StreamOutcome::kApplied, id, id, ReplaceReason::kFirst};
}

}  // namespace tickwire::connector::book
