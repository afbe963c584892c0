#include "tickwire/connector/envelope_codec.hpp"

#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/proto/market_data.capnp.h"

namespace tickwire::connector {
namespace {

std::vector<capnp::word> aligned(std::span<const std::byte> bytes) {
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), bytes.size());
  return words;
}

TradeEvent sample_trade() {
  TradeEvent t;
  t.symbol = "BTCUSDT";
  t.trade_id = 123456789;
  t.price = {3700010000000, -8};
  t.size = {100000, -8};
  t.aggressor = Side::kSell;
  t.event_ns = 1700000000123000000;
  t.trade_ns = 1700000000120000000;
  return t;
}

TEST(EnvelopeEncoder, RoundTripsATradeFieldByField) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  const Stamp stamp{42, 1111, 2222};
  auto bytes = enc.encode_trade(stamp, "binance", sample_trade());
  ASSERT_FALSE(bytes.empty());
  auto words = aligned(bytes);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  auto env = reader.getRoot<proto::Envelope>();
  EXPECT_EQ(env.getSequence(), 42u);
  EXPECT_EQ(env.getMonoNs(), 1111u);
  EXPECT_EQ(env.getWallNs(), 2222u);
  EXPECT_EQ(env.getExchNs(), 1700000000123000000u);
  EXPECT_STREQ(env.getFeed().cStr(), "binance");
  EXPECT_STREQ(env.getSymbol().cStr(), "BTCUSDT");
  ASSERT_EQ(env.which(), proto::Envelope::TRADE);
  auto t = env.getTrade();
  EXPECT_EQ(t.getTradeId(), 123456789u);
  EXPECT_EQ(t.getPrice().getMantissa(), 3700010000000);
  EXPECT_EQ(t.getPrice().getExponent(), -8);
  EXPECT_EQ(t.getSize().getMantissa(), 100000);
  EXPECT_EQ(t.getAggressor(), proto::Side::SELL);
  EXPECT_EQ(t.getTradeNs(), 1700000000120000000u);
}

TEST(EnvelopeEncoder, WritesTheInstrumentsContractForOneCallAndJsonShowsIt) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  const ContractSpec contract{{100, 0}, "USD"};
  enc.set_instrument("BTC-USD-PERP", InstrumentKind::kPerpetual, &contract);
  auto bytes = enc.encode_trade({1, 2, 3}, "okx", sample_trade());
  ASSERT_FALSE(bytes.empty());
  auto words = aligned(bytes);
  {
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
    auto env = reader.getRoot<proto::Envelope>();
    ASSERT_TRUE(env.hasContract());
    EXPECT_EQ(env.getContract().getValue().getMantissa(), 100);
    EXPECT_EQ(env.getContract().getValue().getExponent(), 0);
    EXPECT_STREQ(env.getContract().getCurrency().cStr(), "USD");
    EXPECT_EQ(env.getInstrumentKind(), proto::InstrumentKind::PERPETUAL);
  }
  auto json = envelope_to_json(bytes);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"("instrument_kind":"perpetual","contract_value":"100","contract_currency":"USD")"),
            std::string::npos)
      << *json;
  // The next call without set_instrument writes neither.
  auto next = enc.encode_trade({2, 3, 4}, "okx", sample_trade());
  ASSERT_FALSE(next.empty());
  auto next_words = aligned(next);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(next_words.data(), next_words.size()));
  EXPECT_FALSE(reader.getRoot<proto::Envelope>().hasContract());
  auto plain = envelope_to_json(next);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->find("contract"), std::string::npos) << *plain;
}

