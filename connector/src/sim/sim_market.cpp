#include "tickwire/connector/sim_market.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace tickwire::connector {
namespace {

constexpr int kInitialLevels = 20;   // per side, at market time 0
constexpr std::size_t kMaxLevels = 60;  // per side; deeper levels are cancelled
constexpr std::size_t kCancelReach = 10;  // cancels hit one of the best N levels
constexpr std::uint64_t kFundingPeriodMs = 8 * 3600 * 1000;  // USD-M funds every 8 h
constexpr std::int64_t kBaseFundingRate = 10'000;           // 0.0001 in 10^-8 units
constexpr std::uint64_t kLiquidationOneIn = 10;             // USD-M: taker orders that are liquidations
constexpr std::int64_t kBankruptcyTicks = 10;               // a liquidation's limit price beyond its fill
constexpr std::uint64_t kForceOrderSpacingMs = 1000;        // at most one forceOrder per symbol a second

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::uint64_t draw(std::mt19937_64& rng, std::uint64_t n) { return rng() % n; }

void append_levels(std::string& out, const std::map<std::int64_t, std::int64_t>& side, bool descending,
                   std::size_t limit) {
  out += '[';
  std::size_t n = 0;
  auto put = [&](std::int64_t price, std::int64_t qty) {
    if (n++ != 0) out += ',';
    fmt::format_to(std::back_inserter(out), R"(["{}","{}"])", SimMarket::format_units(price),
                   SimMarket::format_units(qty));
  };
  if (descending) {
    for (auto it = side.rbegin(); it != side.rend() && (limit == 0 || n < limit); ++it) put(it->first, it->second);
  } else {
    for (auto it = side.begin(); it != side.end() && (limit == 0 || n < limit); ++it) put(it->first, it->second);
  }
  out += ']';
}

std::vector<SimLevel> levels_of(const std::map<std::int64_t, std::int64_t>& side, bool descending, std::size_t limit) {
  std::vector<SimLevel> out;
  auto put = [&](auto first, auto last) {
    for (; first != last && (limit == 0 || out.size() < limit); ++first) out.push_back({first->first, first->second});
  };
  if (descending) {
    put(side.rbegin(), side.rend());
  } else {
    put(side.begin(), side.end());
  }
  return out;
}

}  // namespace

std::optional<SimDialect> sim_dialect(std::string_view venue) {
  if (venue == "binance") return SimDialect::kSpot;
  if (venue == "binance-usdm") return SimDialect::kUsdm;
  if (venue == "bybit") return SimDialect::kBybitSpot;
  if (venue == "bybit-linear") return SimDialect::kBybitLinear;
  if (venue == "kraken") return SimDialect::kKraken;
  if (venue == "okx") return SimDialect::kOkx;
  if (venue == "coinbase") return SimDialect::kCoinbase;
  return std::nullopt;
}

SimMarket::SimMarket(std::vector<std::string> symbols, double rate, std::uint64_t seed, std::uint64_t epoch_ms,
                     std::uint32_t depth_interval_ms, SimDialect dialect)
    : symbols_(std::move(symbols)),
      rng_(seed),
      gap_s_(rate),
      epoch_ms_(epoch_ms),
      interval_ns_(std::uint64_t{std::max<std::uint32_t>(depth_interval_ms, 1)} * 1'000'000),
      dialect_(dialect) {
  instruments_.resize(symbols_.size());
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    Instrument& ins = instruments_[i];
    ins.symbol = symbols_[i];
    ins.lower = lower(symbols_[i]);
    // Start prices spread over several magnitudes: 10^(i%5+1) * (1 + i%7) units.
    std::int64_t units = 1;
    for (std::size_t k = 0; k < i % 5 + 1; ++k) units *= 10;
    units *= static_cast<std::int64_t>(1 + i % 7);
    ins.ref_price = units * 100'000'000;
    ins.tick = std::max<std::int64_t>(ins.ref_price / 100'000, 1);
    ins.lot = 1'000;  // 0.00001 units
    ins.next_trade_id = 1'000'000 * (i + 1);
    ins.next_agg_id = 500'000 * (i + 1);
    ins.mark = ins.index = ins.ref_price;
    ins.rate = kBaseFundingRate;
    ins.open_interest = ins.lot * 1'000'000;
    ins.next_funding_ms = (epoch_ms / kFundingPeriodMs + 1) * kFundingPeriodMs;
    // Kraken: the price precision the tick needs (its trailing zeros in 10^-8 units dropped).
    for (std::int64_t t = ins.tick; t % 10 == 0 && ins.price_precision > 0; t /= 10) --ins.price_precision;
    // The opening book is the first diff (update ids 1..2*kInitialLevels).
    for (int k = 1; k <= kInitialLevels; ++k) {
      set_level(ins, true, ins.ref_price - k * ins.tick, ins.lot * static_cast<std::int64_t>(1 + draw(rng_, 1000)));
      set_level(ins, false, ins.ref_price + k * ins.tick, ins.lot * static_cast<std::int64_t>(1 + draw(rng_, 1000)));
    }
  }
  next_order_ns_ = next_gap_ns();
}

std::uint64_t SimMarket::next_gap_ns() { return static_cast<std::uint64_t>(gap_s_(rng_) * 1e9); }

std::optional<std::size_t> SimMarket::symbol_index(std::string_view symbol) const {
  const std::string l = lower(symbol);
  for (std::size_t i = 0; i < instruments_.size(); ++i) {
    if (instruments_[i].lower == l) return i;
  }
  return std::nullopt;
}

