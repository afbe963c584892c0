// The Binance parser in its USD-M futures dialect. No USD-M fixture files are
// in shared/fixtures: the messages below have the shapes of Binance's USD-M
// "Websocket Market Streams" documentation (developers.binance.com, derivatives
// / usds-margined-futures: Diff. Book Depth Streams with "pu", Mark Price
// Stream, Liquidation Order Streams, Individual Symbol Book Ticker Streams,
// Aggregate Trade Streams), values changed where a test needs them.
#include "tickwire/connector/venues/binance/parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tickwire::connector::venues {
namespace {

ParsedMessage parse(BinanceParser& p, std::string_view text) {
  static std::string buffer;
  buffer.assign(text);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  return p.parse(buffer.data(), text.size());
}

TEST(BinanceUsdmParser, ParsesAFuturesDiffDepthWithItsPreviousUpdateId) {
  BinanceParser p(BinanceDialect::kUsdm);
  auto m = parse(p, R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":123456789,"T":123456788,)"
                    R"("s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}})");
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.delta.symbol, "BTCUSDT");
  EXPECT_EQ(m.delta.first_update_id, 157u);
  EXPECT_EQ(m.delta.last_update_id, 160u);
  EXPECT_TRUE(m.delta.has_prev);
  EXPECT_EQ(m.delta.prev_update_id, 149u);
  EXPECT_EQ(m.stream_symbol, "btcusdt");
  ASSERT_EQ(m.delta.bids.size(), 1u);
  EXPECT_EQ(m.delta.bids[0].price, (Decimal{24, -4}));
}

TEST(BinanceUsdmParser, RejectsAFuturesDiffWithoutPu) {
  BinanceParser p(BinanceDialect::kUsdm);
  auto m = parse(p, R"({"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,)"
                    R"("b":[],"a":[]})");
  EXPECT_EQ(m.event, EventKind::kError);
  EXPECT_EQ(p.error(), "data.pu: expected an unsigned integer");
}

TEST(BinanceUsdmParser, SpotDiffsCarryNoPreviousId) {
  BinanceParser p(BinanceDialect::kSpot);
  auto m = parse(p, R"({"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[],"a":[]})");
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_FALSE(m.delta.has_prev);
}

TEST(BinanceUsdmParser, ParsesAMarkPriceUpdateAsFunding) {
  BinanceParser p(BinanceDialect::kUsdm);
  auto m = parse(p, R"({"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,)"
                    R"("s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265",)"
                    R"("r":"-0.00038167","T":1562306400000}})");
  ASSERT_EQ(m.event, EventKind::kFunding) << p.error();
  EXPECT_EQ(m.funding.symbol, "BTCUSDT");
  EXPECT_EQ(m.funding.mark_price, (Decimal{1179415000000, -8}));
  EXPECT_EQ(m.funding.index_price, (Decimal{1178462659091, -8}));
  EXPECT_EQ(m.funding.settle_price, (Decimal{1178425641265, -8}));
  EXPECT_EQ(m.funding.funding_rate, (Decimal{-38167, -8}));
  EXPECT_EQ(m.funding.event_ns, 1562305380000000000u);
  EXPECT_EQ(m.funding.next_funding_ns, 1562306400000000000u);
}

TEST(BinanceUsdmParser, ParsesAForceOrderAsALiquidation) {
  BinanceParser p(BinanceDialect::kUsdm);
  auto m = parse(p, R"({"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",)"
                    R"("q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014",)"
                    R"("T":1568014460893}})");
  ASSERT_EQ(m.event, EventKind::kLiquidation) << p.error();
  EXPECT_EQ(m.liquidation.symbol, "BTCUSDT");
  EXPECT_EQ(m.liquidation.side, Side::kSell);
  EXPECT_EQ(m.liquidation.price, (Decimal{9910, 0}));
  EXPECT_EQ(m.liquidation.average_price, (Decimal{9910, 0}));
  EXPECT_EQ(m.liquidation.size, (Decimal{14, -3}));
  EXPECT_EQ(m.liquidation.filled_size, (Decimal{14, -3}));
  EXPECT_EQ(m.liquidation.trade_ns, 1568014460893000000u);
}

TEST(BinanceUsdmParser, RejectsAForceOrderWithAnUnknownSide) {
  BinanceParser p(BinanceDialect::kUsdm);
  auto m = parse(p, R"({"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"LONG","q":"1","p":"1","ap":"1",)"
                    R"("z":"1","T":1}})");
  EXPECT_EQ(m.event, EventKind::kError);
  EXPECT_EQ(p.error(), "data.o.S: expected \"BUY\" or \"SELL\"");
}

