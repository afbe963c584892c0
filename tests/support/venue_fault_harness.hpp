// VenueFault: the fixture of the venue-generic fault suite
// (tests/connector/venue_fault_test.cpp). Like SimFault (fault_harness.hpp)
// it runs the exchange simulator in this process with one fault and a real
// `tickwire run` against it, but it reads the simulator's truth in no
// dialect: it checks only what holds on every venue, so one suite covers
// every venue the simulator speaks. A run is complete when every subscribed
// book rebuilt from the live journal equals Simulator::book() and every
// symbol's last trade is journaled or declared missing; then the connector
// is stopped with SIGTERM and verify() holds the venue-neutral invariants
// against `tickwire replay --format jsonl` and `tickwire verify`.
// Header-only: the suite links the connector; the support library does not.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/sim_truth.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/connector/simulator.hpp"
#include "tickwire/connector/venue.hpp"
#include "tickwire/journal/tailer.hpp"

namespace tickwire::testing {

// VenueDialect: one venue's feed against the simulator speaking it, set up
// as that venue's own simulator test does (<venue>_sim_test.cpp).
struct VenueDialect {
  std::string exchange;              // the feed's `exchange` and the simulator's venue
  std::vector<std::string> symbols;  // as the venue spells them
  std::string trade_channel, book_channel;
  std::string url_target;            // the websocket path the venue serves
  bool rest = true;                  // the feed has a rest_url (book snapshots, contracts)
  std::string feed_toml;             // venue keys for the [[feeds]] table (Bybit's category)
  std::size_t book_depth = 0;        // levels per side the book channel keeps; 0: every level
  std::string trade_kind;            // the journal kind of its trades: "trade" or "agg_trade"
};

// venue_dialect: the set-up of each venue the suite covers.
inline VenueDialect venue_dialect(std::string_view venue) {
  if (venue == "binance") {
    return {"binance", {"BTCUSDT", "ETHUSDT"}, "trade", "depth@100ms", "/stream", true, "", 0, "trade"};
  }
  if (venue == "okx") {
    return {"okx", {"BTC-USDT-SWAP", "ETH-USDT-SWAP"}, "trades", "books", "/ws/v5/public", true, "", 0, "agg_trade"};
  }
  if (venue == "bybit") {
    return {"bybit", {"BTCUSDT", "ETHUSDT"}, "publicTrade", "orderbook.200", "/v5/public/spot", true,
            "category = \"spot\"\n", 0, "trade"};
  }
  if (venue == "kraken") {
    // Kraken has no REST book: the feed names no rest_url (kraken_sim_test.cpp).
    return {"kraken", {"BTC/USD", "ETH/USD"}, "trade", "book.10", "/v2", false, "", connector::SimMarket::kKrakenDepth,
            "trade"};
  }
  if (venue == "coinbase") {
    return {"coinbase", {"BTC-USD", "ETH-USD"}, "market_trades", "level2", "/", true, "", 0, "trade"};
  }
  ADD_FAILURE() << "no dialect set up for venue '" << venue << "'";
  return {};
}

// book_of: a simulator book as canonical decimal text.
inline Book book_of(const connector::SimBook& sb) {
  Book out;
  out.id = sb.last_update_id;
  for (const auto& l : sb.bids) {
    out.bids[canonical_decimal(connector::SimMarket::format_units(l.price))] =
        canonical_decimal(connector::SimMarket::format_units(l.qty));
  }
  for (const auto& l : sb.asks) {
    out.asks[canonical_decimal(connector::SimMarket::format_units(l.price))] =
        canonical_decimal(connector::SimMarket::format_units(l.qty));
  }
  return out;
}

// crossed: the best bid is at or above the best ask (prices compared as numbers).
inline bool crossed(const Book& b) {
  if (b.bids.empty() || b.asks.empty()) return false;
  // The maps order prices as text; the best of each side is found by value.
  double best_bid = 0, best_ask = std::numeric_limits<double>::infinity();
  for (const auto& [price, size] : b.bids) best_bid = std::max(best_bid, std::stod(price));
  for (const auto& [price, size] : b.asks) best_ask = std::min(best_ask, std::stod(price));
  return best_bid >= best_ask;
}

// is_book_gap / is_trade_gap: which stream a Status gap declares broken.
inline bool is_book_gap(const JournalRecord& r) {
  return r.kind == "status" && r.status == "gap" && !r.symbol.empty() && r.detail.starts_with("book ");
}
inline bool is_trade_gap(const JournalRecord& r) {
  return r.kind == "status" && r.status == "gap" && !r.symbol.empty() &&
         (r.detail.starts_with("trade ids") || r.detail.starts_with("aggregate trade ids"));
}

class VenueFault : public ::testing::Test, public ::testing::WithParamInterface<const char*> {
 protected:
  VenueFault() : venue_(venue_dialect(GetParam())) {
    sim_.venue = venue_.exchange;
    sim_.symbols = venue_.symbols;
    sim_.rate = 4000;
    sim_.seed = 11;
    sim_.count = 2000;
    sim_.record_path = (dir_ / "truth.ndjson").string();
    sim_.record_all = true;  // the count is then the market's, whoever subscribed when
    sim_.epoch_ms = connector::SimMarket::kDefaultEpochMs;
    sim_.depth_interval_ms = 20;
    // No incoming message limit: a subscribe round (Kraken's five requests)
    // may exceed the default; each venue's limits have tests of their own.
    sim_.max_incoming_per_s = 0;
    channels_ = {venue_.trade_channel, venue_.book_channel};
  }

