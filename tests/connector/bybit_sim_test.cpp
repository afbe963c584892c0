// The simulator's Bybit v5 dialect against the bybit adapter, end to end: a
// real Simulator (websocket on 127.0.0.1, random port) speaking Bybit spot or
// linear, and a separate `tickwire run` process journaling it. The books the
// journal holds (its snapshots, then its deltas) end equal to the simulator's
// published book; every trade the simulator sent is journaled once; a
// withheld orderbook delta (the `gap` fault: a u jump) is a Status gap, the
// connector resubscribes the symbol's topic and the snapshot that follows
// makes the book whole again.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
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
  std::uint64_t last_update_id = 0, cross_sequence = 0, from_id = 0, to_id = 0;
  testing::LevelList bids, asks;
  std::uint64_t update_id = 0;
  std::string bid_price, bid_size, ask_price, ask_size;  // quotes
  std::string mark_price, index_price, funding_rate, open_interest, side, price, size;
  std::uint64_t next_funding_ns = 0, trade_ns = 0;
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
  if (o["last_update_id"].get_uint64().get(n) == simdjson::SUCCESS) r.last_update_id = n;
  if (o["cross_sequence"].get_uint64().get(n) == simdjson::SUCCESS) r.cross_sequence = n;
  if (o["from_id"].get_uint64().get(n) == simdjson::SUCCESS) r.from_id = n;
  if (o["to_id"].get_uint64().get(n) == simdjson::SUCCESS) r.to_id = n;
  if (o["update_id"].get_uint64().get(n) == simdjson::SUCCESS) r.update_id = n;
  if (o["next_funding_ns"].get_uint64().get(n) == simdjson::SUCCESS) r.next_funding_ns = n;
  if (o["trade_ns"].get_uint64().get(n) == simdjson::SUCCESS) r.trade_ns = n;
  if (o["side"].get_string().get(s) == simdjson::SUCCESS) r.side = std::string(s);
  for (auto [key, out] : {std::pair{"bid_price", &r.bid_price}, std::pair{"bid_size", &r.bid_size},
                          std::pair{"ask_price", &r.ask_price}, std::pair{"ask_size", &r.ask_size},
                          std::pair{"mark_price", &r.mark_price}, std::pair{"index_price", &r.index_price},
                          std::pair{"funding_rate", &r.funding_rate}, std::pair{"open_interest", &r.open_interest},
                          std::pair{"price", &r.price}, std::pair{"size", &r.size}}) {
    if (o[key].get_string().get(s) == simdjson::SUCCESS) *out = canonical_decimal(s);
  }
  for (auto [key, out] : {std::pair{"bids", &r.bids}, std::pair{"asks", &r.asks}}) {
    simdjson::dom::array levels;
    if (o[key].get_array().get(levels) != simdjson::SUCCESS) continue;
    for (simdjson::dom::array l : levels) {
      out->emplace_back(std::string(l.at(0).get_string().value()), std::string(l.at(1).get_string().value()));
    }
  }
  return r;
}

class BybitSim : public ::testing::Test {
 protected:
  BybitSim() {
    sim_.venue = "bybit";
    sim_.symbols = {"BTCUSDT", "ETHUSDT"};
    sim_.rate = 4000;
    sim_.seed = 11;
    sim_.count = 3000;
    sim_.record_path = (dir_ / "truth.ndjson").string();
    sim_.epoch_ms = connector::SimMarket::kDefaultEpochMs;
    sim_.depth_interval_ms = 20;
    sim_.max_incoming_per_s = 0;
  }

