// End to end through real processes: `tickwire sim` serves a seeded market on
// a loopback websocket, `tickwire run` journals N messages and stops,
// `tickwire replay` prints the journal. Every trade must come out exactly as
// the simulator sent it, in order, with contiguous sequences.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

namespace tickwire {
namespace {

using testing::Subprocess;
using testing::TempDir;
using testing::lines_of;
using testing::read_text;
using testing::run_command;

constexpr std::uint64_t kMessages = 3000;
const std::vector<std::string> kSymbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"};

struct SentTrade {
  std::string symbol, price, size;
  std::uint64_t trade_id, event_ms, trade_ms;
  bool buyer_is_maker;
};

std::vector<SentTrade> parse_sent(const std::string& text) {
  simdjson::dom::parser parser;
  std::vector<SentTrade> out;
  for (const auto& line : lines_of(text)) {
    simdjson::dom::element data = parser.parse(line)["data"];
    out.push_back({std::string(std::string_view(data["s"])), std::string(std::string_view(data["p"])),
                   std::string(std::string_view(data["q"])), std::uint64_t(data["t"]), std::uint64_t(data["E"]),
                   std::uint64_t(data["T"]), bool(data["m"])});
  }
  return out;
}

class EndToEnd : public ::testing::Test {
 protected:
  // start_sim: launches `tickwire sim` and returns its port (read from its first line).
  int start_sim(std::uint64_t count) {
    std::string symbols;
    for (const auto& s : kSymbols) symbols += (symbols.empty() ? "" : ",") + s;
    sim_ = std::make_unique<Subprocess>(std::vector<std::string>{
        TICKWIRE_BINARY, "sim", "--port", "0", "--symbols", symbols, "--rate", "20000", "--seed", "7", "--count",
        std::to_string(count), "--record", (dir_ / "sent.ndjson").string()});
    auto line = sim_->read_line();
    EXPECT_TRUE(line.has_value()) << "sim printed nothing";
    std::smatch m;
    const std::string text = line.value_or("");
    EXPECT_TRUE(std::regex_search(text, m, std::regex(R"(ws://127\.0\.0\.1:(\d+)/stream)"))) << text;
    return m.empty() ? 0 : std::stoi(m[1]);
  }

  void stop_sim() {
    sim_->kill(SIGTERM);
    auto status = sim_->wait();
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  }

  std::filesystem::path write_config(int port) {
    std::string symbols;
    for (const auto& s : kSymbols) symbols += (symbols.empty() ? "\"" : ", \"") + s + "\"";
    const auto path = dir_ / "test.toml";
    std::ofstream(path) << "env = \"test\"\n"
                        << "[[feeds]]\nname = \"binance\"\nexchange = \"binance\"\n"
                        << "url = \"ws://127.0.0.1:" << port << "/stream\"\n"
                        << "symbols = [" << symbols << "]\nchannels = [\"trade\"]\n"
                        << "[journal]\ndir = \"" << (dir_ / "data").string() << "\"\nfsync = \"none\"\n"
                        << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n";
    return path;
  }

