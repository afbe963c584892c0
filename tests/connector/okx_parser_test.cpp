// The OKX v5 parser: every file of shared/fixtures/exchanges/okx (trades.json,
// tickers.json, control.json are real 2022 recordings; trades.ccxt2026.json
// real 2026 trades; *.docs.json OKX's documentation examples), the checksum
// recipe against the vectors of SOURCES.md, and hand-written messages in the
// shapes of OKX's v5 public websocket documentation (funding-rate,
// mark-price, open-interest, liquidation-orders: no fixture file has them).
#include "tickwire/connector/venues/okx/parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tickwire::connector::venues {
namespace {

ParsedMessage parse(OkxParser& p, std::string_view text) {
  static std::string buffer;
  buffer.assign(text);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  return p.parse(buffer.data(), text.size());
}

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "okx" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<ParsedMessage> all_events(OkxParser& p, std::string_view text) {
  std::vector<ParsedMessage> out;
  ParsedMessage m = parse(p, text);
  out.push_back(m);
  if (m.event == EventKind::kError) return out;
  while (p.next(m)) out.push_back(m);
  return out;
}

Decimal dec(std::string_view text) {
  Decimal d;
  EXPECT_EQ(middleware::parse_decimal(text, d), middleware::DecimalError::kOk) << text;
  return d;
}

PriceLevel level(std::string_view px, std::string_view sz) { return {dec(px), dec(sz)}; }

const std::vector<std::string> kSymbols = {"BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-SWAP", "BTC-USD-220527"};

#define REQUIRE_FIXTURE(lines, name) \
  if ((lines).empty()) GTEST_SKIP() << "fixture okx/" name " not found under " << TICKWIRE_FIXTURES_DIR

TEST(OkxChecksum, MatchesTheVectorsOfSourcesMd) {
  // "3366.1:7:3366.8:9:3366:6:3368:8" -> -1881014294; "...:3368:8:3372:8" -> 831078360.
  EXPECT_EQ(static_cast<std::int32_t>(crc32_ieee("3366.1:7:3366.8:9:3366:6:3368:8")), -1881014294);
  EXPECT_EQ(static_cast<std::int32_t>(crc32_ieee("3366.1:7:3366.8:9:3368:8:3372:8")), 831078360);
  // The same strings from levels: bids 3366.1 x 7, 3366 x 6; asks 3366.8 x 9, 3368 x 8.
  const std::vector<PriceLevel> bids = {level("3366.1", "7"), level("3366", "6")};
  const std::vector<PriceLevel> asks = {level("3366.8", "9"), level("3368", "8")};
  EXPECT_EQ(okx_checksum(bids, asks), -1881014294);
  // When the bids run out, the asks' remaining levels follow.
  const std::vector<PriceLevel> one_bid = {level("3366.1", "7")};
  const std::vector<PriceLevel> three_asks = {level("3366.8", "9"), level("3368", "8"), level("3372", "8")};
  EXPECT_EQ(okx_checksum(one_bid, three_asks), 831078360);
  // Only the top `levels` of each side count.
  std::vector<PriceLevel> deep_bids = bids;
  deep_bids.push_back(level("3300", "1"));
  EXPECT_EQ(okx_checksum(deep_bids, asks, 2), -1881014294);
  EXPECT_NE(okx_checksum(deep_bids, asks, 3), -1881014294);
}

TEST(OkxChecksum, KeepsTheExchangesTextTrailingZerosIncluded) {
  // "8477.0" and "8477" are one price but two texts: the checksum is of the text.
  const std::vector<PriceLevel> a = {level("8477.0", "1")};
  const std::vector<PriceLevel> b = {level("8477", "1")};
  EXPECT_EQ(okx_checksum(a, {}), static_cast<std::int32_t>(crc32_ieee("8477.0:1")));
  EXPECT_NE(okx_checksum(a, {}), okx_checksum(b, {}));
}

TEST(OkxParser, ParsesEveryRealTradeOf2022AsAnAggregateOfItsTakerOrder) {
  auto lines = fixture_lines("trades.json");
  REQUIRE_FIXTURE(lines, "trades.json");
  OkxParser p(kSymbols);
  std::size_t n = 0;
  for (const auto& line : lines) {
    auto events = all_events(p, line);
    ASSERT_EQ(events.size(), 1u) << line;
    const ParsedMessage& m = events[0];
    ASSERT_EQ(m.event, EventKind::kAggTrade) << p.error() << "\n" << line;
    EXPECT_TRUE(m.trade.aggregate);
    EXPECT_EQ(m.trade.symbol, m.stream_symbol);
    EXPECT_GT(m.trade.price.mantissa, 0);
    EXPECT_GT(m.trade.size.mantissa, 0);
    EXPECT_NE(m.trade.aggressor, Side::kUnknown);
    // 2022 frames have no "count": one fill each.
    EXPECT_EQ(m.trade.first_trade_id, m.trade.trade_id);
    EXPECT_EQ(m.trade.last_trade_id, m.trade.trade_id);
    ++n;
  }
  EXPECT_EQ(n, lines.size());
  const ParsedMessage first = parse(p, lines[0]);
  EXPECT_EQ(first.trade.symbol, "BTC-USD-220527");
  EXPECT_EQ(first.trade.trade_id, 7849u);
  EXPECT_EQ(first.trade.price, (Decimal{302188, -1}));
  EXPECT_EQ(first.trade.size, (Decimal{1, 0}));
  EXPECT_EQ(first.trade.aggressor, Side::kBuy);
  EXPECT_EQ(first.trade.trade_ns, 1652459199958000000u);
}

TEST(OkxParser, ReadsCountAsTheFillsBeforeTheLastTradeIdIn2026Trades) {
  auto lines = fixture_lines("trades.ccxt2026.json");
  REQUIRE_FIXTURE(lines, "trades.ccxt2026.json");
  OkxParser p(kSymbols);
  ParsedMessage m = parse(p, lines[1]);
  ASSERT_EQ(m.event, EventKind::kAggTrade) << p.error();
  EXPECT_EQ(m.trade.symbol, "BTC-USDT-SWAP");
  EXPECT_EQ(m.trade.trade_id, 2832749645u);
  EXPECT_EQ(m.trade.last_trade_id, 2832749645u);
  EXPECT_EQ(m.trade.first_trade_id, 2832749636u);  // count 10
  EXPECT_EQ(m.trade.size, (Decimal{3495, -2}));
  EXPECT_EQ(m.trade.aggressor, Side::kSell);
  m = parse(p, lines[0]);
  ASSERT_EQ(m.event, EventKind::kAggTrade) << p.error();
  EXPECT_EQ(m.trade.first_trade_id, m.trade.last_trade_id);
  auto docs = fixture_lines("trades.docs.json");
  REQUIRE_FIXTURE(docs, "trades.docs.json");
  m = parse(p, docs[0]);
  ASSERT_EQ(m.event, EventKind::kAggTrade) << p.error();
  EXPECT_EQ(m.trade.trade_id, 130639474u);
  EXPECT_EQ(m.trade.first_trade_id, 130639472u);  // count 3
  EXPECT_EQ(m.trade.size, (Decimal{12060306, -8}));
}

TEST(OkxParser, TradesAllAreSingleFillsAndABatchIsHandedOutByNext) {
  OkxParser p(kSymbols);
  const std::string batch =
      R"({"arg":{"channel":"trades-all","instId":"BTC-USDT"},"data":[)"
      R"({"instId":"BTC-USDT","tradeId":"10","px":"42219.9","sz":"0.1","side":"buy","source":"0","ts":"1630048897897"},)"
      R"({"instId":"BTC-USDT","tradeId":"11","px":"42220.0","sz":"0.2","side":"sell","source":"0","ts":"1630048897898"}]})";
  auto events = all_events(p, batch);
  ASSERT_EQ(events.size(), 2u) << p.error();
  EXPECT_EQ(events[0].event, EventKind::kTrade);
  EXPECT_FALSE(events[0].trade.aggregate);
  EXPECT_EQ(events[0].trade.trade_id, 10u);
  EXPECT_EQ(events[1].trade.trade_id, 11u);
  EXPECT_EQ(events[1].trade.price, (Decimal{422200, -1}));  // the trailing zero kept
  EXPECT_EQ(events[1].trade.aggressor, Side::kSell);
}

TEST(OkxParser, RejectsATradeBatchWithOneBadTradeWhole) {
  OkxParser p(kSymbols);
  const std::string bad =
      R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[)"
      R"({"instId":"BTC-USDT","tradeId":"10","px":"1","sz":"1","side":"buy","ts":"1"},)"
      R"({"instId":"BTC-USDT","tradeId":"11","px":"1e3","sz":"1","side":"buy","ts":"1"}]})";
  ParsedMessage m = parse(p, bad);
  EXPECT_EQ(m.event, EventKind::kError);
  EXPECT_EQ(p.error(), "data[1]: px: not an exact decimal");
  EXPECT_FALSE(p.next(m));
  const std::string count_too_big =
      R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[)"
      R"({"instId":"BTC-USDT","tradeId":"3","px":"1","sz":"1","side":"buy","ts":"1","count":"4"}]})";
  EXPECT_EQ(parse(p, count_too_big).event, EventKind::kError);
  const std::string side = R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[)"
                           R"({"instId":"BTC-USDT","tradeId":"3","px":"1","sz":"1","side":"Buy","ts":"1"}]})";
  EXPECT_EQ(parse(p, side).event, EventKind::kError);
  EXPECT_EQ(p.error(), "data[0]: side: expected \"buy\" or \"sell\"");
}

TEST(OkxParser, ParsesTheDocsBooksSnapshotAndItsChainedUpdate) {
  auto lines = fixture_lines("books.docs.json");
  REQUIRE_FIXTURE(lines, "books.docs.json");
  OkxParser p(kSymbols);
  ParsedMessage m = parse(p, lines[0]);
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(m.snapshot.symbol, "BTC-USDT");
  EXPECT_EQ(m.snapshot.last_update_id, 123456u);
  ASSERT_EQ(m.snapshot.bids.size(), 8u);
  ASSERT_EQ(m.snapshot.asks.size(), 8u);
  EXPECT_EQ(m.snapshot.bids[0], level("8476.97", "256"));
  EXPECT_EQ(m.snapshot.asks[1], level("8477", "7"));
  EXPECT_EQ(m.snapshot.event_ns, 1597026383085000000u);
  EXPECT_FALSE(m.snapshot.has_checksum) << "checksum 0: not computed, not a failure";
  EXPECT_FALSE(m.snapshot.image);
  m = parse(p, lines[1]);
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.delta.symbol, "BTC-USDT");
  EXPECT_TRUE(m.delta.has_prev);
  EXPECT_EQ(m.delta.prev_update_id, 123456u);
  EXPECT_EQ(m.delta.first_update_id, 123457u);
  EXPECT_EQ(m.delta.last_update_id, 123457u);
  EXPECT_EQ(m.delta.bids.size(), 8u);
  EXPECT_FALSE(m.delta.has_checksum);
}

