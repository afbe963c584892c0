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

// Frame: what a frame's root object holds, gathered in the one pass over it.
// Of a repeated key the first counts (a reply field: the last value, the
// first of the wrong type).
struct BybitParser::Frame {
  enum class Channel : std::uint8_t { kOther, kTrade, kBook, kTicker, kLiquidation };
  enum class State : std::uint8_t { kMissing, kWrongType, kRead };

  // error: the first problem of the fields outside "data", in the order they
  // are checked; fields not met yet count only when `complete`.
  const char* error(bool complete) const {
    if (topic == State::kWrongType) return "topic: expected a string";
    if (!dotted) return "topic: expected \"<channel>.<symbol>\"";
    if (type == State::kWrongType || (complete && type == State::kMissing)) return "type: expected a string";
    if (type == State::kRead && !snapshot && !delta) return "type: expected \"snapshot\" or \"delta\"";
    if (ts == State::kWrongType || (complete && ts == State::kMissing)) return "ts: expected an unsigned integer";
    if (channel == Channel::kBook && !depth_ok) return "topic: orderbook depth is not 1, 50, 200, 1000 or full";
    if (channel != Channel::kOther && ts == State::kRead && ts_ms > UINT64_MAX / 1'000'000) {
      return "ts: timestamp out of range";
    }
    return nullptr;
  }

  // A reply's fields.
  bool has_success = false, success = true, has_op = false;
  std::string_view req_id, message;
  std::string_view reply_error;  // the first reply field of the wrong type
  // A data frame's.
  State topic = State::kMissing, type = State::kMissing, ts = State::kMissing, cs = State::kMissing;
  Channel channel = Channel::kOther;
  bool dotted = false, depth_ok = false, snapshot = false, delta = false;
  bool level1 = false;  // orderbook.1: snapshots only, each a whole image
  bool data_read = false;
  bool data_deferred = false;  // "data" came before "topic": validated, read after the pass
  std::uint64_t ts_ms = 0, cs_value = 0;
  BookFields book;                 // kBook
  std::string_view ticker_symbol;  // kTicker
};

void BybitParser::clear_frame() {
  error_ = {};
  trades_.clear();
  liquidations_.clear();
  pending_.clear();
  cursor_ = 0;
}

ParsedMessage BybitParser::parse(const char* data, std::size_t size) {
  clear_frame();
  ParsedMessage out;  // returned in place (one return object)
  if (!parse_direct(data, size, out)) out = parse_generic(data, size);
  return out;
}

ParsedMessage BybitParser::parse_generic(const char* data, std::size_t size) {
  clear_frame();
  ParsedMessage out;
  if (!parse_message(data, size, out)) {
    if (const char* invalid = invalid_json(parser_, {data, size})) error_ = invalid;
    trades_.clear();
    liquidations_.clear();
    pending_.clear();
    out = ParsedMessage{};
    set_kind(out, MessageKind::kError, EventKind::kError);
  }
  return out;
}

ParsedMessage BybitParser::parse_snapshot(const char* data, std::size_t size) {
  error_ = {};
  ParsedMessage out;
  if (!parse_rest_book(data, size, out)) {
    if (const char* invalid = invalid_json(parser_, {data, size})) error_ = invalid;
    out = ParsedMessage{};
    set_kind(out, MessageKind::kError, EventKind::kError);
  }
  return out;
}

