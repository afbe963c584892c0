#include "tickwire/connector/runner.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/log.hpp"
#include "tickwire/connector/rate_limit.hpp"
#include "tickwire/connector/rest_client.hpp"
#include "tickwire/connector/simulator.hpp"
#include "tickwire/connector/status_line.hpp"
#include "tickwire/connector/ws_session.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/pool_allocator.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/scheduler.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/middleware/thread_pool.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {
namespace {

// kLimitSignal: sent to ourselves when --max-messages is reached, so the main
// thread wakes exactly as it does for Ctrl-C.
constexpr int kLimitSignal = SIGUSR2;


journal::Options journal_options(const config::Config& cfg, middleware::Profiler& profiler) {
  const auto cal = middleware::TscClock::global().calibration();
  journal::Options o;
  o.dir = cfg.journal.dir;
  for (const auto& f : cfg.feeds) o.feed += (o.feed.empty() ? "" : ",") + f.name;
  o.clock = {cal.tsc_anchor, cal.mono_anchor_ns, cal.wall_anchor_ns, cal.ns_per_tick};
  o.ring_bytes = cfg.journal.ring_bytes;
  o.segment_bytes = cfg.journal.segment_bytes;
  o.roll_daily_utc = cfg.journal.roll_daily_utc;
  o.fsync = static_cast<journal::FsyncPolicy>(cfg.journal.fsync);
  o.fsync_interval = std::chrono::milliseconds(cfg.journal.fsync_interval_ms);
  o.full_policy = static_cast<journal::FullPolicy>(cfg.journal.full_policy);
  o.batch_records = cfg.journal.batch_records;
  o.batch_time = std::chrono::microseconds(cfg.journal.batch_us);
  o.flusher_cores = cfg.threads.flusher_cores;
  o.flusher_affinity_required = cfg.threads.affinity_required;
  o.profiler = &profiler;
  return o;
}

// start_simulator: one embedded simulator serving every sim:// feed; rewrites
// their URLs to its loopback address.
absl::StatusOr<std::unique_ptr<Simulator>> start_simulator(const config::Config& cfg,
                                                           std::vector<config::FeedConfig>& feeds,
                                                           std::uint16_t& port_out) {
  SimulatorOptions so;
  so.rate = cfg.simulator.rate;
  so.seed = cfg.simulator.seed;
  so.count = cfg.simulator.count;
  for (const auto& f : feeds) {
    if (f.url != "sim://") continue;
    for (const auto& s : f.symbols) {
      if (std::find(so.symbols.begin(), so.symbols.end(), s) == so.symbols.end()) so.symbols.push_back(s);
    }
  }
  if (so.symbols.empty()) return std::unique_ptr<Simulator>();
  auto sim = std::make_unique<Simulator>(so);
  auto port = sim->start();
  if (!port.ok()) return port.status();
  port_out = *port;
  for (auto& f : feeds) {
    if (f.url == "sim://") f.url = fmt::format("ws://127.0.0.1:{}/stream", *port);
  }
  TW_LOG_INFO(log(), "embedded simulator on 127.0.0.1:{} ({} symbols, {:g} orders/s, seed {})", *port, so.symbols.size(),
               so.rate, so.seed);
  return sim;
}

// SignalMask: blocks the shutdown signals in this thread (and every thread
// started after it), restoring the old mask on destruction.
class SignalMask {
 public:
  SignalMask() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGUSR1, kLimitSignal}) sigaddset(&set_, s);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SignalMask() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  // wait: the signal received, or 0 after `timeout`.
  int wait(std::chrono::milliseconds timeout) const {
    timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1'000'000};
    const int sig = sigtimedwait(&set_, nullptr, &ts);
    return sig > 0 ? sig : 0;
  }

 private:
  sigset_t set_{};
  sigset_t old_{};
};

void print_profile(const middleware::Profiler& profiler) {
  const std::string table = profiler.report().format_text();
  std::fprintf(stderr, "%s", table.c_str());
}

// Connector: the running connector's parts, in start order.
class Connector {
 public:
  Connector(const config::Config& cfg, const RunOptions& options) : cfg_(cfg), options_(options) {}

  absl::Status start() {
    auto journal = journal::Journal::open(journal_options(cfg_, profiler_));
    if (!journal.ok()) return journal.status();
    journal_ = std::move(*journal);
    sequencer_ = std::make_unique<Sequencer>(journal_->next_seq());
    TW_LOG_INFO(log(), "journal {}: next sequence {}", cfg_.journal.dir, sequencer_->peek());
    // What recovery did on open (docs/journal-format.md, "Recovery"): said, not silent.
    const journal::RecoveryReport& recovered = journal_->recovery();
    if (recovered.truncated_bytes > 0) {
      TW_LOG_WARN(log(), "journal {}: cut a torn tail of {} bytes", cfg_.journal.dir, recovered.truncated_bytes);
    }
    for (const auto& l : recovered.new_losses) TW_LOG_WARN(log(), "journal {}: loss recorded: {}", cfg_.journal.dir, l.what);
    for (const auto& n : recovered.notes) TW_LOG_WARN(log(), "journal {}: {}", cfg_.journal.dir, n);
    feeds_ = cfg_.feeds;
    auto sim = start_simulator(cfg_, feeds_, sim_port_);
    if (!sim.ok()) return sim.status();
    sim_ = std::move(*sim);
    if (auto s = start_feeds(); !s.ok()) return s;
    return start_scheduler();
  }

