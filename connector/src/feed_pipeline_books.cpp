// FeedPipeline's order-book snapshots: fetching them over REST (one request
// in flight per symbol, capped-exponential retries honouring Retry-After),
// applying them through BookSync (or, for an in-stream book bootstrapped
// from REST, its StreamSync), journaling the book after each (re)sync, and
// checking every valid book after a reconnect. Same class and thread as
// feed_pipeline.cpp.
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <utility>

#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/log.hpp"
#include "tickwire/connector/rest_client.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {
namespace {

// Snapshot retries: capped exponential, at least the server's Retry-After.
constexpr std::chrono::milliseconds kSnapshotRetryInitial{200};
constexpr std::chrono::milliseconds kSnapshotRetryMax{30'000};
// Contract requests: the same, slower (nothing waits on them).
constexpr std::chrono::milliseconds kContractRetryInitial{1'000};
constexpr std::chrono::milliseconds kContractRetryMax{60'000};

// retry_delay: after `attempts` consecutive failures, `initial` doubled per
// further failure up to `max`, and at least the server's `retry_after`.
std::chrono::milliseconds retry_delay(std::uint32_t attempts, std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max, std::chrono::milliseconds retry_after) {
  const auto shift = std::min<std::uint32_t>(attempts - 1, 16);
  return std::max(std::min(initial * (std::int64_t{1} << shift), max), retry_after);
}

}  // namespace

void FeedPipeline::rest_get(middleware::SymbolId id, std::string url, std::uint64_t weight, BodyHandler on_body,
                            FailureHandler on_failure) {
  io_.rest->get(std::move(url), weight,
                [this, id, on_body, on_failure, alive = std::weak_ptr<bool>(alive_)](RestResponse response) {
                  const auto live = alive.lock();
                  if (!live || !*live) return;
                  if (!response.status.ok()) {
                    (this->*on_failure)(id, middleware::status_text(response.status), response.retry_after);
                    return;
                  }
                  (this->*on_body)(id, std::move(response.body));
                });
}

void FeedPipeline::after(std::unique_ptr<boost::asio::steady_timer>& timer, std::chrono::milliseconds delay,
                         middleware::SymbolId id, void (FeedPipeline::*then)(middleware::SymbolId)) {
  if (!timer) timer = std::make_unique<boost::asio::steady_timer>(*io_.io);
  timer->expires_after(delay);
  timer->async_wait([this, id, then, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
    const auto live = alive.lock();
    if (ec || !live || !*live) return;
    (this->*then)(id);
  });
}

void FeedPipeline::verify_books() {
  // While disconnected the books may have moved. A busy book finds out from
  // its next diff (a gap, then a resync); a quiet one would not until the
  // market moves again, so every synced book is checked against a snapshot.
  // In-stream books need no check: every (re)subscription starts with a snapshot.
  if (book_policy_.integrity == BookIntegrity::kStreamSequence ||
      book_policy_.integrity == BookIntegrity::kStreamChecksum) {
    return;
  }
  for (std::size_t i = 0; i < states_.size(); ++i) {
    SymbolState& st = states_[i];
    if (st.fetching || st.sync->needs_snapshot()) continue;  // already resyncing, or never synced
    st.verifying = true;
    request_snapshot(static_cast<middleware::SymbolId>(i), std::chrono::milliseconds(0));
  }
}

void FeedPipeline::request_snapshot(middleware::SymbolId id, std::chrono::milliseconds delay) {
  SymbolState& st = states_[id];
  if (io_.rest == nullptr || io_.io == nullptr) {
    if (!st.fetching) {
      TW_LOG_WARN(log(), "{}: {}: the book needs a snapshot but no REST client is attached", feed_.name, st.name);
    }
    st.fetching = true;  // nothing will come; do not ask again
    return;
  }
  st.fetching = true;
  if (delay.count() == 0) {
    fetch_snapshot(id);
    return;
  }
  after(st.retry, delay, id, &FeedPipeline::fetch_snapshot);
}

void FeedPipeline::fetch_snapshot(middleware::SymbolId id) {
  SymbolState& st = states_[id];
  if (st.stream && !st.stream->bootstrapping()) {
    // A snapshot in the stream made the book whole while this one waited.
    st.fetching = false;
    st.snapshot_attempts = 0;
    return;
  }
  std::string url = io_.rest_base + venue_->snapshot_target(st.name, feed_.depth_limit);
  TW_LOG_INFO(log(), "{}: {}: fetching book snapshot {}", feed_.name, st.name, url);
  rest_get(id, std::move(url), venue_->snapshot_weight(feed_.depth_limit), &FeedPipeline::on_snapshot_body,
           &FeedPipeline::snapshot_failed);
}

void FeedPipeline::snapshot_failed(middleware::SymbolId id, std::string_view why,
                                   std::chrono::milliseconds retry_after) {
  SymbolState& st = states_[id];
  ++st.snapshot_attempts;
  const auto delay = retry_delay(st.snapshot_attempts, kSnapshotRetryInitial, kSnapshotRetryMax, retry_after);
  TW_LOG_WARN(log(), "{}: {}: book snapshot failed (attempt {}): {}; retrying in {} ms", feed_.name, st.name,
              st.snapshot_attempts, why, delay.count());
  request_snapshot(id, delay);
}

void FeedPipeline::on_snapshot_body(middleware::SymbolId id, std::string body) {
  SymbolState& st = states_[id];
  const std::size_t size = body.size();
  snapshot_buf_ = std::move(body);
  snapshot_buf_.resize(size + simdjson::SIMDJSON_PADDING, ' ');
  ParsedMessage msg = parser_->parse_snapshot(snapshot_buf_.data(), size);
  if (msg.event != EventKind::kBookSnapshot) {
    counters_.rejected.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    detail_ = fmt::format("book snapshot for {} rejected: {}", st.name, parser_->error());
    emit_symbol_status(st, {StatusKind::kRejected, st.name, 0, 0, 1, detail_});
    snapshot_failed(id, detail_, std::chrono::milliseconds(0));
    return;
  }
  msg.snapshot.symbol = st.name;
  if (st.stream) {
    on_stream_rest_snapshot(id, msg.snapshot);
    return;
  }
  const std::uint64_t snapshot_id = msg.snapshot.last_update_id;
  if (std::exchange(st.verifying, false) && !st.sync->needs_snapshot()) {
    // A check after a reconnect, and the book is still valid: diffs applied
    // since have proven it up to its id. A snapshot at or before that id
    // confirms it; a later one means updates were missed and nothing has
    // shown it yet, so they are declared and the snapshot replaces the book
    // (diffs still in flight are then stale, or straddle it, and apply).
    const std::uint64_t held = st.sync->last_update_id();
    if (snapshot_id <= held) {
      st.fetching = false;
      st.snapshot_attempts = 0;
      TW_LOG_INFO(log(), "{}: {}: book checked after reconnect: snapshot {} is at or before the book's {}",
                  feed_.name, st.name, snapshot_id, held);
      return;
    }
    counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    detail_ = fmt::format("book update ids missing: {}..{} (changed while disconnected); replaced by snapshot {}",
                          held + 1, snapshot_id, snapshot_id);
    TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
    emit_symbol_status(st, {StatusKind::kGap, st.name, held + 1, snapshot_id, snapshot_id - held, detail_});
  }
  const book::SyncResult r = st.sync->on_snapshot(msg.snapshot);
  switch (r.outcome) {
    case book::SyncOutcome::kSynced: {
      st.fetching = false;
      st.snapshot_attempts = 0;
      counters_.resyncs.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      journal_book(st);
      detail_ = fmt::format("book synced from snapshot {}: {} buffered diffs applied, {} discarded; valid at {}",
                            snapshot_id, r.applied, r.discarded, st.sync->last_update_id());
      TW_LOG_INFO(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kResync, st.name, snapshot_id, st.sync->last_update_id(), r.applied,
                              detail_});
      return;
    }
    case book::SyncOutcome::kSnapshotTooOld:
      TW_LOG_INFO(log(), "{}: {}: snapshot {} is older than the buffered diffs (missing {}..{}); fetching another",
                  feed_.name, st.name, snapshot_id, r.from_id, r.to_id);
      request_snapshot(id, kSnapshotRetryInitial);
      return;
    case book::SyncOutcome::kGap:
      counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      detail_ = fmt::format("book update ids missing: {}..{} (in the buffered diffs); resyncing", r.from_id, r.to_id);
      emit_symbol_status(st, {StatusKind::kGap, st.name, r.from_id, r.to_id, r.to_id - r.from_id + 1, detail_});
      request_snapshot(id, kSnapshotRetryInitial);
      return;
    default:
      detail_ = fmt::format("book snapshot {} unusable ({}); fetching another", snapshot_id,
                            r.outcome == book::SyncOutcome::kCrossed ? "crossed" : "negative size");
      emit_symbol_status(st, {StatusKind::kRejected, st.name, r.from_id, r.to_id, 1, detail_});
      snapshot_failed(id, detail_, std::chrono::milliseconds(0));
      return;
  }
}

void FeedPipeline::bootstrap_book(middleware::SymbolId id, std::string_view why) {
  SymbolState& st = states_[id];
  st.stream->begin_bootstrap();
  if (st.fetching) return;  // the request under way (or its retry) serves it
  TW_LOG_INFO(log(), "{}: {}: {}: the book starts from a REST snapshot", feed_.name, st.name, why);
  request_snapshot(id, std::chrono::milliseconds(0));
}

void FeedPipeline::on_stream_rest_snapshot(middleware::SymbolId id, BookSnapshotEvent& snapshot) {
  SymbolState& st = states_[id];
  const std::uint64_t snapshot_id = snapshot.last_update_id;
  const book::BootstrapResult b = st.stream->on_rest_snapshot(snapshot);
  const book::StreamResult& r = b.result;
  switch (r.outcome) {
    case book::StreamOutcome::kReplaced:
      st.fetching = false;
      st.snapshot_attempts = 0;
      counters_.resyncs.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      journal_book(st);
      // Book statuses' details begin "book ": book::BookRebuilder (replay --books) relies on it.
      detail_ = fmt::format("book synced from REST snapshot {}: {} kept updates applied, {} discarded; valid at {}",
                            snapshot_id, b.applied, b.discarded, r.to_id);
      TW_LOG_INFO(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kResync, st.name, snapshot_id, r.to_id, b.applied, detail_});
      return;
    case book::StreamOutcome::kStale:
      st.fetching = false;
      st.snapshot_attempts = 0;
      TW_LOG_INFO(log(), "{}: {}: REST snapshot {} not needed: a snapshot in the stream made the book whole",
                  feed_.name, st.name, snapshot_id);
      return;
    case book::StreamOutcome::kTooOld:
      TW_LOG_INFO(log(), "{}: {}: REST snapshot {} is older than the kept updates (missing {}..{}); fetching another",
                  feed_.name, st.name, snapshot_id, r.from_id, r.to_id);
      request_snapshot(id, kSnapshotRetryInitial);
      return;
    default:
      // The snapshot, or the kept updates over it, left no valid book: start again.
      detail_ = fmt::format("book from REST snapshot {} invalid at update id {} ({}); fetching another", snapshot_id,
                            r.to_id,
                            r.outcome == book::StreamOutcome::kCrossed    ? "crossed"
                            : r.outcome == book::StreamOutcome::kChecksum ? "checksum mismatch"
                                                                          : "negative size");
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kRejected, st.name, r.from_id, r.to_id, 1, detail_});
      st.stream->begin_bootstrap();
      snapshot_failed(id, detail_, std::chrono::milliseconds(0));
      return;
  }
}

