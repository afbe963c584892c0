// Feed benchmarks, per venue and message kind: the per-message cost of parse
// (whole-document validation included) -> normalize -> book update -> encode
// for Binance spot trade, bookTicker and depthUpdate and Binance USD-M
// depthUpdate (pu chain), markPriceUpdate and forceOrder, each next to its
// floor, and the validation pass alone (BM_*Validate): simdjson on-demand iterating every field of the same bytes
// (no normalization, no decimals, no output). Then the order book's
// per-update cost on a 5000-level book with updates clustered near the top,
// next to a std::map book using the same exact decimal comparison. Bybit v5
// publicTrade and orderbook delta (in-stream book, u by one) the same way, and
// OKX v5 trades, books update (chained by prevSeqId) and bbo-tbt.
// Kraken v2 trade and book update (depth 10, JSON numbers, cut to depth and
// checked by CRC-32 after every update), with the checksum alone beside it.
// Coinbase Advanced Trade market_trades and l2_data updates (in-stream
// book, ids the connection's sequence_num). For those four venues,
// BM_*Parse is the parser alone beside the pipeline.
// Messages are generated (deterministic seed) in the venues' exact shapes.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tickwire/connector/book/book_sync.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/connector/book/stream_sync.hpp"
#include "tickwire/connector/venues/binance/parser.hpp"
#include "tickwire/connector/venues/bybit/parser.hpp"
#include "tickwire/connector/venues/okx/parser.hpp"
#include "tickwire/connector/book/checksum_sync.hpp"
#include "tickwire/connector/venues/kraken/checksum.hpp"
#include "tickwire/connector/venues/kraken/parser.hpp"
#include "tickwire/connector/venues/coinbase/parser.hpp"
#include "tickwire/connector/venues/json_check.hpp"

namespace {

namespace tc = tickwire::connector;
namespace od = simdjson::ondemand;
using tc::Decimal;
using tc::PriceLevel;
using tc::book::BookSide;
using tc::book::OrderBook;

constexpr std::size_t kFrames = 4096;
constexpr std::size_t kDepthFrames = 65536;

// Frames: texts back to back, each followed by simdjson's padding, as the
// websocket session hands them over.
struct Frames {
  std::vector<std::string> texts;
  explicit Frames(std::vector<std::string> t) : texts(std::move(t)) {
    for (auto& s : texts) s.append(simdjson::SIMDJSON_PADDING, ' ');
  }
  std::size_t size(std::size_t i) const { return texts[i].size() - simdjson::SIMDJSON_PADDING; }
  std::size_t bytes() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) n += size(i);
    return n;
  }
};

std::string price_text(unsigned ticks) {  // ticks of 0.01 above 0
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u.%02u000000", ticks / 100, ticks % 100);
  return buf;
}

Frames trade_frames() {
  std::mt19937 rng(1);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  R"({"stream":"btcusdt@trade","data":{"e":"trade","E":%llu,"s":"BTCUSDT","t":%zu,"p":"%s",)"
                  R"("q":"0.%05u000","T":%llu,"m":%s,"M":true}})",
                  1700000000000ULL + i, 3000000000 + i, price_text(static_cast<unsigned>(3700000 + rng() % 1000)).c_str(),
                  static_cast<unsigned>(rng() % 100000), 1700000000000ULL + i, rng() % 2 ? "true" : "false");
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

Frames quote_frames() {
  std::mt19937 rng(2);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    const auto bid = static_cast<unsigned>(3700000 + rng() % 1000);
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  R"({"stream":"btcusdt@bookTicker","data":{"u":%zu,"s":"BTCUSDT","b":"%s","B":"%u.%08u",)"
                  R"("a":"%s","A":"%u.%08u"}})",
                  40000000000 + i, price_text(bid).c_str(), static_cast<unsigned>(rng() % 10),
                  static_cast<unsigned>(rng() % 100000000), price_text(bid + 1).c_str(),
                  static_cast<unsigned>(rng() % 10), static_cast<unsigned>(rng() % 100000000));
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

// Depth: contiguous update ids from 1001; 1-12 levels per side within 30
// ticks of the top (bids below 37000.00, asks above), a quarter deletions.
Frames depth_frames() {
  std::mt19937 rng(3);
  std::vector<std::string> out;
  std::uint64_t id = 1001;
  for (std::size_t i = 0; i < kDepthFrames; ++i) {
    const std::uint64_t first = id;
    const std::uint64_t last = id + rng() % 3;
    id = last + 1;
    std::string f = R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":)" +
                    std::to_string(1700000000000 + i) + R"(,"s":"BTCUSDT","U":)" + std::to_string(first) +
                    R"(,"u":)" + std::to_string(last);
    for (const char* side : {R"(,"b":[)", R"(],"a":[)"}) {
      f += side;
      const auto levels = static_cast<unsigned>(1 + rng() % 12);
      for (unsigned k = 0; k < levels; ++k) {
        const auto distance = static_cast<unsigned>(rng() % 30);
        const unsigned ticks = side[2] == 'b' ? 3700000 - 1 - distance : 3700000 + 1 + distance;
        const unsigned size = rng() % 4 == 0 ? 0 : static_cast<unsigned>(rng() % 100000);
        char buf[64];
        std::snprintf(buf, sizeof buf, R"(%s["%s","%u.%05u000"])", k ? "," : "", price_text(ticks).c_str(),
                      size / 100000, size % 100000);
        f += buf;
      }
    }
    f += "]}}";
    out.push_back(std::move(f));
  }
  return Frames(std::move(out));
}

