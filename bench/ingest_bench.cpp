// Websocket ingest over loopback: an in-process Simulator (seeded, `count`
// messages of trade + bookTicker + depth for a few symbols, a rate high
// enough that it generates flat out) consumed by
//   floor:     a raw Beast websocket client that only reads frames, and
//   connector: the real WsSession + FeedPipeline (parse, intern, dedup, book
//              sync with the REST snapshot from the simulator, encode,
//              in-process publish, journal append with fsync none),
// alternating, `reps` times each; medians, spread and connector/floor.
// Throughput is timed from the first data frame to the last one consumed, so
// connection set-up is outside it. The simulator runs on its own thread in
// this process; each run also reports how busy the consumer thread and the
// rest of the process (the simulator, the journal flusher) were, and a
// generation-only run measures what the simulator's market alone can produce.
// Two regimes, each consumer alternated with the other in every repetition:
//   live:   the simulator generates its market while it sends (the market
//           and the send path share the simulator thread);
//   replay: a capture of the same market (same symbols, mix and seed, with a
//           snapshot line per symbol first) is written to NDJSON beforehand
//           and replayed at speed 0: pre-encoded frames, as many per socket
//           write as are queued, as fast as the socket takes them. This is
//           the max-speed regime: the sender costs little per message, so
//           the consumer's CPU per message decides the rate.
// The consumers' CPU per message is printed for both regimes.
// A plain main, not Google Benchmark: one run is one connection of N
// messages, and the comparison needs both sides alternated in one process.
//   bench_ingest [--count N] [--replay-count N] [--reps R] [--rate ORDERS_PER_S]
//                [--depth-ms MS] [--symbols A,B,..] [--seed S]
//                [--regime live|replay|both] [--ring-mb MB] [--scrape 1] [--stage-sample N]
// (--scrape 1: a third consumer per repetition, the connector with the
// metrics endpoint of `tickwire run` (a FeedProbe between session and
// pipeline, the HTTP thread) and a client on another thread fetching
// /metrics in a loop for the whole run; printed with its ratio to the
// connector without them.)
// (--stage-sample N: the connector's stage durations on one frame in N, as
// `[status] stage_sample`; default the configuration's, 16.)
// (--ring-mb: the journal ring; at the default 16 MB a flusher that gets no
// core of its own fills it in the replay regime and append() spins.)
// (`--regime replay --reps 1` with a large --replay-count is the profiling
// run: the feed thread is named tw-feed, the simulator tw-sim.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/metrics/endpoint.hpp"
#include "tickwire/connector/rest_client.hpp"
#include "tickwire/connector/sim_market.hpp"
#include "tickwire/connector/simulator.hpp"
#include "tickwire/connector/ws_session.hpp"
#include "tickwire/connector/ws_url.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/pool_allocator.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace {

namespace tc = tickwire::connector;
namespace mw = tickwire::middleware;
namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kChannels = {"trade", "bookTicker", "depth@100ms"};

struct Settings {
  std::vector<std::string> symbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"};
  std::uint64_t count = 60'000;  // under the simulator's 64 Ki per-connection queue, so a slow reader is never cut off
  // Orders/s: far above what the simulator can send (~2 messages per order),
  // so market time lags the wall clock and the generator never sleeps.
  double rate = 1e5;
  // Diff batching in market time: at 1e5 orders/s, 100 ms would batch 10^4
  // orders into one diff per symbol; 1 ms gives ~4% depth diffs of ~0.5 KB.
  std::uint32_t depth_ms = 1;
  std::uint64_t seed = 7;
  int reps = 5;
  std::uint64_t replay_count = 200'000;  // messages in the max-speed capture
  bool live = true, replay = true;        // which regimes run
  std::size_t ring_mb = 16;               // the journal's ring (its default); a power of two
  bool scrape = false;                    // also run the connector with a /metrics scraper
  // [status] stage_sample: stage durations on one frame in this many; its default, as `tickwire run`.
  std::uint32_t stage_sample = tickwire::config::StatusConfig{}.stage_sample;
};

// Regime: where a run's messages come from and how many it expects.
struct Regime {
  const char* name;
  tc::SimulatorOptions sim;
  std::uint64_t count;
};

