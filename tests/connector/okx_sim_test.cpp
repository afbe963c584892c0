// The simulator's OKX v5 dialect against the okx adapter, end to end: a real
// Simulator (websocket on 127.0.0.1, random port) speaking OKX, and a
// separate `tickwire run` process journaling it. After every book record the
// journal holds (its latest snapshot, then the updates after it) the book
// equals the simulator's truth at that seqId; trades, funding (mark-price and
// funding-rate merged), open interest and liquidations equal what the
// simulator sent; and each books fault (a withheld update, a wrong checksum,
// idle keepalives, a seqId reset, a subscription without its snapshot) ends
// with the book whole again, a break journaled as a Status gap.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <optional>
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
  std::uint64_t last_update_id = 0, update_id = 0, trade_id = 0, first_trade_id = 0;
  testing::LevelList bids, asks;
  std::string bid_price, bid_size, ask_price, ask_size, mark_price, index_price, funding_rate, open_interest;
  std::string side, price, size;
  std::uint64_t next_funding_ns = 0, trade_ns = 0, exch_ns = 0, from_id = 0, to_id = 0;
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
  if (o["side"].get_string().get(s) == simdjson::SUCCESS) r.side = std::string(s);
  for (auto [key, out] : {std::pair{"last_update_id", &r.last_update_id}, std::pair{"update_id", &r.update_id},
                          std::pair{"trade_id", &r.trade_id}, std::pair{"first_trade_id", &r.first_trade_id},
                          std::pair{"next_funding_ns", &r.next_funding_ns}, std::pair{"trade_ns", &r.trade_ns},
                          std::pair{"exch_ns", &r.exch_ns}, std::pair{"from_id", &r.from_id},
                          std::pair{"to_id", &r.to_id}}) {
    std::uint64_t n = 0;
    if (o[key].get_uint64().get(n) == simdjson::SUCCESS) *out = n;
  }
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

// TruthLine: one OKX message of the simulator's record.
struct TruthLine {
  std::string channel, symbol;
  simdjson::dom::object item;  // data[0]
};

class OkxSim : public ::testing::Test {
 protected:
  OkxSim() {
    sim_.venue = "okx";
    sim_.symbols = kSymbols;
    sim_.rate = 4000;
    sim_.seed = 19;
    sim_.count = 3000;
    sim_.record_path = (dir_ / "truth.ndjson").string();
    sim_.record_all = true;  // the book's first updates go out before the connector subscribes
    sim_.epoch_ms = connector::SimMarket::kDefaultEpochMs;
    sim_.depth_interval_ms = 2;  // books-only runs reach the count in seconds
    sim_.max_incoming_per_s = 0;
  }

  static inline const std::vector<std::string> kSymbols = {"BTC-USDT-SWAP", "ETH-USDT-SWAP"};