  // run: the simulator and `tickwire run` until the journal holds, for every
  // symbol, the book record of the simulator's last delta; then the
  // connector is stopped and journal_ / books_ / sim_books_ are filled.
  void run(const std::string& category) {
    connector::Simulator sim(sim_);
    auto port = sim.start();
    ASSERT_TRUE(port.ok()) << port.status();
    std::filesystem::create_directories(dir_ / "data");
    const auto config = dir_ / "bybit.toml";
    std::ofstream(config) << "env = \"test\"\n[[feeds]]\nname = \"bybit\"\nexchange = \"bybit\"\ncategory = \""
                          << category << "\"\nurl = \"ws://127.0.0.1:" << *port << "/v5/public/" << category
                          << "\"\nrest_url = \"http://127.0.0.1:" << *port << "\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\nchannels = [" << channels_ << "]\n"
                          << feed_toml_
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
    // The market publishes nothing more: its books are final.
    for (const auto& s : sim_.symbols) {
      auto book = sim.book(s);
      ASSERT_TRUE(book.ok()) << book.status();
      sim_books_[s] = *book;
    }
    // The record is complete once the count is published: the trades to expect.
    const auto trades = truth_trades();
    // With a depth-limited topic its last message's seq is where the book ends.
    std::map<std::string, std::uint64_t> last_book_seq;
    if (depth_ != 0) last_book_seq = truth_last_seq(fmt::format("orderbook.{}.", depth_));
    const auto tickers = truth_tickers();
    std::map<std::string, std::size_t> journaled;  // symbol -> trades journaled
    std::map<std::string, std::uint64_t> last_quote;  // symbol -> update id (cs) of its latest quote
    std::map<std::string, std::size_t> funding, oi, liquidations;  // symbol -> records journaled
    // What the ticker and liquidation topics must have journaled: the last
    // touch delta's cs, and (beside the subscription's snapshot) one funding
    // or open interest record per delta that moved them, one liquidation per entry.
    struct Want {
      std::uint64_t touch_cs = 0;
      std::size_t funding = 0, oi = 0, liquidations = 0;
    };
    std::map<std::string, Want> want;
    for (const auto& [symbol, list] : tickers) {
      Want& w = want[symbol];
      w.funding = w.oi = 1;
      for (const auto& t : list) {
        if (t.fields.count("bid1Price") + t.fields.count("bid1Size") + t.fields.count("ask1Price") +
                t.fields.count("ask1Size") != 0) {
          w.touch_cs = t.cs;
        }
        if (t.fields.count("markPrice") + t.fields.count("indexPrice") + t.fields.count("fundingRate") +
                t.fields.count("nextFundingTime") != 0) {
          ++w.funding;
        }
        if (t.fields.count("openInterest") != 0) ++w.oi;
      }
    }
    for (const auto& l : truth_liquidations()) ++want[l.symbol].liquidations;
    auto tailer = journal::Tailer::open(dir_ / "data");
    ASSERT_TRUE(tailer.ok()) << tailer.status();
    simdjson::dom::parser parser;
    std::map<std::string, std::uint64_t> reached;  // symbol -> cross sequence of its latest book record
    const auto complete = [&] {
      for (const auto& s : sim_.symbols) {
        if (books_ && reached[s] != (depth_ != 0 ? last_book_seq[s] : sim_books_[s].last_update_id)) return false;
        const auto t = trades.find(s);
        if (t != trades.end() && journaled[s] < t->second) return false;
        if (last_quote[s] < want[s].touch_cs || funding[s] < want[s].funding || oi[s] < want[s].oi ||
            liquidations[s] < want[s].liquidations) {
          return false;
        }
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
        if (r.kind == "book_snapshot" || r.kind == "book_delta") reached[r.symbol] = r.cross_sequence;
        if (r.kind == "trade") ++journaled[r.symbol];
        if (r.kind == "quote") last_quote[r.symbol] = r.update_id;
        if (r.kind == "funding") ++funding[r.symbol];
        if (r.kind == "open_interest") ++oi[r.symbol];
        if (r.kind == "liquidation") ++liquidations[r.symbol];
        journal_.push_back(std::move(r));
        continue;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the journal never reached the simulator's last book; connector log:\n"
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

  // verify_books: the journal's book of each symbol (latest snapshot, then
  // the deltas after it) equals the simulator's, and every record of it
  // continued the one before (u by one after a snapshot).
  void verify_books() {
    for (const auto& s : sim_.symbols) {
      testing::Book book;
      std::uint64_t u = 0;
      bool have = false;
      for (const Record& r : journal_) {
        if (r.symbol != s) continue;
        if (r.kind == "book_snapshot") {
          book = testing::Book{};
          book.apply(r.bids, r.asks);
          u = r.last_update_id;
          have = true;
        } else if (r.kind == "book_delta") {
          ASSERT_TRUE(have) << s << ": a delta before any snapshot at seq " << r.seq;
          EXPECT_EQ(r.last_update_id, u + 1) << s << ": seq " << r.seq;
          u = r.last_update_id;
          book.apply(r.bids, r.asks);
        }
      }
      ASSERT_TRUE(have) << s << ": no book journaled";
      testing::Book truth;
      const auto& sb = sim_books_[s];
      // A depth-limited topic describes the best depth_ levels a side (SimBook lists best first).
      for (std::size_t i = 0; i < sb.bids.size() && (depth_ == 0 || i < depth_); ++i) {
        truth.bids[canonical_decimal(connector::SimMarket::format_units(sb.bids[i].price))] =
            canonical_decimal(connector::SimMarket::format_units(sb.bids[i].qty));
      }
      for (std::size_t i = 0; i < sb.asks.size() && (depth_ == 0 || i < depth_); ++i) {
        truth.asks[canonical_decimal(connector::SimMarket::format_units(sb.asks[i].price))] =
            canonical_decimal(connector::SimMarket::format_units(sb.asks[i].qty));
      }
      EXPECT_TRUE(book.same_levels(truth)) << s << "\njournal: " << book.describe() << "\nsim:     " << truth.describe();
      EXPECT_GT(truth.bids.size(), 0u);
    }
  }

  // for_each_truth: fn(symbol, message) for each message of the record on a
  // topic `prefix` + symbol, in order.
  template <typename Fn>
  void for_each_truth(std::string_view prefix, Fn fn) const {
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::object o;
      if (parser.parse(line).get_object().get(o) != simdjson::SUCCESS) continue;
      std::string_view topic;
      if (o["topic"].get_string().get(topic) != simdjson::SUCCESS || !topic.starts_with(prefix)) continue;
      fn(std::string(topic.substr(prefix.size())), o);
    }
  }

  // truth_trades: the trades of the record's publicTrade messages per symbol.
  std::map<std::string, std::size_t> truth_trades() const {
    std::map<std::string, std::size_t> out;
    for_each_truth("publicTrade.", [&](const std::string& symbol, simdjson::dom::object o) {
      out[symbol] += o["data"].get_array().value().size();
    });
    return out;
  }

  // truth_last_seq: per symbol, the `seq` of the record's last message on `prefix` topics.
  std::map<std::string, std::uint64_t> truth_last_seq(const std::string& prefix) const {
    std::map<std::string, std::uint64_t> out;
    for_each_truth(prefix, [&](const std::string& symbol, simdjson::dom::object o) {
      out[symbol] = o["data"]["seq"].get_uint64().value();
    });
    return out;
  }

  // TruthTicker: one tickers delta of the record: the fields it names (cs, and canonical decimals).
  struct TruthTicker {
    std::uint64_t cs = 0, ts = 0;
    std::map<std::string, std::string> fields;
  };
  std::map<std::string, std::vector<TruthTicker>> truth_tickers() const {
    std::map<std::string, std::vector<TruthTicker>> out;
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::object o;
      if (parser.parse(line).get_object().get(o) != simdjson::SUCCESS) continue;
      std::string_view topic;
      if (o["topic"].get_string().get(topic) != simdjson::SUCCESS || !topic.starts_with("tickers.")) continue;
      TruthTicker t;
      t.cs = o["cs"].get_uint64().value();
      t.ts = o["ts"].get_uint64().value();
      const simdjson::dom::object data = o["data"].get_object().value();
      for (auto [key, value] : data) {
        if (key != "symbol") t.fields[std::string(key)] = canonical_decimal(value.get_string().value());
      }
      out[std::string(topic.substr(8))].push_back(std::move(t));
    }
    return out;
  }

  // truth_liquidations: the record's allLiquidation entries as the journal should hold them.
  std::vector<Record> truth_liquidations() const {
    std::vector<Record> out;
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::object rec;
      if (parser.parse(line).get_object().get(rec) != simdjson::SUCCESS) continue;
      std::string_view topic;
      if (rec["topic"].get_string().get(topic) != simdjson::SUCCESS || !topic.starts_with("allLiquidation.")) continue;
      const simdjson::dom::array entries = rec["data"].get_array().value();
      for (simdjson::dom::object e : entries) {
        Record l;
        l.symbol = std::string(e["s"].get_string().value());
        l.side = std::string_view(e["S"].get_string().value()) == "Buy" ? "sell" : "buy";
        l.price = canonical_decimal(e["p"].get_string().value());
        l.size = canonical_decimal(e["v"].get_string().value());
        l.trade_ns = e["T"].get_uint64().value() * 1'000'000;
        out.push_back(l);
      }
    }
    return out;
  }

