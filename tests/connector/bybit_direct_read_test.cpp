// BybitParser reads orderbook and publicTrade frames in Bybit's compact shape
// straight from the bytes (src/venues/bybit/direct_read.cpp) and leaves
// everything else to its simdjson path. Whatever the direct read takes must
// come out exactly as the simdjson path (parse_generic) reads it; whatever it
// does not take is the simdjson path's, errors included. Which path read a
// frame shows in where the event's symbol points: into the frame (the direct
// read) or into simdjson's string buffer.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/direct_read_expect.hpp"
#include "tickwire/connector/venues/bybit/parser.hpp"

namespace tickwire::connector::venues {
namespace {

// A real linear delta (Bybit's v5 documentation), and the same book as a
// spot snapshot with the keys in spot's order.
constexpr std::string_view kDelta =
    R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT",)"
    R"("b":[["30247.20","30.028"],["30245.40","0.224"],["30240.00","0"]],"a":[["30248.70","0"],)"
    R"(["30249.30","0.892"]],"u":177400507,"seq":66544703342},"cts":1687940967464})";
constexpr std::string_view kSpotSnapshot =
    R"({"topic":"orderbook.1.BTCUSDT","ts":1758841134603,"type":"snapshot","data":{"s":"BTCUSDT",)"
    R"("b":[["109378.80","1.273"]],"a":[["109378.90","6.278"]],"u":14869255,"seq":457514742271}})";

// A real linear publicTrade frame (Bybit's documentation), two trades.
constexpr std::string_view kTrades =
    R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,)"
    R"("s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",)"
    R"("i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"seq":1783284617},{"T":1672304486866,)"
    R"("s":"BTCUSDT","S":"Sell","v":"0.25","p":"16578.00","L":"ZeroMinusTick","i":"20f43950-d8dd-5b31-9112-)"
    R"(a178eb6023b0","BT":true,"RPI":false,"seq":1783284617}]})";

using testing::replace;
using Both = testing::BothPaths<BybitParser>;

TEST(BybitDirectRead, TheCompactShapesAreReadDirectlyAndAsTheSimdjsonPathReadsThem) {
  Both both(BybitCategory::kLinear);
  const std::vector<std::string> direct = {
      std::string(kDelta),
      std::string(kSpotSnapshot),
      replace(kDelta, R"(,"cts":1687940967464)", ""),                                  // no cts
      replace(kDelta, R"("u":177400507)", R"("u":1)"),                                  // a restart
      replace(kDelta, R"("b":[["30247.20","30.028"],["30245.40","0.224"],["30240.00","0"]])", R"("b":[])"),
      replace(kDelta, R"("30.028")", R"("-0")"),                                        // minus zero is zero
      replace(kDelta, R"("30.028")", R"("1234567890.12345678")"),                      // 18 digits
      replace(kDelta, R"("30.028")", R"("123456789012345678.5")"),                     // 19 digits: parse_decimal
      replace(kDelta, R"("30.028")", R"(".5")"),
      replace(kDelta, R"("30.028")", R"("5.")"),
      replace(kDelta, R"(orderbook.50.)", "orderbook.full."),
      replace(kDelta, R"("seq":66544703342)", R"("seq":0)"),
      replace(kDelta, R"("ts":1687940967466)", R"("ts":0)"),
      replace(kDelta, R"("ts":1687940967466)", R"("ts":18446744073709)"),               // the largest ms in ns
      std::string(kTrades),
      replace(kTrades, R"(,"seq":1783284617})", "}"),                                   // no seq: id 0
      replace(kTrades, R"("BT":false,)", ""),
      replace(kTrades, R"("type":"snapshot")", R"("type":"delta")"),
      replace(kTrades, R"("p":"16578.50")", R"("p":"-16578.50")"),                      // the generic path takes it too
  };
  testing::expect_both_ways(both, direct, true);
  auto [level1, unused] = both.parse(kSpotSnapshot);
  EXPECT_TRUE(level1.message.snapshot.image);  // orderbook.1 snapshots are routine images
}