std::string SimMarket::stream_name(std::string_view lower_symbol, SimChannel channel) {
  switch (channel) {
    case SimChannel::kTrade: return fmt::format("{}@trade", lower_symbol);
    case SimChannel::kAggTrade: return fmt::format("{}@aggTrade", lower_symbol);
    case SimChannel::kBookTicker: return fmt::format("{}@bookTicker", lower_symbol);
    case SimChannel::kMarkPrice: return fmt::format("{}@markPrice@1s", lower_symbol);
    case SimChannel::kForceOrder: return fmt::format("{}@forceOrder", lower_symbol);
    case SimChannel::kDepth: break;
  }
  return fmt::format("{}@depth@100ms", lower_symbol);
}

std::string SimMarket::format_units(std::int64_t units) {
  const char* sign = units < 0 ? "-" : "";
  const std::uint64_t u = units < 0 ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
  return fmt::format("{}{}.{:08d}", sign, u / 100'000'000, u % 100'000'000);
}

std::string SimMarket::depth_json(const SimBook& book, std::optional<std::uint64_t> time_ms) {
  std::string out = fmt::format(R"({{"lastUpdateId":{},)", book.last_update_id);
  if (time_ms) fmt::format_to(std::back_inserter(out), R"("E":{},"T":{},)", *time_ms, *time_ms);
  out += R"("bids":[)";
  for (std::size_t i = 0; i < book.bids.size(); ++i) {
    fmt::format_to(std::back_inserter(out), R"({}["{}","{}"])", i == 0 ? "" : ",", format_units(book.bids[i].price),
                   format_units(book.bids[i].qty));
  }
  out += R"(],"asks":[)";
  for (std::size_t i = 0; i < book.asks.size(); ++i) {
    fmt::format_to(std::back_inserter(out), R"({}["{}","{}"])", i == 0 ? "" : ",", format_units(book.asks[i].price),
                   format_units(book.asks[i].qty));
  }
  out += "]}";
  return out;
}

SimBook SimMarket::book(std::size_t symbol, std::size_t limit) const {
  const Instrument& ins = instruments_.at(symbol);
  return {ins.update_id, levels_of(ins.bids, true, limit), levels_of(ins.asks, false, limit)};
}

SimBook SimMarket::published_book(std::size_t symbol, std::size_t limit) const {
  const Instrument& ins = instruments_.at(symbol);
  return {ins.last_diff_u, levels_of(ins.published_bids, true, limit), levels_of(ins.published_asks, false, limit)};
}

bool SimMarket::pending() const {
  return std::any_of(instruments_.begin(), instruments_.end(), [](const Instrument& i) { return i.pending_first != 0; });
}

void SimMarket::advance(std::vector<Message>& out) {
  if ((dialect_ == SimDialect::kUsdm || dialect_ == SimDialect::kBybitLinear || dialect_ == SimDialect::kOkx) &&
      next_mark_ns_ <= next_order_ns_ &&
      (!pending() || next_mark_ns_ < next_flush_ns_)) {
    now_ns_ = next_mark_ns_;
    emit_mark_prices(out);
    next_mark_ns_ += kMarkIntervalNs;
    return;
  }
  if (pending() && next_flush_ns_ <= next_order_ns_) {
    // One diff per call, so a caller that stops between calls never holds a
    // generated diff it did not send.
    now_ns_ = next_flush_ns_;
    for (std::size_t i = 0; i < instruments_.size(); ++i) {
      if (instruments_[i].pending_first == 0) continue;
      emit_depth(i, out);
      break;
    }
    if (!pending()) next_flush_ns_ += interval_ns_;
    return;
  }
  if (!pending()) next_flush_ns_ = (next_order_ns_ / interval_ns_ + 1) * interval_ns_;
  now_ns_ = next_order_ns_;
  if (bybit_depth1_) {
    // A quiet top: level 1's snapshot again, at the same u, 3 s after it was sent.
    for (std::size_t i = 0; i < instruments_.size(); ++i) emit_bybit_level1(i, out);
  }
  on_order(static_cast<std::size_t>(draw(rng_, instruments_.size())), out);
  next_order_ns_ = now_ns_ + next_gap_ns();
}

void SimMarket::flush(std::vector<Message>& out) {
  for (std::size_t i = 0; i < instruments_.size(); ++i) emit_depth(i, out);
}

// set_level: one book change = one update id, remembered for the next diff.
void SimMarket::set_level(Instrument& ins, bool bid, std::int64_t price, std::int64_t qty) {
  Side& side = bid ? ins.bids : ins.asks;
  if (qty == 0) {
    side.erase(price);
  } else {
    side[price] = qty;
  }
  if (ins.pending_first == 0 && dialect_ == SimDialect::kUsdm && ins.last_diff_u != 0) {
    // USD-M's update ids are not contiguous between diffs (the book moves
    // through ids no diff of this stream names): a diff's U is not the last
    // u + 1, only its pu is. 0 to 3 ids skipped, from the id itself (the
    // market's random stream is left as it was).
    std::uint64_t x = (ins.update_id + 1) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    ins.update_id += x % 4;
  }
  ++ins.update_id;
  if (ins.pending_first == 0) ins.pending_first = ins.update_id;
  (bid ? ins.pending_bids : ins.pending_asks)[price] = qty;
}

void SimMarket::on_order(std::size_t idx, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  const std::uint64_t kind = draw(rng_, 100);
  const bool bid = (rng_() & 1) != 0;
  if (kind < 30) {
    take(idx, bid, out);  // a buy takes the best ask, a sell the best bid
  } else if (kind < 75) {
    add_order(ins, bid);
  } else {
    cancel_order(ins, bid);
  }
  for (bool b : {true, false}) {
    Side& side = b ? ins.bids : ins.asks;
    if (side.size() > kMaxLevels) set_level(ins, b, b ? side.begin()->first : side.rbegin()->first, 0);
  }
  maybe_emit_ticker(idx, out);
}

