#include "tickwire/connector/book/checksum_sync.hpp"

#include <utility>

namespace tickwire::connector::book {

ChecksumSync::ChecksumSync(std::string symbol, std::size_t depth, std::size_t checksum_levels,
                           std::size_t book_reserve)
    : symbol_(std::move(symbol)), depth_(depth), book_(book_reserve) {
  top_bids_.resize(checksum_levels);
  top_asks_.resize(checksum_levels);
  applied_bids_.reserve(book_reserve);
  applied_asks_.reserve(book_reserve);
}

void ChecksumSync::reset() {
  valid_ = false;
  held_ = false;
  book_.clear();
}

ChecksumResult ChecksumSync::invalidate(ChecksumOutcome outcome, std::uint32_t expected, std::uint32_t computed) {
  reset();
  return {outcome, last_, expected, computed, ChecksumReplace::kFirst};
}

ChecksumResult ChecksumSync::verify(bool has_checksum, std::uint32_t expected, const BookChecksum* checksum,
                                    bool snapshot) {
  if (book_.crossed()) return invalidate(ChecksumOutcome::kCrossed, expected, 0);
  const bool was_valid = valid_;
  held_ = true;
  ++last_;
  std::uint32_t computed = expected;
  if (has_checksum && checksum != nullptr) {
    const std::size_t bids = book_.top(BookSide::kBid, top_bids_);
    const std::size_t asks = book_.top(BookSide::kAsk, top_asks_);
    const auto sum = checksum->checksum(symbol_, {top_bids_.data(), bids}, {top_asks_.data(), asks});
    if (!sum) {
      valid_ = false;
      return {ChecksumOutcome::kUnverified, last_, expected, 0, ChecksumReplace::kFirst};
    }
    computed = *sum;
    if (computed != expected) return invalidate(ChecksumOutcome::kMismatch, expected, computed);
  }
  valid_ = true;
  if (snapshot) return {ChecksumOutcome::kReplaced, last_, expected, computed, ChecksumReplace::kFirst};
  if (!was_valid) return {ChecksumOutcome::kReplaced, last_, expected, computed, ChecksumReplace::kVerified};
  return {ChecksumOutcome::kApplied, last_, expected, computed, ChecksumReplace::kFirst};
}

ChecksumResult ChecksumSync::on_snapshot(const BookSnapshotEvent& snapshot, const BookChecksum* checksum) {
  const bool had_valid = valid_;
  applied_bids_.clear();
  applied_asks_.clear();
  if (!book_.load(snapshot.bids, snapshot.asks)) return invalidate(ChecksumOutcome::kNegative, snapshot.checksum, 0);
  if (depth_ != 0) book_.truncate(depth_, applied_bids_, applied_asks_);
  valid_ = false;  // a snapshot is checked afresh
  ChecksumResult r = verify(snapshot.has_checksum, snapshot.checksum, checksum, true);
  if (r.outcome == ChecksumOutcome::kReplaced && had_valid) r.reason = ChecksumReplace::kSnapshot;
  return r;
}

ChecksumResult ChecksumSync::on_delta(const BookDeltaEvent& delta, const BookChecksum* checksum) {
  if (!held_) return {ChecksumOutcome::kWaiting, last_, delta.checksum, 0, ChecksumReplace::kFirst};
  applied_bids_.assign(delta.bids.begin(), delta.bids.end());
  applied_asks_.assign(delta.asks.begin(), delta.asks.end());
  if (!book_.apply(delta.bids, delta.asks)) return invalidate(ChecksumOutcome::kNegative, delta.checksum, 0);
  if (depth_ != 0) book_.truncate(depth_, applied_bids_, applied_asks_);
  return verify(delta.has_checksum, delta.checksum, checksum, false);
}

}  // namespace tickwire::connector::book
