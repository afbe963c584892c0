#include "tickwire/connector/feed_pipeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "tickwire/connector/log.hpp"
#include "tickwire/middleware/subject.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {
namespace {

// Rejected frames are all counted and journaled; the log gets the first few
// and then one in every kRejectLogEvery, so a flood cannot fill the disk.
constexpr std::uint64_t kRejectLogFirst = 10;
constexpr std::uint64_t kRejectLogEvery = 1000;

// ticks_between: b - a, or 0 if a thread that moved between cores read a
// TSC behind the one it read before.
std::uint64_t ticks_between(std::uint64_t a, std::uint64_t b) noexcept { return b > a ? b - a : 0; }


constexpr std::string_view kChannelNames[] = {"trade", "aggTrade", "bookTicker", "depth@100ms"};

}  // namespace

PipelineStages PipelineStages::register_in(middleware::Profiler& profiler) {
  return {profiler.stage("parse"), profiler.stage("encode"), profiler.stage("publish"),
          profiler.stage("ring_write")};
}

FeedPipeline::FeedPipeline(const config::FeedConfig& feed, std::string env, const PipelineContext& context)
    : feed_(feed), env_(std::move(env)), sequencer_(context.sequencer), transport_(context.transport),
      journal_(context.journal), counters_(context.counters), profiler_(context.profiler),
      stages_(PipelineStages::register_in(context.profiler)), encoder_(context.buffers),
      status_subject_(middleware::make_subject(env_, feed_.name, "status", "_feed")) {
  if (feed_.time_unit == "us") parser_.set_time_unit(feeds::TimeUnit::kMicroseconds);
  want_depth_ = std::find(feed_.channels.begin(), feed_.channels.end(), "depth@100ms") != feed_.channels.end();
  // Configured symbols get their state (subjects, books, streams) now, not on the hot path.
  for (const auto& symbol : feed_.symbols) state_of(symbols_.intern(symbol));
  if (feed_.stale_after_ms != 0) {
    watchdog_ = std::make_unique<StreamWatchdog>(StreamWatchdog::for_global_clock(
        feed_.symbols.size() * kChannels, std::chrono::milliseconds(feed_.stale_after_ms)));
    for (std::size_t s = 0; s < feed_.symbols.size(); ++s) {
      for (std::size_t c = 0; c < kChannels; ++c) {
        const bool subscribed = std::find(feed_.channels.begin(), feed_.channels.end(), kChannelNames[c]) !=
                                feed_.channels.end();
        if (!subscribed) watchdog_->set_threshold(s * kChannels + c, std::chrono::nanoseconds(0));
      }
    }
  }
}

FeedPipeline::~FeedPipeline() { *alive_ = false; }

void FeedPipeline::attach(PipelineIo io) {
  io_ = std::move(io);
  if (watchdog_ && io_.io != nullptr) {
    stale_timer_ = std::make_unique<boost::asio::steady_timer>(*io_.io);
    schedule_stale_check();
  }
}

void FeedPipeline::stop() {
  *alive_ = false;
  if (stale_timer_) stale_timer_->cancel();
  for (auto& st : states_) {
    if (st.retry) st.retry->cancel();
  }
}

void FeedPipeline::set_limit(std::uint64_t max_messages, std::function<void()> on_limit) {
  limit_ = max_messages;
  on_limit_ = std::move(on_limit);
}

const book::OrderBook* FeedPipeline::book(std::string_view symbol) const {
  const auto id = symbols_.find(symbol);
  if (!id || *id >= states_.size()) return nullptr;
  const SymbolState& st = states_[*id];
  return st.sync && !st.sync->needs_snapshot() ? &st.sync->book() : nullptr;
}