// add_order: a limit order at or up to 10 ticks behind the touch, or one tick
// inside the spread; never crossing.
void SimMarket::add_order(Instrument& ins, bool bid) {
  Side& same = bid ? ins.bids : ins.asks;
  Side& other = bid ? ins.asks : ins.bids;
  const std::int64_t dir = bid ? 1 : -1;  // towards the other side
  std::int64_t best;
  if (!same.empty()) {
    best = bid ? same.rbegin()->first : same.begin()->first;
  } else if (!other.empty()) {
    best = (bid ? other.begin()->first : other.rbegin()->first) - dir * ins.tick;
  } else {
    best = ins.ref_price;
  }
  const auto behind = static_cast<std::int64_t>(draw(rng_, 12)) - 1;  // -1: one tick better than the touch
  std::int64_t price = best - dir * behind * ins.tick;
  if (!other.empty()) {
    const std::int64_t opposite = bid ? other.begin()->first : other.rbegin()->first;
    if (dir * (price - opposite) >= 0) price = opposite - dir * ins.tick;
  }
  if (price <= 0) price = ins.tick;
  const auto it = same.find(price);
  const std::int64_t qty = ins.lot * static_cast<std::int64_t>(1 + draw(rng_, 1000));
  set_level(ins, bid, price, (it == same.end() ? 0 : it->second) + qty);
}

// cancel_order: removes all or part of one of the best levels.
void SimMarket::cancel_order(Instrument& ins, bool bid) {
  Side& side = bid ? ins.bids : ins.asks;
  if (side.size() < 3) return add_order(ins, bid);
  const auto reach = static_cast<std::uint64_t>(std::min(side.size(), kCancelReach));
  const auto k = static_cast<std::ptrdiff_t>(draw(rng_, reach));
  const auto level = bid ? *std::next(side.rbegin(), k) : *std::next(side.begin(), k);
  const std::int64_t lots = level.second / ins.lot;
  const bool all = lots <= 1 || (rng_() & 1) != 0;
  const std::int64_t left = all ? 0 : ins.lot * (1 + static_cast<std::int64_t>(draw(rng_, static_cast<std::uint64_t>(lots - 1))));
  set_level(ins, bid, level.first, left);
}

// take: a taker order filling 1-3 maker orders at the best opposite level.
void SimMarket::take(std::size_t idx, bool buy, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  Side& side = buy ? ins.asks : ins.bids;
  if (side.size() < 3) return add_order(ins, !buy);
  const auto level = buy ? *side.begin() : *side.rbegin();
  const std::int64_t lots = level.second / ins.lot;
  const std::int64_t take_lots =
      draw(rng_, 5) == 0 ? lots : std::min(lots, 1 + static_cast<std::int64_t>(draw(rng_, 500)));
  const std::int64_t fills = std::min<std::int64_t>(take_lots, 1 + static_cast<std::int64_t>(draw(rng_, 3)));
  if (dialect_ == SimDialect::kKraken) {
    take_kraken(idx, buy, level.first, take_lots, fills, out);
    set_level(ins, !buy, level.first, level.second - take_lots * ins.lot);
    ins.ref_price = level.first;
    return;
  }
  if (is_coinbase(dialect_)) {
    take_coinbase(idx, buy, level.first, take_lots, fills, out);
    set_level(ins, !buy, level.first, level.second - take_lots * ins.lot);
    ins.ref_price = level.first;
    return;
  }
  if (is_bybit(dialect_) || dialect_ == SimDialect::kOkx) {
    if (dialect_ == SimDialect::kOkx) {
      take_okx(idx, buy, level.first, take_lots, fills, out);
    } else {
      take_bybit(idx, buy, level.first, take_lots, fills, out);
    }
    set_level(ins, !buy, level.first, level.second - take_lots * ins.lot);
    ins.ref_price = level.first;
    return;
  }
  const std::uint64_t t = now_ms();
  const char* maker = buy ? "false" : "true";  // `m`: the buyer is the maker when a sell takes
  const std::string price = format_units(level.first);
  const std::uint64_t first_id = ins.next_trade_id;
  for (std::int64_t f = 0; f < fills; ++f) {
    const std::int64_t lots_f = f + 1 < fills ? take_lots / fills : take_lots - (fills - 1) * (take_lots / fills);
    const std::uint64_t id = ins.next_trade_id++;
    const std::string qty = format_units(lots_f * ins.lot);
    out.push_back(make(
        idx, SimChannel::kTrade,
        dialect_ == SimDialect::kUsdm
            ? fmt::format(R"({{"e":"trade","E":{},"T":{},"s":"{}","t":{},"p":"{}","q":"{}","X":"MARKET","m":{}}})", t,
                          t, ins.symbol, id, price, qty, maker)
            : fmt::format(R"({{"e":"trade","E":{},"s":"{}","t":{},"p":"{}","q":"{}","T":{},"m":{},"M":true}})", t,
                          ins.symbol, id, price, qty, t, maker),
        id, id));
  }
  const std::uint64_t a = ins.next_agg_id++;
  // USD-M's aggTrade has no "M" (the best-match flag is spot's).
  out.push_back(make(idx, SimChannel::kAggTrade,
                     fmt::format(R"({{"e":"aggTrade","E":{},"s":"{}","a":{},"p":"{}","q":"{}","f":{},"l":{},"T":{},"m":{}{}}})",
                                 t, ins.symbol, a, price, format_units(take_lots * ins.lot), first_id,
                                 ins.next_trade_id - 1, t, maker, dialect_ == SimDialect::kUsdm ? "" : R"(,"M":true)"),
                     a, a));
  set_level(ins, !buy, level.first, level.second - take_lots * ins.lot);
  ins.ref_price = level.first;
  // fstream pushes at most one liquidation per symbol each 1000 ms.
  if (dialect_ == SimDialect::kUsdm && draw(rng_, kLiquidationOneIn) == 0 &&
      (ins.liquidations == 0 || t >= ins.last_force_ms + kForceOrderSpacingMs)) {
    emit_force_order(idx, buy, level.first, take_lots * ins.lot, out);
  }
}

