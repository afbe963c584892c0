// The venue conformance suite: what every registered adapter must satisfy,
// run once per adapter (a later venue is covered by registering it). Checks
// the subscribe messages against the venue's limits and its reply protocol,
// liveness, the book integrity policy and its resync action, trade
// continuity, instruments as subject tokens, and that config validation and
// the registry agree. Behaviour on the wire (gaps accounted, resubscribe after
// reconnect, rollover) is exercised per dialect by the session, fault and
// peer tests; here each adapter must at least name what those tests drive.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tickwire/config/config.hpp"
#include "tickwire/connector/venue.hpp"
#include "tickwire/middleware/subject.hpp"

namespace tickwire::connector {
namespace {

std::string venue_name(const ::testing::TestParamInfo<const VenueAdapter*>& info) {
  std::string name(info.param->name());
  if (!info.param->category().empty()) name += "_" + std::string(info.param->category());
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

config::FeedConfig feed_of(const VenueAdapter& v) {
  config::FeedConfig feed;
  feed.exchange = std::string(v.name());
  feed.category = std::string(v.category());
  return feed;
}

// all_adapters: every registered adapter and every category variant it serves.
std::vector<const VenueAdapter*> all_adapters() {
  std::vector<const VenueAdapter*> out;
  for (const VenueAdapter* v : registered_venues()) {
    for (const char* category : {"", "spot", "linear"}) {
      config::FeedConfig feed = feed_of(*v);
      feed.category = category;
      const VenueAdapter* a = &v->for_feed(feed);
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
  }
  return out;
}

// Samples: a venue's acknowledgement and refusal of request 7 and a data
// frame, as its dialect writes them.
struct Samples {
  std::string ack, refusal, data;
};

Samples samples_of(const VenueAdapter& v) {
  if (v.name() == "okx") {
    return {R"({"id":"7","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"})",
            R"({"id":"7","event":"error","code":"60012","msg":"Invalid request","connId":"a4d3ae55"})",
            R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]})"};
  }
  if (v.name() == "bybit") {
    return {R"({"success":true,"ret_msg":"subscribe","conn_id":"c1","req_id":"7","op":"subscribe"})",
            R"({"success":false,"ret_msg":"Invalid symbol :[publicTrade.XYZ]","conn_id":"c1","req_id":"7","op":"subscribe"})",
            R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]})"};
  }
  if (v.name() == "kraken") {
    return {R"({"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z","req_id":7})",
            R"({"error":"Currency pair not supported XYZ/USD","method":"subscribe","req_id":7,"success":false,"symbol":"XYZ/USD","time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z"})",
            R"({"channel":"trade","type":"update","data":[]})"};
  }
  if (v.name() == "coinbase") {
    return {R"({"channel":"subscriptions","client_id":"","timestamp":"2026-04-07T14:30:00Z","sequence_num":0,"events":[{"subscriptions":{"level2":["BTC-USD"]}}]})",
            R"({"type":"error","message":"failure to subscribe"})",
            R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:00Z","sequence_num":1,"events":[]})"};
  }
  return {R"({"result":null,"id":7})", R"({"error":{"code":2,"msg":"Invalid request"},"id":7})",
          R"({"stream":"btcusdt@trade","data":{"e":"trade"}})"};
}

// sample_symbols: exchange symbols as the venue spells them (OKX names
// instruments "BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-250627"; Coinbase's
// products are "BTC-USD").
std::vector<std::string> sample_symbols(const VenueAdapter& v) {
  if (v.name() == "okx") return {"BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-SWAP", "BTC-USD-250627", "1000PEPE-USDT"};
  if (v.name() == "coinbase") return {"BTC-USD", "ETH-BTC", "1000PEPE-USD"};
  return {"BTCUSDT", "ETHBTC", "1000PEPEUSDT"};
}

class VenueConformance : public ::testing::TestWithParam<const VenueAdapter*> {
 protected:
  const VenueAdapter& venue() const { return *GetParam(); }
  // padded: a frame as the session hands it over.
  static std::string padded(std::string_view text) {
    std::string s(text);
    s.append(simdjson::SIMDJSON_PADDING, '\0');
    return s;
  }
};