  const std::string& venue() const { return venue_.exchange; }

  // contiguous_trades: the venue's trade ids step by one, so a jump is a gap
  // the connector must declare (VenueAdapter::trade_continuity).
  bool contiguous_trades() const {
    const connector::VenueAdapter* adapter = connector::find_venue(venue_.exchange);
    if (adapter == nullptr) return false;
    const auto kind = adapter->channel_kind(venue_.trade_channel);
    return kind && adapter->trade_continuity(*kind) == connector::TradeContinuity::kContiguous;
  }

  // connection_sequence: the venue numbers every message of a connection
  // (Coinbase sequence_num), so a message the connector could not read is a
  // number missing, declared as a gap of every book (BookPolicy).
  bool connection_sequence() const {
    const connector::VenueAdapter* adapter = connector::find_venue(venue_.exchange);
    return adapter != nullptr && adapter->book_policy().connection_sequence;
  }

  // book_repeat_visible: a repeated book update shows by its id. Not on a
  // checksum venue (Kraken: no id; the repeat is applied again, which sizes
  // being absolute makes harmless), nor on Coinbase against the simulator,
  // which stamps a repeated copy with the connection's next sequence_num.
  bool book_repeat_visible() const {
    const connector::VenueAdapter* adapter = connector::find_venue(venue_.exchange);
    if (adapter == nullptr) return false;
    const auto policy = adapter->book_policy();
    return policy.integrity != connector::BookIntegrity::kStreamChecksum && !policy.connection_sequence;
  }

  // is_trade_stream: a simulator stream name ("trades:BTC-USDT-SWAP",
  // "publicTrade.BTCUSDT", "btcusdt@trade") of the trade channel.
  bool is_trade_stream(const std::string& stream) const {
    return stream.find(venue_.trade_channel) != std::string::npos;
  }

  bool subscribed(const std::string& channel) const {
    return std::find(channels_.begin(), channels_.end(), channel) != channels_.end();
  }

