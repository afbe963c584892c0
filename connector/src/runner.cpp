#include "tickwire/connector/runner.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>

#include "inproc_probe.hpp"
#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/journal_volume.hpp"
#include "tickwire/connector/log.hpp"
#include "tickwire/connector/metrics/endpoint.hpp"
#include "tickwire/connector/publish_targets.hpp"
#include "tickwire/connector/rate_limit.hpp"
#include "tickwire/connector/rest_client.hpp"
#include "tickwire/connector/simulator.hpp"
#include "tickwire/connector/status_line.hpp"
#include "tickwire/connector/venue.hpp"
#include "tickwire/connector/ws_session.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
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
// kIdle: what run_until_signal returns when --exit-when-idle is met (no signal has this number).
constexpr int kIdle = -1;
// kRestShutdownGrace: how long a snapshot request in flight at shutdown may
// take before it is cancelled.
constexpr std::chrono::milliseconds kRestShutdownGrace{500};
// kFeedStopDeadline: how long stop() waits for the feed thread to run out of
// work (every websocket close handshake times out after the session's
// connect_timeout, 10 s by default) before it stops the thread's io_context,
// abandoning what is still pending. Rarely, during a rollover under heavy
// load, a connection never ended and the shutdown hung; the records already
// journaled are unaffected either way.
constexpr std::chrono::seconds kFeedStopDeadline{20};


// ShutdownWatch: while stop() runs, names the step it waits on every
// kShutdownReport, so a shutdown that hangs (a peer that never answers the
// close handshake, a thread that never joins) says where in the log instead
// of going quiet until the supervisor's SIGKILL.
constexpr std::chrono::seconds kShutdownReport{5};

class ShutdownWatch {
 public:
  ShutdownWatch() : started_(std::chrono::steady_clock::now()), thread_([this] { watch(); }) {}
  ~ShutdownWatch() {
    {
      const std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  ShutdownWatch(const ShutdownWatch&) = delete;
  ShutdownWatch& operator=(const ShutdownWatch&) = delete;

  // step: what stop() waits on from now on (a literal: it outlives the watch).
  void step(std::string_view what) {
    const std::lock_guard lock(mu_);
    step_ = what;
  }

 private:
  void watch() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, kShutdownReport, [this] { return done_; })) {
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
      TW_LOG_WARN(log(), "shutdown: still {} after {} s", step_, waited.count());
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;                  // guarded by mu_
  std::string_view step_ = "starting";  // guarded by mu_
  const std::chrono::steady_clock::time_point started_;
  std::thread thread_;  // last: started once the members above exist
};

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
  // On the flusher's thread, once per change: a full disk is logged when it starts, not at exit.
  o.on_storage_event = [dir = cfg.journal.dir, policy = cfg.journal.full_policy](const absl::Status& s) {
    if (s.ok()) {
      TW_LOG_INFO(log(), "journal {}: storage works again; the flusher resumed", dir);
    } else {
      TW_LOG_ERROR(log(), "journal {}: storage error: {} (a full disk is retried; {})", dir,
                   middleware::status_text(s),
                   policy == config::FullPolicy::kBlock ? "full_policy block: the feed waits meanwhile"
                                                        : "full_policy drop: records are dropped meanwhile");
    }
  };
  return o;
}

// EmbeddedSimulator: one simulator serving the sim:// feeds of one venue,
// in that venue's dialect.
struct EmbeddedSimulator {
  std::string venue;
  std::uint16_t port = 0;
  std::unique_ptr<Simulator> sim;
};

// start_simulators: one embedded simulator per distinct venue among the
// sim:// feeds; rewrites their URLs to its loopback address.
// sim_venue: the simulator dialect a sim:// feed needs ("bybit-linear" for a
// linear bybit feed, else the exchange's name).
std::string sim_venue(const config::FeedConfig& f) {
  return f.exchange == "bybit" && f.category == "linear" ? "bybit-linear" : f.exchange;
}

