// The Kraken v2 parser and checksum: every v2 file of
// shared/fixtures/exchanges/kraken (the *.docs.json ones are Kraken's own
// examples; the nautilus ones are shapes, their checksums do not match their
// levels), the documented checksum vectors, and hand-written messages in the
// shapes of Kraken's v2 websocket documentation (instrument, errors: no
// fixture file has them).
#include "tickwire/connector/venues/kraken/parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tickwire/connector/book/order_book.hpp"
#include "tickwire/connector/venues/kraken/checksum.hpp"

namespace tickwire::connector::venues {
namespace {

ParsedMessage parse(KrakenParser& p, std::string_view text) {
  static std::string buffer;
  buffer.assign(text);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  return p.parse(buffer.data(), text.size());
}

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "kraken" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<ParsedMessage> all_events(KrakenParser& p, std::string_view text) {
  std::vector<ParsedMessage> out;
  ParsedMessage m = parse(p, text);
  out.push_back(m);
  if (m.event == EventKind::kError) return out;
  while (p.next(m)) out.push_back(m);
  return out;
}

std::string instrument(std::string_view symbol, int price_precision, int qty_precision) {
  return R"({"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"USD","status":"enabled","precision":4,)"
         R"("precision_display":2,"borrowable":true,"collateral_value":1.0,"margin_rate":0.025}],"pairs":[{"symbol":")" +
         std::string(symbol) + R"(","base":"X","quote":"USD","status":"online","qty_precision":)" +
         std::to_string(qty_precision) + R"(,"qty_increment":1e-08,"price_precision":)" +
         std::to_string(price_precision) +
         R"(,"cost_precision":5,"marginable":false,"has_index":true,"cost_min":0.5,"tick_size":0.0001,)"
         R"("price_increment":0.0001,"qty_min":0.5}]}})";
}