  std::vector<const Record*> statuses(std::string_view status) const {
    std::vector<const Record*> out;
    for (const auto& r : journal_) {
      if (r.kind == "status" && r.status == status) out.push_back(&r);
    }
    return out;
  }

  testing::TempDir dir_{"tickwire-bybit-sim"};
  connector::SimulatorOptions sim_;
  std::string channels_ = R"("publicTrade", "orderbook.200")";
  std::string feed_toml_;  // extra keys for the [[feeds]] table
  bool books_ = true;  // the channels include a book: wait for the simulator's last one
  std::size_t depth_ = 0;  // the book topic is orderbook.<depth_> (1 or 50), not the whole book
  std::vector<Record> journal_;
  std::map<std::string, connector::SimBook> sim_books_;
  std::string log_;
};

TEST_F(BybitSim, RunJournalsTheSpotBooksAndTradesAsTheSimulatorHasThem) {
  run("spot");
  ASSERT_FALSE(HasFatalFailure());
  verify_books();
  EXPECT_TRUE(statuses("gap").empty()) << log_;
  const auto truth = truth_trades();
  std::map<std::string, std::size_t> journaled;
  for (const auto& r : journal_) {
    if (r.kind == "trade") ++journaled[r.symbol];
  }
  for (const auto& s : sim_.symbols) {
    EXPECT_GT(truth.count(s) ? truth.at(s) : 0, 0u) << s;
    EXPECT_EQ(journaled[s], truth.count(s) ? truth.at(s) : 0) << s << ": every trade once";
  }
  // The first book of each symbol is the subscription's snapshot, with its resync status.
  const auto resyncs = statuses("resync");
  ASSERT_GE(resyncs.size(), sim_.symbols.size());
  EXPECT_EQ(resyncs.front()->detail.rfind("book synced from the stream's snapshot at update id ", 0), 0u)
      << resyncs.front()->detail;
}

