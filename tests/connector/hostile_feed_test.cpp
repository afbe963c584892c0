// Hostile and derivatives input through the whole connector: Node's `ws`
// package (tests/peers/ws_server.mjs) sends the frames verbatim, `tickwire
// run` journals them, `tickwire replay` reads the journal back. Every hostile
// frame must come out as exactly one Status `rejected` naming why, and none
// as market data; a final valid trade ends the run (--max-messages 1), and
// frames are handled in order, so every hostile frame was handled before it.
//
// The USD-M frames have the shapes of Binance's USD-M websocket market
// streams documentation (Mark Price Stream, Liquidation Order Streams); the
// simulator's USD-M dialect is another helper's work, so these run against
// the Node server.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "support/node_ws_server.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

namespace tickwire {
namespace {

using testing::CommandResult;
using testing::NodeWsServer;
using testing::TempDir;
using testing::lines_of;
using testing::run_command;

// A valid trade of the subscribed symbol: the run ends when it is journaled.
const std::string kSentinel = R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1700000000000,"s":"BTCUSDT",)"
                              R"("t":999,"p":"37000.5","q":"0.25","T":1700000000000,"m":false}})";

std::string trade_with(std::string_view symbol, std::string_view price, std::string_view size,
                       std::string_view stream_symbol = "btcusdt") {
  return std::string(R"({"stream":")") + std::string(stream_symbol) + R"(@trade","data":{"e":"trade","E":1,"s":")" +
         std::string(symbol) + R"(","t":7,"p":")" + std::string(price) + R"(","q":")" + std::string(size) +
         R"(","T":1,"m":true}})";
}

// HostileFrame: a frame and a piece of the reason its Status must give.
struct HostileFrame {
  std::string text;
  std::string reason;
};

std::vector<HostileFrame> hostile_frames() {
  return {
      {trade_with("BTCUSDT", "-37000", "1"), "price and size must be positive"},
      {trade_with("BTCUSDT", "0", "1"), "price and size must be positive"},
      {trade_with("BTCUSDT", "37000", "0"), "price and size must be positive"},
      {trade_with("BTCUSDT", "37000", "-1"), "price and size must be positive"},
      {trade_with("ETHUSDT", "1", "1", "ethusdt"), "is not subscribed"},
      {trade_with(std::string(10'000, 'X'), "1", "1", "x"), "symbol longer than the venue's limit"},
      {trade_with("BTC\\u0000USDT", "1", "1"), "NUL or control byte"},
      {trade_with("ETHUSDT", "1", "1", "btcusdt"), "is not subscribed"},
      {trade_with("BTCUSDT", "1", "1", "ethusdt"), "stream names symbol \"ethusdt\" but the data is for \"BTCUSDT\""},
      {R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":8,"p":"1","q":"1","T":1,)"
       R"("m":true,"M":tru}})",
       "invalid JSON"},
      {trade_with("BTCUSDT", "1", "1") + trade_with("BTCUSDT", "2", "2"), "trailing content"},
      {R"({"stream":"btcusdt@bookTicker","data":{"u":5,"s":"BTCUSDT","b":"-1","B":"1","a":"2","A":"1"}})",
       "bookTicker 5: invalid bid"},
      {R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,)"
       R"("b":[["0","1"]],"a":[]}})",
       "a level with a price that is not positive"},
      {R"({"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT",)"
       R"("f":"IOC","q":"0","p":"9910","ap":"9910","X":"FILLED","l":"0","z":"0","T":1}}})",
       "forceOrder: price and size must be positive"},
  };
}

class HostileFeed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string missing = testing::node_ws_missing(); !missing.empty()) {
      GTEST_SKIP() << "Node's ws server cannot run: " << missing;
    }
  }

  std::filesystem::path write_config(const std::string& exchange, const std::string& url, const std::string& symbols,
                                     const std::string& channels) {
    const auto path = dir_.path() / "test.toml";
    std::ofstream(path) << "env = \"test\"\n[[feeds]]\nname = \"f\"\nexchange = \"" << exchange << "\"\n"
                        << "url = \"" << url << "\"\nsymbols = [" << symbols << "]\nchannels = [" << channels
                        << "]\n[journal]\ndir = \"" << data_dir().string() << "\"\nfsync = \"none\"\n"
                        << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[status]\nheartbeat_ms = 0\n";
    return path;
  }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  CommandResult run(const std::filesystem::path& config, const std::string& max_messages) {
    return run_command({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", TICKWIRE_BINARY, "run", "-c", config.string(),
                        "--max-messages", max_messages});
  }
  std::vector<std::string> replay() {
    const CommandResult r = run_command({TICKWIRE_BINARY, "replay", data_dir().string(), "--format", "jsonl"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return lines_of(r.out);
  }

  TempDir dir_{"tickwire-hostile"};
};

TEST_F(HostileFeed, EveryHostileFrameIsJournaledAsRejectedWithItsReasonAndNoneAsData) {
  const auto frames = hostile_frames();
  std::vector<std::string> sources;
  for (const auto& f : frames) sources.insert(sources.end(), {"--raw", f.text});
  sources.insert(sources.end(), {"--raw", kSentinel});
  NodeWsServer::Options options;
  options.sources = sources;
  NodeWsServer server(options);
  const auto config = write_config("binance", "ws://127.0.0.1:" + std::to_string(server.port()) + "/stream",
                                   "\"BTCUSDT\"", "\"trade\"");
  const CommandResult result = run(config, "1");
  ASSERT_EQ(result.exit_code, 0) << result.out;

  simdjson::dom::parser parser;
  std::vector<std::string> rejected;
  std::vector<std::uint64_t> trades;
  for (const auto& line : replay()) {
    simdjson::dom::element rec = parser.parse(line);
    const std::string_view kind = rec["kind"];
    if (kind == "trade") trades.push_back(std::uint64_t(rec["trade_id"]));
    if (kind == "status" && std::string_view(rec["status"]) == "rejected") {
      rejected.emplace_back(std::string_view(rec["detail"]));
    }
    EXPECT_TRUE(kind == "trade" || kind == "status") << line;
  }
  EXPECT_EQ(trades, std::vector<std::uint64_t>{999}) << "only the sentinel trade is data";
  ASSERT_EQ(rejected.size(), frames.size()) << result.out;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_NE(rejected[i].find(frames[i].reason), std::string::npos)
        << "frame " << i << ": expected \"" << frames[i].reason << "\" in \"" << rejected[i] << "\"";
    EXPECT_LT(rejected[i].size(), 400u) << "a hostile symbol is clipped in the detail";
  }
  EXPECT_NE(result.out.find(fmt::format("| rejected {} |", frames.size())), std::string::npos) << result.out;
}