TEST_P(VenueConformance, IsFoundByItsNameAndCategoryInTheRegistry) {
  EXPECT_EQ(find_venue(feed_of(venue())), &venue());
  ASSERT_NE(find_venue(venue().name()), nullptr);
  EXPECT_EQ(find_venue(venue().name())->name(), venue().name());
}

TEST_P(VenueConformance, SubscribeMessagesStayWithinTheVenuesLimits) {
  const VenueLimits& limits = venue().limits();
  ASSERT_GT(limits.streams_per_message, 0u);
  ASSERT_GE(limits.max_streams, limits.streams_per_message);
  EXPECT_GT(limits.control_interval.count(), 0);
  EXPECT_GT(limits.connects_per_5min, 0u);
  auto control = venue().make_control();
  std::vector<std::string> streams;
  for (std::size_t i = 0; i < limits.streams_per_message; ++i) {
    streams.push_back(venue().stream_name(sample_symbols(venue())[i % sample_symbols(venue()).size()],
                                          venue().channels()[i % venue().channels().size()]));
  }
  const std::string msg = control->subscribe_message(streams, 7);
  for (const auto& s : streams) EXPECT_NE(msg.find(s), std::string::npos) << msg;
  EXPECT_FALSE(control->unsubscribe_message(streams, 8).empty());
}

