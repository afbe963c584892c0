#include "tickwire/connector/feeds/binance.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tickwire::connector::feeds {
namespace {

// parse: copies the text into a padded buffer, as the websocket session provides it.
ParsedMessage parse(BinanceParser& p, std::string_view text) {
  static std::string buffer;
  buffer.assign(text);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  return p.parse(buffer.data(), text.size());
}

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "binance" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST(BinanceParser, ParsesACombinedStreamTrade) {
  BinanceParser p;
  auto m = parse(p, R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1700000000123,"s":"BTCUSDT","t":42,)"
                    R"("p":"37000.10000000","q":"0.00100000","T":1700000000120,"m":true,"M":true}})");
  ASSERT_EQ(m.kind, MessageKind::kTrade) << p.error();
  EXPECT_EQ(m.trade.symbol, "BTCUSDT");
  EXPECT_EQ(m.trade.trade_id, 42u);
  EXPECT_EQ(m.trade.price, (Decimal{3700010000000, -8}));
  EXPECT_EQ(m.trade.size, (Decimal{100000, -8}));
  EXPECT_EQ(m.trade.aggressor, Side::kSell);
  EXPECT_EQ(m.trade.event_ns, 1700000000123000000u);
  EXPECT_EQ(m.trade.trade_ns, 1700000000120000000u);
}

TEST(BinanceParser, MicrosecondTimestampsKeepTheirMicroseconds) {
  // A connection opened with timeUnit=MICROSECOND: E and T have 16 digits.
  BinanceParser p;
  p.set_time_unit(TimeUnit::kMicroseconds);
  auto m = parse(p, R"({"e":"trade","E":1700000000123456,"s":"BTCUSDT","t":42,"p":"1","q":"1",)"
                    R"("T":1700000000120789,"m":true,"M":true})");
  ASSERT_EQ(m.kind, MessageKind::kTrade) << p.error();
  EXPECT_EQ(m.trade.event_ns, 1700000000123456000u);
  EXPECT_EQ(m.trade.trade_ns, 1700000000120789000u);
  auto d = parse(p, R"({"e":"depthUpdate","E":1672515782136001,"s":"BNBBTC","U":157,"u":160,"b":[],"a":[]})");
  ASSERT_EQ(d.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(d.delta.event_ns, 1672515782136001000u);
  // The same digits read as milliseconds would overflow 64-bit nanoseconds: rejected, not wrapped.
  BinanceParser ms;
  auto bad = parse(ms, R"({"e":"trade","E":18446744073709552,"s":"BTCUSDT","t":42,"p":"1","q":"1",)"
                       R"("T":1,"m":true,"M":true})");
  EXPECT_EQ(bad.kind, MessageKind::kError);
  EXPECT_NE(ms.error().find("timestamp out of range"), std::string_view::npos) << ms.error();
}

TEST(BinanceParser, AcceptsFieldsInAnyOrderAndRawStreams) {
  BinanceParser p;
  auto m = parse(p, R"({"m":false,"q":"2","p":"1.5","t":7,"s":"ETHBTC","T":2,"E":3,"e":"trade"})");
  ASSERT_EQ(m.kind, MessageKind::kTrade) << p.error();
  EXPECT_EQ(m.trade.symbol, "ETHBTC");
  EXPECT_EQ(m.trade.aggressor, Side::kBuy);
  EXPECT_EQ(m.trade.price, (Decimal{15, -1}));
}

TEST(BinanceParser, TellsControlRepliesAndOtherEventsApart) {
  BinanceParser p;
  EXPECT_EQ(parse(p, R"({"result":null,"id":1})").kind, MessageKind::kControl);
  EXPECT_EQ(parse(p, R"({"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}})").kind,
            MessageKind::kIgnored);
  EXPECT_EQ(parse(p, R"({"stream":"x@kline_1m","data":{"e":"kline","E":1,"s":"X","k":{}}})").event,
            EventKind::kIgnored);
}

TEST(BinanceParser, ReportsTheIdOfControlReplies) {
  BinanceParser p;
  auto m = parse(p, R"({"result":null,"id":17})");
  ASSERT_EQ(m.event, EventKind::kControlReply) << p.error();
  EXPECT_TRUE(m.control.has_id);
  EXPECT_EQ(m.control.id, 17u);
  m = parse(p, R"({"id":3,"result":["btcusdt@trade"]})");
  ASSERT_EQ(m.event, EventKind::kControlReply) << p.error();
  EXPECT_EQ(m.control.id, 3u);
  m = parse(p, R"({"result":null,"id":null})");
  ASSERT_EQ(m.event, EventKind::kControlReply) << p.error();
  EXPECT_FALSE(m.control.has_id);
}

