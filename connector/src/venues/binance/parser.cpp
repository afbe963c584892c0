#include "tickwire/connector/venues/binance/parser.hpp"

#include <algorithm>
#include <cstdio>

#include "tickwire/connector/venues/json_check.hpp"

namespace tickwire::connector::venues {
namespace {

namespace od = simdjson::ondemand;


void set_kind(ParsedMessage& out, MessageKind kind, EventKind event) {
  out.kind = kind;
  out.event = event;
}

// Field-lookup helpers: each returns the simdjson error (NO_SUCH_FIELD when absent).
simdjson::error_code get_u64(od::object& o, std::string_view key, std::uint64_t& out) {
  return o.find_field_unordered(key).get_uint64().get(out);
}
simdjson::error_code get_str(od::object& o, std::string_view key, std::string_view& out) {
  return o.find_field_unordered(key).get_string().get(out);
}

// first_key: the first key of the top-level object when it is plain text
// (no escapes), else empty. Only a hint to pick the fast path: whatever it
// says, every field is still parsed and checked.
std::string_view first_key(const char* data, std::size_t size) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t i = 0;
  while (i < size && is_space(data[i])) ++i;
  if (i == size || data[i] != '{') return {};
  ++i;
  while (i < size && is_space(data[i])) ++i;
  if (i == size || data[i] != '"') return {};
  const std::size_t start = ++i;
  while (i < size && data[i] != '"' && data[i] != '\\') ++i;
  if (i == size || data[i] != '"') return {};
  return {data + start, i - start};
}

// stream_symbol: "btcusdt" of "btcusdt@depth@100ms" (the whole name if it has no '@').
std::string_view stream_symbol(std::string_view stream) { return stream.substr(0, stream.find('@')); }

}  // namespace

void BinanceParser::set_time_unit(TimeUnit unit) {
  ns_per_unit_ = unit == TimeUnit::kMicroseconds ? 1'000 : 1'000'000;
}

bool BinanceParser::to_ns(std::uint64_t t, std::uint64_t& ns) const {
  if (t > UINT64_MAX / ns_per_unit_) return false;  // the nanosecond value would not fit in 64 bits
  ns = t * ns_per_unit_;
  return true;
}

BinanceParser::BinanceParser(BinanceDialect dialect) : dialect_(dialect) {
  // If this fails (out of memory), parse() allocates on demand as usual.
  if (parser_.allocate(kInitialCapacity) != simdjson::SUCCESS) error_ = "parser: initial allocation failed";
  bids_.reserve(kInitialLevels);
  asks_.reserve(kInitialLevels);
  error_text_.reserve(256);
}

bool BinanceParser::fail(std::string_view what) {
  error_ = what;
  return false;
}

ParsedMessage BinanceParser::parse(const char* data, std::size_t size) {
  error_ = {};
  ParsedMessage out;  // returned in place (one return object)
  if (!parse_direct(data, size, out)) out = parse_generic(data, size);
  return out;
}

ParsedMessage BinanceParser::parse_generic(const char* data, std::size_t size) {
  error_ = {};
  ParsedMessage out;
  if (!parse_message(data, size, out)) set_kind(out, MessageKind::kError, EventKind::kError);
  return out;
}

ParsedMessage BinanceParser::parse_depth_snapshot(const char* data, std::size_t size) {
  error_ = {};
  ParsedMessage out;
  if (!parse_snapshot(data, size, out)) set_kind(out, MessageKind::kError, EventKind::kError);
  return out;
}

