#include "tickwire/connector/venues/kraken/parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>

#include "tickwire/connector/venues/json_check.hpp"
#include "tickwire/connector/venues/kraken/checksum.hpp"
#include "rfc3339.hpp"

namespace tickwire::connector::venues {
namespace {

namespace od = simdjson::ondemand;

void set_kind(ParsedMessage& out, MessageKind kind, EventKind event) {
  out.kind = kind;
  out.event = event;
}

// number_decimal: the exact decimal of a JSON number from its text
// ("0.5666", "45281.0", "-1", "1.5e-3"), never through a double; false if the
// value is not a number or does not fit a Decimal.
bool number_decimal(od::value value, Decimal& out) {
  std::string_view text = value.raw_json_token();
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  if (text.empty() || (text[0] != '-' && (text[0] < '0' || text[0] > '9'))) return false;
  const auto e = text.find_first_of("eE");
  if (e == std::string_view::npos) return middleware::parse_decimal(text, out) == middleware::DecimalError::kOk;
  // An exponent: the mantissa part exactly, then its exponent moved.
  Decimal m;
  if (middleware::parse_decimal(text.substr(0, e), m) != middleware::DecimalError::kOk) return false;
  std::string_view exp = text.substr(e + 1);
  if (!exp.empty() && exp[0] == '+') exp.remove_prefix(1);
  int shift = 0;
  const auto [end, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), shift);
  if (exp.empty() || ec != std::errc{} || end != exp.data() + exp.size()) return false;
  if (shift < -2 * middleware::kMaxFractionDigits || shift > 2 * middleware::kMaxFractionDigits) return false;
  int exponent = static_cast<int>(m.exponent) + shift;
  if (exponent < -middleware::kMaxFractionDigits) return false;
  // A positive exponent goes into the mantissa, so the value is the one its
  // plain text ("8.56E7" -> "85600000") parses to: a Decimal from text never
  // has a positive exponent.
  std::int64_t mantissa = m.mantissa;
  for (; exponent > 0; --exponent) {
    if (mantissa > INT64_MAX / 10 || mantissa < INT64_MIN / 10) return false;
    mantissa *= 10;
  }
  out = Decimal{mantissa, static_cast<std::int8_t>(exponent)};
  return true;
}

bool string_ns(od::value value, std::uint64_t& ns) {
  std::string_view text;
  return value.get_string().get(text) == simdjson::SUCCESS && kraken::rfc3339_ns(text, ns);
}

}  // namespace

KrakenParser::KrakenParser(std::span<const std::string> symbols) {
  // If this fails (out of memory), parse() allocates on demand as usual.
  if (parser_.allocate(kInitialCapacity) != simdjson::SUCCESS) error_ = "parser: initial allocation failed";
  bids_.reserve(kInitialLevels);
  asks_.reserve(kInitialLevels);
  ranges_.reserve(kInitialEvents);
  pending_.reserve(kInitialEvents);
  error_text_.reserve(256);
  pairs_.reserve(symbols.size());
  for (const std::string& s : symbols) pairs_.push_back({s, {}, {}});
}

bool KrakenParser::fail(std::string_view what) {
  error_ = what;
  return false;
}

bool KrakenParser::fail_at(std::string_view field, std::size_t index, std::string_view problem) {
  char buf[192];
  const int n = std::snprintf(buf, sizeof buf, "%.*s[%zu]: %.*s", static_cast<int>(field.size()), field.data(),
                              index, static_cast<int>(problem.size()), problem.data());
  error_text_.assign(buf, n > 0 ? std::min(static_cast<std::size_t>(n), sizeof buf - 1) : 0);
  error_ = error_text_;
  return false;
}

KrakenParser::Pair* KrakenParser::pair(std::string_view symbol) {
  for (Pair& p : pairs_) {
    if (p.symbol == symbol) return &p;
  }
  return nullptr;
}

KrakenPrecision KrakenParser::precision(std::string_view symbol) const {
  for (const Pair& p : pairs_) {
    if (p.symbol == symbol) return p.precision;
  }
  return {};
}

std::optional<std::uint32_t> KrakenParser::checksum(std::string_view symbol, std::span<const PriceLevel> bids,
                                                    std::span<const PriceLevel> asks) const {
  for (const Pair& pair : pairs_) {
    if (pair.symbol != symbol) continue;
    if (!pair.precision.known()) return std::nullopt;
    return pair.checksummer.checksum(asks, bids, pair.precision.price, pair.precision.qty);
  }
  return std::nullopt;
}

