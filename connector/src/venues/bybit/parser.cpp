#include "tickwire/connector/venues/bybit/parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "tickwire/connector/venues/json_check.hpp"

namespace tickwire::connector::venues {
namespace {

namespace od = simdjson::ondemand;

void set_kind(ParsedMessage& out, MessageKind kind, EventKind event) {
  out.kind = kind;
  out.event = event;
}

// to_ns: a millisecond timestamp in nanoseconds; false if it does not fit.
bool to_ns(std::uint64_t ms, std::uint64_t& ns) {
  if (ms > UINT64_MAX / 1'000'000) return false;
  ns = ms * 1'000'000;
  return true;
}

bool decimal(std::string_view text, Decimal& out) {
  return middleware::parse_decimal(text, out) == middleware::DecimalError::kOk;
}

// Merged ticker fields: bit i of TickerState::known.
enum TickerField : std::uint16_t {
  kBidPrice = 1 << 0, kBidSize = 1 << 1, kAskPrice = 1 << 2, kAskSize = 1 << 3,
  kMark = 1 << 4, kIndex = 1 << 5, kRate = 1 << 6, kNextFunding = 1 << 7, kOpenInterest = 1 << 8,
};
constexpr std::uint16_t kQuoteFields = kBidPrice | kBidSize | kAskPrice | kAskSize;
constexpr std::uint16_t kFundingFields = kMark | kIndex | kRate | kNextFunding;

}  // namespace

BybitParser::BybitParser(BybitCategory category, std::span<const std::string> symbols) : category_(category) {
  // If this fails (out of memory), parse() allocates on demand as usual.
  if (parser_.allocate(kInitialCapacity) != simdjson::SUCCESS) error_ = "parser: initial allocation failed";
  bids_.reserve(kInitialLevels);
  asks_.reserve(kInitialLevels);
  trades_.reserve(kInitialTrades);
  liquidations_.reserve(64);
  pending_.reserve(3);
  error_text_.reserve(256);
  tickers_.reserve(symbols.size());
  for (const std::string& s : symbols) tickers_.emplace_back().symbol = s;
}

bool BybitParser::fail(std::string_view what) {
  error_ = what;
  return false;
}

bool BybitParser::fail_at(std::string_view field, std::size_t index, std::string_view problem) {
  char buf[192];
  const int n = std::snprintf(buf, sizeof buf, "%.*s[%zu]: %.*s", static_cast<int>(field.size()), field.data(),
                              index, static_cast<int>(problem.size()), problem.data());
  error_text_.assign(buf, n > 0 ? std::min(static_cast<std::size_t>(n), sizeof buf - 1) : 0);
  error_ = error_text_;
  return false;
}

ParsedMessage BybitParser::parse(const char* data, std::size_t size) {
  error_ = {};
  trades_.clear();
  liquidations_.clear();
  pending_.clear();
  cursor_ = 0;
  ParsedMessage out;
  if (!parse_message(data, size, out)) {
    trades_.clear();
    liquidations_.clear();
    pending_.clear();
    out = ParsedMessage{};
    set_kind(out, MessageKind::kError, EventKind::kError);
  }
  return out;
}

ParsedMessage BybitParser::parse_snapshot(const char* data, std::size_t size) {
  // GET /v5/market/full_orderbook?category=..&symbol=..:
  // {"retCode":0,"retMsg":"OK","result":{"s":..,"b":[..],"a":[..],"ts":..,"u":N,"seq":N,"cts":..},..}
  error_ = {};
  ParsedMessage out;
  const auto run = [&]() -> bool {
    od::document doc;
    if (parser_.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc)) {
      return fail("snapshot: not a JSON document");
    }
    if (const char* invalid = check_document(doc, {data, size})) return fail(invalid);
    od::object root;
    if (doc.get_object().get(root)) return fail("snapshot: expected a JSON object");
    std::int64_t code = -1;
    if (root.find_field_unordered("retCode").get_int64().get(code)) {
      return fail("snapshot retCode: expected an integer");
    }
    if (code != 0) return fail("snapshot: the exchange answered an error retCode");
    od::object result;
    if (root.find_field_unordered("result").get_object().get(result)) {
      return fail("snapshot result: expected an object");
    }
    return parse_book_data(result, true, 0, true, out);
  };
  if (!run()) {
    out = ParsedMessage{};
    set_kind(out, MessageKind::kError, EventKind::kError);
  }
  return out;
}

