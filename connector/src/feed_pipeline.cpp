#include "tickwire/connector/feed_pipeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cctype>

#include "tickwire/connector/log.hpp"
#include "tickwire/middleware/status_text.hpp"
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


constexpr std::string_view kKindNames[kChannelKinds] = {"trade",   "aggTrade",    "quote",        "depth",
                                                         "funding", "liquidation", "open_interest"};

bool is_zero(const Decimal& d) { return d.mantissa == 0; }
bool is_positive(const Decimal& d) { return d.mantissa > 0; }
bool is_negative(const Decimal& d) { return d.mantissa < 0; }

// symbol_problem: why an exchange symbol in a frame cannot be one we
// subscribed to, before it is looked up; empty if it looks well-formed.
std::string_view symbol_problem(std::string_view symbol, std::size_t max_bytes) {
  if (symbol.empty()) return "empty symbol";
  if (symbol.size() > max_bytes) return "symbol longer than the venue's limit";
  for (char c : symbol) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "symbol holds a NUL or control byte";
  }
  return {};
}

// printable: `s` cut to 32 bytes with every byte outside printable ASCII
// replaced by '?', for a Status detail about hostile input.
std::string printable(std::string_view s) {
  std::string out(s.substr(0, 32));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  if (s.size() > 32) out += "...";
  return out;
}

// same_symbol: the stream name's symbol ("btcusdt") names the data's ("BTCUSDT").
bool same_symbol(std::string_view stream, std::string_view symbol) {
  if (stream.size() != symbol.size()) return false;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(stream[i])) != std::tolower(static_cast<unsigned char>(symbol[i]))) {
      return false;
    }
  }
  return true;
}

// levels_problem: a book level with a price that is not positive (a size of
// zero deletes the level and is valid; a negative size is the book sync's to reject).
bool levels_valid(std::span<const PriceLevel> levels) {
  for (const PriceLevel& l : levels) {
    if (!is_positive(l.price)) return false;
  }
  return true;
}

}  // namespace

PipelineStages PipelineStages::register_in(middleware::Profiler& profiler) {
  return {profiler.stage("parse"), profiler.stage("encode"), profiler.stage("publish"),
          profiler.stage("ring_write"), profiler.stage("received_to_ring")};
}

FeedPipeline::FeedPipeline(const config::FeedConfig& feed, std::string env, const PipelineContext& context)
    : feed_(feed), env_(std::move(env)), sequencer_(context.sequencer), transport_(context.transport),
      journal_(context.journal), counters_(context.counters),
      stages_(PipelineStages::register_in(context.profiler)), batches_(context.profiler, stages_),
      venue_(find_venue(feed)),
      encoder_(context.buffers), status_subject_(middleware::make_subject(env_, feed_.name, "status", "_feed")) {
  if (venue_ == nullptr) {
    setup_ = absl::InvalidArgumentError(
        fmt::format("feed '{}': exchange {:?} names no venue adapter", feed_.name, feed_.exchange));
    return;
  }
  book_policy_ = venue_->book_policy();
  parser_ = venue_->make_parser(feed_);
  max_symbol_bytes_ = venue_->limits().max_symbol_bytes;
  lag_warn_ms_ = static_cast<std::int64_t>(feed_.lag_warn_ms);
  for (const auto& channel : feed_.channels) {
    if (venue_->channel_kind(channel) != ChannelKind::kDepth) continue;
    want_depth_ = true;
    stream_bootstrap_ = std::max(stream_bootstrap_, venue_->stream_bootstrap(channel));
  }
  // Every configured symbol gets its state (subjects, book, streams) now,
  // and no other symbol ever does.
  for (const auto& symbol : feed_.symbols) {
    add_symbol(symbol);
    if (!setup_.ok()) return;
  }
  // Always kept: it holds each stream's last message time, which the metrics
  // report; only with stale_after_ms does a timer restart silent streams.
  watchdog_ = std::make_unique<StreamWatchdog>(StreamWatchdog::for_global_clock(
      feed_.symbols.size() * kChannels, std::chrono::milliseconds(feed_.stale_after_ms)));
  for (std::size_t s = 0; s < feed_.symbols.size(); ++s) {
    for (std::size_t c = 0; c < kChannels; ++c) {
      const bool subscribed = std::any_of(feed_.channels.begin(), feed_.channels.end(), [&](const std::string& ch) {
        return venue_->channel_kind(ch) == static_cast<ChannelKind>(c);
      });
      if (!subscribed) watchdog_->set_threshold(s * kChannels + c, std::chrono::nanoseconds(0));
    }
  }
}

