// A replayed capture serves a consistent book: the connector's own Binance
// book sync (WsSession + FeedPipeline + RestClient, as the runner wires them)
// succeeds against `Simulator` replaying an NDJSON capture at full speed,
// and the book it ends with equals the book the capture's snapshot lines and
// depth diffs describe (the generating SimMarket's own book).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <simdjson.h>

#include "support/temp_dir.hpp"
#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/rest_client.hpp"
#include "tickwire/connector/sim_market.hpp"
#include "tickwire/connector/simulator.hpp"
#include "tickwire/connector/ws_session.hpp"
#include "tickwire/connector/ws_url.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/middleware/decimal.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/pool_allocator.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {
namespace {

namespace asio = boost::asio;

const std::vector<std::string> kSymbols = {"BTCUSDT", "ETHUSDT"};
const std::vector<std::string> kChannels = {"trade", "bookTicker", "depth@100ms"};

// snapshot_line: the capture's snapshot line for `book`.
std::string snapshot_line(const std::string& symbol, const SimBook& book) {
  const std::string json = SimMarket::depth_json(book);  // {"lastUpdateId":..,"bids":..,"asks":..}
  return fmt::format(R"({{"sim":"snapshot","symbol":"{}",{})", symbol, json.substr(1));
}

// write_capture: at least `count` subscribed-channel messages of a seeded
// market in the combined form (whole batches, so that the market's book is
// exactly the last diff's; `count` becomes how many), with one snapshot line
// per symbol as of `snapshot_at` messages written, put into the file after
// `line_at` messages (>= snapshot_at: as a recorder writes a REST answer
// that arrives after newer diffs); returns the market, the truth.
std::unique_ptr<SimMarket> write_capture(const std::filesystem::path& path, std::size_t& count,
                                         std::size_t snapshot_at = 0, std::size_t line_at = 0) {
  auto market = std::make_unique<SimMarket>(kSymbols, 5000, 11, SimMarket::kDefaultEpochMs, 1);
  std::ofstream out(path);
  std::vector<std::string> snapshots;
  bool written = false;
  std::vector<SimMarket::Message> batch;
  std::size_t n = 0;
  for (;;) {
    if (snapshots.empty() && n >= snapshot_at) {
      for (std::size_t i = 0; i < kSymbols.size(); ++i) {
        snapshots.push_back(snapshot_line(kSymbols[i], market->published_book(i)));
      }
    }
    if (!written && !snapshots.empty() && n >= line_at) {
      for (const auto& line : snapshots) out << line << "\n";
      written = true;
    }
    if (n >= count) break;
    batch.clear();
    market->advance(batch);
    for (const auto& m : batch) {
      if (m.channel == SimChannel::kAggTrade) continue;
      out << m.text << "\n";
      ++n;
    }
  }
  count = n;
  return market;
}

// Units: a decimal in 10^-8, as SimLevel holds it.
std::int64_t units(const Decimal& d) {
  std::int64_t v = d.mantissa;
  for (int e = d.exponent; e < -8; ++e) v /= 10;
  for (int e = d.exponent; e > -8; --e) v *= 10;
  return v;
}

std::vector<SimLevel> side_of(const book::OrderBook& b, book::BookSide side) {
  std::vector<SimLevel> out;
  for (const PriceLevel& l : b.levels(side)) out.push_back({units(l.price), units(l.size)});
  return out;
}

// Counting: the pipeline behind a counter of data frames; done once `want`
// frames went through it and every symbol's book is synced.
class Counting final : public SessionHandler {
 public:
  Counting(FeedPipeline& p, asio::io_context& io, std::size_t want, std::vector<std::string> symbols)
      : p_(p), poll_(io), want_(want), symbols_(std::move(symbols)) {}
  void on_connected() override { p_.on_connected(); }
  void on_frame(const char* d, std::size_t n, std::uint64_t rx, std::uint32_t g) override {
    p_.on_frame(d, n, rx, g);
    if (++frames_ == want_) check();
  }
  void on_disconnected(std::string_view reason) override {
    p_.on_disconnected(reason);
    if (done_.load(std::memory_order_relaxed)) return;  // our own shutdown; relaxed: written on this thread
    ADD_FAILURE() << "disconnected after " << frames_ << " frames: " << reason;
    finish();
  }
  void on_backoff(std::chrono::milliseconds d, std::string_view c) override { p_.on_backoff(d, c); }
  void on_subscribed(std::uint32_t g, std::size_t s, bool r) override { p_.on_subscribed(g, s, r); }
  void on_rollover_candidate(std::uint32_t a, std::uint32_t b) override { p_.on_rollover_candidate(a, b); }
  void on_rollover_started(std::uint32_t a, std::uint32_t b, std::string_view r) override {
    p_.on_rollover_started(a, b, r);
  }
  void on_rollover_finished(std::uint32_t a, std::uint32_t b, bool o) override { p_.on_rollover_finished(a, b, o); }
  void on_rollover_failed(std::uint32_t g, std::string_view r) override { p_.on_rollover_failed(g, r); }