bool BybitParser::next(ParsedMessage& out) {
  if (cursor_ < trades_.size()) {
    out.trade = trades_[cursor_++];
    return true;
  }
  if (cursor_ < liquidations_.size()) {
    out.liquidation = liquidations_[cursor_++];
    return true;
  }
  if (cursor_ < pending_.size()) {
    out = pending_[cursor_++];
    return true;
  }
  return false;
}

void BybitParser::emit_pending(ParsedMessage& out) {
  if (pending_.empty()) {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // nothing published changed
    return;
  }
  out = pending_[0];
  cursor_ = 1;
}

bool BybitParser::parse_message(const char* data, std::size_t size, ParsedMessage& out) {
  od::document doc;
  if (parser_.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc)) {
    return fail("message: not a JSON document");
  }
  if (const char* invalid = check_document(doc, {data, size})) return fail(invalid);
  od::object root;
  if (auto err = doc.get_object().get(root)) {
    return fail(err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT ? "message: truncated JSON (unclosed object or array)"
                                                            : "message: expected a JSON object");
  }
  // Data: {"topic":"<channel>[.<depth>].<SYMBOL>","type":"snapshot"|"delta","ts":..,"data":..,...}
  // in either key order; anything without a topic is a reply.
  std::string_view topic;
  const auto topic_err = root.find_field_unordered("topic").get_string().get(topic);
  if (topic_err == simdjson::NO_SUCH_FIELD) {
    if (root.reset().error()) return fail("message: cannot rewind");
    return parse_reply(root, out);
  }
  if (topic_err) return fail("topic: expected a string");
  const auto dot = topic.find('.');
  const auto last_dot = topic.rfind('.');
  if (dot == std::string_view::npos) return fail("topic: expected \"<channel>.<symbol>\"");
  const std::string_view channel = topic.substr(0, dot);
  topic_symbol_ = topic.substr(last_dot + 1);
  out.stream_symbol = topic_symbol_;
  std::string_view type;
  if (root.find_field_unordered("type").get_string().get(type)) return fail("type: expected a string");
  const bool snapshot = type == "snapshot";
  if (!snapshot && type != "delta") return fail("type: expected \"snapshot\" or \"delta\"");
  std::uint64_t ts_ms = 0;
  if (root.find_field_unordered("ts").get_uint64().get(ts_ms)) return fail("ts: expected an unsigned integer");
  if (channel == "publicTrade") return parse_trades(root, ts_ms, out);
  if (channel == "orderbook") {
    const std::string_view depth = topic.substr(dot + 1, last_dot - std::min(last_dot, dot + 1));
    if (depth != "1" && depth != "50" && depth != "200" && depth != "1000" && depth != "full") {
      return fail("topic: orderbook depth is not 1, 50, 200, 1000 or full");
    }
    return parse_book(root, snapshot, ts_ms, out);
  }
  if (channel == "tickers") return parse_ticker(root, snapshot, ts_ms, out);
  if (channel == "allLiquidation") return parse_liquidations(root, ts_ms, out);
  set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // kline, lt, ...: well-formed, not handled
  return true;
}