// take_bybit: one publicTrade message for the taker order's fills, all with
// the order's `seq` (the update id before it), ids as strings.
void SimMarket::take_bybit(std::size_t idx, bool buy, std::int64_t price, std::int64_t take_lots, std::int64_t fills,
                           std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  const std::uint64_t t = now_ms();
  const std::uint64_t first_id = ins.next_trade_id;
  std::string data = fmt::format(R"({{"topic":"{}","type":"snapshot","ts":{},"data":[)",
                                 bybit_topic(ins, SimChannel::kTrade), t);
  for (std::int64_t f = 0; f < fills; ++f) {
    const std::int64_t lots_f = f + 1 < fills ? take_lots / fills : take_lots - (fills - 1) * (take_lots / fills);
    const std::uint64_t id = ins.next_trade_id++;
    fmt::format_to(std::back_inserter(data),
                   R"({}{{"T":{},"s":"{}","S":"{}","v":"{}","p":"{}","L":"ZeroPlusTick","i":"sim-{}-{}","BT":false,"seq":{}}})",
                   f == 0 ? "" : ",", t, ins.symbol, buy ? "Buy" : "Sell", format_units(lots_f * ins.lot),
                   format_units(price), ins.lower, id, ins.update_id);
  }
  data += "]}";
  out.push_back(make(idx, SimChannel::kTrade, std::move(data), first_id, ins.next_trade_id - 1));
  if (dialect_ != SimDialect::kBybitLinear) return;
  ins.pending_oi += take_lots * ins.lot;
  if (draw(rng_, kLiquidationOneIn) == 0 && (ins.liquidations == 0 || t >= ins.last_force_ms + kForceOrderSpacingMs)) {
    const std::uint64_t n = ++ins.liquidations;
    ins.last_force_ms = t;
    // A taker buy closes a short: the liquidated position was a Sell.
    out.push_back(make(idx, SimChannel::kForceOrder,
                       fmt::format(R"({{"topic":"{}","type":"snapshot","ts":{},"data":[{{"T":{},"s":"{}","S":"{}",)"
                                   R"("v":"{}","p":"{}"}}]}})",
                                   bybit_topic(ins, SimChannel::kForceOrder), t, t, ins.symbol, buy ? "Sell" : "Buy",
                                   format_units(take_lots * ins.lot), format_units(price)),
                       n, n));
  }
}

// take_coinbase: one market_trades update for the taker order's fills,
// newest first as Coinbase lists a batch, `side` the taker's.
void SimMarket::take_coinbase(std::size_t idx, bool buy, std::int64_t price, std::int64_t take_lots,
                              std::int64_t fills, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  const std::string time = coinbase_time();
  const std::uint64_t first_id = ins.next_trade_id + 1;
  for (std::int64_t f = 0; f < fills; ++f) {
    const std::int64_t lots_f = f + 1 < fills ? take_lots / fills : take_lots - (fills - 1) * (take_lots / fills);
    ins.recent_trades.push_back(
        fmt::format(R"({{"trade_id":"{}","product_id":"{}","price":"{}","size":"{}","side":"{}","time":"{}"}})",
                    ++ins.next_trade_id, ins.symbol, format_units(price), format_units(lots_f * ins.lot),
                    buy ? "BUY" : "SELL", time));
  }
  std::string trades;
  const std::size_t n = ins.recent_trades.size();
  for (std::size_t f = 0; f < static_cast<std::size_t>(fills); ++f) {
    if (f != 0) trades += ',';
    trades += ins.recent_trades[n - 1 - f];
  }
  if (n > 2 * kCoinbaseRecentTrades) {
    ins.recent_trades.erase(ins.recent_trades.begin(),
                            ins.recent_trades.begin() + static_cast<std::ptrdiff_t>(n - kCoinbaseRecentTrades));
  }
  out.push_back(make(idx, SimChannel::kTrade,
                     coinbase_envelope("market_trades", fmt::format(R"([{{"type":"update","trades":[{}]}}])", trades)),
                     first_id, ins.next_trade_id));
}

std::string SimMarket::coinbase_time() const {
  const std::uint64_t ns = epoch_ms_ * 1'000'000 + now_ns_;
  // civil_from_days (Howard Hinnant): the date of a day count since 1970-01-01.
  const std::int64_t z = static_cast<std::int64_t>(ns / 86'400'000'000'000) + 719468;
  const std::int64_t era = z / 146097;
  const auto doe = static_cast<std::uint64_t>(z - era * 146097);
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint64_t mp = (5 * doy + 2) / 153;
  const std::uint64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::uint64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  const std::uint64_t in_day = ns % 86'400'000'000'000;
  const std::uint64_t secs = in_day / 1'000'000'000;
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:09d}Z", y, m, d, secs / 3600, secs / 60 % 60,
                     secs % 60, in_day % 1'000'000'000);
}

std::string SimMarket::coinbase_envelope(std::string_view channel, std::string_view events) const {
  return fmt::format(R"({{"channel":"{}","client_id":"","timestamp":"{}","sequence_num":0,"events":{}}})", channel,
                     coinbase_time(), events);
}

std::string SimMarket::coinbase_ticker(const Instrument& ins, std::string_view type) const {
  return coinbase_envelope(
      "ticker", fmt::format(R"([{{"type":"{}","tickers":[{{"type":"ticker","product_id":"{}","price":"{}",)"
                            R"("volume_24_h":"0","low_24_h":"0","high_24_h":"0","low_52_w":"0","high_52_w":"0",)"
                            R"("price_percent_chg_24_h":"0","best_bid":"{}","best_bid_quantity":"{}","best_ask":"{}",)"
                            R"("best_ask_quantity":"{}"}}]}}])",
                            type, ins.symbol, format_units(ins.ref_price), format_units(ins.touch_bid.price),
                            format_units(ins.touch_bid.qty), format_units(ins.touch_ask.price),
                            format_units(ins.touch_ask.qty)));
}