TEST(EnvelopeEncoder, ReusesItsScratchWithoutLeakingTheLastMessage) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  TradeEvent t = sample_trade();
  t.symbol = "A_VERY_LONG_SYMBOL_NAME_THAT_TAKES_SEVERAL_WORDS";
  auto first = enc.encode_trade({1, 0, 0}, "binance", t);
  std::vector<std::byte> first_copy(first.begin(), first.end());
  t.symbol = "X";
  auto second = enc.encode_trade({2, 0, 0}, "binance", t);
  EXPECT_LT(second.size(), first_copy.size());
  auto words = aligned(second);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  EXPECT_STREQ(reader.getRoot<proto::Envelope>().getSymbol().cStr(), "X");
  // Encoding the first again gives identical bytes: nothing of the second remains.
  t.symbol = "A_VERY_LONG_SYMBOL_NAME_THAT_TAKES_SEVERAL_WORDS";
  auto again = enc.encode_trade({1, 0, 0}, "binance", t);
  EXPECT_EQ(std::vector<std::byte>(again.begin(), again.end()), first_copy);
}

// The template path (a slot) must give the builder's bytes exactly, for
// every field value, with and without an instrument and a contract, and
// when one slot sees other symbols, feeds and instruments in turn.
TEST(EnvelopeEncoder, TemplatedTradesQuotesAndBookDeltasAreTheBuildersBytesBitForBit) {
  middleware::BufferPool pool;
  EnvelopeEncoder templated(pool);
  EnvelopeEncoder built(pool);
  ASSERT_TRUE(templated.ok());
  ASSERT_TRUE(built.ok());
  std::mt19937_64 rng(20261207);
  const auto any = [&] { return rng(); };
  const auto decimal = [&] {
    return middleware::Decimal{static_cast<std::int64_t>(rng()), static_cast<std::int8_t>(static_cast<int>(rng() % 40) - 20)};
  };
  const std::vector<std::string> symbols{"BTCUSDT", "E", "A_VERY_LONG_SYMBOL_NAME_OF_SEVERAL_WORDS", "ETH-USD"};
  const std::vector<std::string> feeds{"binance", "okx-swap-books"};
  const std::vector<ContractSpec> contracts{{{100, 0}, "USD"}, {{1, -2}, "BTC"}};
  const auto set_instrument = [&](EnvelopeEncoder& enc, std::uint64_t choice) {
    switch (choice % 4) {
      case 0: break;  // none
      case 1: enc.set_instrument("BTC-USDT", InstrumentKind::kSpot); break;
      case 2: enc.set_instrument("BTC-USD-PERP", InstrumentKind::kPerpetual, &contracts[0]); break;
      default: enc.set_instrument("BTC-USD-PERP", InstrumentKind::kPerpetual, &contracts[1]); break;
    }
  };
  std::size_t compared = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::size_t slot = rng() % 3;
    // Mostly the slot's usual symbol, sometimes another, to force rebuilds.
    const std::string& symbol = symbols[rng() % 8 == 0 ? rng() % symbols.size() : slot];
    const std::string& feed = feeds[rng() % 16 == 0 ? 1 : 0];
    const std::uint64_t instrument = rng() % 8 == 0 ? rng() : slot;
    const Stamp stamp{any(), any(), any()};
    std::span<const std::byte> a, b;
    if (rng() % 2 == 0) {
      TradeEvent t;
      t.symbol = symbol;
      t.trade_id = any();
      t.price = decimal();
      t.size = decimal();
      t.aggressor = static_cast<Side>(rng() % 3);
      t.event_ns = any();
      t.trade_ns = any();
      t.aggregate = rng() % 2 == 0;
      t.first_trade_id = any();
      t.last_trade_id = any();
      // The venue's id text (Bybit), of lengths around the word boundaries
      // its NUL and padding fall on, written after the template.
      static const std::vector<std::string> texts{"a", "1234567", "12345678", "123456789",
                                                  "c0d9b3a2-5e6f-4a1b-9c8d-7e6f5a4b3c2d"};
      if (rng() % 4 == 0) t.id_text = texts[rng() % texts.size()];
      set_instrument(templated, instrument);
      set_instrument(built, instrument);
      a = templated.encode_trade(stamp, feed, t, slot);
      const std::vector<std::byte> copy(a.begin(), a.end());
      b = built.encode_trade(stamp, feed, t);
      ASSERT_EQ(copy, std::vector<std::byte>(b.begin(), b.end())) << "trade " << i;
    } else {
      QuoteEvent q;
      q.symbol = symbol;
      q.update_id = any();
      q.bid_price = decimal();
      q.bid_size = decimal();
      q.ask_price = decimal();
      q.ask_size = decimal();
      q.event_ns = any();
      set_instrument(templated, instrument);
      set_instrument(built, instrument);
      a = templated.encode_quote(stamp, feed, q, slot);
      const std::vector<std::byte> copy(a.begin(), a.end());
      b = built.encode_quote(stamp, feed, q);
      ASSERT_EQ(copy, std::vector<std::byte>(b.begin(), b.end())) << "quote " << i;
    }
    ++compared;
  }
  EXPECT_EQ(compared, 4000u);
  // Book deltas: the template holds the Envelope and the BookDelta, the
  // level lists of each delta's sizes (none to 40 a side) follow it.
  for (int i = 0; i < 2000; ++i) {
    const std::size_t slot = rng() % 3;
    const std::string& symbol = symbols[rng() % 8 == 0 ? rng() % symbols.size() : slot];
    const std::string& feed = feeds[rng() % 16 == 0 ? 1 : 0];
    const std::uint64_t instrument = rng() % 8 == 0 ? rng() : slot;
    std::vector<PriceLevel> bids(rng() % 41), asks(rng() % 41);
    for (auto* side : {&bids, &asks}) {
      for (PriceLevel& l : *side) l = {decimal(), decimal()};
    }
    BookDeltaEvent d;
    d.symbol = symbol;
    d.event_ns = any();
    d.first_update_id = any();
    d.last_update_id = any();
    d.bids = bids;
    d.asks = asks;
    d.cross_sequence = any();
    const Stamp stamp{any(), any(), any()};
    set_instrument(templated, instrument);
    set_instrument(built, instrument);
    const auto a = templated.encode_book_delta(stamp, feed, d, slot);
    const std::vector<std::byte> copy(a.begin(), a.end());
    const auto b = built.encode_book_delta(stamp, feed, d);
    ASSERT_EQ(copy, std::vector<std::byte>(b.begin(), b.end())) << "delta " << i << ": " << bids.size() << " bids, "
                                                                << asks.size() << " asks";
  }
  // The instrument applies to one call on the template path too.
  templated.set_instrument("BTC-USD-PERP", InstrumentKind::kPerpetual, &contracts[0]);
  (void)templated.encode_trade({1, 2, 3}, "okx", sample_trade(), 0);
  auto plain = templated.encode_trade({1, 2, 3}, "okx", sample_trade(), 0);
  auto words = aligned(plain);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  EXPECT_FALSE(reader.getRoot<proto::Envelope>().hasContract());
  EXPECT_FALSE(reader.getRoot<proto::Envelope>().hasInstrument());
  EXPECT_EQ(reader.getRoot<proto::Envelope>().getTrade().getTradeId(), 123456789u);
}