absl::StatusOr<std::vector<EmbeddedSimulator>> start_simulators(const config::Config& cfg,
                                                                std::vector<config::FeedConfig>& feeds) {
  std::vector<EmbeddedSimulator> sims;
  for (const auto& f : feeds) {
    if (f.url != "sim://") continue;
    if (std::none_of(sims.begin(), sims.end(), [&](const EmbeddedSimulator& e) { return e.venue == sim_venue(f); })) {
      sims.push_back({sim_venue(f), 0, nullptr});
    }
  }
  for (auto& e : sims) {
    SimulatorOptions so;
    so.venue = e.venue;
    // USD-M allows 10 incoming messages a second per connection, spot 5.
    if (e.venue == "binance-usdm") so.max_incoming_per_s = 10;
    // Bybit states no per-connection message rate for public streams.
    if (e.venue.starts_with("bybit")) so.max_incoming_per_s = 0;
    // OKX limits subscriptions per hour, not messages per second; Kraken's rate
    // limit is dynamic (answered by "Exceeded msg rate"), not a number to enforce here.
    if (e.venue == "okx" || e.venue == "kraken") so.max_incoming_per_s = 0;
    // Coinbase: 8 unauthenticated messages a second.
    if (e.venue == "coinbase") so.max_incoming_per_s = 8;
    so.rate = cfg.simulator.rate;
    so.seed = cfg.simulator.seed;
    so.count = cfg.simulator.count;
    so.replay_path = cfg.simulator.replay;
    so.logger = &log();
    for (const auto& f : feeds) {
      if (f.url != "sim://" || sim_venue(f) != e.venue) continue;
      for (const auto& s : f.symbols) {
        if (std::find(so.symbols.begin(), so.symbols.end(), s) == so.symbols.end()) so.symbols.push_back(s);
      }
    }
    e.sim = std::make_unique<Simulator>(so);
    auto port = e.sim->start();
    if (!port.ok()) return port.status();
    e.port = *port;
    if (!so.replay_path.empty()) {
      TW_LOG_INFO(log(), "embedded {} simulator on 127.0.0.1:{} replaying {}", e.venue, *port, so.replay_path);
      continue;
    }
    TW_LOG_INFO(log(), "embedded {} simulator on 127.0.0.1:{} ({} symbols, {:g} orders/s, seed {})", e.venue,
                *port, so.symbols.size(), so.rate, so.seed);
  }
  for (auto& f : feeds) {
    if (f.url != "sim://") continue;
    for (const auto& e : sims) {
      if (e.venue == sim_venue(f)) f.url = fmt::format("ws://127.0.0.1:{}/stream", e.port);
    }
  }
  return sims;
}

// split_connections: the feeds as the connections they open. A feed whose
// venue carries fewer symbols per connection than the feed lists
// (VenueAdapter::symbols_per_connection) becomes one feed per that many
// symbols, in the configured order, named <name>, <name>-2, <name>-3...: each
// has its own session, pipeline, status records and metrics labels.
absl::StatusOr<std::vector<config::FeedConfig>> split_connections(const std::vector<config::FeedConfig>& feeds) {
  std::vector<config::FeedConfig> out;
  for (const auto& feed : feeds) {
    const VenueAdapter* venue = find_venue(feed);
    const std::size_t per = venue != nullptr ? venue->symbols_per_connection(feed) : 0;
    if (per == 0 || feed.symbols.size() <= per) {
      out.push_back(feed);
      continue;
    }
    for (std::size_t first = 0, part = 1; first < feed.symbols.size(); first += per, ++part) {
      config::FeedConfig& connection = out.emplace_back(feed);
      if (part > 1) connection.name = fmt::format("{}-{}", feed.name, part);
      const auto end = std::min(feed.symbols.size(), first + per);
      connection.symbols.assign(feed.symbols.begin() + static_cast<std::ptrdiff_t>(first),
                                feed.symbols.begin() + static_cast<std::ptrdiff_t>(end));
    }
    TW_LOG_INFO(log(), "feed '{}': {} symbols on {} connections of at most {} (feeds '{}' to '{}-{}')", feed.name,
                feed.symbols.size(), (feed.symbols.size() + per - 1) / per, per, feed.name, feed.name,
                (feed.symbols.size() + per - 1) / per);
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    for (std::size_t j = i + 1; j < out.size(); ++j) {
      if (out[i].name == out[j].name) {
        return absl::InvalidArgumentError(fmt::format(
            "feed name {:?} is used twice once feeds are split into connections (a feed split into "
            "connections names them <name>-2, <name>-3...): rename one",
            out[i].name));
      }
    }
  }
  return out;
}