TEST(BinanceParser, ReportsErrorRepliesWithCodeAndText) {
  BinanceParser p;
  auto m = parse(p, R"({"error":{"code":2,"msg":"Invalid request: unknown \"method\""},"id":5})");
  ASSERT_EQ(m.event, EventKind::kErrorReply) << p.error();
  EXPECT_EQ(m.kind, MessageKind::kControl);
  EXPECT_EQ(m.error_reply.code, 2);
  EXPECT_EQ(m.error_reply.message, "Invalid request: unknown \"method\"");
  EXPECT_TRUE(m.error_reply.has_id);
  EXPECT_EQ(m.error_reply.id, 5u);
  m = parse(p, R"({"code":0,"msg":"Unknown property","id":null})");
  ASSERT_EQ(m.event, EventKind::kErrorReply) << p.error();
  EXPECT_EQ(m.error_reply.message, "Unknown property");
  EXPECT_FALSE(m.error_reply.has_id);
}

TEST(BinanceParser, ParsesServerShutdownInEveryWrapping) {
  BinanceParser p;
  for (const char* text : {R"({"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}})",
                           R"({"e":"serverShutdown","E":1770123456789})",
                           R"({"event":{"e":"serverShutdown","E":1770123456789}})"}) {
    auto m = parse(p, text);
    ASSERT_EQ(m.event, EventKind::kServerShutdown) << text << ": " << p.error();
    EXPECT_EQ(m.shutdown.event_ns, 1770123456789000000u);
  }
}

TEST(BinanceParser, ParsesAggregateTrades) {
  BinanceParser p;
  auto m = parse(p, R"({"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":1675759520848,"s":"ETHUSDT",)"
                    R"("a":226532,"p":"1632.46000000","q":"0.34305000","f":228423,"l":228425,"T":1675759520847,)"
                    R"("m":false,"M":true,"st":1}})");
  ASSERT_EQ(m.event, EventKind::kAggTrade) << p.error();
  EXPECT_EQ(m.kind, MessageKind::kIgnored);  // not a plain trade for the first pipeline
  EXPECT_TRUE(m.trade.aggregate);
  EXPECT_EQ(m.trade.symbol, "ETHUSDT");
  EXPECT_EQ(m.trade.trade_id, 226532u);
  EXPECT_EQ(m.trade.first_trade_id, 228423u);
  EXPECT_EQ(m.trade.last_trade_id, 228425u);
  EXPECT_EQ(middleware::to_string(m.trade.price), "1632.46000000");
  EXPECT_EQ(m.trade.aggressor, Side::kBuy);
  EXPECT_EQ(m.trade.trade_ns, 1675759520847000000u);
}

TEST(BinanceParser, ParsesBookTickerRawCombinedAndWithEventTime) {
  BinanceParser p;
  auto m = parse(p, R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000",)"
                    R"("A":"40.66000000"})");
  ASSERT_EQ(m.event, EventKind::kQuote) << p.error();
  EXPECT_EQ(m.quote.symbol, "BNBUSDT");
  EXPECT_EQ(m.quote.update_id, 400900217u);
  EXPECT_EQ(middleware::to_string(m.quote.bid_price), "25.35190000");
  EXPECT_EQ(middleware::to_string(m.quote.bid_size), "31.21000000");
  EXPECT_EQ(middleware::to_string(m.quote.ask_price), "25.36520000");
  EXPECT_EQ(middleware::to_string(m.quote.ask_size), "40.66000000");
  EXPECT_EQ(m.quote.event_ns, 0u);
  m = parse(p, R"({"stream":"ethusdt@bookTicker","data":{"u":12711621188,"s":"ETHUSDT","b":"4507.24000000",)"
               R"("B":"2.35950000","a":"4507.25000000","A":"2.84570000","T":1646199228121,"E":1646199228123}})");
  ASSERT_EQ(m.event, EventKind::kQuote) << p.error();
  EXPECT_EQ(m.quote.update_id, 12711621188u);
  EXPECT_EQ(m.quote.event_ns, 1646199228123000000u);
}