bool BybitParser::parse_reply(od::object& root, ParsedMessage& out) {
  // Acks: {"success":true,"ret_msg":"subscribe","conn_id":..,"req_id":"7","op":"subscribe"}
  // (ret_msg "" on linear); pongs: spot {"success":true,"ret_msg":"pong",..,"op":"ping"},
  // linear {"req_id":..,"op":"pong","args":["<ms>"],"conn_id":..}; option acks
  // {"success":true,"conn_id":..,"data":{..},"type":"COMMAND_RESP"}; refusals
  // {"success":false,"ret_msg":"<why>",..}. Fields in any order.
  bool has_success = false, success = true, has_op = false;
  std::string_view req_id, message;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail("message: malformed key");
    if (key == "success") {
      if (field.value().get_bool().get(success)) return fail("success: expected a boolean");
      has_success = true;
    } else if (key == "ret_msg") {
      if (field.value().get_string().get(message)) return fail("ret_msg: expected a string");
    } else if (key == "req_id") {
      if (field.value().get_string().get(req_id)) return fail("req_id: expected a string");
    } else if (key == "op") {
      std::string_view op;
      if (field.value().get_string().get(op)) return fail("op: expected a string");
      has_op = true;
    }
  }
  if (!has_success && !has_op) return fail("message: neither a topic (data) nor a reply (op, success)");
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(req_id.data(), req_id.data() + req_id.size(), id);
  const bool has_id = !req_id.empty() && ec == std::errc{} && end == req_id.data() + req_id.size();
  if (!success) {
    set_kind(out, MessageKind::kControl, EventKind::kErrorReply);
    out.error_reply.has_id = has_id;
    out.error_reply.id = has_id ? id : 0;
    out.error_reply.message = message;
    return true;
  }
  set_kind(out, MessageKind::kControl, EventKind::kControlReply);
  out.control.has_id = has_id;
  out.control.id = has_id ? id : 0;
  return true;
}

bool BybitParser::parse_trades(od::object& root, std::uint64_t ts_ms, ParsedMessage& out) {
  // data: [{"T":ms,"s":"BTCUSDT","S":"Buy"|"Sell","v":"0.001","p":"16578.50","L":..,"i":"<id>","BT":false,"seq":N}, ..]
  std::uint64_t event_ns = 0;
  if (!to_ns(ts_ms, event_ns)) return fail("ts: timestamp out of range");
  od::array list;
  if (root.find_field_unordered("data").get_array().get(list)) return fail("data: expected an array of trades");
  std::size_t index = 0;
  for (auto element : list) {
    od::object t;
    if (element.get_object().get(t)) return fail_at("data", index, "expected a trade object");
    TradeEvent trade;
    std::string_view side, price, size, id;
    std::uint64_t trade_ms = 0;
    for (auto field : t) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      auto value = field.value();
      simdjson::error_code err = simdjson::SUCCESS;
      if (key == "T") {
        err = value.get_uint64().get(trade_ms);
      } else if (key == "s") {
        err = value.get_string().get(trade.symbol);
      } else if (key == "S") {
        err = value.get_string().get(side);
      } else if (key == "v") {
        err = value.get_string().get(size);
      } else if (key == "p") {
        err = value.get_string().get(price);
      } else if (key == "i") {
        err = value.get_string().get(id);
      } else if (key == "seq") {
        err = value.get_uint64().get(trade.trade_id);  // without "seq" (older frames) the id is 0: never a repeat
      }
      if (err) return fail_at("data", index, "T/seq: expected unsigned integers; s/S/v/p/i: strings");
    }
    if (trade.symbol.empty()) return fail_at("data", index, "s: missing or empty symbol");
    if (id.empty()) return fail_at("data", index, "i: missing or empty trade id");
    trade.tag = trade_tag(id);  // several trades share `seq`: their own id tells a repeat
    if (side == "Buy") {
      trade.aggressor = Side::kBuy;  // "S" is the taker's side
    } else if (side == "Sell") {
      trade.aggressor = Side::kSell;
    } else {
      return fail_at("data", index, "S: expected \"Buy\" or \"Sell\"");
    }
    if (!decimal(price, trade.price)) return fail_at("data", index, "p: not an exact decimal");
    if (!decimal(size, trade.size)) return fail_at("data", index, "v: not an exact decimal");
    if (trade_ms == 0) return fail_at("data", index, "T: missing trade time");
    if (!to_ns(trade_ms, trade.trade_ns)) return fail_at("data", index, "T: timestamp out of range");
    trade.event_ns = event_ns;
    trades_.push_back(trade);
    ++index;
  }
  if (trades_.empty()) return fail("data: no trades");
  set_kind(out, MessageKind::kTrade, EventKind::kTrade);
  out.trade = trades_[0];
  cursor_ = 1;
  return true;
}

bool BybitParser::parse_book(od::object& root, bool snapshot, std::uint64_t ts_ms, ParsedMessage& out) {
  // data: {"s":"BTCUSDT","b":[[p,q]..],"a":[[p,q]..],"u":N,"seq":N}, any order.
  std::uint64_t event_ns = 0;
  if (!to_ns(ts_ms, event_ns)) return fail("ts: timestamp out of range");
  od::object data;
  if (root.find_field_unordered("data").get_object().get(data)) return fail("data: expected an object");
  return parse_book_data(data, snapshot, event_ns, false, out);
}