bool BinanceParser::parse_message(const char* data, std::size_t size, ParsedMessage& out) {
  od::document doc;
  od::object root;
  if (const char* problem = open_message(parser_, data, size, doc, root, true)) return fail(problem);

  // Combined stream: {"stream":"btcusdt@trade","data":{...}}; raw stream: the
  // event itself; replies carry an "id"; the websocket API wraps events in "event".
  // Binance puts "stream" first in combined messages (its suffix names the
  // kind) and "e" first in raw events: those go straight to the right
  // parser; anything else takes the general path below.
  const std::string_view key = first_key(data, size);
  if (key == "e") return parse_event(root, out);
  bool book_ticker = false;
  bool have_stream = false;
  if (key == "stream") {
    std::string_view stream;
    if (get_str(root, "stream", stream)) return fail("stream: expected a string");
    book_ticker = stream.ends_with("@bookTicker");
    out.stream_symbol = stream_symbol(stream);
    have_stream = true;
  }
  od::object event;
  od::value data_field;
  auto data_err = root.find_field_unordered("data").get(data_field);
  if (data_err == simdjson::SUCCESS) {
    if (data_field.get_object().get(event)) return fail("data: expected an object");
    const bool ok = book_ticker ? parse_book_ticker(event, out) : parse_event(event, out);
    if (!ok || have_stream) return ok;
    // "data" came first: the stream name, if any, is after it.
    std::string_view stream;
    const auto stream_err = get_str(root, "stream", stream);
    if (stream_err == simdjson::SUCCESS) {
      out.stream_symbol = stream_symbol(stream);
    } else if (stream_err != simdjson::NO_SUCH_FIELD) {
      return fail("stream: expected a string");
    }
    return true;
  }
  if (data_err != simdjson::NO_SUCH_FIELD) return fail("message: malformed JSON");
  if (root.reset().error()) return fail("message: cannot rewind");
  od::value probe;
  auto id_err = root.find_field_unordered("id").get(probe);
  if (id_err == simdjson::SUCCESS) return parse_reply(root, out);
  if (id_err != simdjson::NO_SUCH_FIELD) return fail("message: malformed JSON");
  if (root.reset().error()) return fail("message: cannot rewind");
  auto wrapped_err = root.find_field_unordered("event").get(probe);
  if (wrapped_err == simdjson::SUCCESS) {
    if (probe.get_object().get(event)) return fail("event: expected an object");
    return parse_event(event, out);
  }
  if (wrapped_err != simdjson::NO_SUCH_FIELD) return fail("message: malformed JSON");
  if (root.reset().error()) return fail("message: cannot rewind");
  return parse_event(root, out);
}

bool BinanceParser::parse_event(od::object& event, ParsedMessage& out) {
  std::string_view type;
  auto type_err = event.find_field_unordered("e").get_string().get(type);
  if (type_err == simdjson::NO_SUCH_FIELD) {
    // Spot bookTicker is the one event without a type: {"u":..,"s":..,"b":..}.
    if (event.reset().error()) return fail("message: cannot rewind");
    od::value u;
    auto u_err = event.find_field_unordered("u").get(u);
    if (u_err == simdjson::NO_SUCH_FIELD) return fail("data.e: missing (and no \"u\" of a bookTicker)");
    if (u_err) return fail("message: malformed JSON");
    if (event.reset().error()) return fail("message: cannot rewind");
    return parse_book_ticker(event, out);
  }
  if (type_err) return fail("data.e: expected a string");
  if (type == "trade") return parse_trade(event, out);
  if (type == "depthUpdate") return parse_depth_update(event, out);
  if (type == "aggTrade") return parse_agg_trade(event, out);
  if (type == "bookTicker") return parse_book_ticker(event, out);
  if (type == "serverShutdown") return parse_server_shutdown(event, out);
  if (type == "markPriceUpdate") return parse_mark_price(event, out);
  if (type == "forceOrder") return parse_force_order(event, out);
  set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);
  return true;
}