void KrakenParser::clear_frame() {
  error_ = {};
  pending_.clear();
  ranges_.clear();
  bids_.clear();
  asks_.clear();
  cursor_ = 0;
}

ParsedMessage KrakenParser::parse(const char* data, std::size_t size) {
  clear_frame();
  ParsedMessage out;  // returned in place (one return object)
  if (!parse_direct(data, size, out)) out = parse_generic(data, size);
  return out;
}

ParsedMessage KrakenParser::parse_generic(const char* data, std::size_t size) {
  clear_frame();
  ParsedMessage out;
  if (!parse_message(data, size, out)) {
    pending_.clear();
    out = ParsedMessage{};
    set_kind(out, MessageKind::kError, EventKind::kError);
  }
  return out;
}

ParsedMessage KrakenParser::parse_snapshot(const char*, std::size_t) {
  error_ = "kraken: books are snapshotted in the stream; there is no REST snapshot to parse";
  return ParsedMessage{};
}

bool KrakenParser::next(ParsedMessage& out) {
  if (cursor_ >= pending_.size()) return false;
  out = pending_[cursor_++];
  return true;
}

void KrakenParser::set_book_levels(ParsedMessage& m) const {
  // Book levels were gathered into bids_/asks_ (which may have moved while
  // growing): the spans are set once the frame is read.
  if (m.event != EventKind::kBookSnapshot && m.event != EventKind::kBookDelta) return;
  const LevelRange& r = ranges_[static_cast<std::size_t>(m.delta.last_update_id)];
  const std::span<const PriceLevel> bids(bids_.data() + r.bids_begin, r.bids_end - r.bids_begin);
  const std::span<const PriceLevel> asks(asks_.data() + r.asks_begin, r.asks_end - r.asks_begin);
  m.delta.last_update_id = 0;  // held the range's index; Kraken books carry no update ids
  if (m.event == EventKind::kBookSnapshot) {
    m.snapshot.bids = bids;
    m.snapshot.asks = asks;
  } else {
    m.delta.bids = bids;
    m.delta.asks = asks;
  }
}

bool KrakenParser::emit_first(ParsedMessage& out) {
  for (ParsedMessage& m : pending_) set_book_levels(m);
  out = pending_[0];
  cursor_ = 1;
  return true;
}

bool KrakenParser::parse_message(const char* data, std::size_t size, ParsedMessage& out) {
  od::document doc;
  od::object root;
  if (const char* problem = open_message(parser_, data, size, doc, root, true)) return fail(problem);
  // Data: {"channel":"<name>","type":"snapshot"|"update","data":[..]} (keys in
  // any order); without "channel" it is a reply ("method", "error").
  std::string_view channel;
  const auto channel_err = root.find_field_unordered("channel").get_string().get(channel);
  if (channel_err == simdjson::NO_SUCH_FIELD) {
    if (root.reset().error()) return fail("message: cannot rewind");
    return parse_reply(root, out);
  }
  if (channel_err) return fail("channel: expected a string");
  if (channel == "heartbeat" || channel == "status") {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);
    return true;
  }
  std::string_view type;
  if (root.find_field_unordered("type").get_string().get(type)) return fail("type: expected a string");
  const bool snapshot = type == "snapshot";
  if (!snapshot && type != "update") return fail("type: expected \"snapshot\" or \"update\"");
  if (channel == "instrument") {
    od::object reference;
    if (root.find_field_unordered("data").get_object().get(reference)) return fail("data: expected an object");
    return parse_instrument(reference, out);
  }
  const bool known = channel == "book" || channel == "trade" || channel == "ticker";
  if (!known) {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // ohlc, level3, ...: well-formed, not handled
    return true;
  }
  od::array entries;
  if (root.find_field_unordered("data").get_array().get(entries)) return fail("data: expected an array");
  if (channel == "book") return parse_books(entries, snapshot, out);
  if (channel == "trade") return parse_trades(entries, out);
  return parse_tickers(entries, out);
}