// SignalMask: blocks the shutdown signals in this thread (and every thread
// started after it), restoring the old mask on destruction.
class SignalMask {
 public:
  SignalMask() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, kLimitSignal}) sigaddset(&set_, s);
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

// print_profile: the stage table on stderr; with JSON logs, one log line
// holding it (every stderr line stays a JSON object).
void print_profile(const middleware::Profiler& profiler, config::LogFormat format) {
  const std::string table = profiler.report().format_text();
  if (format == config::LogFormat::kJson) {
    TW_LOG_INFO(log(), "profile:\n{}", table);
    return;
  }
  std::fprintf(stderr, "%s", table.c_str());
}

// Connector: the running connector's parts, in start order.
class Connector {
 public:
  Connector(const config::Config& cfg, const RunOptions& options) : cfg_(cfg), options_(options) {}

  absl::Status start() {
    if (auto s = check_journal_volume(cfg_.journal); !s.ok()) return s;
    auto journal = journal::Journal::open(journal_options(cfg_, profiler_));
    if (!journal.ok()) return journal.status();
    journal_ = std::move(*journal);
    sequencer_ = std::make_unique<Sequencer>(journal_->next_seq());
    TW_LOG_INFO(log(), "journal {}: next sequence {}", cfg_.journal.dir, sequencer_->peek());
    if (const auto damaged = journal_->stats().ring_damaged; damaged != 0) {
      TW_LOG_WARN(log(), "journal {}: {} record(s) left in the ring failed their checksum; journaled as gaps",
                  cfg_.journal.dir, damaged);
    }
    // What recovery did on open (docs/journal-format.md, "Recovery"): said, not silent.
    const journal::RecoveryReport& recovered = journal_->recovery();
    if (recovered.truncated_bytes > 0) {
      TW_LOG_WARN(log(), "journal {}: cut a torn tail of {} bytes", cfg_.journal.dir, recovered.truncated_bytes);
    }
    for (const auto& l : recovered.new_losses) TW_LOG_WARN(log(), "journal {}: loss recorded: {}", cfg_.journal.dir, l.what);
    for (const auto& n : recovered.notes) TW_LOG_WARN(log(), "journal {}: {}", cfg_.journal.dir, n);
    feeds_ = cfg_.feeds;
    auto sims = start_simulators(cfg_, feeds_);
    if (!sims.ok()) return sims.status();
    sims_ = std::move(*sims);
    auto connections = split_connections(feeds_);
    if (!connections.ok()) return connections.status();
    feeds_ = std::move(*connections);
    if (auto s = start_feeds(); !s.ok()) return s;
    if (auto s = start_scheduler(); !s.ok()) return s;
    start_metrics();
    return absl::OkStatus();
  }