TEST_F(BybitSim, AWithheldLinearDeltaIsAGapThatTheResubscribedSnapshotHeals) {
  sim_.venue = "bybit-linear";
  sim_.count = 1500;
  sim_.depth_interval_ms = 2;  // deltas alone: many of them, so the run is short
  channels_ = R"("orderbook.200")";  // every data message a delta: the withheld one is a u jump
  ASSERT_TRUE(connector::parse_fault("gap:300", sim_.faults).ok());
  run("linear");
  ASSERT_FALSE(HasFatalFailure());
  verify_books();  // before and after the gap: every record continues the book
  const auto gaps = statuses("gap");
  ASSERT_EQ(gaps.size(), 1u) << log_;
  EXPECT_EQ(gaps.front()->to_id, gaps.front()->from_id) << "one withheld delta: one u missing";
  EXPECT_NE(gaps.front()->detail.find("resubscribing"), std::string::npos) << gaps.front()->detail;
  bool healed = false;
  for (const auto& r : journal_) {
    if (r.seq > gaps.front()->seq && r.kind == "book_snapshot" && r.symbol == gaps.front()->symbol) healed = true;
  }
  EXPECT_TRUE(healed) << "no snapshot after the gap; log:\n" << log_;
  EXPECT_NE(log_.find("resubscribing orderbook.200."), std::string::npos) << log_;
}