bool KrakenParser::parse_reply(od::object& root, ParsedMessage& out) {
  // {"method":"subscribe","result":{..},"success":true,"time_in":..,"time_out":..,"req_id":N},
  // {"method":"subscribe","error":"<why>","success":false,..}, {"method":"pong","req_id":N,..},
  // and bare errors {"Error":"Exceeded msg rate"} (the spelling of Kraken's
  // rate-limit guide; "error" is taken too). Fields in any order.
  bool has_success = false, success = true, has_method = false, has_id = false;
  std::string_view method, error;
  std::uint64_t id = 0;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail("message: malformed key");
    if (key == "success") {
      if (field.value().get_bool().get(success)) return fail("success: expected a boolean");
      has_success = true;
    } else if (key == "method") {
      if (field.value().get_string().get(method)) return fail("method: expected a string");
      has_method = true;
    } else if (key == "error" || key == "Error") {
      if (field.value().get_string().get(error)) return fail("error: expected a string");
    } else if (key == "req_id") {
      if (field.value().get_uint64().get(id)) return fail("req_id: expected an unsigned integer");
      has_id = true;
    }
  }
  if (!has_method && !has_success && error.empty()) {
    return fail("message: neither a channel (data) nor a reply (method, success, error)");
  }
  if (!error.empty() || (has_success && !success)) {
    set_kind(out, MessageKind::kControl, EventKind::kErrorReply);
    out.error_reply.has_id = has_id;
    out.error_reply.id = id;
    out.error_reply.message = error.empty() ? std::string_view("request refused") : error;
    return true;
  }
  set_kind(out, MessageKind::kControl, EventKind::kControlReply);
  out.control.has_id = has_id;
  out.control.id = id;
  return true;
}

bool KrakenParser::add_trade(TradeEvent& trade, std::string_view side, std::size_t index) {
  if (trade.symbol.empty()) return fail_at("data", index, "symbol: missing or empty");
  if (side == "buy") {
    trade.aggressor = Side::kBuy;  // "side" is the taker's
  } else if (side == "sell") {
    trade.aggressor = Side::kSell;
  } else {
    return fail_at("data", index, "side: expected \"buy\" or \"sell\"");
  }
  trade.event_ns = trade.trade_ns;
  return true;
}

void KrakenParser::add_book(ParsedMessage& m, std::string_view symbol, bool snapshot, std::uint32_t checksum,
                            std::uint64_t event_ns, const LevelRange& range) {
  // last_update_id holds the index of the levels' range until emit_first().
  if (snapshot) {
    set_kind(m, MessageKind::kIgnored, EventKind::kBookSnapshot);
    m.snapshot.symbol = symbol;
    m.snapshot.event_ns = event_ns;
    m.snapshot.checksum = checksum;
    m.snapshot.has_checksum = true;
  } else {
    set_kind(m, MessageKind::kIgnored, EventKind::kBookDelta);
    m.delta.symbol = symbol;
    m.delta.event_ns = event_ns;
    m.delta.checksum = checksum;
    m.delta.has_checksum = true;
  }
  m.delta.last_update_id = ranges_.size();
  ranges_.push_back(range);
}

bool KrakenParser::parse_trades(od::array& data, ParsedMessage& out) {
  // [{"symbol":"BTC/USD","side":"buy","price":N,"qty":N,"ord_type":"limit","trade_id":N,
  //   "timestamp":"2023-09-25T07:48:36.925533Z"}, ..]
  std::size_t index = 0;
  for (auto element : data) {
    od::object t;
    if (element.get_object().get(t)) return fail_at("data", index, "expected a trade object");
    ParsedMessage& m = pending_.emplace_back();
    set_kind(m, MessageKind::kTrade, EventKind::kTrade);
    TradeEvent& trade = m.trade;
    std::string_view side;
    bool have_price = false, have_qty = false, have_id = false, have_time = false;
    for (auto field : t) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      od::value value;
      if (field.value().get(value)) return fail_at("data", index, "malformed value");
      if (key == "symbol") {
        if (value.get_string().get(trade.symbol)) return fail_at("data", index, "symbol: expected a string");
      } else if (key == "side") {
        if (value.get_string().get(side)) return fail_at("data", index, "side: expected a string");
      } else if (key == "price") {
        if (!number_decimal(value, trade.price)) return fail_at("data", index, "price: expected an exact decimal number");
        have_price = true;
      } else if (key == "qty") {
        if (!number_decimal(value, trade.size)) return fail_at("data", index, "qty: expected an exact decimal number");
        have_qty = true;
      } else if (key == "trade_id") {
        if (value.get_uint64().get(trade.trade_id)) return fail_at("data", index, "trade_id: expected an unsigned integer");
        have_id = true;
      } else if (key == "timestamp") {
        if (!string_ns(value, trade.trade_ns)) return fail_at("data", index, "timestamp: expected an RFC 3339 UTC time");
        have_time = true;
      }
    }
    if (!add_trade(trade, side, index)) return false;
    if (!have_price) return fail_at("data", index, "price: missing");
    if (!have_qty) return fail_at("data", index, "qty: missing");
    if (!have_id) return fail_at("data", index, "trade_id: missing");
    if (!have_time) return fail_at("data", index, "timestamp: missing");
    ++index;
  }
  if (pending_.empty()) return fail("data: no trades");
  return emit_first(out);
}

