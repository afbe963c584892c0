#include "tickwire/connector/envelope_codec.hpp"

#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

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

}  // namespace
}  // namespace tickwire::connector
