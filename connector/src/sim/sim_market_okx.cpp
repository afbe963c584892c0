// SimMarket in the OKX v5 dialect: the same market as the other dialects,
// written as OKX's public channels write it. Every message is
// {"arg":{"channel","instId"},..,"data":[..]}; its stream name (and
// subscription key) is "<channel>:<instId>".
// - trades: one message per taker order, tradeId its last fill's id and
//   count its fills; trades-all: one message per fill;
// - books: updates of the changes batched per depth interval, levels
//   [px, sz, "0", orders], seqId the market's update id and prevSeqId the
//   previous update's seqId, with OKX's checksum of the published book (the
//   snapshot a subscription starts with is okx_book_snapshot());
// - bbo-tbt on every change of the touch, seqId the update id;
// - every second of market time mark-price (mid of the touch), funding-rate
//   (0.01% + premium / 8, fundingTime the next 8-hour funding) and
//   open-interest (the taker volume so far);
// - liquidation-orders for one taker order in ten, at most one per
//   instrument a second.
#include <fmt/format.h>

#include <array>

#include "tickwire/connector/sim_market.hpp"

namespace tickwire::connector {
namespace {

constexpr std::uint64_t kFundingPeriodMs = 8 * 3600 * 1000;
constexpr std::uint64_t kLiquidationOneIn = 10;
constexpr std::uint64_t kLiquidationSpacingMs = 1000;
constexpr std::size_t kChecksumLevels = 25;

std::uint64_t draw(std::mt19937_64& rng, std::uint64_t n) { return rng() % n; }

constexpr std::array<std::uint32_t, 256> crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrc = crc_table();

std::uint32_t crc(std::uint32_t c, std::string_view text) {
  for (const char ch : text) c = kCrc[(c ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (c >> 8);
  return c;
}

// append_okx_levels: [[px, sz, "0", "1"], ..], bids best (highest) first.
void append_okx_levels(std::string& out, const std::map<std::int64_t, std::int64_t>& side, bool bids) {
  out += '[';
  bool first = true;
  const auto put = [&](std::int64_t price, std::int64_t qty) {
    fmt::format_to(std::back_inserter(out), R"({}["{}","{}","0","1"])", first ? "" : ",",
                   SimMarket::format_units(price), SimMarket::format_units(qty));
    first = false;
  };
  if (bids) {
    for (auto it = side.rbegin(); it != side.rend(); ++it) put(it->first, it->second);
  } else {
    for (const auto& [price, qty] : side) put(price, qty);
  }
  out += ']';
}

SimBook book_of(const std::map<std::int64_t, std::int64_t>& bids, const std::map<std::int64_t, std::int64_t>& asks) {
  SimBook b;
  for (auto it = bids.rbegin(); it != bids.rend() && b.bids.size() < kChecksumLevels; ++it) {
    b.bids.push_back({it->first, it->second});
  }
  for (auto it = asks.begin(); it != asks.end() && b.asks.size() < kChecksumLevels; ++it) {
    b.asks.push_back({it->first, it->second});
  }
  return b;
}

std::string_view inst_type(std::string_view symbol) { return symbol.ends_with("-SWAP") ? "SWAP" : "FUTURES"; }

}  // namespace

std::int32_t SimMarket::okx_checksum(const SimBook& book) {
  std::uint32_t c = 0xFFFFFFFFu;
  bool first = true;
  const auto add = [&](const SimLevel& l) {
    c = crc(c, fmt::format("{}{}:{}", first ? "" : ":", format_units(l.price), format_units(l.qty)));
    first = false;
  };
  for (std::size_t i = 0; i < kChecksumLevels; ++i) {
    if (i < book.bids.size()) add(book.bids[i]);
    if (i < book.asks.size()) add(book.asks[i]);
  }
  // Safety: the CRC's 32 bits read as two's complement, as OKX states it.
  return static_cast<std::int32_t>(~c);
}

std::string SimMarket::okx_book_snapshot(std::size_t symbol) const {
  const Instrument& ins = instruments_.at(symbol);
  std::string out = fmt::format(R"({{"arg":{{"channel":"books","instId":"{}"}},"action":"snapshot","data":[{{"asks":)",
                                ins.symbol);
  append_okx_levels(out, ins.published_asks, false);
  out += R"(,"bids":)";
  append_okx_levels(out, ins.published_bids, true);
  fmt::format_to(std::back_inserter(out), R"(,"ts":"{}","checksum":{},"prevSeqId":-1,"seqId":{}}}]}})", now_ms(),
                 okx_checksum(book_of(ins.published_bids, ins.published_asks)), ins.last_diff_u);
  return out;
}

std::string SimMarket::okx_rest_books(std::size_t symbol, std::size_t limit) const {
  const SimBook book = published_book(symbol, limit);
  std::string out = R"({"code":"0","msg":"","data":[{"asks":[)";
  const auto put = [&](const std::vector<SimLevel>& side) {
    for (std::size_t i = 0; i < side.size(); ++i) {
      fmt::format_to(std::back_inserter(out), R"({}["{}","{}","0","1"])", i == 0 ? "" : ",",
                     format_units(side[i].price), format_units(side[i].qty));
    }
  };
  put(book.asks);
  out += R"(],"bids":[)";
  put(book.bids);
  fmt::format_to(std::back_inserter(out), R"(],"ts":"{}","seqId":{}}}]}})", now_ms(), book.last_update_id);
  return out;
}

SimMarket::Message SimMarket::make_okx(std::size_t idx, SimChannel channel, std::string_view okx_channel,
                                       std::string data, std::uint64_t first, std::uint64_t last) const {
  Message m;
  m.symbol_index = idx;
  m.channel = channel;
  m.stream = fmt::format("{}:{}", okx_channel, instruments_[idx].symbol);
  m.text = data;
  m.data = std::move(data);
  m.first_id = first;
  m.last_id = last;
  m.time_ms = now_ms();
  return m;
}

void SimMarket::take_okx(std::size_t idx, bool buy, std::int64_t price, std::int64_t take_lots, std::int64_t fills,
                         std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  const std::uint64_t t = now_ms();
  const std::string px = format_units(price);
  const char* side = buy ? "buy" : "sell";
  const std::uint64_t first_id = ins.next_trade_id;
  for (std::int64_t f = 0; f < fills; ++f) {
    const std::int64_t lots_f = f + 1 < fills ? take_lots / fills : take_lots - (fills - 1) * (take_lots / fills);
    const std::uint64_t id = ins.next_trade_id++;
    out.push_back(make_okx(idx, SimChannel::kTrade, "trades-all",
                           fmt::format(R"({{"arg":{{"channel":"trades-all","instId":"{}"}},"data":[{{"instId":"{}",)"
                                       R"("tradeId":"{}","px":"{}","sz":"{}","side":"{}","source":"0","ts":"{}"}}]}})",
                                       ins.symbol, ins.symbol, id, px, format_units(lots_f * ins.lot), side, t),
                           id, id));
  }
  const std::uint64_t last_id = ins.next_trade_id - 1;
  out.push_back(make_okx(idx, SimChannel::kAggTrade, "trades",
                         fmt::format(R"({{"arg":{{"channel":"trades","instId":"{}"}},"data":[{{"instId":"{}",)"
                                     R"("tradeId":"{}","px":"{}","sz":"{}","side":"{}","ts":"{}","count":"{}",)"
                                     R"("source":"0","seqId":{}}}]}})",
                                     ins.symbol, ins.symbol, last_id, px, format_units(take_lots * ins.lot), side, t,
                                     fills, ins.update_id),
                         first_id, last_id));
  ins.pending_oi += take_lots * ins.lot;
  if (draw(rng_, kLiquidationOneIn) == 0 && (ins.liquidations == 0 || t >= ins.last_force_ms + kLiquidationSpacingMs)) {
    const std::uint64_t n = ++ins.liquidations;
    ins.last_force_ms = t;
    // A taker buy closes a short: the liquidation order's side is the taker's.
    out.push_back(make_okx(idx, SimChannel::kForceOrder, "liquidation-orders",
                           fmt::format(R"({{"arg":{{"channel":"liquidation-orders","instType":"{}"}},"data":[{{)"
                                       R"("details":[{{"bkLoss":"0","bkPx":"{}","ccy":"","posSide":"{}","side":"{}",)"
                                       R"("sz":"{}","ts":"{}"}}],"instId":"{}","instType":"{}"}}]}})",
                                       inst_type(ins.symbol), px, buy ? "short" : "long", side,
                                       format_units(take_lots * ins.lot), t, ins.symbol, inst_type(ins.symbol)),
                           n, n));
  }
}

void SimMarket::emit_okx_depth(std::size_t idx, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  std::string data = fmt::format(R"({{"arg":{{"channel":"books","instId":"{}"}},"action":"update","data":[{{"asks":)",
                                 ins.symbol);
  append_okx_levels(data, ins.pending_asks, false);
  data += R"(,"bids":)";
  append_okx_levels(data, ins.pending_bids, true);
  publish_pending(ins);
  const std::uint64_t prev = ins.last_diff_u;
  fmt::format_to(std::back_inserter(data), R"(,"ts":"{}","checksum":{},"prevSeqId":{},"seqId":{}}}]}})", now_ms(),
                 okx_checksum(book_of(ins.published_bids, ins.published_asks)), prev, ins.update_id);
  out.push_back(make_okx(idx, SimChannel::kDepth, "books", std::move(data), prev + 1, ins.update_id));
  ins.last_diff_u = ins.update_id;
  ins.pending_first = 0;
}

void SimMarket::emit_okx_bbo(std::size_t idx, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  ins.touch_bid = {ins.bids.rbegin()->first, ins.bids.rbegin()->second};
  ins.touch_ask = {ins.asks.begin()->first, ins.asks.begin()->second};
  out.push_back(make_okx(idx, SimChannel::kBookTicker, "bbo-tbt",
                         fmt::format(R"({{"arg":{{"channel":"bbo-tbt","instId":"{}"}},"data":[{{"asks":[["{}","{}","0","1"]],)"
                                     R"("bids":[["{}","{}","0","1"]],"ts":"{}","seqId":{}}}]}})",
                                     ins.symbol, format_units(ins.touch_ask.price), format_units(ins.touch_ask.qty),
                                     format_units(ins.touch_bid.price), format_units(ins.touch_bid.qty), now_ms(),
                                     ins.update_id),
                         ins.update_id, ins.update_id));
}

void SimMarket::emit_okx_marks(std::size_t idx, std::int64_t mark, std::int64_t rate, std::uint64_t next_funding,
                               std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  const std::uint64_t t = now_ms();
  const std::string_view type = inst_type(ins.symbol);
  ins.mark = mark;
  ins.rate = rate;
  ins.next_funding_ms = next_funding;
  ins.open_interest += ins.pending_oi;
  ins.pending_oi = 0;
  out.push_back(make_okx(idx, SimChannel::kMarkPrice, "mark-price",
                         fmt::format(R"({{"arg":{{"channel":"mark-price","instId":"{}"}},"data":[{{"instType":"{}",)"
                                     R"("instId":"{}","markPx":"{}","ts":"{}"}}]}})",
                                     ins.symbol, type, ins.symbol, format_units(mark), t),
                         t, t));
  out.push_back(make_okx(idx, SimChannel::kMarkPrice, "funding-rate",
                         fmt::format(R"({{"arg":{{"channel":"funding-rate","instId":"{}"}},"data":[{{)"
                                     R"("fundingRate":"{}","fundingTime":"{}","instId":"{}","instType":"{}",)"
                                     R"("method":"current_period","nextFundingTime":"{}","ts":"{}"}}]}})",
                                     ins.symbol, format_units(rate), next_funding, ins.symbol, type,
                                     next_funding + kFundingPeriodMs, t),
                         t, t));
  out.push_back(make_okx(idx, SimChannel::kMarkPrice, "open-interest",
                         fmt::format(R"({{"arg":{{"channel":"open-interest","instId":"{}"}},"data":[{{)"
                                     R"("instId":"{}","instType":"{}","oi":"{}","ts":"{}"}}]}})",
                                     ins.symbol, ins.symbol, type, format_units(ins.open_interest), t),
                         t, t));
}

}  // namespace tickwire::connector
