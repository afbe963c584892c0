// The simulator's Kraken v2 dialect against the kraken adapter, end to end: a
// real Simulator (websocket on 127.0.0.1, random port) speaking Kraken, and a
// separate `tickwire run` process journaling it. The books the journal holds
// (its snapshot, then its deltas) end equal to the simulator's depth-10 book,
// and after every record they pass the checksum the simulator sent for that
// step (computed by the connector's function at the precision the recorded
// instrument channel gave); every trade is journaled once. Each Kraken fault
// is detected and healed: a corrupted checksum is a Status gap and the
// resubscribed snapshot makes the book whole, a withheld trade is a trade id
// gap, a level left beyond the depth is cut, a precision change on the
// instrument channel is followed without a mismatch.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

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
#include "tickwire/connector/book/order_book.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/connector/simulator.hpp"
#include "tickwire/connector/venues/kraken/parser.hpp"
#include "tickwire/journal/tailer.hpp"

namespace tickwire {
namespace {

using testing::canonical_decimal;

struct Record {
  std::uint64_t seq = 0;
  std::string kind, symbol, status, detail;
  std::uint64_t trade_id = 0;
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
  for (auto [key, out] : {std::pair{"bids", &r.bids}, std::pair{"asks", &r.asks}}) {
    simdjson::dom::array levels;
    if (o[key].get_array().get(levels) != simdjson::SUCCESS) continue;
    for (simdjson::dom::array l : levels) {
      out->emplace_back(std::string(l.at(0).get_string().value()), std::string(l.at(1).get_string().value()));
    }
  }
  return r;
}

std::vector<connector::PriceLevel> to_levels(const testing::LevelList& list) {
  std::vector<connector::PriceLevel> out;
  for (const auto& [p, q] : list) {
    connector::PriceLevel l;
    EXPECT_EQ(middleware::parse_decimal(p, l.price), middleware::DecimalError::kOk) << p;
    EXPECT_EQ(middleware::parse_decimal(q, l.size), middleware::DecimalError::kOk) << q;
    out.push_back(l);
  }
  return out;
}

// TruthBook: one book message of the simulator's record: its levels and checksum.
struct TruthBook {
  std::uint32_t checksum = 0;
  std::size_t line = 0;
};

class KrakenSim : public ::testing::Test {
 protected:
  KrakenSim() {
    sim_.venue = "kraken";
    sim_.symbols = {"BTC/USD", "ETH/USD"};
    sim_.rate = 4000;
    sim_.seed = 11;
    sim_.count = 3000;
    sim_.record_path = (dir_ / "truth.ndjson").string();
    sim_.epoch_ms = connector::SimMarket::kDefaultEpochMs;
    sim_.depth_interval_ms = 20;
    sim_.max_incoming_per_s = 0;
  }