bool BinanceParser::parse_reply(od::object& root, ParsedMessage& out) {
  // Control replies: {"result":null,"id":1}. Errors: {"error":{"code":2,"msg":".."},"id":1}
  // or, in older documents, {"code":2,"msg":"..","id":1}. The id is an unsigned
  // integer or null.
  std::uint64_t id = 0;
  bool has_id = false;
  if (root.reset().error()) return fail("message: cannot rewind");
  od::value id_value;
  if (root.find_field_unordered("id").get(id_value)) return fail("id: malformed");
  od::json_type id_type;
  if (id_value.type().get(id_type)) return fail("id: malformed");
  if (id_type == od::json_type::number) {
    if (id_value.get_uint64().get(id)) return fail("id: expected an unsigned integer or null");
    has_id = true;
  } else if (id_type != od::json_type::null) {
    return fail("id: expected an unsigned integer or null");
  }

  od::object error_object;
  od::value error_value;
  auto error_err = root.find_field_unordered("error").get(error_value);
  bool is_error = false;
  if (error_err == simdjson::SUCCESS) {
    if (error_value.get_object().get(error_object)) return fail("error: expected an object");
    is_error = true;
  } else if (error_err != simdjson::NO_SUCH_FIELD) {
    return fail("message: malformed JSON");
  } else {
    if (root.reset().error()) return fail("message: cannot rewind");
    od::value code;
    auto code_err = root.find_field_unordered("code").get(code);
    if (code_err == simdjson::SUCCESS) {
      if (root.reset().error()) return fail("message: cannot rewind");
      error_object = root;
      is_error = true;
    } else if (code_err != simdjson::NO_SUCH_FIELD) {
      return fail("message: malformed JSON");
    }
  }
  if (is_error) {
    set_kind(out, MessageKind::kControl, EventKind::kErrorReply);
    out.error_reply.has_id = has_id;
    out.error_reply.id = id;
    if (error_object.find_field_unordered("code").get_int64().get(out.error_reply.code)) {
      return fail("error.code: expected an integer");
    }
    if (get_str(error_object, "msg", out.error_reply.message)) return fail("error.msg: expected a string");
    return true;
  }

  if (root.reset().error()) return fail("message: cannot rewind");
  od::value result;
  auto result_err = root.find_field_unordered("result").get(result);
  if (result_err == simdjson::NO_SUCH_FIELD) return fail("message: a reply with an id but neither result nor error");
  if (result_err) return fail("result: malformed");
  set_kind(out, MessageKind::kControl, EventKind::kControlReply);
  out.control.has_id = has_id;
  out.control.id = id;
  return true;
}

// finish_trade: the checks and conversions a trade and an aggregate trade share.
bool BinanceParser::finish_trade(TradeEvent& t, std::uint64_t event_ms, std::uint64_t trade_ms,
                                 std::string_view price, std::string_view size, bool buyer_is_maker) {
  if (t.symbol.empty()) return fail("data.s: empty symbol");
  if (!to_ns(event_ms, t.event_ns) || !to_ns(trade_ms, t.trade_ns)) return fail("data.E/T: timestamp out of range");
  if (middleware::parse_decimal(price, t.price) != middleware::DecimalError::kOk) {
    return fail("data.p: not an exact decimal");
  }
  if (middleware::parse_decimal(size, t.size) != middleware::DecimalError::kOk) {
    return fail("data.q: not an exact decimal");
  }
  // m=true: the buyer was the maker, so the seller took liquidity.
  t.aggressor = buyer_is_maker ? Side::kSell : Side::kBuy;
  return true;
}

bool BinanceParser::parse_trade(od::object& data, ParsedMessage& out) {
  set_kind(out, MessageKind::kTrade, EventKind::kTrade);
  TradeEvent& t = out.trade;
  std::uint64_t event_ms = 0;
  std::uint64_t trade_ms = 0;
  std::string_view price;
  std::string_view size;
  bool buyer_is_maker = false;
  // Fields are looked up by name: Binance's order (E, s, t, p, q, T, m) is the
  // fast path, but any order is accepted.
  if (get_u64(data, "E", event_ms)) return fail("data.E: expected an unsigned integer");
  if (get_str(data, "s", t.symbol)) return fail("data.s: expected a string");
  if (get_u64(data, "t", t.trade_id)) return fail("data.t: expected an unsigned integer");
  if (get_str(data, "p", price)) return fail("data.p: expected a string");
  if (get_str(data, "q", size)) return fail("data.q: expected a string");
  if (get_u64(data, "T", trade_ms)) return fail("data.T: expected an unsigned integer");
  if (data.find_field_unordered("m").get_bool().get(buyer_is_maker)) return fail("data.m: expected a boolean");
  if (dialect_ == BinanceDialect::kUsdm) {
    // Futures trades name their type: MARKET, or INSURANCE_FUND / ADL / NA.
    std::string_view type;
    const auto x_err = get_str(data, "X", type);
    if (x_err != simdjson::SUCCESS && x_err != simdjson::NO_SUCH_FIELD) return fail("data.X: expected a string");
  }
  return finish_trade(t, event_ms, trade_ms, price, size, buyer_is_maker);
}

