#include "tickwire/connector/runner.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <chrono>
#include <optional>
#include <thread>

#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/log.hpp"
#include "tickwire/connector/simulator.hpp"
#include "tickwire/connector/status_line.hpp"
#include "tickwire/connector/ws_session.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {
namespace {

// kLimitSignal: sent to ourselves when --max-messages is reached, so the main
// thread wakes exactly as it does for Ctrl-C.
constexpr int kLimitSignal = SIGUSR2;

journal::Options journal_options(const config::Config& cfg) {
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
  return o;
}

// start_simulator: one embedded simulator serving every sim:// feed; rewrites
// their URLs to its loopback address.
absl::StatusOr<std::unique_ptr<Simulator>> start_simulator(const config::Config& cfg,
                                                           std::vector<config::FeedConfig>& feeds) {
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
  for (auto& f : feeds) {
    if (f.url == "sim://") f.url = fmt::format("ws://127.0.0.1:{}/stream", *port);
  }
  TW_LOG_INFO(log(), "embedded simulator on 127.0.0.1:{} ({} symbols, {:g} msg/s, seed {})", *port, so.symbols.size(),
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

}  // namespace

absl::Status run_connector(const config::Config& cfg, const RunOptions& options) {
  SignalMask signals;
  middleware::TscClock::global();  // calibrate before any thread stamps

  auto journal = journal::Journal::open(journal_options(cfg));
  if (!journal.ok()) return journal.status();
  Sequencer sequencer((*journal)->next_seq());
  TW_LOG_INFO(log(), "journal {}: next sequence {}", cfg.journal.dir, sequencer.peek());

  std::vector<config::FeedConfig> feeds = cfg.feeds;
  auto sim = start_simulator(cfg, feeds);
  if (!sim.ok()) return sim.status();

  middleware::InProcessTransport transport;
  boost::asio::io_context io(1);
  PipelineCounters counters;
  middleware::Profiler profiler;
  std::vector<std::unique_ptr<FeedPipeline>> pipelines;
  std::vector<std::unique_ptr<WsSession>> sessions;
  for (const auto& feed : feeds) {
    auto url = parse_ws_url(feed.url);
    if (!url.ok()) return absl::InvalidArgumentError(fmt::format("feed '{}': {}", feed.name, middleware::status_text(url.status())));
    url->target = with_streams(url->target, feed.symbols, feed.channels);
    auto& pipeline = *pipelines.emplace_back(
        std::make_unique<FeedPipeline>(feed, cfg.env, sequencer, transport, **journal, counters, profiler));
    pipeline.set_limit(options.max_messages, [] { ::kill(::getpid(), kLimitSignal); });
    SessionOptions so;
    so.url = *url;
    so.ca_file = feed.ca_file;
    so.verify_tls = feed.verify_tls;
    so.max_frame_bytes = feed.max_frame_bytes;
    sessions.push_back(std::make_unique<WsSession>(io, so, pipeline));
    sessions.back()->start();
  }
  std::thread feed_thread([&io] {
    pthread_setname_np(pthread_self(), "tw-feed");
    io.run();
  });

  StatusLine status(options.status_line);
  const auto interval = std::chrono::milliseconds(cfg.status.interval_ms);
  int sig = 0;
  for (;;) {
    sig = signals.wait(interval);
    if (sig == 0) {
      status.print(counters, **journal);
    } else if (sig == SIGUSR1) {
      print_profile(profiler);
    } else {
      break;
    }
  }
  TW_LOG_INFO(log(), "{}: shutting down", sig == kLimitSignal ? "message limit reached" : strsignal(sig));

  for (auto& s : sessions) s->stop();
  feed_thread.join();
  if (*sim) (*sim)->stop();
  absl::Status closed = (*journal)->close();
  status.print(counters, **journal);
  status.finish();
  print_profile(profiler);
  if (!options.hgrm_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.hgrm_dir, ec);
    if (absl::Status written = profiler.write_hgrm(options.hgrm_dir); !written.ok()) {
      TW_LOG_ERROR(log(), "profile: {}", middleware::status_text(written));
    }
  }
  return closed;
}

}  // namespace tickwire::connector
