// BookSync: the REST-snapshot book integrity policies (Binance spot and
// USD-M diff-depth procedures) for one symbol, as a
// pure state machine (no I/O, no clock): deltas are buffered (copied into
// owned, bounded storage) until a REST snapshot is supplied, then replayed
// onto the snapshot; afterwards each delta must continue the previous one.
// Every call says what happened, with exact exchange update-id ranges, so the
// caller can fetch a snapshot and journal `gap` / `resync` Status records.
// Owned by the feed thread; not thread-safe.
//
// Rules (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams,
// "How to manage a local order book correctly"), with L = the book's update id:
// - a delta with u <= L is stale: discarded;
// - a delta applies when U <= L+1 <= u (the first one after a snapshot must
//   straddle L+1; afterwards Binance sends U == L+1; an overlap, U < L+1, is
//   applied as well: sizes are absolute, so the result is the book at u);
// - U > L+1 is a gap [L+1, U-1]: the book is invalid until a new snapshot,
//   and the delta is kept for it;
// - a snapshot with L+1 < the first buffered U is too old: [L+1, U-1] would be
//   missing, fetch another. (Binance's text says "L < U"; L == U-1 leaves
//   nothing missing and the first delta straddles L+1, so it is accepted.)
// - a negative size rejects the delta (or snapshot); a crossed book after an
//   apply invalidates the book. Both need a new snapshot.
// With ChainRule::kPrevId (Binance USD-M futures,
// https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly)
// a delta continues the book when its "pu" equals the book's update id (the
// previous delta's u); the first one after a snapshot may instead straddle
// it (U <= L <= u). U == L+1 is never required (it does not hold on
// futures); a pu != L is a gap [L+1, max(L+1, pu)].
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tickwire/connector/book/order_book.hpp"
#include "tickwire/connector/events.hpp"

namespace tickwire::connector::book {

// SyncOutcome: what one on_delta / on_snapshot call did.
enum class SyncOutcome : std::uint8_t {
  kBuffered,        // no valid book: the delta was kept for the next snapshot
  kApplied,         // the delta was applied; the book is valid at its u
  kStale,           // the delta ends at or before the book's update id: discarded
  kGap,             // update ids [from_id, to_id] are missing: need a snapshot (later deltas are kept)
  kSynced,          // on_snapshot: the book is valid; `applied` / `discarded` buffered deltas
  kSnapshotTooOld,  // on_snapshot: [from_id, to_id] lies between it and the first buffered delta: fetch another
  kCrossed,         // best bid >= best ask after applying [from_id, to_id]: need a snapshot
  kNegative,        // a negative size in [from_id, to_id] (delta or snapshot): rejected, need a snapshot
  kMalformed,       // a delta with U > u: ignored
};

// SyncResult: the outcome, the exchange update-id range it concerns (for a
// gap, the missing ids; otherwise the delta's U..u or the snapshot's id), and
// how many buffered deltas this call applied or discarded.
struct SyncResult {
  SyncOutcome outcome = SyncOutcome::kBuffered;
  std::uint64_t from_id = 0;
  std::uint64_t to_id = 0;
  std::uint32_t applied = 0;
  std::uint32_t discarded = 0;
};

// SyncCounters: totals since construction.
struct SyncCounters {
  std::uint64_t applied = 0;     // deltas applied (live and replayed)
  std::uint64_t discarded = 0;   // stale deltas dropped
  std::uint64_t gaps = 0;        // gaps detected (live or while replaying)
  std::uint64_t resyncs = 0;     // times a new snapshot was needed after one was supplied
                                 // (gap, too old, crossed, negative)
  std::uint64_t syncs = 0;       // snapshots that gave a valid book
  std::uint64_t too_old = 0;     // snapshots older than the buffer
  std::uint64_t crossed = 0;     // crossed books detected
  std::uint64_t negative = 0;    // deltas or snapshots rejected for a negative size
  std::uint64_t malformed = 0;   // deltas with U > u
  std::uint64_t overflowed = 0;  // buffered deltas dropped (oldest first) to stay within bounds
};

// ChainRule: how a delta proves it continues the book.
enum class ChainRule : std::uint8_t {
  kFirstId,  // U <= L+1 <= u (Binance spot)
  kPrevId,   // pu == L, or U <= L <= u right after a snapshot (Binance USD-M)
};

// SyncOptions: the chain rule and the bounds of the buffer kept while no
// snapshot is applied.
struct SyncOptions {
  ChainRule rule = ChainRule::kFirstId;
  std::size_t max_buffered_deltas = 4096;
  std::size_t max_buffered_levels = std::size_t{1} << 20;
  std::size_t book_reserve = OrderBook::kDefaultReserve;
};

class BookSync {
 public:
  explicit BookSync(SyncOptions options = {});

  // on_delta: one diff-depth event (its levels are copied when buffered).
  SyncResult on_delta(const BookDeltaEvent& delta);
  // on_snapshot: a REST snapshot; replaces the book and replays the buffer.
  SyncResult on_snapshot(const BookSnapshotEvent& snapshot);

  // needs_snapshot: no valid book; fetch a snapshot (keep calling on_delta meanwhile).
  bool needs_snapshot() const noexcept { return !synced_; }
  // last_update_id: the update id the book is valid at (meaningful when synced).
  std::uint64_t last_update_id() const noexcept { return last_; }
  // book: the book (empty while a snapshot is needed).
  const OrderBook& book() const noexcept { return book_; }
  const SyncCounters& counters() const noexcept { return counters_; }
  // buffered: deltas currently held for the next snapshot.
  std::size_t buffered() const noexcept { return buffer_.size(); }

 private:
  struct Buffered {
    std::uint64_t first_id;
    std::uint64_t last_id;
    std::uint64_t prev_id;
    bool has_prev;
    std::size_t offset;  // into levels_: bid_count bids, then ask_count asks
    std::size_t bid_count;
    std::size_t ask_count;
  };

  void buffer(const BookDeltaEvent& delta);
  // missing: for a delta that does not end at or before the book, the ids
  // missing between the book and it under the chain rule; {0, 0} when it
  // continues the book.
  std::pair<std::uint64_t, std::uint64_t> missing(std::uint64_t first, std::uint64_t prev, bool has_prev) const;
  // drop_front: forgets the first n buffered deltas and their levels.
  void drop_front(std::size_t n);
  // invalidate: the book is no longer valid; a snapshot is needed.
  void invalidate();
  // apply: applies one delta (U <= last_+1 <= u already checked); kApplied,
  // kNegative or kCrossed.
  SyncOutcome apply(std::uint64_t last_id, std::span<const PriceLevel> bids, std::span<const PriceLevel> asks);

  SyncOptions options_;
  OrderBook book_;
  bool synced_ = false;
  bool fresh_ = false;  // no delta applied since the snapshot
  std::uint64_t last_ = 0;
  std::vector<Buffered> buffer_;
  std::vector<PriceLevel> levels_;
  SyncCounters counters_;
};

}  // namespace tickwire::connector::book