  // run: simulator + connector until complete (see the file comment), then
  // the replayed journal into journal_, the log into log_, the final
  // counters into counters_.
  void run() {
    connector::Simulator sim(sim_);
    auto port = sim.start();
    ASSERT_TRUE(port.ok()) << port.status();
    const auto config = write_config(*port);
    std::filesystem::create_directories(dir_ / "data");
    const auto log_path = dir_ / "connector.log";
    Subprocess connector({TICKWIRE_BINARY, "run", "-c", config.string()}, log_path.string());

    // 1. The simulator has published everything: its books and the truth are final.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (sim.sent() < sim_.count) {
      ASSERT_FALSE(connector.wait(std::chrono::milliseconds(0)).has_value())
          << "the connector exited early; its log:\n" << read_text(log_path);
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the simulator published " << sim.sent() << " of " << sim_.count << "; connector log:\n"
          << read_text(log_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }
    std::map<std::string, Book> final_books;
    if (subscribed(venue_.book_channel)) {
      for (const auto& s : sim_.symbols) {
        auto book = sim.book(s, venue_.book_depth);
        ASSERT_TRUE(book.ok()) << book.status();
        final_books[s] = book_of(*book);
      }
    }
    std::map<std::string, std::uint64_t> last_trades;  // symbol -> its last trade's id
    if (subscribed(venue_.trade_channel)) {
      truth_trades_ = truth_trades();
      for (const auto& [s, ids] : truth_trades_) {
        if (!ids.empty()) last_trades[s] = ids.rbegin()->first;
      }
    }

    // 2. Follow the live journal until its books equal the simulator's and
    // every symbol's last trade is journaled (or declared missing).
    std::map<std::string, Book> books;
    std::map<std::string, std::uint64_t> trades_covered;
    auto tailer = journal::Tailer::open(dir_ / "data");
    ASSERT_TRUE(tailer.ok()) << tailer.status();
    simdjson::dom::parser parser;
    const auto complete = [&] {
      for (const auto& [s, book] : final_books) {
        if (!books[s].same_levels(book)) return false;
      }
      for (const auto& [s, id] : last_trades) {
        if (trades_covered[s] < id) return false;
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
        const JournalRecord r = parse_journal_record(parser, *json);
        if (r.kind == "book_snapshot") books[r.symbol] = Book{};
        if (r.kind == "book_snapshot" || r.kind == "book_delta") books[r.symbol].apply(r.bids, r.asks);
        if (r.kind == venue_.trade_kind) trades_covered[r.symbol] = std::max(trades_covered[r.symbol], r.id);
        if (is_trade_gap(r)) trades_covered[r.symbol] = std::max(trades_covered[r.symbol], r.to_id);
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        std::string state;
        for (const auto& [s, book] : final_books) {
          state += "\n" + s + " journal:   " + books[s].describe() + "\n" + s + " simulator: " + book.describe();
        }
        for (const auto& [s, id] : last_trades) {
          state += "\n" + s + " trades up to " + std::to_string(trades_covered[s]) + " of " + std::to_string(id);
        }
        FAIL() << "the journal never reached the simulator's books and trades:" << state << "\nconnector log:\n"
               << read_text(log_path);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }

    // 3. Stop the connector; it must exit 0 on SIGTERM.
    connector.kill(SIGTERM);
    const auto status = connector.wait();
    ASSERT_TRUE(status.has_value()) << "the connector did not stop on SIGTERM; its log:\n" << read_text(log_path);
    log_ = read_text(log_path);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "exit status " << *status << "\n" << log_;
    sim.stop();
    load_faults();
    counters_ = status_counters(log_);

    auto replay = run_command({TICKWIRE_BINARY, "replay", (dir_ / "data").string(), "--format", "jsonl"});
    ASSERT_EQ(replay.exit_code, 0) << replay.out;
    std::istringstream lines(replay.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) journal_.push_back(parse_journal_record(parser, line));
    }
    auto verified = run_command({TICKWIRE_BINARY, "verify", (dir_ / "data").string()});
    EXPECT_EQ(verified.exit_code, 0) << "tickwire verify: " << verified.out;
  }

  // verify: the invariants every fault must keep on every venue.
  void verify() {
    ASSERT_FALSE(journal_.empty());
    for (std::size_t i = 1; i < journal_.size(); ++i) {
      EXPECT_EQ(journal_[i].seq, journal_[i - 1].seq + 1) << "sequences are not contiguous at " << i;
    }
    if (subscribed(venue_.book_channel)) verify_books();
    if (subscribed(venue_.trade_channel)) verify_trades();
  }

  // --- queries for the fault-specific checks ---

  std::vector<const JournalRecord*> statuses(std::string_view status) const {
    std::vector<const JournalRecord*> out;
    for (const auto& r : journal_) {
      if (r.kind == "status" && r.status == status) out.push_back(&r);
    }
    return out;
  }

  std::uint64_t counter(const std::string& name) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }

  // faults_named: the {"sim":"fault"} lines of the truth named `name`.
  std::vector<TruthFault> faults_named(std::string_view name) const {
    std::vector<TruthFault> out;
    for (const auto& f : truth_faults_) {
      if (f.fault == name) out.push_back(f);
    }
    return out;
  }