  // each_truth: calls `f` on every OKX message of the record (fault lines skipped).
  void each_truth(const std::function<void(const TruthLine&)>& f) {
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::object o;
      if (parser.parse(line).get(o) != simdjson::SUCCESS) continue;
      simdjson::dom::object arg;
      if (o["arg"].get_object().get(arg) != simdjson::SUCCESS) continue;
      simdjson::dom::array data = o["data"].get_array().value();
      for (simdjson::dom::object item : data) {
        TruthLine t;
        t.channel = std::string(arg["channel"].get_string().value());
        std::string_view inst;
        if (item["instId"].get_string().get(inst) != simdjson::SUCCESS) inst = arg["instId"].get_string().value();
        t.symbol = std::string(inst);
        t.item = item;
        f(t);
      }
    }
  }

  // truth_books: per symbol, the book after each update the record holds, by seqId.
  std::map<std::string, std::map<std::uint64_t, testing::Book>> truth_books() {
    std::map<std::string, std::map<std::uint64_t, testing::Book>> out;
    std::map<std::string, testing::Book> live;
    each_truth([&](const TruthLine& t) {
      if (t.channel != "books") return;
      testing::Book& b = live[t.symbol];
      b.apply(testing::levels_of(t.item["bids"]), testing::levels_of(t.item["asks"]));
      b.id = t.item["seqId"].get_uint64().value();
      out[t.symbol][b.id] = b;
    });
    return out;
  }

  // run: the simulator and `tickwire run` until `done(journal)` holds; then
  // the connector is stopped.
  void run(const std::string& channels, const std::function<bool()>& done) {
    connector::Simulator sim(sim_);
    auto port = sim.start();
    ASSERT_TRUE(port.ok()) << port.status();
    std::filesystem::create_directories(dir_ / "data");
    const auto config = dir_ / "okx.toml";
    std::ofstream(config) << "env = \"test\"\n[[feeds]]\nname = \"okx\"\nexchange = \"okx\"\nurl = \"ws://127.0.0.1:"
                          << *port << "/ws/v5/public\"\nrest_url = \"http://127.0.0.1:" << *port
                          << "\"\nsymbols = [\"BTC-USDT-SWAP\", \"ETH-USDT-SWAP\"]\n"
                          << "channels = [" << channels << "]\n"
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
      auto book = sim.book(s);
      ASSERT_TRUE(book.ok()) << book.status();
      sim_books_[s] = *book;
    }
    auto tailer = journal::Tailer::open(dir_ / "data");
    ASSERT_TRUE(tailer.ok()) << tailer.status();
    simdjson::dom::parser parser;
    while (!done()) {
      auto next = tailer->poll();
      ASSERT_TRUE(next.ok()) << next.status();
      if (*next) {
        if ((*next)->type != connector::kEnvelopeRecordType) continue;
        auto json = connector::envelope_to_json((*next)->payload);
        ASSERT_TRUE(json.ok()) << json.status();
        journal_.push_back(parse_record(parser, *json));
        continue;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the journal never held what the simulator sent; connector log:\n" << testing::read_text(log_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }
    connector.kill(SIGTERM);
    const auto status = connector.wait();
    ASSERT_TRUE(status.has_value()) << "the connector did not stop on SIGTERM";
    log_ = testing::read_text(log_path);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << log_;
    sim.stop();
  }

  // books_reached: every symbol's latest book record is at `id_of(symbol)`.
  std::function<bool()> books_reached(std::function<std::uint64_t(const std::string&)> id_of) {
    return [this, id_of] {
      for (const auto& s : sim_.symbols) {
        std::uint64_t last = 0;
        for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) {
          if (it->symbol == s && (it->kind == "book_snapshot" || it->kind == "book_delta")) {
            last = it->last_update_id;
            break;
          }
        }
        if (last != id_of(s)) return false;
      }
      return true;
    };
  }

  // journal_books: per symbol, the journal's book after each of its book
  // records (latest snapshot, then the deltas after it), with its id.
  std::map<std::string, std::vector<testing::Book>> journal_books() const {
    std::map<std::string, std::vector<testing::Book>> out;
    std::map<std::string, testing::Book> live;
    for (const Record& r : journal_) {
      if (r.kind != "book_snapshot" && r.kind != "book_delta") continue;
      testing::Book& b = live[r.symbol];
      if (r.kind == "book_snapshot") b = testing::Book{};
      b.apply(r.bids, r.asks);
      b.id = r.last_update_id;
      out[r.symbol].push_back(b);
    }
    return out;
  }

  // verify_every_book: each journal book equals the truth at its seqId.
  void verify_every_book() {
    auto truth = truth_books();
    const auto journal = journal_books();
    for (const auto& s : sim_.symbols) {
      const auto it = journal.find(s);
      ASSERT_NE(it, journal.end()) << s << ": no book journaled";
      EXPECT_GT(it->second.size(), 10u) << s;
      for (const testing::Book& b : it->second) {
        const auto t = truth[s].find(b.id);
        ASSERT_NE(t, truth[s].end()) << s << ": the journal has a book at seqId " << b.id << " the simulator never sent";
        ASSERT_TRUE(b.same_levels(t->second)) << s << " at seqId " << b.id << "\njournal: " << b.describe()
                                              << "\nsim:     " << t->second.describe();
      }
    }
  }

  // verify_final_books: the journal's last book of each symbol has the simulator's levels.
  void verify_final_books() {
    const auto journal = journal_books();
    for (const auto& s : sim_.symbols) {
      testing::Book truth;
      for (const auto& l : sim_books_[s].bids) {
        truth.bids[canonical_decimal(connector::SimMarket::format_units(l.price))] =
            canonical_decimal(connector::SimMarket::format_units(l.qty));
      }
      for (const auto& l : sim_books_[s].asks) {
        truth.asks[canonical_decimal(connector::SimMarket::format_units(l.price))] =
            canonical_decimal(connector::SimMarket::format_units(l.qty));
      }
      ASSERT_FALSE(journal.at(s).empty());
      EXPECT_TRUE(journal.at(s).back().same_levels(truth))
          << s << "\njournal: " << journal.at(s).back().describe() << "\nsim:     " << truth.describe();
    }
  }

  std::vector<const Record*> records(std::string_view kind, std::string_view status = {}) const {
    std::vector<const Record*> out;
    for (const auto& r : journal_) {
      if (r.kind == kind && (status.empty() || r.status == status)) out.push_back(&r);
    }
    return out;
  }

  // Fault: one of the record's fault lines.
  struct Fault {
    std::uint64_t conn = 0, first_id = 0, last_id = 0;
    std::string stream;
  };
  std::vector<Fault> faults(std::string_view name) const {
    std::vector<Fault> out;
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::object o;
      if (parser.parse(line).get(o) != simdjson::SUCCESS) continue;
      std::string_view fault;
      if (o["fault"].get_string().get(fault) != simdjson::SUCCESS || fault != name) continue;
      out.push_back({o["conn"].get_uint64().value(), o["first_id"].get_uint64().value(),
                     o["last_id"].get_uint64().value(), std::string(o["stream"].get_string().value())});
    }
    return out;
  }

  std::uint64_t sim_seq(const std::string& s) { return sim_books_[s].last_update_id; }

  testing::TempDir dir_{"tickwire-okx-sim"};
  connector::SimulatorOptions sim_;
  std::vector<Record> journal_;
  std::map<std::string, connector::SimBook> sim_books_;
  std::string log_;
};

