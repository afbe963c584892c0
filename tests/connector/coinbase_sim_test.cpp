// The simulator's Coinbase Advanced Trade dialect against the coinbase
// adapter, end to end: a real Simulator (websocket on 127.0.0.1, random port)
// and a separate `tickwire run` process journaling it. The books the journal
// holds (its latest snapshot, then its deltas) end equal to the simulator's
// published book; every trade the simulator sent is journaled exactly once,
// the market_trades snapshot a (re)subscription starts with included; a
// withheld message (the `gap` fault: a sequence_num jump) is a feed gap and a
// book gap, and the resubscribed snapshot heals the book; a connection that
// does not subscribe within the deadline is closed; a snapshot over
// max_frame_bytes is refused before parsing.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "support/sim_truth.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/connector/simulator.hpp"
#include "tickwire/journal/tailer.hpp"

namespace tickwire {
namespace {

using testing::canonical_decimal;

struct Record {
  std::uint64_t seq = 0;
  std::string kind, symbol, status, detail;
  std::uint64_t trade_id = 0, from_id = 0, to_id = 0;
  testing::LevelList bids, asks;
};

Record parse_record(simdjson::dom::parser& parser, const std::string& json) {
  Record r;
  simdjson::dom::object o = parser.parse(json).get_object().value();
  r.seq = o["seq"].get_uint64().value();
  r.kind = std::string(o["kind"].get_string().value());
  std::string_view s;
  if (o["symbol"].get_string().get(s) == simdjson::SUCCESS) r.symbol = std::string(s);
  if (o["status"].get_string().get(s) == simdjson::SUCCESS) r.status = std::string(s);
  if (o["detail"].get_string().get(s) == simdjson::SUCCESS) r.detail = std::string(s);
  std::uint64_t n = 0;
  if (o["trade_id"].get_uint64().get(n) == simdjson::SUCCESS) r.trade_id = n;
  if (o["from_id"].get_uint64().get(n) == simdjson::SUCCESS) r.from_id = n;
  if (o["to_id"].get_uint64().get(n) == simdjson::SUCCESS) r.to_id = n;
  for (auto [key, out] : {std::pair{"bids", &r.bids}, std::pair{"asks", &r.asks}}) {
    simdjson::dom::array levels;
    if (o[key].get_array().get(levels) != simdjson::SUCCESS) continue;
    for (simdjson::dom::array l : levels) {
      out->emplace_back(std::string(l.at(0).get_string().value()), std::string(l.at(1).get_string().value()));
    }
  }
  return r;
}

testing::Book truth_book(const connector::SimBook& sb) {
  testing::Book truth;
  for (const auto& l : sb.bids) {
    truth.bids[canonical_decimal(connector::SimMarket::format_units(l.price))] =
        canonical_decimal(connector::SimMarket::format_units(l.qty));
  }
  for (const auto& l : sb.asks) {
    truth.asks[canonical_decimal(connector::SimMarket::format_units(l.price))] =
        canonical_decimal(connector::SimMarket::format_units(l.qty));
  }
  return truth;
}

class CoinbaseSim : public ::testing::Test {
 protected:
  CoinbaseSim() {
    sim_.venue = "coinbase";
    sim_.symbols = {"BTC-USD", "ETH-USD"};
    sim_.rate = 3000;
    sim_.seed = 17;
    sim_.count = 3000;
    sim_.record_path = (dir_ / "truth.ndjson").string();
    sim_.epoch_ms = connector::SimMarket::kDefaultEpochMs;
    sim_.depth_interval_ms = 20;
    sim_.max_incoming_per_s = 8;
  }