bool KrakenParser::parse_tickers(od::array& data, ParsedMessage& out) {
  // [{"symbol":"BTC/USD","bid":N,"bid_qty":N,"ask":N,"ask_qty":N,"last":N,..,"timestamp":".."}, ..]
  std::size_t index = 0;
  for (auto element : data) {
    od::object t;
    if (element.get_object().get(t)) return fail_at("data", index, "expected a ticker object");
    ParsedMessage& m = pending_.emplace_back();
    set_kind(m, MessageKind::kIgnored, EventKind::kQuote);
    QuoteEvent& q = m.quote;
    unsigned have = 0;
    for (auto field : t) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      od::value value;
      if (field.value().get(value)) return fail_at("data", index, "malformed value");
      Decimal* target = nullptr;
      unsigned bit = 0;
      if (key == "symbol") {
        if (value.get_string().get(q.symbol)) return fail_at("data", index, "symbol: expected a string");
      } else if (key == "bid") {
        target = &q.bid_price;
        bit = 1;
      } else if (key == "bid_qty") {
        target = &q.bid_size;
        bit = 2;
      } else if (key == "ask") {
        target = &q.ask_price;
        bit = 4;
      } else if (key == "ask_qty") {
        target = &q.ask_size;
        bit = 8;
      } else if (key == "timestamp") {
        if (!string_ns(value, q.event_ns)) return fail_at("data", index, "timestamp: expected an RFC 3339 UTC time");
      }
      if (target != nullptr) {
        if (!number_decimal(value, *target)) {
          return fail_at("data", index, "bid/bid_qty/ask/ask_qty: expected exact decimal numbers");
        }
        have |= bit;
      }
    }
    if (q.symbol.empty()) return fail_at("data", index, "symbol: missing or empty");
    if (have != 15) return fail_at("data", index, "bid, bid_qty, ask and ask_qty: each is required");
    // The quote's update id: its time when it has one (a rollover's two
    // connections then agree), else the count of tickers read.
    ++tickers_;
    q.update_id = q.event_ns != 0 ? q.event_ns : tickers_;
    ++index;
  }
  if (pending_.empty()) return fail("data: no tickers");
  return emit_first(out);
}

bool KrakenParser::parse_books(od::array& data, bool snapshot, ParsedMessage& out) {
  // [{"symbol":"BTC/USD","bids":[{"price":N,"qty":N},..],"asks":[..],"checksum":N,"timestamp":".."}]
  std::size_t index = 0;
  for (auto element : data) {
    od::object b;
    if (element.get_object().get(b)) return fail_at("data", index, "expected a book object");
    std::string_view symbol;
    std::uint64_t sum = 0, event_ns = 0;
    bool have_bids = false, have_asks = false, have_checksum = false;
    LevelRange range{bids_.size(), bids_.size(), asks_.size(), asks_.size()};
    for (auto field : b) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      od::value value;
      if (field.value().get(value)) return fail_at("data", index, "malformed value");
      if (key == "symbol") {
        if (value.get_string().get(symbol)) return fail_at("data", index, "symbol: expected a string");
      } else if (key == "bids") {
        if (have_bids) return fail_at("data", index, "bids: given twice");
        range.bids_begin = bids_.size();
        if (!parse_levels(value, bids_, "bids", index)) return false;
        range.bids_end = bids_.size();
        have_bids = true;
      } else if (key == "asks") {
        if (have_asks) return fail_at("data", index, "asks: given twice");
        range.asks_begin = asks_.size();
        if (!parse_levels(value, asks_, "asks", index)) return false;
        range.asks_end = asks_.size();
        have_asks = true;
      } else if (key == "checksum") {
        if (value.get_uint64().get(sum) || sum > UINT32_MAX) {
          return fail_at("data", index, "checksum: expected an unsigned 32-bit integer");
        }
        have_checksum = true;
      } else if (key == "timestamp") {
        if (!string_ns(value, event_ns)) return fail_at("data", index, "timestamp: expected an RFC 3339 UTC time");
      }
    }
    if (symbol.empty()) return fail_at("data", index, "symbol: missing or empty");
    if (!have_bids) return fail_at("data", index, "bids: missing");
    if (!have_asks) return fail_at("data", index, "asks: missing");
    if (!have_checksum) return fail_at("data", index, "checksum: missing");
    add_book(pending_.emplace_back(), symbol, snapshot, static_cast<std::uint32_t>(sum), event_ns, range);
    ++index;
  }
  if (pending_.empty()) return fail("data: no books");
  return emit_first(out);
}