void FeedPipeline::fetch_contract(middleware::SymbolId id) {
  SymbolState& st = states_[id];
  const std::string target = venue_->contract_target(st.name, st.instrument);
  if (target.empty() || st.contract) return;
  if (io_.rest == nullptr || io_.io == nullptr) {
    TW_LOG_WARN(log(), "{}: {}: sizes are in contracts but no REST client is attached to ask what one is worth",
                feed_.name, st.name);
    return;
  }
  std::string url = io_.rest_base + target;
  TW_LOG_INFO(log(), "{}: {}: fetching the contract value {}", feed_.name, st.name, url);
  rest_get(id, std::move(url), 1, &FeedPipeline::on_contract_body, &FeedPipeline::contract_failed);
}

void FeedPipeline::on_contract_body(middleware::SymbolId id, std::string body) {
  SymbolState& st = states_[id];
  const std::size_t size = body.size();
  snapshot_buf_ = std::move(body);
  snapshot_buf_.resize(size + simdjson::SIMDJSON_PADDING, ' ');
  auto contract = parser_->parse_contract(snapshot_buf_.data(), size);
  if (!contract) {
    contract_failed(id, fmt::format("the instruments answer was not usable: {}", parser_->error()),
                    std::chrono::milliseconds(0));
    return;
  }
  st.contract_attempts = 0;
  TW_LOG_INFO(log(), "{}: {}: one contract is {} {}; its records carry it from now on", feed_.name, st.name,
              middleware::to_string(contract->value), contract->currency);
  st.contract = std::move(*contract);
}