FeedPipeline::SymbolState& FeedPipeline::state_of(middleware::SymbolId id) {
  while (states_.size() <= id) {
    const auto next = static_cast<middleware::SymbolId>(states_.size());
    SymbolState st;
    st.name = std::string(symbols_.name(next));
    st.trade_subject = middleware::make_subject(env_, feed_.name, "trade", st.name);
    st.agg_subject = middleware::make_subject(env_, feed_.name, "agg_trade", st.name);
    st.quote_subject = middleware::make_subject(env_, feed_.name, "quote", st.name);
    st.book_subject = middleware::make_subject(env_, feed_.name, "book", st.name);
    st.status_subject = middleware::make_subject(env_, feed_.name, "status", st.name);
    // Every symbol gets a book sync: a depth diff for a symbol not configured
    // with the channel (a replayed capture) is still kept consistent.
    st.sync = std::make_unique<book::BookSync>();
    states_.push_back(std::move(st));
    for (std::size_t c = 0; c < kChannels; ++c) {
      tracker_.add_stream(c == kQuoteCh ? StreamKind::kMonotonic : StreamKind::kContiguous);
    }
    counters_.symbols.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  }
  return states_[id];
}

Stamp FeedPipeline::stamp(std::uint64_t ticks) {
  const auto& clock = middleware::TscClock::global();
  return Stamp{sequencer_.next(), clock.to_mono_ns(ticks), clock.to_wall_ns(ticks)};
}

void FeedPipeline::emit(const Stamp& s, std::string_view subject, std::span<const std::byte> bytes,
                        std::uint64_t t_encoded) {
  if (bytes.empty()) {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    TW_LOG_ERROR(log(), "{}: seq {}: envelope did not fit the encoder's buffer; dropped", feed_.name, s.sequence);
    return;
  }
  // Journal first: a sequence a subscriber has seen is in the journal ring,
  // so a restarted connector (which continues from the journal) never reuses it.
  if (!journal_.append(s.sequence, s.mono_ns, kEnvelopeRecordType, bytes)) {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  }
  const std::uint64_t t_journaled = middleware::TscClock::now_ticks();
  profiler_.record(stages_.ring_write, ticks_between(t_encoded, t_journaled));
  transport_.publish_at(s.sequence, subject, bytes);  // the Envelope's sequence on every transport
  profiler_.record(stages_.publish, ticks_between(t_journaled, middleware::TscClock::now_ticks()));
}

void FeedPipeline::market_event_done() {
  ++events_;
  // relaxed: a statistic (and the limit check, on this same thread).
  const auto done = counters_.messages.fetch_add(1, std::memory_order_relaxed) + 1;
  if (limit_ != 0 && done == limit_ && on_limit_) on_limit_();
}

void FeedPipeline::on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks) {
  on_tagged_frame(data, size, rx_ticks, 0);
}

void FeedPipeline::on_tagged_frame(const char* data, std::size_t size, std::uint64_t rx_ticks,
                                   std::uint32_t generation) {
  // relaxed: the counter is only written on this (the feed) thread.
  if (limit_ != 0 && counters_.messages.load(std::memory_order_relaxed) >= limit_) return;
  // Stage boundaries are chained TSC readings: one read per boundary.
  const std::uint64_t t_start = middleware::TscClock::now_ticks();
  feeds::ParsedMessage msg = parser_.parse(data, size);
  const std::uint64_t t_parsed = middleware::TscClock::now_ticks();
  profiler_.record(stages_.parse, ticks_between(t_start, t_parsed));
  switch (msg.event) {
    case feeds::EventKind::kTrade:
    case feeds::EventKind::kAggTrade:
      on_trade(msg, rx_ticks, t_parsed, generation);
      return;
    case feeds::EventKind::kQuote:
      on_quote(msg, rx_ticks, t_parsed, generation);
      return;
    case feeds::EventKind::kBookDelta:
      on_delta(msg, rx_ticks, t_parsed, generation);
      return;
    case feeds::EventKind::kServerShutdown:
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      TW_LOG_WARN(log(), "{}: serverShutdown notice on connection {}: rolling over", feed_.name, generation);
      if (io_.session != nullptr) io_.session->rollover("serverShutdown notice");
      return;
    case feeds::EventKind::kErrorReply: {
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      detail_ = fmt::format("exchange error reply (id {}): code {}: {}", msg.error_reply.id, msg.error_reply.code,
                            msg.error_reply.message);
      TW_LOG_WARN(log(), "{}: {}", feed_.name, detail_);
      emit_status({StatusKind::kRejected, {}, 0, 0, 1, detail_});
      return;
    }
    case feeds::EventKind::kControlReply:
    case feeds::EventKind::kBookSnapshot:
    case feeds::EventKind::kIgnored:
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case feeds::EventKind::kError:
      on_rejected(size, parser_.error());
      return;
  }
}