// RunResult: one consumer run. Rates are over [first data frame, last consumed].
struct RunResult {
  std::uint64_t messages = 0;
  double seconds = 0;
  double consumer_cpu_s = 0;  // the consuming thread's CPU time over the same span
  double process_cpu_s = 0;   // the whole process (consumer + simulator + journal flusher)
  std::string detail;
  bool complete = true;  // every message consumed, no connection lost
  double rate() const { return messages > 1 && seconds > 0 ? static_cast<double>(messages - 1) / seconds : 0; }
  // cpu_us_per_message: what one message costs the consumer, waiting excluded.
  double cpu_us_per_message() const { return messages > 1 ? 1e6 * consumer_cpu_s / static_cast<double>(messages - 1) : 0; }
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_ingest: %s\n", what.c_str());
  std::exit(1);
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

tc::SimulatorOptions sim_options(const Settings& s) {
  tc::SimulatorOptions o;
  o.symbols = s.symbols;
  o.rate = s.rate;
  o.seed = s.seed;
  o.count = s.count;
  o.epoch_ms = tc::SimMarket::kDefaultEpochMs;  // identical messages in every run
  o.depth_interval_ms = s.depth_ms;
  o.ping_interval_ms = 0;  // nothing but data on the wire
  return o;
}

std::uint16_t start(tc::Simulator& sim) {
  auto port = sim.start();
  if (!port.ok()) fail("simulator: " + std::string(mw::status_text(port.status())));
  return *port;
}

// run_floor: a blocking Beast client on this thread that reads frames until
// it has `count` data messages (combined-stream frames; a control reply
// would not start with {"stream").
RunResult run_floor(const Settings& s, const Regime& g) {
  tc::Simulator sim(g.sim);
  const std::uint16_t port = start(sim);
  asio::io_context io;
  beast::websocket::stream<asio::ip::tcp::socket> ws(io);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  ws.handshake(fmt::format("127.0.0.1:{}", port), tc::with_streams("/stream", s.symbols, kChannels));
  beast::flat_buffer buffer;
  RunResult r;
  Clock::time_point t0;
  double cpu0 = 0, pcpu0 = 0;
  constexpr std::string_view kData = R"({"stream")";
  while (r.messages < g.count) {
    beast::error_code ec;
    ws.read(buffer, ec);
    if (ec) {  // the simulator cut the connection (e.g. 64 Ki messages behind)
      r.complete = false;
      r.detail = fmt::format("connection lost after {} messages: {}", r.messages, ec.message());
      break;
    }
    const std::string_view text(static_cast<const char*>(buffer.data().data()), buffer.size());
    if (text.substr(0, kData.size()) == kData && ++r.messages == 1) {
      t0 = Clock::now();
      cpu0 = thread_cpu_s();
      pcpu0 = process_cpu_s();
    }
    buffer.consume(buffer.size());
  }
  r.seconds = seconds_between(t0, Clock::now());
  r.consumer_cpu_s = thread_cpu_s() - cpu0;
  r.process_cpu_s = process_cpu_s() - pcpu0;
  if (sim.sent() != g.count) r.detail += fmt::format("; simulator sent {}", sim.sent());
  beast::error_code ec;
  ws.next_layer().close(ec);
  sim.stop();
  return r;
}

// CountingHandler: forwards every session event to the FeedPipeline and
// decides when the run is done: `count` frames have returned from the
// pipeline (each parsed, deduplicated, applied to or buffered for its book,
// encoded, published and appended to the journal ring) and every symbol's
// book is synced, so the diffs buffered while the REST snapshot was in flight
// have been applied too. Feed thread only, except done_ (release/acquire).
class CountingHandler final : public tc::SessionHandler {
 public:
  CountingHandler(tc::FeedPipeline& pipeline, asio::io_context& io, const Settings& s, std::uint64_t count)
      : pipeline_(pipeline), settings_(s), poll_(io), count_(count) {}

