// SimFault: the fixture of the connector-vs-simulator fault tests. It runs the
// exchange simulator in this process (seeded, one fault, every message
// recorded as the truth), a real `tickwire run` process against it, and
// decides that a run is complete without sleeping: first the simulator has
// published its `count` messages (Simulator::sent()), then the live journal is
// followed until every subscribed stream's last truth id is journaled or
// declared missing by a Status gap. `tickwire replay --format jsonl` then gives
// the journal that verify() holds against the truth:
//   - trades and aggregate trades: every truth id journaled exactly once with
//     identical fields, in order, unless inside a Status gap; gaps exact (no
//     journaled id inside one); quotes identical and strictly increasing;
//   - books: rebuilt from the journal (BookSnapshot replaces, BookDelta
//     applies), equal to the book the truth's diffs describe at the same
//     update id after every record, and at the end equal to Simulator::book().
// Header-only: the suites under tests/connector include it (they link the
// connector; the support library does not). The value types are in
// sim_truth.hpp.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
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
#include "tickwire/journal/tailer.hpp"

namespace tickwire::testing {

// --- the fixture ------------------------------------------------------------------

class SimFault : public ::testing::Test {
 protected:
  SimFault() {
    sim_.symbols = {"BTCUSDT", "ETHUSDT"};
    sim_.rate = 4000;
    sim_.seed = 11;
    sim_.count = 3000;
    sim_.record_path = (dir_ / "truth.ndjson").string();
    sim_.record_all = true;  // messages nobody received (while disconnected) are in the truth too
    sim_.epoch_ms = connector::SimMarket::kDefaultEpochMs;
    sim_.depth_interval_ms = 20;
  }

  // run: simulator + connector until complete, then the replayed journal into
  // journal_, the connector's log into log_, its final counters into counters_.
  void run() {
    sim_.venue = exchange_;
    connector::Simulator sim(sim_);
    auto port = sim.start();
    ASSERT_TRUE(port.ok()) << port.status();
    const auto config = write_config(*port);
    std::filesystem::create_directories(dir_ / "data");
    const auto log_path = dir_ / "connector.log";
    Subprocess connector({TICKWIRE_BINARY, "run", "-c", config.string()}, log_path.string());
    if (after_start_) after_start_();
    ASSERT_FALSE(HasFatalFailure());

    // 1. The simulator has published everything (the truth is on disk then).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (sim.sent() < sim_.count) {
      ASSERT_FALSE(connector.wait(std::chrono::milliseconds(0)).has_value())
          << "the connector exited early; its log:\n" << read_text(log_path);
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the simulator published " << sim.sent() << " of " << sim_.count << "; connector log:\n"
          << read_text(log_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }
    truth_.load(sim_.record_path);
    ASSERT_FALSE(HasFatalFailure());

    // 2. The journal has every stream's last truth id, or declares it missing.
    std::vector<std::string> streams;
    for (const auto& s : sim_.symbols) {
      for (const auto& c : channels_) streams.push_back(lower_of(s) + "@" + c);
    }
    Progress progress;
    auto tailer = journal::Tailer::open(dir_ / "data");
    ASSERT_TRUE(tailer.ok()) << tailer.status();
    simdjson::dom::parser parser;
    auto complete = [&] {
      for (const auto& s : streams) {
        if (progress.covered[s] < truth_.last_id(s)) return false;
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
        progress.add(parse_journal_record(parser, *json));
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        std::string missing;
        for (const auto& s : streams) {
          missing += " " + s + " at " + std::to_string(progress.covered[s]) + " of " +
                     std::to_string(truth_.last_id(s));
        }
        FAIL() << "the journal never reached the truth's last ids:" << missing << "\nconnector log:\n"
               << read_text(log_path);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
    }

    // 3. Stop the connector; the simulator's book is final (it publishes nothing more).
    connector.kill(SIGTERM);
    const auto status = connector.wait();
    ASSERT_TRUE(status.has_value()) << "the connector did not stop on SIGTERM; its log:\n" << read_text(log_path);
    log_ = read_text(log_path);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << log_;
    for (const auto& s : sim_.symbols) {
      auto book = sim.book(s);
      ASSERT_TRUE(book.ok()) << book.status();
      sim_books_[lower_of(s) + "@depth@100ms"] = *book;
    }
    sim.stop();
    counters_ = status_counters(log_);

    auto replay = run_command({TICKWIRE_BINARY, "replay", (dir_ / "data").string(), "--format", "jsonl"});
    ASSERT_EQ(replay.exit_code, 0);
    std::istringstream lines(replay.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) journal_.push_back(parse_journal_record(parser, line));
    }
  }