TEST(OkxParser, KeepsANonZeroChecksumAsItsSignedBitsAndMarksKeepalivesAndResets) {
  OkxParser p(kSymbols);
  const std::string update =
      R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["3366.8","9","0","1"]],)"
      R"("bids":[],"ts":"1","checksum":-1881014294,"prevSeqId":10,"seqId":17}]})";
  ParsedMessage m = parse(p, update);
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_TRUE(m.delta.has_checksum);
  EXPECT_EQ(static_cast<std::int32_t>(m.delta.checksum), -1881014294);
  EXPECT_EQ(m.delta.first_update_id, 11u);
  EXPECT_EQ(m.delta.last_update_id, 17u);
  // Idle: an empty update with prevSeqId == seqId.
  const std::string keepalive = R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{)"
                                R"("asks":[],"bids":[],"ts":"2","checksum":0,"prevSeqId":17,"seqId":17}]})";
  m = parse(p, keepalive);
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.delta.prev_update_id, 17u);
  EXPECT_EQ(m.delta.first_update_id, 17u);
  EXPECT_EQ(m.delta.last_update_id, 17u);
  // Maintenance: seqId goes back below prevSeqId.
  const std::string reset = R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{)"
                            R"("asks":[],"bids":[["3366","1","0","1"]],"ts":"3","checksum":0,"prevSeqId":17,"seqId":3}]})";
  m = parse(p, reset);
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.delta.prev_update_id, 17u);
  EXPECT_EQ(m.delta.first_update_id, 3u);
  EXPECT_EQ(m.delta.last_update_id, 3u);
  // An update without a usable prevSeqId cannot be chained.
  const std::string unchained = R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{)"
                                R"("asks":[],"bids":[],"ts":"3","checksum":0,"prevSeqId":-1,"seqId":3}]})";
  EXPECT_EQ(parse(p, unchained).event, EventKind::kError);
  const std::string huge = R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{)"
                           R"("asks":[],"bids":[],"ts":"3","checksum":4294967296,"prevSeqId":1,"seqId":3}]})";
  EXPECT_EQ(parse(p, huge).event, EventKind::kError);
}