  void on_connected() override { pipeline_.on_connected(); }
  void on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks, std::uint32_t generation) override {
    if (frames_ == 0) {
      t0_ = Clock::now();
      cpu0_ = thread_cpu_s();
      pcpu0_ = process_cpu_s();
    }
    pipeline_.on_frame(data, size, rx_ticks, generation);
    if (++frames_ == count_) check_done();
  }
  void on_disconnected(std::string_view reason) override {
    pipeline_.on_disconnected(reason);
    // relaxed: done_ is only written on this thread.
    if (done_.load(std::memory_order_relaxed)) return;
    // The simulator cut the connection (e.g. the consumer fell 64 Ki messages
    // behind): end the run as incomplete rather than wait forever.
    disconnects_.emplace_back(reason);
    poll_.cancel();
    finish(false);
  }
  void on_backoff(std::chrono::milliseconds delay, std::string_view cause) override { pipeline_.on_backoff(delay, cause); }
  void on_subscribed(std::uint32_t generation, std::size_t streams, bool resubscribe) override {
    pipeline_.on_subscribed(generation, streams, resubscribe);
  }
  void on_rollover_candidate(std::uint32_t previous, std::uint32_t next) override {
    pipeline_.on_rollover_candidate(previous, next);
  }
  void on_rollover_started(std::uint32_t previous, std::uint32_t next, std::string_view reason) override {
    pipeline_.on_rollover_started(previous, next, reason);
  }
  void on_rollover_finished(std::uint32_t previous, std::uint32_t current, bool overlapped) override {
    pipeline_.on_rollover_finished(previous, current, overlapped);
  }
  void on_rollover_failed(std::uint32_t generation, std::string_view reason) override {
    pipeline_.on_rollover_failed(generation, reason);
  }

  // wait: blocks the calling thread until the run is done.
  void wait() const {
    // acquire: pairs with the release store in check_done().
    while (!done_.load(std::memory_order_acquire)) done_.wait(false, std::memory_order_acquire);
  }
  // result: valid after wait().
  RunResult result() const { return result_; }
  const std::vector<std::string>& disconnects() const { return disconnects_; }

 private:
  // check_done: at the last frame, then (rarely) every 100 us until the
  // last snapshot has landed.
  void check_done() {
    for (const auto& symbol : settings_.symbols) {
      if (pipeline_.book(symbol) == nullptr) {
        poll_.expires_after(std::chrono::microseconds(100));
        poll_.async_wait([this](boost::system::error_code ec) {
          // relaxed: done_ is only written on this thread.
          if (!ec && !done_.load(std::memory_order_relaxed)) check_done();
        });
        return;
      }
    }
    finish(true);
  }

  void finish(bool complete) {
    result_.complete = complete;
    result_.messages = frames_;
    result_.seconds = seconds_between(t0_, Clock::now());
    result_.consumer_cpu_s = thread_cpu_s() - cpu0_;
    result_.process_cpu_s = process_cpu_s() - pcpu0_;
    done_.store(true, std::memory_order_release);  // release: pairs with the acquire in wait()
    done_.notify_all();
  }

  tc::FeedPipeline& pipeline_;
  const Settings& settings_;
  asio::steady_timer poll_;
  std::uint64_t count_;
  std::uint64_t frames_ = 0;
  Clock::time_point t0_;
  double cpu0_ = 0, pcpu0_ = 0;
  RunResult result_;
  std::vector<std::string> disconnects_;
  std::atomic<bool> done_{false};
};

std::filesystem::path journal_dir(int run) {
  const std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                               : std::filesystem::temp_directory_path();
  return base / fmt::format("tickwire-ingest-{}-{}", ::getpid(), run);
}

// scrape_loop: GET /metrics on 127.0.0.1:port until `stop`; the number of answers.
std::uint64_t scrape_loop(std::uint16_t port, const std::atomic<bool>& stop) {
  std::uint64_t answers = 0;
  std::string reply;
  char buf[1 << 16];
  while (!stop.load(std::memory_order_relaxed)) {  // relaxed: a stop flag, nothing hangs on it
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Safety: sockaddr_in is a sockaddr for AF_INET.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      constexpr std::string_view kRequest = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      if (::send(fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(kRequest.size())) {
        reply.clear();
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
        answers += reply.starts_with("HTTP/1.1 200") ? 1 : 0;
      }
    }
    ::close(fd);
  }
  return answers;
}