TEST(EnvelopeToJson, PrintsSnakeCaseKeysAndExactDecimals) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  auto json = envelope_to_json(enc.encode_trade({7, 100, 200}, "binance", sample_trade()));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            R"({"seq":7,"mono_ns":100,"wall_ns":200,"exch_ns":1700000000123000000,"feed":"binance",)"
            R"("symbol":"BTCUSDT","kind":"trade","trade_id":123456789,"price":"37000.10000000",)"
            R"("size":"0.00100000","aggressor":"sell","trade_ns":1700000000120000000})");
}

// A venue whose trade ids are not numbers (Bybit's `i`) keeps its id as sent
// in tradeIdText: JSON prints it as trade_id_text, CSV in the detail column;
// a trade without one prints neither.
TEST(EnvelopeToJson, PrintsATradesOwnIdTextInJsonAndInTheCsvDetailColumn) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  TradeEvent t = sample_trade();
  t.id_text = "2a74ac78-691c-5b54-9dbe-5aafe8364627";
  auto bytes = enc.encode_trade({7, 100, 200}, "bybit", t);
  auto words = aligned(bytes);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  EXPECT_STREQ(reader.getRoot<proto::Envelope>().getTrade().getTradeIdText().cStr(), t.id_text.data());
  auto json = envelope_to_json(bytes);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"("trade_ns":1700000000120000000,"trade_id_text":"2a74ac78-691c-5b54-9dbe-5aafe8364627"})"),
            std::string::npos)
      << *json;
  auto csv = envelope_to_csv(bytes);
  ASSERT_TRUE(csv.ok()) << csv.status();
  EXPECT_NE(csv->find(",sell,1700000000120000000,,,,,,,\"2a74ac78-691c-5b54-9dbe-5aafe8364627\""), std::string::npos)
      << *csv;

  auto plain_json = envelope_to_json(enc.encode_trade({8, 100, 200}, "binance", sample_trade()));
  ASSERT_TRUE(plain_json.ok());
  EXPECT_EQ(plain_json->find("trade_id_text"), std::string::npos) << *plain_json;
  auto plain_csv = envelope_to_csv(enc.encode_trade({8, 100, 200}, "binance", sample_trade()));
  ASSERT_TRUE(plain_csv.ok());
  EXPECT_NE(plain_csv->find(",sell,1700000000120000000,,,,,,,"), std::string::npos) << *plain_csv;
  EXPECT_EQ(plain_csv->find('"', plain_csv->find(",sell,")), std::string::npos) << *plain_csv;
}

