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
  from_rest_ = false;
  book_.clear();
  return {outcome, from, to, ReplaceReason::kFirst};
}

StreamResult StreamSync::replace(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks,
                                 std::uint64_t id, std::uint64_t cross_sequence, ReplaceReason reason) {
  if (!book_.load(bids, asks)) return invalidate(StreamOutcome::kNegative, id, id);
  if (book_.crossed()) return invalidate(StreamOutcome::kCrossed, id, id);
  valid_ = true;
  from_rest_ = false;
  last_ = id;
  cross_sequence_ = cross_sequence;
  return {StreamOutcome::kReplaced, id, id, reason};
}

StreamResult StreamSync::on_snapshot(const BookSnapshotEvent& snapshot) {
  const std::uint64_t id = snapshot.last_update_id;
  if (is_repeat(snapshot)) return {StreamOutcome::kRepeat, id, id, ReplaceReason::kFirst};
  // A snapshot in the stream ends a REST bootstrap: the book is whole from it.
  bootstrapping_ = false;
  kept_.clear();
  kept_levels_.clear();
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
  const bool empty = delta.bids.empty() && delta.asks.empty();
  if (id == prev && empty && prev == last_) return {StreamOutcome::kKeepalive, id, id, ReplaceReason::kFirst};
  if (from_rest_) {
    // The book is a REST snapshot's at L: the first update must cover L (prev <= L < id).
    if (id <= last_) return {StreamOutcome::kStale, id, id, ReplaceReason::kFirst};
    if (prev > last_) return invalidate(StreamOutcome::kGap, last_ + 1, prev);
  } else if (prev != last_) {
    if (id <= last_ && prev < last_) return {StreamOutcome::kStale, id, id, ReplaceReason::kFirst};
    // The updates after L up to the one this names as its previous are missing.
    return prev > last_ ? invalidate(StreamOutcome::kGap, last_ + 1, prev) : invalidate(StreamOutcome::kGap, id, id);
  }
  if (!book_.apply(delta.bids, delta.asks)) return invalidate(StreamOutcome::kNegative, id, id);
  if (book_.crossed()) return invalidate(StreamOutcome::kCrossed, id, id);
  if (!checksum_ok(delta.has_checksum, delta.checksum)) return invalidate(StreamOutcome::kChecksum, id, id);
  last_ = id;  // below prev after a maintenance reset: the chain goes on from it
  from_rest_ = false;
  cross_sequence_ = delta.cross_sequence;
  return {StreamOutcome::kApplied, id, id, ReplaceReason::kFirst};
}

StreamResult StreamSync::on_delta(const BookDeltaEvent& delta) {
  const std::uint64_t id = delta.last_update_id;
  if (bootstrapping_) {
    keep(delta);
    return {StreamOutcome::kBuffered, id, id, ReplaceReason::kFirst};
  }
  if (delta.restart) return replace(delta.bids, delta.asks, id, delta.cross_sequence, ReplaceReason::kRestart);
  if (!valid_) return {StreamOutcome::kWaiting, id, id, ReplaceReason::kFirst};
  if (delta.has_prev) return on_chained(delta);
  if (id <= last_) return {StreamOutcome::kStale, id, id, ReplaceReason::kFirst};
  if (id - last_ > 1 && !connection_sequence_) return invalidate(StreamOutcome::kGap, last_ + 1, id - 1);
  if (!book_.apply(delta.bids, delta.asks)) return invalidate(StreamOutcome::kNegative, id, id);
  if (book_.crossed()) return invalidate(StreamOutcome::kCrossed, id, id);
  last_ = id;
  from_rest_ = false;
  cross_sequence_ = delta.cross_sequence;
  return {StreamOutcome::kApplied, id, id, ReplaceReason::kFirst};
}

void StreamSync::begin_bootstrap() {
  if (bootstrapping_) return;
  bootstrapping_ = true;
  (void)invalidate(StreamOutcome::kWaiting, last_, last_);
  kept_.clear();
  kept_levels_.clear();
}