  void wait() const {
    while (!done_.load(std::memory_order_acquire)) done_.wait(false, std::memory_order_acquire);  // acquire: pairs with finish()
  }
  std::size_t frames() const { return frames_; }

 private:
  // check: the last snapshot may still be in flight after the last frame;
  // look again after each tick of the feed thread's timer until it landed.
  void check() {
    for (const auto& s : symbols_) {
      if (p_.book(s) == nullptr) {
        poll_.expires_after(std::chrono::milliseconds(1));
        poll_.async_wait([this](boost::system::error_code ec) {
          if (!ec) check();
        });
        return;
      }
    }
    finish();
  }
  void finish() {
    done_.store(true, std::memory_order_release);  // release: pairs with wait()
    done_.notify_all();
  }

  FeedPipeline& p_;
  asio::steady_timer poll_;
  std::size_t want_;
  std::vector<std::string> symbols_;
  std::size_t frames_ = 0;
  std::atomic<bool> done_{false};
};

// sync_on_replay: replays `capture` at full speed into a real pipeline and
// returns, per symbol, whether the pipeline's synced book equals the
// simulator's replay book and `truth` (if given), subscribed to `symbols`
// and `channels`; `count` is how many frames of those streams the capture has.
void sync_on_replay(const std::filesystem::path& capture, std::size_t count, const testing::TempDir& dir,
                    const std::function<SimBook(std::size_t)>& truth,
                    const std::vector<std::string>& symbols = kSymbols,
                    const std::vector<std::string>& channels = kChannels) {
  SimulatorOptions so;
  so.replay_path = capture.string();
  so.replay_speed = 0;
  so.ping_interval_ms = 0;
  Simulator sim(so);
  auto port = sim.start();
  ASSERT_TRUE(port.ok()) << port.status();

  middleware::Profiler profiler;
  const auto cal = middleware::TscClock::global().calibration();
  journal::Options jo;
  jo.dir = dir.path() / "journal";
  jo.feed = "binance";
  jo.clock = {cal.tsc_anchor, cal.mono_anchor_ns, cal.wall_anchor_ns, cal.ns_per_tick};
  jo.fsync = journal::FsyncPolicy::kNone;
  jo.profiler = &profiler;
  auto journal = journal::Journal::open(jo);
  ASSERT_TRUE(journal.ok()) << journal.status();

  config::FeedConfig feed;
  feed.name = "binance";
  feed.exchange = "binance";
  feed.url = fmt::format("ws://127.0.0.1:{}/stream", *port);
  feed.symbols = symbols;
  feed.channels = channels;
  feed.depth_limit = 5000;  // every level of a real book, as sim.book() gives it
  Sequencer sequencer((*journal)->next_seq());
  middleware::InProcessTransport transport;
  PipelineCounters counters;
  middleware::BufferPool buffers;
  FeedPipeline pipeline(feed, "test", {sequencer, transport, **journal, counters, profiler, buffers});
  ASSERT_TRUE(pipeline.ok().ok()) << pipeline.ok();

  asio::io_context io(1);
  Counting handler(pipeline, io, count, symbols);
  SessionOptions opts;
  auto url = parse_ws_url(feed.url);
  ASSERT_TRUE(url.ok()) << url.status();
  opts.url = *url;
  opts.url.target = with_streams(opts.url.target, symbols, channels);
  opts.jitter_seed = 1;
  RestClient rest(io, RestOptions{});
  WsSession session(io, opts, handler);
  pipeline.attach({&io, &session, &rest, fmt::format("http://127.0.0.1:{}", *port)});
  session.start();
  std::thread feed_thread([&] { io.run(); });
  handler.wait();

  // Compare on the feed thread, which owns the books; the replay has ended
  // (every frame arrived), so the simulator's book is final.
  std::atomic<bool> compared{false};
  asio::post(io, [&] {
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      const auto& s = symbols[i];
      const book::OrderBook* got = pipeline.book(s);
      auto served = sim.book(s);
      if (got == nullptr || !served.ok()) {
        ADD_FAILURE() << s << ": no synced book or no replay book: " << served.status();
        continue;
      }
      EXPECT_EQ(side_of(*got, book::BookSide::kBid), served->bids) << s;
      EXPECT_EQ(side_of(*got, book::BookSide::kAsk), served->asks) << s;
      EXPECT_FALSE(served->bids.empty()) << s;
      if (truth) {
        const SimBook want = truth(i);
        EXPECT_EQ(*served, want) << s << ": the replay book is not the generating market's";
      }
    }
    EXPECT_EQ(counters.gaps.load(std::memory_order_relaxed), 0u);  // relaxed: feed thread
    pipeline.stop();
    rest.close();
    compared.store(true, std::memory_order_release);  // release: pairs with the load below
  });
  session.stop();
  feed_thread.join();
  EXPECT_TRUE(compared.load(std::memory_order_acquire));
  EXPECT_EQ(handler.frames(), count);
  sim.stop();
  ASSERT_TRUE((*journal)->close().ok());
}