TEST_F(BybitSim, AResubscribeWhoseSnapshotNeverComesIsSentAgainAndTheBookHeals) {
  sim_.venue = "bybit-linear";
  sim_.count = 1500;
  sim_.depth_interval_ms = 2;
  channels_ = R"("orderbook.200")";
  ASSERT_TRUE(connector::parse_fault("gap:300", sim_.faults).ok());
  // Book subscriptions 1 and 2 are the two symbols' first; 3 is the
  // resubscribe after the gap: its snapshot is withheld, its deltas come.
  ASSERT_TRUE(connector::parse_fault("no_snapshot:3", sim_.faults).ok());
  feed_toml_ = "resubscribe_timeout_ms = 300\n";
  run("linear");
  ASSERT_FALSE(HasFatalFailure());
  verify_books();
  const auto gaps = statuses("gap");
  ASSERT_EQ(gaps.size(), 1u) << log_;
  EXPECT_NE(log_.find("no snapshot within 300 ms of the resubscribe (try 2 of 3)"), std::string::npos) << log_;
  bool healed = false;
  for (const auto& r : journal_) {
    if (r.seq > gaps.front()->seq && r.kind == "book_snapshot" && r.symbol == gaps.front()->symbol) healed = true;
  }
  EXPECT_TRUE(healed) << "no snapshot after the gap; log:\n" << log_;
  EXPECT_EQ(log_.find("reconnecting"), std::string::npos) << "the second resubscribe was enough:\n" << log_;
}

TEST_F(BybitSim, TheFullBookStartsFromTheRestSnapshotAndAWithheldDeltaFetchesItAgain) {
  // orderbook.full sends deltas only; GET /v5/market/full_orderbook's u is the stream's.
  sim_.count = 1500;
  sim_.depth_interval_ms = 2;
  channels_ = R"("orderbook.full")";
  ASSERT_TRUE(connector::parse_fault("gap:300", sim_.faults).ok());
  run("spot");
  ASSERT_FALSE(HasFatalFailure());
  verify_books();  // every delta continues the REST book before it; the last book is the simulator's
  const auto gaps = statuses("gap");
  ASSERT_EQ(gaps.size(), 1u) << log_;
  EXPECT_EQ(gaps.front()->to_id, gaps.front()->from_id) << "one withheld delta: one u missing";
  EXPECT_NE(gaps.front()->detail.find("fetching a REST snapshot"), std::string::npos) << gaps.front()->detail;
  std::map<std::string, std::size_t> from_rest;
  for (const auto* r : statuses("resync")) {
    if (r->detail.rfind("book synced from REST snapshot ", 0) == 0) ++from_rest[r->symbol];
  }
  for (const auto& s : sim_.symbols) {
    EXPECT_GE(from_rest[s], s == gaps.front()->symbol ? 2u : 1u) << s << ": the first book and the one after the gap";
  }
  EXPECT_NE(log_.find("/v5/market/full_orderbook?category=spot&symbol="), std::string::npos) << log_;
  EXPECT_EQ(log_.find("resubscribing"), std::string::npos) << "a REST snapshot, never a resubscribe\n" << log_;
}