  // symbol_of: the subscribed symbol a simulator stream name ("books:BTC-USDT-SWAP",
  // "btcusdt@depth@100ms") is of; empty if none.
  std::string symbol_of(const std::string& stream) const {
    for (const auto& s : sim_.symbols) {
      if (lower_of(stream).find(lower_of(s)) != std::string::npos) return s;
    }
    return {};
  }

  // expect_reconnected: the fault `name` fired; the connector journaled a
  // disconnect naming `reason`, connected again, and synced every book
  // again after it (a snapshot journaled after the second `connected`).
  void expect_reconnected(std::string_view name, const std::string& reason) {
    EXPECT_FALSE(faults_named(name).empty()) << "the simulator did not inject " << name;
    const auto disconnects = statuses("disconnected");
    ASSERT_FALSE(disconnects.empty()) << "no disconnect journaled\n" << log_;
    EXPECT_TRUE(std::regex_search(disconnects.front()->detail, std::regex(reason)))
        << "disconnect reason: " << disconnects.front()->detail;
    const auto connects = statuses("connected");
    ASSERT_GE(connects.size(), 2u) << log_;
    if (!subscribed(venue_.book_channel)) return;
    std::set<std::string> resynced;
    for (const auto& r : journal_) {
      if (r.seq > connects[1]->seq && r.kind == "book_snapshot") resynced.insert(r.symbol);
    }
    EXPECT_EQ(resynced, std::set<std::string>(sim_.symbols.begin(), sim_.symbols.end()))
        << "every book is synced again after the reconnect";
  }

  // expect_connection_kept: one connection from start to end, closed only by our shutdown.
  void expect_connection_kept() {
    EXPECT_EQ(statuses("connected").size(), 1u) << log_;
    for (const JournalRecord* r : statuses("disconnected")) EXPECT_EQ(r->detail, "connector shutdown");
    EXPECT_EQ(limits_, 0u) << "the simulator closed a connection for breaking a limit";
  }

  // expect_no_loss: no gap declared, and every trade made is journaled.
  void expect_no_loss() {
    for (const JournalRecord* g : statuses("gap")) ADD_FAILURE() << "gap: " << g->detail;
    expect_every_trade();
    if (::testing::Test::HasFailure()) ADD_FAILURE() << "connector log:\n" << log_;
  }

  // expect_every_trade: every trade the simulator made from the first one
  // journaled on is journaled (as often as it was made).
  void expect_every_trade() {
    if (!subscribed(venue_.trade_channel)) return;
    std::map<std::string, std::map<std::uint64_t, std::size_t>> seen;
    for (const auto& r : journal_) {
      if (r.kind == venue_.trade_kind) ++seen[r.symbol][r.id];
    }
    for (const auto& [symbol, made] : truth_trades_) {
      const auto& journaled = seen[symbol];
      if (journaled.empty()) continue;  // verify() fails a symbol without trades
      std::size_t lost = 0;
      for (auto it = made.find(journaled.begin()->first); it != made.end(); ++it) {
        const auto j = journaled.find(it->first);
        if ((j == journaled.end() || j->second < it->second) && ++lost <= 5) {
          ADD_FAILURE() << symbol << ": trade id " << it->first << " made " << it->second << " times, journaled "
                        << (j == journaled.end() ? 0 : j->second);
        }
      }
      EXPECT_EQ(lost, 0u) << symbol << ": trades lost";
    }
  }

  // book_gaps: the Status gaps that declare a symbol's book broken.
  std::vector<const JournalRecord*> book_gaps() const {
    std::vector<const JournalRecord*> out;
    for (const auto& r : journal_) {
      if (is_book_gap(r)) out.push_back(&r);
    }
    return out;
  }

  TempDir dir_{"tickwire-venue-fault"};
  VenueDialect venue_;
  connector::SimulatorOptions sim_;
  std::vector<std::string> channels_;
  std::string feed_toml_;  // extra keys for the [[feeds]] table
  std::vector<JournalRecord> journal_;
  std::string log_;
  std::map<std::string, std::uint64_t> counters_;  // the final status line: "duplicates" -> N, ...