bool BybitParser::parse_rest_book(const char* data, std::size_t size, ParsedMessage& out) {
  // GET /v5/market/full_orderbook?category=..&symbol=..:
  // {"retCode":0,"retMsg":"OK","result":{"s":..,"b":[..],"a":[..],"ts":..,"u":N,"seq":N,"cts":..},..}
  od::document doc;
  if (parser_.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc)) {
    return fail("snapshot: not a JSON document");
  }
  od::object root;
  if (doc.get_object().get(root)) return fail("snapshot: expected a JSON object");
  std::int64_t code = -1;
  bool code_seen = false, code_read = false, result_read = false, result_deferred = false;
  BookFields book;
  for (auto field : root) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) return fail("message: invalid JSON");
    simdjson::error_code err = simdjson::SUCCESS;
    if (key == "retCode" && !code_seen) {
      code_seen = true;
      err = read_or_check(value, code, 2, code_read);
    } else if (key == "result" && !result_read && !result_deferred) {
      if (code_read && code == 0) {
        if (!read_book(value, true, book)) return false;
        result_read = true;
      } else {
        result_deferred = true;  // read (or not) once retCode is known
        err = check_value(value, 2);
      }
    } else {
      err = check_value(value, 2);
    }
    if (err) return fail("message: invalid JSON");
  }
  if (finish_document(doc)) return fail("message: trailing content after the JSON document");
  if (!code_read) return fail("snapshot retCode: expected an integer");
  if (code != 0) return fail("snapshot: the exchange answered an error retCode");
  if (result_deferred) {
    // Already validated: find it again.
    doc.rewind();
    od::value result;
    if (doc.get_object().get(root) || root.find_field_unordered("result").get(result)) {
      return fail("snapshot: cannot rewind");
    }
    if (!read_book(result, true, book)) return false;
    result_read = true;
  }
  if (!result_read) return fail("snapshot result: expected an object");
  emit_book(book, true, 0, out);
  return true;
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
  od::object root;
  if (const char* problem = open_message(parser_, data, size, doc, root, false)) return fail(problem);
  // Data: {"topic":"<channel>[.<depth>].<SYMBOL>","type":"snapshot"|"delta","ts":..,"data":..,...}
  // in either key order; anything without a topic is a reply.
  Frame frame;
  if (const char* problem = read_root(
          doc, root, [&](std::string_view key, od::value value) { return read_root_field(key, value, frame); })) {
    return *problem == '\0' ? false : fail(problem);
  }
  if (frame.topic == Frame::State::kMissing) return parse_reply(frame, out);
  if (const char* problem = frame.error(true)) return fail(problem);
  if (frame.data_deferred) {
    // "data" came before "topic": validated in the pass, read now.
    doc.rewind();
    od::value value;
    if (doc.get_object().get(root) || root.find_field_unordered("data").get(value)) {
      return fail("message: cannot rewind");
    }
    if (!read_data(value, frame)) return false;
  }
  return finish_frame(frame, out);
}

bool BybitParser::read_root_field(std::string_view key, od::value value, Frame& frame) {
  using State = Frame::State;
  bool read = false;
  simdjson::error_code err = simdjson::SUCCESS;
  if (key == "topic" && frame.topic == State::kMissing) {
    std::string_view topic;
    err = read_or_check(value, topic, 2, read);
    frame.topic = read ? State::kRead : State::kWrongType;
    const auto dot = topic.find('.');
    frame.dotted = read && dot != std::string_view::npos;
    if (frame.dotted) {
      const auto last_dot = topic.rfind('.');
      const std::string_view channel = topic.substr(0, dot);
      topic_symbol_ = topic.substr(last_dot + 1);
      if (channel == "publicTrade") {
        frame.channel = Frame::Channel::kTrade;
      } else if (channel == "orderbook") {
        frame.channel = Frame::Channel::kBook;
        const std::string_view depth = topic.substr(dot + 1, last_dot - std::min(last_dot, dot + 1));
        frame.depth_ok = book_depth_ok(depth);
        frame.level1 = depth == "1";
      } else if (channel == "tickers") {
        frame.channel = Frame::Channel::kTicker;
      } else if (channel == "allLiquidation") {
        frame.channel = Frame::Channel::kLiquidation;
      }
    }
  } else if (key == "type" && frame.type == State::kMissing) {
    std::string_view type;
    err = read_or_check(value, type, 2, read);
    frame.type = read ? State::kRead : State::kWrongType;
    frame.snapshot = read && type == "snapshot";
    frame.delta = read && type == "delta";
  } else if (key == "ts" && frame.ts == State::kMissing) {
    err = read_or_check(value, frame.ts_ms, 2, read);
    frame.ts = read ? State::kRead : State::kWrongType;
  } else if (key == "cs" && frame.cs == State::kMissing) {
    err = read_or_check(value, frame.cs_value, 2, read);
    frame.cs = read ? State::kRead : State::kWrongType;
  } else if (key == "data" && !frame.data_read && !frame.data_deferred) {
    if (frame.topic == State::kRead) return read_data(value, frame);
    frame.data_deferred = true;
    err = check_value(value, 2);
  } else if (key == "success") {
    err = read_or_check(value, frame.success, 2, read);
    frame.has_success |= read;
    if (!read && frame.reply_error.empty()) frame.reply_error = "success: expected a boolean";
  } else if (key == "ret_msg") {
    err = read_or_check(value, frame.message, 2, read);
    if (!read && frame.reply_error.empty()) frame.reply_error = "ret_msg: expected a string";
  } else if (key == "req_id") {
    err = read_or_check(value, frame.req_id, 2, read);
    if (!read && frame.reply_error.empty()) frame.reply_error = "req_id: expected a string";
  } else if (key == "op") {
    std::string_view op;
    err = read_or_check(value, op, 2, read);
    frame.has_op |= read;
    if (!read && frame.reply_error.empty()) frame.reply_error = "op: expected a string";
  } else {
    err = check_value(value, 2);
  }
  return err ? fail("message: invalid JSON") : true;
}