// walk: visits every value of a JSON value (the floor's work per field).
simdjson::error_code walk(od::value v, std::uint64_t& sink) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      for (auto field : o) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return e;
        sink += key.size();
        if (auto e = walk(field.value(), sink)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto item : a) {
        od::value iv;
        if (auto e = item.get(iv)) return e;
        if (auto e2 = walk(iv, sink)) return e2;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return e;
      sink += s.size();
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      // A fraction (Kraken's prices are JSON numbers): its text, as a parser of exact decimals reads it.
      const std::string_view text = v.raw_json_token();
      if (text.find_first_of(".eE-") != std::string_view::npos) {
        sink += text.size();
        return simdjson::SUCCESS;
      }
      std::uint64_t n = 0;
      if (auto e = v.get_uint64().get(n)) return e;
      sink += n;
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b = false;
      if (auto e = v.get_bool().get(b)) return e;
      sink += b;
      return simdjson::SUCCESS;
    }
    case od::json_type::null:
      return simdjson::SUCCESS;
  }
  return simdjson::SUCCESS;
}

void run_floor(benchmark::State& state, const Frames& frames) {
  od::parser parser;
  std::uint64_t sink = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& f = frames.texts[i];
    od::document doc;
    if (parser.iterate(simdjson::padded_string_view(f.data(), frames.size(i), f.size())).get(doc)) {
      state.SkipWithError("iterate");
      return;
    }
    od::value root;
    if (doc.get_value().get(root) || walk(root, sink)) {
      state.SkipWithError("walk");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frames.bytes() / frames.texts.size()));
}

// run_parse: `parser.parse` alone over `frames` (no normalize, book or
// encode), to split a pipeline's cost; every frame's first event is `want`.
template <typename Parser>
void run_parse(benchmark::State& state, const Frames& frames, Parser& parser, tc::EventKind want) {
  std::size_t i = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    benchmark::DoNotOptimize(&m);
    if (m.event != want) {
      state.SkipWithError("parse");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

const Frames& trades() {
  static const Frames f = trade_frames();
  return f;
}
const Frames& quotes() {
  static const Frames f = quote_frames();
  return f;
}
const Frames& depths() {
  static const Frames f = depth_frames();
  return f;
}

Frames mark_price_frames() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  R"({"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":%llu,"s":"BTCUSDT",)"
                  R"("p":"%s","i":"%s","P":"%s","r":"0.000%03zu00","T":1700006400000}})",
                  1700000000000ull + i * 1000, price_text(3700000 + static_cast<unsigned>(i % 500)).c_str(),
                  price_text(3699990 + static_cast<unsigned>(i % 500)).c_str(),
                  price_text(3699995 + static_cast<unsigned>(i % 500)).c_str(), i % 1000);
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

Frames force_order_frames() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  R"({"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":%llu,"o":{"s":"BTCUSDT",)"
                  R"("S":"%s","o":"LIMIT","f":"IOC","q":"0.%03zu","p":"%s","ap":"%s","X":"FILLED",)"
                  R"("l":"0.%03zu","z":"0.%03zu","T":%llu}}})",
                  1700000000000ull + i * 1000, i % 2 ? "SELL" : "BUY", i % 1000 + 1,
                  price_text(3700000 + static_cast<unsigned>(i % 500)).c_str(),
                  price_text(3700000 + static_cast<unsigned>(i % 500)).c_str(), i % 1000 + 1, i % 1000 + 1,
                  1700000000000ull + i * 1000);
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

const Frames& mark_prices() {
  static const Frames f = mark_price_frames();
  return f;
}
const Frames& force_orders() {
  static const Frames f = force_order_frames();
  return f;
}