std::uint64_t FeedPipeline::stream_last_ticks(std::size_t symbol_index, ChannelKind kind) const {
  const std::size_t stream = symbol_index * kChannels + static_cast<std::size_t>(kind);
  if (!watchdog_ || stream >= watchdog_->size()) return 0;
  // The last message; before the first, when the stream could first deliver (the last arm).
  const std::uint64_t data = watchdog_->data_ticks(stream);
  return data != 0 ? data : watchdog_->last_ticks(stream);
}

absl::Status FeedPipeline::ok() const {
  if (!setup_.ok()) return setup_;
  return encoder_.status();
}

FeedPipeline::~FeedPipeline() { *alive_ = false; }

void FeedPipeline::attach(PipelineIo io) {
  io_ = std::move(io);
  if (watchdog_ && feed_.stale_after_ms != 0 && io_.io != nullptr) {
    stale_timer_ = std::make_unique<boost::asio::steady_timer>(*io_.io);
    schedule_stale_check();
  }
  for (std::size_t i = 0; i < states_.size(); ++i) fetch_contract(static_cast<middleware::SymbolId>(i));
}

void FeedPipeline::stop() {
  *alive_ = false;
  if (stale_timer_) stale_timer_->cancel();
  for (auto& st : states_) {
    if (st.retry) st.retry->cancel();
    if (st.contract_retry) st.contract_retry->cancel();
    if (st.resubscribe_deadline) st.resubscribe_deadline->cancel();
  }
}

void FeedPipeline::set_limit(std::uint64_t max_messages, std::function<void()> on_limit,
                             std::atomic<std::uint64_t>* count) {
  limit_ = max_messages;
  limit_count_ = count != nullptr ? count : &counters_.messages;
  on_limit_ = std::move(on_limit);
}

void add_counters(PipelineCounters& into, const PipelineCounters& from) {
  // relaxed: statistics, each a single writer's running count.
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const auto add = [&](std::atomic<std::uint64_t>& to, const std::atomic<std::uint64_t>& v) {
    to.store(to.load(kRelaxed) + v.load(kRelaxed), kRelaxed);
  };
  add(into.messages, from.messages);
  add(into.rejected, from.rejected);
  add(into.unsubscribed, from.unsubscribed);
  add(into.ignored, from.ignored);
  add(into.dropped, from.dropped);
  add(into.symbols, from.symbols);
  add(into.connects, from.connects);
  add(into.disconnects, from.disconnects);
  add(into.duplicates, from.duplicates);
  add(into.gaps, from.gaps);
  add(into.resyncs, from.resyncs);
  add(into.rollovers, from.rollovers);
  add(into.lag_warnings, from.lag_warnings);
  for (std::size_t k = 0; k < kJournaledKinds; ++k) add(into.by_kind[k], from.by_kind[k]);
  const std::int64_t lag = from.lag_ms.load(kRelaxed);
  const std::int64_t have = into.lag_ms.load(kRelaxed);
  if (std::abs(lag) > std::abs(have)) into.lag_ms.store(lag, kRelaxed);
}

const book::OrderBook* FeedPipeline::book(std::string_view symbol) const {
  const auto id = symbols_.find(symbol);
  if (!id || *id >= states_.size()) return nullptr;
  const SymbolState& st = states_[*id];
  return valid_book(st);
}

const book::OrderBook* FeedPipeline::valid_book(const SymbolState& st) {
  if (st.stream) return st.stream->valid() ? &st.stream->book() : nullptr;
  if (st.checksum) return st.checksum->valid() ? &st.checksum->book() : nullptr;
  return st.sync && !st.sync->needs_snapshot() ? &st.sync->book() : nullptr;
}

std::uint64_t FeedPipeline::book_update_id(const SymbolState& st) {
  if (st.stream) return st.stream->last_update_id();
  if (st.checksum) return st.checksum->last_update_id();
  return st.sync ? st.sync->last_update_id() : 0;
}

