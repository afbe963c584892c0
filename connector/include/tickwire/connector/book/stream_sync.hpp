// StreamSync: the in-stream sequence book policy (BookIntegrity::kStreamSequence,
// Bybit) for one symbol, as a pure state machine (no I/O, no clock): the
// venue sends the whole book in the stream (a snapshot after every
// subscribe, or a delta that restarts the ids at 1) and then deltas with
// absolute sizes whose update id steps by exactly one. A jump is a gap: the
// book is invalid until the next snapshot, which the caller asks for by
// resubscribing. Every call says what happened, with exact update-id ranges.
// Owned by the feed thread; not thread-safe.
//
// Rules (Bybit v5 "Orderbook"), with L = the book's update id:
// - a snapshot replaces the book; one with u == L while the book is valid is a
//   repeat (Bybit's level 1 re-sends its snapshot after 3 s without change)
//   and changes nothing;
// - a delta flagged `restart` (u = 1) is the whole book: it replaces it;
// - without a valid book a delta is dropped (the snapshot that follows a
//   subscribe will replace whatever it held);
// - a delta with u <= L is stale; u == L + 1 applies (size 0 deletes, and
//   deleting an absent level is not an error); u > L + 1 is a gap [L+1, u-1];
// - a negative size, or a crossed book after a delta, invalidates the book.
//
// Chained deltas (BookDeltaEvent::has_prev, OKX seqId / prevSeqId): ids skip,
// so a delta applies when its prev_update_id is the book's id L, whatever its
// own id (one below its prev is OKX's maintenance reset of the ids, not a
// gap); an empty delta whose prev equals its own id L is a keepalive; a delta
// naming another prev is a gap [L+1, prev] (or stale if its id is at or
// before L and its prev before L). When the StreamSync was given a checksum
// function, a message carrying a checksum (has_checksum) is verified over the
// top `checksum_levels` of the book it leaves; a mismatch invalidates it.
//
// With connection_sequence (Coinbase) the update ids are the connection's one
// sequence across all channels and products, so a book's ids only increase:
// a delta applies when its id is above the book's (the pipeline checks the
// connection's sequence and calls break_chain() on a jump), and a snapshot
// always replaces the book (the venue never repeats one).
//
// REST bootstrap (OKX books when the stream starts without its snapshot,
// Bybit orderbook.full which never sends one): begin_bootstrap() invalidates
// the book and keeps every delta that arrives (kBuffered) as one chain (a
// delta that does not continue the last kept one drops those before it:
// no snapshot could bridge the break) until on_rest_snapshot(S) replaces the
// book and replays them. Kept deltas at or before S are discarded; the first
// applied must cover S: chained (OKX) prevSeqId <= S < seqId, otherwise
// (Bybit) u == S + 1. A first kept delta after that is kTooOld: the updates
// between S and it are unknown, another snapshot is needed, the deltas stay
// kept. When none is kept after S, the first delta that arrives must cover S
// in the same way.
#pragma once

#include <cstdint>
#include <vector>

#include "tickwire/connector/book/order_book.hpp"
#include "tickwire/connector/events.hpp"

namespace tickwire::connector::book {

// StreamOutcome: what one on_delta / on_snapshot call did.
enum class StreamOutcome : std::uint8_t {
  kReplaced,  // the book was replaced by a snapshot (or a restart delta); valid at its u
  kRepeat,    // a snapshot at the book's own update id: not new data, nothing changed
  kApplied,   // the delta was applied; the book is valid at its u
  kWaiting,   // no valid book: the delta was dropped, the next snapshot replaces the book
  kStale,     // the delta's u is at or before the book's: discarded
  kGap,       // update ids [from_id, to_id] are missing: the book is invalid
  kCrossed,   // best bid >= best ask after the delta or snapshot: the book is invalid
  kNegative,  // a negative size: rejected, the book is invalid
  kKeepalive, // a chained empty delta at the book's own id (OKX idle keepalive): nothing changed
  kChecksum,  // the book's checksum after the message is not the venue's: the book is invalid
  kBuffered,  // bootstrapping: the delta was kept for the REST snapshot
  kTooOld,    // on_rest_snapshot: updates [from_id, to_id] lie between the snapshot and the kept deltas
};

// ReplaceReason: why a kReplaced happened.
enum class ReplaceReason : std::uint8_t {
  kFirst,     // there was no valid book (first snapshot, or after a gap or resubscribe)
  kSnapshot,  // a new snapshot replaced a valid book (the venue reset it)
  kRestart,   // a delta restarted the update ids (u = 1)
  kRest,      // a REST snapshot (and the deltas kept while it was fetched) replaced it
};

// StreamResult: the outcome, its update-id range (a gap's missing ids; else
// the message's u) and, for kReplaced, why.
struct StreamResult {
  StreamOutcome outcome = StreamOutcome::kWaiting;
  std::uint64_t from_id = 0;
  std::uint64_t to_id = 0;
  ReplaceReason reason = ReplaceReason::kFirst;
};

// BootstrapResult: what on_rest_snapshot did: the outcome (kReplaced with
// reason kRest, from_id the snapshot's id and to_id the book's; kTooOld;
// kCrossed, kNegative or kChecksum) and how many kept deltas it applied and
// discarded.
struct BootstrapResult {
  StreamResult result;
  std::size_t applied = 0;
  std::size_t discarded = 0;
};

// SequenceChecksum: a venue's checksum over the top `levels` of each side, as
// 32 bits (BookPolicy::sequence_checksum, OKX). Kraken's checksum books use
// book::BookChecksum (checksum_sync.hpp), which needs the parser's precisions.
using SequenceChecksum = std::uint32_t (*)(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks,
                                       std::size_t levels);

class StreamSync {
 public:
  explicit StreamSync(std::size_t book_reserve = OrderBook::kDefaultReserve, SequenceChecksum checksum = nullptr,
                      std::size_t checksum_levels = 0, bool connection_sequence = false);