namespace {

// append_coinbase_levels: l2_data updates, bids best first then offers best first.
void append_coinbase_levels(std::string& out, const std::map<std::int64_t, std::int64_t>& bids,
                            const std::map<std::int64_t, std::int64_t>& asks, std::string_view time) {
  bool first = true;
  const auto put = [&](std::string_view side, std::int64_t price, std::int64_t qty) {
    fmt::format_to(std::back_inserter(out),
                   R"({}{{"side":"{}","event_time":"{}","price_level":"{}","new_quantity":"{}"}})", first ? "" : ",",
                   side, time, SimMarket::format_units(price), SimMarket::format_units(qty));
    first = false;
  };
  for (auto it = bids.rbegin(); it != bids.rend(); ++it) put("bid", it->first, it->second);
  for (const auto& [price, qty] : asks) put("offer", price, qty);
}

}  // namespace

std::string SimMarket::coinbase_book_snapshot(std::size_t symbol) const {
  const Instrument& ins = instruments_.at(symbol);
  std::string events = fmt::format(R"([{{"type":"snapshot","product_id":"{}","updates":[)", ins.symbol);
  append_coinbase_levels(events, ins.published_bids, ins.published_asks, coinbase_time());
  events += "]}]";
  return coinbase_envelope("l2_data", events);
}

void SimMarket::trades_published(std::size_t symbol, std::uint64_t last_id) {
  Instrument& ins = instruments_.at(symbol);
  ins.published_trade_id = std::max(ins.published_trade_id, last_id);
}

std::string SimMarket::coinbase_trades_snapshot(std::size_t symbol) const {
  const Instrument& ins = instruments_.at(symbol);
  // recent_trades ends at next_trade_id, ids by one: skip those not sent yet.
  const std::size_t unsent = static_cast<std::size_t>(ins.next_trade_id - std::min(ins.next_trade_id,
                                                                                  ins.published_trade_id));
  const std::size_t n = ins.recent_trades.size() - std::min(unsent, ins.recent_trades.size());
  std::string trades;
  for (std::size_t i = 0; i < std::min(n, kCoinbaseRecentTrades); ++i) {
    if (i != 0) trades += ',';
    trades += ins.recent_trades[n - 1 - i];
  }
  return coinbase_envelope("market_trades", fmt::format(R"([{{"type":"snapshot","trades":[{}]}}])", trades));
}

std::string SimMarket::coinbase_ticker_snapshot(std::size_t symbol) const {
  return coinbase_ticker(instruments_.at(symbol), "snapshot");
}

std::string SimMarket::bybit_topic(const Instrument& ins, SimChannel channel) const {
  switch (channel) {
    case SimChannel::kTrade: return fmt::format("publicTrade.{}", ins.symbol);
    case SimChannel::kBookTicker:
    case SimChannel::kMarkPrice: return fmt::format("tickers.{}", ins.symbol);
    case SimChannel::kForceOrder: return fmt::format("allLiquidation.{}", ins.symbol);
    default: break;
  }
  return fmt::format("orderbook.200.{}", ins.symbol);
}

std::string SimMarket::bybit_book_head(const Instrument& ins, std::string_view topic, std::string_view type) const {
  // Spot puts `ts` before `type`, linear after it.
  return dialect_ == SimDialect::kBybitSpot
             ? fmt::format(R"({{"topic":"{}","ts":{},"type":"{}","data":{{"s":"{}","b":)", topic, now_ms(), type,
                           ins.symbol)
             : fmt::format(R"({{"topic":"{}","type":"{}","ts":{},"data":{{"s":"{}","b":)", topic, type, now_ms(),
                           ins.symbol);
}

std::string SimMarket::bybit_book_snapshot(std::size_t symbol, std::size_t depth) const {
  const Instrument& ins = instruments_.at(symbol);
  const std::size_t limit = depth == 1 || depth == 50 ? depth : 0;
  const std::uint64_t u = depth == 1 ? ins.bybit_u1 : depth == 50 ? ins.bybit_u50 : ins.bybit_u;
  const std::uint64_t seq = depth == 1 && ins.bybit_l1_seq != 0 ? ins.bybit_l1_seq : ins.last_diff_u;
  std::string out = bybit_book_head(
      ins, limit == 0 ? bybit_topic(ins, SimChannel::kDepth) : fmt::format("orderbook.{}.{}", limit, ins.symbol),
      "snapshot");
  append_levels(out, ins.published_bids, true, limit);
  out += R"(,"a":)";
  append_levels(out, ins.published_asks, false, limit);
  fmt::format_to(std::back_inserter(out), R"(,"u":{},"seq":{}}})", u, seq);
  if (dialect_ == SimDialect::kBybitLinear) fmt::format_to(std::back_inserter(out), R"(,"cts":{})", now_ms());
  out += '}';
  return out;
}

void SimMarket::enable_bybit_depth(std::size_t depth) {
  if (depth == 50) bybit_depth50_ = true;
  if (depth == 1) bybit_depth1_ = true;
}

void SimMarket::emit_bybit_views(std::size_t idx, const std::vector<SimLevel>& bids50,
                                 const std::vector<SimLevel>& asks50, std::vector<Message>& out) {
  if (bybit_depth50_) {
    Instrument& ins = instruments_[idx];
    // The top 50 after the batch against before it: what changed or came
    // in, and (size 0) what left, as Bybit's depth-50 deltas describe its view.
    auto changes = [](const std::vector<SimLevel>& before, const std::vector<SimLevel>& after) {
      Side was, now, moved;
      for (const auto& l : before) was[l.price] = l.qty;
      for (const auto& l : after) now[l.price] = l.qty;
      for (const auto& [price, qty] : now) {
        const auto it = was.find(price);
        if (it == was.end() || it->second != qty) moved[price] = qty;
      }
      for (const auto& [price, qty] : was) {
        if (now.count(price) == 0) moved[price] = 0;
      }
      return moved;
    };
    const Side bids = changes(bids50, levels_of(ins.published_bids, true, 50));
    const Side asks = changes(asks50, levels_of(ins.published_asks, false, 50));
    if (!bids.empty() || !asks.empty()) {
      const std::uint64_t u = ++ins.bybit_u50;
      out.push_back(bybit_view(idx, fmt::format("orderbook.50.{}", ins.symbol), "delta", bids, asks, u, ins.update_id));
    }
  }
  if (bybit_depth1_) emit_bybit_level1(idx, out);
}