TEST_F(OkxSim, BooksFromTheJournalEqualTheSimulatorsAfterEverySnapshotAndUpdateAndTradesAreAllThere) {
  // The truth's trades messages per symbol (tradeId, count): each is one agg_trade record.
  std::map<std::string, std::map<std::uint64_t, std::uint64_t>> truth_trades;
  bool truth_read = false;
  run(R"("books", "trades")", [&] {
    if (!books_reached([this](const std::string& s) { return sim_seq(s); })()) return false;
    if (!truth_read) {
      each_truth([&](const TruthLine& t) {
        if (t.channel != "trades") return;
        truth_trades[t.symbol][std::stoull(std::string(t.item["tradeId"].get_string().value()))] =
            std::stoull(std::string(t.item["count"].get_string().value()));
      });
      truth_read = true;
    }
    // Done once each symbol's last trade is journaled.
    for (const auto& s : sim_.symbols) {
      std::uint64_t last = 0;
      for (const Record* r : records("agg_trade")) last = r->symbol == s ? r->trade_id : last;
      if (truth_trades[s].empty() || last != truth_trades[s].rbegin()->first) return false;
    }
    return true;
  });
  ASSERT_FALSE(HasFatalFailure());
  verify_every_book();
  verify_final_books();
  EXPECT_TRUE(records("status", "gap").empty()) << log_;
  EXPECT_TRUE(records("status", "rejected").empty()) << log_;
  // Every trades message from the first one journaled is journaled once,
  // naming the fills it covers.
  for (const auto& s : sim_.symbols) {
    std::map<std::uint64_t, std::uint64_t> journaled;  // tradeId -> fills
    for (const Record* r : records("agg_trade")) {
      if (r->symbol != s) continue;
      EXPECT_TRUE(journaled.emplace(r->trade_id, r->trade_id - r->first_trade_id + 1).second) << r->trade_id;
    }
    ASSERT_FALSE(journaled.empty()) << s;
    std::map<std::uint64_t, std::uint64_t> want(truth_trades[s].find(journaled.begin()->first), truth_trades[s].end());
    EXPECT_EQ(journaled, want) << s;
    EXPECT_GT(want.size(), 50u) << s;
  }
}