bool FeedPipeline::track(middleware::SymbolId id, Channel channel, std::uint64_t first, std::uint64_t last,
                         std::uint32_t generation, std::string_view what) {
  const IdVerdict v = tracker_.check(stream_index(id, channel), first, last, generation);
  bool fresh = true;
  switch (v.kind) {
    case IdVerdict::kAccept:
      break;
    case IdVerdict::kDuplicate:
    case IdVerdict::kHeld:
      counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      fresh = false;
      break;
    case IdVerdict::kGap: {
      counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      SymbolState& st = states_[id];
      detail_ = fmt::format("{} missing: {}..{} ({})", what, v.gap_from, v.gap_to, v.gap_to - v.gap_from + 1);
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kGap, st.name, v.gap_from, v.gap_to, v.gap_to - v.gap_from + 1, detail_});
      break;
    }
  }
  maybe_finish_rollover();
  return fresh;
}

void FeedPipeline::on_trade(feeds::ParsedMessage& msg, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                            std::uint32_t generation) {
  const middleware::SymbolId id = symbols_.intern(msg.trade.symbol);
  SymbolState& st = state_of(id);
  const Channel channel = msg.trade.aggregate ? kAggTradeCh : kTradeCh;
  if (watchdog_ && stream_index(id, channel) < watchdog_->size()) watchdog_->record(stream_index(id, channel), rx_ticks);
  if (!track(id, channel, msg.trade.trade_id, msg.trade.trade_id, generation,
             msg.trade.aggregate ? "aggregate trade ids" : "trade ids")) {
    return;
  }
  // The symbol text in the Envelope comes from the interner, not the frame.
  msg.trade.symbol = st.name;
  const Stamp s = stamp(rx_ticks);
  const auto bytes = encoder_.encode_trade(s, feed_.name, msg.trade);
  const std::uint64_t t_encoded = middleware::TscClock::now_ticks();
  profiler_.record(stages_.encode, ticks_between(t_parsed, t_encoded));
  emit(s, msg.trade.aggregate ? st.agg_subject : st.trade_subject, bytes, t_encoded);
  market_event_done();
}

void FeedPipeline::on_quote(feeds::ParsedMessage& msg, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                            std::uint32_t generation) {
  const middleware::SymbolId id = symbols_.intern(msg.quote.symbol);
  SymbolState& st = state_of(id);
  if (watchdog_ && stream_index(id, kQuoteCh) < watchdog_->size()) watchdog_->record(stream_index(id, kQuoteCh), rx_ticks);
  if (!track(id, kQuoteCh, msg.quote.update_id, msg.quote.update_id, generation, "quote update ids")) return;
  msg.quote.symbol = st.name;
  const Stamp s = stamp(rx_ticks);
  const auto bytes = encoder_.encode_quote(s, feed_.name, msg.quote);
  const std::uint64_t t_encoded = middleware::TscClock::now_ticks();
  profiler_.record(stages_.encode, ticks_between(t_parsed, t_encoded));
  emit(s, st.quote_subject, bytes, t_encoded);
  market_event_done();
}