TEST(EnvelopeToJson, PrintsStatusRecordsWithEscapedDetail) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  StatusEvent s{StatusKind::kDisconnected, {}, 5, 9, 0, "closed \"abruptly\"\n"};
  auto json = envelope_to_json(enc.encode_status({3, 1, 2}, "binance", s));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"("kind":"status","status":"disconnected","from_id":5,"to_id":9)"), std::string::npos) << *json;
  EXPECT_NE(json->find(R"("detail":"closed \"abruptly\"\n")"), std::string::npos) << *json;
}

TEST(EnvelopeEncoder, ReportsAnExhaustedPoolInsteadOfEncoding) {
  middleware::BufferPoolConfig config;
  config.counts = {1, 1, 1, 1, 0, 1};  // no 16 KiB buffers at all
  middleware::BufferPool pool(config);
  EnvelopeEncoder enc(pool);
  EXPECT_FALSE(enc.ok());
  EXPECT_NE(std::string(middleware::status_text(enc.status())).find("16384-byte"), std::string::npos)
      << enc.status();
  EXPECT_TRUE(enc.encode_trade({1, 0, 0}, "binance", sample_trade()).empty());
}

TEST(EnvelopeToJson, RejectsDamagedBytesWithAnError) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  auto bytes = enc.encode_trade({1, 0, 0}, "binance", sample_trade());
  std::vector<std::byte> damaged(bytes.begin(), bytes.end());
  damaged[4] = std::byte{0xff};  // segment size far beyond the data
  damaged[5] = std::byte{0xff};
  EXPECT_FALSE(envelope_to_json(damaged).ok());
  EXPECT_FALSE(envelope_to_json(std::span(damaged).first(5)).ok());
  EXPECT_FALSE(envelope_to_json({}).ok());
}

proto::Envelope::Reader root(capnp::FlatArrayMessageReader& reader) { return reader.getRoot<proto::Envelope>(); }

Decimal decimal(proto::Decimal::Reader d) { return {d.getMantissa(), d.getExponent()}; }

std::vector<PriceLevel> levels(capnp::List<proto::Level>::Reader list) {
  std::vector<PriceLevel> out;
  for (auto l : list) out.push_back({decimal(l.getPrice()), decimal(l.getSize())});
  return out;
}