// run_validate: the whole-document check alone over the same bytes.
void run_validate(benchmark::State& state, const Frames& frames) {
  od::parser parser;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& f = frames.texts[i];
    od::document doc;
    if (parser.iterate(simdjson::padded_string_view(f.data(), frames.size(i), f.size())).get(doc) ||
        tc::venues::check_document(doc, {f.data(), frames.size(i)}) != nullptr) {
      state.SkipWithError("validate");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// run_usdm: parse (USD-M dialect) and encode with `encode`, which returns the bytes.
template <typename Encode>
void run_usdm(benchmark::State& state, const Frames& frames, tc::EventKind want, Encode&& encode) {
  tc::venues::BinanceParser parser(tc::venues::BinanceDialect::kUsdm);
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    auto bytes = encode(encoder, ++seq, m);
    benchmark::DoNotOptimize(bytes.data());
    if (m.event != want || bytes.empty()) {
      state.SkipWithError(parser.error().empty() ? "encode" : "parse");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_UsdmMarkPriceFloor(benchmark::State& state) { run_floor(state, mark_prices()); }
void BM_UsdmMarkPriceValidate(benchmark::State& state) { run_validate(state, mark_prices()); }
void BM_UsdmMarkPricePipeline(benchmark::State& state) {
  run_usdm(state, mark_prices(), tc::EventKind::kFunding, [](tc::EnvelopeEncoder& e, std::uint64_t seq, auto& m) {
    e.set_instrument("BTC-USDT-PERP", tc::InstrumentKind::kPerpetual);
    return e.encode_funding({seq, 0, 0}, "binance-usdm", m.funding);
  });
}
void BM_UsdmForceOrderFloor(benchmark::State& state) { run_floor(state, force_orders()); }
void BM_UsdmForceOrderValidate(benchmark::State& state) { run_validate(state, force_orders()); }
void BM_UsdmForceOrderPipeline(benchmark::State& state) {
  run_usdm(state, force_orders(), tc::EventKind::kLiquidation,
           [](tc::EnvelopeEncoder& e, std::uint64_t seq, auto& m) {
             e.set_instrument("BTC-USDT-PERP", tc::InstrumentKind::kPerpetual);
             return e.encode_liquidation({seq, 0, 0}, "binance-usdm", m.liquidation);
           });
}
void BM_TradeValidate(benchmark::State& state) { run_validate(state, trades()); }
void BM_QuoteValidate(benchmark::State& state) { run_validate(state, quotes()); }
void BM_DepthValidate(benchmark::State& state) { run_validate(state, depths()); }

void BM_TradeFloor(benchmark::State& state) { run_floor(state, trades()); }
void BM_QuoteFloor(benchmark::State& state) { run_floor(state, quotes()); }
void BM_DepthFloor(benchmark::State& state) { run_floor(state, depths()); }

void BM_TradePipeline(benchmark::State& state) {
  const Frames& frames = trades();
  tc::venues::BinanceParser parser;
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    auto bytes = encoder.encode_trade({++seq, 0, 0}, "binance", m.trade, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (m.event != tc::EventKind::kTrade || bytes.empty()) {
      state.SkipWithError(parser.error().empty() ? "encode" : "parse");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Parse alone (no encode), to split the pipeline's cost.
void BM_TradeParse(benchmark::State& state) {
  const Frames& frames = trades();
  tc::venues::BinanceParser parser;
  std::size_t i = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    benchmark::DoNotOptimize(m.trade.price);
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_QuotePipeline(benchmark::State& state) {
  const Frames& frames = quotes();
  tc::venues::BinanceParser parser;
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    auto bytes = encoder.encode_quote({++seq, 0, 0}, "binance", m.quote, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (m.event != tc::EventKind::kQuote || bytes.empty()) {
      state.SkipWithError("quote");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// full_snapshot: 5000 levels a side around the depth frames' top, valid at
// the update id before the first frame.
struct FullSnapshot {
  std::vector<PriceLevel> bids, asks;
  FullSnapshot() {
    for (std::int64_t k = 0; k < 5000; ++k) {
      bids.push_back({{(3700000 - 1 - k) * 1000000, -8}, {100000000 + k, -8}});
      asks.push_back({{(3700000 + 1 + k) * 1000000, -8}, {100000000 + k, -8}});
    }
  }
  tc::BookSnapshotEvent event() const { return {"BTCUSDT", 1000, bids, asks}; }
};

void BM_DepthPipeline(benchmark::State& state) {
  const Frames& frames = depths();
  const FullSnapshot snapshot;
  tc::venues::BinanceParser parser;
  tc::book::BookSync sync;
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  if (sync.on_snapshot(snapshot.event()).outcome != tc::book::SyncOutcome::kSynced) {
    state.SkipWithError("snapshot");
    return;
  }
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    const auto outcome = sync.on_delta(m.delta).outcome;
    auto bytes = encoder.encode_book_delta({++seq, 0, 0}, "binance", m.delta, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (outcome != tc::book::SyncOutcome::kApplied || bytes.empty()) {
      state.SkipWithError("depth");
      return;
    }
    if (++i == frames.texts.size()) {
      // The ids start over: resync onto the snapshot (once per 65536 frames).
      i = 0;
      if (sync.on_snapshot(snapshot.event()).outcome != tc::book::SyncOutcome::kSynced) {
        state.SkipWithError("resync");
        return;
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Bybit: one trade per publicTrade frame (linear key order), and orderbook.50
// deltas with u stepping by one from 1001, 1-12 levels a side near the top.
Frames bybit_trade_frames() {
  std::mt19937 rng(5);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":%llu,"data":[{"T":%llu,"s":"BTCUSDT",)"
                  R"("S":"%s","v":"0.%03u","p":"%s","L":"PlusTick","i":"2a74ac78-691c-5b54-9dbe-%012zu",)"
                  R"("BT":false,"RPI":false,"seq":%zu}]})",
                  1700000000001ULL + i, 1700000000000ULL + i, rng() % 2 ? "Buy" : "Sell",
                  static_cast<unsigned>(1 + rng() % 999), price_text(static_cast<unsigned>(3700000 + rng() % 1000)).c_str(),
                  i, 457514743450 + i);
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

Frames bybit_depth_frames() {
  std::mt19937 rng(6);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kDepthFrames; ++i) {
    std::string f = R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":)" + std::to_string(1700000000000 + i) +
                    R"(,"data":{"s":"BTCUSDT")";
    for (const char* side : {R"(,"b":[)", R"(],"a":[)"}) {
      f += side;
      const auto levels = static_cast<unsigned>(1 + rng() % 12);
      for (unsigned k = 0; k < levels; ++k) {
        const auto distance = static_cast<unsigned>(rng() % 30);
        const unsigned ticks = side[2] == 'b' ? 3700000 - 1 - distance : 3700000 + 1 + distance;
        const unsigned size = rng() % 4 == 0 ? 0 : static_cast<unsigned>(rng() % 100000);
        char buf[64];
        std::snprintf(buf, sizeof buf, R"(%s["%s","%u.%03u"])", k ? "," : "", price_text(ticks).c_str(),
                      size / 1000, size % 1000);
        f += buf;
      }
    }
    f += R"(],"u":)" + std::to_string(1001 + i) + R"(,"seq":)" + std::to_string(457538796406 + i) +
         R"(},"cts":)" + std::to_string(1700000000000 + i) + "}";
    out.push_back(std::move(f));
  }
  return Frames(std::move(out));
}

const Frames& bybit_trades() {
  static const Frames f = bybit_trade_frames();
  return f;
}
const Frames& bybit_depths() {
  static const Frames f = bybit_depth_frames();
  return f;
}

void BM_BybitTradeFloor(benchmark::State& state) { run_floor(state, bybit_trades()); }
void BM_BybitTradePipeline(benchmark::State& state) {
  const Frames& frames = bybit_trades();
  const std::vector<std::string> symbols = {"BTCUSDT"};
  tc::venues::BybitParser parser(tc::venues::BybitCategory::kLinear, symbols);
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    auto bytes = encoder.encode_trade({++seq, 0, 0}, "bybit", m.trade, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (m.event != tc::EventKind::kTrade || bytes.empty() || parser.next(m)) {
      state.SkipWithError(parser.error().empty() ? "encode" : "parse");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_BybitTradeParse(benchmark::State& state) {
  const std::vector<std::string> symbols = {"BTCUSDT"};
  tc::venues::BybitParser parser(tc::venues::BybitCategory::kLinear, symbols);
  run_parse(state, bybit_trades(), parser, tc::EventKind::kTrade);
}

void BM_BybitDepthFloor(benchmark::State& state) { run_floor(state, bybit_depths()); }
void BM_BybitDepthPipeline(benchmark::State& state) {
  const Frames& frames = bybit_depths();
  const FullSnapshot snapshot;
  const std::vector<std::string> symbols = {"BTCUSDT"};
  tc::venues::BybitParser parser(tc::venues::BybitCategory::kLinear, symbols);
  tc::book::StreamSync sync;
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  if (sync.on_snapshot(snapshot.event()).outcome != tc::book::StreamOutcome::kReplaced) {
    state.SkipWithError("snapshot");
    return;
  }
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    const auto outcome = sync.on_delta(m.delta).outcome;
    auto bytes = encoder.encode_book_delta({++seq, 0, 0}, "bybit", m.delta, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (outcome != tc::book::StreamOutcome::kApplied || bytes.empty()) {
      state.SkipWithError("depth");
      return;
    }
    if (++i == frames.texts.size()) {
      // The ids start over: the same snapshot again (once per 65536 frames).
      i = 0;
      sync = tc::book::StreamSync();
      if (sync.on_snapshot(snapshot.event()).outcome != tc::book::StreamOutcome::kReplaced) {
        state.SkipWithError("resync");
        return;
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_BybitDepthParse(benchmark::State& state) {
  const std::vector<std::string> symbols = {"BTCUSDT"};
  tc::venues::BybitParser parser(tc::venues::BybitCategory::kLinear, symbols);
  run_parse(state, bybit_depths(), parser, tc::EventKind::kBookDelta);
}

// Coinbase: one trade per market_trades frame, and l2_data updates of 1-12
// levels a side near the top, sequence_num stepping by one (the connection
// carries nothing else here).
Frames coinbase_trade_frames() {
  std::mt19937 rng(7);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  R"({"channel":"market_trades","client_id":"","timestamp":"2026-04-07T14:30:02.%09zuZ",)"
                  R"("sequence_num":%zu,"events":[{"type":"update","trades":[{"trade_id":"%zu","product_id":"BTC-USD",)"
                  R"("price":"%s","size":"0.%08u","side":"%s","time":"2026-04-07T14:30:02.%06zuZ"}]}]})",
                  i, i + 1, 995098700 + i, price_text(static_cast<unsigned>(3700000 + rng() % 1000)).c_str(),
                  static_cast<unsigned>(1 + rng() % 99999999), rng() % 2 ? "BUY" : "SELL", i);
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

Frames coinbase_depth_frames() {
  std::mt19937 rng(8);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kDepthFrames; ++i) {
    std::string f = R"({"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01.456789Z","sequence_num":)" +
                    std::to_string(1 + i) + R"(,"events":[{"type":"update","product_id":"BTC-USD","updates":[)";
    bool first = true;
    for (const char* side : {"bid", "offer"}) {
      const auto levels = static_cast<unsigned>(1 + rng() % 12);
      for (unsigned k = 0; k < levels; ++k) {
        const auto distance = static_cast<unsigned>(rng() % 30);
        const unsigned ticks = side[0] == 'b' ? 3700000 - 1 - distance : 3700000 + 1 + distance;
        const unsigned size = rng() % 4 == 0 ? 0 : static_cast<unsigned>(rng() % 100000);
        char buf[192];
        std::snprintf(buf, sizeof buf,
                      R"(%s{"side":"%s","event_time":"2026-04-07T14:30:01.456789Z","price_level":"%s",)"
                      R"("new_quantity":"%u.%08u"})",
                      first ? "" : ",", side, price_text(ticks).c_str(), size / 1000, size % 1000);
        f += buf;
        first = false;
      }
    }
    f += "]}]}";
    out.push_back(std::move(f));
  }
  return Frames(std::move(out));
}

const Frames& coinbase_trades() {
  static const Frames f = coinbase_trade_frames();
  return f;
}
const Frames& coinbase_depths() {
  static const Frames f = coinbase_depth_frames();
  return f;
}

void BM_CoinbaseTradeFloor(benchmark::State& state) { run_floor(state, coinbase_trades()); }
void BM_CoinbaseTradePipeline(benchmark::State& state) {
  const Frames& frames = coinbase_trades();
  tc::venues::CoinbaseParser parser;
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    auto bytes = encoder.encode_trade({++seq, 0, 0}, "coinbase", m.trade, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (m.event != tc::EventKind::kTrade || bytes.empty() || parser.next(m)) {
      state.SkipWithError(parser.error().empty() ? "encode" : "parse");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_CoinbaseTradeParse(benchmark::State& state) {
  tc::venues::CoinbaseParser parser;
  run_parse(state, coinbase_trades(), parser, tc::EventKind::kTrade);
}

void BM_CoinbaseDepthFloor(benchmark::State& state) { run_floor(state, coinbase_depths()); }
void BM_CoinbaseDepthPipeline(benchmark::State& state) {
  const Frames& frames = coinbase_depths();
  const FullSnapshot snapshot;
  tc::venues::CoinbaseParser parser;
  tc::book::StreamSync sync(OrderBook::kDefaultReserve, nullptr, 0, true);
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  // The snapshot at sequence 0 (FullSnapshot's id is above every frame's: a fresh one per lap).
  auto resync = [&] {
    tc::BookSnapshotEvent s = snapshot.event();
    s.last_update_id = 0;
    sync = tc::book::StreamSync(OrderBook::kDefaultReserve, nullptr, 0, true);
    return sync.on_snapshot(s).outcome == tc::book::StreamOutcome::kReplaced;
  };
  if (!resync()) {
    state.SkipWithError("snapshot");
    return;
  }
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    const auto outcome = sync.on_delta(m.delta).outcome;
    auto bytes = encoder.encode_book_delta({++seq, 0, 0}, "coinbase", m.delta, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (outcome != tc::book::StreamOutcome::kApplied || bytes.empty()) {
      state.SkipWithError("depth");
      return;
    }
    if (++i == frames.texts.size()) {
      i = 0;
      if (!resync()) {
        state.SkipWithError("resync");
        return;
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_CoinbaseDepthParse(benchmark::State& state) {
  tc::venues::CoinbaseParser parser;
  run_parse(state, coinbase_depths(), parser, tc::EventKind::kBookDelta);
}

// Order book per-update cost: a 5000-level-a-side book; each update sets one
// level whose distance from the top of the price grid is geometric-like
// (most within 10 ticks, a few up to 5000), a tenth of them deletions.
struct Update {
  BookSide side;
  PriceLevel level;
};

const std::vector<Update>& book_updates() {
  static const std::vector<Update> updates = [] {
    std::mt19937 rng(4);
    std::vector<Update> out;
    for (int i = 0; i < (1 << 16); ++i) {
      const bool bid = rng() % 2 == 0;
      std::int64_t distance = rng() % 10;
      if (rng() % 8 == 0) distance = rng() % 200;
      if (rng() % 64 == 0) distance = rng() % 5000;
      const std::int64_t ticks = bid ? 3700000 - 1 - distance : 3700000 + 1 + distance;
      const std::int64_t size = rng() % 10 == 0 ? 0 : static_cast<std::int64_t>(1 + rng() % 100000);
      out.push_back({bid ? BookSide::kBid : BookSide::kAsk, {{ticks * 1000000, -8}, {size, -5}}});
    }
    return out;
  }();
  return updates;
}

// OKX: one trade per trades frame (2026 shape, with count and seqId), books
// updates chained by prevSeqId from 1000 (seqId skipping 1-7 ids), 1-12
// levels a side near the top as [px, sz, "0", orders], and bbo-tbt.
Frames okx_trade_frames() {
  std::mt19937 rng(7);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  R"({"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP",)"
                  R"("tradeId":"%zu","px":"%s","sz":"%u","side":"%s","ts":"%llu","count":"1","source":"0",)"
                  R"("seqId":%zu}]})",
                  2832749635 + i, price_text(static_cast<unsigned>(3700000 + rng() % 1000)).c_str(),
                  static_cast<unsigned>(1 + rng() % 999), rng() % 2 ? "buy" : "sell", 1786540435948ULL + i,
                  333793117432 + i);
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

Frames okx_depth_frames() {
  std::mt19937 rng(8);
  std::vector<std::string> out;
  std::uint64_t seq = 1000;
  for (std::size_t i = 0; i < kDepthFrames; ++i) {
    std::string f = R"({"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"action":"update","data":[{)";
    for (const bool bids : {false, true}) {
      f += bids ? R"(],"bids":[)" : R"("asks":[)";
      const auto levels = static_cast<unsigned>(1 + rng() % 12);
      for (unsigned k = 0; k < levels; ++k) {
        const auto distance = static_cast<unsigned>(rng() % 30);
        const unsigned ticks = bids ? 3700000 - 1 - distance : 3700000 + 1 + distance;
        const unsigned size = rng() % 4 == 0 ? 0 : static_cast<unsigned>(rng() % 100000);
        char buf[80];
        std::snprintf(buf, sizeof buf, R"(%s["%s","%u.%03u","0","%u"])", k ? "," : "", price_text(ticks).c_str(),
                      size / 1000, size % 1000, size == 0 ? 0 : 1 + size % 9);
        f += buf;
      }
    }
    const std::uint64_t next = seq + 1 + rng() % 7;
    f += R"(],"ts":")" + std::to_string(1700000000000 + i) + R"(","checksum":0,"prevSeqId":)" + std::to_string(seq) +
         R"(,"seqId":)" + std::to_string(next) + "}]}";
    seq = next;
    out.push_back(std::move(f));
  }
  return Frames(std::move(out));
}

Frames okx_bbo_frames() {
  std::mt19937 rng(9);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    const auto bid = static_cast<unsigned>(3700000 - rng() % 20);
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  R"({"arg":{"channel":"bbo-tbt","instId":"BTC-USDT-SWAP"},"data":[{"asks":[["%s","%u","0","%u"]],)"
                  R"("bids":[["%s","%u","0","%u"]],"ts":"%llu","seqId":%zu}]})",
                  price_text(bid + 1 + static_cast<unsigned>(rng() % 3)).c_str(), static_cast<unsigned>(1 + rng() % 9999),
                  static_cast<unsigned>(1 + rng() % 9), price_text(bid).c_str(), static_cast<unsigned>(1 + rng() % 9999),
                  static_cast<unsigned>(1 + rng() % 9), 1700000000000ULL + i, 363996337 + i);
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

const Frames& okx_trades() {
  static const Frames f = okx_trade_frames();
  return f;
}
const Frames& okx_depths() {
  static const Frames f = okx_depth_frames();
  return f;
}
const Frames& okx_bbos() {
  static const Frames f = okx_bbo_frames();
  return f;
}

void BM_OkxTradeFloor(benchmark::State& state) { run_floor(state, okx_trades()); }
void BM_OkxTradePipeline(benchmark::State& state) {
  const Frames& frames = okx_trades();
  const std::vector<std::string> symbols = {"BTC-USDT-SWAP"};
  tc::venues::OkxParser parser(symbols);
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    auto bytes = encoder.encode_trade({++seq, 0, 0}, "okx", m.trade, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (m.event != tc::EventKind::kAggTrade || bytes.empty() || parser.next(m)) {
      state.SkipWithError(parser.error().empty() ? "encode" : "parse");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_OkxTradeParse(benchmark::State& state) {
  const std::vector<std::string> symbols = {"BTC-USDT-SWAP"};
  tc::venues::OkxParser parser(symbols);
  run_parse(state, okx_trades(), parser, tc::EventKind::kAggTrade);
}

void BM_OkxBooksFloor(benchmark::State& state) { run_floor(state, okx_depths()); }
void BM_OkxBooksPipeline(benchmark::State& state) {
  const Frames& frames = okx_depths();
  const FullSnapshot snapshot;
  const std::vector<std::string> symbols = {"BTC-USDT-SWAP"};
  tc::venues::OkxParser parser(symbols);
  tc::book::StreamSync sync;
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  if (sync.on_snapshot(snapshot.event()).outcome != tc::book::StreamOutcome::kReplaced) {
    state.SkipWithError("snapshot");
    return;
  }
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    const auto outcome = sync.on_delta(m.delta).outcome;
    auto bytes = encoder.encode_book_delta({++seq, 0, 0}, "okx", m.delta, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (outcome != tc::book::StreamOutcome::kApplied || bytes.empty()) {
      state.SkipWithError("books");
      return;
    }
    if (++i == frames.texts.size()) {
      // The chain starts over at the snapshot's seqId (once per 65536 frames).
      i = 0;
      sync = tc::book::StreamSync();
      if (sync.on_snapshot(snapshot.event()).outcome != tc::book::StreamOutcome::kReplaced) {
        state.SkipWithError("resync");
        return;
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_OkxBooksParse(benchmark::State& state) {
  const std::vector<std::string> symbols = {"BTC-USDT-SWAP"};
  tc::venues::OkxParser parser(symbols);
  run_parse(state, okx_depths(), parser, tc::EventKind::kBookDelta);
}

void BM_OkxBboFloor(benchmark::State& state) { run_floor(state, okx_bbos()); }
void BM_OkxBboPipeline(benchmark::State& state) {
  const Frames& frames = okx_bbos();
  const std::vector<std::string> symbols = {"BTC-USDT-SWAP"};
  tc::venues::OkxParser parser(symbols);
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    auto bytes = encoder.encode_quote({++seq, 0, 0}, "okx", m.quote, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (m.event != tc::EventKind::kQuote || bytes.empty()) {
      state.SkipWithError(parser.error().empty() ? "encode" : "parse");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_OkxBboParse(benchmark::State& state) {
  const std::vector<std::string> symbols = {"BTC-USDT-SWAP"};
  tc::venues::OkxParser parser(symbols);
  run_parse(state, okx_bbos(), parser, tc::EventKind::kQuote);
}

// Kraken v2: one trade per `trade` frame, and `book` updates of a depth-10
// book (1-3 levels a side near the top, a delete one time in six) whose
// checksums are those of the book the generator keeps (cut to 10, precision
// 1 and 8), so every update verifies.
std::string kraken_qty(unsigned tenths_of_milli) {  // units of 0.0001, as a JSON number without trailing zeros
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u.%04u", tenths_of_milli / 10000, tenths_of_milli % 10000);
  std::string s = buf;
  while (s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}
std::string kraken_price(unsigned tenths) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u.%u", tenths / 10, tenths % 10);
  return buf;
}

Frames kraken_trade_frames() {
  std::mt19937 rng(7);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kFrames; ++i) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  R"({"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"%s","price":%s,)"
                  R"("qty":%s,"ord_type":"market","trade_id":%zu,"timestamp":"2023-10-06T17:35:55.440295Z"}]})",
                  rng() % 2 ? "buy" : "sell", kraken_price(static_cast<unsigned>(370000 + rng() % 1000)).c_str(),
                  kraken_qty(static_cast<unsigned>(1 + rng() % 99999)).c_str(), 10218208 + i);
    out.emplace_back(buf);
  }
  return Frames(std::move(out));
}

constexpr unsigned kKrakenMid = 370000;  // tenths: 37000.0

std::vector<PriceLevel> kraken_snapshot_side(bool bids) {
  std::vector<PriceLevel> out;
  for (unsigned k = 0; k < 10; ++k) {
    const unsigned tenths = bids ? kKrakenMid - 1 - k : kKrakenMid + 1 + k;
    out.push_back({{static_cast<std::int64_t>(tenths), -1}, {static_cast<std::int64_t>(10000 + k), -4}});
  }
  return out;
}

// KrakenTop: the generator's book cut to 10 after one update, as the
// checksum reads it.
struct KrakenTop {
  std::vector<PriceLevel> asks;
  std::vector<PriceLevel> bids;
};

// kKrakenTops: the books BM_KrakenChecksumCached cycles through (~650 KB,
// within L2, as a live book's levels are in cache).
constexpr std::size_t kKrakenTops = 1024;

// kraken_depth_frames: the update frames, and in `tops` (when given) the book
// after each of the first kKrakenTops.
Frames kraken_depth_frames(std::vector<KrakenTop>* tops = nullptr) {
  std::mt19937 rng(8);
  OrderBook book(64);
  const auto bids0 = kraken_snapshot_side(true), asks0 = kraken_snapshot_side(false);
  if (!book.load(bids0, asks0)) std::abort();
  std::vector<PriceLevel> removed_bids, removed_asks, top_bids(10), top_asks(10);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kDepthFrames; ++i) {
    std::string f = R"({"channel":"book","type":"update","data":[{"symbol":"BTC/USD")";
    std::vector<PriceLevel> side_levels[2];
    for (int s = 0; s < 2; ++s) {
      f += s == 0 ? R"(,"bids":[)" : R"(],"asks":[)";
      const auto levels = static_cast<unsigned>(1 + rng() % 3);
      for (unsigned k = 0; k < levels; ++k) {
        const auto distance = static_cast<unsigned>(rng() % 12);
        const unsigned tenths = s == 0 ? kKrakenMid - 1 - distance : kKrakenMid + 1 + distance;
        const unsigned qty = rng() % 6 == 0 ? 0 : static_cast<unsigned>(1 + rng() % 99999);
        f += (k ? "," : "") + std::string(R"({"price":)") + kraken_price(tenths) + R"(,"qty":)" + kraken_qty(qty) + "}";
        side_levels[s].push_back({{static_cast<std::int64_t>(tenths), -1}, {static_cast<std::int64_t>(qty), -4}});
      }
    }
    if (!book.apply(side_levels[0], side_levels[1])) std::abort();
    book.truncate(10, removed_bids, removed_asks);
    const std::size_t nb = book.top(BookSide::kBid, top_bids), na = book.top(BookSide::kAsk, top_asks);
    const std::uint32_t sum = tc::venues::kraken::book_checksum({top_asks.data(), na}, {top_bids.data(), nb}, 1, 8);
    if (tops != nullptr && tops->size() < kKrakenTops) {
      tops->push_back({{top_asks.begin(), top_asks.begin() + na}, {top_bids.begin(), top_bids.begin() + nb}});
    }
    f += R"(],"checksum":)" + std::to_string(sum) + R"(,"timestamp":"2023-10-06T17:35:55.440295Z"}]})";
    out.push_back(std::move(f));
  }
  return Frames(std::move(out));
}

const Frames& kraken_trades() {
  static const Frames f = kraken_trade_frames();
  return f;
}
const Frames& kraken_depths() {
  static const Frames f = kraken_depth_frames();
  return f;
}
const std::vector<KrakenTop>& kraken_depth_tops() {
  static const std::vector<KrakenTop> tops = [] {
    std::vector<KrakenTop> t;
    kraken_depth_frames(&t);
    return t;
  }();
  return tops;
}

const std::string kKrakenInstrument =
    std::string(R"({"channel":"instrument","type":"snapshot","data":{"pairs":[{"symbol":"BTC/USD","price_precision":1,)"
                R"("qty_precision":8}]}})") +
    std::string(simdjson::SIMDJSON_PADDING, ' ');

void BM_KrakenTradeFloor(benchmark::State& state) { run_floor(state, kraken_trades()); }
void BM_KrakenTradePipeline(benchmark::State& state) {
  const Frames& frames = kraken_trades();
  const std::vector<std::string> symbols = {"BTC/USD"};
  tc::venues::KrakenParser parser(symbols);
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    auto bytes = encoder.encode_trade({++seq, 0, 0}, "kraken", m.trade, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (m.event != tc::EventKind::kTrade || bytes.empty() || parser.next(m)) {
      state.SkipWithError(parser.error().empty() ? "encode" : "parse");
      return;
    }
    if (++i == frames.texts.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_KrakenTradeParse(benchmark::State& state) {
  const std::vector<std::string> symbols = {"BTC/USD"};
  tc::venues::KrakenParser parser(symbols);
  run_parse(state, kraken_trades(), parser, tc::EventKind::kTrade);
}

// load_kraken_instrument: the instrument message that sets BTC/USD's
// precisions; false (the benchmark skipped) if the parser refuses it.
bool load_kraken_instrument(tc::venues::KrakenParser& parser, benchmark::State& state) {
  if (parser.parse(kKrakenInstrument.data(), kKrakenInstrument.size() - simdjson::SIMDJSON_PADDING).event ==
      tc::EventKind::kError) {
    state.SkipWithError("instrument");
    return false;
  }
  return true;
}

// run_kraken_depth: parse -> ChecksumSync (cut to 10, checksum when `check`) -> encode.
void run_kraken_depth(benchmark::State& state, bool check) {
  const Frames& frames = kraken_depths();
  const std::vector<std::string> symbols = {"BTC/USD"};
  tc::venues::KrakenParser parser(symbols);
  if (!load_kraken_instrument(parser, state)) return;
  const tc::book::BookChecksum* checksum = check ? parser.book_checksum() : nullptr;
  const auto bids0 = kraken_snapshot_side(true), asks0 = kraken_snapshot_side(false);
  tc::BookSnapshotEvent snapshot{"BTC/USD", 0, bids0, asks0};
  tc::book::ChecksumSync sync("BTC/USD", 10, 10, 64);
  tickwire::middleware::BufferPool pool;
  tc::EnvelopeEncoder encoder(pool);
  std::size_t i = 0;
  std::uint64_t seq = 0;
  if (sync.on_snapshot(snapshot, nullptr).outcome != tc::book::ChecksumOutcome::kReplaced) {
    state.SkipWithError("snapshot");
    return;
  }
  for (auto _ : state) {
    auto m = parser.parse(frames.texts[i].data(), frames.size(i));
    const auto r = sync.on_delta(m.delta, checksum);
    m.delta.bids = sync.applied_bids();
    m.delta.asks = sync.applied_asks();
    m.delta.first_update_id = m.delta.last_update_id = r.id;
    auto bytes = encoder.encode_book_delta({++seq, 0, 0}, "kraken", m.delta, 0);
    benchmark::DoNotOptimize(bytes.data());
    if (r.outcome != tc::book::ChecksumOutcome::kApplied || bytes.empty()) {
      state.SkipWithError(r.outcome == tc::book::ChecksumOutcome::kMismatch ? "checksum mismatch" : "depth");
      return;
    }
    if (++i == frames.texts.size()) {
      // The frames continue the generator's book: start it again (once per 65536 frames).
      i = 0;
      sync.reset();
      if (sync.on_snapshot(snapshot, nullptr).outcome != tc::book::ChecksumOutcome::kReplaced) {
        state.SkipWithError("resync");
        return;
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_KrakenDepthFloor(benchmark::State& state) { run_floor(state, kraken_depths()); }
void BM_KrakenDepthPipeline(benchmark::State& state) { run_kraken_depth(state, true); }
void BM_KrakenDepthPipelineNoChecksum(benchmark::State& state) { run_kraken_depth(state, false); }

// BM_KrakenChecksum: the checksum alone over a depth-10 book (both sides, precision 1 and 8).
void BM_KrakenChecksum(benchmark::State& state) {
  const auto bids = kraken_snapshot_side(true), asks = kraken_snapshot_side(false);
  for (auto _ : state) {
    benchmark::DoNotOptimize(tc::venues::kraken::book_checksum(asks, bids, 1, 8));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// BM_KrakenChecksumCached: BookChecksummer over the generator's book after
// each update in turn (1-3 levels a side changed; one full format per
// kKrakenTops, where the sequence starts again), as a parser keeps one per
// book; the book_checksum peer is BM_KrakenChecksum.
void BM_KrakenChecksumCached(benchmark::State& state) {
  const std::vector<KrakenTop>& tops = kraken_depth_tops();
  tc::venues::kraken::BookChecksummer checksummer;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(checksummer.checksum(tops[i].asks, tops[i].bids, 1, 8));
    if (++i == tops.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_KrakenDepthParse(benchmark::State& state) {
  const std::vector<std::string> symbols = {"BTC/USD"};
  tc::venues::KrakenParser parser(symbols);
  if (!load_kraken_instrument(parser, state)) return;
  run_parse(state, kraken_depths(), parser, tc::EventKind::kBookDelta);
}

void BM_OrderBookUpdate(benchmark::State& state) {
  const FullSnapshot snapshot;
  OrderBook book;
  if (!book.load(snapshot.bids, snapshot.asks)) std::abort();
  const auto& updates = book_updates();
  std::size_t i = 0;
  for (auto _ : state) {
    const Update& u = updates[i];
    benchmark::DoNotOptimize(book.set_level(u.side, u.level));
    if (++i == updates.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["bid_levels"] = static_cast<double>(book.depth(BookSide::kBid));
}

struct DecimalLess {
  bool operator()(const Decimal& a, const Decimal& b) const { return tc::book::compare_decimal(a, b) < 0; }
};
struct DecimalGreater {
  bool operator()(const Decimal& a, const Decimal& b) const { return tc::book::compare_decimal(a, b) > 0; }
};

void BM_StdMapBookUpdate(benchmark::State& state) {
  const FullSnapshot snapshot;
  std::map<Decimal, Decimal, DecimalGreater> bids;
  std::map<Decimal, Decimal, DecimalLess> asks;
  for (const auto& l : snapshot.bids) bids[l.price] = l.size;
  for (const auto& l : snapshot.asks) asks[l.price] = l.size;
  const auto& updates = book_updates();
  std::size_t i = 0;
  auto set = [](auto& side, const PriceLevel& l) {
    if (l.size.mantissa == 0) {
      side.erase(l.price);
    } else {
      side.insert_or_assign(l.price, l.size);
    }
  };
  for (auto _ : state) {
    const Update& u = updates[i];
    if (u.side == BookSide::kBid) {
      set(bids, u.level);
    } else {
      set(asks, u.level);
    }
    benchmark::DoNotOptimize(bids.begin()->second);
    if (++i == updates.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["bid_levels"] = static_cast<double>(bids.size());
}

// Top-10 query into a caller's buffer.
void BM_OrderBookTop10(benchmark::State& state) {
  const FullSnapshot snapshot;
  OrderBook book;
  if (!book.load(snapshot.bids, snapshot.asks)) std::abort();
  PriceLevel out[10];
  for (auto _ : state) {
    benchmark::DoNotOptimize(book.top(BookSide::kBid, out));
    benchmark::DoNotOptimize(book.top(BookSide::kAsk, out));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(BM_TradeFloor);
BENCHMARK(BM_TradeValidate);
BENCHMARK(BM_TradeParse);
BENCHMARK(BM_TradePipeline);
BENCHMARK(BM_QuoteFloor);
BENCHMARK(BM_QuoteValidate);
BENCHMARK(BM_QuotePipeline);
BENCHMARK(BM_DepthFloor);
BENCHMARK(BM_DepthValidate);
BENCHMARK(BM_DepthPipeline);
BENCHMARK(BM_UsdmMarkPriceFloor);
BENCHMARK(BM_UsdmMarkPriceValidate);
BENCHMARK(BM_UsdmMarkPricePipeline);
BENCHMARK(BM_UsdmForceOrderFloor);
BENCHMARK(BM_UsdmForceOrderValidate);
BENCHMARK(BM_UsdmForceOrderPipeline);
BENCHMARK(BM_BybitTradeFloor);
BENCHMARK(BM_BybitTradeParse);
BENCHMARK(BM_BybitTradePipeline);
BENCHMARK(BM_BybitDepthFloor);
BENCHMARK(BM_BybitDepthParse);
BENCHMARK(BM_BybitDepthPipeline);
BENCHMARK(BM_OkxTradeFloor);
BENCHMARK(BM_OkxTradeParse);
BENCHMARK(BM_OkxTradePipeline);
BENCHMARK(BM_OkxBooksFloor);
BENCHMARK(BM_OkxBooksParse);
BENCHMARK(BM_OkxBooksPipeline);
BENCHMARK(BM_OkxBboFloor);
BENCHMARK(BM_OkxBboParse);
BENCHMARK(BM_OkxBboPipeline);
BENCHMARK(BM_KrakenTradeFloor);
BENCHMARK(BM_KrakenTradeParse);
BENCHMARK(BM_KrakenTradePipeline);
BENCHMARK(BM_KrakenDepthFloor);
BENCHMARK(BM_KrakenDepthParse);
BENCHMARK(BM_KrakenDepthPipeline);
BENCHMARK(BM_KrakenDepthPipelineNoChecksum);
BENCHMARK(BM_KrakenChecksum);
BENCHMARK(BM_KrakenChecksumCached);
BENCHMARK(BM_CoinbaseTradeFloor);
BENCHMARK(BM_CoinbaseTradeParse);
BENCHMARK(BM_CoinbaseTradePipeline);
BENCHMARK(BM_CoinbaseDepthFloor);
BENCHMARK(BM_CoinbaseDepthParse);
BENCHMARK(BM_CoinbaseDepthPipeline);
BENCHMARK(BM_OrderBookUpdate);
BENCHMARK(BM_StdMapBookUpdate);
BENCHMARK(BM_OrderBookTop10);

BENCHMARK_MAIN();