TEST_F(BybitSim, LinearTickersMergeIntoQuotesFundingAndOpenInterestEqualToTheSimulatorsAfterEveryDelta) {
  sim_.venue = "bybit-linear";
  sim_.count = 6000;  // about two seconds of market time: two mark rounds
  channels_ = R"("tickers", "allLiquidation")";
  books_ = false;
  run("linear");
  ASSERT_FALSE(HasFatalFailure());
  const auto truth = truth_tickers();
  std::size_t partial = 0;
  for (const auto& s : sim_.symbols) {
    std::vector<const Record*> got;
    for (const auto& r : journal_) {
      if (r.kind == "quote" && r.symbol == s) got.push_back(&r);
    }
    const auto it = truth.find(s);
    ASSERT_NE(it, truth.end()) << s << ": no ticker in the record";
    ASSERT_FALSE(got.empty()) << s;
    // The first quote is the subscription's snapshot (not in the record); the
    // record's deltas at or before its cs are already in it (generated before
    // the subscription, sent after: the connector drops them as repeats).
    std::vector<const TruthTicker*> after;
    for (const auto& t : it->second) {
      if (t.cs > got[0]->update_id && t.fields.count("bid1Price") + t.fields.count("bid1Size") +
                                              t.fields.count("ask1Price") + t.fields.count("ask1Size") != 0) {
        after.push_back(&t);
      }
    }
    ASSERT_EQ(got.size(), after.size() + 1) << s << ": the snapshot's quote, then one per later delta";
    // The simulator's touch, merged from the record's deltas onto the snapshot.
    std::map<std::string, std::string> touch = {{"bid1Price", got[0]->bid_price}, {"bid1Size", got[0]->bid_size},
                                                {"ask1Price", got[0]->ask_price}, {"ask1Size", got[0]->ask_size}};
    for (std::size_t i = 0; i < after.size(); ++i) {
      const TruthTicker& t = *after[i];
      partial += t.fields.size() < 4 ? 1 : 0;
      for (const auto& [k, v] : t.fields) touch[k] = v;
      const Record& q = *got[i + 1];
      EXPECT_EQ(q.update_id, t.cs) << s << " #" << i;
      EXPECT_EQ(q.bid_price, touch["bid1Price"]) << s << " #" << i;
      EXPECT_EQ(q.bid_size, touch["bid1Size"]) << s << " #" << i;
      EXPECT_EQ(q.ask_price, touch["ask1Price"]) << s << " #" << i;
      EXPECT_EQ(q.ask_size, touch["ask1Size"]) << s << " #" << i;
    }
  }
  EXPECT_GT(partial, 0u) << "no delta left a field out: the merge was not exercised";
  EXPECT_EQ(statuses("rejected").size(), 0u) << log_;
  // Funding and open interest: the snapshot's, then one per mark delta that moved them (every second of
  // market time, all after the subscription), merged the same way.
  std::size_t funding_checked = 0, oi_checked = 0;
  for (const auto& s : sim_.symbols) {
    std::vector<const Record*> funding, oi;
    for (const auto& r : journal_) {
      if (r.symbol != s) continue;
      if (r.kind == "funding") funding.push_back(&r);
      if (r.kind == "open_interest") oi.push_back(&r);
    }
    ASSERT_FALSE(funding.empty() || oi.empty()) << s;
    std::map<std::string, std::string> state = {{"markPrice", funding[0]->mark_price},
                                                {"indexPrice", funding[0]->index_price},
                                                {"fundingRate", funding[0]->funding_rate},
                                                {"openInterest", oi[0]->open_interest}};
    std::uint64_t next_funding_ns = funding[0]->next_funding_ns;
    std::size_t f = 1, o = 1;
    for (const auto& t : truth.at(s)) {
      const bool moves_funding = t.fields.count("markPrice") + t.fields.count("indexPrice") +
                                     t.fields.count("fundingRate") + t.fields.count("nextFundingTime") != 0;
      const bool moves_oi = t.fields.count("openInterest") != 0;
      for (const auto& [k, v] : t.fields) state[k] = v;
      if (t.fields.count("nextFundingTime")) next_funding_ns = std::stoull(t.fields.at("nextFundingTime")) * 1'000'000;
      if (moves_funding) {
        ASSERT_LT(f, funding.size()) << s << ": a mark delta without its funding record";
        EXPECT_EQ(funding[f]->mark_price, state["markPrice"]) << s << " funding #" << f;
        EXPECT_EQ(funding[f]->index_price, state["indexPrice"]) << s << " funding #" << f;
        EXPECT_EQ(funding[f]->funding_rate, state["fundingRate"]) << s << " funding #" << f;
        EXPECT_EQ(funding[f]->next_funding_ns, next_funding_ns) << s << " funding #" << f;
        ++f, ++funding_checked;
      }
      if (moves_oi) {
        ASSERT_LT(o, oi.size()) << s << ": a delta without its open interest record";
        EXPECT_EQ(oi[o]->open_interest, state["openInterest"]) << s << " open interest #" << o;
        ++o, ++oi_checked;
      }
    }
    EXPECT_EQ(f, funding.size()) << s;
    EXPECT_EQ(o, oi.size()) << s;
  }
  EXPECT_GT(funding_checked, 0u) << "no mark round in the run";
  EXPECT_GT(oi_checked, 0u);
  // Liquidations: every allLiquidation entry of the record, on the order's side.
  const std::vector<Record> truth_liquidations = this->truth_liquidations();
  std::vector<const Record*> liquidations;
  for (const auto& r : journal_) {
    if (r.kind == "liquidation") liquidations.push_back(&r);
  }
  ASSERT_EQ(liquidations.size(), truth_liquidations.size());
  EXPECT_GT(liquidations.size(), 0u) << "the simulator sent no allLiquidation";
  for (std::size_t i = 0; i < liquidations.size(); ++i) {
    EXPECT_EQ(liquidations[i]->symbol, truth_liquidations[i].symbol) << i;
    EXPECT_EQ(liquidations[i]->side, truth_liquidations[i].side) << i;
    EXPECT_EQ(liquidations[i]->price, truth_liquidations[i].price) << i;
    EXPECT_EQ(liquidations[i]->size, truth_liquidations[i].size) << i;
    EXPECT_EQ(liquidations[i]->trade_ns, truth_liquidations[i].trade_ns) << i;
  }
}

