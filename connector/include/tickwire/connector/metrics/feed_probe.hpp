// FeedProbe: a SessionHandler placed between a feed's WsSession and its
// FeedPipeline. It forwards every call unchanged and keeps, in relaxed
// atomics that only the feed thread writes, what the metrics endpoint and
// /readyz report per feed: connected, subscribed, connects, disconnects,
// data frames, bytes, the last frame's TSC reading, and (sampled on the feed
// thread about once a second) which configured books are synced. Its cost on
// the hot path is three relaxed load+store pairs per frame; state() reads
// them from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/metrics/snapshot.hpp"
#include "tickwire/connector/ws_session.hpp"

namespace tickwire::connector::metrics {

class FeedProbe final : public SessionHandler {
 public:
  // FeedProbe: forwards to `next`. `subscribe_by_message`: the session sends
  // SUBSCRIBE messages (subscribed once on_subscribed), else the streams are
  // in the URL (subscribed once connected). `book_symbols`: the symbols whose
  // books /readyz waits for (empty without the depth channel).
  FeedProbe(std::string feed, SessionHandler& next, bool subscribe_by_message,
            std::vector<std::string> book_symbols);

  // StreamRef: one configured stream (symbol x channel) and where the
  // pipeline keeps its last message time.
  struct StreamRef {
    std::string symbol, channel;  // as configured
    std::size_t symbol_index = 0;
    ChannelKind kind = ChannelKind::kTrade;
  };
  // set_streams: the streams whose last-message age is reported; before the feed thread starts.
  void set_streams(std::vector<StreamRef> streams);
  // sample_books: records which books of `pipeline` are synced, and each
  // stream's last message time (feed thread, about once a second).
  void sample_books(const FeedPipeline& pipeline);
  // state: a copy of the figures (any thread).
  FeedSnapshot state() const;

  void on_connected() override;
  void on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks, std::uint32_t generation) override;
  void on_disconnected(std::string_view reason) override;
  void on_protocol_error(std::string_view reason) override;
  void on_backoff(std::chrono::milliseconds delay, std::string_view cause) override;
  void on_subscribe_sent(std::uint32_t generation, std::size_t streams, bool resubscribe) override;
  void on_subscribed(std::uint32_t generation, std::size_t streams, bool resubscribe) override;
  void on_rollover_candidate(std::uint32_t previous, std::uint32_t next) override;
  void on_rollover_started(std::uint32_t previous, std::uint32_t next, std::string_view reason) override;
  void on_rollover_finished(std::uint32_t previous, std::uint32_t current, bool overlapped) override;
  void on_rollover_failed(std::uint32_t generation, std::string_view reason) override;

 private:
  // bump: single-writer increment (feed thread): a load and a store, no RMW.
  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
    // relaxed: an independent statistic, read by state() with no ordering.
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  void count_frame(std::size_t size, std::uint64_t rx_ticks) noexcept;

  const std::string feed_;
  SessionHandler& next_;
  const bool subscribe_by_message_;
  const std::vector<std::string> book_symbols_;
  // All relaxed, written on the feed thread only: independent figures.
  std::atomic<bool> connected_{false};
  std::atomic<bool> subscribed_{false};
  std::atomic<std::uint64_t> connects_{0}, disconnects_{0}, frames_{0}, bytes_{0};
  std::atomic<std::uint64_t> last_rx_ticks_{0};  // 0: no frame yet
  std::unique_ptr<std::atomic<bool>[]> synced_;  // by index in book_symbols_
  std::vector<StreamRef> streams_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> stream_ticks_;  // by index in streams_ (0: no watchdog)
};

// Liveness: when the feed thread and the scheduler last ran their liveness
// task (CLOCK_MONOTONIC ns). Each is written by its own thread, read by the
// HTTP thread; relaxed: a timestamp, no data hangs on it.
class Liveness {
 public:
  void mark_feed_thread() noexcept;
  void mark_scheduler() noexcept;
  // ages in seconds (-1: never marked).
  double feed_thread_age_s() const noexcept;
  double scheduler_age_s() const noexcept;

 private:
  std::atomic<std::uint64_t> feed_ns_{0};
  std::atomic<std::uint64_t> scheduler_ns_{0};
};

}  // namespace tickwire::connector::metrics