TEST(OkxParser, ReadsBooksWhoseDataComesBeforeTheirAction) {
  OkxParser p(kSymbols);
  const std::string late_action =
      R"({"arg":{"channel":"books","instId":"BTC-USDT"},"data":[{"asks":[["2","1","0","1"]],"bids":[["1","1","0","1"]],)"
      R"("ts":"5","checksum":0,"prevSeqId":-1,"seqId":9}],"action":"snapshot"})";
  ParsedMessage m = parse(p, late_action);
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(m.snapshot.last_update_id, 9u);
  EXPECT_EQ(m.snapshot.bids[0], level("1", "1"));
}

TEST(OkxParser, TakesBooks5AsAnImageAndBboTbtAsAQuote) {
  auto b5 = fixture_lines("books5.docs.json");
  auto bbo = fixture_lines("bbo-tbt.docs.json");
  REQUIRE_FIXTURE(b5, "books5.docs.json");
  REQUIRE_FIXTURE(bbo, "bbo-tbt.docs.json");
  OkxParser p(kSymbols);
  ParsedMessage m = parse(p, b5[0]);
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_TRUE(m.snapshot.image);
  EXPECT_EQ(m.snapshot.symbol, "BCH-USDT-SWAP");
  EXPECT_EQ(m.snapshot.last_update_id, 363996337u);
  EXPECT_EQ(m.snapshot.bids.size(), 5u);
  EXPECT_EQ(m.snapshot.asks[4], level("111.1", "67272"));
  m = parse(p, bbo[0]);
  ASSERT_EQ(m.event, EventKind::kQuote) << p.error();
  EXPECT_EQ(m.quote.symbol, "BCH-USDT-SWAP");
  EXPECT_EQ(m.quote.update_id, 363996337u);
  EXPECT_EQ(m.quote.bid_price, dec("111.05"));
  EXPECT_EQ(m.quote.bid_size, dec("57745"));
  EXPECT_EQ(m.quote.ask_price, dec("111.06"));
  EXPECT_EQ(m.quote.ask_size, dec("55154"));
  EXPECT_EQ(m.quote.event_ns, 1670324386802000000u);
}