bool BybitParser::parse_book_data(od::object& data, bool snapshot, std::uint64_t event_ns, bool rest,
                                  ParsedMessage& out) {
  // The websocket's "data" or (rest) the REST snapshot's "result": the same fields.
  std::string_view symbol;
  std::uint64_t u = 0, seq = 0;
  bool have_b = false, have_a = false, have_u = false;
  for (auto field : data) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail(rest ? "result: malformed key" : "data: malformed key");
    if (key == "s") {
      if (field.value().get_string().get(symbol)) {
        return fail(rest ? "result.s: expected a string" : "data.s: expected a string");
      }
    } else if (key == "b") {
      if (!parse_levels(field.value(), bids_, rest ? "result.b" : "data.b")) return false;
      have_b = true;
    } else if (key == "a") {
      if (!parse_levels(field.value(), asks_, rest ? "result.a" : "data.a")) return false;
      have_a = true;
    } else if (key == "u") {
      if (field.value().get_uint64().get(u)) {
        return fail(rest ? "result.u: expected an unsigned integer" : "data.u: expected an unsigned integer");
      }
      have_u = true;
    } else if (key == "seq") {
      if (field.value().get_uint64().get(seq)) {
        return fail(rest ? "result.seq: expected an unsigned integer" : "data.seq: expected an unsigned integer");
      }
    }
  }
  if (symbol.empty()) return fail(rest ? "result.s: missing or empty symbol" : "data.s: missing or empty symbol");
  if (rest) {
    // A delisted symbol's REST book is empty (Bybit): no levels, still its u.
    if (!have_b) bids_.clear();
    if (!have_a) asks_.clear();
  } else {
    if (!have_b) return fail("data.b: missing");
    if (!have_a) return fail("data.a: missing");
  }
  if (!have_u || u == 0) {
    return fail(rest ? "result.u: missing or zero update id" : "data.u: missing or zero update id");
  }
  if (snapshot) {
    set_kind(out, MessageKind::kIgnored, EventKind::kBookSnapshot);
    BookSnapshotEvent& s = out.snapshot;
    s.symbol = symbol;
    s.last_update_id = u;
    s.bids = bids_;
    s.asks = asks_;
    s.event_ns = event_ns;  // 0 for a REST book
    s.cross_sequence = seq;
    return true;
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kBookDelta);
  BookDeltaEvent& d = out.delta;
  d.symbol = symbol;
  d.event_ns = event_ns;
  d.first_update_id = u;
  d.last_update_id = u;
  d.bids = bids_;
  d.asks = asks_;
  d.restart = u == 1;  // Bybit restarted the book's ids: this delta is the whole book
  d.cross_sequence = seq;
  return true;
}

BybitParser::TickerState* BybitParser::ticker_state(std::string_view symbol) {
  for (TickerState& t : tickers_) {
    if (t.symbol == symbol) return &t;
  }
  return nullptr;
}