void FeedPipeline::add_symbol(std::string_view symbol) {
  auto instrument = venue_->instrument(symbol);
  if (!instrument.ok()) {
    setup_ = absl::InvalidArgumentError(
        fmt::format("feed '{}': {}", feed_.name, middleware::status_text(instrument.status())));
    return;
  }
  const middleware::SymbolId id = symbols_.intern(symbol);
  if (id != states_.size()) return;  // a repeated symbol (the config rejects repeats)
  SymbolState st;
  st.name = std::string(symbol);
  st.instrument = std::move(*instrument);
  const std::string& token = st.instrument.name;
  st.trade_subject = middleware::make_subject(env_, feed_.name, "trade", token);
  st.agg_subject = middleware::make_subject(env_, feed_.name, "agg_trade", token);
  st.quote_subject = middleware::make_subject(env_, feed_.name, "quote", token);
  st.book_subject = middleware::make_subject(env_, feed_.name, "book", token);
  st.status_subject = middleware::make_subject(env_, feed_.name, "status", token);
  st.funding_subject = middleware::make_subject(env_, feed_.name, "funding", token);
  st.liquidation_subject = middleware::make_subject(env_, feed_.name, "liquidation", token);
  st.open_interest_subject = middleware::make_subject(env_, feed_.name, "open_interest", token);
  if (book_policy_.integrity == BookIntegrity::kStreamSequence) {
    st.stream = std::make_unique<book::StreamSync>(book::OrderBook::kDefaultReserve, book_policy_.sequence_checksum,
                                                   book_policy_.checksum_levels, book_policy_.connection_sequence);
  } else if (book_policy_.integrity == BookIntegrity::kStreamChecksum) {
    std::uint32_t depth = 0;
    for (const auto& channel : feed_.channels) depth = std::max(depth, venue_->book_depth(channel));
    st.checksum = std::make_unique<book::ChecksumSync>(st.name, depth, book_policy_.checksum_levels);
  } else {
    book::SyncOptions sync_options;
    sync_options.rule = book_policy_.integrity == BookIntegrity::kRestSnapshotPrevId ? book::ChainRule::kPrevId
                                                                                     : book::ChainRule::kFirstId;
    st.sync = std::make_unique<book::BookSync>(sync_options);
  }
  states_.push_back(std::move(st));
  for (std::size_t c = 0; c < kChannels; ++c) {
    const auto kind = static_cast<ChannelKind>(c);
    const bool trades = kind == ChannelKind::kTrade || kind == ChannelKind::kAggTrade;
    const TradeContinuity continuity =
        trades || kind == ChannelKind::kLiquidation ? venue_->trade_continuity(kind) : TradeContinuity::kIncreasing;
    StreamKind stream_kind = StreamKind::kMonotonic;
    if (continuity == TradeContinuity::kNonDecreasing) {
      stream_kind = StreamKind::kNonDecreasing;
    } else if (trades ? continuity == TradeContinuity::kContiguous : kind == ChannelKind::kDepth) {
      stream_kind = StreamKind::kContiguous;
    } else if (trades) {
      // Trade ids that only increase: a late trade is journaled, not taken for a repeat.
      stream_kind = StreamKind::kIncreasing;
    }
    tracker_.add_stream(stream_kind);
  }
  counters_.symbols.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
}

Stamp FeedPipeline::stamp(std::uint64_t ticks) {
  const auto [mono_ns, wall_ns] = clock_.to_mono_and_wall_ns(ticks);
  return Stamp{sequencer_.next(), mono_ns, wall_ns};
}

void FeedPipeline::emit(const Stamp& s, std::string_view subject, std::span<const std::byte> bytes,
                        std::uint64_t t_encoded, std::uint64_t rx_ticks) {
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
  if (t_encoded == 0) {  // not a stamped frame (set_stage_sample)
    transport_.publish_at(s.sequence, subject, bytes);
    return;
  }
  const std::uint64_t t_journaled = middleware::TscClock::now_ticks();
  batches_.ring_write.record(ticks_between(t_encoded, t_journaled));
  if (rx_ticks != 0) batches_.received_to_ring.record(ticks_between(rx_ticks, t_journaled));
  transport_.publish_at(s.sequence, subject, bytes);  // the Envelope's sequence on every transport
  batches_.publish.record(ticks_between(t_journaled, middleware::TscClock::now_ticks()));
}