TEST(OkxParser, ParsesEveryRealTickerAsAQuote) {
  auto lines = fixture_lines("tickers.json");
  REQUIRE_FIXTURE(lines, "tickers.json");
  OkxParser p(kSymbols);
  for (const auto& line : lines) {
    ParsedMessage m = parse(p, line);
    ASSERT_EQ(m.event, EventKind::kQuote) << p.error() << "\n" << line;
    EXPECT_EQ(m.quote.symbol, m.stream_symbol);
    EXPECT_GT(m.quote.bid_price.mantissa, 0);
    EXPECT_GT(m.quote.ask_price.mantissa, 0);
    EXPECT_EQ(m.quote.update_id * 1'000'000, m.quote.event_ns);
  }
  ParsedMessage m = parse(p, lines[2]);
  EXPECT_EQ(m.quote.symbol, "BTC-USDT");
  EXPECT_EQ(m.quote.ask_size, dec("1.55896972"));
  EXPECT_EQ(m.quote.bid_price, dec("30228.6"));
  EXPECT_EQ(m.quote.update_id, 1652459224956u);
}

TEST(OkxParser, TellsAcksErrorsNoticesAndPongApart) {
  auto docs = fixture_lines("control.docs.json");
  auto real = fixture_lines("control.json");
  REQUIRE_FIXTURE(docs, "control.docs.json");
  REQUIRE_FIXTURE(real, "control.json");
  OkxParser p(kSymbols);
  // Line 0 is our own request: not data, not a reply.
  EXPECT_EQ(parse(p, docs[0]).event, EventKind::kError);
  ParsedMessage m = parse(p, docs[1]);
  ASSERT_EQ(m.event, EventKind::kControlReply) << p.error();
  EXPECT_TRUE(m.control.has_id);
  EXPECT_EQ(m.control.id, 1512u);
  m = parse(p, docs[2]);
  ASSERT_EQ(m.event, EventKind::kErrorReply) << p.error();
  EXPECT_EQ(m.error_reply.code, 60012);
  EXPECT_EQ(m.error_reply.id, 1512u);
  EXPECT_NE(m.error_reply.message.find("BTC-USD-191227"), std::string_view::npos) << m.error_reply.message;
  for (const auto& line : real) {
    m = parse(p, line);
    EXPECT_EQ(m.event, EventKind::kControlReply) << p.error() << "\n" << line;
    EXPECT_FALSE(m.control.has_id);
  }
  m = parse(p, "pong");
  EXPECT_EQ(m.event, EventKind::kControlReply);
  m = parse(p, R"({"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade.","connId":"a4d3ae55"})");
  EXPECT_EQ(m.event, EventKind::kServerShutdown);
}