bool KrakenParser::parse_levels(od::value levels, std::vector<PriceLevel>& out, std::string_view field,
                                std::size_t entry) {
  od::array list;
  if (levels.get_array().get(list)) return fail_at(field, entry, "expected an array of {price, qty}");
  for (auto element : list) {
    od::object level;
    if (element.get_object().get(level)) return fail_at(field, entry, "expected {\"price\":N,\"qty\":N} levels");
    PriceLevel l;
    bool have_price = false, have_qty = false;
    for (auto f : level) {
      std::string_view key;
      if (f.unescaped_key().get(key)) return fail_at(field, entry, "malformed key");
      od::value value;
      if (f.value().get(value)) return fail_at(field, entry, "malformed value");
      if (key == "price") {
        if (!number_decimal(value, l.price)) return fail_at(field, entry, "price: expected an exact decimal number");
        have_price = true;
      } else if (key == "qty") {
        if (!number_decimal(value, l.size)) return fail_at(field, entry, "qty: expected an exact decimal number");
        have_qty = true;
      }
    }
    if (!have_price || !have_qty) return fail_at(field, entry, "a level without price or qty");
    if (l.size.mantissa < 0) return fail_at(field, entry, "qty: negative");
    out.push_back(l);
  }
  return true;
}

bool KrakenParser::parse_instrument(od::object& data, ParsedMessage& out) {
  // {"assets":[..],"pairs":[{"symbol":"BTC/USD","base":"BTC","quote":"USD","status":"online",
  //  "price_precision":1,"qty_precision":8,"price_increment":0.1,"qty_increment":1e-08,..},..]}
  // A snapshot lists every pair; an update the pairs that changed. Only the
  // configured pairs' precisions are kept.
  od::array pairs;
  const auto err = data.find_field_unordered("pairs").get_array().get(pairs);
  if (err == simdjson::NO_SUCH_FIELD) {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // assets only
    return true;
  }
  if (err) return fail("data.pairs: expected an array");
  std::size_t index = 0;
  for (auto element : pairs) {
    od::object p;
    if (element.get_object().get(p)) return fail_at("data.pairs", index, "expected a pair object");
    std::string_view symbol;
    std::int64_t price_precision = -1, qty_precision = -1;
    for (auto field : p) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data.pairs", index, "malformed key");
      if (key == "symbol") {
        if (field.value().get_string().get(symbol)) return fail_at("data.pairs", index, "symbol: expected a string");
      } else if (key == "price_precision") {
        if (field.value().get_int64().get(price_precision) || price_precision < 0 || price_precision > kMaxPrecision) {
          return fail_at("data.pairs", index, "price_precision: expected an integer from 0 to 18");
        }
      } else if (key == "qty_precision") {
        if (field.value().get_int64().get(qty_precision) || qty_precision < 0 || qty_precision > kMaxPrecision) {
          return fail_at("data.pairs", index, "qty_precision: expected an integer from 0 to 18");
        }
      }
    }
    if (symbol.empty()) return fail_at("data.pairs", index, "symbol: missing or empty");
    if (Pair* known = pair(symbol)) {
      if (price_precision >= 0) known->precision.price = static_cast<int>(price_precision);
      if (qty_precision >= 0) known->precision.qty = static_cast<int>(qty_precision);
    }
    ++index;
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // reference data: nothing to publish
  return true;
}

}  // namespace tickwire::connector::venues
