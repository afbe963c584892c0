// FeedPipeline's in-stream checksum books (BookIntegrity::kStreamChecksum,
// Kraken): the stream's snapshot (after every subscribe) replaces the book,
// every update is applied, the book is cut to the subscribed depth and its
// top is checked against the message's checksum with the venue's function
// (the parser's: Kraken's needs the instrument channel's precisions). A
// verified book is journaled as a BookSnapshot and a Status `resync`; each
// update after it as a BookDelta holding its levels and a delete for every
// level the depth cut removed, so a replay rebuilds the same book. A
// mismatch is a Status `gap` naming the checksum sent and the one computed,
// an invalid book (crossed, negative size) a Status `rejected`: both
// resubscribe the symbol's book alone (ResyncAction::kResubscribe). Until the
// checksum can be computed the book is kept but not trusted (nothing is
// journaled); the first message whose checksum matches makes it valid.
// During a rollover the book follows the connection whose snapshot it is.
// Same class and thread as feed_pipeline.cpp.
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

std::string_view replace_text(book::ChecksumReplace reason) {
  switch (reason) {
    case book::ChecksumReplace::kFirst:
      return "synced from the stream's snapshot";
    case book::ChecksumReplace::kSnapshot:
      return "replaced by a new snapshot in the stream";
    case book::ChecksumReplace::kVerified:
      return "verified: its checksum could be computed at last";
  }
  return "replaced";
}

}  // namespace

void FeedPipeline::on_checksum_snapshot(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks,
                                        std::uint64_t t_parsed, std::uint32_t generation) {
  BookSnapshotEvent& s = msg.snapshot;
  const auto admitted = admit(msg, s.symbol, size, "book snapshot");
  if (!admitted) return;
  if (!positive_prices(s.bids) || !positive_prices(s.asks)) {
    on_rejected(size, "book snapshot: a level with a price that is not positive");
    return;
  }
  SymbolState& st = states_[*admitted];
  record_stream(*admitted, ChannelKind::kDepth, rx_ticks);
  st.book_generation = generation;
  const book::ChecksumResult r = st.checksum->on_snapshot(s, parser_->book_checksum());
  on_checksum_result(st, r, rx_ticks, t_parsed, s.event_ns);
}

void FeedPipeline::on_checksum_delta(ParsedMessage& msg, middleware::SymbolId id, std::uint64_t rx_ticks,
                                     std::uint64_t t_parsed, std::uint32_t generation) {
  BookDeltaEvent& d = msg.delta;
  SymbolState& st = states_[id];
  record_stream(id, ChannelKind::kDepth, rx_ticks);
  if (st.checksum->held() && generation != st.book_generation) {
    // The other connection of a rollover: the book is the newer snapshot's.
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return;
  }
  const book::ChecksumResult r = st.checksum->on_delta(d, parser_->book_checksum());
  if (r.outcome != book::ChecksumOutcome::kApplied) {
    on_checksum_result(st, r, rx_ticks, t_parsed, d.event_ns);
    return;
  }
  d.symbol = st.name;
  d.first_update_id = r.id;
  d.last_update_id = r.id;
  d.bids = st.checksum->applied_bids();
  d.asks = st.checksum->applied_asks();
  emit_book_delta(st, d, rx_ticks, t_parsed);
}

void FeedPipeline::on_checksum_result(SymbolState& st, const book::ChecksumResult& r, std::uint64_t rx_ticks,
                                      std::uint64_t t_parsed, std::uint64_t event_ns) {
  switch (r.outcome) {
    case book::ChecksumOutcome::kReplaced: {
      book_resynced(st);
      counters_.resyncs.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      // A resync is rare and the image is small (the subscribed depth): allocating here is fine.
      const std::vector<PriceLevel> bids = st.checksum->book().levels(book::BookSide::kBid);
      const std::vector<PriceLevel> asks = st.checksum->book().levels(book::BookSide::kAsk);
      const BookSnapshotEvent whole{st.name, r.id, bids, asks, event_ns, 0, r.expected, true};
      emit_book_snapshot(st, whole, rx_ticks, t_parsed);
      detail_ = fmt::format("book {} at message {} (checksum {})", replace_text(r.reason), r.id, r.computed);
      TW_LOG_INFO(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kResync, st.name, r.id, r.id, 0, detail_});
      return;
    }
    case book::ChecksumOutcome::kApplied:
      return;  // journaled by on_checksum_delta
    case book::ChecksumOutcome::kUnverified:
      // Not trusted yet (the venue's reference data has not come): kept, not journaled.
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case book::ChecksumOutcome::kWaiting:
      // No book: the snapshot a (re)subscription starts with replaces it.
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      if (!st.resubscribing) resubscribe_book(st, "book update before any snapshot");
      return;
    case book::ChecksumOutcome::kMismatch:
      counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      // Book statuses' details begin "book ": book::BookRebuilder (replay --books) relies on it.
      detail_ = fmt::format("book checksum mismatch at message {}: expected {}, computed {}; resubscribing", r.id,
                            r.expected, r.computed);
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kGap, st.name, r.id, r.id, 1, detail_});
      resubscribe_book(st, detail_);
      return;
    case book::ChecksumOutcome::kCrossed:
    case book::ChecksumOutcome::kNegative:
      detail_ = fmt::format("book invalid after message {}: {}; resubscribing", r.id,
                            r.outcome == book::ChecksumOutcome::kCrossed ? "crossed" : "negative size");
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kRejected, st.name, r.id, r.id, 1, detail_});
      resubscribe_book(st, detail_);
      return;
  }
}

}  // namespace tickwire::connector