TEST(BybitDirectRead, AnythingElseIsTheSimdjsonPathsAndComesOutTheSame) {
  Both both(BybitCategory::kLinear);
  const std::vector<std::string> generic = {
      replace(kDelta, R"("type":"delta",)", R"("type" : "delta", )"),                   // whitespace
      std::string(kDelta) + "\n",                                                        // trailing whitespace
      replace(kDelta, R"("s":"BTCUSDT")", R"("s":"BTC\u0055SDT")"),                     // an escape
      replace(kDelta, R"("s":"BTCUSDT")", "\"s\":\"BTC\xc3\xa9USDT\""),                 // non-ASCII
      replace(kDelta, R"("s":"BTCUSDT")", "\"s\":\"BTC\xff\""),                         // invalid UTF-8
      replace(kDelta, R"("30.028")", "\"30\x01.028\""),                                 // a control character
      replace(kDelta, R"("30.028")", R"("3\u0030.028")"),                               // an escaped digit
      replace(kDelta, R"("topic":"orderbook.50.BTCUSDT",)", "") + "",                   // no topic
      R"({"data":{"s":"BTCUSDT","b":[],"a":[],"u":5},"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1})",
      replace(kDelta, R"("type":"delta")", R"("type":"delta","type":"snapshot")"),      // a repeated key
      replace(kDelta, R"("u":177400507)", R"("u":177400507,"u":5)"),
      replace(kDelta, R"("cts":1687940967464)", R"("cts":1687940967464,"id":"x")"),     // another key
      replace(kDelta, R"("seq":66544703342)", R"("seq":66544703342,"x":[1,{"y":null}])"),
      replace(kDelta, R"("u":177400507)", R"("u":0)"),                                  // a zero u
      replace(kDelta, R"("u":177400507)", R"("u":-1)"),
      replace(kDelta, R"("u":177400507)", R"("u":1.5)"),
      replace(kDelta, R"("u":177400507)", R"("u":1e3)"),
      replace(kDelta, R"("u":177400507)", R"("u":0177400507)"),                         // a leading zero
      replace(kDelta, R"("u":177400507)", R"("u":18446744073709551616)"),               // past 64 bits
      replace(kDelta, R"("u":177400507)", R"("u":"177400507")"),
      replace(kDelta, R"("ts":1687940967466)", R"("ts":18446744073710)"),               // ms past the ns range
      replace(kDelta, R"("30.028")", R"("-30.028")"),                                   // a negative size
      replace(kDelta, R"("30.028")", R"("3e1")"),
      replace(kDelta, R"("30.028")", R"("")"),
      replace(kDelta, R"("30.028")", R"(".")"),
      replace(kDelta, R"("30.028")", R"("1.2.3")"),
      replace(kDelta, R"("30.028")", R"(30.028)"),                                      // a number, not a string
      replace(kDelta, R"(["30245.40","0.224"])", R"(["30245.40","0.224","1"])"),        // three items
      replace(kDelta, R"(["30245.40","0.224"])", R"(["30245.40"])"),
      replace(kDelta, R"("s":"BTCUSDT")", R"("s":"")"),                                 // an empty symbol
      replace(kDelta, R"(orderbook.50.)", "orderbook.25."),                             // not a Bybit depth
      replace(kDelta, R"(orderbook.50.BTCUSDT)", "orderbook.BTCUSDT"),
      replace(kDelta, R"("type":"delta")", R"("type":"update")"),
      replace(kDelta, R"(,"a":[["30248.70","0"],["30249.30","0.892"]])", ""),           // no asks
      replace(kDelta, R"("topic":"orderbook.50.BTCUSDT")", R"("topic":"publicTrade.BTCUSDT")"),
      std::string(kDelta) + "{}",                                                        // a second document
      std::string(kDelta.substr(0, kDelta.size() - 1)) + ",}",                         // a trailing comma
      R"({"type":"delta","topic":"orderbook.50.BTCUSDT","ts":1,"data":{"s":"X","b":[],"a":[],"u":5}})",  // topic not first
      replace(kTrades, R"("data":[{"T":1672304486865,)", R"("data":[{"T":0,)"),         // no trade time
      replace(kTrades, R"("S":"Buy")", R"("S":"buy")"),
      replace(kTrades, R"("i":"20f43950-d8dd-5b31-9112-a178eb6023af")", R"("i":"")"),
      replace(kTrades, R"("s":"BTCUSDT")", R"("s":"")"),
      replace(kTrades, R"("BT":false)", R"("BT":0)"),
      replace(kTrades, R"("BT":false)", R"("BT":falsey)"),
      replace(kTrades, R"("BT":false)", R"("BT":fals)"),
      replace(kTrades, R"("L":"PlusTick")", R"("L":null)"),
      replace(kTrades, R"("L":"PlusTick")", R"("mP":"1","L":"PlusTick")"),             // an options field
      replace(kTrades, R"("v":"0.001")", R"("v":"0.001","v":"2")"),
      replace(kTrades, R"("p":"16578.50",)", ""),                                       // no price
      replace(kTrades, R"("v":"0.001",)", ""),                                          // no size
      replace(kTrades, R"("S":"Buy",)", ""),
      replace(kTrades, R"("i":"20f43950-d8dd-5b31-9112-a178eb6023af",)", ""),
      replace(kTrades, R"("data":[{)", R"("data":[ {)"),
      R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]})",           // no trades
      replace(kTrades, R"("topic":"publicTrade.BTCUSDT")", R"("topic":"publicTrade")"),
      replace(kTrades, R"("ts":1672304486868)", R"("ts":18446744073710)"),
  };
  testing::expect_both_ways(both, generic, false);
  // Every prefix of a frame is cut short somewhere: never read directly.
  testing::expect_prefixes_generic(both, {kDelta, kTrades});
}

// The recorded and documented frames (../shared/fixtures/exchanges/bybit),
// when present: the same both ways, and the book and trade frames (those
// that name a real v5 topic) read directly.
TEST(BybitDirectRead, TheFixtureFramesComeOutTheSameBothWays) {
  Both both(BybitCategory::kLinear);
  testing::expect_fixture_frames(both, std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "bybit", [](std::string_view line) {
    return line.starts_with(R"({"topic":"orderbook.)") || line.starts_with(R"({"topic":"publicTrade.)");
  });
}

}  // namespace
}  // namespace tickwire::connector::venues