  // verify: the invariants every fault must keep (see the file comment).
  void verify() {
    for (std::size_t i = 1; i < journal_.size(); ++i) {
      EXPECT_EQ(journal_[i].seq, journal_[i - 1].seq + 1) << "sequences are not contiguous";
    }
    for (const auto& s : sim_.symbols) {
      for (const auto& c : channels_) {
        const std::string stream = lower_of(s) + "@" + c;
        if (c == "trade" || c == "aggTrade") verify_trades(stream);
        if (c == "bookTicker") verify_quotes(stream);
        if (c == "depth@100ms") verify_book(stream);
      }
    }
  }

  // forget_before_subscription: with `subscribe = "message"` the simulator's
  // market runs from the connection's open, before the SUBSCRIBE is
  // acknowledged; what it generated for a trade stream before the first
  // message the connector journaled reached nobody, and no later id can
  // reveal it. Those truth trades are dropped before verify().
  void forget_before_subscription() {
    for (auto& [stream, trades] : truth_.trades) {
      std::uint64_t first = 0;
      for (const auto& r : journal_) {
        if (r.kind != "status" && r.stream() == stream) {
          first = r.id;
          break;
        }
      }
      if (first == 0) continue;
      std::erase_if(trades, [first](const TruthTrade& t) { return t.id < first; });
    }
  }

  // --- queries for the fault-specific checks ---

  std::vector<const JournalRecord*> statuses(std::string_view status) const {
    std::vector<const JournalRecord*> out;
    for (const auto& r : journal_) {
      if (r.kind == "status" && r.status == status) out.push_back(&r);
    }
    return out;
  }

  std::vector<const JournalRecord*> gaps(const std::string& stream) const {
    std::vector<const JournalRecord*> out;
    for (const auto& r : journal_) {
      if (r.kind == "status" && r.status == "gap" && r.stream() == stream) out.push_back(&r);
    }
    return out;
  }

  bool journaled(const std::string& stream, std::uint64_t id) const {
    for (const auto& r : journal_) {
      if (r.kind != "status" && r.stream() == stream && r.id == id) return true;
    }
    return false;
  }

  std::uint64_t counter(const std::string& name) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }

  std::size_t truth_size(const std::string& stream) const {
    if (auto t = truth_.trades.find(stream); t != truth_.trades.end()) return t->second.size();
    return 0;
  }

  // expect_no_loss: every truth trade journaled, no gap declared anywhere.
  void expect_no_loss() {
    EXPECT_TRUE(statuses("gap").empty()) << statuses("gap").front()->detail;
    for (const auto& [stream, trades] : truth_.trades) {
      if (!subscribed(stream)) continue;
      std::size_t got = 0;
      for (const auto& r : journal_) got += r.kind != "status" && r.stream() == stream ? 1 : 0;
      EXPECT_EQ(got, trades.size()) << stream;
    }
  }

  bool subscribed(const std::string& stream) const {
    for (const auto& s : sim_.symbols) {
      for (const auto& c : channels_) {
        if (lower_of(s) + "@" + c == stream) return true;
      }
    }
    return false;
  }

  TempDir dir_{"tickwire-fault"};
  connector::SimulatorOptions sim_;
  std::vector<std::string> channels_{"trade", "depth@100ms"};
  std::string exchange_ = "binance";  // the feed's exchange and the simulator's dialect
  std::string feed_toml_;  // extra keys for the [[feeds]] table
  std::string extra_toml_;  // extra tables after [status], e.g. [publish]
  std::function<void()> after_start_;  // called once the connector process is started
  Truth truth_;
  std::vector<JournalRecord> journal_;
  std::string log_;
  std::map<std::string, std::uint64_t> counters_;  // the final status line: "duplicates" -> N, ...
  std::map<std::string, connector::SimBook> sim_books_;

 private:
  std::filesystem::path write_config(std::uint16_t port) {
    std::string symbols, channels;
    for (const auto& s : sim_.symbols) symbols += (symbols.empty() ? "\"" : ", \"") + s + "\"";
    for (const auto& c : channels_) channels += (channels.empty() ? "\"" : ", \"") + c + "\"";
    const auto path = dir_ / "fault.toml";
    std::ofstream(path) << "env = \"test\"\n[[feeds]]\nname = \"binance\"\nexchange = \"" << exchange_ << "\"\n"
                        << "url = \"ws://127.0.0.1:" << port << "/stream\"\n"
                        << "rest_url = \"http://127.0.0.1:" << port << "\"\n"
                        << "symbols = [" << symbols << "]\nchannels = [" << channels << "]\n"
                        << "backoff_initial_ms = 20\nbackoff_max_ms = 200\n"
                        << feed_toml_ << "[journal]\ndir = \"" << (dir_ / "data").string() << "\"\n"
                        << "fsync = \"none\"\nring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n"
                        << "[status]\ninterval_ms = 3600000\nheartbeat_ms = 0\n" << extra_toml_;
    return path;
  }


