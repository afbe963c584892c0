// The simulator's Kraken v2 dialect: the market's Kraken messages (trade per
// taker order with trade ids that step by one, book updates of the depth-10
// view with their CRC-32 checksum at the pair's precisions, ticker on every
// change of the touch, the instrument channel's precisions) and the session's
// {"method":"subscribe"|"unsubscribe"|"ping","params":{..},"req_id":N}
// requests, answered one reply per pair as Kraken does; a book subscription
// starts with its snapshot, an instrument one with every pair. Faults:
// `checksum` (this book update's checksum off by one bit), `beyond_depth`
// (a bid below the depth added to this update, for the client to cut),
// `trade_gap` (this trade message withheld: the ids jump) and `precision`
// (after this book update the pair's price precision goes one decimal finer,
// announced on the instrument channel; later checksums use it). The checksum
// here is written independently of the connector's, from the text recipe.
#include <fmt/format.h>

#include <array>

#include "sim_server.hpp"

namespace tickwire::connector {
namespace {

constexpr std::array<std::uint32_t, 256> crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = crc_table();

std::uint32_t crc32(std::string_view s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (const char ch : s) c = kCrcTable[(c ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (c >> 8);
  return ~c;
}

// fixed_text: 10^-8 units written with `precision` decimals, '.' removed and
// leading zeros stripped (Kraken's checksum recipe, on text).
std::string fixed_text(std::int64_t units, int precision) {
  std::string s = SimMarket::format_units(units);  // "D.DDDDDDDD"
  const auto point = s.find('.');
  std::string digits = s.substr(0, point);
  const std::string fraction = s.substr(point + 1);
  for (int i = 0; i < precision; ++i) digits += i < 8 ? fraction[static_cast<std::size_t>(i)] : '0';
  const auto first = digits.find_first_not_of('0');
  return first == std::string::npos ? std::string() : digits.substr(first);
}

std::string pair_json(std::string_view symbol, int price_precision, int qty_precision) {
  const auto slash = symbol.find('/');
  const std::string_view base = symbol.substr(0, slash);
  const std::string_view quote = slash == std::string_view::npos ? std::string_view() : symbol.substr(slash + 1);
  std::string increment = "1";
  if (price_precision > 0) increment = "0." + std::string(static_cast<std::size_t>(price_precision - 1), '0') + "1";
  return fmt::format(R"({{"symbol":"{}","base":"{}","quote":"{}","status":"online","qty_precision":{},)"
                     R"("qty_increment":0.00000001,"price_precision":{},"cost_precision":5,"marginable":false,)"
                     R"("has_index":true,"cost_min":0.5,"tick_size":{},"price_increment":{},"qty_min":0.0001}})",
                     symbol, base, quote, qty_precision, price_precision, increment, increment);
}

void append_view(std::string& out, const std::map<std::int64_t, std::int64_t>& side, bool bids) {
  out += '[';
  bool first = true;
  const auto one = [&](std::int64_t price, std::int64_t qty) {
    fmt::format_to(std::back_inserter(out), R"({}{{"price":{},"qty":{}}})", first ? "" : ",",
                   SimMarket::kraken_number(price), SimMarket::kraken_number(qty));
    first = false;
  };
  if (bids) {
    for (auto it = side.rbegin(); it != side.rend(); ++it) one(it->first, it->second);
  } else {
    for (const auto& [price, qty] : side) one(price, qty);
  }
  out += ']';
}

}  // namespace

// --- the market's Kraken messages --------------------------------------------

std::string SimMarket::kraken_number(std::int64_t units) {
  std::string s = format_units(units);
  while (s.size() > 2 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

std::string SimMarket::kraken_time() const {
  const std::uint64_t us = epoch_ms_ * 1000 + now_ns_ / 1000;
  const std::int64_t secs = static_cast<std::int64_t>(us / 1'000'000);
  const std::int64_t days = secs / 86400;
  const std::int64_t rem = secs % 86400;
  // civil_from_days (Howard Hinnant).
  const std::int64_t z = days + 719468;
  const std::int64_t era = z / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", y, m, d, rem / 3600, rem / 60 % 60, rem % 60,
                     us % 1'000'000);
}

std::string SimMarket::kraken_stream(const Instrument& ins, SimChannel channel) const {
  switch (channel) {
    case SimChannel::kTrade: return "trade:" + ins.symbol;
    case SimChannel::kBookTicker: return "ticker:" + ins.symbol;
    default: break;
  }
  return "book:" + ins.symbol;
}

std::uint32_t SimMarket::kraken_checksum(const Instrument& ins) const {
  std::string text;
  std::size_t n = 0;
  for (auto it = ins.kraken_asks.begin(); it != ins.kraken_asks.end() && n < 10; ++it, ++n) {
    text += fixed_text(it->first, ins.price_precision) + fixed_text(it->second, ins.qty_precision);
  }
  n = 0;
  for (auto it = ins.kraken_bids.rbegin(); it != ins.kraken_bids.rend() && n < 10; ++it, ++n) {
    text += fixed_text(it->first, ins.price_precision) + fixed_text(it->second, ins.qty_precision);
  }
  return crc32(text);
}

void SimMarket::take_kraken(std::size_t idx, bool buy, std::int64_t price, std::int64_t take_lots, std::int64_t fills,
                            std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
  const std::uint64_t first_id = ins.next_trade_id;
  const std::string t = kraken_time();
  std::string data = R"({"channel":"trade","type":"update","data":[)";
  for (std::int64_t f = 0; f < fills; ++f) {
    const std::int64_t lots_f = f + 1 < fills ? take_lots / fills : take_lots - (fills - 1) * (take_lots / fills);
    fmt::format_to(std::back_inserter(data),
                   R"({}{{"symbol":"{}","side":"{}","price":{},"qty":{},"ord_type":"market","trade_id":{},)"
                   R"("timestamp":"{}"}})",
                   f == 0 ? "" : ",", ins.symbol, buy ? "buy" : "sell", kraken_number(price),
                   kraken_number(lots_f * ins.lot), ins.next_trade_id++, t);
  }
  data += "]}";
  out.push_back(make(idx, SimChannel::kTrade, std::move(data), first_id, ins.next_trade_id - 1));
}

void SimMarket::emit_kraken_book(std::size_t idx, std::vector<Message>& out) {
  Instrument& ins = instruments_[idx];
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
  ins.last_diff_u = ins.update_id;
  ins.pending_first = 0;
  // The depth-10 view moves to the published book's top 10: a level that
  // changed or came into view is sent, one that left the book is deleted,
  // one pushed below the depth is not (the subscriber cuts it).
  Side sent[2];
  for (bool b : {true, false}) {
    const Side& published = b ? ins.published_bids : ins.published_asks;
    Side& view = b ? ins.kraken_bids : ins.kraken_asks;
    Side next;
    std::size_t n = 0;
    if (b) {
      for (auto it = published.rbegin(); it != published.rend() && n < kKrakenDepth; ++it, ++n) next.insert(*it);
    } else {
      for (auto it = published.begin(); it != published.end() && n < kKrakenDepth; ++it, ++n) next.insert(*it);
    }
    Side& changed = sent[b ? 0 : 1];
    for (const auto& [price, qty] : next) {
      const auto it = view.find(price);
      if (it == view.end() || it->second != qty) changed[price] = qty;
    }
    for (const auto& [price, qty] : view) {
      if (next.count(price) == 0 && published.count(price) == 0) changed[price] = 0;
    }
    view = std::move(next);
  }
  if (sent[0].empty() && sent[1].empty()) return;
  std::string data = fmt::format(R"({{"channel":"book","type":"update","data":[{{"symbol":"{}","bids":)", ins.symbol);
  append_view(data, sent[0], true);
  data += R"(,"asks":)";
  append_view(data, sent[1], false);
  fmt::format_to(std::back_inserter(data), R"(,"checksum":{},"timestamp":"{}"}}]}})", kraken_checksum(ins),
                 kraken_time());
  out.push_back(make(idx, SimChannel::kDepth, std::move(data), ins.update_id, ins.update_id));
}

std::string SimMarket::kraken_book_snapshot(std::size_t symbol) const {
  const Instrument& ins = instruments_.at(symbol);
  std::string out = fmt::format(R"({{"channel":"book","type":"snapshot","data":[{{"symbol":"{}","bids":)", ins.symbol);
  append_view(out, ins.kraken_bids, true);
  out += R"(,"asks":)";
  append_view(out, ins.kraken_asks, false);
  fmt::format_to(std::back_inserter(out), R"(,"checksum":{},"timestamp":"{}"}}]}})", kraken_checksum(ins),
                 kraken_time());
  return out;
}

std::string SimMarket::kraken_instruments() const {
  std::string out = R"({"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[)";
  for (std::size_t i = 0; i < instruments_.size(); ++i) {
    if (i > 0) out += ',';
    out += pair_json(instruments_[i].symbol, instruments_[i].price_precision, instruments_[i].qty_precision);
  }
  return out + "]}}";
}

std::string SimMarket::kraken_refine(std::size_t symbol) {
  Instrument& ins = instruments_.at(symbol);
  ins.price_precision = std::min(ins.price_precision + 1, 10);
  return R"({"channel":"instrument","type":"update","data":{"pairs":[)" +
         pair_json(ins.symbol, ins.price_precision, ins.qty_precision) + "]}}";
}

// --- the session's Kraken requests and faults --------------------------------

void Simulator::Impl::on_kraken_request(Connection& c, simdjson::dom::parser& parser, const std::string& text) {
  std::string now;
  {
    std::lock_guard lock(market_mu);
    now = market.kraken_time();
  }
  simdjson::dom::object req;
  if (parser.parse(text).get_object().get(req) != simdjson::SUCCESS) {
    push_text(c, fmt::format(R"({{"error":"Malformed request","success":false,"time_in":"{}","time_out":"{}"}})",
                             now, now));
    return;
  }
  std::string_view method;
  if (req["method"].get_string().get(method) != simdjson::SUCCESS) method = {};
  std::string req_id;
  if (std::uint64_t id = 0; req["req_id"].get_uint64().get(id) == simdjson::SUCCESS) {
    req_id = fmt::format(R"(,"req_id":{})", id);
  }
  const auto refuse = [&](std::string_view why, std::string_view symbol) {
    push_text(c, fmt::format(R"({{"error":"{}","method":"{}"{},"success":false{},"time_in":"{}","time_out":"{}"}})",
                             why, method, req_id,
                             symbol.empty() ? std::string() : fmt::format(R"(,"symbol":"{}")", symbol), now, now));
  };
  if (method == "ping") {
    push_text(c, fmt::format(R"({{"method":"pong"{},"time_in":"{}","time_out":"{}"}})", req_id, now, now));
    return;
  }
  if (method != "subscribe" && method != "unsubscribe") {
    refuse("Method not found", {});
    return;
  }
  const bool subscribe = method == "subscribe";
  simdjson::dom::object params;
  std::string_view channel;
  if (req["params"].get_object().get(params) != simdjson::SUCCESS ||
      params["channel"].get_string().get(channel) != simdjson::SUCCESS) {
    refuse("params: channel is required", {});
    return;
  }
  const auto ack = [&](std::string_view result) {
    push_text(c, fmt::format(R"({{"method":"{}","result":{},"success":true,"time_in":"{}","time_out":"{}"{}}})",
                             method, result, now, now, req_id));
  };
  if (channel == "instrument") {
    const std::string key = sim_stream_key("instrument");
    if (!subscribe) {
      c.subs.erase(key);
      ack(R"({"channel":"instrument"})");
      return;
    }
    c.subs.emplace(key, "instrument");
    ack(R"({"channel":"instrument","snapshot":true})");
    std::string snapshot;
    {
      std::lock_guard lock(market_mu);
      snapshot = market.kraken_instruments();
    }
    record_line(snapshot, false);
    push_text(c, std::move(snapshot));
    return;
  }
  if (channel != "book" && channel != "trade" && channel != "ticker") {
    refuse(fmt::format("Channel not supported: {} (the simulator serves instrument, book, trade, ticker)", channel), {});
    return;
  }
  std::uint64_t depth = SimMarket::kKrakenDepth;
  if (channel == "book" && params["depth"].get_uint64().get(depth) == simdjson::SUCCESS &&
      depth != SimMarket::kKrakenDepth) {
    refuse(fmt::format("Unsupported depth {} (the simulator serves depth 10)", depth), {});
    return;
  }
  simdjson::dom::array symbols;
  if (params["symbol"].get_array().get(symbols) != simdjson::SUCCESS) {
    refuse("params: symbol must be a list of pairs", {});
    return;
  }
  for (simdjson::dom::element e : symbols) {
    std::string_view symbol;
    if (e.get_string().get(symbol) != simdjson::SUCCESS) {
      refuse("params: symbol must be a list of pairs", {});
      continue;
    }
    std::optional<std::size_t> idx;
    {
      std::lock_guard lock(market_mu);
      idx = market.symbol_index(symbol);
    }
    if (!idx) {
      refuse(fmt::format("Currency pair not supported {}", symbol), symbol);
      continue;
    }
    const std::string name = fmt::format("{}:{}", channel, symbol);
    const std::string key = sim_stream_key(name);
    const std::string result =
        channel == "book" ? fmt::format(R"({{"channel":"book","depth":10,"snapshot":true,"symbol":"{}"}})", symbol)
                          : fmt::format(R"({{"channel":"{}","snapshot":false,"symbol":"{}"}})", channel, symbol);
    if (!subscribe) {
      c.subs.erase(key);
      ack(result);
      continue;
    }
    if (c.subs.size() >= options.max_streams) {
      refuse(fmt::format("Too many subscriptions ({} max)", options.max_streams), symbol);
      continue;
    }
    c.subs.emplace(key, name);
    ack(result);
    if (channel == "book") {
      std::string snapshot;
      {
        std::lock_guard lock(market_mu);
        snapshot = market.kraken_book_snapshot(*idx);
      }
      push_text(c, std::move(snapshot));
    }
  }
}

bool Simulator::Impl::kraken_faults(Connection& c, std::uint64_t n, const SimOutgoing& m) {
  if (m.key.starts_with("trade:") && fires(kTradeGap, c, n)) {
    log_fault(kTradeGap, c, n, m);
    return true;  // withheld: the pair's trade ids jump
  }
  if (!m.key.starts_with("book:")) return false;
  if (fires(kChecksum, c, n)) {
    log_fault(kChecksum, c, n, m);
    std::string text = *m.data;
    const auto at = text.find(R"("checksum":)") + 11;
    const auto end = text.find(',', at);
    const std::uint32_t sum = static_cast<std::uint32_t>(std::stoul(text.substr(at, end - at)));
    text.replace(at, end - at, std::to_string(sum ^ 1u));
    push_text(c, std::move(text));
    return true;
  }
  // A bid at the lowest price there is lies beyond the depth only when the
  // view holds its full 10 bids after this update (it is the market's last
  // depth message: advance() makes one per step, and the next step waits
  // until this one is published); in a thinner book it would be within the
  // depth, so the fault waits for a full one.
  const auto full_view = [&] {
    std::lock_guard lock(market_mu);
    const auto idx = market.symbol_index(std::string_view(m.stream).substr(5));
    return idx && market.kraken_view_bids(*idx) >= SimMarket::kKrakenDepth;
  };
  if (full_view() && fires(kBeyondDepth, c, n)) {
    log_fault(kBeyondDepth, c, n, m);
    // Below any depth-10 view, which the venue's checksum does not cover; the
    // subscriber must cut it.
    std::string text = *m.data;
    const auto at = text.find(R"("bids":[)") + 8;
    text.insert(at, std::string(R"({"price":)") + SimMarket::kraken_number(1) + R"(,"qty":1.0})" +
                        (text[at] == ']' ? "" : ","));
    push_text(c, std::move(text));
    return true;
  }
  if (fires(kPrecision, c, n)) {
    log_fault(kPrecision, c, n, m);
    // This update was written at the old precision; the announcement follows
    // it on every connection (publish() sends it once all have this update).
    std::lock_guard lock(market_mu);
    const auto idx = market.symbol_index(std::string_view(m.stream).substr(5));
    if (idx) kraken_announce = market.kraken_refine(*idx);
  }
  return false;
}

void Simulator::Impl::kraken_announce_precision() {
  if (kraken_announce.empty()) return;
  record_line(kraken_announce, true);
  const std::string key = sim_stream_key("instrument");
  for (const auto& conn : live) {
    if (conn->subs.count(key) != 0 && !conn->ending && !conn->closed) push_text(*conn, kraken_announce);
  }
  kraken_announce.clear();
}

}  // namespace tickwire::connector