// run_connector: the runner's wiring (runner.cpp) for one feed, minus the
// scheduler: one io_context on one feed thread. With `scrape`, also the
// metrics endpoint (its FeedProbe and HTTP thread) and a scraper.
RunResult run_connector(const Settings& s, const Regime& g, int run, bool scrape = false) {
  tc::Simulator sim(g.sim);
  const std::uint16_t port = start(sim);
  const auto dir = journal_dir(run);
  std::filesystem::remove_all(dir);
  mw::Profiler profiler;
  const auto cal = mw::TscClock::global().calibration();
  tickwire::journal::Options jo;
  jo.dir = dir;
  jo.feed = "binance";
  jo.clock = {cal.tsc_anchor, cal.mono_anchor_ns, cal.wall_anchor_ns, cal.ns_per_tick};
  jo.fsync = tickwire::journal::FsyncPolicy::kNone;
  jo.ring_bytes = s.ring_mb << 20;
  jo.profiler = &profiler;
  auto journal = tickwire::journal::Journal::open(jo);
  if (!journal.ok()) fail("journal: " + std::string(mw::status_text(journal.status())));

  tickwire::config::FeedConfig feed;
  feed.name = "binance";
  feed.exchange = "binance";
  feed.url = fmt::format("ws://127.0.0.1:{}/stream", port);
  feed.symbols = s.symbols;
  feed.channels = kChannels;
  tc::Sequencer sequencer((*journal)->next_seq());
  mw::InProcessTransport transport;
  tc::PipelineCounters counters;
  mw::BufferPool buffers;
  tc::FeedPipeline pipeline(feed, "bench", {sequencer, transport, **journal, counters, profiler, buffers});
  if (auto ok = pipeline.ok(); !ok.ok()) fail("pipeline: " + std::string(mw::status_text(ok)));
  pipeline.set_stage_sample(s.stage_sample);

  asio::io_context io(1);
  CountingHandler handler(pipeline, io, s, g.count);
  tc::SessionOptions so;
  auto url = tc::parse_ws_url(feed.url);
  if (!url.ok()) fail("url: " + std::string(mw::status_text(url.status())));
  so.url = *url;
  so.url.target = tc::with_streams(so.url.target, s.symbols, kChannels);
  so.jitter_seed = 1;
  tc::RestClient rest(io, tc::RestOptions{});
  tc::metrics::FeedProbe probe("binance", handler, false, s.symbols);
  tc::WsSession session(io, so, scrape ? static_cast<tc::SessionHandler&>(probe) : handler);
  std::unique_ptr<tc::metrics::MetricsEndpoint> endpoint;
  std::atomic<bool> stop_scraping{false};
  std::uint64_t scrapes = 0;
  std::thread scraper;
  if (scrape) {
    tickwire::config::MetricsConfig mc;
    mc.listen = "127.0.0.1:0";
    auto started = tc::metrics::MetricsEndpoint::start(
        mc, {journal->get(), &sequencer, &profiler, {&probe}, {&counters}, nullptr, "bench"});
    if (!started.ok()) fail("metrics: " + std::string(mw::status_text(started.status())));
    endpoint = std::move(*started);
    scraper = std::thread([&, port = endpoint->port()] { scrapes = scrape_loop(port, stop_scraping); });
  }
  pipeline.attach({&io, &session, &rest, fmt::format("http://127.0.0.1:{}", port)});
  session.start();
  std::thread feed_thread([&] {
    pthread_setname_np(pthread_self(), "tw-feed");
    profiler.register_thread();
    io.run();
  });
  handler.wait();
  if (scrape) {
    stop_scraping.store(true, std::memory_order_relaxed);  // relaxed: see scrape_loop
    scraper.join();
    endpoint.reset();
  }
  asio::post(io, [&] {
    pipeline.stop();
    rest.close();
  });
  session.stop();
  feed_thread.join();
  sim.stop();
  if (auto closed = (*journal)->close(); !closed.ok()) fail("journal close: " + std::string(mw::status_text(closed)));

  RunResult r = handler.result();
  const auto relaxed = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };  // relaxed: after join
  const auto js = (*journal)->stats();
  r.detail = fmt::format("events {} dup {} ignored {} rejected {} gaps {} resyncs {} appended {} journaled {} dropped {}",
                         relaxed(counters.messages), relaxed(counters.duplicates), relaxed(counters.ignored),
                         relaxed(counters.rejected), relaxed(counters.gaps), relaxed(counters.resyncs),
                         js.appended, js.flushed_records, js.dropped);
  if (scrape) r.detail += fmt::format("; {} scrapes ({:.0f}/s)", scrapes, static_cast<double>(scrapes) / r.seconds);
  for (const auto& d : handler.disconnects()) r.detail += fmt::format("; disconnected before done: {}", d);
  if (sim.sent() != g.count) r.detail += fmt::format("; simulator sent {}", sim.sent());
  // Every appended record must be in the segments after close(): a
  // shortfall is a journal defect, not a benchmark figure.
  if (js.flushed_records != js.appended) {
    fail(fmt::format("journal lost records: {} appended, {} journaled (kept in {})", js.appended,
                     js.flushed_records, dir.string()));
  }
  // KEEP_JOURNAL=1 keeps the run's journal for `tickwire inspect` / `verify`.
  if (std::getenv("KEEP_JOURNAL") == nullptr) std::filesystem::remove_all(dir);
  else r.detail += " dir " + dir.string();
  return r;
}

