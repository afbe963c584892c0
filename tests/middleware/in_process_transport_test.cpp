#include "tickwire/middleware/in_process_transport.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tickwire/middleware/subject.hpp"

namespace tickwire::middleware {
namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(Subject, MatchesNatsWildcards) {
  EXPECT_TRUE(subject_matches("prod.binance.trade.BTCUSDT", "prod.binance.trade.BTCUSDT"));
  EXPECT_TRUE(subject_matches("prod.*.trade.*", "prod.binance.trade.BTCUSDT"));
  EXPECT_TRUE(subject_matches("prod.>", "prod.binance.trade.BTCUSDT"));
  EXPECT_FALSE(subject_matches("prod.>", "prod"));
  EXPECT_FALSE(subject_matches("prod.*", "prod.binance.trade"));
  EXPECT_FALSE(subject_matches("prod.binance.trade", "prod.binance.trade.BTCUSDT"));
  EXPECT_FALSE(subject_matches("prod.binance.trade.BTCUSDT.x", "prod.binance.trade.BTCUSDT"));
  EXPECT_FALSE(subject_matches("*.binance.quote.*", "prod.binance.trade.BTCUSDT"));
}

TEST(Subject, ValidatesSubjectsAndPatterns) {
  EXPECT_EQ(make_subject("prod", "binance", "trade", "BTCUSDT"), "prod.binance.trade.BTCUSDT");
  EXPECT_TRUE(is_valid_subject("a.b.c"));
  EXPECT_FALSE(is_valid_subject("a..c"));
  EXPECT_FALSE(is_valid_subject("a.*.c"));
  EXPECT_FALSE(is_valid_subject("a b.c"));
  EXPECT_FALSE(is_valid_subject(""));
  EXPECT_TRUE(is_valid_pattern("a.*.>"));
  EXPECT_FALSE(is_valid_pattern("a.>.c"));
  EXPECT_FALSE(is_valid_pattern("a.b*.c"));
}

TEST(InProcessTransport, DeliversToMatchingSubscribersInOrderWithIncreasingSequences) {
  InProcessTransport t;
  std::vector<std::string> all, btc;
  std::vector<std::uint64_t> seqs;
  auto a = t.subscribe("dev.binance.trade.*", [&](const Message& m) {
    all.emplace_back(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
    seqs.push_back(m.sequence);
  });
  auto b = t.subscribe("dev.binance.trade.BTCUSDT", [&](const Message& m) { btc.emplace_back(m.subject); });
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(t.publish("dev.binance.trade.BTCUSDT", bytes("1")), 1u);
  EXPECT_EQ(t.publish("dev.binance.trade.ETHUSDT", bytes("2")), 2u);
  EXPECT_EQ(t.publish("dev.binance.quote.ETHUSDT", bytes("3")), 3u);
  EXPECT_EQ(t.publish("dev.binance.trade.BTCUSDT", bytes("4")), 4u);
  EXPECT_EQ(all, (std::vector<std::string>{"1", "2", "4"}));
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 4}));
  EXPECT_EQ(btc, (std::vector<std::string>{"dev.binance.trade.BTCUSDT", "dev.binance.trade.BTCUSDT"}));
  EXPECT_EQ(t.stats(*a).received, 3u);
  EXPECT_EQ(t.stats(*b).received, 2u);
}

TEST(InProcessTransport, StopsDeliveringAfterUnsubscribe) {
  InProcessTransport t;
  int calls = 0;
  auto id = t.subscribe(">", [&](const Message&) { ++calls; });
  ASSERT_TRUE(id.ok());
  t.publish("x.y", bytes("a"));
  t.unsubscribe(*id);
  t.publish("x.y", bytes("b"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(t.stats(*id).received, 0u);
}

TEST(InProcessTransport, RejectsAnInvalidPattern) {
  InProcessTransport t;
  auto id = t.subscribe("a.>.b", [](const Message&) {});
  ASSERT_FALSE(id.ok());
  EXPECT_NE(std::string(id.status().message()).find("a.>.b"), std::string::npos);
}

}  // namespace
}  // namespace tickwire::middleware