TEST(BinanceUsdmParser, ParsesAFuturesBookTickerWithItsEventTime) {
  BinanceParser p(BinanceDialect::kUsdm);
  auto m = parse(p, R"({"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT",)"
                    R"("b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})");
  ASSERT_EQ(m.event, EventKind::kQuote) << p.error();
  EXPECT_EQ(m.quote.update_id, 400900217u);
  EXPECT_EQ(m.quote.event_ns, 1568014460893000000u);
}

TEST(BinanceUsdmParser, ParsesAFuturesTradeWithItsType) {
  BinanceParser p(BinanceDialect::kUsdm);
  auto m = parse(p, R"({"e":"trade","E":123456789,"T":123456785,"s":"BTCUSDT","t":12345,"p":"0.001",)"
                    R"("q":"100","X":"MARKET","m":true})");
  ASSERT_EQ(m.event, EventKind::kTrade) << p.error();
  EXPECT_EQ(m.trade.trade_id, 12345u);
  EXPECT_EQ(m.trade.aggressor, Side::kSell);
}

TEST(BinanceUsdmParser, ParsesAFuturesAggregateTrade) {
  BinanceParser p(BinanceDialect::kUsdm);
  auto m = parse(p, R"({"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100",)"
                    R"("f":100,"l":105,"T":123456785,"m":true})");
  ASSERT_EQ(m.event, EventKind::kAggTrade) << p.error();
  EXPECT_EQ(m.trade.first_trade_id, 100u);
  EXPECT_EQ(m.trade.last_trade_id, 105u);
}

TEST(BinanceUsdmParser, ParsesTheFapiDepthSnapshot) {
  BinanceParser p(BinanceDialect::kUsdm);
  std::string body = R"({"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,)"
                     R"("bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]})";
  const std::size_t n = body.size();
  body.append(simdjson::SIMDJSON_PADDING, '\0');
  auto m = p.parse_snapshot(body.data(), n);
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(m.snapshot.last_update_id, 1027024u);
}

// Whole-document validation, the same in both dialects.
TEST(BinanceParserValidation, RejectsInvalidJsonInAFieldTheParserDoesNotRead) {
  BinanceParser p;
  auto m = parse(p, R"({"e":"trade","E":1,"s":"BTCUSDT","t":42,"p":"1","q":"1","T":1,"m":true,"M":tru})");
  EXPECT_EQ(m.event, EventKind::kError);
  EXPECT_EQ(p.error(), "message: invalid JSON");
  auto n = parse(p, R"({"e":"trade","E":1,"s":"BTCUSDT","t":42,"p":"1","q":"1","T":1,"m":true,"x":[1,2,}})");
  EXPECT_EQ(n.event, EventKind::kError);
}

TEST(BinanceParserValidation, RejectsTwoDocumentsInOneFrame) {
  BinanceParser p;
  auto m = parse(p, R"({"e":"trade","E":1,"s":"BTCUSDT","t":42,"p":"1","q":"1","T":1,"m":true})"
                    R"({"e":"trade","E":1,"s":"BTCUSDT","t":43,"p":"1","q":"1","T":1,"m":true})");
  EXPECT_EQ(m.event, EventKind::kError);
  EXPECT_EQ(p.error(), "message: trailing content after the JSON document");
}

TEST(BinanceParserValidation, AcceptsTrailingWhitespace) {
  BinanceParser p;
  auto m = parse(p, "{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":42,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true} \n");
  EXPECT_EQ(m.event, EventKind::kTrade) << p.error();
}

TEST(BinanceParserValidation, RejectsABadEscapeInAnUnreadString) {
  BinanceParser p;
  auto m = parse(p, R"({"e":"trade","E":1,"s":"BTCUSDT","t":42,"p":"1","q":"1","T":1,"m":true,"z":"\q"})");
  EXPECT_EQ(m.event, EventKind::kError);
}

TEST(BinanceParserValidation, ReportsTheStreamSymbolWhenDataComesFirst) {
  BinanceParser p;
  auto m = parse(p, R"({"data":{"e":"trade","E":1,"s":"BTCUSDT","t":42,"p":"1","q":"1","T":1,"m":true},)"
                    R"("stream":"ethusdt@trade"})");
  ASSERT_EQ(m.event, EventKind::kTrade) << p.error();
  EXPECT_EQ(m.stream_symbol, "ethusdt");
}

}  // namespace
}  // namespace tickwire::connector::venues