TEST_F(HostileFeed, AnOversizedFrameCountsAsRejected) {
  NodeWsServer::Options options;
  options.sources = {"--raw", trade_with(std::string(4096, 'Z'), "1", "1")};
  NodeWsServer server(options);
  const auto path = dir_.path() / "test.toml";
  std::ofstream(path) << "env = \"test\"\n[[feeds]]\nname = \"f\"\nexchange = \"binance\"\n"
                      << "url = \"ws://127.0.0.1:" << server.port() << "/stream\"\nsymbols = [\"BTCUSDT\"]\n"
                      << "max_frame_bytes = \"1KiB\"\nbackoff_initial_ms = 1000\nbackoff_max_ms = 1000\n"
                      << "[journal]\ndir = \"" << data_dir().string() << "\"\nfsync = \"none\"\n"
                      << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[status]\nheartbeat_ms = 0\n";
  testing::Subprocess connector({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", TICKWIRE_BINARY, "run", "-c",
                                 path.string()});
  // The server sees the reset connection close; then the connector is stopped.
  ASSERT_TRUE(server.next_event("close").has_value()) << server.log();
  connector.kill(SIGTERM);
  const auto status = connector.wait();
  ASSERT_TRUE(status.has_value());
  bool found = false;
  simdjson::dom::parser parser;
  for (const auto& line : replay()) {
    simdjson::dom::element rec = parser.parse(line);
    if (std::string_view(rec["kind"]) != "status" || std::string_view(rec["status"]) != "rejected") continue;
    found = found || std::string_view(rec["detail"]).find("larger than max_frame_bytes") != std::string_view::npos;
  }
  EXPECT_TRUE(found) << "no Status rejected for the oversized frame";
}

TEST_F(HostileFeed, UsdmFundingAndLiquidationAreJournaledWithTheirInstrument) {
  NodeWsServer::Options options;
  options.sources = {
      "--raw",
      R"({"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT",)"
      R"("p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}})",
      "--raw",
      R"({"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL",)"
      R"("o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014",)"
      R"("T":1568014460893}}})"};
  NodeWsServer server(options);
  const auto config = write_config("binance-usdm", "ws://127.0.0.1:" + std::to_string(server.port()) + "/stream",
                                   "\"BTCUSDT\"", "\"markPrice@1s\", \"forceOrder\"");
  const CommandResult result = run(config, "2");
  ASSERT_EQ(result.exit_code, 0) << result.out;
  const auto connection = server.next_event("connection").value_or("<none>");
  EXPECT_NE(connection.find("btcusdt@markPrice@1s/btcusdt@forceOrder"), std::string::npos) << connection;
  std::vector<std::string> data;
  for (const auto& line : replay()) {
    if (line.find("\"kind\":\"status\"") == std::string::npos) data.push_back(line);
  }
  ASSERT_EQ(data.size(), 2u);
  EXPECT_NE(data[0].find(R"("kind":"funding","mark_price":"11794.15000000","index_price":"11784.62659091",)"
                         R"("settle_price":"11784.25641265","funding_rate":"0.00038167",)"
                         R"("next_funding_ns":1562306400000000000,"instrument":"BTC-USDT-PERP",)"
                         R"("instrument_kind":"perpetual")"),
            std::string::npos)
      << data[0];
  EXPECT_NE(data[0].find(R"("exch_ns":1562305380000000000)"), std::string::npos) << data[0];
  EXPECT_NE(data[1].find(R"("kind":"liquidation","side":"sell","price":"9910","average_price":"9910",)"
                         R"("size":"0.014","filled_size":"0.014","trade_ns":1568014460893000000,)"
                         R"("instrument":"BTC-USDT-PERP")"),
            std::string::npos)
      << data[1];
}

}  // namespace
}  // namespace tickwire