TEST(EnvelopeEncoder, RoundTripsAnAggregateTrade) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  TradeEvent t = sample_trade();
  t.aggregate = true;
  t.first_trade_id = 100;
  t.last_trade_id = 105;
  auto bytes = enc.encode_trade({1, 2, 3}, "binance", t);
  ASSERT_FALSE(bytes.empty());
  auto words = aligned(bytes);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  auto trade = root(reader).getTrade();
  EXPECT_TRUE(trade.getAggregate());
  EXPECT_EQ(trade.getFirstTradeId(), 100u);
  EXPECT_EQ(trade.getLastTradeId(), 105u);
  auto json = envelope_to_json(bytes);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"("kind":"agg_trade","trade_id":123456789)"), std::string::npos) << *json;
  EXPECT_NE(json->find(R"("first_trade_id":100,"last_trade_id":105})"), std::string::npos) << *json;
  auto csv = envelope_to_csv(bytes);
  ASSERT_TRUE(csv.ok()) << csv.status();
  EXPECT_NE(csv->find(",agg_trade,123456789,37000.10000000,"), std::string::npos) << *csv;
}

TEST(EnvelopeEncoder, RoundTripsAQuote) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  QuoteEvent q{"BNBUSDT", 400900217, {2535190000, -8}, {3121000000, -8}, {2536520000, -8}, {4066000000, -8}, 77};
  auto bytes = enc.encode_quote({9, 1, 2}, "binance", q);
  ASSERT_FALSE(bytes.empty());
  auto words = aligned(bytes);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  auto env = root(reader);
  ASSERT_EQ(env.which(), proto::Envelope::QUOTE);
  EXPECT_EQ(env.getExchNs(), 77u);
  EXPECT_STREQ(env.getSymbol().cStr(), "BNBUSDT");
  auto got = env.getQuote();
  EXPECT_EQ(got.getUpdateId(), 400900217u);
  EXPECT_EQ(decimal(got.getBidPrice()), q.bid_price);
  EXPECT_EQ(decimal(got.getBidSize()), q.bid_size);
  EXPECT_EQ(decimal(got.getAskPrice()), q.ask_price);
  EXPECT_EQ(decimal(got.getAskSize()), q.ask_size);
  auto json = envelope_to_json(bytes);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            R"({"seq":9,"mono_ns":1,"wall_ns":2,"exch_ns":77,"feed":"binance","symbol":"BNBUSDT","kind":"quote",)"
            R"("update_id":400900217,"bid_price":"25.35190000","bid_size":"31.21000000",)"
            R"("ask_price":"25.36520000","ask_size":"40.66000000"})");
  auto csv = envelope_to_csv(bytes);
  ASSERT_TRUE(csv.ok()) << csv.status();
  EXPECT_EQ(*csv, R"(9,1,2,77,"binance","BNBUSDT",quote,,,,,,400900217,25.35190000,31.21000000,25.36520000,)"
                  R"(40.66000000,,)");
}

TEST(EnvelopeEncoder, RoundTripsABookDeltaAndPrintsItsLevels) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  const std::vector<PriceLevel> bids{{{24, -4}, {10, 0}}, {{23, -4}, {0, 0}}};
  const std::vector<PriceLevel> asks{{{26, -4}, {100, 0}}};
  BookDeltaEvent d{"BNBBTC", 1672515782136000000, 157, 160, bids, asks};
  auto bytes = enc.encode_book_delta({5, 6, 7}, "binance", d);
  ASSERT_FALSE(bytes.empty());
  auto words = aligned(bytes);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  auto env = root(reader);
  ASSERT_EQ(env.which(), proto::Envelope::BOOK_DELTA);
  EXPECT_EQ(env.getExchNs(), 1672515782136000000u);
  EXPECT_EQ(env.getBookDelta().getFirstUpdateId(), 157u);
  EXPECT_EQ(env.getBookDelta().getLastUpdateId(), 160u);
  EXPECT_EQ(levels(env.getBookDelta().getBids()), bids);
  EXPECT_EQ(levels(env.getBookDelta().getAsks()), asks);
  auto json = envelope_to_json(bytes);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"("kind":"book_delta","first_update_id":157,"last_update_id":160,)"
                       R"("bids":[["0.0024","10"],["0.0023","0"]],"asks":[["0.0026","100"]]})"),
            std::string::npos)
      << *json;
  auto csv = envelope_to_csv(bytes);
  ASSERT_TRUE(csv.ok()) << csv.status();
  EXPECT_NE(csv->find(",book_delta,,,,,,160,"), std::string::npos) << *csv;
}