TEST(OkxParser, SubscribeRequestsOfTheRecorderAreNotData) {
  auto lines = fixture_lines("subscribe_requests.json");
  REQUIRE_FIXTURE(lines, "subscribe_requests.json");
  OkxParser p(kSymbols);
  for (const auto& line : lines) {
    EXPECT_EQ(parse(p, line).event, EventKind::kError) << line;
    EXPECT_EQ(p.error(), "message: neither data (arg, data) nor a reply (event)");
  }
}

TEST(OkxParser, MergesMarkPriceAndFundingRateIntoWholeFundingRecords) {
  OkxParser p(kSymbols);
  const std::string rate =
      R"({"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"formulaType":"noRate",)"
      R"("fundingRate":"0.0001875391284828","fundingTime":"1700726400000","instId":"BTC-USDT-SWAP","instType":"SWAP",)"
      R"("method":"current_period","nextFundingRate":"","nextFundingTime":"1700755200000","premium":"0.00012",)"
      R"("settFundingRate":"0.00017","settState":"settled","ts":"1700724675402"}]})";
  const std::string mark = R"({"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP",)"
                           R"("instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1700724676000"}]})";
  // The mark alone is half a record: nothing yet; the rate completes it.
  ParsedMessage m = parse(p, mark);
  EXPECT_EQ(m.event, EventKind::kIgnored) << p.error();
  m = parse(p, rate);
  ASSERT_EQ(m.event, EventKind::kFunding) << p.error();
  EXPECT_EQ(m.funding.symbol, "BTC-USDT-SWAP");
  EXPECT_EQ(m.funding.mark_price, dec("42310.6"));
  EXPECT_EQ(m.funding.funding_rate, dec("0.0001875391284828"));
  EXPECT_EQ(m.funding.next_funding_ns, 1700726400000000000u);
  EXPECT_EQ(m.funding.event_ns, 1700724675402000000u);
  EXPECT_EQ(m.funding.index_price, Decimal{}) << "OKX's funding channels state no index price";
  // A new rate goes out with the next mark price, in one whole record.
  const std::string rate2 = R"({"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP",)"
                            R"("fundingRate":"-0.0002","fundingTime":"1700755200000","ts":"1700724677000"}]})";
  EXPECT_EQ(parse(p, rate2).event, EventKind::kIgnored) << p.error();
  const std::string mark2 = R"({"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP",)"
                            R"("instId":"BTC-USDT-SWAP","markPx":"42311","ts":"1700724677000"}]})";
  m = parse(p, mark2);
  ASSERT_EQ(m.event, EventKind::kFunding) << p.error();
  EXPECT_EQ(m.funding.mark_price, dec("42311"));
  EXPECT_EQ(m.funding.funding_rate, dec("-0.0002"));
  EXPECT_EQ(m.funding.next_funding_ns, 1700755200000000000u);
  const std::string bad = R"({"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP",)"
                          R"("markPx":"4e4","ts":"1"}]})";
  EXPECT_EQ(parse(p, bad).event, EventKind::kError);
  EXPECT_EQ(p.error(), "data[0]: markPx: not an exact decimal");
}

