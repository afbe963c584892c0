#include "tickwire/connector/feed_pipeline.hpp"

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
  trade_subjects_.reserve(feed_.symbols.size());
}

void FeedPipeline::set_limit(std::uint64_t max_messages, std::function<void()> on_limit) {
  limit_ = max_messages;
  on_limit_ = std::move(on_limit);
}

Stamp FeedPipeline::stamp(std::uint64_t ticks) {
  const auto& clock = middleware::TscClock::global();
  return Stamp{sequencer_.next(), clock.to_mono_ns(ticks), clock.to_wall_ns(ticks)};
}

const std::string& FeedPipeline::trade_subject(middleware::SymbolId id) {
  while (trade_subjects_.size() <= id) {
    const auto next = static_cast<middleware::SymbolId>(trade_subjects_.size());
    trade_subjects_.push_back(middleware::make_subject(env_, feed_.name, "trade", symbols_.name(next)));
    counters_.symbols.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  }
  return trade_subjects_[id];
}

void FeedPipeline::emit(const Stamp& s, std::string_view subject, std::span<const std::byte> bytes,
                        std::uint64_t t_encoded) {
  if (bytes.empty()) {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    TW_LOG_ERROR(log(), "{}: seq {}: envelope did not fit the encoder's buffer; dropped", feed_.name, s.sequence);
    return;
  }
  transport_.publish(subject, bytes);
  const std::uint64_t t_published = middleware::TscClock::now_ticks();
  profiler_.record(stages_.publish, ticks_between(t_encoded, t_published));
  if (!journal_.append(s.sequence, s.mono_ns, kEnvelopeRecordType, bytes)) {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  }
  profiler_.record(stages_.ring_write, ticks_between(t_published, middleware::TscClock::now_ticks()));
}

void FeedPipeline::on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks) {
  // relaxed: the counter is only written on this (the feed) thread.
  if (limit_ != 0 && counters_.messages.load(std::memory_order_relaxed) >= limit_) return;
  // Stage boundaries are chained TSC readings: one read per boundary.
  const std::uint64_t t_start = middleware::TscClock::now_ticks();
  feeds::ParsedMessage msg = parser_.parse(data, size);
  const std::uint64_t t_parsed = middleware::TscClock::now_ticks();
  profiler_.record(stages_.parse, ticks_between(t_start, t_parsed));
  switch (msg.kind) {
    case feeds::MessageKind::kTrade: {
      const middleware::SymbolId id = symbols_.intern(msg.trade.symbol);
      const std::string& subject = trade_subject(id);
      // The symbol text in the Envelope comes from the interner, not the frame.
      msg.trade.symbol = symbols_.name(id);
      const Stamp s = stamp(rx_ticks);
      const auto bytes = encoder_.encode_trade(s, feed_.name, msg.trade);
      const std::uint64_t t_encoded = middleware::TscClock::now_ticks();
      profiler_.record(stages_.encode, ticks_between(t_parsed, t_encoded));
      emit(s, subject, bytes, t_encoded);
      ++events_;
      // relaxed: a statistic (and the limit check above, on this same thread).
      const auto done = counters_.messages.fetch_add(1, std::memory_order_relaxed) + 1;
      if (limit_ != 0 && done == limit_ && on_limit_) on_limit_();
      return;
    }
    case feeds::MessageKind::kControl:
    case feeds::MessageKind::kIgnored:
      counters_.ignored.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return;
    case feeds::MessageKind::kError: {
      const auto n = counters_.rejected.fetch_add(1, std::memory_order_relaxed) + 1;  // relaxed: a statistic
      if (n <= kRejectLogFirst || n % kRejectLogEvery == 0) {
        TW_LOG_WARN(log(), "{}: rejected frame #{} ({} bytes): {}", feed_.name, n, size, parser_.error());
      }
      emit_status({StatusKind::kRejected, {}, 0, 0, 1, parser_.error()});
      return;
    }
  }
}

void FeedPipeline::emit_status(const StatusEvent& status) {
  const Stamp s = stamp(middleware::TscClock::now_ticks());
  const auto bytes = encoder_.encode_status(s, feed_.name, status);
  emit(s, status_subject_, bytes, middleware::TscClock::now_ticks());
}

void FeedPipeline::heartbeat() { emit_status({StatusKind::kHeartbeat, {}, 0, 0, events_, {}}); }

void FeedPipeline::on_connected() {
  counters_.connects.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  TW_LOG_INFO(log(), "{}: connected to {}", feed_.name, feed_.url);
  emit_status({StatusKind::kConnected, {}, 0, 0, 0, feed_.url});
}

void FeedPipeline::on_disconnected(std::string_view reason) {
  counters_.disconnects.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  TW_LOG_WARN(log(), "{}: disconnected: {}", feed_.name, reason);
  emit_status({StatusKind::kDisconnected, {}, 0, 0, 0, reason});
}

}  // namespace tickwire::connector
