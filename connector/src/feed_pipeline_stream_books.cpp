// FeedPipeline's in-stream books (BookIntegrity::kStreamSequence, Bybit, OKX,
// Coinbase): a snapshot in the stream (after every subscribe) or a delta that
// restarts the update ids replaces the book, journaled as a BookSnapshot and a
// Status `resync` naming why; a snapshot at the book's own update id (Bybit's
// level 1 repeats it) is not new data and journals nothing; each applied
// delta is a BookDelta. A jump in the update ids is a Status `gap`, and an
// invalid book (crossed, negative size) a Status `rejected`: both resubscribe
// the symbol's depth topic (ResyncAction::kResubscribe), whose first message
// is the snapshot that makes the book whole again; on an updates-only channel
// (StreamBootstrap::kRest, Bybit orderbook.full) they fetch a REST snapshot
// instead. An update that finds no book starts a REST bootstrap when the
// channel allows one (feed_pipeline_books.cpp). Same class and thread as
// feed_pipeline.cpp.
#include <fmt/format.h>

#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/log.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {
namespace {

bool positive_prices(std::span<const PriceLevel> levels) {
  for (const PriceLevel& l : levels) {
    if (l.price.mantissa <= 0) return false;
  }
  return true;
}

std::string_view reason_text(book::ReplaceReason reason) {
  switch (reason) {
    case book::ReplaceReason::kFirst:
      return "synced from the stream's snapshot";
    case book::ReplaceReason::kSnapshot:
      return "replaced by a new snapshot in the stream (the venue reset the book)";
    case book::ReplaceReason::kRestart:
      return "replaced: the venue restarted its update ids (u = 1)";
    case book::ReplaceReason::kRest:
      return "synced from a REST snapshot";
  }
  return "replaced";
}

}  // namespace

void FeedPipeline::on_stream_snapshot(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks,
                                      std::uint64_t t_parsed, std::uint32_t generation) {
  BookSnapshotEvent& s = msg.snapshot;
  const auto admitted = admit(msg, s.symbol, size, "orderbook snapshot");
  if (!admitted) return;
  if (!positive_prices(s.bids) || !positive_prices(s.asks)) {
    detail_ = fmt::format("orderbook snapshot {}: a level with a price that is not positive", s.last_update_id);
    on_rejected(size, detail_);
    return;
  }
  SymbolState& st = states_[*admitted];
  record_stream(*admitted, ChannelKind::kDepth, rx_ticks);
  if (book_policy_.connection_sequence && st.book_generation != 0 && st.book_generation > generation) {
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: the old connection of a rollover
    return;
  }
  if (!book_policy_.connection_sequence && tracker_.rolling_to(generation) && st.stream->valid() &&
      s.last_update_id < st.stream->last_update_id()) {
    // A rollover's new connection answered its subscription with the book as
    // it was before what the old connection has delivered since (its frames
    // waited behind the old one's): replacing the book with it would take the
    // old connection's next update for a jump. Stale: the old connection goes
    // on, and the new one's updates past the book continue it.
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return;
  }
  if (st.stream->is_repeat(s)) {
    // Bybit's level 1 re-sends its snapshot with the same u: not new data.
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return;
  }
  // A snapshot starts the ids afresh: the tracker takes the next delta from it.
  const std::size_t stream = stream_index(*admitted, ChannelKind::kDepth);
  tracker_.reset(stream);
  (void)tracker_.check(stream, s.last_update_id, s.last_update_id, generation);
  maybe_finish_rollover();
  s.symbol = st.name;
  const book::StreamResult r = st.stream->on_snapshot(s);
  if (r.outcome == book::StreamOutcome::kReplaced) {
    st.book_generation = generation;
    on_stream_replaced(st, r, rx_ticks, t_parsed, s);
    return;
  }
  detail_ = fmt::format("book snapshot {} unusable ({}); resubscribing", s.last_update_id,
                        r.outcome == book::StreamOutcome::kCrossed    ? "crossed"
                        : r.outcome == book::StreamOutcome::kChecksum ? "checksum mismatch"
                                                                      : "negative size");
  TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
  emit_symbol_status(st, {StatusKind::kRejected, st.name, r.from_id, r.to_id, 1, detail_});
  resubscribe_book(st, detail_);
}