void FeedPipeline::on_delta(feeds::ParsedMessage& msg, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                            std::uint32_t generation) {
  const middleware::SymbolId id = symbols_.intern(msg.delta.symbol);
  SymbolState& st = state_of(id);
  const std::size_t stream = stream_index(id, kDepthCh);
  if (watchdog_ && stream < watchdog_->size()) watchdog_->record(stream, rx_ticks);
  // The tracker only removes what the wire repeated (duplicates, the other
  // connection of a rollover); continuity of update ids is the BookSync's.
  const IdVerdict v = tracker_.check(stream, msg.delta.first_update_id, msg.delta.last_update_id, generation);
  maybe_finish_rollover();
  if (v.kind == IdVerdict::kDuplicate || v.kind == IdVerdict::kHeld) {
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return;
  }
  msg.delta.symbol = st.name;
  const book::SyncResult r = st.sync->on_delta(msg.delta);
  switch (r.outcome) {
    case book::SyncOutcome::kApplied: {
      const Stamp s = stamp(rx_ticks);
      const auto bytes = encoder_.encode_book_delta(s, feed_.name, msg.delta);
      const std::uint64_t t_encoded = middleware::TscClock::now_ticks();
      profiler_.record(stages_.encode, ticks_between(t_parsed, t_encoded));
      emit(s, st.book_subject, bytes, t_encoded);
      market_event_done();
      return;
    }
    case book::SyncOutcome::kBuffered:
      if (!st.fetching) request_snapshot(id, std::chrono::milliseconds(0));
      return;
    case book::SyncOutcome::kStale:
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case book::SyncOutcome::kGap:
      counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      detail_ = fmt::format("book update ids missing: {}..{}; resyncing from a snapshot", r.from_id, r.to_id);
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kGap, st.name, r.from_id, r.to_id, r.to_id - r.from_id + 1, detail_});
      if (!st.fetching) request_snapshot(id, std::chrono::milliseconds(0));
      return;
    case book::SyncOutcome::kCrossed:
    case book::SyncOutcome::kNegative:
      detail_ = fmt::format("book invalid after update ids {}..{}: {}; resyncing from a snapshot", r.from_id,
                            r.to_id, r.outcome == book::SyncOutcome::kCrossed ? "crossed" : "negative size");
      TW_LOG_WARN(log(), "{}: {}: {}", feed_.name, st.name, detail_);
      emit_symbol_status(st, {StatusKind::kRejected, st.name, r.from_id, r.to_id, 1, detail_});
      if (!st.fetching) request_snapshot(id, std::chrono::milliseconds(0));
      return;
    case book::SyncOutcome::kMalformed:
      on_rejected(0, "depthUpdate: first update id U is after last update id u");
      return;
    case book::SyncOutcome::kSynced:
    case book::SyncOutcome::kSnapshotTooOld:
      return;  // snapshot outcomes; not returned for a delta
  }
}

void FeedPipeline::on_rejected(std::size_t size, std::string_view why) {
  const auto n = counters_.rejected.fetch_add(1, std::memory_order_relaxed) + 1;  // relaxed: a statistic
  if (n <= kRejectLogFirst || n % kRejectLogEvery == 0) {
    TW_LOG_WARN(log(), "{}: rejected frame #{} ({} bytes): {}", feed_.name, n, size, why);
  }
  emit_status({StatusKind::kRejected, {}, 0, 0, 1, why});
}

void FeedPipeline::emit_status(const StatusEvent& status) {
  const Stamp s = stamp(middleware::TscClock::now_ticks());
  const auto bytes = encoder_.encode_status(s, feed_.name, status);
  emit(s, status_subject_, bytes, middleware::TscClock::now_ticks());
}

void FeedPipeline::emit_symbol_status(SymbolState& state, const StatusEvent& status) {
  const Stamp s = stamp(middleware::TscClock::now_ticks());
  const auto bytes = encoder_.encode_status(s, feed_.name, status);
  emit(s, state.status_subject, bytes, middleware::TscClock::now_ticks());
}

void FeedPipeline::heartbeat() { emit_status({StatusKind::kHeartbeat, {}, 0, 0, events_, {}}); }

// --- session events ----------------------------------------------------------

void FeedPipeline::on_connected() {
  counters_.connects.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  TW_LOG_INFO(log(), "{}: connected to {}", feed_.name, feed_.url);
  if (watchdog_) watchdog_->arm(middleware::TscClock::now_ticks());
  emit_status({StatusKind::kConnected, {}, 0, 0, 0, feed_.url});
  if (feed_.subscribe == "url") {
    // The streams are in the URL: the connection is the (re)subscription.
    const std::uint64_t connects = counters_.connects.load(std::memory_order_relaxed);  // relaxed: this thread writes it
    const std::size_t streams = feed_.symbols.size() * feed_.channels.size();
    detail_ = fmt::format("{} {} streams by URL", connects > 1 ? "resubscribed" : "subscribed", streams);
    emit_status({StatusKind::kSubscribed, {}, 0, 0, streams, detail_});
  }
  // relaxed: this thread writes it.
  if (feed_.snapshot_on_reconnect && counters_.connects.load(std::memory_order_relaxed) > 1) verify_books();
}