TEST(KrakenParser, TheDocumentedBookGives2439117997ThenAfterTheUpdate2114181697) {
  auto lines = fixture_lines("v2_book.docs.json");
  if (lines.empty()) GTEST_SKIP() << "fixture kraken/v2_book.docs.json not found under " << TICKWIRE_FIXTURES_DIR;
  const std::vector<std::string> symbols = {"MATIC/USD"};
  KrakenParser p(symbols);
  ASSERT_NE(parse(p, instrument("MATIC/USD", 4, 8)).event, EventKind::kError) << p.error();
  EXPECT_EQ(p.precision("MATIC/USD").price, 4);
  EXPECT_EQ(p.precision("MATIC/USD").qty, 8);
  const ParsedMessage snap = parse(p, lines[0]);
  ASSERT_EQ(snap.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(snap.snapshot.symbol, "MATIC/USD");
  EXPECT_TRUE(snap.snapshot.has_checksum);
  EXPECT_EQ(snap.snapshot.checksum, 2439117997u);
  ASSERT_EQ(snap.snapshot.bids.size(), 10u);
  ASSERT_EQ(snap.snapshot.asks.size(), 10u);
  EXPECT_EQ(snap.snapshot.bids[0].price, (Decimal{5666, -4}));
  EXPECT_EQ(snap.snapshot.bids[6].price, (Decimal{566, -3})) << "the number's own text: 0.566";
  EXPECT_EQ(snap.snapshot.asks[0].size, (Decimal{441079769741, -8}));
  EXPECT_EQ(snap.snapshot.event_ns, 1696613755440295000u);
  book::OrderBook book;
  ASSERT_TRUE(book.load(snap.snapshot.bids, snap.snapshot.asks));
  std::vector<PriceLevel> bids(10), asks(10);
  book.top(book::BookSide::kBid, bids);
  book.top(book::BookSide::kAsk, asks);
  EXPECT_EQ(p.checksum("MATIC/USD", bids, asks), 2439117997u);
  EXPECT_EQ(kraken::book_checksum(asks, bids, 4, 8), 2439117997u);
  kraken::BookChecksummer checksummer;
  EXPECT_EQ(checksummer.checksum(asks, bids, 4, 8), 2439117997u);
  const ParsedMessage update = parse(p, lines[1]);
  ASSERT_EQ(update.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(update.delta.checksum, 2114181697u);
  ASSERT_EQ(update.delta.bids.size(), 1u);
  EXPECT_TRUE(update.delta.asks.empty());
  ASSERT_TRUE(book.apply(update.delta.bids, update.delta.asks));
  book.top(book::BookSide::kBid, bids);
  book.top(book::BookSide::kAsk, asks);
  EXPECT_EQ(p.checksum("MATIC/USD", bids, asks), 2114181697u);
  EXPECT_EQ(checksummer.checksum(asks, bids, 4, 8), 2114181697u) << "the snapshot's texts reused";
}

TEST(KrakenParser, TheChecksumGuidesBookGives3310070434AtPrecisionOneAndEight) {
  auto lines = fixture_lines("v2_book_checksum_guide.docs.json");
  if (lines.empty()) GTEST_SKIP() << "fixture kraken/v2_book_checksum_guide.docs.json not found";
  const std::vector<std::string> symbols = {"BTC/USD"};
  KrakenParser p(symbols);
  const ParsedMessage snap = parse(p, lines[0]);
  ASSERT_EQ(snap.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(snap.snapshot.checksum, 3310070434u);
  EXPECT_EQ(snap.snapshot.event_ns, 0u) << "this example has no timestamp";
  EXPECT_EQ(snap.snapshot.bids[0].size, (Decimal{10000000, -8})) << "0.10000000 keeps its zeros";
  EXPECT_FALSE(p.checksum("BTC/USD", snap.snapshot.bids, snap.snapshot.asks).has_value())
      << "no precision before the instrument channel: no checksum";
  ASSERT_NE(parse(p, instrument("BTC/USD", 1, 8)).event, EventKind::kError) << p.error();
  const ParsedMessage again = parse(p, lines[0]);
  EXPECT_EQ(p.checksum("BTC/USD", again.snapshot.bids, again.snapshot.asks), 3310070434u);
  kraken::BookChecksummer checksummer;
  EXPECT_NE(checksummer.checksum(again.snapshot.asks, again.snapshot.bids, 4, 8), 3310070434u);
  EXPECT_EQ(checksummer.checksum(again.snapshot.asks, again.snapshot.bids, 1, 8), 3310070434u)
      << "texts cached at another precision are not reused";
}

TEST(KrakenParser, TheNautilusBookShapesParseWithTheirChecksums) {
  auto snap_lines = fixture_lines("v2_book_snapshot.nautilus.json");
  auto update_lines = fixture_lines("v2_book_update.nautilus.json");
  if (snap_lines.empty() || update_lines.empty()) GTEST_SKIP() << "nautilus kraken book fixtures not found";
  KrakenParser p;
  const ParsedMessage snap = parse(p, snap_lines[0]);
  ASSERT_EQ(snap.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_EQ(snap.snapshot.symbol, "BTC/USD");
  ASSERT_EQ(snap.snapshot.bids.size(), 3u);
  EXPECT_EQ(snap.snapshot.bids[0].price, (Decimal{10594420, -2}));
  EXPECT_EQ(snap.snapshot.asks[2].size, (Decimal{3, -3}));
  const ParsedMessage update = parse(p, update_lines[0]);
  ASSERT_EQ(update.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(update.delta.bids[0].size, (Decimal{250, -3}));
  EXPECT_EQ(update.delta.first_update_id, 0u) << "Kraken books carry no update ids";
}

TEST(KrakenParser, TradesAreEachAnEventWithTheirSequentialIdsAndTimes) {
  auto lines = fixture_lines("v2_trade.docs.json");
  if (lines.empty()) GTEST_SKIP() << "fixture kraken/v2_trade.docs.json not found";
  KrakenParser p;
  auto events = all_events(p, lines[0]);
  ASSERT_EQ(events.size(), 2u) << p.error();
  EXPECT_EQ(events[0].event, EventKind::kTrade);
  EXPECT_EQ(events[0].trade.symbol, "MATIC/USD");
  EXPECT_EQ(events[0].trade.trade_id, 4665846u);
  EXPECT_EQ(events[1].trade.trade_id, 4665847u);
  EXPECT_EQ(events[0].trade.price, (Decimal{5147, -4}));
  EXPECT_EQ(events[0].trade.size, (Decimal{642346326, -5}));
  EXPECT_EQ(events[0].trade.aggressor, Side::kBuy);
  EXPECT_EQ(events[0].trade.trade_ns, 1695628116925533000u);
  auto update = all_events(p, lines[1]);
  ASSERT_EQ(update.size(), 1u);
  EXPECT_EQ(update[0].trade.aggressor, Side::kSell);
  EXPECT_EQ(update[0].trade.size, (Decimal{400, -1})) << "40.0 keeps its text";
  auto nautilus = fixture_lines("v2_trade.nautilus.json");
  if (nautilus.empty()) return;
  auto n = all_events(p, nautilus[0]);
  ASSERT_EQ(n.size(), 2u) << p.error();
  EXPECT_EQ(n[1].trade.trade_id, 10218209u);
  EXPECT_EQ(n[1].trade.size, (Decimal{12460, -8}));
}

TEST(KrakenParser, TheTickerIsAQuoteOfTheBestBidAndAsk) {
  auto lines = fixture_lines("v2_ticker.nautilus.json");
  if (lines.empty()) GTEST_SKIP() << "fixture kraken/v2_ticker.nautilus.json not found";
  KrakenParser p;
  const ParsedMessage m = parse(p, lines[0]);
  ASSERT_EQ(m.event, EventKind::kQuote) << p.error();
  EXPECT_EQ(m.quote.symbol, "BTC/USD");
  EXPECT_EQ(m.quote.bid_price, (Decimal{10594420, -2}));
  EXPECT_EQ(m.quote.bid_size, (Decimal{25, -1}));
  EXPECT_EQ(m.quote.ask_price, (Decimal{10594430, -2}));
  EXPECT_EQ(m.quote.ask_size, (Decimal{32, -1}));
  EXPECT_EQ(m.quote.event_ns, 1671960659123456000u);
  EXPECT_EQ(m.quote.update_id, m.quote.event_ns);
}

TEST(KrakenParser, AcksHeartbeatsAndPongsAreControlOrIgnored) {
  auto lines = fixture_lines("v2_control.docs.json");
  if (lines.empty()) GTEST_SKIP() << "fixture kraken/v2_control.docs.json not found";
  KrakenParser p;
  // Line 0 is our own request (a method without success): a reply without an id.
  EXPECT_EQ(parse(p, lines[0]).event, EventKind::kControlReply) << p.error();
  const ParsedMessage ack = parse(p, lines[1]);
  EXPECT_EQ(ack.event, EventKind::kControlReply) << p.error();
  EXPECT_FALSE(ack.control.has_id);
  EXPECT_EQ(parse(p, lines[2]).event, EventKind::kControlReply);
  EXPECT_EQ(parse(p, lines[3]).event, EventKind::kIgnored) << "heartbeat";
  auto pong = fixture_lines("v2_pong.nautilus.json");
  ASSERT_FALSE(pong.empty());
  const ParsedMessage m = parse(p, pong[0]);
  EXPECT_EQ(m.event, EventKind::kControlReply) << p.error();
  EXPECT_TRUE(m.control.has_id);
  EXPECT_EQ(m.control.id, 42u);
}

TEST(KrakenParser, Level3IsWellFormedButNotHandled) {
  for (const char* name : {"v2_l3_snapshot.nautilus.json", "v2_l3_update_add.nautilus.json"}) {
    auto lines = fixture_lines(name);
    if (lines.empty()) GTEST_SKIP() << name << " not found";
    KrakenParser p;
    EXPECT_EQ(parse(p, lines[0]).event, EventKind::kIgnored) << name << ": " << p.error();
  }
}

TEST(KrakenParser, ErrorsBecomeErrorRepliesWithKrakensText) {
  KrakenParser p;
  // Kraken's rate-limit guide spells the key "Error"; "error" is taken too.
  for (const char* frame : {R"({"Error":"Exceeded msg rate"})", R"({"error":"Exceeded msg rate"})"}) {
    const ParsedMessage rate = parse(p, frame);
    ASSERT_EQ(rate.event, EventKind::kErrorReply) << frame << ": " << p.error();
    EXPECT_EQ(rate.error_reply.message, "Exceeded msg rate");
    EXPECT_FALSE(rate.error_reply.has_id);
  }
  const ParsedMessage refused = parse(
      p, R"({"error":"Currency pair not supported ABC/USD","method":"subscribe","req_id":9,"success":false,)"
         R"("symbol":"ABC/USD","time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z"})");
  ASSERT_EQ(refused.event, EventKind::kErrorReply) << p.error();
  EXPECT_TRUE(refused.error_reply.has_id);
  EXPECT_EQ(refused.error_reply.id, 9u);
  EXPECT_EQ(refused.error_reply.message, "Currency pair not supported ABC/USD");
}

TEST(KrakenParser, AnInstrumentUpdateChangesThePrecisionOfAConfiguredPairOnly) {
  const std::vector<std::string> symbols = {"BTC/USD"};
  KrakenParser p(symbols);
  ASSERT_NE(parse(p, instrument("BTC/USD", 1, 8)).event, EventKind::kError) << p.error();
  ASSERT_NE(parse(p, instrument("ETH/USD", 2, 8)).event, EventKind::kError) << p.error();
  EXPECT_FALSE(p.precision("ETH/USD").known()) << "not configured: not kept";
  const std::string update =
      R"({"channel":"instrument","type":"update","data":{"pairs":[{"symbol":"BTC/USD","price_precision":2,"qty_precision":8}]}})";
  ASSERT_NE(parse(p, update).event, EventKind::kError) << p.error();
  EXPECT_EQ(p.precision("BTC/USD").price, 2);
}

TEST(KrakenParser, NumbersInExponentFormKeepTheirExactValue) {
  KrakenParser p;
  const ParsedMessage m = parse(
      p, R"({"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":1e-08}],)"
         R"("asks":[{"price":4.52835E+4,"qty":0}],"checksum":1,"timestamp":"2023-10-06T17:35:55.440295Z"}]})");
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.delta.bids[0].size, (Decimal{1, -8}));
  EXPECT_EQ(m.delta.asks[0].price, (Decimal{452835, -1}));
  EXPECT_EQ(m.delta.asks[0].size, (Decimal{0, 0}));
}

// A positive exponent ends in the mantissa, as the plain text of the number
// would parse ("8.56E7" is 85600000, not 856 with exponent 5), so the value
// formats and parses back to itself; one that does not fit int64 is refused.
TEST(KrakenParser, APositiveExponentGivesThePlainDecimalAndOneTooLargeIsRefused) {
  KrakenParser p;
  const ParsedMessage m = parse(
      p, R"({"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":8.56E7,"qty":1558}],)"
         R"("asks":[{"price":1e2,"qty":0}],"checksum":1,"timestamp":"2023-10-06T17:35:55.440295Z"}]})");
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.delta.bids[0].price, (Decimal{85600000, 0}));
  EXPECT_EQ(m.delta.asks[0].price, (Decimal{100, 0}));
  Decimal back;
  ASSERT_EQ(tickwire::middleware::parse_decimal(tickwire::middleware::to_string(m.delta.bids[0].price), back),
            tickwire::middleware::DecimalError::kOk);
  EXPECT_EQ(back, m.delta.bids[0].price);

  KrakenParser q;
  const ParsedMessage big = parse(
      q, R"({"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":9.3E18,"qty":1}],)"
         R"("asks":[],"checksum":1,"timestamp":"2023-10-06T17:35:55.440295Z"}]})");
  EXPECT_EQ(big.event, EventKind::kError);
  EXPECT_NE(q.error().find("price"), std::string::npos) << q.error();
}

TEST(KrakenParser, RejectsMalformedInputWithAReasonAndKeepsNothingOfIt) {
  KrakenParser p;
  const char* bad[] = {
      R"({"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"1","qty":1}],"asks":[],"checksum":1}]})",
      R"({"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[]}]})",
      R"({"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":4294967296}]})",
      R"({"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1,"qty":-1}],"asks":[],"checksum":1}]})",
      R"({"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"up","price":1,"qty":1,"trade_id":1,"timestamp":"2023-10-06T17:35:55Z"}]})",
      R"({"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1,"qty":1,"timestamp":"2023-10-06T17:35:55Z"}]})",
      R"({"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1,"qty":1,"trade_id":1,"timestamp":"yesterday"}]})",
      R"({"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1,"qty":1,"trade_id":1,"timestamp":"2023-10-06T-1:35:55Z"}]})",
      R"({"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1,"qty":1,"trade_id":1,"timestamp":"2023-10-06T17:+5:55Z"}]})",
      R"({"channel":"ticker","type":"snapshot","data":[{"symbol":"BTC/USD","bid":1,"ask":2}]})",
      R"({"channel":"book","type":"delta","data":[]})",
      R"({"channel":"book","type":"update","data":[]})",
      R"({"channel":"instrument","type":"snapshot","data":{"pairs":[{"symbol":"BTC/USD","price_precision":99}]}})",
      R"({"channel":"trade","type":"update","data":[]} {})",
      R"({"channel":"trade")",
      R"([1,2])",
      R"({"time_in":"x"})",
  };
  for (const char* text : bad) {
    const ParsedMessage m = parse(p, text);
    EXPECT_EQ(m.event, EventKind::kError) << text;
    EXPECT_FALSE(p.error().empty()) << text;
    ParsedMessage further;
    EXPECT_FALSE(p.next(further)) << text;
  }
}

}  // namespace
}  // namespace tickwire::connector::venues