void FeedPipeline::on_stream_delta(ParsedMessage& msg, middleware::SymbolId id, std::uint64_t rx_ticks,
                                   std::uint64_t t_parsed) {
  BookDeltaEvent& d = msg.delta;
  SymbolState& st = states_[id];
  if (d.restart && rest_resync()) {
    // An updates-only channel (Bybit orderbook.full) restarted at u = 1: the
    // venue's book is to be fetched again, and this update is kept for it.
    bootstrap_book(id, "the venue restarted its update ids (u = 1)");
  }
  const book::StreamResult r = st.stream->on_delta(d);
  switch (r.outcome) {
    case book::StreamOutcome::kApplied:
      emit_book_delta(st, d, rx_ticks, t_parsed);
      return;
    case book::StreamOutcome::kReplaced: {
      const BookSnapshotEvent image{st.name, d.last_update_id, d.bids, d.asks, d.event_ns, d.cross_sequence};
      on_stream_replaced(st, r, rx_ticks, t_parsed, image);
      return;
    }
    case book::StreamOutcome::kWaiting:
      if (rest_bootstrap()) {
        // No snapshot came: the book starts from a REST one, and this update is kept for it.
        bootstrap_book(id, "book update before any snapshot");
        (void)st.stream->on_delta(d);
        return;
      }
      // No book yet: the snapshot a (re)subscription starts with replaces it.
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      if (!st.resubscribing) resubscribe_book(st, "book update before any snapshot");
      return;
    case book::StreamOutcome::kBuffered:
      // Kept for the REST snapshot under way (bootstrap_book asked for it).
      return;
    case book::StreamOutcome::kTooOld:
      return;  // a REST snapshot outcome; not returned for a delta
    case book::StreamOutcome::kKeepalive:
      // OKX's idle keepalive: the book is whole and unchanged.
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case book::StreamOutcome::kStale:
    case book::StreamOutcome::kRepeat:
      counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case book::StreamOutcome::kGap:
      counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      // Book statuses' details begin "book ": book::BookRebuilder (replay --books) relies on it.
      detail_ = fmt::format("book update ids missing: {}..{}; {}", r.from_id, r.to_id, resync_action());
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kGap, st.name, r.from_id, r.to_id, r.to_id - r.from_id + 1, detail_});
      resync_book(id, detail_);
      return;
    case book::StreamOutcome::kChecksum:
      // A checksum mismatch is a break like a gap: something was missed or misapplied.
      counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      detail_ = fmt::format("book checksum mismatch after update id {} (venue's {}); {}", r.to_id,
                            static_cast<std::int32_t>(d.checksum), resync_action());
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kGap, st.name, r.from_id, r.to_id, 1, detail_});
      resync_book(id, detail_);
      return;
    case book::StreamOutcome::kCrossed:
    case book::StreamOutcome::kNegative:
      detail_ = fmt::format("book invalid after update id {}: {}; {}", r.to_id,
                            r.outcome == book::StreamOutcome::kCrossed ? "crossed" : "negative size",
                            resync_action());
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kRejected, st.name, r.from_id, r.to_id, 1, detail_});
      resync_book(id, detail_);
      return;
  }
}

void FeedPipeline::on_stream_replaced(SymbolState& st, const book::StreamResult& r, std::uint64_t rx_ticks,
                                      std::uint64_t t_parsed, const BookSnapshotEvent& image) {
  // The snapshot a resubscribe asked for, arriving when a REST snapshot has
  // already made the book whole again (OKX: updates still in flight after a
  // gap start a REST bootstrap beside the resubscribe), answers that
  // resubscribe: routine, not a venue reset, and the resync was counted.
  const bool answered = st.resubscribing;
  book_resynced(st);
  // A top-of-book image (OKX books5) replaces the book with every message: routine, no resync.
  const bool routine = (image.image || answered) && r.reason == book::ReplaceReason::kSnapshot;
  if (!routine) counters_.resyncs.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  // The whole book as it now stands (a restart delta's levels may hold
  // deletions; the book does not).
  const std::vector<PriceLevel> bids = st.stream->book().levels(book::BookSide::kBid);
  const std::vector<PriceLevel> asks = st.stream->book().levels(book::BookSide::kAsk);
  const BookSnapshotEvent whole{st.name, image.last_update_id, bids, asks, image.event_ns, image.cross_sequence};
  emit_book_snapshot(st, whole, rx_ticks, t_parsed);
  if (routine) return;
  detail_ = fmt::format("book {} at update id {}", reason_text(r.reason), r.to_id);
  TW_LOG_INFO(log(), "{}: {}: {}", feed_.name, st.name, detail_);
  emit_symbol_status(st, {StatusKind::kResync, st.name, r.from_id, r.to_id, 0, detail_});
}

std::string_view FeedPipeline::resync_action() const {
  return rest_resync() ? "fetching a REST snapshot" : "resubscribing";
}

void FeedPipeline::resync_book(middleware::SymbolId id, std::string_view why) {
  if (rest_resync()) {
    bootstrap_book(id, why);
    return;
  }
  resubscribe_book(states_[id], why);
}