  // run: the simulator and `tickwire run` until the journal's book of every
  // symbol equals the simulator's final one and every trade the journal can
  // have is there; then the connector is stopped.
  void run() {
    connector::Simulator sim(sim_);
    auto port = sim.start();
    ASSERT_TRUE(port.ok()) << port.status();
    std::filesystem::create_directories(dir_ / "data");
    const auto config = dir_ / "kraken.toml";
    std::ofstream(config) << "env = \"test\"\n[[feeds]]\nname = \"kraken\"\nexchange = \"kraken\"\n"
                          << "url = \"ws://127.0.0.1:" << *port << "/v2\"\n"
                          << "symbols = [\"BTC/USD\", \"ETH/USD\"]\nchannels = [\"trade\", \"book.10\"]\n"
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
    for (const auto& s : sim_.symbols) {
      auto book = sim.book(s, connector::SimMarket::kKrakenDepth);
      ASSERT_TRUE(book.ok()) << book.status();
      testing::Book& truth = truth_[s];
      for (const auto& l : book->bids) {
        truth.bids[canonical_decimal(connector::SimMarket::format_units(l.price))] =
            canonical_decimal(connector::SimMarket::format_units(l.qty));
      }
      for (const auto& l : book->asks) {
        truth.asks[canonical_decimal(connector::SimMarket::format_units(l.price))] =
            canonical_decimal(connector::SimMarket::format_units(l.qty));
      }
    }
    read_truth();
    auto tailer = journal::Tailer::open(dir_ / "data");
    ASSERT_TRUE(tailer.ok()) << tailer.status();
    simdjson::dom::parser parser;
    std::map<std::string, testing::Book> books;
    std::map<std::string, std::size_t> trades;
    std::size_t expected_trades = 0;
    for (const auto& [s, n] : truth_trades_) expected_trades += n;
    expected_trades -= truth_withheld_;
    const auto complete = [&] {
      std::size_t journaled = 0;
      for (const auto& [s, n] : trades) journaled += n;
      if (journaled < expected_trades) return false;
      for (const auto& s : sim_.symbols) {
        if (!books[s].same_levels(truth_[s])) return false;
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
        if (r.kind == "trade") ++trades[r.symbol];
        journal_.push_back(std::move(r));
        continue;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the journal never reached the simulator's books; connector log:\n" << testing::read_text(log_path)
          << "\nBTC/USD journal: " << books["BTC/USD"].describe() << "\nBTC/USD sim:     "
          << truth_["BTC/USD"].describe();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }
    connector.kill(SIGTERM);
    const auto status = connector.wait();
    ASSERT_TRUE(status.has_value()) << "the connector did not stop on SIGTERM";
    log_ = testing::read_text(log_path);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << log_;
    sim.stop();
  }

  // read_truth: the record's book checksums per symbol, trades per symbol,
  // and the instrument channel's messages fed to a parser (its precisions).
  void read_truth() {
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    std::size_t n = 0;
    for (std::string line; std::getline(in, line); ++n) {
      simdjson::dom::object o;
      if (parser.parse(line).get_object().get(o) != simdjson::SUCCESS) continue;
      std::string_view sim;
      if (o["sim"].get_string().get(sim) == simdjson::SUCCESS) {
        // A withheld trade message: its trades never reach the connector.
        if (std::string_view(o["fault"].get_string().value()) == "trade_gap") {
          truth_withheld_ += o["last_id"].get_uint64().value() - o["first_id"].get_uint64().value() + 1;
        }
        continue;
      }
      std::string_view channel;
      if (o["channel"].get_string().get(channel) != simdjson::SUCCESS) continue;
      if (channel == "instrument") {
        instruments_.push_back({n, line});
        continue;
      }
      simdjson::dom::array data = o["data"].get_array().value();
      for (simdjson::dom::object e : data) {
        const std::string symbol(e["symbol"].get_string().value());
        if (channel == "trade") ++truth_trades_[symbol];
        if (channel == "book") {
          truth_books_[symbol].push_back({static_cast<std::uint32_t>(e["checksum"].get_uint64().value()), n});
        }
      }
    }
  }

  std::vector<const Record*> statuses(std::string_view status) const {
    std::vector<const Record*> out;
    for (const auto& r : journal_) {
      if (r.kind == "status" && r.status == status) out.push_back(&r);
    }
    return out;
  }

  testing::TempDir dir_{"tickwire-kraken-sim"};
  connector::SimulatorOptions sim_;
  std::vector<Record> journal_;
  std::map<std::string, testing::Book> truth_;
  std::map<std::string, std::size_t> truth_trades_;
  std::size_t truth_withheld_ = 0;  // trades of messages the trade_gap fault withheld
  std::map<std::string, std::vector<TruthBook>> truth_books_;
  std::vector<std::pair<std::size_t, std::string>> instruments_;  // record line, text
  std::string log_;
};

TEST_F(KrakenSim, RunJournalsBooksThatPassEveryChecksumAndEndEqualToTheSimulators) {
  run();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(statuses("gap").empty()) << log_;
  EXPECT_TRUE(statuses("rejected").empty()) << log_;
  ASSERT_FALSE(instruments_.empty()) << "the instrument snapshot is recorded when sent";
  std::vector<std::string> symbols = sim_.symbols;
  connector::venues::KrakenParser kraken(symbols);
  for (const auto& [line, text] : instruments_) {
    std::string padded = text + std::string(simdjson::SIMDJSON_PADDING, ' ');
    ASSERT_NE(kraken.parse(padded.data(), text.size()).event, connector::EventKind::kError) << kraken.error();
  }
  for (const auto& s : sim_.symbols) {
    // The journal's deltas after its one snapshot are the simulator's updates since the subscription.
    connector::book::OrderBook book;
    std::size_t step = 0;
    bool have = false;
    const auto& truth = truth_books_[s];
    for (const Record& r : journal_) {
      if (r.symbol != s) continue;
      if (r.kind == "book_snapshot") {
        ASSERT_FALSE(have) << s << ": one snapshot expected without faults";
        ASSERT_TRUE(book.load(to_levels(r.bids), to_levels(r.asks)));
        have = true;
      } else if (r.kind == "book_delta") {
        ASSERT_TRUE(have) << s << ": a delta before the snapshot";
        ASSERT_TRUE(book.apply(to_levels(r.bids), to_levels(r.asks)));
        ASSERT_LT(step, truth.size()) << s << ": more deltas than the simulator sent";
        EXPECT_LE(book.depth(connector::book::BookSide::kBid), 10u) << s << " at delta " << step;
        std::vector<connector::PriceLevel> bids(10), asks(10);
        bids.resize(book.top(connector::book::BookSide::kBid, bids));
        asks.resize(book.top(connector::book::BookSide::kAsk, asks));
        EXPECT_EQ(kraken.checksum(s, bids, asks), truth[step].checksum) << s << " at delta " << step;
        ++step;
      }
    }
    EXPECT_EQ(step, truth.size()) << s << ": every update the simulator sent is one delta";
    EXPECT_GT(step, 10u);
    EXPECT_EQ(book.depth(connector::book::BookSide::kBid), truth_[s].bids.size());
  }
  std::set<std::pair<std::string, std::uint64_t>> ids;
  for (const auto& r : journal_) {
    if (r.kind != "trade") continue;
    EXPECT_TRUE(ids.insert({r.symbol, r.trade_id}).second) << "trade journaled twice";
  }
  std::size_t truth_trades = 0;
  for (const auto& [s, n] : truth_trades_) truth_trades += n;
  EXPECT_EQ(ids.size(), truth_trades);
}

TEST_F(KrakenSim, EveryKrakenFaultIsDetectedAndHealed) {
  sim_.faults.checksum = {true, 300, 0.5, 1};
  sim_.faults.trade_gap = {true, 600, 0.5, 1};
  sim_.faults.beyond_depth = {true, 900, 0.5, 1};
  sim_.faults.precision = {true, 1200, 0.5, 1};
  run();
  if (HasFatalFailure()) return;
  std::size_t mismatches = 0, trade_gaps = 0;
  for (const Record* r : statuses("gap")) {
    if (r->detail.starts_with("book checksum mismatch")) ++mismatches;
    if (r->detail.find("trade ids") != std::string::npos) ++trade_gaps;
  }
  EXPECT_EQ(mismatches, 1u) << "the corrupted checksum, and nothing else (the precision change is followed)\n" << log_;
  EXPECT_EQ(trade_gaps, 1u) << log_;
  std::size_t resyncs = 0;
  for (const Record* r : statuses("resync")) resyncs += r->detail.find("book ") == 0 ? 1 : 0;
  EXPECT_EQ(resyncs, sim_.symbols.size() + 1) << "each symbol's first snapshot and the resubscription's";
  std::size_t faults = 0;
  std::ifstream in(sim_.record_path);
  for (std::string line; std::getline(in, line);) faults += line.find(R"("sim":"fault")") != std::string::npos;
  EXPECT_EQ(faults, 4u) << "every fault fired once";
}

TEST_F(KrakenSim, RequestsOverTheMessageRateAreRefusedAndSentAgainMoreSlowlyOnTheSameConnection) {
  // Five requests (the instrument channel, then trade and book of two pairs),
  // 100 ms apart, against three a second: the fourth is refused with
  // "Exceeded msg rate" until the spacing has widened enough (at most three
  // times: by its fourth try the first three have left the window).
  sim_.max_incoming_per_s = 3;
  run();
  if (HasFatalFailure()) return;
  const auto rejected = statuses("rejected");
  EXPECT_FALSE(rejected.empty()) << log_;
  for (const Record* r : rejected) EXPECT_NE(r->detail.find("Exceeded msg rate"), std::string::npos) << r->detail;
  EXPECT_TRUE(statuses("disconnected").empty()) << "the connection stays\n" << log_;
  EXPECT_EQ(statuses("subscribed").size(), 1u) << log_;
  EXPECT_NE(log_.find("control messages now 200 ms apart, sending it again (refusal 1 of at most 3)"),
            std::string::npos)
      << log_;
  EXPECT_TRUE(statuses("gap").empty()) << log_;
}

TEST(KrakenSimRun, SimUrlStartsTheEmbeddedKrakenSimulator) {
  testing::TempDir dir("tickwire-kraken-run");
  std::ofstream(dir / "c.toml")
      << "env = \"test\"\n[[feeds]]\nname = \"kr\"\nexchange = \"kraken\"\n"
      << "url = \"sim://\"\nsymbols = [\"BTC/USD\", \"XBT/EUR\"]\nchannels = [\"trade\", \"ticker\", \"book.10\"]\n"
      << "[simulator]\nrate = 4000\nseed = 5\ncount = 6000\n"
      << "[journal]\ndir = \"" << (dir / "data").string() << "\"\nfsync = \"none\"\n"
      << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[metrics]\nlisten = \"\"\n";
  auto run = testing::run_command({"/bin/sh", "-c",
                                   fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                               (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("embedded kraken simulator"), std::string::npos) << run.out;
  auto replay = testing::run_command({TICKWIRE_BINARY, "replay", (dir / "data").string(), "--format", "jsonl"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  std::map<std::string, std::uint64_t> kinds;
  std::set<std::string> instruments;
  simdjson::dom::parser parser;
  std::istringstream lines(replay.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const Record r = parse_record(parser, line);
    ++kinds[r.kind == "status" ? "status " + r.status : r.kind];
    if (line.find(R"("instrument":"BTC-EUR")") != std::string::npos) instruments.insert("BTC-EUR");
  }
  for (const char* kind : {"trade", "quote", "book_snapshot", "book_delta"}) {
    EXPECT_GT(kinds[kind], 0u) << kind << " never journaled; replay:\n" << replay.out.substr(0, 4000);
  }
  EXPECT_EQ(kinds["status gap"], 0u) << replay.out.substr(0, 4000);
  EXPECT_EQ(kinds["status rejected"], 0u) << replay.out.substr(0, 4000);
  EXPECT_EQ(instruments.count("BTC-EUR"), 1u) << "XBT/EUR is journaled as BTC-EUR";
}

}  // namespace
}  // namespace tickwire