void FeedPipeline::market_event_done(JournaledKind kind) {
  ++events_;
  // The feed thread is these counters' only writer (other threads only read
  // them), so a load and a store count without the locked read-modify-write.
  // relaxed: statistics (and the limit check, on this same thread).
  auto& by_kind = counters_.by_kind[static_cast<std::size_t>(kind)];
  by_kind.store(by_kind.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  const auto done = counters_.messages.load(std::memory_order_relaxed) + 1;
  counters_.messages.store(done, std::memory_order_relaxed);
  if (limit_ == 0) return;
  // The shared count: every pipeline on the feed thread adds to it (relaxed: that one thread).
  const auto counted = limit_count_ == &counters_.messages ? done : limit_count_->fetch_add(1, std::memory_order_relaxed) + 1;
  if (counted == limit_ && on_limit_) on_limit_();
}

void FeedPipeline::on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks, std::uint32_t generation) {
  // relaxed: the counter is only written on this (the feed) thread.
  if (limit_ != 0 && limit_count_->load(std::memory_order_relaxed) >= limit_) return;
  if (!parser_) return;  // no venue: ok() said so, and the runner did not start
  // Stage boundaries are chained TSC readings: one read per boundary, on
  // one frame in stage_every_ (the others carry t_parsed 0: no durations).
  const bool stamped = --stage_countdown_ == 0;
  if (stamped) stage_countdown_ = stage_every_;
  const std::uint64_t t_start = stamped ? middleware::TscClock::now_ticks() : 0;
  ParsedMessage msg = parser_->parse(data, size);
  const std::uint64_t t_parsed = stamped ? middleware::TscClock::now_ticks() : 0;
  if (stamped) batches_.parse.record(ticks_between(t_start, t_parsed));
  if (msg.has_connection_sequence) check_connection_sequence(msg.connection_sequence, generation);
  dispatch(msg, size, rx_ticks, t_parsed, generation);
  // A frame may carry several events (a batch of trades, a merged ticker):
  // each is admitted, tracked and journaled on its own.
  while (msg.event != EventKind::kError && (limit_ == 0 || limit_count_->load(std::memory_order_relaxed) < limit_) &&
         parser_->next(msg)) {  // relaxed: written on this thread only
    dispatch(msg, size, rx_ticks, stamped ? middleware::TscClock::now_ticks() : 0, generation);
  }
}

void FeedPipeline::dispatch(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                            std::uint32_t generation) {
  switch (msg.event) {
    case EventKind::kTrade:
    case EventKind::kAggTrade:
      on_trade(msg, size, rx_ticks, t_parsed, generation);
      return;
    case EventKind::kQuote:
      on_quote(msg, size, rx_ticks, t_parsed, generation);
      return;
    case EventKind::kBookDelta:
      on_delta(msg, size, rx_ticks, t_parsed, generation);
      return;
    case EventKind::kFunding:
      on_funding(msg, size, rx_ticks, t_parsed, generation);
      return;
    case EventKind::kLiquidation:
      on_liquidation(msg, size, rx_ticks, t_parsed, generation);
      return;
    case EventKind::kOpenInterest:
      on_open_interest(msg, size, rx_ticks, t_parsed, generation);
      return;
    case EventKind::kServerShutdown:
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      TW_LOG_WARN(log(), "{}: serverShutdown notice on connection {}: rolling over", feed_.name, generation);
      if (io_.session != nullptr) io_.session->rollover("serverShutdown notice");
      return;
    case EventKind::kErrorReply: {
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      detail_ = fmt::format("exchange error reply (id {}): code {}: {}", msg.error_reply.id, msg.error_reply.code,
                            msg.error_reply.message);
      TW_LOG_WARN(log(), "{}: {}", feed_.name, detail_);
      emit_status({StatusKind::kRejected, {}, 0, 0, 1, detail_});
      return;
    }
    case EventKind::kBookSnapshot:
      if (book_policy_.integrity == BookIntegrity::kStreamSequence) {
        on_stream_snapshot(msg, size, rx_ticks, t_parsed, generation);
        return;
      }
      if (book_policy_.integrity == BookIntegrity::kStreamChecksum) {
        on_checksum_snapshot(msg, size, rx_ticks, t_parsed, generation);
        return;
      }
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case EventKind::kControlReply:
    case EventKind::kIgnored:
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case EventKind::kError:
      on_rejected(size, parser_->error());
      return;
  }
}

std::optional<middleware::SymbolId> FeedPipeline::admit(const ParsedMessage& msg, std::string_view symbol,
                                                        std::size_t size, std::string_view what) {
  if (const std::string_view problem = symbol_problem(symbol, max_symbol_bytes_); !problem.empty()) {
    detail_ = fmt::format("{}: {} ({} bytes, max {}): \"{}\"", what, problem, symbol.size(), max_symbol_bytes_,
                          printable(symbol));
    on_rejected(size, detail_);
    return std::nullopt;
  }
  const auto id = symbols_.find(symbol);
  if (!id || *id >= states_.size()) {
    counters_.unsubscribed.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    detail_ = fmt::format("{}: symbol \"{}\" is not subscribed on this feed", what, printable(symbol));
    on_rejected(size, detail_);
    return std::nullopt;
  }
  if (!msg.stream_symbol.empty() && !same_symbol(msg.stream_symbol, symbol)) {
    detail_ = fmt::format("{}: stream names symbol \"{}\" but the data is for \"{}\"", what,
                          printable(msg.stream_symbol), printable(symbol));
    on_rejected(size, detail_);
    return std::nullopt;
  }
  return *id;
}