  TempDir dir_{"tickwire-e2e"};
  std::unique_ptr<Subprocess> sim_;
};

TEST_F(EndToEnd, JournalsExactlyWhatTheSimulatorSentInSequenceOrder) {
  const int port = start_sim(kMessages);
  ASSERT_GT(port, 0);
  const auto config = write_config(port);
  auto run = run_command({TICKWIRE_BINARY, "run", "-c", config.string(), "--max-messages",
                          std::to_string(kMessages), "--no-status"});
  ASSERT_EQ(run.exit_code, 0);
  stop_sim();

  const auto sent = parse_sent(read_text(dir_ / "sent.ndjson"));
  ASSERT_EQ(sent.size(), kMessages);

  auto replay = run_command({TICKWIRE_BINARY, "replay", (dir_ / "data").string()});
  ASSERT_EQ(replay.exit_code, 0);
  simdjson::dom::parser parser;
  std::uint64_t expected_seq = 1;
  std::size_t trades = 0;
  for (const auto& line : lines_of(replay.out)) {
    simdjson::dom::element rec = parser.parse(line);
    ASSERT_EQ(std::uint64_t(rec["seq"]), expected_seq++) << line;
    EXPECT_EQ(std::string_view(rec["feed"]), "binance");
    if (std::string_view(rec["kind"]) != "trade") continue;
    ASSERT_LT(trades, sent.size());
    const SentTrade& s = sent[trades++];
    EXPECT_EQ(std::string_view(rec["symbol"]), s.symbol) << line;
    EXPECT_EQ(std::uint64_t(rec["trade_id"]), s.trade_id) << line;
    EXPECT_EQ(std::string_view(rec["price"]), s.price) << line;
    EXPECT_EQ(std::string_view(rec["size"]), s.size) << line;
    EXPECT_EQ(std::string_view(rec["aggressor"]), s.buyer_is_maker ? "sell" : "buy") << line;
    EXPECT_EQ(std::uint64_t(rec["exch_ns"]), s.event_ms * 1'000'000) << line;
    EXPECT_EQ(std::uint64_t(rec["trade_ns"]), s.trade_ms * 1'000'000) << line;
    EXPECT_GT(std::uint64_t(rec["mono_ns"]), 0u);
    EXPECT_GT(std::uint64_t(rec["wall_ns"]), 0u);
  }
  EXPECT_EQ(trades, kMessages);
}

TEST_F(EndToEnd, RecordsDecodeWithTheIndependentCapnpTool) {
  const int port = start_sim(50);
  ASSERT_GT(port, 0);
  auto run = run_command({TICKWIRE_BINARY, "run", "-c", write_config(port).string(), "--max-messages", "50",
                          "--no-status"});
  ASSERT_EQ(run.exit_code, 0);
  stop_sim();
  const std::string schema = std::string(TICKWIRE_SOURCE_DIR) + "/proto/market_data.capnp";
  auto decoded = run_command({"/bin/bash", "-o", "pipefail", "-c",
                              std::string("'") + TICKWIRE_BINARY + "' replay '" +
                                  (dir_ / "data").string() + "' --format capnp | capnp decode '" + schema +
                                  "' Envelope --short"});
  ASSERT_EQ(decoded.exit_code, 0) << decoded.out;
  const auto sent = parse_sent(read_text(dir_ / "sent.ndjson"));
  ASSERT_EQ(sent.size(), 50u);
  std::size_t trades = 0;
  for (const auto& line : lines_of(decoded.out)) {
    if (line.find("trade = (") == std::string::npos) continue;
    const SentTrade& s = sent[trades++];
    EXPECT_NE(line.find("symbol = \"" + s.symbol + "\""), std::string::npos) << line;
    EXPECT_NE(line.find("tradeId = " + std::to_string(s.trade_id)), std::string::npos) << line;
    EXPECT_NE(line.find("feed = \"binance\""), std::string::npos) << line;
  }
  EXPECT_EQ(trades, 50u);
}

TEST_F(EndToEnd, ReplaysARangeOneSymbolAndCsv) {
  const int port = start_sim(300);
  ASSERT_GT(port, 0);
  auto run = run_command({TICKWIRE_BINARY, "run", "-c", write_config(port).string(), "--max-messages", "300",
                          "--no-status"});
  ASSERT_EQ(run.exit_code, 0);
  stop_sim();
  const auto sent = parse_sent(read_text(dir_ / "sent.ndjson"));
  const std::string data = (dir_ / "data").string();
  simdjson::dom::parser parser;

  auto range = run_command({TICKWIRE_BINARY, "replay", data, "--from", "100", "--to", "149"});
  ASSERT_EQ(range.exit_code, 0);
  std::vector<std::uint64_t> seqs;
  for (const auto& line : lines_of(range.out)) seqs.push_back(std::uint64_t(parser.parse(line)["seq"]));
  ASSERT_EQ(seqs.size(), 50u);
  EXPECT_EQ(seqs.front(), 100u);
  EXPECT_EQ(seqs.back(), 149u);

  auto btc = run_command({TICKWIRE_BINARY, "replay", data, "--symbol", "BTCUSDT"});
  ASSERT_EQ(btc.exit_code, 0);
  std::size_t expected = 0;
  for (const auto& s : sent) expected += s.symbol == "BTCUSDT" ? 1 : 0;
  std::size_t got = 0;
  for (const auto& line : lines_of(btc.out)) {
    EXPECT_EQ(std::string_view(parser.parse(line)["symbol"]), "BTCUSDT") << line;
    ++got;
  }
  EXPECT_EQ(got, expected);

  auto csv = run_command({TICKWIRE_BINARY, "replay", data, "--format", "csv", "--symbol", "ETHUSDT"});
  ASSERT_EQ(csv.exit_code, 0);
  const auto rows = lines_of(csv.out);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].rfind("seq,mono_ns,wall_ns,exch_ns,feed,symbol,kind,trade_id,price,size", 0), 0u) << rows[0];
  const SentTrade* first_eth = nullptr;
  for (const auto& s : sent) {
    if (s.symbol == "ETHUSDT") {
      first_eth = &s;
      break;
    }
  }
  ASSERT_NE(first_eth, nullptr);
  EXPECT_NE(rows.at(1).find(",\"ETHUSDT\",trade," + std::to_string(first_eth->trade_id) + "," + first_eth->price +
                            "," + first_eth->size + ","),
            std::string::npos)
      << rows.at(1);

  auto bad = run_command({"/bin/sh", "-c", std::string("'") + TICKWIRE_BINARY + "' replay '" + data +
                                               "' --from yesterday 2>&1"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(Cli, RejectsABadConfigBeforeStartingWithFileAndLine) {
  TempDir dir("tickwire-cli");
  const auto path = dir / "bad.toml";
  std::ofstream(path) << "env = \"dev\"\n[[feeds]]\nname = \"binance\"\nexchange = \"binance\"\nurl = \"sim://\"\n"
                      << "symbols = 5\n";
  auto r = run_command({"/bin/sh", "-c", std::string("'") + TICKWIRE_BINARY + "' run -c '" + path.string() + "' 2>&1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find(path.string() + ":6: feeds[0].symbols"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
}

TEST(Cli, RefusesToStartWithAFeedCoreThatCannotBeUsed) {
  TempDir dir("tickwire-cli");
  const auto path = dir / "cores.toml";
  std::ofstream(path) << "env = \"dev\"\n[[feeds]]\nname = \"binance\"\nexchange = \"binance\"\nurl = \"sim://\"\n"
                      << "symbols = [\"BTCUSDT\"]\n[journal]\ndir = \"" << (dir / "data").string() << "\"\n"
                      << "[threads]\nfeed_cores = [1023]\n";
  auto r = run_command({"/bin/sh", "-c", std::string("'") + TICKWIRE_BINARY + "' run -c '" + path.string() + "' 2>&1"});
  // Refused by the configuration check, at its line, before the journal opens.
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find(path.string() + ":10: threads.feed_cores[0]: core 1023 is not available"), std::string::npos)
      << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
}

TEST(Cli, PrintsVersionAndHelp) {
  auto v = run_command({TICKWIRE_BINARY, "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("tickwire "), std::string::npos);
  auto h = run_command({TICKWIRE_BINARY, "run", "--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--config"), std::string::npos);
  auto bad = run_command({"/bin/sh", "-c", std::string("'") + TICKWIRE_BINARY + "' frobnicate 2>&1"});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace tickwire
