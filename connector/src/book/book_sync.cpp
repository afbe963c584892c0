#include "tickwire/connector/book/book_sync.hpp"

#include <algorithm>

namespace tickwire::connector::book {
namespace {

// Initial reservations: a few seconds of a busy 100 ms stream; the buffer
// grows (up to the options' bounds) only while a snapshot is being fetched.
constexpr std::size_t kInitialDeltas = 256;
constexpr std::size_t kInitialLevels = 4096;

}  // namespace

BookSync::BookSync(SyncOptions options) : options_(options), book_(options.book_reserve) {
  buffer_.reserve(std::min(kInitialDeltas, options_.max_buffered_deltas));
  levels_.reserve(std::min(kInitialLevels, options_.max_buffered_levels));
}

void BookSync::buffer(const BookDeltaEvent& delta) {
  const std::size_t n = delta.bids.size() + delta.asks.size();
  if (n > options_.max_buffered_levels || options_.max_buffered_deltas == 0) {
    // It can never fit: dropping it leaves a hole the replay reports as a gap.
    ++counters_.overflowed;
    return;
  }
  std::size_t drop = 0;
  std::size_t kept_levels = levels_.size();
  while (drop < buffer_.size() &&
         (buffer_.size() - drop >= options_.max_buffered_deltas || kept_levels + n > options_.max_buffered_levels)) {
    kept_levels -= buffer_[drop].bid_count + buffer_[drop].ask_count;
    ++drop;
  }
  counters_.overflowed += drop;
  drop_front(drop);
  buffer_.push_back({delta.first_update_id, delta.last_update_id, delta.prev_update_id, delta.has_prev,
                     levels_.size(), delta.bids.size(), delta.asks.size()});
  levels_.insert(levels_.end(), delta.bids.begin(), delta.bids.end());
  levels_.insert(levels_.end(), delta.asks.begin(), delta.asks.end());
}

std::pair<std::uint64_t, std::uint64_t> BookSync::missing(std::uint64_t first, std::uint64_t prev,
                                                          bool has_prev) const {
  if (options_.rule == ChainRule::kPrevId && has_prev) {
    if (prev == last_ || (fresh_ && first <= last_)) return {0, 0};
    return {last_ + 1, std::max(last_ + 1, prev)};
  }
  // Written so that no id, however large, wraps around.
  if (first > last_ && first - last_ > 1) return {last_ + 1, first - 1};
  return {0, 0};
}

void BookSync::drop_front(std::size_t n) {
  if (n == 0) return;
  if (n >= buffer_.size()) {
    buffer_.clear();
    levels_.clear();
    return;
  }
  const std::size_t cut = buffer_[n].offset;
  levels_.erase(levels_.begin(), levels_.begin() + static_cast<std::ptrdiff_t>(cut));
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
  for (auto& b : buffer_) b.offset -= cut;
}

void BookSync::invalidate() {
  synced_ = false;
  book_.clear();
  ++counters_.resyncs;
}

SyncOutcome BookSync::apply(std::uint64_t last_id, std::span<const PriceLevel> bids,
                            std::span<const PriceLevel> asks) {
  if (!book_.apply(bids, asks)) {
    ++counters_.negative;
    return SyncOutcome::kNegative;
  }
  last_ = last_id;
  fresh_ = false;
  ++counters_.applied;
  if (book_.crossed()) {
    ++counters_.crossed;
    return SyncOutcome::kCrossed;
  }
  return SyncOutcome::kApplied;
}

SyncResult BookSync::on_delta(const BookDeltaEvent& delta) {
  const std::uint64_t first = delta.first_update_id;
  const std::uint64_t last = delta.last_update_id;
  if (first > last) {
    ++counters_.malformed;
    return {SyncOutcome::kMalformed, first, last, 0, 0};
  }
  if (!synced_) {
    buffer(delta);
    return {SyncOutcome::kBuffered, first, last, 0, 0};
  }
  if (last <= last_) {
    ++counters_.discarded;
    return {SyncOutcome::kStale, first, last, 0, 1};
  }
  if (const auto [from, to] = missing(first, delta.prev_update_id, delta.has_prev); from != 0) {
    const SyncResult gap{SyncOutcome::kGap, from, to, 0, 0};
    ++counters_.gaps;
    invalidate();
    buffer(delta);
    return gap;
  }
  const SyncOutcome outcome = apply(last, delta.bids, delta.asks);
  if (outcome == SyncOutcome::kApplied) return {outcome, first, last, 1, 0};
  invalidate();
  // A crossing delta is real data: the next snapshot may predate it. A
  // negative one can never apply, so it is not kept.
  if (outcome == SyncOutcome::kCrossed) buffer(delta);
  return {outcome, first, last, outcome == SyncOutcome::kCrossed ? 1u : 0u, 0};
}

SyncResult BookSync::on_snapshot(const BookSnapshotEvent& snapshot) {
  const std::uint64_t id = snapshot.last_update_id;
  const bool was_synced = synced_;
  synced_ = false;
  if (!book_.load(snapshot.bids, snapshot.asks)) {
    ++counters_.negative;
    ++counters_.resyncs;
    book_.clear();
    return {SyncOutcome::kNegative, id, id, 0, 0};
  }
  if (was_synced) {
    // A snapshot while synced (a forced resync) starts over from it.
    buffer_.clear();
    levels_.clear();
  }
  // Written so that no id, however large, wraps around.
  const bool prev_chain = options_.rule == ChainRule::kPrevId && !buffer_.empty() && buffer_.front().has_prev;
  const bool too_old = prev_chain ? buffer_.front().first_id > id && buffer_.front().prev_id != id
                                  : !buffer_.empty() && buffer_.front().first_id > id && buffer_.front().first_id - id > 1;
  if (too_old) {
    ++counters_.too_old;
    ++counters_.resyncs;
    book_.clear();
    return {SyncOutcome::kSnapshotTooOld, id + 1, buffer_.front().first_id - 1, 0, 0};
  }
  if (book_.crossed()) {
    ++counters_.crossed;
    ++counters_.resyncs;
    book_.clear();
    return {SyncOutcome::kCrossed, id, id, 0, 0};
  }
  synced_ = true;
  fresh_ = true;
  last_ = id;
  SyncResult result{SyncOutcome::kSynced, id, id, 0, 0};
  for (std::size_t i = 0; i < buffer_.size(); ++i) {
    const Buffered& b = buffer_[i];
    if (b.last_id <= last_) {
      ++counters_.discarded;
      ++result.discarded;
      continue;
    }
    if (const auto [from, to] = missing(b.first_id, b.prev_id, b.has_prev); from != 0) {
      result = {SyncOutcome::kGap, from, to, result.applied, result.discarded};
      ++counters_.gaps;
      invalidate();
      drop_front(i);  // this delta and the later ones wait for the next snapshot
      return result;
    }
    const std::span<const PriceLevel> all(levels_.data() + b.offset, b.bid_count + b.ask_count);
    const SyncOutcome outcome = apply(b.last_id, all.first(b.bid_count), all.subspan(b.bid_count));
    if (outcome != SyncOutcome::kApplied) {
      result = {outcome, b.first_id, b.last_id, result.applied, result.discarded};
      if (outcome == SyncOutcome::kCrossed) ++result.applied;
      invalidate();
      drop_front(outcome == SyncOutcome::kCrossed ? i : i + 1);
      return result;
    }
    ++result.applied;
  }
  buffer_.clear();
  levels_.clear();
  ++counters_.syncs;
  return result;
}

}  // namespace tickwire::connector::book