  // run_until_signal: returns the signal that ends the run, or kIdle once no
  // market event arrived for options_.exit_when_idle; SIGUSR1 prints the
  // profile and goes on.
  int run_until_signal(const SignalMask& signals) {
    using std::chrono::steady_clock;
    const auto idle = options_.exit_when_idle;
    const auto step = idle.count() > 0 ? std::min<std::chrono::milliseconds>(idle, std::chrono::seconds(1))
                                       : std::chrono::milliseconds(std::chrono::seconds(1));
    std::uint64_t seen = messages();
    auto quiet_since = steady_clock::now();
    for (;;) {
      const int sig = signals.wait(step);
      if (sig == SIGUSR1) {
        print_profile(profiler_, cfg_.log.format);
      } else if (sig != 0) {
        return sig;
      }
      if (idle.count() == 0) continue;
      const std::uint64_t now = messages();
      if (now != seen) {
        seen = now;
        quiet_since = steady_clock::now();
      } else if (steady_clock::now() - quiet_since >= idle) {
        return kIdle;
      }
    }
  }

  absl::Status stop() {
    ShutdownWatch watch;
    watch.step("closing the metrics endpoint");
    metrics_.reset();  // before the parts it reads
    watch.step("stopping the scheduler");
    scheduler_.shutdown(middleware::ShutdownPolicy::kCancelQueued);
    // Timers and snapshot requests end on the feed thread, which owns them;
    // a snapshot request still in flight gets kRestShutdownGrace to finish.
    boost::asio::post(io_, [this] {
      check_publish();  // losses since the last check are journaled too
      for (auto& p : pipelines_) p->stop();
      for (auto& r : rests_) r->shutdown(kRestShutdownGrace);
    });
    for (auto& s : sessions_) s->stop();
    // A feed thread blocked on a full journal while the disk is full would never join.
    if (journal_) journal_->stop_waiting();
    watch.step("waiting for the feed thread (websocket close handshakes, snapshot requests)");
    {
      std::unique_lock lock(feed_done_mu_);
      const bool done = threads_.size() == 0 ||
                        feed_done_cv_.wait_for(lock, kFeedStopDeadline, [this] { return feed_done_; });
      if (!done) {
        TW_LOG_WARN(log(), "shutdown: the feed thread still has I/O pending after {} s (a websocket close or "
                    "request that never completed): stopping it", kFeedStopDeadline.count());
        io_.stop();
      }
    }
    threads_.join();
    watch.step("stopping the embedded simulator");
    for (auto& e : sims_) e.sim->stop();
    watch.step("closing the publish targets");
    if (probe_) probe_->stop();  // nothing is published any more
    if (publish_) {
      publish_->close();
      // What the NATS publisher threads lost while draining at close can no
      // longer be journaled (the feed thread is gone): it is logged.
      const auto stats = publish_->target_stats();
      for (std::size_t i = 0; i < stats.size() && i < publish_lost_.size(); ++i) {
        const std::uint64_t lost = stats[i].failed + stats[i].dropped;
        if (lost > publish_lost_[i]) {
          TW_LOG_WARN(log(), "publish {}: {} more records not published while closing", stats[i].spec,
                      lost - publish_lost_[i]);
        }
      }
    }
    watch.step("closing the journal (draining the ring to disk)");
    absl::Status closed = journal_ ? journal_->close() : absl::OkStatus();
    watch.step("writing the final status and profile");
    if (journal_ && status_.on_terminal()) {
      status_.print(*totals(), *journal_, publish_report());
      status_.finish();
    } else if (journal_ && options_.status_line) {
      TW_LOG_INFO(log(), "status: {}", status_.format(*totals(), *journal_));  // one structured line, in the log's format
    }
    print_profile(profiler_, cfg_.log.format);
    if (probe_) TW_LOG_INFO(log(), "{}", probe_->report());
    write_hgrm();
    return closed;
  }

 private:
  using LimiterMap = std::map<std::string, std::shared_ptr<SlidingWindowLimiter>>;
  // per_second_limiter: `venue`'s limiter of `n` `what` a second in `limiters`
  // (made at its first feed, shared by the rest); null when n is 0.
  static std::shared_ptr<SlidingWindowLimiter> per_second_limiter(LimiterMap& limiters, const VenueAdapter& venue,
                                                                  std::string_view what, std::uint32_t n) {
    if (n == 0) return nullptr;
    auto& limiter = limiters[std::string(venue.name())];
    if (!limiter) {
      limiter = std::make_shared<SlidingWindowLimiter>(fmt::format("{} {}", venue.name(), what), n,
                                                       std::chrono::seconds(1));
    }
    return limiter;
  }