TEST_P(VenueConformance, RecognizesItsOwnAcknowledgementAndRefusalAndPassesData) {
  auto control = venue().make_control();
  // Each venue's ack and refusal of request 7, and a data frame, as its dialect writes them.
  const Samples dialect = samples_of(venue());
  const std::string ack = padded(dialect.ack);
  const std::string refusal = padded(dialect.refusal);
  const std::string data = padded(dialect.data);
  const ReplyVerdict a = control->classify(ack.data(), ack.size() - simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(a.kind, ReplyVerdict::kAck);
  if (a.oldest) {
    // A venue whose replies name no request (Coinbase) answers in request order.
    EXPECT_FALSE(a.has_id);
  } else {
    EXPECT_TRUE(a.has_id);
    EXPECT_EQ(a.id, 7u);
  }
  EXPECT_EQ(control->classify(refusal.data(), refusal.size() - simdjson::SIMDJSON_PADDING).kind,
            ReplyVerdict::kRejected);
  EXPECT_EQ(control->classify(data.data(), data.size() - simdjson::SIMDJSON_PADDING).kind, ReplyVerdict::kNotReply);
}

TEST_P(VenueConformance, LivenessIsAProtocolPingOrAnAppPingWithItsPong) {
  auto control = venue().make_control();
  const std::string_view ping = control->ping_text();
  if (ping.empty()) {
    SUCCEED() << venue().name() << " uses websocket protocol pings";
    return;
  }
  // An application-level ping needs a pong the session can consume.
  EXPECT_FALSE(control->is_pong("{}", 2));
}

TEST_P(VenueConformance, HasABookIntegrityPolicyWithAResyncAction) {
  const BookPolicy policy = venue().book_policy();
  const bool rest = policy.integrity == BookIntegrity::kRestSnapshotFirstId ||
                    policy.integrity == BookIntegrity::kRestSnapshotPrevId;
  if (rest) {
    EXPECT_EQ(policy.resync, ResyncAction::kRestSnapshot);
    EXPECT_TRUE(policy.snapshot_path.starts_with("/"));
    const std::string target = venue().snapshot_target("BTCUSDT", 1000);
    EXPECT_TRUE(target.starts_with(policy.snapshot_path)) << target;
    EXPECT_NE(target.find("BTCUSDT"), std::string::npos) << target;
    EXPECT_GT(venue().snapshot_weight(1000), 0u);
  } else {
    EXPECT_EQ(policy.resync, ResyncAction::kResubscribe);
  }
  // A depth channel bootstrapped over REST has a snapshot request.
  for (std::string_view c : venue().channels()) {
    if (venue().stream_bootstrap(c) == StreamBootstrap::kStream) continue;
    EXPECT_EQ(policy.integrity, BookIntegrity::kStreamSequence) << c;
    EXPECT_EQ(venue().channel_kind(c), ChannelKind::kDepth) << c;
    const std::string target = venue().snapshot_target("BTCUSDT", 1000);
    EXPECT_TRUE(target.starts_with("/")) << target;
    EXPECT_NE(target.find("BTCUSDT"), std::string::npos) << target;
    EXPECT_GT(venue().snapshot_weight(1000), 0u);
  }
  if (policy.integrity == BookIntegrity::kStreamChecksum) {
    EXPECT_GT(policy.checksum_levels, 0u);
  }
  // Every venue offers a depth channel the policy applies to.
  bool depth = false;
  for (std::string_view c : venue().channels()) depth = depth || venue().channel_kind(c) == ChannelKind::kDepth;
  EXPECT_TRUE(depth);
}

TEST_P(VenueConformance, EveryChannelMapsToAKindAndUnknownOnesDoNot) {
  for (std::string_view c : venue().channels()) EXPECT_TRUE(venue().channel_kind(c).has_value()) << c;
  EXPECT_FALSE(venue().channel_kind("kline_1m").has_value());
  EXPECT_FALSE(venue().channel_kind("").has_value());
}

TEST_P(VenueConformance, TradeChannelsDeclareTheirContinuity) {
  // Either answer is valid; the pipeline trusts it (contiguous: a jump is a gap).
  const auto trade = venue().trade_continuity(ChannelKind::kTrade);
  EXPECT_TRUE(trade == TradeContinuity::kContiguous || trade == TradeContinuity::kIncreasing ||
              trade == TradeContinuity::kNonDecreasing);
}

TEST_P(VenueConformance, InstrumentsAreValidSubjectTokensAndKeepTheirKind) {
  for (const std::string& symbol : sample_symbols(venue())) {
    auto instrument = venue().instrument(symbol);
    ASSERT_TRUE(instrument.ok()) << symbol << ": " << instrument.status();
    EXPECT_TRUE(middleware::is_valid_subject(middleware::make_subject("prod", "f", "trade", instrument->name)))
        << instrument->name;
    EXPECT_NE(instrument->kind, InstrumentKind::kUnknown);
    EXPECT_NE(instrument->name.find('-'), std::string::npos) << instrument->name;
  }
  EXPECT_FALSE(venue().instrument("XYZ").ok()) << "no quote asset: an error, never a guess";
}

TEST_P(VenueConformance, MakesAParserThatRejectsGarbageWithAReason) {
  auto parser = venue().make_parser(feed_of(venue()));
  const std::string garbage = padded("{\"e\":");
  const ParsedMessage m = parser->parse(garbage.data(), garbage.size() - simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(m.event, EventKind::kError);
  EXPECT_FALSE(parser->error().empty());
}

INSTANTIATE_TEST_SUITE_P(Registered, VenueConformance,
                         ::testing::ValuesIn(all_adapters()), venue_name);

TEST(VenueRegistry, HoldsBinanceSpotAndUsdm) {
  ASSERT_NE(find_venue("binance"), nullptr);
  ASSERT_NE(find_venue("binance-usdm"), nullptr);
  EXPECT_EQ(find_venue("deribit"), nullptr);
  EXPECT_EQ(find_venue("binance")->instrument("BTCUSDT")->name, "BTC-USDT");
  EXPECT_EQ(find_venue("binance-usdm")->instrument("BTCUSDT")->name, "BTC-USDT-PERP");
  EXPECT_EQ(find_venue("binance-usdm")->instrument("BTCUSDT_240628")->name, "BTC-USDT-240628");
  EXPECT_EQ(find_venue("binance-usdm")->instrument("BTCUSDT_240628")->kind, InstrumentKind::kFuture);
  EXPECT_EQ(find_venue("binance")->book_policy().snapshot_path, "/api/v3/depth");
  EXPECT_EQ(find_venue("binance-usdm")->book_policy().snapshot_path, "/fapi/v1/depth");
  EXPECT_EQ(find_venue("binance-usdm")->book_policy().integrity, BookIntegrity::kRestSnapshotPrevId);
}

TEST(VenueRegistry, HoldsBybitSpotAndLinear) {
  const VenueAdapter* bybit = find_venue("bybit");
  ASSERT_NE(bybit, nullptr);
  config::FeedConfig feed;
  feed.exchange = "bybit";
  feed.category = "linear";
  const VenueAdapter* linear = find_venue(feed);
  ASSERT_NE(linear, nullptr);
  feed.category = "spot";
  const VenueAdapter* spot = find_venue(feed);
  ASSERT_NE(spot, nullptr);
  EXPECT_NE(spot, linear);
  EXPECT_EQ(spot->ws_url(), "wss://stream.bybit.com/v5/public/spot");
  EXPECT_EQ(linear->ws_url(), "wss://stream.bybit.com/v5/public/linear");
  EXPECT_EQ(spot->instrument("BTCUSDT")->name, "BTC-USDT");
  EXPECT_EQ(linear->instrument("BTCUSDT")->name, "BTC-USDT-PERP");
  EXPECT_EQ(linear->instrument("BTCPERP")->name, "BTC-USDC-PERP");
  EXPECT_EQ(linear->instrument("BTCUSDT")->kind, InstrumentKind::kPerpetual);
  EXPECT_EQ(spot->stream_name("BTCUSDT", "orderbook.50"), "orderbook.50.BTCUSDT");
  EXPECT_EQ(spot->limits().streams_per_message, 10u);
  EXPECT_EQ(spot->limits().connects_per_5min, 500u);
  EXPECT_EQ(spot->book_policy().integrity, BookIntegrity::kStreamSequence);
  EXPECT_EQ(spot->trade_continuity(ChannelKind::kTrade), TradeContinuity::kNonDecreasing);
  EXPECT_FALSE(spot->channel_kind("tickers").has_value()) << "spot tickers carry no quote, funding or open interest";
  EXPECT_EQ(linear->channel_kind("tickers"), ChannelKind::kQuote);
  EXPECT_EQ(linear->channel_kind("allLiquidation"), ChannelKind::kLiquidation);
}

TEST(VenueRegistry, BybitControlWritesRequestsAndTellsRepliesAndPongsFromData) {
  auto control = find_venue("bybit")->make_control();
  const std::vector<std::string> topics = {"orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"};
  EXPECT_EQ(control->subscribe_message(topics, 3),
            R"({"req_id":"3","op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT"]})");
  EXPECT_EQ(control->unsubscribe_message(topics, 4),
            R"({"req_id":"4","op":"unsubscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT"]})");
  EXPECT_EQ(control->ping_text(), R"({"op":"ping"})");
  const std::string spot_pong = R"({"success":true,"ret_msg":"pong","conn_id":"465772b1","req_id":"","op":"ping"})";
  const std::string linear_pong = R"({"req_id":"test","op":"pong","args":["1675418560633"],"conn_id":"cfcb4"})";
  EXPECT_TRUE(control->is_pong(spot_pong.data(), spot_pong.size()));
  EXPECT_TRUE(control->is_pong(linear_pong.data(), linear_pong.size()));
  const std::string trade = R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]})";
  EXPECT_FALSE(control->is_pong(trade.data(), trade.size()));
  // A spot pong while subscribing is not a subscribe reply (is_pong takes it).
  std::string padded_pong = spot_pong + std::string(simdjson::SIMDJSON_PADDING, '\0');
  EXPECT_EQ(control->classify(padded_pong.data(), spot_pong.size()).kind, ReplyVerdict::kNotReply);
  // Key order does not matter: data whose "topic" comes last is still data.
  const std::string late_topic = R"({"type":"snapshot","ts":1,"data":[],"topic":"publicTrade.BTCUSDT"})";
  std::string padded_late = late_topic + std::string(simdjson::SIMDJSON_PADDING, '\0');
  EXPECT_EQ(control->classify(padded_late.data(), late_topic.size()).kind, ReplyVerdict::kNotReply);
}