// Generation: the simulator's market alone on this thread (no network):
// subscribed-channel messages per second, the most the simulator could send,
// and the mix of the first `count` of them.
struct Generation {
  double rate = 0;
  std::uint64_t trades = 0, quotes = 0, depth = 0, depth_bytes = 0;
};

Generation generation(const Settings& s) {
  tc::SimMarket market(s.symbols, s.rate, s.seed, tc::SimMarket::kDefaultEpochMs, s.depth_ms);
  std::vector<tc::SimMarket::Message> out;
  Generation g;
  std::uint64_t n = 0;
  const auto t0 = Clock::now();
  while (n < s.count) {
    out.clear();
    market.advance(out);
    for (const auto& m : out) {
      if (m.channel == tc::SimChannel::kAggTrade || n == s.count) continue;
      ++n;
      g.trades += m.channel == tc::SimChannel::kTrade;
      g.quotes += m.channel == tc::SimChannel::kBookTicker;
      if (m.channel == tc::SimChannel::kDepth) {
        ++g.depth;
        g.depth_bytes += m.text.size();
      }
    }
  }
  g.rate = static_cast<double>(n) / seconds_between(t0, Clock::now());
  return g;
}

// write_capture: the max-speed regime's NDJSON capture: one snapshot line
// per symbol (the market's book before it starts), then the first `count`
// subscribed-channel messages in the combined form, exactly what the live
// regime sends.
std::filesystem::path write_capture(const Settings& s) {
  const auto path = journal_dir(0).replace_filename(fmt::format("tickwire-ingest-{}-capture.ndjson", ::getpid()));
  tc::SimMarket market(s.symbols, s.rate, s.seed, tc::SimMarket::kDefaultEpochMs, s.depth_ms);
  std::ofstream out(path);
  for (std::size_t i = 0; i < s.symbols.size(); ++i) {
    const std::string book = tc::SimMarket::depth_json(market.published_book(i));
    out << fmt::format(R"({{"sim":"snapshot","symbol":"{}",{})", s.symbols[i], book.substr(1)) << "\n";
  }
  std::vector<tc::SimMarket::Message> batch;
  std::uint64_t n = 0;
  while (n < s.replay_count) {
    batch.clear();
    market.advance(batch);
    for (const auto& m : batch) {
      if (m.channel == tc::SimChannel::kAggTrade || n == s.replay_count) continue;
      out << m.text << "\n";
      ++n;
    }
  }
  if (!out.flush()) fail("cannot write the capture " + path.string());
  return path;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

Settings parse_args(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) fail(fmt::format("argument {} ({}): missing value", i, arg));
    const std::string value = argv[++i];
    try {
      if (arg == "--count") {
        s.count = std::stoull(value);
      } else if (arg == "--replay-count") {
        s.replay_count = std::stoull(value);
      } else if (arg == "--ring-mb") {
        s.ring_mb = std::stoul(value);
        if (s.ring_mb == 0 || (s.ring_mb & (s.ring_mb - 1)) != 0) fail(fmt::format("argument {} (--ring-mb {}): not a power of two", i - 1, value));
      } else if (arg == "--scrape") {
        s.scrape = value == "1" || value == "on";
      } else if (arg == "--regime") {
        if (value != "live" && value != "replay" && value != "both") fail(fmt::format("argument {} (--regime {}): live, replay or both", i - 1, value));
        s.live = value != "replay";
        s.replay = value != "live";
      } else if (arg == "--reps") {
        s.reps = std::stoi(value);
      } else if (arg == "--rate") {
        s.rate = std::stod(value);
      } else if (arg == "--depth-ms") {
        s.depth_ms = static_cast<std::uint32_t>(std::stoul(value));
      } else if (arg == "--seed") {
        s.seed = std::stoull(value);
      } else if (arg == "--stage-sample") {
        s.stage_sample = static_cast<std::uint32_t>(std::stoul(value));
      } else if (arg == "--symbols") {
        s.symbols.clear();
        for (std::size_t p = 0; p <= value.size();) {
          const std::size_t q = std::min(value.find(',', p), value.size());
          s.symbols.push_back(value.substr(p, q - p));
          p = q + 1;
        }
      } else {
        fail(fmt::format("argument {} ({}): unknown option", i - 1, arg));
      }
    } catch (const std::exception&) {
      fail(fmt::format("argument {} ({} {}): not a number", i - 1, arg, value));
    }
  }
  if (s.count < 2 || s.replay_count < 2 || s.reps < 1) fail("--count and --replay-count must be >= 2 and --reps >= 1");
  return s;
}

