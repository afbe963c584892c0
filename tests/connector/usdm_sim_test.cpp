// The simulator's Binance USD-M futures dialect against the binance-usdm
// adapter: `tickwire run` journals trades, quotes, synced books, funding and
// liquidations exactly as the simulator's truth has them; a withheld diff
// breaks the `pu` chain into a book gap and a resync from /fapi/v1/depth;
// `sim --venue` is validated; `url = "sim://"` starts the embedded
// simulator in the USD-M dialect.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "support/fault_harness.hpp"

namespace tickwire {
namespace {

using testing::canonical_decimal;
using testing::JournalRecord;
using testing::lower_of;
using testing::run_command;
using testing::SimFault;
using testing::TempDir;

class UsdmSim : public SimFault {
 protected:
  UsdmSim() { exchange_ = "binance-usdm"; }

  std::vector<const JournalRecord*> records(std::string_view kind, const std::string& stream) const {
    std::vector<const JournalRecord*> out;
    for (const auto& r : journal_) {
      if (r.kind == kind && r.stream() == stream) out.push_back(&r);
    }
    return out;
  }
};

TEST_F(UsdmSim, JournalsTradesQuotesBooksFundingAndLiquidationsAsTheTruthHasThem) {
  channels_ = {"trade", "aggTrade", "bookTicker", "depth@100ms", "markPrice@1s", "forceOrder"};
  sim_.count = 12000;  // about two seconds of market time at 4000 orders/s: two mark price rounds
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();  // trades, aggTrades and quotes exact; every book equal to the truth's
  EXPECT_TRUE(statuses("gap").empty());
  // As on the real USD-M feed, a diff's U is mostly not the last u + 1 (only
  // pu chains them): a connector that checked U continuity would have
  // declared gaps above.
  std::size_t skipping = 0, chained = 0;
  for (const auto& [stream, diffs] : truth_.diffs) {
    for (const auto& d : diffs) {
      if (!d.prev || *d.prev == 0) continue;
      ++chained;
      if (d.first != *d.prev + 1) ++skipping;
    }
  }
  EXPECT_GT(chained, 100u);
  EXPECT_GT(skipping, chained / 2) << "the simulator's USD-M ids are contiguous: U continuity is not exercised";
  std::size_t funding = 0, liquidations = 0;
  for (const auto& s : sim_.symbols) {
    const std::string mark_stream = lower_of(s) + "@markPrice@1s";
    const auto& truth_funding = truth_.funding[mark_stream];
    const auto got_funding = records("funding", mark_stream);
    ASSERT_EQ(got_funding.size(), truth_funding.size()) << mark_stream;
    for (std::size_t i = 0; i < truth_funding.size(); ++i) {
      const auto& t = truth_funding[i];
      const JournalRecord& r = *got_funding[i];
      EXPECT_EQ(r.exch_ns, t.event_ms * 1'000'000) << mark_stream << " #" << i;
      EXPECT_EQ(r.next_funding_ns, t.next_funding_ms * 1'000'000) << mark_stream << " #" << i;
      EXPECT_EQ(canonical_decimal(r.mark_price), canonical_decimal(t.mark)) << mark_stream << " #" << i;
      EXPECT_EQ(canonical_decimal(r.index_price), canonical_decimal(t.index)) << mark_stream << " #" << i;
      EXPECT_EQ(canonical_decimal(r.settle_price), canonical_decimal(t.settle)) << mark_stream << " #" << i;
      EXPECT_EQ(canonical_decimal(r.funding_rate), canonical_decimal(t.rate)) << mark_stream << " #" << i;
    }
    funding += truth_funding.size();

    const std::string force_stream = lower_of(s) + "@forceOrder";
    const auto& truth_liquidations = truth_.liquidations[force_stream];
    const auto got_liquidations = records("liquidation", force_stream);
    ASSERT_EQ(got_liquidations.size(), truth_liquidations.size()) << force_stream;
    for (std::size_t i = 0; i < truth_liquidations.size(); ++i) {
      const auto& t = truth_liquidations[i];
      const JournalRecord& r = *got_liquidations[i];
      EXPECT_EQ(r.side, lower_of(t.side)) << force_stream << " #" << i;
      EXPECT_EQ(r.trade_ns, t.trade_ms * 1'000'000) << force_stream << " #" << i;
      EXPECT_EQ(canonical_decimal(r.price), canonical_decimal(t.price)) << force_stream << " #" << i;
      EXPECT_EQ(canonical_decimal(r.average_price), canonical_decimal(t.average_price)) << force_stream << " #" << i;
      EXPECT_EQ(canonical_decimal(r.size), canonical_decimal(t.size)) << force_stream << " #" << i;
      EXPECT_EQ(canonical_decimal(r.filled_size), canonical_decimal(t.filled_size)) << force_stream << " #" << i;
    }
    liquidations += truth_liquidations.size();
  }
  EXPECT_GT(funding, 0u) << "the simulator sent no markPriceUpdate";
  EXPECT_GT(liquidations, 0u) << "the simulator sent no forceOrder";
}

TEST_F(UsdmSim, AWithheldDiffBreaksThePuChainIntoABookGapThenAResync) {
  channels_ = {"depth@100ms"};
  sim_.depth_interval_ms = 5;
  sim_.count = 1000;
  ASSERT_TRUE(connector::parse_fault("gap:200", sim_.faults).ok());
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();  // every book the journal holds, before and after the resync, is the truth's
  const auto withheld = truth_.faults_named("gap");
  ASSERT_EQ(withheld.size(), 1u);
  const testing::TruthFault& f = withheld.front();
  const auto declared = gaps(f.stream);
  ASSERT_EQ(declared.size(), 1u);
  // The next diff's pu names the withheld diff's u: the ids after the book's
  // (the withheld diff's pu) up to it are missing, the ids USD-M skipped
  // before the withheld diff's U included (nothing tells them apart).
  std::optional<std::uint64_t> withheld_pu;
  for (const auto& d : truth_.diffs[f.stream]) {
    if (d.first == f.first_id && d.last == f.last_id) withheld_pu = d.prev;
  }
  ASSERT_TRUE(withheld_pu.has_value()) << "the withheld diff is not in the truth";
  EXPECT_EQ(declared.front()->from_id, *withheld_pu + 1);
  EXPECT_LE(declared.front()->from_id, f.first_id);
  EXPECT_EQ(declared.front()->to_id, f.last_id);
  bool resynced = false;
  for (const auto& r : journal_) {
    if (r.kind == "book_snapshot" && r.seq > declared.front()->seq && r.stream() == f.stream) resynced = true;
  }
  EXPECT_TRUE(resynced) << "no snapshot from /fapi/v1/depth after the book gap";
  EXPECT_EQ(counter("resyncs"), sim_.symbols.size() + 1);
}

TEST(UsdmSimCli, AnUnknownVenueIsRefusedByName) {
  auto r = run_command({"/bin/sh", "-c", fmt::format("'{}' sim --venue nope --port 0 2>&1", TICKWIRE_BINARY)});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--venue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nope"), std::string::npos) << r.out;
}

TEST(UsdmSimCli, HelpNamesTheVenues) {
  auto r = run_command({TICKWIRE_BINARY, "sim", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("--venue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("binance-usdm"), std::string::npos) << r.out;
}

TEST(UsdmSimCli, ItsRecordIsTheTruthARunJournals) {
  TempDir dir("tickwire-usdm-record");
  const auto truth_path = dir / "truth.ndjson";
  testing::Subprocess sim({TICKWIRE_BINARY, "sim", "--venue", "binance-usdm", "--port", "0", "--symbols", "BTCUSDT",
                           "--rate", "4000", "--seed", "9", "--count", "6000", "--record", truth_path.string()});
  const std::string first = sim.read_line().value_or("");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first, m, std::regex(R"(ws://127\.0\.0\.1:(\d+)/stream)"))) << first;
  std::ofstream(dir / "c.toml")
      << "env = \"test\"\n[[feeds]]\nname = \"usdm\"\nexchange = \"binance-usdm\"\n"
      << "url = \"ws://127.0.0.1:" << m[1].str() << "/stream\"\nrest_url = \"http://127.0.0.1:" << m[1].str() << "\"\n"
      << "symbols = [\"BTCUSDT\"]\nchannels = [\"aggTrade\", \"markPrice@1s\"]\n"
      << "[journal]\ndir = \"" << (dir / "data").string() << "\"\nfsync = \"none\"\n"
      << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[metrics]\nlisten = \"\"\n";
  // The simulator stops its market after --count messages; the run stops once idle.
  auto run = run_command({"/bin/sh", "-c",
                          fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                      (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  sim.kill(SIGTERM);
  ASSERT_TRUE(sim.wait().has_value());
  testing::Truth truth;
  truth.load(truth_path);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  auto replay = run_command({TICKWIRE_BINARY, "replay", (dir / "data").string(), "--format", "jsonl"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  std::vector<JournalRecord> aggs, funding;
  simdjson::dom::parser parser;
  std::istringstream lines(replay.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    JournalRecord r = testing::parse_journal_record(parser, line);
    if (r.kind == "agg_trade") aggs.push_back(r);
    if (r.kind == "funding") funding.push_back(r);
  }
  const auto& truth_aggs = truth.trades["btcusdt@aggTrade"];
  ASSERT_EQ(aggs.size(), truth_aggs.size());
  for (std::size_t i = 0; i < aggs.size(); ++i) {
    EXPECT_EQ(aggs[i].id, truth_aggs[i].id) << i;
    EXPECT_EQ(canonical_decimal(aggs[i].price), canonical_decimal(truth_aggs[i].price)) << i;
    EXPECT_EQ(canonical_decimal(aggs[i].size), canonical_decimal(truth_aggs[i].size)) << i;
  }
  const auto& truth_funding = truth.funding["btcusdt@markPrice@1s"];
  ASSERT_EQ(funding.size(), truth_funding.size());
  for (std::size_t i = 0; i < funding.size(); ++i) {
    EXPECT_EQ(funding[i].exch_ns, truth_funding[i].event_ms * 1'000'000) << i;
    EXPECT_EQ(canonical_decimal(funding[i].funding_rate), canonical_decimal(truth_funding[i].rate)) << i;
  }
  EXPECT_GT(aggs.size(), 0u);
  EXPECT_GT(funding.size(), 0u);
}

TEST(UsdmSimRun, SimUrlStartsTheEmbeddedSimulatorInTheUsdmDialect) {
  TempDir dir("tickwire-usdm-run");
  std::ofstream(dir / "c.toml")
      << "env = \"test\"\n[[feeds]]\nname = \"usdm\"\nexchange = \"binance-usdm\"\nurl = \"sim://\"\n"
      << "symbols = [\"BTCUSDT\", \"ETHUSDT\"]\n"
      << "channels = [\"aggTrade\", \"bookTicker\", \"depth@100ms\", \"markPrice@1s\", \"forceOrder\"]\n"
      << "[simulator]\nrate = 4000\nseed = 5\ncount = 12000\n"
      << "[journal]\ndir = \"" << (dir / "data").string() << "\"\nfsync = \"none\"\n"
      << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[metrics]\nlisten = \"\"\n";
  auto run = run_command({"/bin/sh", "-c",
                          fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                      (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("embedded binance-usdm simulator"), std::string::npos) << run.out;
  auto replay = run_command({TICKWIRE_BINARY, "replay", (dir / "data").string(), "--format", "jsonl"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  std::map<std::string, std::uint64_t> kinds;
  simdjson::dom::parser parser;
  std::istringstream lines(replay.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const JournalRecord r = testing::parse_journal_record(parser, line);
    ++kinds[r.kind == "status" ? "status " + r.status : r.kind];
  }
  for (const char* kind : {"agg_trade", "quote", "book_snapshot", "book_delta", "funding", "liquidation"}) {
    EXPECT_GT(kinds[kind], 0u) << kind << " never journaled; replay:\n" << replay.out.substr(0, 4000);
  }
  EXPECT_EQ(kinds["status gap"], 0u);
}

}  // namespace
}  // namespace tickwire