TEST(VenueRegistry, HoldsKrakenV2WithChecksumBooksAndOneRequestPerPair) {
  const VenueAdapter* kraken = find_venue("kraken");
  ASSERT_NE(kraken, nullptr);
  EXPECT_EQ(kraken->ws_url(), "wss://ws.kraken.com/v2");
  EXPECT_EQ(kraken->instrument("BTC/USD")->name, "BTC-USD");
  EXPECT_EQ(kraken->instrument("XBT/USD")->name, "BTC-USD");
  EXPECT_EQ(kraken->instrument("XDG/EUR")->name, "DOGE-EUR");
  EXPECT_EQ(kraken->instrument("ETH/XBT")->name, "ETH-BTC");
  EXPECT_EQ(kraken->instrument("BTC/USD")->kind, InstrumentKind::kSpot);
  EXPECT_FALSE(kraken->instrument("BTC/").ok());
  EXPECT_FALSE(kraken->instrument("btc/usd").ok());
  EXPECT_EQ(kraken->book_policy().integrity, BookIntegrity::kStreamChecksum);
  EXPECT_EQ(kraken->book_policy().checksum_levels, 10u);
  EXPECT_EQ(kraken->trade_continuity(ChannelKind::kTrade), TradeContinuity::kContiguous);
  EXPECT_EQ(kraken->limits().streams_per_message, 1u);
  EXPECT_EQ(kraken->channel_kind("book.25"), ChannelKind::kDepth);
  EXPECT_FALSE(kraken->channel_kind("book.20").has_value());
  EXPECT_EQ(kraken->channel_kind("ticker"), ChannelKind::kQuote);
  EXPECT_FALSE(kraken->channel_kind("instrument").has_value()) << "reference data, not a stream";
  EXPECT_EQ(kraken->stream_name("BTC/USD", "book.25"), R"({"channel":"book","symbol":["BTC/USD"],"depth":25})");
  EXPECT_EQ(kraken->stream_name("ETH/USD", "instrument"), kraken->stream_name("BTC/USD", "instrument"));
  auto control = kraken->make_control();
  const std::vector<std::string> book = {kraken->stream_name("BTC/USD", "book.10")};
  EXPECT_EQ(control->subscribe_message(book, 3),
            R"({"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10},"req_id":3})");
  EXPECT_EQ(control->unsubscribe_message(book, 4),
            R"({"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10},"req_id":4})");
  const std::vector<std::string> trades = {kraken->stream_name("BTC/USD", "trade"),
                                           kraken->stream_name("ETH/USD", "trade")};
  EXPECT_EQ(control->subscribe_message(trades, 5),
            R"({"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"]},"req_id":5})");
  // The ticker is the quote: subscribed to follow the best bid and offer, not only trades.
  const std::vector<std::string> tickers{kraken->stream_name("BTC/USD", "ticker"), kraken->stream_name("ETH/USD", "ticker")};
  EXPECT_EQ(control->subscribe_message(tickers, 6),
            R"({"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD","ETH/USD"],"event_trigger":"bbo"},"req_id":6})");
  EXPECT_EQ(control->ping_text(), R"({"method":"ping"})");
  const std::string pong = R"({"method":"pong","req_id":42,"time_in":"2023-09-25T09:05:00.123456Z","time_out":"2023-09-25T09:05:00.123500Z"})";
  EXPECT_TRUE(control->is_pong(pong.data(), pong.size()));
  std::string padded_pong = pong + std::string(simdjson::SIMDJSON_PADDING, '\0');
  EXPECT_EQ(control->classify(padded_pong.data(), pong.size()).kind, ReplyVerdict::kNotReply) << "is_pong's, not a reply";
  // Kraken's rate-limit guide spells the key "Error"; "error" is taken too.
  for (const std::string rate : {R"({"Error":"Exceeded msg rate"})", R"({"error":"Exceeded msg rate"})"}) {
    std::string padded_rate = rate + std::string(simdjson::SIMDJSON_PADDING, '\0');
    const ReplyVerdict refused = control->classify(padded_rate.data(), rate.size());
    EXPECT_EQ(refused.kind, ReplyVerdict::kRejected) << rate;
    EXPECT_FALSE(refused.has_id);
    EXPECT_TRUE(refused.rate_limited) << rate << ": the session slows down and sends the request again";
  }
  const std::string invalid = R"({"error":"Currency pair not supported BAD/USD","method":"subscribe","req_id":7,"success":false})";
  std::string padded_invalid = invalid + std::string(simdjson::SIMDJSON_PADDING, '\0');
  const ReplyVerdict refused_pair = control->classify(padded_invalid.data(), invalid.size());
  EXPECT_EQ(refused_pair.kind, ReplyVerdict::kRejected);
  EXPECT_EQ(refused_pair.id, 7u);
  EXPECT_FALSE(refused_pair.rate_limited) << "refused for its content: sending it again would not help";
  const std::string heartbeat = R"({"channel":"heartbeat"})";
  std::string padded_heartbeat = heartbeat + std::string(simdjson::SIMDJSON_PADDING, '\0');
  EXPECT_EQ(control->classify(padded_heartbeat.data(), heartbeat.size()).kind, ReplyVerdict::kNotReply);
}