// orderbook.50: the simulator's view of the best 50 levels (a level pushed
// below them is deleted with size 0): the journal's book ends equal to the
// simulator's best 50 a side, every delta one `u` after the one before.
TEST_F(BybitSim, TheDepth50TopicKeepsTheBest50LevelsAsTheSimulatorHasThem) {
  sim_.venue = "bybit-linear";
  channels_ = R"("publicTrade", "orderbook.50")";
  depth_ = 50;
  run("linear");
  ASSERT_FALSE(HasFatalFailure());
  verify_books();
  EXPECT_TRUE(statuses("gap").empty()) << log_;
  std::size_t deltas = 0;
  for (const auto& r : journal_) deltas += r.kind == "book_delta" ? 1 : 0;
  EXPECT_GT(deltas, 0u);
  const std::string truth = testing::read_text(sim_.record_path);
  EXPECT_NE(truth.find(R"("topic":"orderbook.50.BTCUSDT","type":"delta")"), std::string::npos);
}

// orderbook.1: snapshots only, one per change of the top, each a new `u`
// (its repeats at the same `u` are the SimMarket test's). The journal's book
// ends equal to the simulator's best level a side.
TEST_F(BybitSim, TheLevel1TopicSendsATopSnapshotPerChangeAndItsRepeatIsNotNewData) {
  channels_ = R"("orderbook.1")";
  depth_ = 1;
  sim_.count = 600;
  run("spot");
  ASSERT_FALSE(HasFatalFailure());
  verify_books();
  EXPECT_TRUE(statuses("gap").empty()) << log_;
  // Every snapshot with a new u is journaled as a routine image: no resync Status for them.
  std::size_t snapshots = 0;
  for (const auto& r : journal_) snapshots += r.kind == "book_snapshot" ? 1 : 0;
  EXPECT_GT(snapshots, sim_.symbols.size());
  EXPECT_EQ(statuses("resync").size(), sim_.symbols.size()) << log_;
}