bool BybitParser::read_data(od::value data, Frame& frame) {
  // What is wrong outside "data" so far comes first, as when data is read last.
  if (const char* problem = frame.error(false)) return fail(problem);
  frame.data_read = true;
  switch (frame.channel) {
    case Frame::Channel::kTrade:
      return parse_trades(data);
    case Frame::Channel::kBook:
      return read_book(data, false, frame.book);
    case Frame::Channel::kTicker:
      return read_ticker(data, frame.ticker_symbol);
    case Frame::Channel::kLiquidation:
      return parse_liquidations(data);
    case Frame::Channel::kOther:
      break;
  }
  return check_value(data, 2) ? fail("message: invalid JSON") : true;
}

bool BybitParser::finish_frame(const Frame& frame, ParsedMessage& out) {
  out.stream_symbol = topic_symbol_;
  const std::uint64_t event_ns = frame.ts_ms * 1'000'000;  // in range: checked by frame.error() where used
  switch (frame.channel) {
    case Frame::Channel::kTrade:
      if (!frame.data_read) return fail("data: expected an array of trades");
      if (trades_.empty()) return fail("data: no trades");
      for (TradeEvent& t : trades_) t.event_ns = event_ns;
      set_kind(out, MessageKind::kTrade, EventKind::kTrade);
      out.trade = trades_[0];
      cursor_ = 1;
      return true;
    case Frame::Channel::kBook:
      if (!frame.data_read) return fail("data: expected an object");
      emit_book(frame.book, frame.snapshot, event_ns, out);
      // Level 1 is snapshots only (Bybit pushes one per change, and again
      // with the same u after 3 s without one): each replaces the book as a
      // routine image, not as a venue reset.
      if (frame.snapshot && frame.level1) out.snapshot.image = true;
      return true;
    case Frame::Channel::kTicker:
      if (!frame.data_read) return fail("data: expected an object");
      return apply_ticker(frame, out);
    case Frame::Channel::kLiquidation:
      if (!frame.data_read) return fail("data: expected an array of liquidations");
      if (liquidations_.empty()) return fail("data: no liquidations");
      set_kind(out, MessageKind::kIgnored, EventKind::kLiquidation);
      out.liquidation = liquidations_[0];
      cursor_ = 1;
      return true;
    case Frame::Channel::kOther:
      break;
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // kline, lt, ...: well-formed, not handled
  return true;
}

bool BybitParser::parse_reply(const Frame& frame, ParsedMessage& out) {
  // Acks: {"success":true,"ret_msg":"subscribe","conn_id":..,"req_id":"7","op":"subscribe"}
  // (ret_msg "" on linear); pongs: spot {"success":true,"ret_msg":"pong",..,"op":"ping"},
  // linear {"req_id":..,"op":"pong","args":["<ms>"],"conn_id":..}; option acks
  // {"success":true,"conn_id":..,"data":{..},"type":"COMMAND_RESP"}; refusals
  // {"success":false,"ret_msg":"<why>",..}. Fields in any order.
  if (!frame.reply_error.empty()) return fail(frame.reply_error);
  if (!frame.has_success && !frame.has_op) return fail("message: neither a topic (data) nor a reply (op, success)");
  const std::string_view req_id = frame.req_id;
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(req_id.data(), req_id.data() + req_id.size(), id);
  const bool has_id = !req_id.empty() && ec == std::errc{} && end == req_id.data() + req_id.size();
  if (!frame.success) {
    set_kind(out, MessageKind::kControl, EventKind::kErrorReply);
    out.error_reply.has_id = has_id;
    out.error_reply.id = has_id ? id : 0;
    out.error_reply.message = frame.message;
    return true;
  }
  set_kind(out, MessageKind::kControl, EventKind::kControlReply);
  out.control.has_id = has_id;
  out.control.id = has_id ? id : 0;
  return true;
}

bool BybitParser::parse_trades(od::value data) {
  // data: [{"T":ms,"s":"BTCUSDT","S":"Buy"|"Sell","v":"0.001","p":"16578.50","L":..,"i":"<id>","BT":false,"seq":N}, ..]
  od::array list;
  if (data.get_array().get(list)) return fail("data: expected an array of trades");
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
      } else if (check_value(value, 4)) {
        return fail_at("data", index, "invalid JSON");
      }
      if (err) return fail_at("data", index, "T/seq: expected unsigned integers; s/S/v/p/i: strings");
    }
    // Checked in this order: s, i, S, p, v, T (add_parsed_trade repeats the
    // first three, cheaply, for the direct read).
    if (trade.symbol.empty()) return fail_at("data", index, "s: missing or empty symbol");
    if (id.empty()) return fail_at("data", index, "i: missing or empty trade id");
    if (side != "Buy" && side != "Sell") return fail_at("data", index, "S: expected \"Buy\" or \"Sell\"");
    if (!decimal(price, trade.price)) return fail_at("data", index, "p: not an exact decimal");
    if (!decimal(size, trade.size)) return fail_at("data", index, "v: not an exact decimal");
    if (!add_parsed_trade(trade, side, id, trade_ms, index)) return false;
    ++index;
  }
  return true;
}

