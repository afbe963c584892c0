// The Coinbase Advanced Trade parser: every advanced_trade_* file of
// shared/fixtures/exchanges/coinbase (the docs ones hold our subscribe request
// on line 1 and the venue's message on line 2), and hand-written messages in
// the same shapes where a test needs several events or a broken field.
#include "tickwire/connector/venues/coinbase/parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tickwire::connector::venues {
namespace {

ParsedMessage parse(CoinbaseParser& p, std::string_view text) {
  static std::string buffer;
  buffer.assign(text);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  return p.parse(buffer.data(), text.size());
}

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "coinbase" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// venue_message: the fixture's message from the venue (the last line; docs
// files start with the subscribe request).
std::string venue_message(const std::string& name) {
  auto lines = fixture_lines(name);
  return lines.empty() ? std::string() : lines.back();
}

std::vector<ParsedMessage> all_events(CoinbaseParser& p, std::string_view text) {
  std::vector<ParsedMessage> out;
  ParsedMessage m = parse(p, text);
  out.push_back(m);
  if (m.event == EventKind::kError) return out;
  while (p.next(m)) out.push_back(m);
  return out;
}

#define LOAD_OR_SKIP(var, name)                                                      \
  const std::string var = venue_message(name);                                        \
  if (var.empty()) GTEST_SKIP() << "fixture coinbase/" << name << " not found under " \
                                << TICKWIRE_FIXTURES_DIR

TEST(CoinbaseParser, ParsesTheLevel2SnapshotWithBothSidesExactAndTheConnectionSequence) {
  LOAD_OR_SKIP(text, "advanced_trade_level2_snapshot.nautilus.json");
  CoinbaseParser p;
  auto events = all_events(p, text);
  ASSERT_EQ(events.size(), 1u);
  const ParsedMessage& m = events[0];
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  EXPECT_TRUE(m.has_connection_sequence);
  EXPECT_EQ(m.connection_sequence, 0u);
  EXPECT_EQ(m.snapshot.symbol, "BTC-USD");
  EXPECT_EQ(m.snapshot.last_update_id, 0u);
  ASSERT_EQ(m.snapshot.bids.size(), 3u);
  ASSERT_EQ(m.snapshot.asks.size(), 3u);
  EXPECT_EQ(m.snapshot.bids[0], (PriceLevel{{6890000, -2}, {150000000, -8}}));
  EXPECT_EQ(m.snapshot.bids[2], (PriceLevel{{6889900, -2}, {230000000, -8}}));
  EXPECT_EQ(m.snapshot.asks[0], (PriceLevel{{6890100, -2}, {50000000, -8}}));
  EXPECT_EQ(m.snapshot.asks[2], (PriceLevel{{6890200, -2}, {80000000, -8}}));
  EXPECT_EQ(m.snapshot.event_ns, 1775572200123456000u);  // 2026-04-07T14:30:00.123456Z
}

TEST(CoinbaseParser, ParsesTheLevel2UpdateAsADeltaWhoseZeroQuantityDeletes) {
  LOAD_OR_SKIP(text, "advanced_trade_level2_update.nautilus.json");
  CoinbaseParser p;
  const ParsedMessage m = parse(p, text);
  ASSERT_EQ(m.event, EventKind::kBookDelta) << p.error();
  EXPECT_EQ(m.connection_sequence, 1u);
  EXPECT_EQ(m.delta.symbol, "BTC-USD");
  EXPECT_EQ(m.delta.first_update_id, 1u);
  EXPECT_EQ(m.delta.last_update_id, 1u);
  EXPECT_FALSE(m.delta.restart);
  ASSERT_EQ(m.delta.bids.size(), 1u);
  ASSERT_EQ(m.delta.asks.size(), 1u);
  EXPECT_EQ(m.delta.bids[0], (PriceLevel{{6890000, -2}, {200000000, -8}}));
  EXPECT_EQ(m.delta.asks[0].price, (Decimal{6890100, -2}));
  EXPECT_EQ(m.delta.asks[0].size.mantissa, 0);
  EXPECT_EQ(m.delta.event_ns, 1775572201456789000u);
}

TEST(CoinbaseParser, ParsesTheDocsLevel2SnapshotWithNanosecondTimestamp) {
  LOAD_OR_SKIP(text, "advanced_trade_level2.docs.json");
  CoinbaseParser p;
  const ParsedMessage m = parse(p, text);
  ASSERT_EQ(m.event, EventKind::kBookSnapshot) << p.error();
  ASSERT_EQ(m.snapshot.bids.size(), 2u);
  EXPECT_TRUE(m.snapshot.asks.empty());
  EXPECT_EQ(m.snapshot.bids[0], (PriceLevel{{2192173, -2}, {6317902, -8}}));
  EXPECT_EQ(m.snapshot.bids[1], (PriceLevel{{219213, -1}, {2, -2}}));
  EXPECT_EQ(m.snapshot.event_ns, 1675974770714964855u);  // 2023-02-09T20:32:50.714964855Z
}

TEST(CoinbaseParser, ParsesMarketTradeUpdatesWithTheTakerSideAsAggressor) {
  LOAD_OR_SKIP(text, "advanced_trade_market_trades.nautilus.json");
  CoinbaseParser p;
  auto events = all_events(p, text);
  ASSERT_EQ(events.size(), 2u) << p.error();
  EXPECT_EQ(events[0].connection_sequence, 5u);
  for (const auto& m : events) {
    ASSERT_EQ(m.event, EventKind::kTrade);
    EXPECT_EQ(m.trade.symbol, "BTC-USD");
    EXPECT_FALSE(m.trade.history);
    EXPECT_FALSE(m.trade.aggregate);
  }
  EXPECT_EQ(events[0].trade.trade_id, 995098700u);
  EXPECT_EQ(events[0].trade.price, (Decimal{6890050, -2}));
  EXPECT_EQ(events[0].trade.size, (Decimal{150000, -8}));
  EXPECT_EQ(events[0].trade.aggressor, Side::kBuy);
  EXPECT_EQ(events[0].trade.trade_ns, 1775572202789012000u);
  EXPECT_EQ(events[1].trade.trade_id, 995098701u);
  // SELL at 68900.00, the best bid of the same fixtures' book: a taker sell hit it.
  EXPECT_EQ(events[1].trade.aggressor, Side::kSell);
  EXPECT_EQ(events[1].trade.price, (Decimal{6890000, -2}));
  EXPECT_EQ(events[1].trade.trade_ns, 1775572202800000000u);
}

TEST(CoinbaseParser, MarksTheMarketTradesSnapshotAsHistory) {
  LOAD_OR_SKIP(text, "advanced_trade_market_trades.docs.json");
  CoinbaseParser p;
  auto events = all_events(p, text);
  ASSERT_EQ(events.size(), 1u) << p.error();
  const ParsedMessage& m = events[0];
  ASSERT_EQ(m.event, EventKind::kTrade) << p.error();
  EXPECT_TRUE(m.trade.history);
  EXPECT_EQ(m.trade.symbol, "ETH-USD");
  EXPECT_EQ(m.trade.trade_id, 0u);  // "000000000"
  EXPECT_EQ(m.trade.price, (Decimal{126001, -2}));
  EXPECT_EQ(m.trade.size, (Decimal{3, -1}));
  EXPECT_EQ(m.trade.aggressor, Side::kBuy);
  EXPECT_EQ(m.trade.trade_ns, 1565815347265000000u);  // 2019-08-14T20:42:27.265Z
}

TEST(CoinbaseParser, HandsOutABatchOldestFirstWhateverItsOrderOnTheWire) {
  CoinbaseParser p;
  auto events = all_events(
      p, R"({"channel":"market_trades","client_id":"","timestamp":"2026-04-07T14:30:02Z","sequence_num":9,"events":[{"type":"update","trades":[)"
         R"({"trade_id":"12","product_id":"BTC-USD","price":"1.5","size":"2","side":"SELL","time":"2026-04-07T14:30:01.2Z"},)"
         R"({"trade_id":"11","product_id":"BTC-USD","price":"1.4","size":"1","side":"BUY","time":"2026-04-07T14:30:01.1Z"}]}]})");
  ASSERT_EQ(events.size(), 2u) << p.error();
  EXPECT_EQ(events[0].trade.trade_id, 11u);
  EXPECT_EQ(events[0].trade.aggressor, Side::kBuy);
  EXPECT_EQ(events[1].trade.trade_id, 12u);
  EXPECT_EQ(events[1].trade.price, (Decimal{15, -1}));
}

TEST(CoinbaseParser, ParsesTickersAsQuotesKeyedByTheMessageTime) {
  for (const char* name : {"advanced_trade_ticker.nautilus.json", "advanced_trade_ticker.docs.json"}) {
    LOAD_OR_SKIP(text, name);
    CoinbaseParser p;
    auto events = all_events(p, text);
    ASSERT_EQ(events.size(), 1u) << name << ": " << p.error();
    const ParsedMessage& m = events[0];
    ASSERT_EQ(m.event, EventKind::kQuote) << name << ": " << p.error();
    EXPECT_EQ(m.quote.symbol, "BTC-USD");
    EXPECT_EQ(m.quote.update_id, m.quote.event_ns);
    EXPECT_NE(m.quote.event_ns, 0u);
  }
  LOAD_OR_SKIP(docs, "advanced_trade_ticker.docs.json");
  CoinbaseParser p;
  const ParsedMessage m = parse(p, docs);
  EXPECT_EQ(m.quote.bid_price, (Decimal{2193198, -2}));
  EXPECT_EQ(m.quote.bid_size, (Decimal{800021, -2}));
  EXPECT_EQ(m.quote.ask_price, (Decimal{2193398, -2}));
  EXPECT_EQ(m.quote.ask_size, (Decimal{803807770938, -8}));
  EXPECT_EQ(m.quote.event_ns, 1675974637167359596u);
}

TEST(CoinbaseParser, TakesHeartbeatsWithAStringOrANumberCounterAsLiveness) {
  for (const char* name : {"advanced_trade_heartbeats.docs.json", "advanced_trade_heartbeats.nautilus.json"}) {
    LOAD_OR_SKIP(text, name);
    CoinbaseParser p;
    const ParsedMessage m = parse(p, text);
    EXPECT_EQ(m.event, EventKind::kIgnored) << name << ": " << p.error();
    EXPECT_TRUE(m.has_connection_sequence);
    EXPECT_EQ(m.connection_sequence, 0u);
  }
  CoinbaseParser p;
  EXPECT_EQ(parse(p, R"({"channel":"heartbeats","client_id":"","timestamp":"2026-04-07T14:30:10Z","sequence_num":3,"events":[{"current_time":"x","heartbeat_counter":"4x"}]})")
                .event,
            EventKind::kError);
  EXPECT_NE(p.error().find("heartbeat_counter"), std::string_view::npos) << p.error();
}

TEST(CoinbaseParser, TakesSubscriptionsAsAControlReplyThatStillCarriesItsSequence) {
  LOAD_OR_SKIP(text, "advanced_trade_subscriptions.nautilus.json");
  CoinbaseParser p;
  const ParsedMessage m = parse(p, text);
  EXPECT_EQ(m.kind, MessageKind::kControl);
  EXPECT_EQ(m.event, EventKind::kControlReply) << p.error();
  EXPECT_FALSE(m.control.has_id);
  EXPECT_TRUE(m.has_connection_sequence);
}

TEST(CoinbaseParser, TakesAnErrorMessageAsAnErrorReplyWithItsText) {
  CoinbaseParser p;
  const ParsedMessage m = parse(p, R"({"type":"error","message":"failure to subscribe"})");
  EXPECT_EQ(m.event, EventKind::kErrorReply) << p.error();
  EXPECT_EQ(m.error_reply.message, "failure to subscribe");
  EXPECT_FALSE(m.error_reply.has_id);
  EXPECT_FALSE(m.has_connection_sequence);
}

TEST(CoinbaseParser, RejectsOurOwnSubscribeRequestAsNotAVenueMessage) {
  auto lines = fixture_lines("advanced_trade_level2.docs.json");
  if (lines.size() < 2) GTEST_SKIP() << "fixture coinbase/advanced_trade_level2.docs.json not found";
  CoinbaseParser p;
  EXPECT_EQ(parse(p, lines[0]).event, EventKind::kError);
  // It names a channel but has no envelope: its timestamp is the first thing missing.
  EXPECT_NE(p.error().find("timestamp"), std::string_view::npos) << p.error();
}

TEST(CoinbaseParser, HandsOutEachProductOfAnL2FrameWithItsOwnLevels) {
  CoinbaseParser p;
  auto events = all_events(
      p, R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":42,"events":[)"
         R"({"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2026-04-07T14:30:01Z","price_level":"100.5","new_quantity":"1"},{"side":"offer","event_time":"2026-04-07T14:30:01Z","price_level":"101","new_quantity":"2"}]},)"
         R"({"type":"update","product_id":"ETH-USD","updates":[{"side":"offer","event_time":"2026-04-07T14:30:01Z","price_level":"7.25","new_quantity":"0"}]}]})");
  ASSERT_EQ(events.size(), 2u) << p.error();
  ASSERT_EQ(events[0].event, EventKind::kBookDelta);
  EXPECT_EQ(events[0].delta.symbol, "BTC-USD");
  ASSERT_EQ(events[0].delta.bids.size(), 1u);
  ASSERT_EQ(events[0].delta.asks.size(), 1u);
  EXPECT_EQ(events[0].delta.asks[0].price, (Decimal{101, 0}));
  ASSERT_EQ(events[1].event, EventKind::kBookDelta);
  EXPECT_EQ(events[1].delta.symbol, "ETH-USD");
  EXPECT_TRUE(events[1].delta.bids.empty());
  ASSERT_EQ(events[1].delta.asks.size(), 1u);
  EXPECT_EQ(events[1].delta.asks[0].price, (Decimal{725, -2}));
  EXPECT_EQ(events[1].delta.last_update_id, 42u);
}

TEST(CoinbaseParser, RejectsBrokenFieldsNamingThem) {
  struct Case {
    const char* text;
    const char* names;
  };
  const Case cases[] = {
      {R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01Z","events":[]})", "sequence_num"},
      {R"({"channel":"l2_data","client_id":"","timestamp":"yesterday","sequence_num":1,"events":[]})", "timestamp"},
      {R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":-1,"events":[]})",
       "sequence_num"},
      {R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"ask","price_level":"1","new_quantity":"1"}]}]})",
       "side"},
      {R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","price_level":1.5,"new_quantity":"1"}]}]})",
       "expected strings"},
      {R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","price_level":"1","new_quantity":"-1"}]}]})",
       "negative"},
      {R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"partial","product_id":"BTC-USD","updates":[]}]})",
       "type"},
      {R"({"channel":"market_trades","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"update","trades":[{"trade_id":"a1","product_id":"BTC-USD","price":"1","size":"1","side":"BUY","time":"2026-04-07T14:30:01Z"}]}]})",
       "trade_id"},
      {R"({"channel":"market_trades","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"update","trades":[{"trade_id":"1","product_id":"BTC-USD","price":"1","size":"1","side":"buy","time":"2026-04-07T14:30:01Z"}]}]})",
       "side"},
      {R"({"channel":"market_trades","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"update","trades":[{"trade_id":"1","product_id":"BTC-USD","price":"1e3","size":"1","side":"BUY","time":"2026-04-07T14:30:01Z"}]}]})",
       "price"},
      {R"({"channel":"ticker","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"update","tickers":[{"product_id":"BTC-USD","best_bid":"1","best_ask":"2","best_ask_quantity":"1"}]}]})",
       "best_bid_quantity"},
      {R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[]} {})",
       "trailing"},
  };
  for (const Case& c : cases) {
    CoinbaseParser p;
    const ParsedMessage m = parse(p, c.text);
    EXPECT_EQ(m.event, EventKind::kError) << c.text;
    EXPECT_NE(p.error().find(c.names), std::string_view::npos) << c.text << " -> " << p.error();
    ParsedMessage more;
    EXPECT_FALSE(p.next(more)) << "a rejected frame hands out nothing";
  }
}

TEST(CoinbaseParser, ReadsRfc3339TimesToTheNanosecond) {
  std::uint64_t ns = 0;
  ASSERT_TRUE(parse_rfc3339_ns("1970-01-01T00:00:00Z", ns));
  EXPECT_EQ(ns, 0u);
  ASSERT_TRUE(parse_rfc3339_ns("2023-06-23T20:31:26.122969572Z", ns));
  EXPECT_EQ(ns, 1687552286122969572u);
  ASSERT_TRUE(parse_rfc3339_ns("2024-02-29T00:00:00.5+00:00", ns));
  EXPECT_EQ(ns, 1709164800500000000u);
  for (const char* bad : {"", "2023-06-23", "2023-06-23T20:31:26", "2023-13-01T00:00:00Z", "2023-06-23T20:31:26.Z",
                          "2023-06-23T20:31:26.1234567891Z", "2023-06-23T20:31:26+02:00", "1969-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_rfc3339_ns(bad, ns)) << bad;
  }
}

}  // namespace
}  // namespace tickwire::connector::venues