TEST_F(OkxSim, FundingOpenInterestLiquidationsAndBboEqualWhatTheSimulatorSent) {
  sim_.record_all = false;  // the truth: what the connector's subscriptions received, from the first message on
  struct Want {
    std::vector<std::array<std::string, 2>> funding;  // mark, rate of each record, in order
    std::vector<std::string> oi;
    std::vector<std::array<std::string, 3>> liquidations;  // side, price, size
    std::uint64_t last_bbo = 0;
  };
  std::map<std::string, Want> want;
  bool truth_read = false;
  const auto expected = [&] {
    // The parser's rule: a record on each mark price once a rate is known,
    // and on the rate that completes the first one.
    std::map<std::string, std::pair<std::string, std::string>> state;  // mark, rate ("" = unknown)
    each_truth([&](const TruthLine& t) {
      Want& w = want[t.symbol];
      auto& [mark, rate] = state[t.symbol];
      if (t.channel == "mark-price") {
        mark = canonical_decimal(t.item["markPx"].get_string().value());
        if (!rate.empty()) w.funding.push_back({mark, rate});
      } else if (t.channel == "funding-rate") {
        const bool completes = !mark.empty() && rate.empty();
        rate = canonical_decimal(t.item["fundingRate"].get_string().value());
        if (completes) w.funding.push_back({mark, rate});
      } else if (t.channel == "open-interest") {
        w.oi.push_back(canonical_decimal(t.item["oi"].get_string().value()));
      } else if (t.channel == "liquidation-orders") {
        for (simdjson::dom::object d : t.item["details"].get_array()) {
          w.liquidations.push_back({std::string(d["side"].get_string().value()),
                                    canonical_decimal(d["bkPx"].get_string().value()),
                                    canonical_decimal(d["sz"].get_string().value())});
        }
      } else if (t.channel == "bbo-tbt") {
        w.last_bbo = t.item["seqId"].get_uint64().value();
      }
    });
  };
  run(R"("bbo-tbt", "mark-price", "funding-rate", "open-interest", "liquidation-orders")", [&] {
    if (!truth_read) {
      expected();
      truth_read = true;
    }
    for (const auto& s : sim_.symbols) {
      std::size_t funding = 0, oi = 0, liquidations = 0;
      std::uint64_t bbo = 0;
      for (const auto& r : journal_) {
        if (r.symbol != s) continue;
        funding += r.kind == "funding";
        oi += r.kind == "open_interest";
        liquidations += r.kind == "liquidation";
        if (r.kind == "quote") bbo = r.update_id;
      }
      const Want& w = want[s];
      if (funding < w.funding.size() || oi < w.oi.size() || liquidations < w.liquidations.size() ||
          bbo < w.last_bbo) {
        return false;
      }
    }
    return true;
  });
  ASSERT_FALSE(HasFatalFailure());
  for (const auto& s : sim_.symbols) {
    const Want& w = want[s];
    EXPECT_GT(w.funding.size(), 0u) << s;
    EXPECT_GT(w.oi.size(), 0u) << s;
    std::vector<std::array<std::string, 2>> funding;
    std::vector<std::string> oi;
    std::vector<std::array<std::string, 3>> liquidations;
    for (const auto& r : journal_) {
      if (r.symbol != s) continue;
      if (r.kind == "funding") {
        funding.push_back({r.mark_price, r.funding_rate});
        EXPECT_EQ(r.index_price, "0") << "OKX states no index price in these channels";
        EXPECT_GT(r.next_funding_ns, r.exch_ns);
      }
      if (r.kind == "open_interest") oi.push_back(r.open_interest);
      if (r.kind == "liquidation") liquidations.push_back({r.side, r.price, r.size});
    }
    EXPECT_EQ(funding, w.funding) << s;
    EXPECT_EQ(oi, w.oi) << s;
    EXPECT_EQ(liquidations, w.liquidations) << s;
  }
  EXPECT_TRUE(records("status", "rejected").empty()) << log_;
}