bool BybitParser::add_parsed_trade(TradeEvent trade, std::string_view side, std::string_view id,
                                   std::uint64_t trade_ms, std::size_t index) {
  if (trade.symbol.empty()) return fail_at("data", index, "s: missing or empty symbol");
  if (id.empty()) return fail_at("data", index, "i: missing or empty trade id");
  trade.tag = trade_tag(id);  // several trades share `seq`: their own id tells a repeat
  trade.id_text = id;         // journaled as sent (a UUID on linear)
  if (side == "Buy") {
    trade.aggressor = Side::kBuy;  // "S" is the taker's side
  } else if (side == "Sell") {
    trade.aggressor = Side::kSell;
  } else {
    return fail_at("data", index, "S: expected \"Buy\" or \"Sell\"");
  }
  if (trade_ms == 0) return fail_at("data", index, "T: missing trade time");
  if (!to_ns(trade_ms, trade.trade_ns)) return fail_at("data", index, "T: timestamp out of range");
  trades_.push_back(trade);  // event_ns once the frame's ts is known
  return true;
}

bool BybitParser::book_depth_ok(std::string_view depth) {
  return depth == "1" || depth == "50" || depth == "200" || depth == "1000" || depth == "full";
}

bool BybitParser::read_book(od::value value, bool rest, BookFields& book) {
  // data: {"s":"BTCUSDT","b":[[p,q]..],"a":[[p,q]..],"u":N,"seq":N}, any order.
  od::object data;
  if (value.get_object().get(data)) return fail(rest ? "snapshot result: expected an object" : "data: expected an object");
  bool have_b = false, have_a = false, have_u = false;
  for (auto field : data) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail(rest ? "result: malformed key" : "data: malformed key");
    if (key == "s") {
      if (field.value().get_string().get(book.symbol)) {
        return fail(rest ? "result.s: expected a string" : "data.s: expected a string");
      }
    } else if (key == "b") {
      if (!parse_levels(field.value(), bids_, rest ? "result.b" : "data.b")) return false;
      have_b = true;
    } else if (key == "a") {
      if (!parse_levels(field.value(), asks_, rest ? "result.a" : "data.a")) return false;
      have_a = true;
    } else if (key == "u") {
      if (field.value().get_uint64().get(book.u)) {
        return fail(rest ? "result.u: expected an unsigned integer" : "data.u: expected an unsigned integer");
      }
      have_u = true;
    } else if (key == "seq") {
      if (field.value().get_uint64().get(book.seq)) {
        return fail(rest ? "result.seq: expected an unsigned integer" : "data.seq: expected an unsigned integer");
      }
    } else if (check_value(field.value(), 3)) {
      return fail("message: invalid JSON");
    }
  }
  if (book.symbol.empty()) return fail(rest ? "result.s: missing or empty symbol" : "data.s: missing or empty symbol");
  if (rest) {
    // A delisted symbol's REST book is empty (Bybit): no levels, still its u.
    if (!have_b) bids_.clear();
    if (!have_a) asks_.clear();
  } else {
    if (!have_b) return fail("data.b: missing");
    if (!have_a) return fail("data.a: missing");
  }
  if (!have_u || book.u == 0) {
    return fail(rest ? "result.u: missing or zero update id" : "data.u: missing or zero update id");
  }
  return true;
}