void FeedPipeline::record_stream(middleware::SymbolId id, Channel channel, std::uint64_t rx_ticks) {
  const std::size_t stream = stream_index(id, channel);
  if (watchdog_ && stream < watchdog_->size()) watchdog_->record(stream, rx_ticks);
}

void FeedPipeline::note_lag(const Stamp& s, std::uint64_t event_ns) {
  if (event_ns == 0) return;
  const auto lag = static_cast<std::int64_t>(s.wall_ns - event_ns) / 1'000'000;
  counters_.lag_ms.store(lag, std::memory_order_relaxed);  // relaxed: a gauge, read by the status line
  if (lag_warn_ms_ == 0) return;
  if (!lagging_ && lag > lag_warn_ms_) {
    lagging_ = true;
    counters_.lag_warnings.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    TW_LOG_WARN(log(), "{}: data is {} ms behind the exchange's event time (lag_warn_ms {})", feed_.name, lag,
                lag_warn_ms_);
  } else if (lagging_ && lag <= lag_warn_ms_ / 2) {
    // Hysteresis: back under half the threshold before the next warning can fire.
    lagging_ = false;
    TW_LOG_INFO(log(), "{}: exchange-time lag back to {} ms", feed_.name, lag);
  }
}

template <typename Encode>
void FeedPipeline::emit_market(const SymbolState& st, std::string_view subject, JournaledKind kind,
                               std::uint64_t rx_ticks, std::uint64_t t_parsed, std::uint64_t event_ns,
                               Encode&& encode) {
  const Stamp s = stamp(rx_ticks);
  note_lag(s, event_ns);
  encode_for(st);
  const auto bytes = encode(s);
  std::uint64_t t_encoded = 0;
  if (t_parsed != 0) {
    t_encoded = middleware::TscClock::now_ticks();
    batches_.encode.record(ticks_between(t_parsed, t_encoded));
  }
  emit(s, subject, bytes, t_encoded, rx_ticks);
  market_event_done(kind);
}

void FeedPipeline::emit_book_delta(const SymbolState& st, const BookDeltaEvent& d, std::uint64_t rx_ticks,
                                   std::uint64_t t_parsed) {
  emit_market(st, st.book_subject, JournaledKind::kBookDelta, rx_ticks, t_parsed, d.event_ns,
              [&](const Stamp& s) { return encoder_.encode_book_delta(s, feed_.name, d, slot_of(st)); });
}

void FeedPipeline::emit_book_snapshot(const SymbolState& st, const BookSnapshotEvent& snapshot, std::uint64_t rx_ticks,
                                      std::uint64_t t_parsed) {
  emit_market(st, st.book_subject, JournaledKind::kBookSnapshot, rx_ticks, t_parsed, snapshot.event_ns,
              [&](const Stamp& s) { return encoder_.encode_book_snapshot(s, feed_.name, snapshot); });
}