void StreamSync::keep(const BookDeltaEvent& delta) {
  if (!kept_.empty()) {
    const Kept& last = kept_.back();
    const bool continues = delta.has_prev ? delta.prev_update_id == last.last_id
                                          : delta.first_update_id <= last.last_id + 1 &&
                                                delta.last_update_id > last.last_id;
    if (!continues) {
      // No snapshot could bridge the break: only what follows it is of use.
      kept_.clear();
      kept_levels_.clear();
    }
  }
  const std::size_t n = delta.bids.size() + delta.asks.size();
  // The oldest go first: a snapshot later than them still bridges the rest.
  std::size_t drop = 0;
  while (drop < kept_.size() && (kept_.size() - drop >= kMaxKeptDeltas ||
                                 kept_levels_.size() - kept_[drop].offset + n > kMaxKeptLevels)) {
    ++drop;
  }
  drop_front(drop);
  kept_.push_back({delta.first_update_id, delta.last_update_id, delta.prev_update_id, delta.cross_sequence,
                   delta.checksum, delta.has_prev, delta.has_checksum, kept_levels_.size(), delta.bids.size(),
                   delta.asks.size()});
  kept_levels_.insert(kept_levels_.end(), delta.bids.begin(), delta.bids.end());
  kept_levels_.insert(kept_levels_.end(), delta.asks.begin(), delta.asks.end());
}

void StreamSync::drop_front(std::size_t n) {
  if (n == 0) return;
  const std::size_t levels = n < kept_.size() ? kept_[n].offset : kept_levels_.size();
  kept_.erase(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(n));
  kept_levels_.erase(kept_levels_.begin(), kept_levels_.begin() + static_cast<std::ptrdiff_t>(levels));
  for (Kept& k : kept_) k.offset -= levels;
}

StreamResult StreamSync::apply_kept(std::size_t i) {
  const Kept& k = kept_[i];
  const std::span<const PriceLevel> bids(kept_levels_.data() + k.offset, k.bid_count);
  const std::span<const PriceLevel> asks(kept_levels_.data() + k.offset + k.bid_count, k.ask_count);
  if (!book_.apply(bids, asks)) return invalidate(StreamOutcome::kNegative, k.last_id, k.last_id);
  if (book_.crossed()) return invalidate(StreamOutcome::kCrossed, k.last_id, k.last_id);
  if (!checksum_ok(k.has_checksum, k.checksum)) return invalidate(StreamOutcome::kChecksum, k.last_id, k.last_id);
  last_ = k.last_id;
  cross_sequence_ = k.cross_sequence;
  return {StreamOutcome::kApplied, k.last_id, k.last_id, ReplaceReason::kFirst};
}

BootstrapResult StreamSync::on_rest_snapshot(const BookSnapshotEvent& snapshot) {
  const std::uint64_t s = snapshot.last_update_id;
  BootstrapResult out;
  if (!bootstrapping_) {
    // A snapshot in the stream already made the book whole: this one is late.
    out.result = {StreamOutcome::kStale, s, s, ReplaceReason::kRest};
    return out;
  }
  out.result = replace(snapshot.bids, snapshot.asks, s, snapshot.cross_sequence, ReplaceReason::kRest);
  if (out.result.outcome != StreamOutcome::kReplaced) return out;  // still bootstrapping: another is needed
  std::size_t i = 0;
  for (; i < kept_.size(); ++i) {
    const Kept& k = kept_[i];
    if (k.last_id <= s) continue;  // at or before the snapshot: in it already
    const bool covers = k.has_prev ? k.prev_id <= s : k.first_id <= s + 1;
    if (covers) break;
    // The first kept delta after the snapshot does not reach back to it.
    out.result = invalidate(StreamOutcome::kTooOld, s + 1, k.has_prev ? k.prev_id : k.first_id - 1);
    out.discarded = i;
    drop_front(i);
    return out;
  }
  out.discarded = i;
  for (; i < kept_.size(); ++i) {
    const StreamResult r = apply_kept(i);
    if (r.outcome != StreamOutcome::kApplied) {
      out.result = r;
      break;
    }
    ++out.applied;
  }
  bootstrapping_ = false;
  kept_.clear();
  kept_levels_.clear();
  if (out.result.outcome != StreamOutcome::kReplaced) return out;
  from_rest_ = out.applied == 0;
  out.result.to_id = last_;
  return out;
}

}  // namespace tickwire::connector::book
