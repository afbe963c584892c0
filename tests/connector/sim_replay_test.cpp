// load_replay: the capture forms it reads (hand-written and --record NDJSON,
// hftbacktest's and cryptofeed's recorder lines, bare REST answers) and the
// file:line errors for what it cannot read without guessing.
#include "tickwire/connector/sim_replay.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"

namespace tickwire::connector {
namespace {

constexpr const char* kTrade =
    R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1000,"s":"BTCUSDT","t":5,"p":"1.0","q":"2.0","T":1000,"m":true,"M":true}})";
constexpr const char* kBtcDiff =
    R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1001,"s":"BTCUSDT","U":7,"u":9,"b":[["1.0","2"]],"a":[]}})";
constexpr const char* kEthDiff =
    R"({"e":"depthUpdate","E":1002,"s":"ETHUSDT","U":3,"u":4,"b":[],"a":[["2.0","1"]]})";
constexpr const char* kBareSnapshot = R"({"lastUpdateId":8,"bids":[["1.0","1"]],"asks":[["1.5","3"]]})";

class SimReplayLoad : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }
  testing::TempDir dir_{"tickwire-sim-replay"};
};

TEST_F(SimReplayLoad, RecorderTimestampPrefixesAreTakenOff) {
  const std::string path = write(
      "prefixed.ndjson",
      std::string("1638316800123456789 ") + kTrade + "\n" +             // hftbacktest: ns, space
          "1638316800.123: " + kBtcDiff + "\n" +                          // cryptofeed: seconds, colon
          "wss://stream.binance.com:9443/stream?streams=btcusdt@trade <-> 1638316800.1\n" +  // a connect
          "wss://stream.binance.com:9443/stream <- 1638316800.2: {\"method\":\"SUBSCRIBE\",\"id\":1}\n" +  // sent
          "1638316800.25: {\"result\":null,\"id\":1}\n" +  // its reply
          "https://api.binance.com/api/v3/depth?symbol=ethusdt&limit=1000 -> 1638316800.3: " + kBareSnapshot + "\n" +
          kEthDiff + "\n");
  auto got = load_replay(path);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ(*(*got)[0].text, kTrade);
  EXPECT_EQ(*(*got)[1].text, kBtcDiff);
  ASSERT_TRUE((*got)[1].depth);
  EXPECT_EQ((*got)[1].depth->symbol, "BTCUSDT");
  // The REST answer is the book of the symbol its URL names, not sent.
  ASSERT_TRUE((*got)[2].depth);
  EXPECT_FALSE((*got)[2].text);
  EXPECT_TRUE((*got)[2].depth->snapshot);
  EXPECT_EQ((*got)[2].depth->symbol, "ETHUSDT");
  EXPECT_EQ((*got)[2].depth->last_id, 8u);
  EXPECT_EQ((*got)[3].stream, "ethusdt@depth@100ms");

  const std::string bad = write("bad.ndjson", std::string(kTrade) + "\n12ab " + kTrade + "\n");
  auto err = load_replay(bad);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("bad.ndjson:2: expected a JSON object per line, or one after a recorder's "
                                        "timestamp"),
            std::string_view::npos)
      << err.status();
}

TEST_F(SimReplayLoad, ABareRestSnapshotIsTheBookOfTheOneSymbolWithDepthDiffs) {
  // hftbacktest writes one file per symbol, the REST answer bare.
  const std::string one = write("one.ndjson", std::string("1 ") + kBtcDiff + "\n2 " + kBareSnapshot + "\n3 " + kTrade +
                                                  "\n" + R"({"u":4,"s":"ETHUSDT","b":"1","B":"1","a":"2","A":"1"})" + "\n");
  auto got = load_replay(one);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 4u);
  ASSERT_TRUE((*got)[1].depth);
  EXPECT_TRUE((*got)[1].depth->snapshot);
  EXPECT_FALSE((*got)[1].text);  // never sent as a bookTicker of an empty symbol
  EXPECT_EQ((*got)[1].depth->symbol, "BTCUSDT");
  EXPECT_EQ((*got)[1].depth->bids, (std::vector<SimLevel>{{100'000'000, 100'000'000}}));
  EXPECT_EQ((*got)[3].stream, "ethusdt@bookTicker");  // a bookTicker has no depth: ETHUSDT does not count

  // Depth diffs for two symbols: whose book it is cannot be told.
  const std::string two = write("two.ndjson", std::string(kBtcDiff) + "\n" + kBareSnapshot + "\n" + kEthDiff + "\n");
  auto ambiguous = load_replay(two);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.status().message().find(
                "two.ndjson:2: a REST depth snapshot without a symbol, and the capture has depth diffs for 2 symbols "
                "BTCUSDT, ETHUSDT"),
            std::string_view::npos)
      << ambiguous.status();
  const std::string none = write("none.ndjson", std::string(kTrade) + "\n" + kBareSnapshot + "\n");
  auto nobody = load_replay(none);
  ASSERT_FALSE(nobody.ok());
  EXPECT_NE(nobody.status().message().find("none.ndjson:2: a REST depth snapshot without a symbol, and the capture "
                                           "has depth diffs for 0 symbols"),
            std::string_view::npos)
      << nobody.status();

  // Neither an event type nor a symbol: not a message of any stream.
  const std::string stray = write("stray.ndjson", std::string(kTrade) + "\n{\"price\":\"1.0\"}\n");
  auto unknown = load_replay(stray);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("stray.ndjson:2: a bare payload with neither \"e\" nor \"s\""),
            std::string_view::npos)
      << unknown.status();
}

}  // namespace
}  // namespace tickwire::connector