TEST_F(OkxSim, AWithheldUpdateBreaksTheChainAndTheResubscribedSnapshotHealsTheBook) {
  sim_.faults.gap = {true, 150, 0, 1};
  run(R"("books")", books_reached([this](const std::string& s) { return sim_seq(s); }));
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(faults("gap").size(), 1u);
  const auto gaps = records("status", "gap");
  ASSERT_EQ(gaps.size(), 1u) << log_;
  EXPECT_NE(gaps[0]->detail.find("book update ids missing"), std::string::npos) << gaps[0]->detail;
  // The withheld update's ids are the missing ones: (its prevSeqId, its seqId].
  EXPECT_EQ(gaps[0]->from_id, faults("gap")[0].first_id);
  EXPECT_EQ(gaps[0]->to_id, faults("gap")[0].last_id);
  EXPECT_EQ("books:" + gaps[0]->symbol, faults("gap")[0].stream);
  EXPECT_NE(log_.find("resubscribing"), std::string::npos);
  // Updates in flight after the gap may start a REST bootstrap beside the
  // resubscribe; whichever answers first, the other is no "venue reset".
  for (const Record* r : records("status", "resync")) {
    EXPECT_EQ(r->detail.find("the venue reset the book"), std::string::npos) << r->detail << "\n" << log_;
  }
  verify_every_book();  // before the gap and after the resubscribed snapshot
  verify_final_books();
}

TEST_F(OkxSim, AWrongChecksumIsABreakAndTheResubscribedSnapshotHealsTheBook) {
  sim_.faults.bad_checksum = {true, 150, 0, 1};
  run(R"("books")", books_reached([this](const std::string& s) { return sim_seq(s); }));
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(faults("bad_checksum").size(), 1u);
  const auto gaps = records("status", "gap");
  ASSERT_EQ(gaps.size(), 1u) << log_;
  EXPECT_NE(gaps[0]->detail.find("checksum mismatch"), std::string::npos) << gaps[0]->detail;
  // Nothing of the update with the wrong checksum was journaled as book data.
  const Fault bad = faults("bad_checksum")[0];
  std::size_t at_bad = 0;
  for (const Record* r : records("book_delta")) {
    at_bad += "books:" + r->symbol == bad.stream && r->last_update_id == bad.last_id ? 1 : 0;
  }
  EXPECT_EQ(at_bad, 0u);
  verify_every_book();
  verify_final_books();
}

TEST_F(OkxSim, IdleKeepalivesAreNotDataAndNotGaps) {
  sim_.faults.keepalive = {true, 20, 0.05, 0};
  run(R"("books")", books_reached([this](const std::string& s) { return sim_seq(s); }));
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GT(faults("keepalive").size(), 5u);
  EXPECT_TRUE(records("status", "gap").empty()) << log_;
  EXPECT_TRUE(records("status", "rejected").empty()) << log_;
  // One book record per update: the keepalives added none.
  std::map<std::pair<std::string, std::uint64_t>, std::size_t> per_id;
  for (const Record* r : records("book_delta")) ++per_id[{r->symbol, r->last_update_id}];
  for (const auto& [id, n] : per_id) EXPECT_EQ(n, 1u) << id.first << " seqId " << id.second;
  verify_every_book();
}

TEST_F(OkxSim, ASeqIdResetDuringMaintenanceIsNotAGapAndTheChainGoesOnFromIt) {
  sim_.faults.restart = {true, 150, 0, 1};
  std::optional<Fault> reset;
  run(R"("books")", [&] {
    if (!reset) {
      const auto f = faults("restart");
      if (f.empty()) return false;
      reset = f[0];
    }
    // The reset book's ids on this connection after it: seqId - (the reset update's seqId - 1).
    const std::uint64_t base = reset->last_id - 1;
    return books_reached([&](const std::string& s) {
      return "books:" + s == reset->stream ? sim_seq(s) - base : sim_seq(s);
    })();
  });
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(records("status", "gap").empty()) << log_;
  EXPECT_TRUE(records("status", "rejected").empty()) << log_;
  // The reset update itself was applied: a delta at seqId 1.
  std::size_t at_one = 0;
  for (const Record* r : records("book_delta")) {
    at_one += "books:" + r->symbol == reset->stream && r->last_update_id == 1 ? 1 : 0;
  }
  EXPECT_EQ(at_one, 1u);
  verify_final_books();
}