void SimMarket::emit_bybit_level1(std::size_t idx, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  const auto top = [](auto first, auto last) { return first == last ? SimLevel{} : SimLevel{first->first, first->second}; };
  const SimLevel bid = top(ins.published_bids.rbegin(), ins.published_bids.rend());
  const SimLevel ask = top(ins.published_asks.begin(), ins.published_asks.end());
  const bool changed = !(bid == ins.bybit_l1_bid) || !(ask == ins.bybit_l1_ask);
  // Level 1 sends a snapshot per change of the top, and repeats it (same u
  // and seq) when it has not changed for kBybitLevel1RepeatMs.
  if (!changed && now_ms() < ins.bybit_l1_sent_ms + kBybitLevel1RepeatMs) return;
  if (changed) {
    ++ins.bybit_u1;
    ins.bybit_l1_seq = ins.update_id;
  }
  ins.bybit_l1_bid = bid;
  ins.bybit_l1_ask = ask;
  ins.bybit_l1_sent_ms = now_ms();
  const Side bids = bid.qty == 0 ? Side{} : Side{{bid.price, bid.qty}};
  const Side asks = ask.qty == 0 ? Side{} : Side{{ask.price, ask.qty}};
  out.push_back(bybit_view(idx, fmt::format("orderbook.1.{}", ins.symbol), "snapshot", bids, asks, ins.bybit_u1,
                           ins.bybit_l1_seq));
}

SimMarket::Message SimMarket::bybit_view(std::size_t idx, std::string topic, std::string_view type, const Side& bids,
                                         const Side& asks, std::uint64_t u, std::uint64_t seq) const {
  const Instrument& ins = instruments_[idx];
  std::string data = bybit_book_head(ins, topic, type);
  append_levels(data, bids, true, 0);
  data += R"(,"a":)";
  append_levels(data, asks, false, 0);
  fmt::format_to(std::back_inserter(data), R"(,"u":{},"seq":{}}})", u, seq);
  if (dialect_ == SimDialect::kBybitLinear) fmt::format_to(std::back_inserter(data), R"(,"cts":{})", now_ms());
  data += '}';
  Message m = make(idx, SimChannel::kDepth, std::move(data), u, u);
  m.stream = std::move(topic);  // make() names the orderbook.200 topic
  return m;
}

std::string SimMarket::bybit_rest_full_book(std::size_t symbol) const {
  const Instrument& ins = instruments_.at(symbol);
  const std::uint64_t t = now_ms();
  std::string out = fmt::format(R"({{"retCode":0,"retMsg":"OK","result":{{"s":"{}","b":)", ins.symbol);
  append_levels(out, ins.published_bids, true, 0);
  out += R"(,"a":)";
  append_levels(out, ins.published_asks, false, 0);
  fmt::format_to(std::back_inserter(out), R"(,"ts":{},"u":{},"seq":{},"cts":{}}},"retExtInfo":{{}},"time":{}}})", t,
                 ins.bybit_u, ins.last_diff_u, t, t);
  return out;
}

std::string SimMarket::bybit_ticker_snapshot(std::size_t symbol) const {
  const Instrument& ins = instruments_.at(symbol);
  return fmt::format(R"({{"topic":"{}","type":"snapshot","data":{{"symbol":"{}","bid1Price":"{}","bid1Size":"{}",)"
                     R"("ask1Price":"{}","ask1Size":"{}","markPrice":"{}","indexPrice":"{}","fundingRate":"{}",)"
                     R"("nextFundingTime":"{}","openInterest":"{}"}},"cs":{},"ts":{}}})",
                     bybit_topic(ins, SimChannel::kBookTicker), ins.symbol, format_units(ins.touch_bid.price),
                     format_units(ins.touch_bid.qty), format_units(ins.touch_ask.price), format_units(ins.touch_ask.qty),
                     format_units(ins.mark), format_units(ins.index), format_units(ins.rate), ins.next_funding_ms,
                     format_units(ins.open_interest), ins.update_id, now_ms());
}

// emit_force_order: the taker order just filled was a liquidation: a forced
// IOC limit order whose price lies beyond its fill (the bankruptcy side).
void SimMarket::emit_force_order(std::size_t idx, bool buy, std::int64_t price, std::int64_t qty,
                                 std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  const std::uint64_t t = now_ms();
  const std::int64_t limit = std::max<std::int64_t>(price + (buy ? 1 : -1) * kBankruptcyTicks * ins.tick, ins.tick);
  const std::string q = format_units(qty);
  const std::uint64_t n = ++ins.liquidations;
  ins.last_force_ms = t;
  out.push_back(make(idx, SimChannel::kForceOrder,
                     fmt::format(R"({{"e":"forceOrder","E":{},"o":{{"s":"{}","S":"{}","o":"LIMIT","f":"IOC","q":"{}",)"
                                 R"("p":"{}","ap":"{}","X":"FILLED","l":"{}","z":"{}","T":{}}}}})",
                                 t, ins.symbol, buy ? "BUY" : "SELL", q, format_units(limit), format_units(price), q,
                                 q, t),
                     n, n));
}