 private:
  // load_faults: the record's {"sim":"fault"} and {"sim":"limit"} lines,
  // which every dialect writes alike.
  void load_faults() {
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    for (std::string line; std::getline(in, line);) {
      if (line.find(R"("sim":)") == std::string::npos) continue;
      simdjson::dom::object o;
      ASSERT_EQ(parser.parse(line).get(o), simdjson::SUCCESS) << line;
      if (string_or(o, "sim") == "limit") ++limits_;
      if (string_or(o, "sim") != "fault") continue;
      truth_faults_.push_back({string_or(o, "fault"), string_or(o, "stream"), uint_or(o, "conn"), uint_or(o, "at"),
                               uint_or(o, "first_id"), uint_or(o, "last_id"), 0, 0});
    }
  }

  std::filesystem::path write_config(std::uint16_t port) {
    std::string symbols, channels;
    for (const auto& s : sim_.symbols) symbols += (symbols.empty() ? "\"" : ", \"") + s + "\"";
    for (const auto& c : channels_) channels += (channels.empty() ? "\"" : ", \"") + c + "\"";
    const auto path = dir_ / "venue-fault.toml";
    std::ofstream out(path);
    out << "env = \"test\"\n[[feeds]]\nname = \"" << venue_.exchange << "\"\nexchange = \"" << venue_.exchange << "\"\n"
        << "url = \"ws://127.0.0.1:" << port << venue_.url_target << "\"\n";
    if (venue_.rest) out << "rest_url = \"http://127.0.0.1:" << port << "\"\n";
    out << venue_.feed_toml << "symbols = [" << symbols << "]\nchannels = [" << channels << "]\n"
        << "backoff_initial_ms = 20\nbackoff_max_ms = 200\n"
        << feed_toml_ << "[journal]\ndir = \"" << (dir_ / "data").string() << "\"\n"
        << "fsync = \"none\"\nring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n"
        << "[status]\ninterval_ms = 3600000\nheartbeat_ms = 0\n";
    return path;
  }


