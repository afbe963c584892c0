// BinanceParser reads trade, aggTrade, depthUpdate and bookTicker events in
// Binance's compact shape straight from the bytes
// (src/venues/binance/direct_read.cpp), combined-stream or raw, and leaves
// everything else to its simdjson path. Whatever the direct read takes must
// come out exactly as the simdjson path (parse_generic) reads it; whatever
// it does not take is the simdjson path's, errors included.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/direct_read_expect.hpp"
#include "tickwire/connector/venues/binance/parser.hpp"

namespace tickwire::connector::venues {
namespace {

using testing::replace;
using Both = testing::BothPaths<BinanceParser>;

// Real frames: Binance's documentation (trade, aggTrade, bookTicker) and a
// 2021 recording of combined streams (depth, bookTicker).
constexpr std::string_view kTrade =
    R"({"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,)"
    R"("M":true})";
constexpr std::string_view kAggTrade =
    R"({"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,)"
    R"("T":1672515782136,"m":true,"M":true})";
constexpr std::string_view kDepth =
    R"({"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate","E":1633998512068,"s":"NKNUSDT","U":499869750,)"
    R"("u":499869752,"b":[["0.35130000","6195.00000000"],["0.34750000","5548.00000000"]],"a":[]}})";
constexpr std::string_view kTicker =
    R"({"stream":"nknusdt@bookTicker","data":{"u":499869768,"s":"NKNUSDT","b":"0.35210000","B":"672.00000000",)"
    R"("a":"0.35260000","A":"3199.00000000"}})";
constexpr std::string_view kRawTicker =
    R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})";
// USD-M futures (Binance's documentation).
constexpr std::string_view kUsdmDepth =
    R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT",)"
    R"("U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}})";
constexpr std::string_view kUsdmTicker =
    R"({"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000",)"
    R"("B":"31.21000000","a":"25.36520000","A":"40.66000000"})";
constexpr std::string_view kUsdmTrade =
    R"({"e":"trade","E":123456789,"T":123456785,"s":"BTCUSDT","t":12345,"p":"0.001","q":"100","X":"MARKET",)"
    R"("m":true})";

std::string combined(std::string_view stream, std::string_view event) {
  return R"({"stream":")" + std::string(stream) + R"(","data":)" + std::string(event) + "}";
}

TEST(BinanceDirectRead, TheCompactShapesAreReadDirectlyAndAsTheSimdjsonPathReadsThem) {
  Both both(BinanceDialect::kSpot);
  const std::vector<std::string> direct = {
      std::string(kTrade),
      combined("bnbbtc@trade", kTrade),
      replace(kTrade, R"("m":true)", R"("m":false)"),
      replace(kTrade, R"(,"M":true)", ""),
      replace(kTrade, R"("M":true)", R"("M":true,"b":88,"a":50)"),  // the order ids of older streams
      replace(kTrade, R"("s":"BNBBTC","t":12345)", R"("t":12345,"s":"BNBBTC")"),
      replace(kTrade, R"("p":"0.001")", R"("p":"-0.001")"),
      replace(kTrade, R"("q":"100")", R"("q":"0.1234567890123456789")"),  // 19 digits: parse_decimal reads it
      replace(kTrade, R"("E":1672515782136)", R"("E":18446744073709)"),  // the last ms that fits
      std::string(kAggTrade),
      combined("bnbbtc@aggTrade", kAggTrade),
      replace(kAggTrade, R"("f":100,"l":105)", R"("f":105,"l":105)"),
      std::string(kDepth),
      replace(kDepth, R"("a":[])", R"("a":[["0.35260000","0"]])"),
      replace(kDepth, R"("U":499869750)", R"("U":499869752)"),
      R"({"e":"depthUpdate","E":1633998512068,"s":"NKNUSDT","U":499869750,"u":499869752,"b":[],"a":[]})",  // raw
      std::string(kTicker),
      replace(kTicker, R"("A":"3199.00000000")", R"("A":"3199.00000000","e":"bookTicker")"),
      std::string(kRawTicker),
      combined("bnbusdt@depth", kRawTicker),  // no "e": a bookTicker to both paths
      replace(kRawTicker, R"("A":"40.66000000")", R"("A":"40.66000000","E":1672515782136)"),  // E after A
      replace(kTicker, R"("b":"0.35210000")", R"("b":"-0.35210000")"),
  };
  testing::expect_both_ways(both, direct, true);

  Both futures(BinanceDialect::kUsdm);
  const std::vector<std::string> usdm = {
      std::string(kUsdmDepth),
      replace(kUsdmDepth, R"("pu":149,)", R"("pu":160,)"),
      std::string(kUsdmTicker),
      combined("bnbusdt@bookTicker", kUsdmTicker),
      replace(kUsdmTicker, R"("u":400900217,"E":1568014460893)", R"("E":1568014460893,"u":400900217)"),
      std::string(kUsdmTrade),
      std::string(kAggTrade),
  };
  testing::expect_both_ways(futures, usdm, true);
}

