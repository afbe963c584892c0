// ChecksumSync: the in-stream checksum book policy (BookIntegrity::
// kStreamChecksum: Kraken, and OKX where its checksum is set) for one symbol,
// as a pure state machine (no I/O, no clock). The venue sends the whole book
// in the stream after every subscribe, then updates with absolute sizes and
// no update ids; every message carries a checksum of the top of the book as
// it should stand after it. After each message the book is cut to the
// subscribed depth (the venue sends no delete for a level pushed below it),
// then the venue's checksum function (BookChecksum, supplied by the parser,
// which may need reference data such as Kraken's precisions) is compared with
// the message's. Owned by the feed thread; not thread-safe.
//
// Rules:
// - a snapshot replaces the book;
// - an update without a book is dropped (the snapshot that follows a
//   subscribe replaces whatever it held);
// - while the checksum cannot be computed (the venue's reference data has not
//   arrived) the book is kept but not trusted: the first message whose
//   checksum can be computed and matches makes it valid (kReplaced,
//   kVerified), a mismatch invalidates it;
// - a mismatch, a negative size or a crossed book invalidates the book.
// Books have no update ids, so the sync numbers the messages it accepts
// (1, 2, ... per symbol, never reset): journaled records carry that number.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/connector/book/order_book.hpp"
#include "tickwire/connector/events.hpp"

namespace tickwire::connector::book {

// BookChecksum: a venue's checksum over the top of a book.
class BookChecksum {
 public:
  virtual ~BookChecksum() = default;
  // checksum: of `symbol`'s book whose top levels are `bids` and `asks`
  // (best first, at most the policy's checksum_levels each); nullopt while it
  // cannot be computed yet.
  virtual std::optional<std::uint32_t> checksum(std::string_view symbol, std::span<const PriceLevel> bids,
                                                std::span<const PriceLevel> asks) const = 0;
};

// ChecksumOutcome: what one on_snapshot / on_delta call did.
enum class ChecksumOutcome : std::uint8_t {
  kReplaced,    // the book was replaced (or a held book verified) and its checksum matched: valid
  kApplied,     // the update was applied and the checksum matched: valid
  kUnverified,  // applied, but the checksum cannot be computed yet: the book is held, not valid
  kWaiting,     // no book: the update was dropped
  kMismatch,    // the checksum disagrees: the book is invalid
  kCrossed,     // best bid >= best ask: the book is invalid
  kNegative,    // a negative size: rejected, the book is invalid
};

// ChecksumReplace: why a kReplaced happened.
enum class ChecksumReplace : std::uint8_t {
  kFirst,     // there was no valid book
  kSnapshot,  // a new snapshot replaced a valid book
  kVerified,  // a held book's checksum could be computed at last, and matched
};

// ChecksumResult: the outcome, the message's number, and the checksum sent
// and computed (equal unless kMismatch; both 0 when none was checked).
struct ChecksumResult {
  ChecksumOutcome outcome = ChecksumOutcome::kWaiting;
  std::uint64_t id = 0;
  std::uint32_t expected = 0;
  std::uint32_t computed = 0;
  ChecksumReplace reason = ChecksumReplace::kFirst;
};

class ChecksumSync {
 public:
  // ChecksumSync: the book of `symbol`, cut to `depth` levels a side after
  // every message (0: never cut), checked over its top `checksum_levels`.
  ChecksumSync(std::string symbol, std::size_t depth, std::size_t checksum_levels,
               std::size_t book_reserve = 1024);

  ChecksumResult on_snapshot(const BookSnapshotEvent& snapshot, const BookChecksum* checksum);
  ChecksumResult on_delta(const BookDeltaEvent& delta, const BookChecksum* checksum);
  // reset: forget the book (a new subscription's snapshot will replace it).
  void reset();

  // valid: the book is whole and its last checksum matched.
  bool valid() const noexcept { return valid_; }
  // held: there is a book (valid, or waiting for a checksum it can compute).
  bool held() const noexcept { return held_; }
  // last_update_id: the number of the last message applied.
  std::uint64_t last_update_id() const noexcept { return last_; }
  const OrderBook& book() const noexcept { return book_; }
  // applied_bids / applied_asks: after kApplied, what the update changed:
  // its levels, then a zero-size level for each level the depth cut removed
  // (a replay applying them gets this book).
  std::span<const PriceLevel> applied_bids() const noexcept { return applied_bids_; }
  std::span<const PriceLevel> applied_asks() const noexcept { return applied_asks_; }

 private:
  // verify: the result of checking the book (already cut) against `expected`.
  ChecksumResult verify(bool has_checksum, std::uint32_t expected, const BookChecksum* checksum, bool snapshot);
  ChecksumResult invalidate(ChecksumOutcome outcome, std::uint32_t expected, std::uint32_t computed);

  std::string symbol_;
  std::size_t depth_;
  OrderBook book_;
  bool valid_ = false;
  bool held_ = false;
  std::uint64_t last_ = 0;
  std::vector<PriceLevel> top_bids_, top_asks_;          // checksum_levels each
  std::vector<PriceLevel> applied_bids_, applied_asks_;  // the last update, with the cut's deletions
};

}  // namespace tickwire::connector::book