// A dated future has no funding, and a swap on a feed without funding-rate
// never gets a rate: each mark price is a funding record alone (rate 0, next
// funding time 0 = unknown) instead of half a record that never completes.
TEST(OkxParser, AMarkPriceNoRateWillCompleteIsPublishedAlone) {
  const auto mark = [](const char* inst, const char* px) {
    return std::string(R"({"arg":{"channel":"mark-price","instId":")") + inst + R"("},"data":[{"instType":"FUTURES",)" +
           R"("instId":")" + inst + R"(","markPx":")" + px + R"(","ts":"1700724676000"}]})";
  };
  OkxParser with_rate(kSymbols, true);
  ParsedMessage m = parse(with_rate, mark("BTC-USD-220527", "42310.6"));
  ASSERT_EQ(m.event, EventKind::kFunding) << with_rate.error();
  EXPECT_EQ(m.funding.symbol, "BTC-USD-220527");
  EXPECT_EQ(m.funding.mark_price, dec("42310.6"));
  EXPECT_EQ(m.funding.funding_rate, Decimal{});
  EXPECT_EQ(m.funding.next_funding_ns, 0u);
  EXPECT_EQ(m.funding.event_ns, 1700724676000000000u);
  EXPECT_EQ(parse(with_rate, mark("BTC-USDT-SWAP", "1")).event, EventKind::kIgnored) << "a swap waits for its rate";

  OkxParser without_rate(kSymbols, false);
  m = parse(without_rate, mark("BTC-USDT-SWAP", "42311"));
  ASSERT_EQ(m.event, EventKind::kFunding) << without_rate.error();
  EXPECT_EQ(m.funding.mark_price, dec("42311"));
  EXPECT_EQ(m.funding.next_funding_ns, 0u);
}

TEST(OkxParser, ReadsOpenInterestInContracts) {
  OkxParser p(kSymbols);
  const std::string oi = R"({"arg":{"channel":"open-interest","instId":"BTC-USD-SWAP"},"data":[{"instId":"BTC-USD-SWAP",)"
                         R"("instType":"SWAP","oi":"5000","oiCcy":"555.55","oiUsd":"50000","ts":"1597026383085"}]})";
  ParsedMessage m = parse(p, oi);
  ASSERT_EQ(m.event, EventKind::kOpenInterest) << p.error();
  EXPECT_EQ(m.open_interest.symbol, "BTC-USD-SWAP");
  EXPECT_EQ(m.open_interest.open_interest, dec("5000"));
  EXPECT_EQ(m.open_interest.event_ns, 1597026383085000000u);
}

TEST(OkxParser, KeepsOnlyTheConfiguredInstrumentsOfAnInstTypeWideLiquidationFrame) {
  OkxParser p(kSymbols);
  const std::string liq =
      R"({"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[)"
      R"({"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],)"
      R"("instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"},)"
      R"({"instId":"BTC-USDT-SWAP","instType":"SWAP","details":[)"
      R"({"bkLoss":"0","bkPx":"63000.1","ccy":"","posSide":"long","side":"sell","sz":"2","ts":"1692266434011"},)"
      R"({"bkLoss":"0","bkPx":"62990","ccy":"","posSide":"long","side":"sell","sz":"1.5","ts":"1692266434012"}]}]})";
  auto events = all_events(p, liq);
  ASSERT_EQ(events.size(), 2u) << p.error();
  EXPECT_EQ(events[0].event, EventKind::kLiquidation);
  EXPECT_EQ(events[0].liquidation.symbol, "BTC-USDT-SWAP");
  EXPECT_EQ(events[0].liquidation.side, Side::kSell);
  EXPECT_EQ(events[0].liquidation.price, dec("63000.1"));
  EXPECT_EQ(events[0].liquidation.size, dec("2"));
  EXPECT_EQ(events[0].liquidation.filled_size, dec("2"));
  EXPECT_EQ(events[0].liquidation.trade_ns, 1692266434011000000u);
  EXPECT_EQ(events[1].liquidation.price, dec("62990"));
  EXPECT_EQ(events[1].liquidation.size, dec("1.5"));
  // Only other instruments: well-formed, nothing to publish.
  const std::string others = R"({"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"instId":"ETH-USDT-SWAP",)"
                             R"("details":[{"bkPx":"1","side":"buy","sz":"1","ts":"1"}]}]})";
  EXPECT_EQ(parse(p, others).event, EventKind::kIgnored) << p.error();
}

TEST(OkxParser, RejectsMalformedFramesWithAReason) {
  OkxParser p(kSymbols);
  for (const char* text : {"", "{", "[]", R"({"arg":{"channel":"books","instId":"BTC-USDT"}})",
                           R"({"arg":{"instId":"BTC-USDT"},"data":[]})",
                           R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["1","-1"]],"bids":[],"ts":"1","prevSeqId":1,"seqId":2}]})",
                           R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"x","prevSeqId":1,"seqId":2}]})",
                           R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"delta","data":[{"asks":[],"bids":[],"ts":"1","prevSeqId":1,"seqId":2}]})",
                           R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]} {})",
                           R"({"event":"error","code":"abc","msg":""})"}) {
    ParsedMessage m = parse(p, text);
    EXPECT_EQ(m.event, EventKind::kError) << text;
    EXPECT_FALSE(p.error().empty()) << text;
  }
}