bool BybitParser::parse_ticker(od::object& root, bool snapshot, std::uint64_t ts_ms, ParsedMessage& out) {
  // Linear: {"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","data":{"symbol",..,"bid1Price",
  // "bid1Size","ask1Price","ask1Size","markPrice","indexPrice","fundingRate","nextFundingTime",
  // "openInterest",..},"cs":N,"ts":ms}; a delta omits what did not change. Spot tickers are
  // 24-hour statistics (no book, funding or open interest): validated and not published.
  std::uint64_t event_ns = 0;
  if (!to_ns(ts_ms, event_ns)) return fail("ts: timestamp out of range");
  od::object data;
  if (root.find_field_unordered("data").get_object().get(data)) return fail("data: expected an object");
  std::string_view symbol;
  TickerState update;
  struct Field {
    std::string_view key;
    TickerField bit;
    Decimal* target;
    std::string_view error;
  };
  const Field fields[] = {
      {"bid1Price", kBidPrice, &update.bid_price, "data.bid1Price: expected an exact decimal string"},
      {"bid1Size", kBidSize, &update.bid_size, "data.bid1Size: expected an exact decimal string"},
      {"ask1Price", kAskPrice, &update.ask_price, "data.ask1Price: expected an exact decimal string"},
      {"ask1Size", kAskSize, &update.ask_size, "data.ask1Size: expected an exact decimal string"},
      {"markPrice", kMark, &update.mark_price, "data.markPrice: expected an exact decimal string"},
      {"indexPrice", kIndex, &update.index_price, "data.indexPrice: expected an exact decimal string"},
      {"fundingRate", kRate, &update.funding_rate, "data.fundingRate: expected an exact decimal string"},
      {"openInterest", kOpenInterest, &update.open_interest, "data.openInterest: expected an exact decimal string"},
  };
  for (auto field : data) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail("data: malformed key");
    if (key == "symbol") {
      if (field.value().get_string().get(symbol)) return fail("data.symbol: expected a string");
      continue;
    }
    if (key == "nextFundingTime") {
      std::string_view text;
      if (field.value().get_string().get(text)) return fail("data.nextFundingTime: expected a string");
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), update.next_funding_ms);
      std::uint64_t ns = 0;
      if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !to_ns(update.next_funding_ms, ns)) {
        return fail("data.nextFundingTime: expected a millisecond time");
      }
      update.known |= kNextFunding;
      continue;
    }
    for (const Field& f : fields) {
      if (key != f.key) continue;
      std::string_view text;
      if (field.value().get_string().get(text) || !decimal(text, *f.target)) return fail(f.error);
      update.known |= f.bit;
      break;
    }
  }
  if (symbol.empty()) return fail("data.symbol: missing or empty symbol");
  // The quote's update id: the cross sequence "cs" (one per book change, so
  // two tickers within a millisecond stay apart), else the message time.
  std::uint64_t update_id = ts_ms;
  const auto cs_err = root.find_field_unordered("cs").get_uint64().get(update_id);
  if (cs_err == simdjson::NO_SUCH_FIELD) {
    update_id = ts_ms;
  } else if (cs_err) {
    return fail("cs: expected an unsigned integer");
  }
  if (category_ == BybitCategory::kSpot) {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);
    return true;
  }
  TickerState* state = ticker_state(symbol);
  std::uint16_t changed = update.known;
  if (state == nullptr) {
    // Not a configured symbol: no state is kept; the quote names it, and the
    // pipeline rejects it as unsubscribed.
    state = &update;
  } else {
    if (!snapshot && !state->snapshot) return fail("tickers: a delta before the symbol's snapshot");
    if (snapshot) {
      state->snapshot = true;
      state->known = 0;
    }
    if (changed & kBidPrice) state->bid_price = update.bid_price;
    if (changed & kBidSize) state->bid_size = update.bid_size;
    if (changed & kAskPrice) state->ask_price = update.ask_price;
    if (changed & kAskSize) state->ask_size = update.ask_size;
    if (changed & kMark) state->mark_price = update.mark_price;
    if (changed & kIndex) state->index_price = update.index_price;
    if (changed & kRate) state->funding_rate = update.funding_rate;
    if (changed & kNextFunding) state->next_funding_ms = update.next_funding_ms;
    if (changed & kOpenInterest) state->open_interest = update.open_interest;
    state->known |= changed;
  }
  const bool unknown_symbol = state == &update;
  // Publish each whole record whose fields moved, once all its fields are known.
  if ((changed & kQuoteFields) != 0 && ((state->known & kQuoteFields) == kQuoteFields || unknown_symbol)) {
    ParsedMessage& m = pending_.emplace_back();
    set_kind(m, MessageKind::kIgnored, EventKind::kQuote);
    m.stream_symbol = topic_symbol_;
    m.quote = QuoteEvent{symbol,          update_id, state->bid_price, state->bid_size, state->ask_price,
                         state->ask_size, event_ns};
  }
  if ((changed & kFundingFields) != 0 && (state->known & kFundingFields) == kFundingFields) {
    ParsedMessage& m = pending_.emplace_back();
    set_kind(m, MessageKind::kIgnored, EventKind::kFunding);
    m.stream_symbol = topic_symbol_;
    FundingEvent& f = m.funding;
    f.symbol = symbol;
    f.event_ns = event_ns;
    f.mark_price = state->mark_price;
    f.index_price = state->index_price;
    f.funding_rate = state->funding_rate;
    f.next_funding_ns = state->next_funding_ms * 1'000'000;  // checked when it was parsed
  }
  if ((changed & kOpenInterest) != 0) {
    ParsedMessage& m = pending_.emplace_back();
    set_kind(m, MessageKind::kIgnored, EventKind::kOpenInterest);
    m.stream_symbol = topic_symbol_;
    m.open_interest = OpenInterestEvent{symbol, event_ns, state->open_interest};
  }
  emit_pending(out);
  return true;
}