bool BinanceParser::parse_agg_trade(od::object& data, ParsedMessage& out) {
  set_kind(out, MessageKind::kIgnored, EventKind::kAggTrade);
  TradeEvent& t = out.trade;
  t.aggregate = true;
  std::uint64_t event_ms = 0;
  std::uint64_t trade_ms = 0;
  std::string_view price;
  std::string_view size;
  bool buyer_is_maker = false;
  // Binance's order: E, s, a, p, q, f, l, T, m.
  if (get_u64(data, "E", event_ms)) return fail("data.E: expected an unsigned integer");
  if (get_str(data, "s", t.symbol)) return fail("data.s: expected a string");
  if (get_u64(data, "a", t.trade_id)) return fail("data.a: expected an unsigned integer");
  if (get_str(data, "p", price)) return fail("data.p: expected a string");
  if (get_str(data, "q", size)) return fail("data.q: expected a string");
  if (get_u64(data, "f", t.first_trade_id)) return fail("data.f: expected an unsigned integer");
  if (get_u64(data, "l", t.last_trade_id)) return fail("data.l: expected an unsigned integer");
  if (get_u64(data, "T", trade_ms)) return fail("data.T: expected an unsigned integer");
  if (data.find_field_unordered("m").get_bool().get(buyer_is_maker)) return fail("data.m: expected a boolean");
  if (t.first_trade_id > t.last_trade_id) return fail("data.f: first trade id greater than last (data.l)");
  return finish_trade(t, event_ms, trade_ms, price, size, buyer_is_maker);
}

bool BinanceParser::parse_book_ticker(od::object& data, ParsedMessage& out) {
  set_kind(out, MessageKind::kIgnored, EventKind::kQuote);
  QuoteEvent& q = out.quote;
  std::string_view text[4];
  // Binance's order: u, s, b, B, a, A (futures add e, T, E).
  if (get_u64(data, "u", q.update_id)) return fail("data.u: expected an unsigned integer");
  if (get_str(data, "s", q.symbol)) return fail("data.s: expected a string");
  if (get_str(data, "b", text[0])) return fail("data.b: expected a string");
  if (get_str(data, "B", text[1])) return fail("data.B: expected a string");
  if (get_str(data, "a", text[2])) return fail("data.a: expected a string");
  if (get_str(data, "A", text[3])) return fail("data.A: expected a string");
  std::uint64_t event_ms = 0;
  // Spot has no event time: an ordered lookup costs nothing when the object
  // ends. Futures send it after "u" (e, u, E, T, s, b, B, a, A): any order there.
  auto e_err = dialect_ == BinanceDialect::kUsdm ? data.find_field_unordered("E").get_uint64().get(event_ms)
                                                 : data.find_field("E").get_uint64().get(event_ms);
  if (e_err == simdjson::SUCCESS) {
    if (!to_ns(event_ms, q.event_ns)) return fail("data.E: timestamp out of range");
  } else if (e_err != simdjson::NO_SUCH_FIELD) {
    return fail("data.E: expected an unsigned integer");
  }
  if (q.symbol.empty()) return fail("data.s: empty symbol");
  static constexpr std::string_view kErrors[4] = {"data.b: not an exact decimal", "data.B: not an exact decimal",
                                                  "data.a: not an exact decimal", "data.A: not an exact decimal"};
  Decimal* targets[4] = {&q.bid_price, &q.bid_size, &q.ask_price, &q.ask_size};
  for (int i = 0; i < 4; ++i) {
    if (middleware::parse_decimal(text[i], *targets[i]) != middleware::DecimalError::kOk) return fail(kErrors[i]);
  }
  if (q.bid_size.mantissa < 0 || q.ask_size.mantissa < 0) return fail("data.B/A: negative size");
  return true;
}