  absl::Status start_feeds() {
    publish_ = PublishTargets::open(cfg_.publish);
    if (options_.inproc_probe) {
      auto probe = InprocProbe::start(*publish_, options_.inproc_probe_spin);
      if (!probe.ok()) return probe.status();
      probe_ = std::move(*probe);
    }
    // One limit for the process (venues count attempts per IP): the strictest
    // of every feed's max_connects_per_5min and its venue's own limit.
    std::uint32_t attempts = feeds_.front().max_connects_per_5min;
    for (const auto& feed : feeds_) {
      attempts = std::min(attempts, feed.max_connects_per_5min);
      if (const VenueAdapter* venue = find_venue(feed)) attempts = std::min(attempts, venue->limits().connects_per_5min);
    }
    attempt_limiter_ = std::make_shared<SlidingWindowLimiter>("connection attempts", attempts, std::chrono::minutes(5));
    for (const auto& feed : feeds_) {
      auto url = parse_ws_url(feed.url);
      if (!url.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("feed '{}': {}", feed.name, middleware::status_text(url.status())));
      }
      const VenueAdapter* venue = find_venue(feed);
      if (venue == nullptr) {
        return absl::InvalidArgumentError(fmt::format("feed '{}': no venue adapter for exchange {:?}", feed.name,
                                                      feed.exchange));
      }
      SessionOptions so;
      if (feed.subscribe == "message") {
        // Connect to the bare combined endpoint and SUBSCRIBE each stream
        // (first those the venue wants on every connection: Coinbase heartbeats).
        so.subscribe = venue->connection_streams();
        for (const auto& symbol : feed.symbols) {
          for (const auto& channel : feed.channels) {
            // A venue-wide channel (Kraken's instrument) has one name for every symbol: subscribed once.
            std::string stream = venue->stream_name(symbol, channel);
            if (std::find(so.subscribe.begin(), so.subscribe.end(), stream) == so.subscribe.end()) {
              so.subscribe.push_back(std::move(stream));
            }
          }
        }
      } else {
        url->target = venue->url_with_streams(url->target, feed.symbols, feed.channels);
      }
      auto control = venue->make_control_for(feed);
      if (!control.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("feed '{}': {}", feed.name, middleware::status_text(control.status())));
      }
      so.protocol = *std::move(control);
      so.streams_per_message = venue->limits().streams_per_message;
      so.max_streams = venue->limits().max_streams;
      so.control_interval = venue->limits().control_interval;
      so.control_ops_per_hour = venue->limits().control_ops_per_hour;
      if (feed.time_unit == "us") url->target = with_query_param(url->target, "timeUnit=MICROSECOND");
      // Each connection's pipeline counts on its own (the metrics' feed label); the status line sums them.
      PipelineCounters& counters = *feed_counters_.emplace_back(std::make_unique<PipelineCounters>());
      const PipelineContext context{*sequencer_, *publish_, *journal_, counters, profiler_, buffers_};
      auto& pipeline = *pipelines_.emplace_back(std::make_unique<FeedPipeline>(feed, cfg_.env, context));
      if (auto s = pipeline.ok(); !s.ok()) return s;
      pipeline.set_limit(options_.max_messages, [] { ::kill(::getpid(), kLimitSignal); }, &limit_count_);
      pipeline.set_stage_sample(cfg_.status.stage_sample);
      so.url = *url;
      so.ca_file = feed.ca_file;
      so.verify_tls = feed.verify_tls;
      so.max_frame_bytes = feed.max_frame_bytes;
      so.backoff_initial = std::chrono::milliseconds(feed.backoff_initial_ms);
      so.backoff_max = std::chrono::milliseconds(feed.backoff_max_ms);
      so.attempt_limiter = attempt_limiter_;
      // The venue's per-IP limits per second, one limiter per venue for all its feeds.
      so.venue_attempt_limiter =
          per_second_limiter(venue_attempt_limiters_, *venue, "connection attempts", venue->limits().connects_per_second);
      so.control_limiter =
          per_second_limiter(control_limiters_, *venue, "control messages", venue->limits().controls_per_second);
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
      auto& probe = *probes_.emplace_back(std::make_unique<metrics::FeedProbe>(
          feed.name, pipeline, feed.subscribe == "message", book_symbols(feed)));
      // One age per symbol and kind of channel (the pipeline keeps one time per kind): channels
      // of one kind (OKX bbo-tbt and tickers are both quotes) share it, labelled "bbo-tbt,tickers".
      std::vector<metrics::FeedProbe::StreamRef> streams;
      for (std::size_t i = 0; i < feed.symbols.size(); ++i) {
        const std::size_t first = streams.size();
        for (const auto& channel : feed.channels) {
          // Every configured channel has a kind (the configuration is checked against the venue's).
          const auto kind = venue->channel_kind(channel);
          if (!kind) continue;
          auto same = std::find_if(streams.begin() + static_cast<std::ptrdiff_t>(first), streams.end(),
                                   [&](const metrics::FeedProbe::StreamRef& r) { return r.kind == *kind; });
          if (same != streams.end()) {
            same->channel += "," + channel;
          } else {
            streams.push_back({feed.symbols[i], channel, i, *kind});
          }
        }
      }
      probe.set_streams(std::move(streams));
      auto& session = *sessions_.emplace_back(std::make_unique<WsSession>(io_, so, probe));
      pipeline.attach({&io_, &session, &rest, rest_base(feed, *venue)});
      session.start();
    }
    middleware::ThreadOptions placement;
    placement.cores = cores(cfg_.threads.feed_cores);
    placement.on_affinity_failure = on_failure();
    placement.realtime_priority = static_cast<int>(cfg_.threads.realtime_priority);
    if (cfg_.threads.feed_spin) {
      TW_LOG_INFO(log(), "feed thread spins (threads.feed_spin = true): it polls its sockets without sleeping and "
                  "keeps one core busy{}", cfg_.threads.feed_cores.empty() ? "; it is not pinned (threads.feed_cores)" : "");
    }
    auto started = threads_.start_thread("tw-feed", placement, [this, spin = cfg_.threads.feed_spin] {
      profiler_.register_thread();
      if (spin) {
        // poll() runs what is ready and looks at the sockets with a zero
        // timeout; the io_context stops itself once no work is left (the
        // sessions closed), as run() would return.
        while (!io_.stopped()) io_.poll();
      } else {
        io_.run();
      }
      for (auto& p : pipelines_) p->flush_profile();  // before the final report
      {
        const std::lock_guard lock(feed_done_mu_);
        feed_done_ = true;
      }
      feed_done_cv_.notify_all();
    });
    report_thread_warnings(threads_.warnings());
    return started;
  }

  // rest_base: where a feed's book snapshots come from.
  std::string rest_base(const config::FeedConfig& feed, const VenueAdapter& venue) const {
    if (!feed.rest_url.empty()) return feed.rest_url;
    for (const auto& e : sims_) {
      if (feed.url == fmt::format("ws://127.0.0.1:{}/stream", e.port)) return fmt::format("http://127.0.0.1:{}", e.port);
    }
    return std::string(venue.rest_url());
  }

  // start_scheduler: the background work: status line, heartbeats, clock re-sync.
  absl::Status start_scheduler() {
    if (auto s = scheduler_.start(); !s.ok()) return s;
    report_thread_warnings(scheduler_.thread_warnings());
    const auto every = [this](std::chrono::milliseconds period, std::string name, std::function<void()> task) {
      auto id = scheduler_.every(period, std::move(name), std::move(task));
      return id.ok() ? absl::OkStatus() : id.status();
    };
    // The status line rewrites itself on a terminal; elsewhere (a container,
    // a service) a "status" log line every log_interval_ms, or none.
    if (status_.on_terminal()) {
      if (auto s = every(std::chrono::milliseconds(cfg_.status.interval_ms), "status",
                         [this] { status_.print(*totals(), *journal_, publish_report()); });
          !s.ok()) {
        return s;
      }
    } else if (cfg_.status.log_interval_ms != 0 && options_.status_line) {
      if (auto s = every(std::chrono::milliseconds(cfg_.status.log_interval_ms), "status-log",
                         [this] { const std::string report = publish_report();
                           TW_LOG_INFO(log(), "status: {}{}{}", status_.format(*totals(), *journal_),
                                       report.empty() ? "" : " | ", report); });
          !s.ok()) {
        return s;
      }
    }
    // Liveness for /healthz, and the book states /readyz reads, sampled on the feed thread.
    if (auto s = every(std::chrono::seconds(1), "liveness",
                       [this] {
                         liveness_.mark_scheduler();
                         boost::asio::post(io_, [this] {
                           liveness_.mark_feed_thread();
                           for (std::size_t i = 0; i < probes_.size(); ++i) probes_[i]->sample_books(*pipelines_[i]);
                           for (auto& p : pipelines_) p->flush_profile();
                         });
                       });
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
    if (publish_ && !pipelines_.empty()) {
      // Records a publish target did not take become a Status record, once a second at most.
      auto s = every(std::chrono::seconds(1), "publish-check", [this] {
        boost::asio::post(io_, [this] { check_publish(); });
      });
      if (!s.ok()) return s;
    }
    if (cfg_.status.book_snapshot_interval_ms != 0) {
      // Book snapshots are journaled too: on the feed thread, which owns the books.
      auto s = every(std::chrono::milliseconds(cfg_.status.book_snapshot_interval_ms), "book-snapshot", [this] {
        boost::asio::post(io_, [this] {
          for (auto& p : pipelines_) p->snapshot_books();
        });
      });
      if (!s.ok()) return s;
    }
    return every(std::chrono::minutes(1), "clock-resync", [] { middleware::TscClock::global().resync(); });
  }

  // totals: every pipeline's counters added up (any thread; a fresh sum each call).
  std::unique_ptr<PipelineCounters> totals() const {
    auto t = std::make_unique<PipelineCounters>();
    for (const auto& c : feed_counters_) add_counters(*t, *c);
    return t;
  }
  std::uint64_t messages() const {
    std::uint64_t n = 0;
    // relaxed: a count, compared only.
    for (const auto& c : feed_counters_) n += c->messages.load(std::memory_order_relaxed);
    return n;
  }

  // start_metrics: the /metrics, /healthz, /readyz endpoint; one that cannot
  // listen is logged and the connector runs without it.
  void start_metrics() {
    if (cfg_.metrics.listen.empty()) return;
    metrics::MetricsSources sources{journal_.get(), sequencer_.get(), &profiler_, {}, {}, &liveness_,
                                    options_.version};
    for (const auto& p : probes_) sources.feeds.push_back(p.get());
    for (const auto& c : feed_counters_) sources.feed_counters.push_back(c.get());
    sources.publish = publish_.get();
    auto endpoint = metrics::MetricsEndpoint::start(cfg_.metrics, std::move(sources));
    if (!endpoint.ok()) {
      TW_LOG_ERROR(log(), "{}; running without it", middleware::status_text(endpoint.status()));
      return;
    }
    metrics_ = std::move(*endpoint);
    TW_LOG_INFO(log(), "metrics on http://{}:{}/metrics (also /healthz, /readyz)",
                cfg_.metrics.listen.substr(0, cfg_.metrics.listen.rfind(':')), metrics_->port());
  }
  // book_symbols: the symbols whose books /readyz waits for.
  static std::vector<std::string> book_symbols(const config::FeedConfig& feed) {
    for (const auto& channel : feed.channels) {
      if (channel.starts_with("depth")) return feed.symbols;
    }
    return {};
  }
  std::string publish_report() const { return publish_ ? publish_->report() : std::string(); }

  // check_publish: for each target that failed or dropped records since the
  // last check, one warning and one feed-wide Status `dropped` (on the first
  // feed) counting them. Feed thread (the journal's producer).
  void check_publish() {
    if (!publish_ || pipelines_.empty()) return;
    const auto stats = publish_->target_stats();
    publish_lost_.resize(stats.size(), 0);
    for (std::size_t i = 0; i < stats.size(); ++i) {
      const PublishTargetStats& s = stats[i];
      const std::uint64_t lost = s.failed + s.dropped;
      if (lost <= publish_lost_[i]) continue;
      const std::string detail =
          fmt::format("publish {}: {} records not published ({} failed, {} dropped since start){}{}", s.spec,
                      lost - publish_lost_[i], s.failed, s.dropped, s.error.empty() ? "" : ": ", s.error);
      TW_LOG_WARN(log(), "{}; every record is journaled", detail);
      pipelines_.front()->on_publish_loss(lost - publish_lost_[i], detail);
      publish_lost_[i] = lost;
    }
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
    if (probe_) {
      if (absl::Status written = probe_->write_hgrm(options_.hgrm_dir); !written.ok()) {
        TW_LOG_ERROR(log(), "{}", middleware::status_text(written));
      }
    }
  }

  const config::Config& cfg_;
  const RunOptions& options_;
  middleware::Profiler profiler_;
  middleware::BufferPool buffers_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Sequencer> sequencer_;
  std::vector<config::FeedConfig> feeds_;
  std::vector<EmbeddedSimulator> sims_;
  std::unique_ptr<PublishTargets> publish_;
  std::unique_ptr<InprocProbe> probe_;  // --inproc-probe; destroyed before publish_
  std::vector<std::uint64_t> publish_lost_;  // per target: failed + dropped already reported (feed thread)
  boost::asio::io_context io_{1};
  // One per connection, by index as pipelines_ and probes_ (each pipeline holds a reference).
  std::vector<std::unique_ptr<PipelineCounters>> feed_counters_;
  std::atomic<std::uint64_t> limit_count_{0};  // market events of every pipeline, for --max-messages (feed thread)
  std::vector<std::unique_ptr<FeedPipeline>> pipelines_;
  std::vector<std::unique_ptr<RestClient>> rests_;
  std::vector<std::unique_ptr<metrics::FeedProbe>> probes_;  // by feed, between session and pipeline
  std::vector<std::unique_ptr<WsSession>> sessions_;
  std::shared_ptr<SlidingWindowLimiter> attempt_limiter_;
  // Per venue name: its per-IP limits a second (VenueLimits), shared by its feeds.
  LimiterMap venue_attempt_limiters_;
  LimiterMap control_limiters_;
  std::shared_ptr<SlidingWindowLimiter> rest_weight_ = SlidingWindowLimiter::binance_rest_weight();
  middleware::ThreadPool threads_;
  StatusLine status_{options_.status_line};
  middleware::Scheduler scheduler_{scheduler_options()};
  metrics::Liveness liveness_;
  std::unique_ptr<metrics::MetricsEndpoint> metrics_;
  // feed_done_: the feed thread's io_context.run() (or poll loop) returned (stop() waits for it, up to kFeedStopDeadline).
  std::mutex feed_done_mu_;
  std::condition_variable feed_done_cv_;
  bool feed_done_ = false;  // guarded by feed_done_mu_
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
  if (sig == kIdle) {
    TW_LOG_INFO(log(), "no market message for {} ms (--exit-when-idle): shutting down", options.exit_when_idle.count());
  } else {
    TW_LOG_INFO(log(), "{}: shutting down", sig == kLimitSignal ? "message limit reached" : strsignal(sig));
  }
  return connector.stop();
}

}  // namespace tickwire::connector