  StreamResult on_snapshot(const BookSnapshotEvent& snapshot);
  StreamResult on_delta(const BookDeltaEvent& delta);
  // is_repeat: `snapshot` is the book's own (not new data; never with connection_sequence).
  bool is_repeat(const BookSnapshotEvent& snapshot) const noexcept {
    return !connection_sequence_ && valid_ && snapshot.last_update_id == last_;
  }
  // break_chain: messages were lost where this book's updates travel: the
  // book is invalid until the next snapshot.
  void break_chain() { (void)invalidate(StreamOutcome::kGap, last_, last_); }

  // begin_bootstrap: the book is to come from a REST snapshot: it is invalid
  // and deltas are kept (kBuffered) until on_rest_snapshot or a snapshot in
  // the stream. Keeps what is already kept when already bootstrapping.
  void begin_bootstrap();
  bool bootstrapping() const noexcept { return bootstrapping_; }
  // kept: deltas held for the REST snapshot.
  std::size_t kept() const noexcept { return kept_.size(); }
  // on_rest_snapshot: the REST snapshot replaces the book and the kept deltas
  // after it apply (see the rules above); only while bootstrapping.
  BootstrapResult on_rest_snapshot(const BookSnapshotEvent& snapshot);

  // valid: the book is whole at last_update_id().
  bool valid() const noexcept { return valid_; }
  std::uint64_t last_update_id() const noexcept { return last_; }
  // cross_sequence: the venue's cross sequence of the last message applied.
  std::uint64_t cross_sequence() const noexcept { return cross_sequence_; }
  const OrderBook& book() const noexcept { return book_; }

 private:
  StreamResult replace(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks, std::uint64_t id,
                       std::uint64_t cross_sequence, ReplaceReason reason);
  StreamResult invalidate(StreamOutcome outcome, std::uint64_t from, std::uint64_t to);
  StreamResult on_chained(const BookDeltaEvent& delta);
  // checksum_ok: the book matches a message's checksum (true when it carries none).
  bool checksum_ok(bool has_checksum, std::uint32_t checksum);
  // keep: copies a delta into the bootstrap chain.
  void keep(const BookDeltaEvent& delta);
  // drop_front: forgets the first n kept deltas and their levels.
  void drop_front(std::size_t n);
  // apply_kept: applies one kept delta to the valid book (kApplied, or why it is now invalid).
  StreamResult apply_kept(std::size_t i);

  // Kept: one delta held while bootstrapping; its levels are
  // kept_levels_[offset, offset + bid_count + ask_count).
  struct Kept {
    std::uint64_t first_id, last_id, prev_id, cross_sequence;
    std::uint32_t checksum;
    bool has_prev, has_checksum;
    std::size_t offset, bid_count, ask_count;
  };
  static constexpr std::size_t kMaxKeptDeltas = 4096;
  static constexpr std::size_t kMaxKeptLevels = std::size_t{1} << 20;

  OrderBook book_;
  SequenceChecksum checksum_ = nullptr;
  std::vector<PriceLevel> top_bids_, top_asks_;  // checksum scratch, checksum_levels each
  bool valid_ = false;
  std::uint64_t last_ = 0;
  std::uint64_t cross_sequence_ = 0;
  bool connection_sequence_ = false;
  bool bootstrapping_ = false;
  // from_rest_: the book is a REST snapshot's and no delta has applied yet:
  // the first must cover last_ (a chained one: prev <= last_ < id).
  bool from_rest_ = false;
  std::vector<Kept> kept_;
  std::vector<PriceLevel> kept_levels_;
};

}  // namespace tickwire::connector::book