  void verify_trades(const std::string& stream) {
    const auto truth_it = truth_.trades.find(stream);
    const std::vector<TruthTrade> none;
    const auto& truth = truth_it == truth_.trades.end() ? none : truth_it->second;
    std::map<std::uint64_t, const TruthTrade*> by_id;
    for (std::size_t i = 0; i < truth.size(); ++i) {
      by_id[truth[i].id] = &truth[i];
      if (i > 0) {
        EXPECT_EQ(truth[i].id, truth[i - 1].id + 1) << stream << ": the truth itself skips ids";
      }
    }
    std::map<std::uint64_t, std::uint64_t> seen;  // id -> seq
    std::uint64_t previous = 0;
    // A stream whose ids only increase (USD-M `trade`) journals a late trade
    // when it arrives: out of id order then, but never twice.
    const bool late_ok = exchange_ == "binance-usdm" && stream.ends_with("@trade");
    for (const auto& r : journal_) {
      if (r.kind == "status" || r.stream() != stream) continue;
      if (late_ok) {
        EXPECT_EQ(seen.count(r.id), 0u) << stream << ": seq " << r.seq << " id " << r.id << " journaled twice";
      } else {
        EXPECT_GT(r.id, previous) << stream << ": seq " << r.seq << " id " << r.id
                                  << " journaled after id " << previous << " (duplicate or out of order)";
      }
      previous = std::max(previous, r.id);
      seen[r.id] = r.seq;
      auto t = by_id.find(r.id);
      if (t == by_id.end()) {
        ADD_FAILURE() << stream << ": seq " << r.seq << " id " << r.id << " is not in the truth";
        continue;
      }
      const TruthTrade& s = *t->second;
      EXPECT_EQ(r.price, s.price) << stream << " id " << r.id;
      EXPECT_EQ(r.size, s.size) << stream << " id " << r.id;
      EXPECT_EQ(r.aggressor, s.buyer_maker ? "sell" : "buy") << stream << " id " << r.id;
      EXPECT_EQ(r.exch_ns, s.event_ms * 1'000'000) << stream << " id " << r.id;
      EXPECT_EQ(r.trade_ns, s.trade_ms * 1'000'000) << stream << " id " << r.id;
      if (r.kind == "agg_trade") {
        EXPECT_EQ(r.first_id, s.first_id) << stream << " id " << r.id;
        EXPECT_EQ(r.last_id, s.last_id) << stream << " id " << r.id;
      }
    }
    const auto declared = gaps(stream);
    for (const JournalRecord* g : declared) {
      EXPECT_LE(g->from_id, g->to_id) << g->detail;
      EXPECT_EQ(g->count, g->to_id - g->from_id + 1) << g->detail;
      for (std::uint64_t id = g->from_id; id <= g->to_id; ++id) {
        EXPECT_EQ(seen.count(id), 0u) << stream << ": gap " << g->detail << " covers journaled id " << id;
        EXPECT_EQ(by_id.count(id), 1u) << stream << ": gap " << g->detail << " covers id " << id
                                       << " the simulator never generated";
      }
    }
    std::size_t missing = 0;
    for (const auto& t : truth) {
      const bool in_gap = std::any_of(declared.begin(), declared.end(), [&](const JournalRecord* g) {
        return g->from_id <= t.id && t.id <= g->to_id;
      });
      if (seen.count(t.id) == 0 && !in_gap && ++missing <= 5) {
        ADD_FAILURE() << stream << ": truth id " << t.id << " neither journaled nor inside a declared gap";
      }
    }
    EXPECT_EQ(missing, 0u) << stream << ": truth ids lost silently";
  }

  void verify_quotes(const std::string& stream) {
    std::map<std::uint64_t, const TruthQuote*> by_id;
    if (auto q = truth_.quotes.find(stream); q != truth_.quotes.end()) {
      for (const auto& t : q->second) by_id[t.id] = &t;
    }
    std::uint64_t previous = 0;
    std::size_t n = 0;
    for (const auto& r : journal_) {
      if (r.kind != "quote" || r.stream() != stream) continue;
      ++n;
      EXPECT_GT(r.id, previous) << stream << ": quote " << r.id << " after " << previous;
      previous = std::max(previous, r.id);
      auto t = by_id.find(r.id);
      if (t == by_id.end()) {
        ADD_FAILURE() << stream << ": quote " << r.id << " is not in the truth";
        continue;
      }
      EXPECT_EQ(r.bid_price, t->second->bid_price) << stream << " " << r.id;
      EXPECT_EQ(r.bid_size, t->second->bid_size) << stream << " " << r.id;
      EXPECT_EQ(r.ask_price, t->second->ask_price) << stream << " " << r.id;
      EXPECT_EQ(r.ask_size, t->second->ask_size) << stream << " " << r.id;
    }
    EXPECT_GT(n, 0u) << stream << ": no quote journaled";
  }