void BybitParser::emit_book(const BookFields& book, bool snapshot, std::uint64_t event_ns, ParsedMessage& out) {
  if (snapshot) {
    set_kind(out, MessageKind::kIgnored, EventKind::kBookSnapshot);
    BookSnapshotEvent& s = out.snapshot;
    s.symbol = book.symbol;
    s.last_update_id = book.u;
    s.bids = bids_;
    s.asks = asks_;
    s.event_ns = event_ns;  // 0 for a REST book
    s.cross_sequence = book.seq;
    return;
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kBookDelta);
  BookDeltaEvent& d = out.delta;
  d.symbol = book.symbol;
  d.event_ns = event_ns;
  d.first_update_id = book.u;
  d.last_update_id = book.u;
  d.bids = bids_;
  d.asks = asks_;
  d.restart = book.u == 1;  // Bybit restarted the book's ids: this delta is the whole book
  d.cross_sequence = book.seq;
}

BybitParser::TickerState* BybitParser::ticker_state(std::string_view symbol) {
  for (TickerState& t : tickers_) {
    if (t.symbol == symbol) return &t;
  }
  return nullptr;
}

bool BybitParser::read_ticker(od::value value, std::string_view& symbol) {
  // Linear: {"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","data":{"symbol",..,"bid1Price",
  // "bid1Size","ask1Price","ask1Size","markPrice","indexPrice","fundingRate","nextFundingTime",
  // "openInterest",..},"cs":N,"ts":ms}; a delta omits what did not change. Spot tickers are
  // 24-hour statistics (no book, funding or open interest): validated and not published.
  od::object data;
  if (value.get_object().get(data)) return fail("data: expected an object");
  TickerState& update = ticker_update_;
  update = TickerState{};
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
    bool known = false;
    for (const Field& f : fields) {
      if (key != f.key) continue;
      std::string_view text;
      if (field.value().get_string().get(text) || !decimal(text, *f.target)) return fail(f.error);
      update.known |= f.bit;
      known = true;
      break;
    }
    if (!known && check_value(field.value(), 3)) return fail("message: invalid JSON");
  }
  if (symbol.empty()) return fail("data.symbol: missing or empty symbol");
  return true;
}

bool BybitParser::apply_ticker(const Frame& frame, ParsedMessage& out) {
  // The quote's update id: the cross sequence "cs" (one per book change, so
  // two tickers within a millisecond stay apart), else the message time.
  if (frame.cs == Frame::State::kWrongType) return fail("cs: expected an unsigned integer");
  const std::uint64_t update_id = frame.cs == Frame::State::kRead ? frame.cs_value : frame.ts_ms;
  if (category_ == BybitCategory::kSpot) {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);
    return true;
  }
  const std::string_view symbol = frame.ticker_symbol;
  const std::uint64_t event_ns = frame.ts_ms * 1'000'000;  // checked by frame.error()
  TickerState& update = ticker_update_;
  TickerState* state = ticker_state(symbol);
  std::uint16_t changed = update.known;
  if (state == nullptr) {
    // Not a configured symbol: no state is kept; the quote names it, and the
    // pipeline rejects it as unsubscribed.
    state = &update;
  } else {
    if (!frame.snapshot && !state->snapshot) return fail("tickers: a delta before the symbol's snapshot");
    if (frame.snapshot) {
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

bool BybitParser::parse_liquidations(od::value data) {
  // data: [{"T":ms,"s":"BTCUSDT","S":"Buy"|"Sell","v":"<size>","p":"<price>"}, ..]; "S" is the
  // side of the liquidated position: Buy means a long was liquidated (by a sell order).
  od::array list;
  if (data.get_array().get(list)) return fail("data: expected an array of liquidations");
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
      } else if (check_value(value, 4)) {
        return fail_at("data", index, "invalid JSON");
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