TEST(OkxParser, ParsesTheRestBooksBodyForTheBootstrap) {
  OkxParser p(kSymbols);
  const std::string body = R"({"code":"0","msg":"","data":[{"asks":[["41006.8","0.60038921","0","1"]],)"
                           R"("bids":[["41006.3","0.30178218","0","2"]],"ts":"1629966436396","seqId":3000}]})";
  std::string buf = body + std::string(simdjson::SIMDJSON_PADDING, '\0');
  ParsedMessage m = p.parse_snapshot(buf.data(), body.size());
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(m.snapshot.last_update_id, 3000u);
  EXPECT_EQ(m.snapshot.asks[0], level("41006.8", "0.60038921"));
  const std::string refused = R"({"code":"51001","msg":"Instrument ID does not exist","data":[]})";
  buf = refused + std::string(simdjson::SIMDJSON_PADDING, '\0');
  EXPECT_EQ(p.parse_snapshot(buf.data(), refused.size()).event, EventKind::kError);
}

TEST(OkxParser, ReadsTheContractValueOfAnInstrument) {
  // GET /api/v5/public/instruments?instType=SWAP&instId=BTC-USD-SWAP (the
  // fields OKX's "Get instruments" states; other fields are skipped).
  OkxParser p(kSymbols);
  const std::string inverse =
      R"({"code":"0","data":[{"alias":"","baseCcy":"","category":"1","ctMult":"1","ctType":"inverse",)"
      R"("ctVal":"100","ctValCcy":"USD","instId":"BTC-USD-SWAP","instType":"SWAP","lever":"100",)"
      R"("lotSz":"1","minSz":"1","settleCcy":"BTC","state":"live","tickSz":"0.1","uly":"BTC-USD"}],"msg":""})";
  std::string buf = inverse + std::string(simdjson::SIMDJSON_PADDING, '\0');
  auto c = p.parse_contract(buf.data(), inverse.size());
  ASSERT_TRUE(c.has_value()) << p.error();
  EXPECT_EQ(c->value, (Decimal{100, 0}));
  EXPECT_EQ(c->currency, "USD");
  // ctMult multiplies (10 x 0.001 = 0.01).
  const std::string linear = R"({"code":"0","msg":"","data":[{"instId":"BTC-USDT-SWAP","ctVal":"0.001",)"
                             R"("ctMult":"10","ctValCcy":"BTC","ctType":"linear"}]})";
  buf = linear + std::string(simdjson::SIMDJSON_PADDING, '\0');
  c = p.parse_contract(buf.data(), linear.size());
  ASSERT_TRUE(c.has_value()) << p.error();
  EXPECT_EQ(c->value, (Decimal{10, -3}));
  EXPECT_EQ(c->currency, "BTC");
  const std::pair<std::string, std::string_view> bad[] = {
      {R"({"code":"0","msg":"","data":[{"instId":"BTC-USDT","ctVal":"","ctValCcy":""}]})", "ctVal: empty"},
      {R"({"code":"51001","msg":"Instrument ID does not exist","data":[]})", "error code"},
      {R"({"code":"0","msg":"","data":[]})", "no such instrument"},
      {R"({"code":"0","msg":"","data":[{"ctVal":"-1","ctValCcy":"USD"}]})", "positive decimal"},
      {R"({"code":"0","msg":"","data":[{"ctVal":"100"}]})", "ctValCcy: missing"},
      {R"({"code":"0","msg":"","data":[{"ctVal":"100","ctValCcy":"USD"},{"ctVal":"1","ctValCcy":"USD"}]})",
       "more than one"},
      {R"({"code":"0","msg":"","data":[{"ctVal":"9223372036854775807","ctMult":"10","ctValCcy":"USD"}]})",
       "out of range"},
      {"not json", "instruments"},
  };
  for (const auto& [body, why] : bad) {
    buf = body + std::string(simdjson::SIMDJSON_PADDING, '\0');
    EXPECT_FALSE(p.parse_contract(buf.data(), body.size()).has_value()) << body;
    EXPECT_NE(p.error().find(why), std::string_view::npos) << body << ": " << p.error();
  }
}

}  // namespace
}  // namespace tickwire::connector::venues