bool BinanceParser::parse_depth_update(od::object& data, ParsedMessage& out) {
  set_kind(out, MessageKind::kIgnored, EventKind::kBookDelta);
  BookDeltaEvent& d = out.delta;
  std::uint64_t event_ms = 0;
  // Binance's order: E, s, U, u, b, a.
  if (get_u64(data, "E", event_ms)) return fail("data.E: expected an unsigned integer");
  if (get_str(data, "s", d.symbol)) return fail("data.s: expected a string");
  if (get_u64(data, "U", d.first_update_id)) return fail("data.U: expected an unsigned integer");
  if (get_u64(data, "u", d.last_update_id)) return fail("data.u: expected an unsigned integer");
  if (dialect_ == BinanceDialect::kUsdm) {
    // Futures diffs chain by "pu", the previous diff's "u" (order E, T, s, U, u, pu, b, a).
    if (get_u64(data, "pu", d.prev_update_id)) return fail("data.pu: expected an unsigned integer");
    d.has_prev = true;
  }
  od::value levels;
  if (data.find_field_unordered("b").get(levels)) return fail("data.b: missing");
  if (!parse_levels(levels, bids_, "data.b")) return false;
  if (data.find_field_unordered("a").get(levels)) return fail("data.a: missing");
  if (!parse_levels(levels, asks_, "data.a")) return false;
  if (d.symbol.empty()) return fail("data.s: empty symbol");
  if (d.first_update_id > d.last_update_id) return fail("data.U: first update id greater than last (data.u)");
  if (!to_ns(event_ms, d.event_ns)) return fail("data.E: timestamp out of range");
  d.bids = bids_;
  d.asks = asks_;
  return true;
}

bool BinanceParser::parse_server_shutdown(od::object& data, ParsedMessage& out) {
  set_kind(out, MessageKind::kIgnored, EventKind::kServerShutdown);
  std::uint64_t event_ms = 0;
  if (get_u64(data, "E", event_ms)) return fail("data.E: expected an unsigned integer");
  if (!to_ns(event_ms, out.shutdown.event_ns)) return fail("data.E: timestamp out of range");
  return true;
}

bool BinanceParser::parse_decimal_field(od::object& o, std::string_view key, Decimal& out, std::string_view missing,
                                        std::string_view bad) {
  std::string_view text;
  if (get_str(o, key, text)) return fail(missing);
  if (middleware::parse_decimal(text, out) != middleware::DecimalError::kOk) return fail(bad);
  return true;
}

bool BinanceParser::parse_mark_price(od::object& data, ParsedMessage& out) {
  // {"e":"markPriceUpdate","E":..,"s":..,"p":mark,"i":index,"P":settle,"r":rate,"T":next funding}
  set_kind(out, MessageKind::kIgnored, EventKind::kFunding);
  FundingEvent& f = out.funding;
  std::uint64_t event_ms = 0;
  std::uint64_t next_ms = 0;
  if (get_u64(data, "E", event_ms)) return fail("data.E: expected an unsigned integer");
  if (get_str(data, "s", f.symbol)) return fail("data.s: expected a string");
  if (!parse_decimal_field(data, "p", f.mark_price, "data.p: expected a string", "data.p: not an exact decimal")) {
    return false;
  }
  if (!parse_decimal_field(data, "i", f.index_price, "data.i: expected a string", "data.i: not an exact decimal")) {
    return false;
  }
  if (!parse_decimal_field(data, "P", f.settle_price, "data.P: expected a string", "data.P: not an exact decimal")) {
    return false;
  }
  if (!parse_decimal_field(data, "r", f.funding_rate, "data.r: expected a string", "data.r: not an exact decimal")) {
    return false;
  }
  if (get_u64(data, "T", next_ms)) return fail("data.T: expected an unsigned integer");
  if (f.symbol.empty()) return fail("data.s: empty symbol");
  if (!to_ns(event_ms, f.event_ns) || !to_ns(next_ms, f.next_funding_ns)) return fail("data.E/T: timestamp out of range");
  return true;
}