TEST(BinanceParser, ParsesDepthUpdatesIntoReusedLevelVectors) {
  BinanceParser p;
  auto m = parse(p, R"({"stream":"bnbbtc@depth@100ms","data":{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC",)"
                    R"("U":157,"u":160,"b":[["0.0024","10"],["0.0023","0"]],"a":[["0.0026","100"]]}})");
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.delta.symbol, "BNBBTC");
  EXPECT_EQ(m.delta.event_ns, 1672515782136000000u);
  EXPECT_EQ(m.delta.first_update_id, 157u);
  EXPECT_EQ(m.delta.last_update_id, 160u);
  ASSERT_EQ(m.delta.bids.size(), 2u);
  ASSERT_EQ(m.delta.asks.size(), 1u);
  EXPECT_EQ(m.delta.bids[0], (PriceLevel{{24, -4}, {10, 0}}));
  EXPECT_EQ(m.delta.bids[1], (PriceLevel{{23, -4}, {0, 0}}));
  EXPECT_EQ(m.delta.asks[0], (PriceLevel{{26, -4}, {100, 0}}));
  const PriceLevel* storage = m.delta.bids.data();
  m = parse(p, R"({"e":"depthUpdate","E":1,"s":"BNBBTC","U":161,"u":161,"b":[],"a":[["0.0027","1"]]})");
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_TRUE(m.delta.bids.empty());
  EXPECT_EQ(m.delta.asks.size(), 1u);
  m = parse(p, R"({"e":"depthUpdate","E":1,"s":"BNBBTC","U":162,"u":162,"b":[["1","2"]],"a":[]})");
  EXPECT_EQ(m.delta.bids.data(), storage);  // the same vector, reused
}

TEST(BinanceParser, ParsesTheRestDepthSnapshot) {
  BinanceParser p;
  std::string body = R"({"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],)"
                     R"("asks":[["4.00000200","12.00000000"],["4.00000300","1.00000000"]]})";
  body.append(simdjson::SIMDJSON_PADDING, '\0');
  auto m = p.parse_depth_snapshot(body.data(), body.size() - simdjson::SIMDJSON_PADDING);
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(m.snapshot.last_update_id, 1027024u);
  ASSERT_EQ(m.snapshot.bids.size(), 1u);
  ASSERT_EQ(m.snapshot.asks.size(), 2u);
  EXPECT_EQ(middleware::to_string(m.snapshot.asks[1].price), "4.00000300");
}

TEST(BinanceParser, RejectsBadSnapshotsNamingTheField) {
  BinanceParser p;
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"bids":[],"asks":[]})", "lastUpdateId"},
           {R"({"lastUpdateId":-1,"bids":[],"asks":[]})", "lastUpdateId"},
           {R"({"lastUpdateId":1,"asks":[]})", "bids: missing"},
           {R"({"lastUpdateId":1,"bids":{},"asks":[]})", "bids: expected an array"},
           {R"({"lastUpdateId":1,"bids":[["1","2"],["1"]],"asks":[]})", "bids[1]: expected exactly [price, size]"},
           {R"({"lastUpdateId":1,"bids":[],"asks":[["1","2","3"]]})", "asks[0]: expected exactly"},
           {R"({"lastUpdateId":1,"bids":[],"asks":[[1,2]]})", "asks[0]: expected price and size as strings"},
           {R"({"lastUpdateId":1,"bids":[],"asks":[["1","x"]]})", "asks[0]: size: not an exact decimal"},
           {R"({"lastUpdateId":1,"bids":[],"asks":[["1","-2"]]})", "asks[0]: size: negative"},
           {R"({"lastUpdateId":1,"bids":[],"asks":[["1","2"])", "truncated"},
           {"[]", "expected a JSON object"},
       }) {
    std::string body = c.text;
    body.append(simdjson::SIMDJSON_PADDING, '\0');
    auto m = p.parse_depth_snapshot(body.data(), body.size() - simdjson::SIMDJSON_PADDING);
    EXPECT_EQ(m.event, EventKind::kError) << c.text;
    EXPECT_NE(std::string(p.error()).find(c.error), std::string::npos) << c.text << " -> " << p.error();
  }
}