// The encoder writes book levels' Decimal structs itself, after what the
// builder wrote. Extreme decimals, an empty side and one level read back
// exactly with the Cap'n Proto reader, and the independent `capnp decode`
// tool prints them.
TEST(EnvelopeEncoder, BookLevelsItWritesItselfAreValidForTheReaderAndTheCapnpTool) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  const std::vector<PriceLevel> bids{{{INT64_MAX, -18}, {INT64_MIN, 127}}, {{-1, -128}, {0, 0}}, {{7, 5}, {1, -1}}};
  const std::vector<PriceLevel> asks;
  BookDeltaEvent d{"ETHUSDT", 5, 9, 9, bids, asks};
  auto delta = enc.encode_book_delta({11, 0, 0}, "bybit", d);
  ASSERT_FALSE(delta.empty());
  std::vector<std::byte> delta_copy(delta.begin(), delta.end());
  const std::vector<PriceLevel> one{{{3700001, -2}, {25, -3}}};
  BookSnapshotEvent snap{"ETHUSDT", 12, one, one};
  auto snapshot = enc.encode_book_snapshot({12, 0, 0}, "bybit", snap);
  ASSERT_FALSE(snapshot.empty());
  std::vector<std::byte> snapshot_copy(snapshot.begin(), snapshot.end());

  auto words = aligned(delta_copy);
  capnp::FlatArrayMessageReader delta_reader(kj::arrayPtr(words.data(), words.size()));
  ASSERT_EQ(root(delta_reader).which(), proto::Envelope::BOOK_DELTA);
  EXPECT_EQ(levels(root(delta_reader).getBookDelta().getBids()), bids);
  EXPECT_EQ(root(delta_reader).getBookDelta().getAsks().size(), 0u);
  auto snapshot_words = aligned(snapshot_copy);
  capnp::FlatArrayMessageReader snapshot_reader(kj::arrayPtr(snapshot_words.data(), snapshot_words.size()));
  EXPECT_EQ(levels(root(snapshot_reader).getBookSnapshot().getBids()), one);
  EXPECT_EQ(levels(root(snapshot_reader).getBookSnapshot().getAsks()), one);

  testing::TempDir dir("tickwire-codec");
  {
    std::ofstream f(dir / "records.bin", std::ios::binary);
    f.write(reinterpret_cast<const char*>(delta_copy.data()), static_cast<std::streamsize>(delta_copy.size()));
    f.write(reinterpret_cast<const char*>(snapshot_copy.data()), static_cast<std::streamsize>(snapshot_copy.size()));
  }
  const std::string schema = std::string(TICKWIRE_SOURCE_DIR) + "/proto/market_data.capnp";
  auto decoded = testing::run_command(
      {"/bin/sh", "-c", "capnp decode '" + schema + "' Envelope --short < '" + (dir / "records.bin").string() + "'"});
  ASSERT_EQ(decoded.exit_code, 0) << decoded.out;
  EXPECT_NE(decoded.out.find("bids = [(price = (mantissa = 9223372036854775807, exponent = -18), "
                             "size = (mantissa = -9223372036854775808, exponent = 127)), "
                             "(price = (mantissa = -1, exponent = -128), size = (mantissa = 0, exponent = 0)), "
                             "(price = (mantissa = 7, exponent = 5), size = (mantissa = 1, exponent = -1))], asks = []"),
            std::string::npos)
      << decoded.out;
  EXPECT_NE(decoded.out.find("bookSnapshot = (lastUpdateId = 12, bids = [(price = (mantissa = 3700001, exponent = -2), "
                             "size = (mantissa = 25, exponent = -3))]"),
            std::string::npos)
      << decoded.out;
}