  // run: the simulator and `tickwire run` until the journal's books equal the
  // simulator's and every trade of the record is journaled; then the
  // connector is stopped and journal_ / log_ are filled.
  void run() {
    connector::Simulator sim(sim_);
    auto port = sim.start();
    ASSERT_TRUE(port.ok()) << port.status();
    std::filesystem::create_directories(dir_ / "data");
    const auto config = dir_ / "coinbase.toml";
    std::string symbols;
    for (const auto& s : sim_.symbols) symbols += (symbols.empty() ? "\"" : ", \"") + s + "\"";
    std::ofstream(config) << "env = \"test\"\n[[feeds]]\nname = \"cb\"\nexchange = \"coinbase\"\n"
                          << "url = \"ws://127.0.0.1:" << *port << "/\"\nsymbols = [" << symbols << "]\n"
                          << "channels = [\"level2\", \"market_trades\", \"ticker\"]\n" << feed_extra_
                          << "backoff_initial_ms = 20\nbackoff_max_ms = 200\n[journal]\ndir = \""
                          << (dir_ / "data").string() << "\"\nfsync = \"none\"\nring_bytes = \"1MiB\"\n"
                          << "segment_bytes = \"4MiB\"\n[status]\ninterval_ms = 3600000\nheartbeat_ms = 0\n";
    const auto log_path = dir_ / "connector.log";
    testing::Subprocess connector({TICKWIRE_BINARY, "run", "-c", config.string()}, log_path.string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (sim.sent() < sim_.count) {
      ASSERT_FALSE(connector.wait(std::chrono::milliseconds(0)).has_value())
          << "the connector exited early; its log:\n" << testing::read_text(log_path);
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the simulator published " << sim.sent() << " of " << sim_.count << "; connector log:\n"
          << testing::read_text(log_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }
    std::map<std::string, testing::Book> truth;
    for (const auto& s : sim_.symbols) {
      auto book = sim.book(s);
      ASSERT_TRUE(book.ok()) << book.status();
      truth[s] = truth_book(*book);
    }
    truth_trades_ = read_truth_trades();
    auto tailer = journal::Tailer::open(dir_ / "data");
    ASSERT_TRUE(tailer.ok()) << tailer.status();
    simdjson::dom::parser parser;
    std::map<std::string, testing::Book> books;  // the journal's, as it stands
    std::set<std::uint64_t> journaled;
    const auto complete = [&] {
      for (const auto& s : sim_.symbols) {
        if (!books[s].same_levels(truth[s])) return false;
      }
      for (std::uint64_t id : truth_trades_) {
        if (require_trades_ && journaled.count(id) == 0) return false;
      }
      return true;
    };
    while (!complete()) {
      auto next = tailer->poll();
      ASSERT_TRUE(next.ok()) << next.status();
      if (*next) {
        if ((*next)->type != connector::kEnvelopeRecordType) continue;
        auto json = connector::envelope_to_json((*next)->payload);
        ASSERT_TRUE(json.ok()) << json.status();
        Record r = parse_record(parser, *json);
        if (r.kind == "book_snapshot") books[r.symbol] = testing::Book{};
        if (r.kind == "book_snapshot" || r.kind == "book_delta") books[r.symbol].apply(r.bids, r.asks);
        if (r.kind == "trade") journaled.insert(r.trade_id);
        journal_.push_back(std::move(r));
        continue;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the journal never reached the simulator's books and trades; connector log:\n"
          << testing::read_text(log_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }
    connector.kill(SIGTERM);
    const auto status = connector.wait();
    ASSERT_TRUE(status.has_value()) << "the connector did not stop on SIGTERM";
    log_ = testing::read_text(log_path);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << log_;
    sim.stop();
  }

  // read_truth_trades: the trade ids of the record's market_trades updates,
  // but those of a message a fault kept from the connector (it may get them
  // from the next subscription's snapshot, or never: Coinbase resends none).
  std::vector<std::uint64_t> read_truth_trades() const {
    std::vector<std::uint64_t> sent;
    std::set<std::uint64_t> lost;
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::object o;
      if (parser.parse(line).get_object().get(o) != simdjson::SUCCESS) continue;
      std::string_view stream;
      if (o["sim"].get_string().get(stream) == simdjson::SUCCESS) {
        if (o["stream"].get_string().get(stream) == simdjson::SUCCESS && stream.starts_with("market_trades.")) {
          for (auto id = o["first_id"].get_uint64().value(); id <= o["last_id"].get_uint64().value(); ++id) {
            lost.insert(id);
          }
        }
        continue;
      }
      std::vector<std::uint64_t>& out = sent;
      std::string_view channel;
      if (o["channel"].get_string().get(channel) != simdjson::SUCCESS || channel != "market_trades") continue;
      const simdjson::dom::array events = o["events"].get_array().value();
      for (simdjson::dom::object e : events) {
        const simdjson::dom::array trades = e["trades"].get_array().value();
        for (simdjson::dom::object t : trades) {
          out.push_back(std::stoull(std::string(t["trade_id"].get_string().value())));
        }
      }
    }
    std::vector<std::uint64_t> out;
    for (std::uint64_t id : sent) {
      if (lost.count(id) == 0) out.push_back(id);
    }
    return out;
  }

  // each_trade_once: no trade id is journaled twice.
  void expect_each_trade_once() const {
    std::map<std::uint64_t, int> seen;
    for (const auto& r : journal_) {
      if (r.kind == "trade") ++seen[r.trade_id];
    }
    for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "trade " << id << " journaled " << n << " times";
    if (require_trades_) {
      EXPECT_GE(seen.size(), truth_trades_.size());
    }
  }

  std::vector<const Record*> statuses(std::string_view status) const {
    std::vector<const Record*> out;
    for (const auto& r : journal_) {
      if (r.kind == "status" && r.status == status) out.push_back(&r);
    }
    return out;
  }

  testing::TempDir dir_{"tickwire-coinbase-sim"};
  connector::SimulatorOptions sim_;
  std::string feed_extra_;
  bool require_trades_ = true;  // wait for every trade of the record (not when a fault keeps some away)
  std::vector<Record> journal_;
  std::vector<std::uint64_t> truth_trades_;
  std::string log_;
};

TEST_F(CoinbaseSim, RunJournalsTheBooksAndEveryTradeOnceAsTheSimulatorHasThem) {
  run();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(statuses("gap").empty()) << log_;
  EXPECT_TRUE(statuses("rejected").empty()) << log_;
  expect_each_trade_once();
  EXPECT_GT(truth_trades_.size(), 100u);
  std::size_t quotes = 0;
  for (const auto& r : journal_) quotes += r.kind == "quote" ? 1 : 0;
  EXPECT_GT(quotes, 0u);
}

TEST_F(CoinbaseSim, Level2ProductsBeyondOneConnectionAreSpreadOverConnectionsAndEveryBookEndsWhole) {
  // 18 products: the simulator refuses "too many L2 streams" above 16 on one
  // connection, as Coinbase does; the default 10 per connection makes two.
  sim_.symbols.clear();
  for (const char* base : {"BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "AVAX", "LINK", "DOT", "LTC", "BCH", "UNI",
                           "ATOM", "XLM", "ETC", "FIL", "AAVE", "NEAR"}) {
    sim_.symbols.push_back(std::string(base) + "-USD");
  }
  sim_.count = 4000;
  run();
  ASSERT_FALSE(HasFatalFailure());
  // run() returned: every book of the 18 equals the simulator's and every trade is journaled.
  EXPECT_THAT(log_, ::testing::HasSubstr("feed 'cb': 18 symbols on 2 connections of at most 10 (feeds 'cb' to 'cb-2')"));
  EXPECT_THAT(log_, ::testing::Not(::testing::HasSubstr("too many L2 streams")));
  std::set<std::string> snapshotted;
  for (const auto& r : journal_) {
    if (r.kind == "book_snapshot") snapshotted.insert(r.symbol);
  }
  EXPECT_EQ(snapshotted.size(), 18u);
}

TEST_F(CoinbaseSim, ALostMessageIsAGapForEveryBookAndTheResubscribedSnapshotsHealThem) {
  sim_.faults.gap.enabled = true;
  sim_.faults.gap.after = 400;
  require_trades_ = false;  // wait for the healed books; trades are checked for repeats only
  run();
  ASSERT_FALSE(HasFatalFailure());
  const auto gaps = statuses("gap");
  ASSERT_FALSE(gaps.empty()) << log_;
  bool feed_gap = false;
  std::set<std::string> books_gapped;
  for (const Record* g : gaps) {
    if (g->detail.starts_with("connection ")) feed_gap = true;
    if (g->detail.starts_with("book messages lost")) books_gapped.insert(g->symbol);
  }
  EXPECT_TRUE(feed_gap) << log_;
  EXPECT_EQ(books_gapped, (std::set<std::string>{"BTC-USD", "ETH-USD"})) << log_;
  EXPECT_NE(log_.find("resubscribing"), std::string::npos) << log_;
  expect_each_trade_once();
}

TEST_F(CoinbaseSim, ReconnectsNeverJournalTheTradeSnapshotTwice) {
  sim_.faults.close_ws.enabled = true;
  sim_.faults.close_ws.after = 500;
  sim_.faults.close_ws.max_times = 2;
  // Trades published while a connection is closing are recorded but never
  // sent (only the next snapshot's last 50 bring them back): wait for the
  // books, and check that no trade is journaled twice.
  require_trades_ = false;
  run();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GE(statuses("connected").size(), 3u) << log_;
  expect_each_trade_once();
  EXPECT_TRUE(statuses("gap").empty()) << "a new connection's sequence_num is its own\n" << log_;
}

TEST_F(CoinbaseSim, AChannelGoneQuietWithHeartbeatsStillComingIsRestartedByTheStaleWatchdog) {
  sim_.faults.quiet.enabled = true;
  sim_.faults.quiet.after = 300;
  feed_extra_ = "stale_after_ms = 1000\n";
  require_trades_ = false;  // the quiet connection's trades are recorded, never sent
  run();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_NE(log_.find("no data for 1000 ms"), std::string::npos) << log_;
  EXPECT_GE(statuses("connected").size(), 2u) << log_;
  expect_each_trade_once();
}

TEST(CoinbaseSimServer, ClosesAConnectionThatDoesNotSubscribeInTime) {
  connector::SimulatorOptions so;
  so.venue = "coinbase";
  so.symbols = {"BTC-USD"};
  so.subscribe_deadline_ms = 200;
  connector::Simulator sim(so);
  auto port = sim.start();
  ASSERT_TRUE(port.ok()) << port.status();
  namespace beast = boost::beast;
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  beast::websocket::stream<boost::asio::ip::tcp::socket> ws(io);
  boost::asio::connect(ws.next_layer(), resolver.resolve("127.0.0.1", std::to_string(*port)));
  ws.handshake("127.0.0.1", "/");
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);  // blocks until the server closes: no data is sent before a subscribe
  EXPECT_EQ(ec, beast::websocket::error::closed) << ec.message();
  EXPECT_EQ(ws.reason().code, beast::websocket::close_code::policy_error);
}

// The shutdown_notice fault sends the venue's own notice; Bybit, Kraken and
// Coinbase send none, so their dialects refuse it with the reason.
TEST(CoinbaseSimServer, RefusesTheShutdownNoticeFaultOfAVenueThatSendsNone) {
  for (const char* venue : {"coinbase", "kraken", "bybit"}) {
    connector::SimulatorOptions so;
    so.venue = venue;
    so.symbols = {std::string(venue) == "kraken" ? "BTC/USD" : std::string(venue) == "bybit" ? "BTCUSDT" : "BTC-USD"};
    ASSERT_TRUE(connector::parse_fault("shutdown_notice:10", so.faults).ok());
    connector::Simulator sim(so);
    const auto port = sim.start();
    ASSERT_FALSE(port.ok()) << venue;
    EXPECT_NE(port.status().message().find("sends no notice"), std::string::npos) << port.status();
  }
}

TEST(CoinbaseSimServer, NumbersEveryMessageOfAConnectionAndAnswersEachSubscribe) {
  connector::SimulatorOptions so;
  so.venue = "coinbase";
  so.symbols = {"BTC-USD"};
  so.heartbeat_interval_ms = 50;
  connector::Simulator sim(so);
  auto port = sim.start();
  ASSERT_TRUE(port.ok()) << port.status();
  namespace beast = boost::beast;
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  beast::websocket::stream<boost::asio::ip::tcp::socket> ws(io);
  boost::asio::connect(ws.next_layer(), resolver.resolve("127.0.0.1", std::to_string(*port)));
  ws.handshake("127.0.0.1", "/");
  ws.write(boost::asio::buffer(std::string(R"({"type":"subscribe","channel":"heartbeats"})")));
  ws.write(boost::asio::buffer(std::string(R"({"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"})")));
  simdjson::dom::parser parser;
  std::map<std::string, int> channels;
  for (std::uint64_t expected = 0; expected < 8; ++expected) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    const std::string text = beast::buffers_to_string(buffer.data());
    simdjson::dom::object o = parser.parse(text).get_object().value();
    EXPECT_EQ(o["sequence_num"].get_uint64().value(), expected) << text;
    ++channels[std::string(o["channel"].get_string().value())];
  }
  EXPECT_EQ(channels["subscriptions"], 2);
  EXPECT_GE(channels["l2_data"], 1);
  EXPECT_GE(channels["heartbeats"], 1);
  ws.write(boost::asio::buffer(std::string(R"({"type":"subscribe","product_ids":["XYZ-USD"],"channel":"level2"})")));
  for (;;) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    const std::string text = beast::buffers_to_string(buffer.data());
    if (text.find(R"("type":"error")") == std::string::npos) continue;
    EXPECT_NE(text.find("unknown product XYZ-USD"), std::string::npos) << text;
    break;
  }
}

TEST(CoinbaseSimRun, SimUrlStartsTheEmbeddedSimulatorAndASmallFrameLimitRefusesTheSnapshot) {
  testing::TempDir dir("tickwire-coinbase-run");
  const auto write_config = [&](std::string_view extra) {
    std::ofstream(dir / "c.toml") << "env = \"test\"\n[[feeds]]\nname = \"cb\"\nexchange = \"coinbase\"\n"
                                  << "url = \"sim://\"\nsymbols = [\"BTC-USD\", \"ETH-USD\"]\n"
                                  << "channels = [\"level2\", \"market_trades\", \"ticker\"]\n" << extra
                                  << "[simulator]\nrate = 3000\nseed = 5\ncount = 4000\n"
                                  << "[journal]\ndir = \"" << (dir / "data").string() << "\"\nfsync = \"none\"\n"
                                  << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[metrics]\nlisten = \"\"\n";
  };
  write_config("");
  auto run = testing::run_command({"/bin/sh", "-c",
                                   fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                               (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("embedded coinbase simulator"), std::string::npos) << run.out;
  auto replay = testing::run_command({TICKWIRE_BINARY, "replay", (dir / "data").string(), "--format", "jsonl"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  std::map<std::string, std::uint64_t> kinds;
  simdjson::dom::parser parser;
  std::istringstream lines(replay.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const Record r = parse_record(parser, line);
    ++kinds[r.kind == "status" ? "status " + r.status : r.kind];
  }
  for (const char* kind : {"trade", "quote", "book_snapshot", "book_delta"}) {
    EXPECT_GT(kinds[kind], 0u) << kind << " never journaled; replay:\n" << replay.out.substr(0, 4000);
  }
  EXPECT_EQ(kinds["status gap"], 0u);
  EXPECT_EQ(kinds["status rejected"], 0u) << replay.out.substr(0, 4000);
  // The same market with a 1 KiB frame limit: each level2 snapshot (20-60 levels a side) is refused
  // before parsing, so no book is ever journaled; the refusals are.
  std::filesystem::remove_all(dir / "data");
  write_config("max_frame_bytes = 1024\n");
  run = testing::run_command({"/bin/sh", "-c",
                              fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                          (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  replay = testing::run_command({TICKWIRE_BINARY, "replay", (dir / "data").string(), "--format", "jsonl"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  kinds.clear();
  std::istringstream again(replay.out);
  for (std::string line; std::getline(again, line);) {
    if (line.empty()) continue;
    const Record r = parse_record(parser, line);
    ++kinds[r.kind == "status" ? "status " + r.status : r.kind];
  }
  EXPECT_EQ(kinds["book_snapshot"], 0u);
  EXPECT_GT(kinds["status rejected"], 0u) << replay.out.substr(0, 4000);
}

}  // namespace
}  // namespace tickwire