void FeedPipeline::resubscribe_book(SymbolState& st, std::string_view why) {
  if (st.resubscribing) return;  // one resubscribe at a time; its snapshot ends it
  st.resubscribing = true;
  std::vector<std::string> topics;
  for (const auto& channel : feed_.channels) {
    if (venue_->channel_kind(channel) == ChannelKind::kDepth) topics.push_back(venue_->stream_name(st.name, channel));
  }
  if (io_.session == nullptr || topics.empty()) {
    TW_LOG_WARN(log(), "{}: {}: the book needs a resubscribe ({}) but no session is attached", feed_.name, st.name,
                why);
    return;
  }
  TW_LOG_INFO(log(), "{}: {}: resubscribing {} ({})", feed_.name, st.name, topics.front(), why);
  io_.session->resubscribe(std::move(topics));
  if (io_.io != nullptr) {
    after(st.resubscribe_deadline, std::chrono::milliseconds(feed_.resubscribe_timeout_ms),
          static_cast<middleware::SymbolId>(&st - states_.data()), &FeedPipeline::resubscribe_overdue);
  }
}

void FeedPipeline::resubscribe_overdue(middleware::SymbolId id) {
  SymbolState& st = states_[id];
  if (!st.resubscribing) return;  // its snapshot came
  st.resubscribing = false;
  if (st.stream && st.stream->valid()) {
    // A REST snapshot made the book whole meanwhile (OKX, updates without a
    // snapshot): nothing is missing, so no resubscribe again.
    st.resubscribe_attempts = 0;
    return;
  }
  if (++st.resubscribe_attempts >= kResubscribeTries) {
    st.resubscribe_attempts = 0;
    const std::string why = fmt::format("{}: no book snapshot within {} ms of each of {} resubscribes", st.name,
                                        feed_.resubscribe_timeout_ms, kResubscribeTries);
    TW_LOG_WARN(log(), "{}: {}: reconnecting", feed_.name, why);
    // The new connection subscribes every stream: on_connected() clears the pending state.
    if (io_.session != nullptr) io_.session->restart(why);
    return;
  }
  resubscribe_book(st, fmt::format("no snapshot within {} ms of the resubscribe (try {} of {})",
                                   feed_.resubscribe_timeout_ms, st.resubscribe_attempts + 1, kResubscribeTries));
}

void FeedPipeline::check_connection_sequence(std::uint64_t sequence, std::uint32_t generation) {
  ConnectionSequence* slot = nullptr;
  for (ConnectionSequence& c : connection_sequences_) {
    if (c.generation == generation) slot = &c;
  }
  if (slot == nullptr) {
    // A new connection: its first frame sets the count (the older slot is reused).
    slot = connection_sequences_[0].generation <= connection_sequences_[1].generation ? &connection_sequences_[0]
                                                                                      : &connection_sequences_[1];
    *slot = {generation, sequence};
    return;
  }
  const std::uint64_t last = slot->last;
  slot->last = sequence;
  if (sequence != last + 1) on_connection_gap(generation, last + 1, sequence);
}

void FeedPipeline::on_connection_gap(std::uint32_t generation, std::uint64_t expected, std::uint64_t got) {
  counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  // A jump loses [expected, got - 1]; a number that goes back (a restarted
  // count) loses an unknown number of messages: one is counted.
  const bool jump = got > expected;
  const std::uint64_t to = jump ? got - 1 : expected;
  const std::uint64_t lost = jump ? got - expected : 1;
  detail_ = jump ? fmt::format("connection {}: sequence_num {}..{} missing ({} messages lost)", generation, expected,
                               to, lost)
                 : fmt::format("connection {}: sequence_num went back to {} (expected {})", generation, got, expected);
  TW_LOG_WARN(log(), "{}: {}{}", feed_.name, detail_, want_depth_ ? "; resubscribing every book on it" : "");
  emit_status({StatusKind::kGap, {}, expected, to, lost, detail_});
  if (!want_depth_) return;
  for (SymbolState& st : states_) {
    if (!st.stream || (st.book_generation != 0 && st.book_generation != generation)) continue;
    st.stream->break_chain();
    st.book_generation = 0;
    // Book statuses' details begin "book ": book::BookRebuilder (replay --books) relies on it.
    detail_ = fmt::format("book messages lost on connection {} (sequence_num {}..{}); resubscribing", generation,
                          expected, to);
    emit_symbol_status(st, {StatusKind::kGap, st.name, expected, to, lost, detail_});
    st.resubscribing = false;  // the lost message may have been the snapshot of a resubscribe under way
    resubscribe_book(st, detail_);
  }
}

}  // namespace tickwire::connector