TEST_F(OkxSim, ASubscriptionWithoutItsSnapshotStartsFromTheRestSnapshotAndTheUpdatesKeptMeanwhile) {
  // OKX's announced bootstrap: GET /api/v5/market/books, then the first
  // update applied satisfies prevSeqId <= the snapshot's seqId < seqId.
  sim_.faults.no_snapshot = {true, 1, 0, 1};
  run(R"("books")", books_reached([this](const std::string& s) { return sim_seq(s); }));
  ASSERT_FALSE(HasFatalFailure());
  const auto withheld = faults("no_snapshot");
  ASSERT_EQ(withheld.size(), 1u);
  EXPECT_NE(log_.find("book update before any snapshot: the book starts from a REST snapshot"), std::string::npos)
      << log_;
  EXPECT_NE(log_.find("fetching book snapshot http://127.0.0.1:"), std::string::npos) << log_;
  std::size_t from_rest = 0;
  for (const Record* r : records("status", "resync")) {
    from_rest += r->detail.rfind("book synced from REST snapshot ", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(from_rest, 1u) << log_;
  EXPECT_EQ(log_.find("resubscribing"), std::string::npos) << "the REST snapshot, not a resubscribe\n" << log_;
  EXPECT_TRUE(records("status", "gap").empty()) << log_;
  verify_every_book();
  verify_final_books();
}

TEST_F(OkxSim, ARefusedSubscriptionIsAStatusNamingTheCodeAndTheInstrument) {
  sim_.symbols = {"BTC-USDT-SWAP"};  // the simulator does not list ETH-USDT-SWAP: OKX's 60018
  connector::Simulator sim(sim_);
  auto port = sim.start();
  ASSERT_TRUE(port.ok()) << port.status();
  std::filesystem::create_directories(dir_ / "data");
  const auto config = dir_ / "okx.toml";
  std::ofstream(config) << "env = \"test\"\n[[feeds]]\nname = \"okx\"\nexchange = \"okx\"\nurl = \"ws://127.0.0.1:"
                        << *port << "/ws/v5/public\"\nrest_url = \"http://127.0.0.1:" << *port
                          << "\"\nsymbols = [\"BTC-USDT-SWAP\", \"ETH-USDT-SWAP\"]\n"
                        << "channels = [\"books\"]\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\n[journal]\ndir = \""
                        << (dir_ / "data").string() << "\"\nfsync = \"none\"\nring_bytes = \"1MiB\"\n"
                        << "segment_bytes = \"4MiB\"\n[status]\ninterval_ms = 3600000\nheartbeat_ms = 0\n";
  const auto log_path = dir_ / "connector.log";
  testing::Subprocess connector({TICKWIRE_BINARY, "run", "-c", config.string()}, log_path.string());
  auto tailer = journal::Tailer::open(dir_ / "data");
  ASSERT_TRUE(tailer.ok()) << tailer.status();
  simdjson::dom::parser parser;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string detail;
  while (detail.empty()) {
    auto next = tailer->poll();
    ASSERT_TRUE(next.ok()) << next.status();
    if (*next) {
      if ((*next)->type != connector::kEnvelopeRecordType) continue;
      auto json = connector::envelope_to_json((*next)->payload);
      ASSERT_TRUE(json.ok()) << json.status();
      const Record r = parse_record(parser, *json);
      if (r.kind == "status" && r.status == "disconnected" && r.detail.find("rejected") != std::string::npos) {
        detail = r.detail;
      }
      continue;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no refusal journaled; log:\n" << testing::read_text(log_path);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
  }
  connector.kill(SIGTERM);
  ASSERT_TRUE(connector.wait().has_value());
  sim.stop();
  EXPECT_NE(detail.find("60018"), std::string::npos) << detail;
  EXPECT_NE(detail.find("ETH-USDT-SWAP"), std::string::npos) << detail;
}

TEST(OkxSimRun, SimUrlStartsTheEmbeddedSimulatorInTheOkxDialect) {
  testing::TempDir dir("tickwire-okx-run");
  std::ofstream(dir / "c.toml")
      << "env = \"test\"\n[[feeds]]\nname = \"okx\"\nexchange = \"okx\"\n"
      << "url = \"sim://\"\nsymbols = [\"BTC-USDT-SWAP\", \"BTC-USD-250627\"]\n"
      << "channels = [\"trades\", \"books\", \"bbo-tbt\", \"mark-price\", \"open-interest\"]\n"
      << "[simulator]\nrate = 4000\nseed = 5\ncount = 6000\n"
      << "[journal]\ndir = \"" << (dir / "data").string() << "\"\nfsync = \"none\"\n"
      << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[metrics]\nlisten = \"\"\n";
  auto run = testing::run_command({"/bin/sh", "-c",
                                   fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                               (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("embedded okx simulator"), std::string::npos) << run.out;
  auto replay = testing::run_command({TICKWIRE_BINARY, "replay", (dir / "data").string(), "--format", "jsonl"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  std::map<std::string, std::uint64_t> kinds;
  std::map<std::string, std::string> instruments;  // symbol -> normalized instrument
  std::map<std::string, std::string> contracts;    // symbol -> "value currency"
  std::map<std::string, std::size_t> with_contract;
  simdjson::dom::parser parser;
  std::istringstream lines(replay.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const Record r = parse_record(parser, line);
    ++kinds[r.kind == "status" ? "status " + r.status : r.kind];
    simdjson::dom::object o = parser.parse(line).get_object().value();
    std::string_view instrument;
    if (!r.symbol.empty() && o["instrument"].get_string().get(instrument) == simdjson::SUCCESS) {
      instruments[r.symbol] = std::string(instrument);
    }
    if (r.symbol.empty()) continue;
    // Once the instruments endpoint has answered, every record of the symbol carries the contract.
    std::string_view value, currency;
    if (o["contract_value"].get_string().get(value) == simdjson::SUCCESS &&
        o["contract_currency"].get_string().get(currency) == simdjson::SUCCESS) {
      const std::string got = std::string(value) + " " + std::string(currency);
      EXPECT_TRUE(contracts[r.symbol].empty() || contracts[r.symbol] == got) << line;
      contracts[r.symbol] = got;
      ++with_contract[r.symbol];
    } else {
      EXPECT_TRUE(contracts[r.symbol].empty()) << "a record without the contract after one with it: " << line;
    }
  }
  for (const char* kind : {"agg_trade", "quote", "book_snapshot", "book_delta", "open_interest"}) {
    EXPECT_GT(kinds[kind], 0u) << kind << " never journaled";
  }
  // Without funding-rate on the feed (and a future has none), each mark
  // price is a funding record alone: rate 0, next funding time 0 (unknown).
  EXPECT_GT(kinds["funding"], 0u) << "mark-price without a rate still publishes the mark";
  for (const std::string& line : testing::lines_of(replay.out)) {
    if (line.find(R"("kind":"funding")") == std::string::npos) continue;
    EXPECT_NE(line.find(R"("funding_rate":"0")"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("next_funding_ns":0)"), std::string::npos) << line;
  }
  EXPECT_EQ(kinds["status gap"], 0u);
  EXPECT_EQ(kinds["status rejected"], 0u) << replay.out.substr(0, 4000);
  EXPECT_EQ(instruments["BTC-USDT-SWAP"], "BTC-USDT-PERP");
  EXPECT_EQ(instruments["BTC-USD-250627"], "BTC-USD-250627");
  // Sizes of swaps and futures are in contracts: what one is worth, as the
  // simulator's GET /api/v5/public/instruments states it (linear 0.01 BTC,
  // inverse 100 USD).
  EXPECT_EQ(contracts["BTC-USDT-SWAP"], "0.01 BTC");
  EXPECT_EQ(contracts["BTC-USD-250627"], "100 USD");
  EXPECT_GT(with_contract["BTC-USDT-SWAP"], 100u);
  EXPECT_GT(with_contract["BTC-USD-250627"], 100u);
  EXPECT_NE(run.out.find("BTC-USD-250627: one contract is 100 USD"), std::string::npos) << run.out;
}

TEST(OkxSimCli, HelpNamesTheOkxVenueAndItsFaults) {
  auto r = testing::run_command({TICKWIRE_BINARY, "sim", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  for (const char* text : {"okx", "keepalive", "bad_checksum", "no_snapshot"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace tickwire