// What the encoder wrote after the builder is zeroed again: a trade after
// a book delta is byte for byte the trade of a fresh encoder.
TEST(EnvelopeEncoder, ABookDeltaLeavesNothingInTheScratchForTheNextMessage) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  std::vector<PriceLevel> bids, asks;
  for (std::int64_t i = 0; i < 200; ++i) {
    bids.push_back({{-1 - i, -8}, {-1, -1}});
    asks.push_back({{INT64_MAX - i, 127}, {-1, -1}});
  }
  BookDeltaEvent d{"BTCUSDT", 1, 2, 3, bids, asks};
  ASSERT_FALSE(enc.encode_book_delta({1, 0, 0}, "bybit", d).empty());
  auto after = enc.encode_trade({2, 0, 0}, "bybit", sample_trade());
  std::vector<std::byte> after_copy(after.begin(), after.end());
  middleware::BufferPool fresh_pool;
  EnvelopeEncoder fresh(fresh_pool);
  auto expected = fresh.encode_trade({2, 0, 0}, "bybit", sample_trade());
  EXPECT_EQ(after_copy, std::vector<std::byte>(expected.begin(), expected.end()));
}

// A 5000-level-per-side snapshot does not fit the pool's 16 KiB buffers: it
// goes through the grown buffers, and still round-trips exactly; a small
// message after it uses the pool buffers again.
TEST(EnvelopeEncoder, RoundTripsAFullDepthSnapshotBeyondThePoolBuffer) {
  middleware::BufferPool pool;
  EnvelopeEncoder enc(pool);
  std::vector<PriceLevel> bids, asks;
  for (std::int64_t i = 0; i < 5000; ++i) {
    bids.push_back({{35210000 - i * 10000, -8}, {67200000000 + i, -8}});
    asks.push_back({{35220000 + i * 10000, -8}, {1000000000 + i, -8}});
  }
  BookSnapshotEvent snap{"NKNUSDT", 499869752, bids, asks};
  for (int round = 0; round < 2; ++round) {  // the second round reuses the grown buffers
    auto bytes = enc.encode_book_snapshot({1, 2, 3}, "binance", snap);
    ASSERT_FALSE(bytes.empty());
    EXPECT_GT(bytes.size(), EnvelopeEncoder::kBufferBytes);
    auto words = aligned(bytes);
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
    auto env = root(reader);
    ASSERT_EQ(env.which(), proto::Envelope::BOOK_SNAPSHOT);
    EXPECT_EQ(env.getExchNs(), 0u);
    EXPECT_EQ(env.getBookSnapshot().getLastUpdateId(), 499869752u);
    EXPECT_EQ(levels(env.getBookSnapshot().getBids()), bids);
    EXPECT_EQ(levels(env.getBookSnapshot().getAsks()), asks);
  }
  auto json = envelope_to_json(enc.encode_book_snapshot({1, 2, 3}, "binance", snap));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"("kind":"book_snapshot","last_update_id":499869752,"bids":[["0.35210000","672.00000000"],)"),
            std::string::npos);
  auto small = enc.encode_trade({2, 0, 0}, "binance", sample_trade());
  ASSERT_FALSE(small.empty());
  EXPECT_LT(small.size(), 512u);
  auto words = aligned(small);
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  EXPECT_EQ(root(reader).which(), proto::Envelope::TRADE);
  EXPECT_FALSE(root(reader).getTrade().getAggregate());
}

}  // namespace
}  // namespace tickwire::connector