TEST(BinanceParser, RejectsBadNewKindsNamingTheField) {
  BinanceParser p;
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"e":"depthUpdate","E":1,"s":"A","U":5,"u":4,"b":[],"a":[]})", "data.U"},
           {R"({"e":"depthUpdate","E":1,"s":"A","U":1,"u":4,"a":[]})", "data.b: missing"},
           {R"({"e":"depthUpdate","E":1,"s":"A","U":1,"u":4,"b":[["1","2"]],"a":[["0.1.2","1"]]})",
            "data.a[0]: price"},
           {R"({"e":"depthUpdate","E":1,"s":"A","U":1,"u":4,"b":[["1","-2"]],"a":[]})", "data.b[0]: size: negative"},
           {R"({"e":"depthUpdate","E":1,"s":"","U":1,"u":4,"b":[],"a":[]})", "data.s"},
           {R"({"e":"aggTrade","E":1,"s":"A","a":1,"p":"1","q":"1","f":5,"l":4,"T":1,"m":true})", "data.f"},
           {R"({"e":"aggTrade","E":1,"s":"A","a":1,"p":"1","q":"1","l":4,"T":1,"m":true})", "data.f"},
           {R"({"u":1,"s":"A","b":"1","B":"1","a":"x","A":"1"})", "data.a"},
           {R"({"u":1,"s":"A","b":"1","B":"-1","a":"2","A":"1"})", "data.B/A"},
           {R"({"u":"1","s":"A","b":"1","B":"1","a":"2","A":"1"})", "data.u"},
           {R"({"e":"serverShutdown"})", "data.E"},
           {R"({"error":{"code":"x","msg":"m"},"id":1})", "error.code"},
           {R"({"error":{"code":1},"id":1})", "error.msg"},
           {R"({"result":null,"id":"abc"})", "id: expected an unsigned integer or null"},
           {R"({"id":4})", "neither result nor error"},
       }) {
    auto m = parse(p, c.text);
    EXPECT_EQ(m.event, EventKind::kError) << c.text;
    EXPECT_EQ(m.kind, MessageKind::kError) << c.text;
    EXPECT_NE(std::string(p.error()).find(c.error), std::string::npos) << c.text << " -> " << p.error();
  }
}

TEST(BinanceParser, ParsesEveryRealFixtureOfTheNewKinds) {
  struct File {
    const char* name;
    EventKind kind;
    std::size_t lines;
  };
  for (const File& f : std::vector<File>{{"aggTrade.docs.json", EventKind::kAggTrade, 1},
                                         {"aggTrade.nautilus.json", EventKind::kAggTrade, 1},
                                         {"bookTicker.docs.json", EventKind::kQuote, 1},
                                         {"bookTicker.nautilus.json", EventKind::kQuote, 1},
                                         {"bookTicker.cryptofeed2021.json", EventKind::kQuote, 84},
                                         {"depthUpdate.docs.json", EventKind::kBookDelta, 1},
                                         {"depthUpdate.cryptofeed2021.json", EventKind::kBookDelta, 177}}) {
    auto lines = fixture_lines(f.name);
    if (lines.empty()) GTEST_SKIP() << "fixture binance/" << f.name << " not found under " << TICKWIRE_FIXTURES_DIR;
    EXPECT_EQ(lines.size(), f.lines) << f.name;
    BinanceParser p;
    for (const auto& line : lines) {
      auto m = parse(p, line);
      ASSERT_EQ(m.event, f.kind) << f.name << ": " << p.error() << " in " << line;
    }
  }
}

TEST(BinanceParser, ParsesTheRealCombinedStreamCapture) {
  auto lines = fixture_lines("combined_stream.cryptofeed2021.json");
  if (lines.empty()) GTEST_SKIP() << "fixture binance/combined_stream.cryptofeed2021.json not found";
  BinanceParser p;
  std::size_t deltas = 0, quotes = 0, aggs = 0, ignored = 0;
  for (const auto& line : lines) {
    auto m = parse(p, line);
    ASSERT_NE(m.event, EventKind::kError) << p.error() << " in " << line;
    deltas += m.event == EventKind::kBookDelta;
    quotes += m.event == EventKind::kQuote;
    aggs += m.event == EventKind::kAggTrade;
    ignored += m.event == EventKind::kIgnored;
  }
  EXPECT_EQ(deltas, 177u);
  EXPECT_EQ(quotes, 84u);
  EXPECT_EQ(aggs, 2u);
  EXPECT_EQ(ignored, 2u);  // the two klines
}

