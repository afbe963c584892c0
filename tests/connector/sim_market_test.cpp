#include "tickwire/connector/sim_market.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tickwire/connector/feeds/binance.hpp"

namespace tickwire::connector {
namespace {

TEST(SimMarket, IsDeterministicForASeed) {
  SimMarket a({"BTCUSDT", "ETHUSDT"}, 1000, 99);
  SimMarket b({"BTCUSDT", "ETHUSDT"}, 1000, 99);
  SimMarket c({"BTCUSDT", "ETHUSDT"}, 1000, 100);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(a.next_gap_ns(), b.next_gap_ns());
    c.next_gap_ns();
    auto ma = a.next_trade(1700000000000);
    EXPECT_EQ(ma.text, b.next_trade(1700000000000).text);
    differs |= ma.text != c.next_trade(1700000000000).text;
  }
  EXPECT_TRUE(differs);
}

TEST(SimMarket, ProducesTradesTheBinanceParserAccepts) {
  SimMarket m({"BTCUSDT", "ETHUSDT", "SOLUSDT"}, 1000, 1);
  feeds::BinanceParser p;
  std::uint64_t last_id[3] = {0, 0, 0};
  for (int i = 0; i < 5000; ++i) {
    auto msg = m.next_trade(1700000000000 + static_cast<std::uint64_t>(i));
    std::string buf = msg.text + std::string(simdjson::SIMDJSON_PADDING, '\0');
    auto parsed = p.parse(buf.data(), msg.text.size());
    ASSERT_EQ(parsed.kind, feeds::MessageKind::kTrade) << p.error() << " in " << msg.text;
    EXPECT_EQ(parsed.trade.symbol, m.symbols()[msg.symbol_index]);
    EXPECT_GT(parsed.trade.trade_id, last_id[msg.symbol_index]);  // ids increase per symbol
    last_id[msg.symbol_index] = parsed.trade.trade_id;
    EXPECT_GT(parsed.trade.price.mantissa, 0);
    EXPECT_GT(parsed.trade.size.mantissa, 0);
  }
}

TEST(SimMarket, HasPoissonGapsWithTheConfiguredMean) {
  SimMarket m({"BTCUSDT"}, 2000, 5);
  const int n = 200000;
  double sum = 0;
  double sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double g = static_cast<double>(m.next_gap_ns());
    sum += g;
    sum_sq += g * g;
  }
  const double mean = sum / n;
  const double stddev = std::sqrt(sum_sq / n - mean * mean);
  // Exponential: mean = stddev = 1/rate = 500 us; 200k samples put both within 1%.
  EXPECT_NEAR(mean, 500'000, 5'000);
  EXPECT_NEAR(stddev, 500'000, 5'000);
}

}  // namespace
}  // namespace tickwire::connector