void FeedPipeline::contract_failed(middleware::SymbolId id, std::string_view why,
                                   std::chrono::milliseconds retry_after) {
  SymbolState& st = states_[id];
  ++st.contract_attempts;
  const auto delay = retry_delay(st.contract_attempts, kContractRetryInitial, kContractRetryMax, retry_after);
  TW_LOG_WARN(log(), "{}: {}: contract value request failed (attempt {}): {}; retrying in {} ms", feed_.name,
              st.name, st.contract_attempts, why, delay.count());
  after(st.contract_retry, delay, id, &FeedPipeline::fetch_contract);
}

std::size_t FeedPipeline::snapshot_books() {
  std::size_t written = 0;
  for (SymbolState& st : states_) {
    // A book being (re)synced or checked after a reconnect is not known to be
    // right now; it gets its snapshot record when that settles.
    if (valid_book(st) == nullptr || st.fetching || st.verifying) continue;
    journal_book(st);
    ++written;
  }
  return written;
}

void FeedPipeline::journal_book(SymbolState& st) {
  // A resync is rare and the image is large: allocating here is fine.
  const book::OrderBook& book = st.stream ? st.stream->book() : st.checksum ? st.checksum->book() : st.sync->book();
  const std::vector<PriceLevel> bids = book.levels(book::BookSide::kBid);
  const std::vector<PriceLevel> asks = book.levels(book::BookSide::kAsk);
  const BookSnapshotEvent image{st.name, book_update_id(st), bids, asks, 0,
                                st.stream ? st.stream->cross_sequence() : 0};
  const Stamp s = stamp(middleware::TscClock::now_ticks());
  encode_for(st);
  const auto bytes = encoder_.encode_book_snapshot(s, feed_.name, image);
  emit(s, st.book_subject, bytes, middleware::TscClock::now_ticks());
  market_event_done(JournaledKind::kBookSnapshot);
}

}  // namespace tickwire::connector