TEST(BinanceParser, ParsesTheRealSnapshotsAndControlFixtures) {
  auto lines = fixture_lines("depth_snapshot_rest.cryptofeed2021.json");
  if (lines.empty()) GTEST_SKIP() << "fixture binance/depth_snapshot_rest.cryptofeed2021.json not found";
  BinanceParser p;
  std::string body = lines.at(0);
  body.append(simdjson::SIMDJSON_PADDING, '\0');
  auto m = p.parse_depth_snapshot(body.data(), lines[0].size());
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(m.snapshot.last_update_id, 499869752u);
  EXPECT_EQ(m.snapshot.bids.size(), 609u);
  EXPECT_EQ(m.snapshot.asks.size(), 1000u);
  auto control = fixture_lines("control.docs.json");
  ASSERT_EQ(control.size(), 3u);
  // Line 1 is our own request (it has an id, but neither result nor error).
  EXPECT_EQ(parse(p, control[1]).event, EventKind::kControlReply);
  EXPECT_EQ(parse(p, control[2]).event, EventKind::kServerShutdown);
}

TEST(BinanceParser, RejectsMalformedInputNamingTheField) {
  BinanceParser p;
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"stream":"a@trade","data":{"e":"trade","E":1,"s":"A","t":1,"p":1.5,"q":"1","T":1,"m":true}})", "data.p"},
           {R"({"stream":"a@trade","data":{"e":"trade","E":1,"s":"A","t":1,"p":"1e5","q":"1","T":1,"m":true}})", "data.p"},
           {R"({"stream":"a@trade","data":{"e":"trade","E":1,"s":"A","t":-1,"p":"1","q":"1","T":1,"m":true}})", "data.t"},
           {R"({"stream":"a@trade","data":{"e":"trade","E":1,"s":"A","t":1,"p":"1","q":"1","T":1}})", "data.m"},
           {R"({"stream":"a@trade","data":{"e":"trade","E":1,"s":"","t":1,"p":"1","q":"1","T":1,"m":true}})", "data.s"},
           {R"({"stream":"a@trade","data":{"e":"trade","E":99999999999999999,"s":"A","t":1,"p":"1","q":"1","T":1,"m":true}})", "data.E"},
           {R"({"stream":"a@trade","data":[1,2]})", "data"},
           {R"({"stream":"a@trade","data":{"E":1}})", "data.e"},
           {R"([1,2,3])", "message"},
           {R"({"stream":"a@trade","data":{"e":"trade","E":1,)", "truncated"},
           {"not json at all", "message"},
           {"", "message"},
       }) {
    auto m = parse(p, c.text);
    EXPECT_EQ(m.kind, MessageKind::kError) << c.text;
    EXPECT_NE(std::string(p.error()).find(c.error), std::string::npos) << c.text << " -> " << p.error();
  }
}

TEST(BinanceParser, ParsesTheRealTradeFixtures) {
  for (const char* name : {"trade.docs.json", "trade.nautilus.json"}) {
    auto lines = fixture_lines(name);
    if (lines.empty()) GTEST_SKIP() << "fixture binance/" << name << " not found under " << TICKWIRE_FIXTURES_DIR;
    BinanceParser p;
    for (const auto& line : lines) {
      auto m = parse(p, line);
      ASSERT_EQ(m.kind, MessageKind::kTrade) << name << ": " << p.error();
      EXPECT_FALSE(m.trade.symbol.empty());
      EXPECT_GT(m.trade.trade_id, 0u);
      EXPECT_GT(m.trade.event_ns, 0u);
    }
  }
  BinanceParser p;
  auto lines = fixture_lines("trade.nautilus.json");
  auto m = parse(p, lines.at(0));
  EXPECT_EQ(m.trade.symbol, "ETHUSDT");
  EXPECT_EQ(m.trade.trade_id, 705291099u);
  EXPECT_EQ(middleware::to_string(m.trade.price), "4149.74000000");
  EXPECT_EQ(middleware::to_string(m.trade.size), "0.43870000");
  EXPECT_EQ(m.trade.aggressor, Side::kSell);
}

TEST(BinanceParser, TreatsTheRealControlFixturesAsNonTrades) {
  auto lines = fixture_lines("control.docs.json");
  if (lines.empty()) GTEST_SKIP() << "fixture binance/control.docs.json not found under " << TICKWIRE_FIXTURES_DIR;
  BinanceParser p;
  for (const auto& line : lines) EXPECT_NE(parse(p, line).kind, MessageKind::kTrade) << line;
}

}  // namespace
}  // namespace tickwire::connector::feeds
