#include "tickwire/connector/metrics/feed_probe.hpp"

#include <time.h>

#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector::metrics {
namespace {

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

double age_s(std::uint64_t then_ns) noexcept {
  if (then_ns == 0) return -1;
  const std::uint64_t now = monotonic_ns();
  return now > then_ns ? static_cast<double>(now - then_ns) / 1e9 : 0.0;
}

}  // namespace

FeedProbe::FeedProbe(std::string feed, SessionHandler& next, bool subscribe_by_message,
                     std::vector<std::string> book_symbols)
    : feed_(std::move(feed)),
      next_(next),
      subscribe_by_message_(subscribe_by_message),
      book_symbols_(std::move(book_symbols)),
      synced_(std::make_unique<std::atomic<bool>[]>(book_symbols_.size())) {}

void FeedProbe::set_streams(std::vector<StreamRef> streams) {
  streams_ = std::move(streams);
  stream_ticks_ = std::make_unique<std::atomic<std::uint64_t>[]>(streams_.size());
}

void FeedProbe::sample_books(const FeedPipeline& pipeline) {
  for (std::size_t i = 0; i < book_symbols_.size(); ++i) {
    // relaxed: a sampled state, read by state() with no ordering.
    synced_[i].store(pipeline.book(book_symbols_[i]) != nullptr, std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    // relaxed: as above.
    stream_ticks_[i].store(pipeline.stream_last_ticks(streams_[i].symbol_index, streams_[i].kind),
                           std::memory_order_relaxed);
  }
}

FeedSnapshot FeedProbe::state() const {
  FeedSnapshot s;
  s.feed = feed_;
  // relaxed loads throughout: independent figures (see the members).
  s.connected = connected_.load(std::memory_order_relaxed);
  s.subscribed = subscribed_.load(std::memory_order_relaxed);
  s.connects = connects_.load(std::memory_order_relaxed);
  s.disconnects = disconnects_.load(std::memory_order_relaxed);
  s.frames = frames_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  // seconds_since: the age of a TSC reading, now.
  const auto& clock = middleware::TscClock::global();
  const std::uint64_t now = clock.now_mono_ns();
  const auto seconds_since = [&](std::uint64_t ticks) {
    const std::uint64_t then = clock.to_mono_ns(ticks);
    return now > then ? static_cast<double>(now - then) / 1e9 : 0.0;
  };
  const std::uint64_t rx = last_rx_ticks_.load(std::memory_order_relaxed);
  if (rx != 0) s.last_frame_age_s = seconds_since(rx);
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const std::uint64_t ticks = stream_ticks_[i].load(std::memory_order_relaxed);  // relaxed: see sample_books
    if (ticks != 0) s.streams.push_back({streams_[i].symbol, streams_[i].channel, seconds_since(ticks)});
  }
  s.books.reserve(book_symbols_.size());
  for (std::size_t i = 0; i < book_symbols_.size(); ++i) {
    s.books.push_back({book_symbols_[i], synced_[i].load(std::memory_order_relaxed)});
  }
  return s;
}

void FeedProbe::count_frame(std::size_t size, std::uint64_t rx_ticks) noexcept {
  bump(frames_);
  bump(bytes_, size);
  // relaxed: a timestamp for the age gauge; see state().
  last_rx_ticks_.store(rx_ticks != 0 ? rx_ticks : 1, std::memory_order_relaxed);
}

void FeedProbe::on_connected() {
  bump(connects_);
  connected_.store(true, std::memory_order_relaxed);  // relaxed: see the members
  if (!subscribe_by_message_) subscribed_.store(true, std::memory_order_relaxed);
  next_.on_connected();
}

void FeedProbe::on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks, std::uint32_t generation) {
  count_frame(size, rx_ticks);
  next_.on_frame(data, size, rx_ticks, generation);
}

void FeedProbe::on_protocol_error(std::string_view reason) { next_.on_protocol_error(reason); }

void FeedProbe::on_disconnected(std::string_view reason) {
  bump(disconnects_);
  connected_.store(false, std::memory_order_relaxed);  // relaxed: see the members
  subscribed_.store(false, std::memory_order_relaxed);
  next_.on_disconnected(reason);
}

void FeedProbe::on_backoff(std::chrono::milliseconds delay, std::string_view cause) {
  next_.on_backoff(delay, cause);
}

void FeedProbe::on_subscribe_sent(std::uint32_t generation, std::size_t streams, bool resubscribe) {
  next_.on_subscribe_sent(generation, streams, resubscribe);
}

void FeedProbe::on_subscribed(std::uint32_t generation, std::size_t streams, bool resubscribe) {
  subscribed_.store(true, std::memory_order_relaxed);  // relaxed: see the members
  next_.on_subscribed(generation, streams, resubscribe);
}

void FeedProbe::on_rollover_candidate(std::uint32_t previous, std::uint32_t next) {
  next_.on_rollover_candidate(previous, next);
}

void FeedProbe::on_rollover_started(std::uint32_t previous, std::uint32_t next, std::string_view reason) {
  next_.on_rollover_started(previous, next, reason);
}

void FeedProbe::on_rollover_finished(std::uint32_t previous, std::uint32_t current, bool overlapped) {
  next_.on_rollover_finished(previous, current, overlapped);
}

void FeedProbe::on_rollover_failed(std::uint32_t generation, std::string_view reason) {
  next_.on_rollover_failed(generation, reason);
}

// relaxed stores and loads: timestamps only (see the class comment).
void Liveness::mark_feed_thread() noexcept { feed_ns_.store(monotonic_ns(), std::memory_order_relaxed); }
void Liveness::mark_scheduler() noexcept { scheduler_ns_.store(monotonic_ns(), std::memory_order_relaxed); }
double Liveness::feed_thread_age_s() const noexcept { return age_s(feed_ns_.load(std::memory_order_relaxed)); }
double Liveness::scheduler_age_s() const noexcept { return age_s(scheduler_ns_.load(std::memory_order_relaxed)); }

}  // namespace tickwire::connector::metrics