TEST(VenueRegistry, KrakenConfigPutsTheInstrumentChannelFirstWhenThereIsABook) {
  auto cfg = config::load_string("[[feeds]]\nname = \"k\"\nexchange = \"kraken\"\nurl = \"wss://ws.kraken.com/v2\"\n"
                                 "symbols = [\"XBT/USD\", \"ETH/USD\"]\nchannels = [\"trade\", \"book.10\"]\n",
                                 "kraken.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const config::FeedConfig& feed = cfg->feeds[0];
  EXPECT_EQ(feed.symbols, (std::vector<std::string>{"BTC/USD", "ETH/USD"})) << "XBT is BTC on v2";
  EXPECT_EQ(feed.channels, (std::vector<std::string>{"instrument", "trade", "book.10"}));
  EXPECT_EQ(feed.subscribe, "message");
  auto two_books = config::load_string("[[feeds]]\nname = \"k\"\nexchange = \"kraken\"\nurl = \"wss://ws.kraken.com/v2\"\n"
                                       "symbols = [\"BTC/USD\"]\nchannels = [\"book.10\", \"book.25\"]\n",
                                       "kraken.toml");
  ASSERT_FALSE(two_books.ok());
  EXPECT_NE(two_books.status().message().find("one book depth per feed"), std::string::npos) << two_books.status();
  auto bad_pair = config::load_string("[[feeds]]\nname = \"k\"\nexchange = \"kraken\"\nurl = \"wss://ws.kraken.com/v2\"\n"
                                      "symbols = [\"BTC/usd\"]\n",
                                      "kraken.toml");
  ASSERT_FALSE(bad_pair.ok());
  EXPECT_NE(bad_pair.status().message().find("a Kraken pair"), std::string::npos) << bad_pair.status();
}

TEST(VenueRegistry, ConfigAcceptsExactlyTheRegisteredVenuesAndTheirChannels) {
  for (const VenueAdapter* v : all_adapters()) {
    for (std::string_view channel : v->channels()) {
      const std::string category =
          v->category().empty() ? std::string() : "category = \"" + std::string(v->category()) + "\"\n";
      const std::string toml = "[[feeds]]\nname = \"f\"\nexchange = \"" + std::string(v->name()) + "\"\n" +
                               category + "url = \"" + std::string(v->ws_url()) +
                               "\"\nsymbols = [\"" + sample_symbols(*v)[v->name() == "okx" ? 1 : 0] +
                               "\"]\nchannels = [\"" + std::string(channel) + "\"]\n";
      auto cfg = config::load_string(toml, "venue.toml");
      EXPECT_TRUE(cfg.ok()) << v->name() << " " << channel << ": " << cfg.status();
    }
  }
  auto unknown = config::load_string("[[feeds]]\nname = \"f\"\nexchange = \"deribit\"\nurl = \"sim://\"\n"
                                     "symbols = [\"BTCUSDT\"]\n",
                                     "venue.toml");
  ASSERT_FALSE(unknown.ok());
  for (const VenueAdapter* v : registered_venues()) {
    EXPECT_NE(unknown.status().message().find(std::string(v->name())), std::string::npos) << unknown.status();
  }
}

}  // namespace
}  // namespace tickwire::connector