  // run_until_signal: returns the signal that ends the run; SIGUSR1 prints
  // the profile and goes on.
  int run_until_signal(const SignalMask& signals) {
    for (;;) {
      const int sig = signals.wait(std::chrono::seconds(1));
      if (sig == SIGUSR1) {
        print_profile(profiler_);
      } else if (sig != 0) {
        return sig;
      }
    }
  }

  absl::Status stop() {
    scheduler_.shutdown(middleware::ShutdownPolicy::kCancelQueued);
    // Timers and snapshot requests end on the feed thread, which owns them.
    boost::asio::post(io_, [this] {
      for (auto& p : pipelines_) p->stop();
      for (auto& r : rests_) r->close();
    });
    for (auto& s : sessions_) s->stop();
    threads_.join();
    if (sim_) sim_->stop();
    absl::Status closed = journal_ ? journal_->close() : absl::OkStatus();
    if (journal_) {
      status_.print(counters_, *journal_);
      status_.finish();
    }
    print_profile(profiler_);
    write_hgrm();
    if (const auto fallbacks = frame_buffers_.fallbacks.load(std::memory_order_relaxed); fallbacks != 0) {
      TW_LOG_WARN(log(), "{} frame buffers were larger than the pool's largest class (64 KiB)", fallbacks);
    }
    return closed;
  }