bool BybitParser::parse_liquidations(od::object& root, std::uint64_t ts_ms, ParsedMessage& out) {
  // data: [{"T":ms,"s":"BTCUSDT","S":"Buy"|"Sell","v":"<size>","p":"<price>"}, ..]; "S" is the
  // side of the liquidated position: Buy means a long was liquidated (by a sell order).
  std::uint64_t event_ns = 0;
  if (!to_ns(ts_ms, event_ns)) return fail("ts: timestamp out of range");
  od::array list;
  if (root.find_field_unordered("data").get_array().get(list)) {
    return fail("data: expected an array of liquidations");
  }
  std::size_t index = 0;
  for (auto element : list) {
    od::object o;
    if (element.get_object().get(o)) return fail_at("data", index, "expected a liquidation object");
    LiquidationEvent l;
    std::string_view side, price, size;
    std::uint64_t trade_ms = 0;
    for (auto field : o) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      auto value = field.value();
      simdjson::error_code err = simdjson::SUCCESS;
      if (key == "T") {
        err = value.get_uint64().get(trade_ms);
      } else if (key == "s") {
        err = value.get_string().get(l.symbol);
      } else if (key == "S") {
        err = value.get_string().get(side);
      } else if (key == "v") {
        err = value.get_string().get(size);
      } else if (key == "p") {
        err = value.get_string().get(price);
      }
      if (err) return fail_at("data", index, "T: expected an unsigned integer; s/S/v/p: strings");
    }
    if (l.symbol.empty()) return fail_at("data", index, "s: missing or empty symbol");
    if (side == "Buy") {
      l.side = Side::kSell;
    } else if (side == "Sell") {
      l.side = Side::kBuy;
    } else {
      return fail_at("data", index, "S: expected \"Buy\" or \"Sell\"");
    }
    if (!decimal(price, l.price)) return fail_at("data", index, "p: not an exact decimal");
    if (!decimal(size, l.size)) return fail_at("data", index, "v: not an exact decimal");
    if (trade_ms == 0) return fail_at("data", index, "T: missing time");
    if (!to_ns(trade_ms, l.trade_ns)) return fail_at("data", index, "T: timestamp out of range");
    l.average_price = l.price;  // Bybit states one price: the bankruptcy price the order filled at
    l.filled_size = l.size;
    l.event_ns = l.trade_ns;
    liquidations_.push_back(l);
    ++index;
  }
  if (liquidations_.empty()) return fail("data: no liquidations");
  set_kind(out, MessageKind::kIgnored, EventKind::kLiquidation);
  out.liquidation = liquidations_[0];
  cursor_ = 1;
  return true;
}

bool BybitParser::parse_levels(od::value levels, std::vector<PriceLevel>& out, std::string_view field) {
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
    if (element.get_array().get(pair)) return fail_at(field, index, "expected [price, size]");
    std::string_view text[2];
    std::size_t n = 0;
    for (auto item : pair) {
      std::string_view s;
      if (item.get_string().get(s)) return fail_at(field, index, "expected price and size as strings");
      if (n < 2) text[n] = s;
      ++n;
    }
    if (n != 2) return fail_at(field, index, "expected exactly [price, size]");
    PriceLevel level;
    if (!decimal(text[0], level.price)) return fail_at(field, index, "price: not an exact decimal");
    if (!decimal(text[1], level.size)) return fail_at(field, index, "size: not an exact decimal");
    if (level.size.mantissa < 0) return fail_at(field, index, "size: negative");
    out.push_back(level);
    ++index;
  }
  return true;
}

}  // namespace tickwire::connector::venues
