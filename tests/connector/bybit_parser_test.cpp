// The Bybit v5 parser: every file of shared/fixtures/exchanges/bybit (the
// hftbacktest ones are real recordings), and hand-written messages in the
// shapes of Bybit's v5 public websocket documentation (Ticker, All
// Liquidation: no fixture file has them), values changed where a test needs.
#include "tickwire/connector/venues/bybit/parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tickwire::connector::venues {
namespace {

ParsedMessage parse(BybitParser& p, std::string_view text) {
  static std::string buffer;
  buffer.assign(text);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  return p.parse(buffer.data(), text.size());
}

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "bybit" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// all_events: the first event and every next() one.
std::vector<ParsedMessage> all_events(BybitParser& p, std::string_view text) {
  std::vector<ParsedMessage> out;
  ParsedMessage m = parse(p, text);
  out.push_back(m);
  if (m.event == EventKind::kError) return out;
  while (p.next(m)) out.push_back(m);
  return out;
}

const std::vector<std::string> kSymbols = {"BTCUSDT", "ETHUSDT"};

TEST(BybitParser, ParsesTheRealHftbacktestTradeWithItsSeqAsTheId) {
  auto lines = fixture_lines("publicTrade.hftbacktest.json");
  if (lines.empty()) GTEST_SKIP() << "fixture bybit/publicTrade.hftbacktest.json not found under " << TICKWIRE_FIXTURES_DIR;
  BybitParser p(BybitCategory::kLinear, kSymbols);
  auto events = all_events(p, lines[0]);
  ASSERT_EQ(events.size(), 1u);
  const ParsedMessage& m = events[0];
  ASSERT_EQ(m.event, EventKind::kTrade) << p.error();
  EXPECT_EQ(m.stream_symbol, "BTCUSDT");
  EXPECT_EQ(m.trade.symbol, "BTCUSDT");
  EXPECT_EQ(m.trade.trade_id, 457514743450u);
  EXPECT_EQ(m.trade.id_text, "2a74ac78-691c-5b54-9dbe-5aafe8364627");  // journaled as tradeIdText
  EXPECT_EQ(m.trade.price, (Decimal{10937890, -2}));
  EXPECT_EQ(m.trade.size, (Decimal{20, -3}));
  EXPECT_EQ(m.trade.aggressor, Side::kBuy);
  EXPECT_EQ(m.trade.trade_ns, 1758841135823000000u);
  EXPECT_EQ(m.trade.event_ns, 1758841135824000000u);
}

TEST(BybitParser, ParsesTheRealHftbacktestBooksWhateverTheirKeyOrder) {
  auto lines = fixture_lines("orderbook.hftbacktest.json");
  if (lines.empty()) GTEST_SKIP() << "fixture bybit/orderbook.hftbacktest.json not found";
  BybitParser p(BybitCategory::kLinear, kSymbols);
  auto snap = parse(p, lines[0]);
  ASSERT_EQ(snap.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(snap.snapshot.symbol, "BTCUSDT");
  EXPECT_EQ(snap.snapshot.last_update_id, 14869255u);
  EXPECT_EQ(snap.snapshot.cross_sequence, 457514742271u);
  ASSERT_EQ(snap.snapshot.bids.size(), 1u);
  EXPECT_EQ(snap.snapshot.bids[0].price, (Decimal{10937880, -2}));
  EXPECT_EQ(snap.snapshot.asks[0].size, (Decimal{6278, -3}));
  EXPECT_EQ(snap.snapshot.event_ns, 1758841134603000000u);
  EXPECT_TRUE(snap.snapshot.image) << "orderbook.1 is snapshots only: each a routine image";
  auto delta = parse(p, lines[1]);
  ASSERT_EQ(delta.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(delta.delta.first_update_id, 21111423u);
  EXPECT_EQ(delta.delta.last_update_id, 21111423u);
  EXPECT_FALSE(delta.delta.restart);
  EXPECT_EQ(delta.delta.cross_sequence, 457538796406u);
  ASSERT_EQ(delta.delta.asks.size(), 5u);
  EXPECT_EQ(delta.delta.asks[0].size, (Decimal{0, 0})) << "size 0 deletes the level";
  EXPECT_EQ(delta.delta.bids.size(), 2u);
}

TEST(BybitParser, SpotAndLinearKeyOrdersGiveTheSameEvent) {
  // Spot (and linear level 1) put "ts" before "type"; linear deeper books after it; data keys in any order.
  BybitParser p(BybitCategory::kSpot, kSymbols);
  const char* orders[] = {
      R"({"topic":"orderbook.50.BTCUSDT","ts":1,"type":"delta","data":{"s":"BTCUSDT","b":[["1.5","2"]],"a":[],"u":7,"seq":9}})",
      R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1.5","2"]],"a":[],"u":7,"seq":9},"cts":1})",
      R"({"data":{"seq":9,"u":7,"a":[],"b":[["1.5","2"]],"s":"BTCUSDT"},"ts":1,"type":"delta","topic":"orderbook.50.BTCUSDT"})",
  };
  for (const char* text : orders) {
    auto m = parse(p, text);
    ASSERT_EQ(m.event, EventKind::kBookDelta) << text << ": " << p.error();
    EXPECT_EQ(m.delta.symbol, "BTCUSDT");
    EXPECT_EQ(m.delta.last_update_id, 7u);
    EXPECT_EQ(m.delta.cross_sequence, 9u);
    ASSERT_EQ(m.delta.bids.size(), 1u);
    EXPECT_EQ(m.delta.bids[0].price, (Decimal{15, -1}));
  }
}

TEST(BybitParser, ParsesEveryFixtureFileLineIntoTheKindItHolds) {
  struct Expect {
    const char* file;
    EventKind event;
  };
  const Expect files[] = {
      {"orderbook_delta.docs.json", EventKind::kBookDelta},
      {"orderbook_delta.nautilus.json", EventKind::kBookDelta},
      {"orderbook_snapshot.nautilus.json", EventKind::kBookSnapshot},
      {"publicTrade.docs.json", EventKind::kTrade},
      {"publicTrade.hftbacktest.json", EventKind::kTrade},
      {"orderbook.hftbacktest.json", EventKind::kBookSnapshot},  // line 1; line 2 a delta (above)
      {"subscription_ack.nautilus.json", EventKind::kControlReply},
  };
  for (const Expect& f : files) {
    auto lines = fixture_lines(f.file);
    if (lines.empty()) GTEST_SKIP() << "fixture bybit/" << f.file << " not found under " << TICKWIRE_FIXTURES_DIR;
    BybitParser p(BybitCategory::kLinear, kSymbols);
    auto m = parse(p, lines[0]);
    EXPECT_EQ(m.event, f.event) << f.file << ": " << p.error();
  }
}

TEST(BybitParser, TheNautilusTradeWithItsMadeUpTopicStillParsesItsData) {
  // "trade.linear.BTCUSDT" is not a v5 topic (SOURCES.md): a channel we do not handle.
  auto lines = fixture_lines("publicTrade.nautilus.json");
  if (lines.empty()) GTEST_SKIP() << "fixture bybit/publicTrade.nautilus.json not found";
  BybitParser p(BybitCategory::kLinear, kSymbols);
  EXPECT_EQ(parse(p, lines[0]).event, EventKind::kIgnored) << p.error();
}

TEST(BybitParser, ClassifiesEveryControlFixtureLine) {
  auto lines = fixture_lines("control.docs.json");
  if (lines.empty()) GTEST_SKIP() << "fixture bybit/control.docs.json not found";
  BybitParser p(BybitCategory::kSpot, kSymbols);
  for (const std::string& line : lines) {
    auto m = parse(p, line);
    EXPECT_EQ(m.event, EventKind::kControlReply) << line << ": " << p.error();
    EXPECT_EQ(m.kind, MessageKind::kControl);
  }
  auto ack = parse(p, lines[6]);  // {"success":true,"ret_msg":"subscribe",..,"req_id":"10001","op":"subscribe"}
  EXPECT_TRUE(ack.control.has_id);
  EXPECT_EQ(ack.control.id, 10001u);
}

TEST(BybitParser, AnErrorAckBecomesAnErrorReplyWithItsMessage) {
  BybitParser p(BybitCategory::kLinear, kSymbols);
  auto m = parse(p, R"({"success":false,"ret_msg":"Invalid symbol :[orderbook.50.XYZ]","conn_id":"c1",)"
                    R"("req_id":"7","op":"subscribe"})");
  ASSERT_EQ(m.event, EventKind::kErrorReply) << p.error();
  EXPECT_TRUE(m.error_reply.has_id);
  EXPECT_EQ(m.error_reply.id, 7u);
  EXPECT_EQ(m.error_reply.message, "Invalid symbol :[orderbook.50.XYZ]");
}

TEST(BybitParser, HandsOutEveryTradeOfABatchInOrderAndSharedSeqsStay) {
  BybitParser p(BybitCategory::kSpot, kSymbols);
  std::string text = R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1000,"data":[)";
  for (int i = 0; i < 1024; ++i) {
    if (i > 0) text += ',';
    text += R"({"i":"id)" + std::to_string(i) + R"(","T":999,"p":")" + std::to_string(100 + i) +
            R"(","v":"1","S":")" + (i % 2 ? "Sell" : "Buy") + R"(","s":"BTCUSDT","BT":false,"seq":)" +
            std::to_string(500 + i / 2) + "}";
  }
  text += "]}";
  auto events = all_events(p, text);
  ASSERT_EQ(events.size(), 1024u) << p.error();
  for (int i = 0; i < 1024; ++i) {
    ASSERT_EQ(events[i].event, EventKind::kTrade);
    EXPECT_EQ(events[i].trade.price, (Decimal{100 + i, 0}));
    EXPECT_EQ(events[i].trade.trade_id, static_cast<std::uint64_t>(500 + i / 2));
    EXPECT_EQ(events[i].trade.aggressor, i % 2 ? Side::kSell : Side::kBuy);
  }
}

TEST(BybitParser, ABadTradeInABatchRejectsTheWholeFrame) {
  BybitParser p(BybitCategory::kSpot, kSymbols);
  auto events = all_events(p, R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[)"
                              R"({"i":"a","T":1,"p":"1","v":"1","S":"Buy","s":"BTCUSDT","seq":1},)"
                              R"({"i":"b","T":1,"p":"1","v":"1","S":"Up","s":"BTCUSDT","seq":2}]})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, EventKind::kError);
  EXPECT_EQ(p.error(), "data[1]: S: expected \"Buy\" or \"Sell\"");
  ParsedMessage m;
  EXPECT_FALSE(p.next(m)) << "no trade of a rejected frame is handed out";
}

TEST(BybitParser, ADeltaWithUpdateIdOneIsARestart) {
  BybitParser p(BybitCategory::kLinear, kSymbols);
  auto m = parse(p, R"({"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT",)"
                    R"("b":[["10","1"]],"a":[["11","1"]],"u":1,"seq":5},"cts":1})");
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_TRUE(m.delta.restart);
}

TEST(BybitParser, RejectsBooksWithClearReasons) {
  BybitParser p(BybitCategory::kLinear, kSymbols);
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[]}})",
       "data.u: missing or zero update id"},
      {R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1","x"]],"a":[],"u":2}})",
       "data.b[0]: size: not an exact decimal"},
      {R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[["1","-1"]],"u":2}})",
       "data.a[0]: size: negative"},
      {R"({"topic":"orderbook.7.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":2}})",
       "topic: orderbook depth is not 1, 50, 200, 1000 or full"},
      {R"({"topic":"orderbook.50.BTCUSDT","type":"partial","ts":1,"data":{}})",
       "type: expected \"snapshot\" or \"delta\""},
      {R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":2}} {})",
       "message: trailing content after the JSON document"},
      {R"({"topic":"orderbook.50.BTCUSDT","type":"delta")", "message: truncated JSON (unclosed object or array)"},
  };
  for (const Case& c : cases) {
    auto m = parse(p, c.text);
    EXPECT_EQ(m.event, EventKind::kError) << c.text;
    EXPECT_EQ(p.error(), c.error) << c.text;
  }
}