TEST(BinanceDirectRead, AnythingElseIsTheSimdjsonPathsAndComesOutTheSame) {
  Both both(BinanceDialect::kSpot);
  const std::vector<std::string> generic = {
      R"({"result":null,"id":1})",
      R"({"error":{"code":2,"msg":"Invalid request"},"id":1})",
      R"({"e":"serverShutdown","E":1672515782136})",
      replace(kTrade, R"("p":"0.001",)", R"("p" : "0.001", )"),               // whitespace
      std::string(kTrade) + " ",
      std::string(kTrade) + "{}",
      replace(kTrade, R"("s":"BNBBTC")", R"("s":"BNB\u0042TC")"),             // an escape
      replace(kTrade, R"("s":"BNBBTC")", "\"s\":\"BNB\xc3\x9f\""),            // non-ASCII
      replace(kTrade, R"("s":"BNBBTC")", R"("s":"")"),
      replace(kTrade, R"("p":"0.001")", R"("p":"0.0.1")"),
      replace(kTrade, R"("p":"0.001")", R"("p":0.001)"),                      // a number
      replace(kTrade, R"("t":12345)", R"("t":-1)"),
      replace(kTrade, R"("t":12345)", R"("t":"12345")"),
      replace(kTrade, R"("m":true)", R"("m":1)"),
      replace(kTrade, R"("m":true,)", ""),                                     // no m
      replace(kTrade, R"("q":"100",)", ""),                                    // no q
      replace(kTrade, R"("q":"100")", R"("q":"100","q":"1")"),                 // a repeated key
      replace(kTrade, R"("M":true)", R"("M":true,"x":1)"),                     // another key
      replace(kTrade, R"("M":true)", R"("M":true,"X":"MARKET")"),              // futures' key, on spot
      replace(kTrade, R"("E":1672515782136)", R"("E":18446744073710)"),       // past the ns range
      replace(kTrade, R"("e":"trade")", R"("e":"Trade")"),
      replace(kTrade, R"({"e":"trade","E":1672515782136,)", R"({"E":1672515782136,"e":"trade",)"),  // "e" not first
      replace(kAggTrade, R"("f":100,"l":105)", R"("f":106,"l":105)"),         // f > l
      replace(kAggTrade, R"("a":12345,)", R"("a":12345,"t":1,)"),
      combined("bnbbtc@trade", kTrade) + " ",
      replace(combined("bnbbtc@trade", kTrade), R"(}})", R"(},"extra":1})"),
      R"({"data":)" + std::string(kTrade) + R"(,"stream":"bnbbtc@trade"})",  // data first
      replace(kDepth, R"("U":499869750)", R"("U":499869753)"),                 // U > u
      replace(kDepth, R"("a":[])", R"("a":[["0.35260000","-1"]])"),            // a negative size
      replace(kDepth, R"("a":[])", R"("a":[["0.35260000"]])"),
      replace(kDepth, R"("a":[])", R"("a":[["0.35260000","1","2"]])"),
      replace(kDepth, R"("a":[])", R"("a":{})"),
      replace(kDepth, R"(,"a":[])", ""),                                       // no asks
      replace(kDepth, R"("u":499869752,)", R"("u":499869752,"pu":1,)"),        // futures' key, on spot
      replace(kTicker, R"("B":"672.00000000")", R"("B":"-672.00000000")"),
      replace(kTicker, R"(,"A":"3199.00000000")", ""),
      replace(kRawTicker, R"({"u":400900217,"s":"BNBUSDT")", R"({"s":"BNBUSDT","u":400900217)"),  // "u" not first
      replace(kRawTicker, R"("A":"40.66000000")", R"("A":"40.66000000","e":"bookTicker")"),      // "e" after "u"
      replace(kRawTicker, R"("s":"BNBUSDT")", R"("E":1,"s":"BNBUSDT")"),     // spot's E before A
      replace(kRawTicker, R"("A":"40.66000000")", R"("A":"40.66000000","id":1)"),
      std::string(kUsdmTicker),                                                // futures' E before A, on spot
  };
  testing::expect_both_ways(both, generic, false);
  testing::expect_prefixes_generic(both, {kTrade, kDepth, kTicker, kRawTicker});

  Both futures(BinanceDialect::kUsdm);
  const std::vector<std::string> usdm = {
      replace(kUsdmDepth, R"("pu":149,)", ""),                                 // no pu
      replace(kUsdmTrade, R"("X":"MARKET")", R"("X":1)"),
  };
  testing::expect_both_ways(futures, usdm, false);
}

// The recorded and documented frames (../shared/fixtures/exchanges/binance),
// when present: the same both ways; the trade, aggTrade, depthUpdate and
// bookTicker events read directly.
TEST(BinanceDirectRead, TheFixtureFramesComeOutTheSameBothWays) {
  Both both(BinanceDialect::kSpot);
  testing::expect_fixture_frames(both, std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "binance",
                                 [](std::string_view line) {
                                   const bool stream = line.starts_with(R"({"stream":)");
                                   if (line.find(R"("st":)") != std::string_view::npos) return false;  // a key it does not know
                                   return line.starts_with(R"({"e":"trade",)") ||
                                          line.starts_with(R"({"e":"aggTrade",)") ||
                                          line.starts_with(R"({"e":"depthUpdate",)") ||
                                          line.starts_with(R"({"u":)") ||
                                          (stream && (line.find("@depth") != std::string_view::npos ||
                                                      line.find("@bookTicker") != std::string_view::npos ||
                                                      line.find("@trade") != std::string_view::npos ||
                                                      line.find("@aggTrade") != std::string_view::npos));
                                 });
}

}  // namespace
}  // namespace tickwire::connector::venues