// emit_mark_prices: one markPriceUpdate per symbol. The mark price is the mid
// of the touch, the index the last trade price, the funding rate 0.01% plus
// an eighth of the premium, and T the next 8-hour funding time.
void SimMarket::emit_mark_prices(std::vector<Message>& out) {
  const std::uint64_t t = now_ms();
  const std::uint64_t next_funding = (t / kFundingPeriodMs + 1) * kFundingPeriodMs;
  for (std::size_t i = 0; i < instruments_.size(); ++i) {
    const Instrument& ins = instruments_[i];
    const std::int64_t index = ins.ref_price;
    std::int64_t mark = index;
    if (!ins.bids.empty() && !ins.asks.empty()) mark = (ins.bids.rbegin()->first + ins.asks.begin()->first) / 2;
    // (mark - index) / index / 8 in 10^-8 units; the premium is a few ticks,
    // far from overflowing.
    const std::int64_t rate = kBaseFundingRate + (mark - index) * 12'500'000 / std::max<std::int64_t>(index, 1);
    if (dialect_ == SimDialect::kBybitLinear) {
      emit_bybit_mark(i, mark, index, rate, next_funding, out);
      continue;
    }
    if (dialect_ == SimDialect::kOkx) {
      emit_okx_marks(i, mark, rate, next_funding, out);
      continue;
    }
    out.push_back(make(i, SimChannel::kMarkPrice,
                       fmt::format(R"({{"e":"markPriceUpdate","E":{},"s":"{}","p":"{}","i":"{}","P":"{}","r":"{}","T":{}}})",
                                   t, ins.symbol, format_units(mark), format_units(index), format_units(mark),
                                   format_units(rate), next_funding),
                       t, t));
  }
}

// emit_bybit_mark: a linear tickers delta naming the funding and open
// interest fields that changed since the last one (nothing if none did).
void SimMarket::emit_bybit_mark(std::size_t idx, std::int64_t mark, std::int64_t index, std::int64_t rate,
                                std::uint64_t next_funding, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  std::string fields;
  const auto add = [&](std::string_view key, std::string value) {
    fmt::format_to(std::back_inserter(fields), R"({}"{}":"{}")", fields.empty() ? "" : ",", key, value);
  };
  if (mark != ins.mark) add("markPrice", format_units(mark));
  if (index != ins.index) add("indexPrice", format_units(index));
  if (rate != ins.rate) add("fundingRate", format_units(rate));
  if (next_funding != ins.next_funding_ms) add("nextFundingTime", std::to_string(next_funding));
  const std::int64_t oi = ins.open_interest + ins.pending_oi;
  if (oi != ins.open_interest) add("openInterest", format_units(oi));
  ins.mark = mark;
  ins.index = index;
  ins.rate = rate;
  ins.next_funding_ms = next_funding;
  ins.open_interest = oi;
  ins.pending_oi = 0;
  if (fields.empty()) return;
  out.push_back(make(idx, SimChannel::kMarkPrice,
                     fmt::format(R"({{"topic":"{}","type":"delta","data":{{"symbol":"{}",{}}},"cs":{},"ts":{}}})",
                                 bybit_topic(ins, SimChannel::kMarkPrice), ins.symbol, fields, ins.update_id, now_ms()),
                     ins.update_id, ins.update_id));
}

void SimMarket::maybe_emit_ticker(std::size_t idx, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  if (ins.bids.empty() || ins.asks.empty()) return;
  const SimLevel bid{ins.bids.rbegin()->first, ins.bids.rbegin()->second};
  const SimLevel ask{ins.asks.begin()->first, ins.asks.begin()->second};
  if (bid == ins.touch_bid && ask == ins.touch_ask) return;
  if (dialect_ == SimDialect::kOkx) return emit_okx_bbo(idx, out);
  if (dialect_ == SimDialect::kKraken) {
    ins.touch_bid = bid;
    ins.touch_ask = ask;
    out.push_back(make(idx, SimChannel::kBookTicker,
                       fmt::format(R"({{"channel":"ticker","type":"update","data":[{{"symbol":"{}","bid":{},)"
                                   R"("bid_qty":{},"ask":{},"ask_qty":{},"last":{},"timestamp":"{}"}}]}})",
                                   ins.symbol, kraken_number(bid.price), kraken_number(bid.qty),
                                   kraken_number(ask.price), kraken_number(ask.qty), kraken_number(ins.ref_price),
                                   kraken_time()),
                       ins.update_id, ins.update_id));
    return;
  }
  if (is_coinbase(dialect_)) {
    ins.touch_bid = bid;
    ins.touch_ask = ask;
    out.push_back(make(idx, SimChannel::kBookTicker, coinbase_ticker(ins, "update"), ins.update_id, ins.update_id));
    return;
  }
  if (is_bybit(dialect_)) {
    // Linear tickers: a delta naming only the touch fields that changed
    // (spot's tickers are day statistics: nothing to send).
    std::string fields;
    const auto add = [&](std::string_view key, std::int64_t units) {
      fmt::format_to(std::back_inserter(fields), R"({}"{}":"{}")", fields.empty() ? "" : ",", key, format_units(units));
    };
    if (bid.price != ins.touch_bid.price) add("bid1Price", bid.price);
    if (bid.qty != ins.touch_bid.qty) add("bid1Size", bid.qty);
    if (ask.price != ins.touch_ask.price) add("ask1Price", ask.price);
    if (ask.qty != ins.touch_ask.qty) add("ask1Size", ask.qty);
    ins.touch_bid = bid;
    ins.touch_ask = ask;
    if (dialect_ != SimDialect::kBybitLinear) return;
    const std::uint64_t t = now_ms();
    out.push_back(make(idx, SimChannel::kBookTicker,
                       fmt::format(R"({{"topic":"{}","type":"delta","data":{{"symbol":"{}",{}}},"cs":{},"ts":{}}})",
                                   bybit_topic(ins, SimChannel::kBookTicker), ins.symbol, fields, ins.update_id, t),
                       ins.update_id, ins.update_id));
    return;
  }
  ins.touch_bid = bid;
  ins.touch_ask = ask;
  const std::string levels =
      fmt::format(R"("s":"{}","b":"{}","B":"{}","a":"{}","A":"{}")", ins.symbol, format_units(bid.price),
                  format_units(bid.qty), format_units(ask.price), format_units(ask.qty));
  const std::uint64_t t = now_ms();
  out.push_back(make(idx, SimChannel::kBookTicker,
                     dialect_ == SimDialect::kUsdm
                         ? fmt::format(R"({{"e":"bookTicker","u":{},"E":{},"T":{},{}}})", ins.update_id, t, t, levels)
                         : fmt::format(R"({{"u":{},{}}})", ins.update_id, levels),
                     ins.update_id, ins.update_id));
}