TEST(SimReplayBook, ConnectorSyncsOnAFullSpeedReplayFromSnapshotLines) {
  testing::TempDir dir("tickwire-replay-book");
  const auto capture = dir.path() / "capture.ndjson";
  std::size_t count = 20'000;
  auto market = write_capture(capture, count);
  sync_on_replay(capture, count, dir, [&](std::size_t i) { return market->published_book(i); });
}

TEST(SimReplayBook, ConnectorSyncsWhenASnapshotLineFollowsNewerDiffs) {
  // The snapshot is of the book as of message 3000 but written after message
  // 5000, as a recorder writes a REST answer that arrived late. A request
  // before the line gets 503 and is retried; one after it gets the snapshot
  // with the 2000 messages' diffs applied again, never a book missing them.
  testing::TempDir dir("tickwire-replay-book");
  const auto capture = dir.path() / "capture.ndjson";
  std::size_t count = 20'000;
  auto market = write_capture(capture, count, 3'000, 5'000);
  sync_on_replay(capture, count, dir, [&](std::size_t i) { return market->published_book(i); });
}

// side_units: a REST `[["price","qty"],..]` array into `side` (price -> qty in 10^-8).
void side_units(simdjson::dom::array levels, std::map<std::int64_t, std::int64_t>& side) {
  for (simdjson::dom::element level : levels) {
    Decimal price, qty;
    ASSERT_EQ(middleware::parse_decimal(std::string_view(level.at(0)), price), middleware::DecimalError::kOk);
    ASSERT_EQ(middleware::parse_decimal(std::string_view(level.at(1)), qty), middleware::DecimalError::kOk);
    if (units(qty) == 0) {
      side.erase(units(price));
    } else {
      side[units(price)] = units(qty);
    }
  }
}

TEST(SimReplayBook, ConnectorSyncsOnARealCryptofeedCaptureWhoseRestAnswerFollowsANewerDiff) {
  // Real NKNUSDT messages (cryptofeed, 2021), written as cryptofeed's raw
  // data collection writes them (`<ts>: {..}`, the REST answer as
  // `<url> -> <ts>: {..}`), the REST answer after the second depth diff,
  // which is newer than it. The book must be the snapshot with every diff
  // after it (the documented procedure: 1 discarded, 149 applied).
  const std::filesystem::path fixtures = TICKWIRE_FIXTURES_DIR;
  if (!std::filesystem::exists(fixtures / "binance" / "combined_stream.cryptofeed2021.json")) {
    GTEST_SKIP() << "no exchange fixtures at " << fixtures;
  }
  std::ifstream rest(fixtures / "binance" / "depth_snapshot_rest.cryptofeed2021.json");
  std::string snapshot;
  ASSERT_TRUE(std::getline(rest, snapshot));
  testing::TempDir dir("tickwire-replay-book");
  const auto capture = dir.path() / "capture.ndjson";
  std::ofstream out(capture);
  simdjson::dom::parser parser;
  std::map<std::int64_t, std::int64_t> bids, asks;
  simdjson::dom::element snap = parser.parse(snapshot);
  const std::uint64_t snapshot_id = snap["lastUpdateId"].get_uint64();
  side_units(snap["bids"], bids);
  side_units(snap["asks"], asks);
  std::uint64_t book_id = snapshot_id;
  std::size_t count = 0, diffs = 0, applied = 0;
  std::uint64_t ms = 0;
  std::ifstream in(fixtures / "binance" / "combined_stream.cryptofeed2021.json");
  for (std::string line; std::getline(in, line);) {
    simdjson::dom::element doc = parser.parse(line);
    const std::string_view stream = doc["stream"].get_string();
    if (std::uint64_t e = 0; doc["data"]["E"].get_uint64().get(e) == simdjson::SUCCESS) ms = e;
    out << fmt::format("{}.{:03}: ", ms / 1000, ms % 1000) << line << "\n";
    if (stream != "nknusdt@depth@100ms" && stream != "nknusdt@bookTicker") continue;
    ++count;
    if (stream == "nknusdt@bookTicker") continue;
    if (++diffs == 2) {
      out << fmt::format("https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000 -> {}.{:03}: ", ms / 1000,
                         ms % 1000)
          << snapshot << "\n";
    }
    const std::uint64_t u = doc["data"]["u"].get_uint64();
    if (u <= snapshot_id) continue;
    side_units(doc["data"]["b"], bids);
    side_units(doc["data"]["a"], asks);
    book_id = u;
    ++applied;
  }
  out.close();
  ASSERT_EQ(applied, 149u);
  SimBook want;
  want.last_update_id = book_id;
  for (auto p = bids.rbegin(); p != bids.rend(); ++p) want.bids.push_back({p->first, p->second});
  for (const auto& [price, qty] : asks) want.asks.push_back({price, qty});
  sync_on_replay(capture, count, dir, [&](std::size_t) { return want; }, {"NKNUSDT"}, {"bookTicker", "depth@100ms"});
}

}  // namespace
}  // namespace tickwire::connector