constexpr std::string_view kTickerSnapshot =
    R"({"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":"PlusTick",)"
    R"("price24hPcnt":"0.017103","lastPrice":"17216.00","prevPrice24h":"16926.50","highPrice24h":"17281.50",)"
    R"("lowPrice24h":"16915.00","prevPrice1h":"17238.00","markPrice":"17217.33","indexPrice":"17227.36",)"
    R"("openInterest":"68744.761","openInterestValue":"1183601235.91","turnover24h":"1570383121.943499",)"
    R"("volume24h":"91705.276","nextFundingTime":"1673280000000","fundingRate":"-0.000212",)"
    R"("bid1Price":"17215.50","bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"},)"
    R"("cs":24987956059,"ts":1673272861686})";

TEST(BybitParser, ALinearTickerSnapshotPublishesQuoteFundingAndOpenInterest) {
  BybitParser p(BybitCategory::kLinear, kSymbols);
  auto events = all_events(p, kTickerSnapshot);
  ASSERT_EQ(events.size(), 3u) << p.error();
  ASSERT_EQ(events[0].event, EventKind::kQuote);
  EXPECT_EQ(events[0].quote.symbol, "BTCUSDT");
  EXPECT_EQ(events[0].quote.update_id, 24987956059u) << "the cross sequence cs";
  EXPECT_EQ(events[0].quote.bid_price, (Decimal{1721550, -2}));
  EXPECT_EQ(events[0].quote.ask_size, (Decimal{83020, -3}));
  ASSERT_EQ(events[1].event, EventKind::kFunding);
  EXPECT_EQ(events[1].funding.mark_price, (Decimal{1721733, -2}));
  EXPECT_EQ(events[1].funding.funding_rate, (Decimal{-212, -6}));
  EXPECT_EQ(events[1].funding.next_funding_ns, 1673280000000000000u);
  ASSERT_EQ(events[2].event, EventKind::kOpenInterest);
  EXPECT_EQ(events[2].open_interest.open_interest, (Decimal{68744761, -3}));
  EXPECT_EQ(events[2].open_interest.event_ns, 1673272861686000000u);
}

