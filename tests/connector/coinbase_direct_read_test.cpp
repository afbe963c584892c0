// CoinbaseParser reads market_trades and l2_data frames in Coinbase's compact
// shape straight from the bytes (src/venues/coinbase/direct_read.cpp) and
// leaves everything else to its simdjson path. Whatever the direct read takes
// must come out exactly as the simdjson path (parse_generic) reads it;
// whatever it does not take is the simdjson path's, errors included.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/direct_read_expect.hpp"
#include "tickwire/connector/venues/coinbase/parser.hpp"

namespace tickwire::connector::venues {
namespace {

using testing::replace;
using Both = testing::BothPaths<CoinbaseParser>;

// Coinbase's documented frames (Advanced Trade websocket).
constexpr std::string_view kTrades =
    R"({"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":0,)"
    R"("events":[{"type":"snapshot","trades":[{"trade_id":"000000000","product_id":"ETH-USD","price":"1260.01",)"
    R"("size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]})";
constexpr std::string_view kLevel2 =
    R"({"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":0,)"
    R"("events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid","event_time":)"
    R"("1970-01-01T00:00:00Z","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"offer",)"
    R"("event_time":"1970-01-01T00:00:00Z","price_level":"21921.3","new_quantity":"0.02"}]}]})";

TEST(CoinbaseDirectRead, TheCompactShapesAreReadDirectlyAndAsTheSimdjsonPathReadsThem) {
  Both both;
  const std::string two_trades =
      replace(kTrades, R"(}]}]})", R"(},{"trade_id":"7","product_id":"ETH-USD","price":"1260.02","size":"1",)"
                                   R"("side":"SELL","time":"2019-08-14T20:42:27.266Z"}]}]})");
  const std::vector<std::string> direct = {
      std::string(kTrades),
      replace(kTrades, R"("type":"snapshot")", R"("type":"update")"),
      two_trades,  // handed out oldest id first, as the simdjson path sorts them
      replace(two_trades, R"(]}]})", R"(]},{"type":"update","trades":[{"trade_id":"9","product_id":"BTC-USD",)"
                                     R"("price":"1","size":"2","side":"BUY","time":"2019-08-14T20:42:28Z"}]}]})"),
      std::string(kLevel2),
      replace(kLevel2, R"("type":"snapshot")", R"("type":"update")"),
      R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01.456789Z","sequence_num":1,)"
      R"("events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":)"
      R"("2026-04-07T14:30:01.456789Z","price_level":"36999.99000000","new_quantity":"12.00000345"},)"
      R"({"side":"offer","event_time":"2026-04-07T14:30:01.456789Z","price_level":"37000.02000000",)"
      R"("new_quantity":"0.00000000"}]}]})",
      replace(kLevel2, R"("new_quantity":"0.02")", R"("new_quantity":"0")"),
      replace(kLevel2, R"("updates":[{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73",)"
                       R"("new_quantity":"0.06317902"},{"side":"offer","event_time":"1970-01-01T00:00:00Z",)"
                       R"("price_level":"21921.3","new_quantity":"0.02"}])",
              R"("updates":[])"),
      replace(kLevel2, R"(]}]})", R"(]},{"type":"update","product_id":"ETH-USD","updates":[{"side":"offer",)"
                                  R"("event_time":"2023-02-09T20:32:50.01Z","price_level":"1","new_quantity":"2"}]}]})"),
      replace(kLevel2, R"("client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":0,)",
              R"("sequence_num":12,"timestamp":"2023-02-09T20:32:50+00:00","client_id":"x",)"),
  };
  testing::expect_both_ways(both, direct, true);
}

TEST(CoinbaseDirectRead, AnythingElseIsTheSimdjsonPathsAndComesOutTheSame) {
  Both both;
  const std::vector<std::string> generic = {
      replace(kTrades, R"("price":"1260.01",)", R"("price" : "1260.01", )"),        // whitespace
      std::string(kTrades) + "\n",
      replace(kTrades, R"("side":"BUY")", R"("side":"B\u0055Y")"),                  // an escape
      replace(kTrades, R"("side":"BUY")", R"("side":"buy")"),
      replace(kTrades, R"("trade_id":"000000000")", R"("trade_id":"12a")"),
      replace(kTrades, R"("trade_id":"000000000")", R"("trade_id":0)"),             // a number
      replace(kTrades, R"("time":"2019-08-14T20:42:27.265Z")", R"("time":"2019-08-14 20:42:27Z")"),
      replace(kTrades, R"("timestamp":"2023-02-09T20:19:35.39625135Z")", R"("timestamp":"yesterday")"),
      replace(kTrades, R"("sequence_num":0)", R"("sequence_num":-1)"),
      replace(kTrades, R"("sequence_num":0)", R"("sequence_num":"0")"),
      replace(kTrades, R"("sequence_num":0,)", ""),                                // no sequence_num
      replace(kTrades, R"("type":"snapshot")", R"("type":"partial")"),
      replace(kTrades, R"("price":"1260.01",)", ""),                                // no price
      replace(kTrades, R"("size":"0.3")", R"("size":"0.3","size":"1")"),             // a repeated key
      replace(kTrades, R"("side":"BUY")", R"("side":"BUY","maker_order_id":"x")"),  // another key
      replace(kTrades, R"("client_id":"",)", R"("client_id":null,)"),
      R"({"events":[],"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35Z","sequence_num":3})",
      R"({"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35Z","sequence_num":3,"events":[]})",
      R"({"type":"error","message":"failure to subscribe"})",
      replace(kLevel2, R"("channel":"l2_data")", R"("channel":"ticker")"),
      replace(kLevel2, R"("side":"bid")", R"("side":"ask")"),
      replace(kLevel2, R"("new_quantity":"0.02")", R"("new_quantity":"-0.02")"),
      replace(kLevel2, R"("new_quantity":"0.02")", R"("new_quantity":"2e-2")"),
      replace(kLevel2, R"("product_id":"BTC-USD")", R"("product_id":"")"),
      replace(kLevel2, R"("event_time":"1970-01-01T00:00:00Z",)", R"("event_time":null,)"),
      replace(kLevel2, R"("type":"snapshot","product_id":"BTC-USD",)", R"("product_id":"BTC-USD",)"),
      replace(kLevel2, R"("sequence_num":0)", R"("sequence_num":0,"extra":{})"),
      std::string(kLevel2.substr(0, kLevel2.size() - 1)) + ",}",
  };
  testing::expect_both_ways(both, generic, false);
  // Every prefix of a frame is cut short somewhere: never read directly.
  testing::expect_prefixes_generic(both, {kTrades, kLevel2});
}

// The recorded and documented frames (../shared/fixtures/exchanges/coinbase),
// when present: the same both ways; the Advanced Trade market_trades and
// l2_data ones read directly.
TEST(CoinbaseDirectRead, TheFixtureFramesComeOutTheSameBothWays) {
  Both both;
  testing::expect_fixture_frames(both, std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "coinbase", [](std::string_view line) {
    return line.starts_with(R"({"channel":"market_trades")") || line.starts_with(R"({"channel":"l2_data")");
  });
}

}  // namespace
}  // namespace tickwire::connector::venues
