#include "tickwire/connector/sim_market.hpp"

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <map>

#include "tickwire/connector/feeds/binance.hpp"

namespace tickwire::connector {
namespace {

const std::vector<std::string> kSymbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT"};

std::int64_t units(std::string_view text) {
  const auto dot = text.find('.');
  EXPECT_NE(dot, std::string_view::npos) << text;
  EXPECT_EQ(text.size() - dot - 1, 8u) << text;
  return std::stoll(std::string(text.substr(0, dot))) * 100'000'000 + std::stoll(std::string(text.substr(dot + 1)));
}

// ReplayedBook: a book rebuilt from depth diffs, as a client would.
struct ReplayedBook {
  std::map<std::int64_t, std::int64_t> bids, asks;
  std::uint64_t last_u = 0;

  void apply_levels(simdjson::dom::array levels, std::map<std::int64_t, std::int64_t>& side) {
    for (simdjson::dom::array level : levels) {
      const std::int64_t price = units(std::string_view(level.at(0)));
      const std::int64_t qty = units(std::string_view(level.at(1)));
      if (qty == 0) {
        side.erase(price);
      } else {
        side[price] = qty;
      }
    }
  }
  void apply(simdjson::dom::element data) {
    apply_levels(data["b"], bids);
    apply_levels(data["a"], asks);
    last_u = std::uint64_t(data["u"]);
  }
  void load(const SimBook& b) {
    bids.clear();
    asks.clear();
    for (const auto& l : b.bids) bids[l.price] = l.qty;
    for (const auto& l : b.asks) asks[l.price] = l.qty;
    last_u = b.last_update_id;
  }
  SimBook view() const {
    SimBook out{last_u, {}, {}};
    for (auto it = bids.rbegin(); it != bids.rend(); ++it) out.bids.push_back({it->first, it->second});
    for (const auto& [p, q] : asks) out.asks.push_back({p, q});
    return out;
  }
};

TEST(SimMarket, IsDeterministicForASeed) {
  SimMarket a(kSymbols, 1000, 99);
  SimMarket b(kSymbols, 1000, 99);
  SimMarket c(kSymbols, 1000, 100);
  std::vector<SimMarket::Message> ma, mb, mc;
  for (int i = 0; i < 5000; ++i) {
    a.advance(ma);
    b.advance(mb);
    c.advance(mc);
  }
  ASSERT_EQ(ma.size(), mb.size());
  for (std::size_t i = 0; i < ma.size(); ++i) ASSERT_EQ(ma[i].text, mb[i].text) << i;
  EXPECT_EQ(a.now_ns(), b.now_ns());
  bool differs = ma.size() != mc.size();
  for (std::size_t i = 0; !differs && i < ma.size(); ++i) differs = ma[i].text != mc[i].text;
  EXPECT_TRUE(differs);
}

// Bybit's depth-limited views, once enabled: orderbook.50 deltas keep a book
// built from the depth-50 snapshot equal to the market's best 50 levels a
// side, `u` stepping by one; orderbook.1 sends a one-level snapshot per change
// of the top with a new `u`, and the same snapshot (same `u`, `seq`, levels)
// again when a batch finds the top unchanged 3 s after it was last sent.
TEST(SimMarket, BybitDepthViewsFollowTheTopAndLevel1RepeatsAnUnchangedSnapshot) {
  // A slow market (an order every 2.5 s on average): the top stays put for 3 s at times.
  SimMarket m({"BTCUSDT"}, 0.4, 5, SimMarket::kDefaultEpochMs, 100, SimDialect::kBybitSpot);
  m.enable_bybit_depth(1);
  m.enable_bybit_depth(50);
  simdjson::dom::parser parser;
  using Side = std::map<std::int64_t, std::int64_t>;
  auto apply = [](Side& side, simdjson::dom::array levels) {
    for (simdjson::dom::array l : levels) {
      const std::int64_t price = units(std::string_view(l.at(0)));
      const std::int64_t qty = units(std::string_view(l.at(1)));
      if (qty == 0) {
        side.erase(price);
      } else {
        side[price] = qty;
      }
    }
  };
  Side bids, asks;
  std::uint64_t u50 = 0;
  {
    const std::string snap = m.bybit_book_snapshot(0, 50);
    simdjson::dom::element o = parser.parse(snap);
    EXPECT_EQ(std::string_view(o["topic"]), "orderbook.50.BTCUSDT");
    apply(bids, o["data"]["b"]);
    apply(asks, o["data"]["a"]);
    u50 = std::uint64_t(o["data"]["u"]);
  }
  std::uint64_t last_u1 = 0, last_seq1 = 0, last_ts1 = 0;
  std::string last_levels1;
  std::size_t deltas50 = 0, changes1 = 0, repeats1 = 0;
  std::vector<SimMarket::Message> out;
  for (int i = 0; i < 200000 && repeats1 < 3; ++i) {
    out.clear();
    m.advance(out);
    for (const auto& msg : out) {
      if (msg.stream == "orderbook.50.BTCUSDT") {
        simdjson::dom::element o = parser.parse(msg.text);
        EXPECT_EQ(std::string_view(o["type"]), "delta");
        EXPECT_EQ(std::uint64_t(o["data"]["u"]), u50 + 1);
        u50 = std::uint64_t(o["data"]["u"]);
        apply(bids, o["data"]["b"]);
        apply(asks, o["data"]["a"]);
        ASSERT_LE(bids.size(), 50u);
        ASSERT_LE(asks.size(), 50u);
        ++deltas50;
      } else if (msg.stream == "orderbook.1.BTCUSDT") {
        simdjson::dom::element o = parser.parse(msg.text);
        EXPECT_EQ(std::string_view(o["type"]), "snapshot");
        const std::uint64_t u = o["data"]["u"], seq = o["data"]["seq"], ts = o["ts"];
        EXPECT_EQ(simdjson::dom::array(o["data"]["b"]).size(), 1u);
        EXPECT_EQ(simdjson::dom::array(o["data"]["a"]).size(), 1u);
        const std::string levels = simdjson::minify(o["data"]["b"]) + simdjson::minify(o["data"]["a"]);
        if (u == last_u1) {
          ++repeats1;
          EXPECT_EQ(seq, last_seq1);
          EXPECT_EQ(levels, last_levels1);
          EXPECT_GE(ts, last_ts1 + SimMarket::kBybitLevel1RepeatMs);
        } else {
          if (last_u1 != 0) {
            EXPECT_EQ(u, last_u1 + 1);
            EXPECT_NE(levels, last_levels1);
          }
          ++changes1;
        }
        last_u1 = u;
        last_seq1 = seq;
        last_ts1 = ts;
        last_levels1 = levels;
      }
    }
  }
  EXPECT_GT(deltas50, 0u);
  EXPECT_GT(changes1, 1u);
  EXPECT_GE(repeats1, 3u) << "no level-1 repeat in " << changes1 << " changes";
  // The book the deltas built is the market's best 50 now.
  Side want_bids, want_asks;
  simdjson::dom::element o = parser.parse(m.bybit_book_snapshot(0, 50));
  apply(want_bids, o["data"]["b"]);
  apply(want_asks, o["data"]["a"]);
  EXPECT_EQ(bids, want_bids);
  EXPECT_EQ(asks, want_asks);
  EXPECT_EQ(std::uint64_t(o["data"]["u"]), u50);
}

TEST(SimMarket, EmitsEveryChannelInTheBinanceShapes) {
  SimMarket m(kSymbols, 1000, 3);
  std::vector<SimMarket::Message> out;
  while (out.size() < 2000) m.advance(out);
  std::map<SimChannel, int> seen;
  simdjson::dom::parser parser;
  for (const auto& msg : out) {
    ++seen[msg.channel];
    simdjson::dom::element combined = parser.parse(msg.text);
    EXPECT_EQ(std::string_view(combined["stream"]), msg.stream);
    simdjson::dom::element data = combined["data"];
    EXPECT_EQ(std::string_view(data["s"]), kSymbols[msg.symbol_index]);
    switch (msg.channel) {
      case SimChannel::kTrade:
        EXPECT_EQ(std::string_view(data["e"]), "trade");
        EXPECT_EQ(std::uint64_t(data["t"]), msg.first_id);
        break;
      case SimChannel::kAggTrade:
        EXPECT_EQ(std::string_view(data["e"]), "aggTrade");
        EXPECT_LE(std::uint64_t(data["f"]), std::uint64_t(data["l"]));
        break;
      case SimChannel::kBookTicker:
        EXPECT_EQ(std::uint64_t(data["u"]), msg.first_id);
        EXPECT_LT(units(std::string_view(data["b"])), units(std::string_view(data["a"])));
        break;
      case SimChannel::kDepth:
        EXPECT_EQ(std::string_view(data["e"]), "depthUpdate");
        EXPECT_EQ(msg.stream.substr(msg.stream.find('@')), "@depth@100ms");
        break;
      case SimChannel::kMarkPrice:
      case SimChannel::kForceOrder:
        ADD_FAILURE() << "a USD-M message from the spot market: " << msg.text;
        break;
    }
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(SimMarket, SpeaksUsdmWithPrevIdChainedDiffsFundingAndLiquidations) {
  SimMarket m(kSymbols, 1000, 3, SimMarket::kDefaultEpochMs, 100, SimDialect::kUsdm);
  std::vector<SimMarket::Message> out;
  while (out.size() < 20000) m.advance(out);
  std::map<SimChannel, int> seen;
  std::map<std::size_t, std::uint64_t> last_u;  // symbol -> the previous diff's u
  simdjson::dom::parser parser;
  for (const auto& msg : out) {
    ++seen[msg.channel];
    simdjson::dom::element combined = parser.parse(msg.text);
    EXPECT_EQ(std::string_view(combined["stream"]), msg.stream);
    simdjson::dom::element data = combined["data"];
    switch (msg.channel) {
      case SimChannel::kTrade:
        EXPECT_EQ(std::string_view(data["X"]), "MARKET");
        EXPECT_EQ(std::uint64_t(data["T"]), std::uint64_t(data["E"]));
        break;
      case SimChannel::kAggTrade:
        EXPECT_TRUE(data["M"].error()) << "USD-M's aggTrade has no M: " << msg.data;
        break;
      case SimChannel::kBookTicker:
        EXPECT_EQ(std::string_view(data["e"]), "bookTicker");
        EXPECT_EQ(std::uint64_t(data["E"]), msg.time_ms);
        EXPECT_EQ(std::uint64_t(data["T"]), msg.time_ms);
        break;
      case SimChannel::kDepth:
        EXPECT_EQ(std::uint64_t(data["pu"]), last_u[msg.symbol_index]) << msg.data;
        EXPECT_EQ(std::uint64_t(data["T"]), msg.time_ms);
        last_u[msg.symbol_index] = std::uint64_t(data["u"]);
        break;
      case SimChannel::kMarkPrice: {
        EXPECT_EQ(std::string_view(data["e"]), "markPriceUpdate");
        EXPECT_EQ(msg.stream.substr(msg.stream.find('@')), "@markPrice@1s");
        EXPECT_EQ(std::uint64_t(data["E"]) % 1000, SimMarket::kDefaultEpochMs % 1000);
        EXPECT_GT(std::uint64_t(data["T"]), std::uint64_t(data["E"]));
        for (const char* f : {"p", "i", "P", "r"}) EXPECT_FALSE(data[f].get_string().error()) << f;
        break;
      }
      case SimChannel::kForceOrder: {
        EXPECT_EQ(std::string_view(data["e"]), "forceOrder");
        simdjson::dom::element o = data["o"];
        EXPECT_EQ(std::string_view(o["s"]), kSymbols[msg.symbol_index]);
        EXPECT_EQ(std::string_view(o["X"]), "FILLED");
        const std::string_view side = o["S"];
        const auto limit = units(std::string_view(o["p"]));
        const auto fill = units(std::string_view(o["ap"]));
        EXPECT_TRUE(side == "BUY" ? limit > fill : limit < fill) << msg.data;
        EXPECT_EQ(std::string_view(o["q"]), std::string_view(o["z"]));
        break;
      }
    }
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_GT(seen[SimChannel::kForceOrder], 0);
  // The published book's id is the last diff's u: what /fapi/v1/depth serves
  // and the next diff's pu.
  for (const auto& [symbol, u] : last_u) EXPECT_EQ(m.published_book(symbol).last_update_id, u);
}

TEST(SimMarket, DepthDiffsAreContiguousAndReplayToThePublishedBook) {
  SimMarket m(kSymbols, 2000, 11);
  std::vector<ReplayedBook> books(kSymbols.size());
  simdjson::dom::parser parser;
  int diffs = 0;
  for (int step = 0; step < 20000; ++step) {
    std::vector<SimMarket::Message> out;
    m.advance(out);
    for (const auto& msg : out) {
      if (msg.channel != SimChannel::kDepth) continue;
      ReplayedBook& rb = books[msg.symbol_index];
      simdjson::dom::element data = parser.parse(msg.data);
      ASSERT_EQ(std::uint64_t(data["U"]), rb.last_u + 1) << msg.data;
      rb.apply(data);
      ASSERT_EQ(rb.view(), m.published_book(msg.symbol_index)) << "after " << msg.data;
      ++diffs;
    }
  }
  EXPECT_GT(diffs, 100);
  std::vector<SimMarket::Message> out;
  m.flush(out);
  for (const auto& msg : out) books[msg.symbol_index].apply(parser.parse(msg.data));
  for (std::size_t i = 0; i < kSymbols.size(); ++i) {
    EXPECT_EQ(books[i].view(), m.book(i));
    EXPECT_EQ(m.published_book(i), m.book(i));
  }
}

TEST(SimMarket, LiveSnapshotPlusLaterDiffsFollowsBinancesSyncProcedure) {
  SimMarket m(kSymbols, 5000, 21);
  simdjson::dom::parser parser;
  int straddled = 0;
  for (int round = 0; round < 50; ++round) {
    std::vector<SimMarket::Message> out;
    for (int i = 0; i < 37; ++i) m.advance(out);  // lands anywhere inside a diff batch
    ReplayedBook rb;
    rb.load(m.book(0));
    const std::uint64_t snapshot_id = rb.last_u;
    bool first = true;
    out.clear();
    for (int i = 0; i < 200; ++i) m.advance(out);
    m.flush(out);
    for (const auto& msg : out) {
      if (msg.channel != SimChannel::kDepth || msg.symbol_index != 0) continue;
      simdjson::dom::element data = parser.parse(msg.data);
      const std::uint64_t U = data["U"], u = data["u"];
      if (u <= snapshot_id) continue;
      if (first) {
        ASSERT_LE(U, snapshot_id + 1);
        straddled += U < snapshot_id + 1 ? 1 : 0;
        first = false;
      } else {
        ASSERT_EQ(U, rb.last_u + 1);
      }
      rb.apply(data);
    }
    ASSERT_EQ(rb.view(), m.book(0)) << "round " << round;
  }
  EXPECT_GT(straddled, 0);  // some snapshots fell inside a batch
}

TEST(SimMarket, BookTickerMatchesTheBook) {
  SimMarket m(kSymbols, 1000, 5);
  simdjson::dom::parser parser;
  int tickers = 0;
  for (int step = 0; step < 10000; ++step) {
    std::vector<SimMarket::Message> out;
    m.advance(out);
    for (const auto& msg : out) {
      if (msg.channel != SimChannel::kBookTicker) continue;
      simdjson::dom::element data = parser.parse(msg.data);
      const SimBook top = m.book(msg.symbol_index, 1);
      ASSERT_EQ(std::uint64_t(data["u"]), top.last_update_id);
      ASSERT_EQ(units(std::string_view(data["b"])), top.bids.at(0).price);
      ASSERT_EQ(units(std::string_view(data["B"])), top.bids.at(0).qty);
      ASSERT_EQ(units(std::string_view(data["a"])), top.asks.at(0).price);
      ASSERT_EQ(units(std::string_view(data["A"])), top.asks.at(0).qty);
      ++tickers;
    }
  }
  EXPECT_GT(tickers, 1000);
}

TEST(SimMarket, TradesConsumeLiquidityAtTheTouch) {
  SimMarket m(kSymbols, 1000, 8);
  simdjson::dom::parser parser;
  std::vector<std::uint64_t> next_trade(kSymbols.size(), 0);
  int takers = 0;
  for (int step = 0; step < 10000; ++step) {
    std::vector<SimBook> before;
    for (std::size_t i = 0; i < kSymbols.size(); ++i) before.push_back(m.book(i));
    std::vector<SimMarket::Message> out;
    m.advance(out);
    std::int64_t traded = 0;
    for (const auto& msg : out) {
      simdjson::dom::element data = parser.parse(msg.data);
      if (msg.channel == SimChannel::kTrade) {
        const std::uint64_t t = data["t"];
        if (next_trade[msg.symbol_index] != 0) {
          ASSERT_EQ(t, next_trade[msg.symbol_index]);
        }
        next_trade[msg.symbol_index] = t + 1;
        traded += units(std::string_view(data["q"]));
      }
      if (msg.channel != SimChannel::kAggTrade) continue;
      ++takers;
      ASSERT_EQ(std::uint64_t(data["l"]) + 1, next_trade[msg.symbol_index]);
      const std::int64_t qty = units(std::string_view(data["q"]));
      ASSERT_EQ(qty, traded);
      const std::int64_t price = units(std::string_view(data["p"]));
      const bool sell_took = bool(data["m"]);
      const SimBook& b = before[msg.symbol_index];
      const SimLevel touch = sell_took ? b.bids.at(0) : b.asks.at(0);
      ASSERT_EQ(price, touch.price);
      const SimBook after = m.book(msg.symbol_index);
      const auto& side = sell_took ? after.bids : after.asks;
      const auto it = std::find_if(side.begin(), side.end(), [&](const SimLevel& l) { return l.price == price; });
      const std::int64_t left = it == side.end() ? 0 : it->qty;
      ASSERT_EQ(left, touch.qty - qty);
    }
  }
  EXPECT_GT(takers, 500);
}

TEST(SimMarket, ProducesTradesTheBinanceParserAccepts) {
  SimMarket m(kSymbols, 1000, 1);
  feeds::BinanceParser p;
  std::vector<SimMarket::Message> out;
  int trades = 0;
  while (trades < 2000) {
    out.clear();
    m.advance(out);
    for (const auto& msg : out) {
      if (msg.channel != SimChannel::kTrade) continue;
      std::string buf = msg.text + std::string(simdjson::SIMDJSON_PADDING, '\0');
      auto parsed = p.parse(buf.data(), msg.text.size());
      ASSERT_EQ(parsed.kind, feeds::MessageKind::kTrade) << p.error() << " in " << msg.text;
      EXPECT_EQ(parsed.trade.symbol, m.symbols()[msg.symbol_index]);
      EXPECT_EQ(parsed.trade.trade_id, msg.first_id);
      EXPECT_GT(parsed.trade.price.mantissa, 0);
      EXPECT_GT(parsed.trade.size.mantissa, 0);
      ++trades;
    }
  }
}

TEST(SimMarket, RestDepthBodyHonoursTheLimit) {
  SimMarket m(kSymbols, 1000, 2);
  const std::string body = SimMarket::depth_json(m.book(1, 5));
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(body);
  EXPECT_EQ(std::uint64_t(doc["lastUpdateId"]), m.book(1).last_update_id);
  EXPECT_EQ(simdjson::dom::array(doc["bids"]).size(), 5u);
  EXPECT_EQ(simdjson::dom::array(doc["asks"]).size(), 5u);
  EXPECT_EQ(SimMarket::format_units(1'000'000), "0.01000000");
}

TEST(SimMarket, UsdmRestDepthBodyCarriesEventAndTransactionTime) {
  SimMarket m(kSymbols, 1000, 2, SimMarket::kDefaultEpochMs, 100, SimDialect::kUsdm);
  const std::string body = SimMarket::depth_json(m.book(1, 5), m.now_ms());
  EXPECT_EQ(body.rfind(fmt::format(R"({{"lastUpdateId":{},"E":{},"T":{},"bids":[)", m.book(1).last_update_id,
                                   m.now_ms(), m.now_ms()),
                       0),
            0u)
      << body;
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