  // truth_trades: per symbol, how many trades the simulator published under
  // each id the journal gives them, read from the record in the venue's
  // dialect. One each, but on Bybit: its journaled id is the cross sequence
  // "seq" (its "i" is text), shared by the fills of one taker order.
  std::map<std::string, std::map<std::uint64_t, std::size_t>> truth_trades() const {
    std::map<std::string, std::map<std::uint64_t, std::size_t>> out;
    std::ifstream in(sim_.record_path);
    simdjson::dom::parser parser;
    const auto put = [&](std::string_view symbol, std::uint64_t id) { ++out[std::string(symbol)][id]; };
    const auto number = [](simdjson::dom::element e) -> std::uint64_t {
      std::uint64_t n = 0;
      std::string_view text;
      if (e.get(n) == simdjson::SUCCESS) return n;
      if (e.get(text) == simdjson::SUCCESS) return std::stoull(std::string(text));
      return n;
    };
    const std::string& v = venue_.exchange;
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::object o;
      if (parser.parse(line).get(o) != simdjson::SUCCESS || o["sim"].error() == simdjson::SUCCESS) continue;
      if (v == "binance") {
        if (!string_or(o, "stream").ends_with("@trade")) continue;
        simdjson::dom::object d = o["data"];
        put(string_or(d, "s"), uint_or(d, "t"));
      } else if (v == "okx") {
        simdjson::dom::object arg;
        if (o["arg"].get(arg) != simdjson::SUCCESS || string_or(arg, "channel") != "trades") continue;
        for (simdjson::dom::object t : o["data"].get_array()) put(string_or(t, "instId"), number(t["tradeId"]));
      } else if (v == "bybit") {
        if (!string_or(o, "topic").starts_with("publicTrade.")) continue;
        for (simdjson::dom::object t : o["data"].get_array()) put(string_or(t, "s"), number(t["seq"]));
      } else if (v == "kraken") {
        if (string_or(o, "channel") != "trade") continue;
        for (simdjson::dom::object t : o["data"].get_array()) put(string_or(t, "symbol"), number(t["trade_id"]));
      } else if (v == "coinbase") {
        if (string_or(o, "channel") != "market_trades") continue;
        for (simdjson::dom::object e : o["events"].get_array()) {
          for (simdjson::dom::object t : e["trades"].get_array()) put(string_or(t, "product_id"), number(t["trade_id"]));
        }
      }
    }
    return out;
  }

  // verify_books: per symbol, no delta before a snapshot or after a book gap
  // until the next snapshot, and after every book record a book that is not
  // crossed.
  void verify_books() {
    std::map<std::string, std::optional<Book>> books;  // nullopt: not synced (before a snapshot, after a gap)
    std::map<std::string, std::size_t> snapshots, deltas;
    for (const auto& r : journal_) {
      if (is_book_gap(r)) {
        books[r.symbol].reset();
        continue;
      }
      if (r.kind != "book_snapshot" && r.kind != "book_delta") continue;
      auto& book = books[r.symbol];
      if (r.kind == "book_snapshot") {
        ++snapshots[r.symbol];
        book = Book{};
      } else {
        ++deltas[r.symbol];
        if (!book) {
          ADD_FAILURE() << r.symbol << ": delta at seq " << r.seq << " (update " << r.id
                        << ") while the journal's book is not synced (before a snapshot or after a gap)";
          continue;
        }
      }
      book->apply(r.bids, r.asks);
      book->id = r.id;
      EXPECT_FALSE(crossed(*book)) << r.symbol << ": crossed after seq " << r.seq << " (" << r.kind << ")\n"
                                   << book->describe();
    }
    for (const auto& s : sim_.symbols) {
      EXPECT_GT(snapshots[s], 0u) << s << ": never synced";
      EXPECT_GT(deltas[s], 0u) << s << ": no delta journaled";
    }
  }

  // verify_trades: no trade journaled more often than the simulator made it
  // (once; on Bybit as often as its id is shared) and none it never made; on
  // a venue whose trade ids are contiguous, every id between the first and
  // last journaled is journaled or inside a declared gap, and no journaled
  // id is inside one.
  void verify_trades() {
    std::map<std::string, std::map<std::uint64_t, std::size_t>> seen;  // symbol -> id -> times journaled
    for (const auto& r : journal_) {
      if (r.kind == venue_.trade_kind) ++seen[r.symbol][r.id];
    }
    for (const auto& s : sim_.symbols) EXPECT_FALSE(seen[s].empty()) << s << ": no trade journaled";
    for (const auto& [symbol, ids] : seen) {
      std::size_t repeated = 0;
      for (const auto& [id, times] : ids) {
        const auto& truth = truth_trades_[symbol];
        const auto made = truth.find(id);
        if (made == truth.end()) {
          ADD_FAILURE() << symbol << ": trade id " << id << " journaled but never made by the simulator";
        } else if (times > made->second && ++repeated <= 5) {
          ADD_FAILURE() << symbol << ": trade id " << id << " journaled " << times << " times, made " << made->second;
        }
      }
      EXPECT_EQ(repeated, 0u) << symbol << ": trades journaled twice";
    }
    if (!contiguous_trades()) return;
    for (const auto& [symbol, ids] : seen) {
      std::vector<std::pair<std::uint64_t, std::uint64_t>> declared;
      for (const auto& r : journal_) {
        if (!is_trade_gap(r) || r.symbol != symbol) continue;
        EXPECT_EQ(r.count, r.to_id - r.from_id + 1) << r.detail;
        declared.emplace_back(r.from_id, r.to_id);
        for (std::uint64_t id = r.from_id; id <= r.to_id; ++id) {
          EXPECT_EQ(ids.count(id), 0u) << symbol << ": gap " << r.detail << " covers journaled id " << id;
        }
      }
      std::size_t missing = 0;
      for (std::uint64_t id = ids.begin()->first; id <= ids.rbegin()->first; ++id) {
        if (ids.count(id) != 0) continue;
        const bool in_gap = std::any_of(declared.begin(), declared.end(),
                                        [id](const auto& g) { return g.first <= id && id <= g.second; });
        if (!in_gap && ++missing <= 5) ADD_FAILURE() << symbol << ": trade id " << id << " neither journaled nor in a gap";
      }
      EXPECT_EQ(missing, 0u) << symbol << ": trade ids lost silently";
    }
  }

  std::vector<TruthFault> truth_faults_;
  std::size_t limits_ = 0;  // connections the simulator closed for breaking a limit
  std::map<std::string, std::map<std::uint64_t, std::size_t>> truth_trades_;  // symbol -> id -> trades made
};

}  // namespace tickwire::testing