void SimMarket::emit_depth(std::size_t idx, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  if (ins.pending_first == 0) return;
  if (dialect_ == SimDialect::kOkx) return emit_okx_depth(idx, out);
  if (dialect_ == SimDialect::kKraken) {
    emit_kraken_book(idx, out);
    return;
  }
  const std::uint64_t t = now_ms();
  if (is_coinbase(dialect_)) {
    std::string events = fmt::format(R"([{{"type":"update","product_id":"{}","updates":[)", ins.symbol);
    append_coinbase_levels(events, ins.pending_bids, ins.pending_asks, coinbase_time());
    events += "]}]";
    out.push_back(make(idx, SimChannel::kDepth, coinbase_envelope("l2_data", events), ins.pending_first, ins.update_id));
  }
  std::string data =
      is_coinbase(dialect_) ? std::string()
      : is_bybit(dialect_)
          ? (dialect_ == SimDialect::kBybitSpot
                 ? fmt::format(R"({{"topic":"{}","ts":{},"type":"delta","data":{{"s":"{}","b":)",
                               bybit_topic(ins, SimChannel::kDepth), t, ins.symbol)
                 : fmt::format(R"({{"topic":"{}","type":"delta","ts":{},"data":{{"s":"{}","b":)",
                               bybit_topic(ins, SimChannel::kDepth), t, ins.symbol))
      : dialect_ == SimDialect::kUsdm
          ? fmt::format(R"({{"e":"depthUpdate","E":{},"T":{},"s":"{}","U":{},"u":{},"pu":{},"b":)", now_ms(), now_ms(),
                        ins.symbol, ins.pending_first, ins.update_id, ins.last_diff_u)
          : fmt::format(R"({{"e":"depthUpdate","E":{},"s":"{}","U":{},"u":{},"b":)", now_ms(), ins.symbol,
                        ins.pending_first, ins.update_id);
  if (!is_coinbase(dialect_)) {
    append_levels(data, ins.pending_bids, true, 0);
    data += R"(,"a":)";
    append_levels(data, ins.pending_asks, false, 0);
  }
  if (is_coinbase(dialect_)) {
    // Sent above.
  } else if (is_bybit(dialect_)) {
    // One `u` per message; `seq` is the market's update id.
    const std::uint64_t u = ++ins.bybit_u;
    fmt::format_to(std::back_inserter(data), R"(,"u":{},"seq":{}}})", u, ins.update_id);
    if (dialect_ == SimDialect::kBybitLinear) fmt::format_to(std::back_inserter(data), R"(,"cts":{})", t);
    data += '}';
    out.push_back(make(idx, SimChannel::kDepth, std::move(data), u, u));
  } else {
    data += '}';
    out.push_back(make(idx, SimChannel::kDepth, std::move(data), ins.pending_first, ins.update_id));
  }
  // Bybit's depth-50 view before this batch, to tell what the batch changed in it.
  std::vector<SimLevel> bids50, asks50;
  if (bybit_depth50_) {
    bids50 = levels_of(ins.published_bids, true, 50);
    asks50 = levels_of(ins.published_asks, false, 50);
  }
  publish_pending(ins);
  if (bybit_depth50_ || bybit_depth1_) emit_bybit_views(idx, bids50, asks50, out);
  ins.last_diff_u = ins.update_id;
  ins.pending_first = 0;
}

void SimMarket::publish_pending(Instrument& ins) {
  for (bool b : {true, false}) {
    Side& published = b ? ins.published_bids : ins.published_asks;
    Side& changes = b ? ins.pending_bids : ins.pending_asks;
    for (const auto& [price, qty] : changes) {
      if (qty == 0) {
        published.erase(price);
      } else {
        published[price] = qty;
      }
    }
    changes.clear();
  }
}

SimMarket::Message SimMarket::make(std::size_t idx, SimChannel channel, std::string data, std::uint64_t first,
                                   std::uint64_t last) const {
  Message m;
  m.symbol_index = idx;
  m.channel = channel;
  if (dialect_ == SimDialect::kKraken) {
    // Kraken names the channel and pair inside the message.
    m.stream = kraken_stream(instruments_[idx], channel);
    m.text = data;
  } else if (is_coinbase(dialect_)) {
    // Coinbase has no wrapper: the channel and product are in the message.
    const std::string_view name = channel == SimChannel::kDepth        ? "level2"
                                  : channel == SimChannel::kBookTicker ? "ticker"
                                                                       : "market_trades";
    m.stream = fmt::format("{}.{}", name, instruments_[idx].symbol);
    m.text = data;
  } else if (is_bybit(dialect_)) {
    // Bybit has no combined-stream wrapper: the topic is in the message.
    m.stream = bybit_topic(instruments_[idx], channel);
    m.text = data;
  } else {
    m.stream = stream_name(instruments_[idx].lower, channel);
    m.text = fmt::format(R"({{"stream":"{}","data":{}}})", m.stream, data);
  }
  m.data = std::move(data);
  m.first_id = first;
  m.last_id = last;
  m.time_ms = now_ms();
  return m;
}

}  // namespace tickwire::connector