TEST_F(BybitSim, ARepeatedSnapshotAtTheSameUIsNotNewData) {
  sim_.count = 1500;
  sim_.depth_interval_ms = 2;
  channels_ = R"("orderbook.200")";
  ASSERT_TRUE(connector::parse_fault("resnapshot:300", sim_.faults).ok());
  run("spot");
  ASSERT_FALSE(HasFatalFailure());
  verify_books();
  EXPECT_NE(testing::read_text(sim_.record_path).find(R"("fault":"resnapshot")"), std::string::npos);
  EXPECT_TRUE(statuses("gap").empty()) << log_;
  // One resync per symbol: the subscription's snapshot; the repeat journaled nothing.
  EXPECT_EQ(statuses("resync").size(), sim_.symbols.size()) << log_;
  std::size_t snapshots = 0;
  for (const auto& r : journal_) snapshots += r.kind == "book_snapshot" ? 1 : 0;
  EXPECT_EQ(snapshots, sim_.symbols.size());
  // The repeat is counted. So is a delta the market generated before a
  // subscription's snapshot and the simulator delivered after it (stale: at
  // or before the snapshot's u), which depends on timing: at least one.
  const auto at = log_.rfind("duplicates ");
  ASSERT_NE(at, std::string::npos) << log_;
  EXPECT_GE(std::stoull(log_.substr(at + 11)), 1u) << "the repeat is counted; log:\n" << log_;
}

TEST_F(BybitSim, ADeltaRestartingUAtOneReplacesTheBookAndTheIdsGoOnFromIt) {
  sim_.venue = "bybit-linear";
  sim_.count = 1500;
  sim_.depth_interval_ms = 2;
  channels_ = R"("orderbook.200")";
  ASSERT_TRUE(connector::parse_fault("restart:300", sim_.faults).ok());
  run("linear");
  ASSERT_FALSE(HasFatalFailure());
  verify_books();  // the restart's whole book, then deltas from u = 2, end equal to the simulator's
  EXPECT_TRUE(statuses("gap").empty()) << log_;
  std::size_t restarts = 0;
  for (const Record* r : statuses("resync")) {
    if (r->detail == "book replaced: the venue restarted its update ids (u = 1) at update id 1") ++restarts;
  }
  EXPECT_EQ(restarts, 1u) << log_;
  bool restarted_book = false;
  for (const auto& r : journal_) restarted_book = restarted_book || (r.kind == "book_snapshot" && r.last_update_id == 1);
  EXPECT_TRUE(restarted_book);
}

TEST(BybitSimRun, SimUrlStartsTheEmbeddedSimulatorInTheFeedsCategory) {
  testing::TempDir dir("tickwire-bybit-run");
  std::ofstream(dir / "c.toml")
      << "env = \"test\"\n[[feeds]]\nname = \"bylin\"\nexchange = \"bybit\"\ncategory = \"linear\"\n"
      << "url = \"sim://\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\n"
      << "channels = [\"publicTrade\", \"orderbook.200\", \"tickers\"]\n"
      << "[simulator]\nrate = 4000\nseed = 5\ncount = 6000\n"
      << "[journal]\ndir = \"" << (dir / "data").string() << "\"\nfsync = \"none\"\n"
      << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[metrics]\nlisten = \"\"\n";
  auto run = testing::run_command({"/bin/sh", "-c",
                                   fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                               (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("embedded bybit-linear simulator"), std::string::npos) << run.out;
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
}

TEST(BybitSimCli, HelpNamesTheBybitVenues) {
  auto r = testing::run_command({TICKWIRE_BINARY, "sim", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("bybit-linear"), std::string::npos) << r.out;
}

TEST(BybitSimCli, AReplayInTheBybitDialectIsRefused) {
  connector::SimulatorOptions o;
  o.venue = "bybit";
  o.replay_path = "/nonexistent.ndjson";
  connector::Simulator sim(o);
  auto port = sim.start();
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.status().message().find("Binance dialects only"), std::string::npos) << port.status();
}

}  // namespace
}  // namespace tickwire