 private:
  absl::Status start_feeds() {
    const PipelineContext context{*sequencer_, transport_, *journal_, counters_, profiler_, buffers_};
    // One limit for the process (Binance counts attempts per IP): the strictest feed's.
    std::uint32_t attempts = feeds_.front().max_connects_per_5min;
    for (const auto& feed : feeds_) attempts = std::min(attempts, feed.max_connects_per_5min);
    attempt_limiter_ = std::make_shared<SlidingWindowLimiter>("connection attempts", attempts, std::chrono::minutes(5));
    for (const auto& feed : feeds_) {
      auto url = parse_ws_url(feed.url);
      if (!url.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("feed '{}': {}", feed.name, middleware::status_text(url.status())));
      }
      SessionOptions so;
      if (feed.subscribe == "message") {
        // Connect to the bare combined endpoint and SUBSCRIBE each stream.
        for (const auto& symbol : feed.symbols) {
          for (const auto& channel : feed.channels) so.subscribe.push_back(stream_name(symbol, channel));
        }
      } else {
        url->target = with_streams(url->target, feed.symbols, feed.channels);
      }
      if (feed.time_unit == "us") url->target = with_query_param(url->target, "timeUnit=MICROSECOND");
      auto& pipeline = *pipelines_.emplace_back(std::make_unique<FeedPipeline>(feed, cfg_.env, context));
      if (auto s = pipeline.ok(); !s.ok()) return s;
      pipeline.set_limit(options_.max_messages, [] { ::kill(::getpid(), kLimitSignal); });
      so.url = *url;
      so.ca_file = feed.ca_file;
      so.verify_tls = feed.verify_tls;
      so.max_frame_bytes = feed.max_frame_bytes;
      so.backoff_initial = std::chrono::milliseconds(feed.backoff_initial_ms);
      so.backoff_max = std::chrono::milliseconds(feed.backoff_max_ms);
      so.attempt_limiter = attempt_limiter_;
      if (feed.ping_interval_ms != 0) {
        // The session pings after half its idle timeout of silence.
        so.idle_timeout = std::chrono::milliseconds(std::min<std::uint64_t>(
            2ull * feed.ping_interval_ms, feed.pong_timeout_ms));
      } else {
        so.idle_timeout = std::chrono::milliseconds(feed.pong_timeout_ms);
      }
      so.max_lifetime = std::chrono::seconds(feed.max_lifetime_s);
      so.rollover_overlap_timeout = std::chrono::milliseconds(feed.rollover_overlap_ms);
      if (feed.verify_tls == false) {
        TW_LOG_WARN(log(), "feed '{}': TLS certificate verification is OFF (verify_tls = false): the "
                    "connection is not authenticated", feed.name);
      }
      RestOptions ro;
      ro.ca_file = feed.ca_file;
      ro.verify_tls = feed.verify_tls;
      ro.weight_limiter = rest_weight_;
      auto& rest = *rests_.emplace_back(std::make_unique<RestClient>(io_, ro));
      auto& session = *sessions_.emplace_back(std::make_unique<WsSession>(io_, so, pipeline, frame_buffers_));
      pipeline.attach({&io_, &session, &rest, rest_base(feed)});
      session.start();
    }
    middleware::ThreadOptions placement;
    placement.cores = cores(cfg_.threads.feed_cores);
    placement.on_affinity_failure = on_failure();
    placement.realtime_priority = static_cast<int>(cfg_.threads.realtime_priority);
    auto started = threads_.start_thread("tw-feed", placement, [this] {
      profiler_.register_thread();
      io_.run();
    });
    report_thread_warnings(threads_.warnings());
    return started;
  }

  // rest_base: where a feed's book snapshots come from.
  std::string rest_base(const config::FeedConfig& feed) const {
    if (!feed.rest_url.empty()) return feed.rest_url;
    if (sim_port_ != 0 && feed.url == fmt::format("ws://127.0.0.1:{}/stream", sim_port_)) {
      return fmt::format("http://127.0.0.1:{}", sim_port_);
    }
    return "https://api.binance.com";
  }

  // start_scheduler: the background work: status line, heartbeats, clock re-sync.
  absl::Status start_scheduler() {
    if (auto s = scheduler_.start(); !s.ok()) return s;
    report_thread_warnings(scheduler_.thread_warnings());
    const auto every = [this](std::chrono::milliseconds period, std::string name, std::function<void()> task) {
      auto id = scheduler_.every(period, std::move(name), std::move(task));
      return id.ok() ? absl::OkStatus() : id.status();
    };
    if (auto s = every(std::chrono::milliseconds(cfg_.status.interval_ms), "status",
                       [this] { status_.print(counters_, *journal_); });
        !s.ok()) {
      return s;
    }
    if (cfg_.status.heartbeat_ms != 0) {
      // Heartbeats are journaled, so they run on the feed thread (the ring's one producer).
      auto s = every(std::chrono::milliseconds(cfg_.status.heartbeat_ms), "heartbeat", [this] {
        boost::asio::post(io_, [this] {
          for (auto& p : pipelines_) p->heartbeat();
        });
      });
      if (!s.ok()) return s;
    }
    return every(std::chrono::minutes(1), "clock-resync", [] { middleware::TscClock::global().resync(); });
  }

  middleware::CpuSet cores(const std::vector<int>& list) const {
    return list.empty() ? middleware::CpuSet::any() : middleware::CpuSet::of(list);
  }
  middleware::OnFailure on_failure() const {
    return cfg_.threads.affinity_required ? middleware::OnFailure::kError : middleware::OnFailure::kWarn;
  }
  middleware::SchedulerOptions scheduler_options() const {
    middleware::SchedulerOptions so;
    so.name = "tw-sched";
    so.workers = cfg_.threads.scheduler_workers;
    so.cores = cores(cfg_.threads.scheduler_cores);
    so.on_affinity_failure = on_failure();
    return so;
  }
  static void report_thread_warnings(const std::vector<std::string>& warnings) {
    for (const auto& w : warnings) TW_LOG_WARN(log(), "threads: {}", w);
  }
  void write_hgrm() const {
    if (options_.hgrm_dir.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(options_.hgrm_dir, ec);
    if (absl::Status written = profiler_.write_hgrm(options_.hgrm_dir); !written.ok()) {
      TW_LOG_ERROR(log(), "profile: {}", middleware::status_text(written));
    }
  }

  const config::Config& cfg_;
  const RunOptions& options_;
  middleware::Profiler profiler_;
  middleware::BufferPool buffers_;
  middleware::PoolAllocatorState frame_buffers_{buffers_};
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Sequencer> sequencer_;
  std::vector<config::FeedConfig> feeds_;
  std::unique_ptr<Simulator> sim_;
  middleware::InProcessTransport transport_;
  boost::asio::io_context io_{1};
  PipelineCounters counters_;
  std::vector<std::unique_ptr<FeedPipeline>> pipelines_;
  std::vector<std::unique_ptr<RestClient>> rests_;
  std::vector<std::unique_ptr<WsSession>> sessions_;
  std::shared_ptr<SlidingWindowLimiter> attempt_limiter_;
  std::shared_ptr<SlidingWindowLimiter> rest_weight_ = SlidingWindowLimiter::binance_rest_weight();
  std::uint16_t sim_port_ = 0;
  middleware::ThreadPool threads_;
  StatusLine status_{options_.status_line};
  middleware::Scheduler scheduler_{scheduler_options()};
};

}  // namespace

absl::Status run_connector(const config::Config& cfg, const RunOptions& options) {
  SignalMask signals;
  middleware::TscClock::global();  // calibrate before any thread stamps
  Connector connector(cfg, options);
  absl::Status started = connector.start();
  if (!started.ok()) {
    (void)connector.stop();
    return started;
  }
  const int sig = connector.run_until_signal(signals);
  TW_LOG_INFO(log(), "{}: shutting down", sig == kLimitSignal ? "message limit reached" : strsignal(sig));
  return connector.stop();
}

}  // namespace tickwire::connector