TEST(BybitParser, ALinearTickerDeltaMergesMissingFieldsAsUnchanged) {
  BybitParser p(BybitCategory::kLinear, kSymbols);
  ASSERT_EQ(all_events(p, kTickerSnapshot).size(), 3u);
  // Only the bid moved: one whole quote, the ask as before; no funding, no open interest.
  auto events = all_events(p, R"({"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT",)"
                              R"("bid1Price":"17215.00","bid1Size":"1.5","lastPrice":"17216.00"},"cs":1,"ts":1673272861786})");
  ASSERT_EQ(events.size(), 1u) << p.error();
  ASSERT_EQ(events[0].event, EventKind::kQuote);
  EXPECT_EQ(events[0].quote.bid_price, (Decimal{1721500, -2}));
  EXPECT_EQ(events[0].quote.bid_size, (Decimal{15, -1}));
  EXPECT_EQ(events[0].quote.ask_price, (Decimal{1721600, -2}));
  EXPECT_EQ(events[0].quote.ask_size, (Decimal{83020, -3}));
  // Only the funding rate moved: a whole funding record with the old mark and index.
  events = all_events(p, R"({"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT",)"
                         R"("fundingRate":"0.0001"},"cs":2,"ts":1673272861886})");
  ASSERT_EQ(events.size(), 1u) << p.error();
  ASSERT_EQ(events[0].event, EventKind::kFunding);
  EXPECT_EQ(events[0].funding.funding_rate, (Decimal{1, -4}));
  EXPECT_EQ(events[0].funding.mark_price, (Decimal{1721733, -2}));
  EXPECT_EQ(events[0].funding.index_price, (Decimal{1722736, -2}));
  // Nothing published moved: nothing to publish.
  events = all_events(p, R"({"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT",)"
                         R"("lastPrice":"17217.00"},"cs":3,"ts":1673272861986})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, EventKind::kIgnored);
}

TEST(BybitParser, ATickerDeltaBeforeItsSnapshotIsRejectedAndABadOneMergesNothing) {
  BybitParser p(BybitCategory::kLinear, kSymbols);
  auto m = parse(p, R"({"topic":"tickers.ETHUSDT","type":"delta","data":{"symbol":"ETHUSDT","bid1Price":"1"},"ts":1})");
  EXPECT_EQ(m.event, EventKind::kError);
  EXPECT_EQ(p.error(), "tickers: a delta before the symbol's snapshot");
  ASSERT_EQ(all_events(p, kTickerSnapshot).size(), 3u);
  m = parse(p, R"({"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":"9",)"
               R"("ask1Price":"x"},"ts":2})");
  EXPECT_EQ(m.event, EventKind::kError);
  EXPECT_EQ(p.error(), "data.ask1Price: expected an exact decimal string");
  auto events = all_events(p, R"({"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT",)"
                              R"("ask1Size":"2"},"ts":3})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].quote.bid_price, (Decimal{1721550, -2})) << "the rejected delta's bid was not merged";
}

TEST(BybitParser, SpotTickersAreDayStatisticsAndPublishNothing) {
  BybitParser p(BybitCategory::kSpot, kSymbols);
  auto m = parse(p, R"({"topic":"tickers.BTCUSDT","ts":1673853746003,"type":"snapshot","cs":2588407389,)"
                    R"("data":{"symbol":"BTCUSDT","lastPrice":"21109.77","highPrice24h":"21426.99",)"
                    R"("lowPrice24h":"20575","prevPrice24h":"20704.93","volume24h":"6780.866843",)"
                    R"("turnover24h":"141946527.22907118","price24hPcnt":"0.0196","usdIndexPrice":"21120.2400136"}})");
  EXPECT_EQ(m.event, EventKind::kIgnored) << p.error();
}

TEST(BybitParser, AllLiquidationGivesOneLiquidationPerEntryOnTheOrdersSide) {
  BybitParser p(BybitCategory::kLinear, kSymbols);
  auto events = all_events(p, R"({"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1739502303204,)"
                              R"("data":[{"T":1739502302929,"s":"BTCUSDT","S":"Buy","v":"0.5","p":"95000.1"},)"
                              R"({"s":"BTCUSDT","S":"Sell","v":"1","p":"95100","T":1739502302930}]})");
  ASSERT_EQ(events.size(), 2u) << p.error();
  ASSERT_EQ(events[0].event, EventKind::kLiquidation);
  EXPECT_EQ(events[0].liquidation.side, Side::kSell) << "a Buy position (long) is liquidated by a sell";
  EXPECT_EQ(events[0].liquidation.price, (Decimal{950001, -1}));
  EXPECT_EQ(events[0].liquidation.size, (Decimal{5, -1}));
  EXPECT_EQ(events[0].liquidation.trade_ns, 1739502302929000000u);
  EXPECT_EQ(events[1].liquidation.side, Side::kBuy);
  EXPECT_EQ(events[1].liquidation.trade_ns, 1739502302930000000u);
}

// padded: a body with simdjson's padding after it.
std::string padded(std::string_view body) { return std::string(body) + std::string(simdjson::SIMDJSON_PADDING, ' '); }

TEST(BybitParser, ReadsTheFullOrderbookRestSnapshotWithItsUpdateIdAndCrossSequence) {
  // GET /v5/market/full_orderbook (the fields of Bybit's "Get Full Depth
  // Orderbook" page; key order as its table, then reversed).
  BybitParser p(BybitCategory::kSpot, kSymbols);
  for (const std::string_view body : {
           std::string_view(R"({"retCode":0,"retMsg":"OK","result":{"s":"BTCUSDT","b":[["62710.2","5.52"],)"
                            R"(["62710.1","0.1"]],"a":[["62710.3","0.01"]],"ts":1709199771584,"u":243781,)"
                            R"("seq":3887177875,"cts":1709199771580},"retExtInfo":{},"time":1709199771643})"),
           std::string_view(R"({"time":1709199771643,"retExtInfo":{},"result":{"cts":1709199771580,)"
                            R"("seq":3887177875,"u":243781,"ts":1709199771584,"a":[["62710.3","0.01"]],)"
                            R"("b":[["62710.2","5.52"],["62710.1","0.1"]],"s":"BTCUSDT"},"retMsg":"OK","retCode":0})"),
       }) {
    const std::string text = padded(body);
    const ParsedMessage m = p.parse_snapshot(text.data(), body.size());
    ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
    EXPECT_EQ(m.snapshot.symbol, "BTCUSDT");
    EXPECT_EQ(m.snapshot.last_update_id, 243781u);
    EXPECT_EQ(m.snapshot.cross_sequence, 3887177875u);
    EXPECT_EQ(m.snapshot.event_ns, 0u) << "a REST book has no event time";
    ASSERT_EQ(m.snapshot.bids.size(), 2u);
    EXPECT_EQ(m.snapshot.bids[0].price, (Decimal{627102, -1}));
    EXPECT_EQ(m.snapshot.bids[1].size, (Decimal{1, -1}));
    ASSERT_EQ(m.snapshot.asks.size(), 1u);
    EXPECT_EQ(m.snapshot.asks[0].size, (Decimal{1, -2}));
  }
  // A delisted symbol: an empty book, still at its u.
  const std::string empty = R"({"retCode":0,"retMsg":"OK","result":{"s":"BTCUSDT","b":[],"a":[],"u":1,"seq":0}})";
  const std::string text = padded(empty);
  const ParsedMessage m = p.parse_snapshot(text.data(), empty.size());
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_TRUE(m.snapshot.bids.empty());
  EXPECT_EQ(m.snapshot.last_update_id, 1u);
}

TEST(BybitParser, ARestSnapshotThatIsAnErrorOrMalformedSaysWhat) {
  BybitParser p(BybitCategory::kSpot, kSymbols);
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"{}", "snapshot retCode: expected an integer"},
      {R"({"retCode":10001,"retMsg":"params error","result":{}})", "snapshot: the exchange answered an error retCode"},
      {R"({"retCode":0,"retMsg":"OK"})", "snapshot result: expected an object"},
      {R"({"retCode":0,"result":{"s":"BTCUSDT","b":[],"a":[]}})", "result.u: missing or zero update id"},
      {R"({"retCode":0,"result":{"s":"BTCUSDT","b":[["x","1"]],"a":[],"u":5}})", "result.b"},
      {R"({"retCode":0,"result":{"b":[],"a":[],"u":5}})", "result.s: missing or empty symbol"},
      {R"({"retCode":0,"result":{"s":"BTCUSDT","b":[],"a":[],"u":5}} {})", ""},
  };
  for (const auto& [body, why] : cases) {
    const std::string text = padded(body);
    EXPECT_EQ(p.parse_snapshot(text.data(), body.size()).event, EventKind::kError) << body;
    EXPECT_NE(p.error().find(why), std::string_view::npos) << body << ": " << p.error();
    EXPECT_FALSE(p.error().empty()) << body;
  }
}

TEST(BybitParser, TheFullOrderbookTopicIsADeltaLikeAnyDepth) {
  BybitParser p(BybitCategory::kSpot, kSymbols);
  const std::string body = R"({"topic":"orderbook.full.BTCUSDT","type":"delta","ts":1709199771584,)"
                           R"("data":{"s":"BTCUSDT","b":[["62710.2","0"]],"a":[],"u":243782,"seq":3887177876},)"
                           R"("cts":1709199771580})";
  const std::string text = padded(body);
  const ParsedMessage m = p.parse(text.data(), body.size());
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.delta.last_update_id, 243782u);
  EXPECT_FALSE(m.delta.restart);
  ASSERT_EQ(m.delta.bids.size(), 1u);
  EXPECT_EQ(m.delta.bids[0].size, (Decimal{0, 0}));
}

}  // namespace
}  // namespace tickwire::connector::venues