  void verify_book(const std::string& stream) {
    std::map<std::pair<std::uint64_t, std::uint64_t>, const TruthDiff*> diffs;
    if (auto d = truth_.diffs.find(stream); d != truth_.diffs.end()) {
      for (const auto& t : d->second) diffs[{t.first, t.last}] = &t;
    }
    std::optional<Book> book;  // the journal's book; nullopt before the first snapshot
    std::size_t snapshots = 0, deltas = 0;
    for (const auto& r : journal_) {
      if (r.stream() != stream) continue;
      if (r.kind == "status") {
        // A gap found in a live diff starts right after the book the journal
        // holds (one found among buffered diffs is relative to a snapshot).
        if (book && r.status == "gap" && r.detail.find("buffered") == std::string::npos) {
          EXPECT_EQ(r.from_id, book->id + 1) << stream << ": " << r.detail;
        }
        continue;
      }
      if (r.kind == "book_snapshot") {
        ++snapshots;
        book = Book{};
        book->apply(r.bids, r.asks);
        book->id = r.id;
      } else {
        ++deltas;
        if (!book) {
          ADD_FAILURE() << stream << ": delta " << r.first_id << ".." << r.id << " before any snapshot";
          continue;
        }
        auto t = diffs.find({r.first_id, r.id});
        if (t != diffs.end() && t->second->prev) {
          // USD-M: chained by pu, ids skip between diffs.
          EXPECT_EQ(*t->second->prev, book->id) << stream << ": delta " << r.first_id << ".." << r.id
                                                << " (pu " << *t->second->prev << ") does not follow the book at "
                                                << book->id;
        } else {
          EXPECT_EQ(r.first_id, book->id + 1) << stream << ": delta " << r.first_id << ".." << r.id
                                              << " does not follow the book at " << book->id;
        }
        if (t == diffs.end()) {
          ADD_FAILURE() << stream << ": delta " << r.first_id << ".." << r.id << " is not a diff of the truth";
        } else {
          Book a, b;
          a.apply(r.bids, r.asks);
          b.apply(t->second->bids, t->second->asks);
          EXPECT_TRUE(a.same_levels(b)) << stream << ": delta " << r.first_id << ".." << r.id << " differs";
        }
        book->apply(r.bids, r.asks);
        book->id = r.id;
      }
      const auto expected = truth_.book_at(stream, book->id);
      if (!expected) {
        ADD_FAILURE() << stream << ": the journal's book is at " << book->id << ", not the end of a truth diff";
        continue;
      }
      EXPECT_TRUE(book->same_levels(*expected)) << stream << " after seq " << r.seq << " (" << r.kind << ")\n"
                                                << "journal: " << book->describe() << "\ntruth:   "
                                                << expected->describe();
    }
    EXPECT_GT(snapshots, 0u) << stream << ": never synced";
    EXPECT_GT(deltas, 0u) << stream << ": no delta journaled";
    ASSERT_TRUE(book.has_value());
    EXPECT_EQ(book->id, truth_.last_id(stream)) << stream << ": the journal's last book is not the truth's last";
    const connector::SimBook& sb = sim_books_[stream];
    Book final_book;
    final_book.id = sb.last_update_id;
    for (const auto& l : sb.bids) {
      final_book.bids[canonical_decimal(connector::SimMarket::format_units(l.price))] =
          canonical_decimal(connector::SimMarket::format_units(l.qty));
    }
    for (const auto& l : sb.asks) {
      final_book.asks[canonical_decimal(connector::SimMarket::format_units(l.price))] =
          canonical_decimal(connector::SimMarket::format_units(l.qty));
    }
    if (book->id == final_book.id) {
      EXPECT_TRUE(book->same_levels(final_book)) << stream << "\njournal:   " << book->describe()
                                                 << "\nsimulator: " << final_book.describe();
    } else {
      // The simulator may have generated a diff after --count that it never
      // sent (its book is then ahead); the truth's diffs above are the check.
      EXPECT_GT(final_book.id, book->id) << stream;
      std::cout << "[ note     ] " << stream << ": Simulator::book() is at " << final_book.id
                << ", the last diff it sent ends at " << book->id << "\n";
    }
  }
};

}  // namespace tickwire::testing