void FeedPipeline::on_disconnected(std::string_view reason) {
  counters_.disconnects.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  TW_LOG_WARN(log(), "{}: disconnected: {}", feed_.name, reason);
  emit_status({StatusKind::kDisconnected, {}, 0, 0, 0, reason});
}

void FeedPipeline::on_backoff(std::chrono::milliseconds delay, std::string_view cause) {
  TW_LOG_INFO(log(), "{}: next connection attempt in {} ms ({})", feed_.name, delay.count(), cause);
}

void FeedPipeline::on_subscribed(std::uint32_t generation, std::size_t streams, bool resubscribe) {
  if (watchdog_) watchdog_->arm(middleware::TscClock::now_ticks());
  detail_ = fmt::format("{} {} streams on connection {}", resubscribe ? "resubscribed" : "subscribed", streams,
                        generation);
  emit_status({StatusKind::kSubscribed, {}, 0, 0, streams, detail_});
}

void FeedPipeline::on_rollover_started(std::uint32_t previous, std::uint32_t next, std::string_view reason) {
  tracker_.begin_rollover(next);
  finish_requested_ = false;
  detail_ = fmt::format("rollover started: connection {} opened beside {} ({})", next, previous, reason);
  TW_LOG_INFO(log(), "{}: {}", feed_.name, detail_);
  emit_status({StatusKind::kRollover, {}, 0, 0, 0, detail_});
  maybe_finish_rollover();
}

void FeedPipeline::maybe_finish_rollover() {
  if (!tracker_.rolling_over() || finish_requested_ || !tracker_.overlapped()) return;
  finish_requested_ = true;
  if (io_.session != nullptr) io_.session->finish_rollover();
}

void FeedPipeline::on_rollover_finished(std::uint32_t previous, std::uint32_t current, bool overlapped) {
  const std::size_t waiting = tracker_.not_overlapped();
  tracker_.end_rollover();
  finish_requested_ = false;
  counters_.rollovers.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  detail_ = overlapped ? fmt::format("rollover finished: connection {} replaced {}, overlap proven", current, previous)
                       : fmt::format("rollover finished: connection {} replaced {} without proven overlap on {} "
                                     "streams; any ids missed are journaled as gaps",
                                     current, previous, waiting);
  TW_LOG_INFO(log(), "{}: {}", feed_.name, detail_);
  emit_status({StatusKind::kRollover, {}, 0, 0, overlapped ? 1u : 0u, detail_});
}

void FeedPipeline::on_rollover_failed(std::uint32_t generation, std::string_view reason) {
  TW_LOG_WARN(log(), "{}: rollover connection {} failed: {}; the current connection stays", feed_.name, generation,
              reason);
}

// --- stale streams -------------------------------------------------------------

void FeedPipeline::schedule_stale_check() {
  const auto period = std::chrono::milliseconds(std::max<std::uint32_t>(feed_.stale_after_ms / 4, 50));
  stale_timer_->expires_after(period);
  stale_timer_->async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
    const auto live = alive.lock();
    if (ec || !live || !*live) return;
    check_stale();
    schedule_stale_check();
  });
}

void FeedPipeline::check_stale() {
  const auto stale = watchdog_->check(middleware::TscClock::now_ticks());
  if (stale.empty()) return;
  std::string names;
  for (std::size_t s : stale) {
    const std::size_t symbol = s / kChannels;
    const std::size_t channel = s % kChannels;
    if (!names.empty()) names += ", ";
    names += stream_name(states_[symbol].name, kChannelNames[channel]);
  }
  const std::string why = fmt::format("no data for {} ms on {}", feed_.stale_after_ms, names);
  TW_LOG_WARN(log(), "{}: {}: reconnecting", feed_.name, why);
  if (io_.session != nullptr) io_.session->restart(why);
}

}  // namespace tickwire::connector