void print_run(const char* what, int rep, const RunResult& r) {
  std::printf("  %-9s #%d  %9.0f msg/s  %6.3f s  consumer busy %3.0f%% (%.2f us CPU/msg)  rest of process %3.0f%% of a core  %s\n",
              what, rep, r.rate(), r.seconds, 100 * r.consumer_cpu_s / r.seconds, r.cpu_us_per_message(),
              100 * (r.process_cpu_s - r.consumer_cpu_s) / r.seconds, r.detail.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const Settings s = parse_args(argc, argv);
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  std::string symbols;
  for (const auto& x : s.symbols) symbols += (symbols.empty() ? "" : ",") + x;
  std::printf("command: %s\nmachine: nproc %ld, %s; load average %s\n", command.c_str(), sysconf(_SC_NPROCESSORS_ONLN),
              cpu_model().c_str(), load_average().c_str());
  std::printf("journal: ring %zu MB, fsync none, in %s\n", s.ring_mb, journal_dir(0).parent_path().c_str());
  std::printf("simulator: %s, trade+bookTicker+depth, %llu messages, rate %g orders/s, depth batches %u ms, seed %llu\n",
              symbols.c_str(), static_cast<unsigned long long>(s.count), s.rate, s.depth_ms,
              static_cast<unsigned long long>(s.seed));
  mw::TscClock::global();  // calibrate before any thread stamps

  std::vector<Regime> regimes;
  std::filesystem::path capture;
  if (s.live) regimes.push_back({"live", sim_options(s), s.count});
  if (s.replay) {
    capture = write_capture(s);
    tc::SimulatorOptions o;
    o.replay_path = capture.string();
    o.replay_speed = 0;  // as fast as the socket takes it
    o.ping_interval_ms = 0;
    regimes.push_back({"replay", o, s.replay_count});
    std::printf("replay capture: %s, %llu messages + %zu snapshot lines\n", capture.c_str(),
                static_cast<unsigned long long>(s.replay_count), s.symbols.size());
  }
  // Per regime: the series the summary needs.
  struct Series {
    std::vector<double> floor, conn, floor_busy, conn_busy, floor_sim, floor_cpu, conn_cpu, ratio;
    std::vector<double> scraped, scraped_ratio;  // --scrape: the connector with a /metrics scraper
  };
  std::vector<Series> series(regimes.size());
  std::vector<double> gen;
  bool complete = true;
  for (int rep = 1; rep <= s.reps; ++rep) {
    const Generation g = generation(s);
    gen.push_back(g.rate);
    if (rep == 1) {
      std::printf("mix: %llu trades, %llu bookTickers, %llu depth diffs (mean %llu bytes)\n",
                  static_cast<unsigned long long>(g.trades), static_cast<unsigned long long>(g.quotes),
                  static_cast<unsigned long long>(g.depth),
                  static_cast<unsigned long long>(g.depth ? g.depth_bytes / g.depth : 0));
    }
    std::printf("  generator #%d  %9.0f msg/s  (market alone, no network)\n", rep, gen.back());
    for (std::size_t k = 0; k < regimes.size(); ++k) {
      const Regime& regime = regimes[k];
      const RunResult f = run_floor(s, regime);
      const RunResult c = run_connector(s, regime, rep);
      std::printf(" %s\n", regime.name);
      print_run("floor", rep, f);
      print_run("connector", rep, c);
      complete = complete && f.complete && c.complete;
      Series& x = series[k];
      x.floor.push_back(f.rate());
      x.conn.push_back(c.rate());
      x.ratio.push_back(c.rate() / f.rate());
      x.floor_busy.push_back(f.consumer_cpu_s / f.seconds);
      x.floor_sim.push_back((f.process_cpu_s - f.consumer_cpu_s) / f.seconds);
      x.conn_busy.push_back(c.consumer_cpu_s / c.seconds);
      x.floor_cpu.push_back(f.cpu_us_per_message());
      x.conn_cpu.push_back(c.cpu_us_per_message());
      if (s.scrape) {
        const RunResult m = run_connector(s, regime, rep, true);
        print_run("conn+scrape", rep, m);
        complete = complete && m.complete;
        x.scraped.push_back(m.rate());
        x.scraped_ratio.push_back(m.rate() / c.rate());
      }
    }
  }
  const auto spread = [](const std::vector<double>& v) {
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return fmt::format("{:.0f}..{:.0f}", *lo, *hi);
  };
  std::printf("\nmedians over %d runs (min..max):\n", s.reps);
  std::printf("  generator alone  %9.0f msg/s  (%s)\n", median(gen), spread(gen).c_str());
  for (std::size_t k = 0; k < regimes.size(); ++k) {
    const Series& x = series[k];
    std::printf(" %s (%llu messages)\n", regimes[k].name, static_cast<unsigned long long>(regimes[k].count));
    std::printf("  floor            %9.0f msg/s  (%s)  reader busy %.0f%% (%.2f us CPU/msg), simulator thread %.0f%% of a core\n",
                median(x.floor), spread(x.floor).c_str(), 100 * median(x.floor_busy), median(x.floor_cpu),
                100 * median(x.floor_sim));
    std::printf("  connector        %9.0f msg/s  (%s)  feed thread busy %.0f%% (%.2f us CPU/msg)\n", median(x.conn),
                spread(x.conn).c_str(), 100 * median(x.conn_busy), median(x.conn_cpu));
    const auto [rlo, rhi] = std::minmax_element(x.ratio.begin(), x.ratio.end());
    std::printf("  connector/floor  %.2f (per-pair %.2f..%.2f; target >= 0.5, issue 14)\n", median(x.conn) / median(x.floor),
                *rlo, *rhi);
    // If the consumers were the limit, throughput would be 1 / CPU per message.
    std::printf("  consumer-bound ratio (floor CPU/msg / connector CPU/msg)  %.2f\n",
                median(x.floor_cpu) / median(x.conn_cpu));
    if (!x.scraped.empty()) {
      const auto [slo, shi] = std::minmax_element(x.scraped_ratio.begin(), x.scraped_ratio.end());
      std::printf("  conn+scrape      %9.0f msg/s  (%s)  conn+scrape/connector %.3f (per-pair %.3f..%.3f)\n",
                  median(x.scraped), spread(x.scraped).c_str(), median(x.scraped) / median(x.conn), *slo, *shi);
    }
  }
  std::printf("load average at end: %s\n", load_average().c_str());
  if (!capture.empty()) std::filesystem::remove(capture);
  if (!complete) std::printf("INCOMPLETE: a run lost its connection before consuming every message (see above)\n");
  return complete ? 0 : 1;
}
