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
  EXPECT_EQ(parse(p, R"({"stream":"x@bookTicker","data":{"e":"bookTicker","u":1}})").kind, MessageKind::kIgnored);
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