bool BinanceParser::parse_force_order(od::object& data, ParsedMessage& out) {
  // {"e":"forceOrder","E":..,"o":{"s","S","o","f","q","p","ap","X","l","z","T"}}
  set_kind(out, MessageKind::kIgnored, EventKind::kLiquidation);
  LiquidationEvent& l = out.liquidation;
  std::uint64_t event_ms = 0;
  std::uint64_t trade_ms = 0;
  if (get_u64(data, "E", event_ms)) return fail("data.E: expected an unsigned integer");
  od::object order;
  if (data.find_field_unordered("o").get_object().get(order)) return fail("data.o: expected an object");
  if (get_str(order, "s", l.symbol)) return fail("data.o.s: expected a string");
  std::string_view side;
  if (get_str(order, "S", side)) return fail("data.o.S: expected a string");
  if (side == "BUY") {
    l.side = Side::kBuy;
  } else if (side == "SELL") {
    l.side = Side::kSell;
  } else {
    return fail("data.o.S: expected \"BUY\" or \"SELL\"");
  }
  if (!parse_decimal_field(order, "q", l.size, "data.o.q: expected a string", "data.o.q: not an exact decimal")) {
    return false;
  }
  if (!parse_decimal_field(order, "p", l.price, "data.o.p: expected a string", "data.o.p: not an exact decimal")) {
    return false;
  }
  if (!parse_decimal_field(order, "ap", l.average_price, "data.o.ap: expected a string",
                           "data.o.ap: not an exact decimal")) {
    return false;
  }
  if (!parse_decimal_field(order, "z", l.filled_size, "data.o.z: expected a string",
                           "data.o.z: not an exact decimal")) {
    return false;
  }
  if (get_u64(order, "T", trade_ms)) return fail("data.o.T: expected an unsigned integer");
  if (l.symbol.empty()) return fail("data.o.s: empty symbol");
  if (!to_ns(event_ms, l.event_ns) || !to_ns(trade_ms, l.trade_ns)) return fail("data.E/o.T: timestamp out of range");
  return true;
}

bool BinanceParser::parse_snapshot(const char* data, std::size_t size, ParsedMessage& out) {
  od::document doc;
  if (parser_.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc)) {
    return fail("depth snapshot: not a JSON document");
  }
  if (const char* invalid = check_document(doc, {data, size})) return fail(invalid);
  od::object root;
  if (auto err = doc.get_object().get(root)) {
    return fail(err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT ? "depth snapshot: truncated JSON"
                                                            : "depth snapshot: expected a JSON object");
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kBookSnapshot);
  if (get_u64(root, "lastUpdateId", out.snapshot.last_update_id)) {
    return fail("lastUpdateId: expected an unsigned integer");
  }
  od::value levels;
  if (root.find_field_unordered("bids").get(levels)) return fail("bids: missing");
  if (!parse_levels(levels, bids_, "bids")) return false;
  if (root.find_field_unordered("asks").get(levels)) return fail("asks: missing");
  if (!parse_levels(levels, asks_, "asks")) return false;
  out.snapshot.bids = bids_;
  out.snapshot.asks = asks_;
  return true;
}

bool BinanceParser::parse_levels(od::value levels, std::vector<PriceLevel>& out, std::string_view field) {
  // Composes "<field>[i]: <problem>" into error_text_ (reserved, so no
  // allocation for any field name this parser uses).
  auto fail_at = [&](std::size_t index, std::string_view problem) {
    char buf[192];
    const int n = std::snprintf(buf, sizeof buf, "%.*s[%zu]: %.*s", static_cast<int>(field.size()), field.data(),
                                index, static_cast<int>(problem.size()), problem.data());
    error_text_.assign(buf, n > 0 ? std::min(static_cast<std::size_t>(n), sizeof buf - 1) : 0);
    error_ = error_text_;
    return false;
  };
  out.clear();
  od::array list;
  if (levels.get_array().get(list)) {
    error_text_.assign(field);
    error_text_.append(": expected an array of [price, size]");
    error_ = error_text_;
    return false;
  }
  std::size_t index = 0;
  for (auto element : list) {
    od::array pair;
    if (element.get_array().get(pair)) return fail_at(index, "expected [price, size]");
    std::string_view text[2];
    std::size_t n = 0;
    for (auto item : pair) {
      std::string_view s;
      if (item.get_string().get(s)) return fail_at(index, "expected price and size as strings");
      if (n < 2) text[n] = s;
      ++n;
    }
    if (n != 2) return fail_at(index, "expected exactly [price, size]");
    PriceLevel level;
    if (auto e = middleware::parse_decimal(text[0], level.price); e != middleware::DecimalError::kOk) {
      return fail_at(index, "price: not an exact decimal");
    }
    if (auto e = middleware::parse_decimal(text[1], level.size); e != middleware::DecimalError::kOk) {
      return fail_at(index, "size: not an exact decimal");
    }
    if (level.size.mantissa < 0) return fail_at(index, "size: negative");
    out.push_back(level);
    ++index;
  }
  return true;
}

}  // namespace tickwire::connector::venues