bool FeedPipeline::track(middleware::SymbolId id, Channel channel, std::uint64_t first, std::uint64_t last,
                         std::uint32_t generation, std::string_view what, std::uint64_t tag) {
  const IdVerdict v = tracker_.check(stream_index(id, channel), first, last, generation, tag);
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

void FeedPipeline::on_trade(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                            std::uint32_t generation) {
  TradeEvent& t = msg.trade;
  const std::string_view what = t.aggregate ? "aggTrade" : "trade";
  const auto id = admit(msg, t.symbol, size, what);
  if (!id) return;
  if (!is_positive(t.price) || !is_positive(t.size)) {
    detail_ = fmt::format("{} {}: price and size must be positive, got price {} size {}", what, t.trade_id,
                          middleware::to_string(t.price), middleware::to_string(t.size));
    on_rejected(size, detail_);
    return;
  }
  SymbolState& st = states_[*id];
  const Channel channel = t.aggregate ? ChannelKind::kAggTrade : ChannelKind::kTrade;
  record_stream(*id, channel, rx_ticks);
  if (t.history) {
    // Recent trades the venue sends on subscribe (Coinbase): new only if after
    // the last accepted trade (missed while disconnected); with none accepted
    // yet they are from before this feed began and only set its position.
    const std::size_t stream = stream_index(*id, channel);
    const std::uint64_t last = tracker_.last_id(stream);
    if (!st.trades_live) {
      (void)tracker_.check(stream, t.trade_id, t.trade_id, generation);
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    }
    if (t.trade_id <= last) {
      counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    }
  }
  if (!track(*id, channel, t.trade_id, t.trade_id, generation, t.aggregate ? "aggregate trade ids" : "trade ids",
             t.tag)) {
    return;
  }
  st.trades_live = true;
  // The symbol text in the Envelope comes from the state, not the frame.
  t.symbol = st.name;
  emit_market(st, t.aggregate ? st.agg_subject : st.trade_subject,
              t.aggregate ? JournaledKind::kAggTrade : JournaledKind::kTrade, rx_ticks, t_parsed, t.event_ns,
              [&](const Stamp& s) { return encoder_.encode_trade(s, feed_.name, t, slot_of(st)); });
}

void FeedPipeline::on_quote(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                            std::uint32_t generation) {
  QuoteEvent& q = msg.quote;
  const auto id = admit(msg, q.symbol, size, "bookTicker");
  if (!id) return;
  // A side may be empty (size zero); a side with size must have a positive price.
  const bool bid_ok = !is_negative(q.bid_size) && !is_negative(q.bid_price) &&
                      (is_zero(q.bid_size) || is_positive(q.bid_price));
  const bool ask_ok = !is_negative(q.ask_size) && !is_negative(q.ask_price) &&
                      (is_zero(q.ask_size) || is_positive(q.ask_price));
  if (!bid_ok || !ask_ok) {
    detail_ = fmt::format("bookTicker {}: invalid {} (price {} size {})", q.update_id, bid_ok ? "ask" : "bid",
                          middleware::to_string(bid_ok ? q.ask_price : q.bid_price),
                          middleware::to_string(bid_ok ? q.ask_size : q.bid_size));
    on_rejected(size, detail_);
    return;
  }
  SymbolState& st = states_[*id];
  record_stream(*id, ChannelKind::kQuote, rx_ticks);
  // An update id at or below the last one, on a quote the exchange stamped
  // later than the last, is the venue starting its ids over (OKX's seqId
  // after maintenance), not a repeat: a repeat carries its old time too.
  // Without this, every quote would be dropped until the ids climbed past
  // the old mark.
  const std::size_t quote_stream = stream_index(*id, ChannelKind::kQuote);
  const bool newer_time = q.event_ns != 0 && st.quote_ns != 0 && q.event_ns > st.quote_ns;
  if (newer_time && q.update_id <= tracker_.last_id(quote_stream)) {
    TW_LOG_INFO(log(), "{}: {}: quote update ids start over at {} (last {}), the exchange time moving on", feed_.name,
                st.name, q.update_id, tracker_.last_id(quote_stream));
    tracker_.reset(quote_stream);
  }
  if (!track(*id, ChannelKind::kQuote, q.update_id, q.update_id, generation, "quote update ids")) return;
  st.quote_ns = q.event_ns;
  q.symbol = st.name;
  emit_market(st, st.quote_subject, JournaledKind::kQuote, rx_ticks, t_parsed, q.event_ns,
              [&](const Stamp& s) { return encoder_.encode_quote(s, feed_.name, q, slot_of(st)); });
}

void FeedPipeline::on_funding(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                              std::uint32_t generation) {
  FundingEvent& f = msg.funding;
  const auto id = admit(msg, f.symbol, size, "markPrice");
  if (!id) return;
  // An index price of zero: the venue's funding channels state none (OKX).
  if (!is_positive(f.mark_price) || is_negative(f.index_price) || is_negative(f.settle_price)) {
    detail_ = fmt::format("markPrice: the mark price must be positive, index and settle prices positive or absent "
                          "(zero), got mark {} index {} settle {}",
                          middleware::to_string(f.mark_price), middleware::to_string(f.index_price),
                          middleware::to_string(f.settle_price));
    on_rejected(size, detail_);
    return;
  }
  SymbolState& st = states_[*id];
  record_stream(*id, ChannelKind::kFunding, rx_ticks);
  if (!track(*id, ChannelKind::kFunding, f.event_ns, f.event_ns, generation, "funding event times")) return;
  f.symbol = st.name;
  emit_market(st, st.funding_subject, JournaledKind::kFunding, rx_ticks, t_parsed, f.event_ns,
              [&](const Stamp& s) { return encoder_.encode_funding(s, feed_.name, f); });
}

void FeedPipeline::on_liquidation(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks,
                                  std::uint64_t t_parsed, std::uint32_t generation) {
  LiquidationEvent& l = msg.liquidation;
  const auto id = admit(msg, l.symbol, size, "forceOrder");
  if (!id) return;
  if (!is_positive(l.price) || !is_positive(l.size) || is_negative(l.average_price) || is_negative(l.filled_size)) {
    detail_ = fmt::format("forceOrder: price and size must be positive, got price {} size {} average {} filled {}",
                          middleware::to_string(l.price), middleware::to_string(l.size),
                          middleware::to_string(l.average_price), middleware::to_string(l.filled_size));
    on_rejected(size, detail_);
    return;
  }
  SymbolState& st = states_[*id];
  record_stream(*id, ChannelKind::kLiquidation, rx_ticks);
  if (!track(*id, ChannelKind::kLiquidation, l.event_ns, l.event_ns, generation, "liquidation event times")) return;
  l.symbol = st.name;
  emit_market(st, st.liquidation_subject, JournaledKind::kLiquidation, rx_ticks, t_parsed, l.event_ns,
              [&](const Stamp& s) { return encoder_.encode_liquidation(s, feed_.name, l); });
}

void FeedPipeline::on_open_interest(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks,
                                    std::uint64_t t_parsed, std::uint32_t generation) {
  OpenInterestEvent& o = msg.open_interest;
  const auto id = admit(msg, o.symbol, size, "openInterest");
  if (!id) return;
  if (is_negative(o.open_interest)) {
    detail_ = fmt::format("openInterest: negative open interest {}", middleware::to_string(o.open_interest));
    on_rejected(size, detail_);
    return;
  }
  SymbolState& st = states_[*id];
  record_stream(*id, ChannelKind::kOpenInterest, rx_ticks);
  if (!track(*id, ChannelKind::kOpenInterest, o.event_ns, o.event_ns, generation, "open interest event times")) {
    return;
  }
  o.symbol = st.name;
  emit_market(st, st.open_interest_subject, JournaledKind::kOpenInterest, rx_ticks, t_parsed, o.event_ns,
              [&](const Stamp& s) { return encoder_.encode_open_interest(s, feed_.name, o); });
}

void FeedPipeline::on_delta(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                            std::uint32_t generation) {
  BookDeltaEvent& d = msg.delta;
  const auto admitted = admit(msg, d.symbol, size, "depthUpdate");
  if (!admitted) return;
  const middleware::SymbolId id = *admitted;
  if (!levels_valid(d.bids) || !levels_valid(d.asks)) {
    detail_ = fmt::format("depthUpdate {}..{}: a level with a price that is not positive", d.first_update_id,
                          d.last_update_id);
    on_rejected(size, detail_);
    return;
  }
  SymbolState& st = states_[id];
  if (st.checksum) {
    // No update ids to track: the checksum says whether the book is whole.
    on_checksum_delta(msg, id, rx_ticks, t_parsed, generation);
    return;
  }
  const std::size_t stream = stream_index(id, ChannelKind::kDepth);
  record_stream(id, ChannelKind::kDepth, rx_ticks);
  if (book_policy_.connection_sequence) {
    // Ids are the connection's sequence, continuity the connection's: during
    // a rollover only the connection the book was snapshotted on applies.
    if (st.book_generation != 0 && st.book_generation != generation) {
      counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    }
    d.symbol = st.name;
    on_stream_delta(msg, id, rx_ticks, t_parsed);
    return;
  }
  // A restart starts the ids over, and so does a chained delta whose id is
  // below its prev (OKX's maintenance reset): the tracker takes it as it comes.
  if (d.restart || (d.has_prev && d.last_update_id < d.prev_update_id)) tracker_.reset(stream);
  // A chained keepalive (an empty delta at its own prev) repeats the id on
  // purpose: it goes straight to the book's sync, which checks it chains.
  const bool keepalive = d.has_prev && d.prev_update_id == d.last_update_id && d.bids.empty() && d.asks.empty();
  // The tracker only removes what the wire repeated (duplicates, the other
  // connection of a rollover); continuity of update ids is the BookSync's.
  const IdVerdict v = keepalive ? IdVerdict{} : tracker_.check(stream, d.first_update_id, d.last_update_id, generation);
  maybe_finish_rollover();
  if (v.kind == IdVerdict::kDuplicate || v.kind == IdVerdict::kHeld) {
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return;
  }
  d.symbol = st.name;
  if (st.stream) {
    on_stream_delta(msg, id, rx_ticks, t_parsed);
    return;
  }
  const book::SyncResult r = st.sync->on_delta(d);
  switch (r.outcome) {
    case book::SyncOutcome::kApplied:
      emit_market(st, st.book_subject, JournaledKind::kBookDelta, rx_ticks, t_parsed, d.event_ns,
                  [&](const Stamp& s) { return encoder_.encode_book_delta(s, feed_.name, d, slot_of(st)); });
      return;
    case book::SyncOutcome::kBuffered:
      if (!st.fetching) request_snapshot(id, std::chrono::milliseconds(0));
      return;
    case book::SyncOutcome::kStale:
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case book::SyncOutcome::kGap:
      counters_.gaps.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      // Book statuses' details begin "book ": book::BookRebuilder (replay --books) relies on it.
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
  encode_for(state);
  const auto bytes = encoder_.encode_status(s, feed_.name, status);
  emit(s, state.status_subject, bytes, middleware::TscClock::now_ticks());
}

void FeedPipeline::heartbeat() { emit_status({StatusKind::kHeartbeat, {}, 0, 0, events_, {}}); }

void FeedPipeline::on_publish_loss(std::uint64_t count, std::string_view detail) {
  emit_status({StatusKind::kDropped, {}, 0, 0, count, detail});
}

// --- session events ----------------------------------------------------------

void FeedPipeline::on_connected() {
  counters_.connects.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  TW_LOG_INFO(log(), "{}: connected to {}", feed_.name, feed_.url);
  if (watchdog_) watchdog_->arm(middleware::TscClock::now_ticks());
  // A fresh primary: a rollover whose candidate never took over is over.
  if (tracker_.rolling_over()) tracker_.end_rollover();
  // A new connection subscribes every topic: in-stream books get their snapshot from it.
  for (auto& st : states_) {
    book_resynced(st);
    // Connection-sequence ids start over on every connection: a book is the old one's no longer.
    if (st.stream && book_policy_.connection_sequence) {
      st.stream->break_chain();
      st.book_generation = 0;
    }
  }
  // count: this feed's connections in this process (1 = the first since start), so a reader of the journal
  // can tell a restart (count 1: books start over) from a reconnect.
  emit_status({StatusKind::kConnected, {}, 0, 0, ++connections_, feed_.url});
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
  // The lag was of the last connection's events: not shown as current while there are none.
  counters_.lag_ms.store(0, std::memory_order_relaxed);  // relaxed: a gauge
  TW_LOG_WARN(log(), "{}: disconnected: {}", feed_.name, reason);
  emit_status({StatusKind::kDisconnected, {}, 0, 0, 0, reason});
}

void FeedPipeline::on_protocol_error(std::string_view reason) { on_rejected(0, reason); }

void FeedPipeline::on_backoff(std::chrono::milliseconds delay, std::string_view cause) {
  TW_LOG_INFO(log(), "{}: next connection attempt in {} ms ({})", feed_.name, delay.count(), cause);
}

void FeedPipeline::on_subscribed(std::uint32_t generation, std::size_t streams, bool resubscribe) {
  if (watchdog_) watchdog_->arm(middleware::TscClock::now_ticks());
  // A book that broke while the connection was still subscribing asked for a
  // resubscribe the session could not send yet (WsSession::resubscribe does
  // nothing until the subscription is acknowledged): ask again now.
  for (auto& st : states_) {
    if (st.stream && st.resubscribing && !st.stream->valid()) {
      st.resubscribing = false;
      resubscribe_book(st, "the book broke while the connection was subscribing");
    }
  }
  detail_ = fmt::format("{} {} streams on connection {}", resubscribe ? "resubscribed" : "subscribed", streams,
                        generation);
  emit_status({StatusKind::kSubscribed, {}, 0, 0, streams, detail_});
}

void FeedPipeline::on_rollover_candidate(std::uint32_t previous, std::uint32_t next) {
  (void)previous;
  // The candidate's data can arrive before its subscription completes: from
  // its first frame, what it has ahead of the old connection is held back
  // (the old one delivers it), never taken for a gap in the old one's ids.
  tracker_.begin_rollover(next);
}

void FeedPipeline::on_rollover_started(std::uint32_t previous, std::uint32_t next, std::string_view reason) {
  tracker_.begin_rollover(next);  // a no-op after on_rollover_candidate(next)
  if (book_policy_.connection_sequence) {
    // A connection-sequence book (Coinbase) lives on one connection. The new
    // one's data flows before its subscription completes, so a book may
    // already be snapshotted there: it has moved over, and nothing later can
    // prove it (its updates do not pass the tracker).
    for (std::size_t id = 0; id < states_.size(); ++id) {
      if (states_[id].book_generation == next) {
        tracker_.reset(stream_index(static_cast<middleware::SymbolId>(id), ChannelKind::kDepth));
      }
    }
  }
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
  // The old connection stays the only one: what the candidate held back, it delivers.
  if (tracker_.rolling_to(generation)) tracker_.end_rollover();
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
    names += states_[symbol].name;
    names += '/';
    names += kKindNames[channel];
  }
  const std::string why = fmt::format("no data for {} ms on {}", feed_.stale_after_ms, names);
  TW_LOG_WARN(log(), "{}: {}: reconnecting", feed_.name, why);
  if (io_.session != nullptr) io_.session->restart(why);
}

}  // namespace tickwire::connector
