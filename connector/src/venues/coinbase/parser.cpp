#include "tickwire/connector/venues/coinbase/parser.hpp"

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

bool decimal(std::string_view text, Decimal& out) {
  return middleware::parse_decimal(text, out) == middleware::DecimalError::kOk;
}

// digits: `n` ASCII digits at text[at..] as a number; false if any is not one.
bool digits(std::string_view text, std::size_t at, std::size_t n, std::uint32_t& out) {
  if (at + n > text.size()) return false;
  std::uint32_t v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  out = v;
  return true;
}

// days_from_civil: days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, std::uint32_t m, std::uint32_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<std::uint32_t>(y - era * 400);
  const std::uint32_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// trade_id: Coinbase sends trade ids as strings of digits.
bool parse_id(std::string_view text, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

bool parse_rfc3339_ns(std::string_view text, std::uint64_t& ns) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+00:00)
  std::uint32_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || !digits(text, 0, 4, year) || text[4] != '-' || !digits(text, 5, 2, month) ||
      text[7] != '-' || !digits(text, 8, 2, day) || text[10] != 'T' || !digits(text, 11, 2, hour) ||
      text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second)) {
    return false;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  std::size_t at = 19;
  std::uint64_t fraction = 0;
  if (text[at] == '.') {
    ++at;
    std::size_t n = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (n == 9) return false;
      fraction = fraction * 10 + static_cast<std::uint64_t>(text[at] - '0');
      ++n;
      ++at;
    }
    if (n == 0) return false;
    for (; n < 9; ++n) fraction *= 10;
  }
  const std::string_view zone = text.substr(at);
  if (zone != "Z" && zone != "+00:00") return false;
  const std::int64_t days = days_from_civil(year, month, day);
  const auto seconds = static_cast<std::uint64_t>(days) * 86'400 + hour * 3'600ull + minute * 60ull + second;
  if (seconds > (UINT64_MAX - fraction) / 1'000'000'000) return false;
  ns = seconds * 1'000'000'000 + fraction;
  return true;
}

CoinbaseParser::CoinbaseParser() {
  // If this fails (out of memory), parse() allocates on demand as usual.
  if (parser_.allocate(kInitialCapacity) != simdjson::SUCCESS) error_ = "parser: initial allocation failed";
  bids_.reserve(kInitialLevels);
  asks_.reserve(kInitialLevels);
  books_.reserve(16);
  trades_.reserve(kInitialTrades);
  quotes_.reserve(16);
  error_text_.reserve(256);
}

bool CoinbaseParser::fail(std::string_view what) {
  error_ = what;
  return false;
}

bool CoinbaseParser::fail_at(std::string_view field, std::size_t index, std::string_view problem) {
  char buf[192];
  const int n = std::snprintf(buf, sizeof buf, "%.*s[%zu]: %.*s", static_cast<int>(field.size()), field.data(),
                              index, static_cast<int>(problem.size()), problem.data());
  error_text_.assign(buf, n > 0 ? std::min(static_cast<std::size_t>(n), sizeof buf - 1) : 0);
  error_ = error_text_;
  return false;
}

void CoinbaseParser::clear_frame() {
  error_ = {};
  bids_.clear();
  asks_.clear();
  books_.clear();
  trades_.clear();
  quotes_.clear();
  pending_ = Pending::kNone;
  cursor_ = 0;
  sequence_read_ = false;
}

ParsedMessage CoinbaseParser::parse(const char* data, std::size_t size) {
  clear_frame();
  ParsedMessage out;  // returned in place (one return object)
  if (!parse_direct(data, size, out)) out = parse_generic(data, size);
  return out;
}

ParsedMessage CoinbaseParser::parse_generic(const char* data, std::size_t size) {
  clear_frame();
  ParsedMessage out;
  if (!parse_message(data, size, out)) {
    if (const char* invalid = invalid_json(parser_, {data, size})) error_ = invalid;
    books_.clear();
    trades_.clear();
    quotes_.clear();
    pending_ = Pending::kNone;
    out = ParsedMessage{};
    set_kind(out, MessageKind::kError, EventKind::kError);
    // A frame rejected for its content (a ticker without best_bid, say) was
    // still Coinbase's next message on the connection: its sequence_num is
    // kept, so the next frame is not taken for a jump (a false gap would
    // resubscribe every book on the connection).
    if (sequence_read_) {
      out.connection_sequence = sequence_;
      out.has_connection_sequence = true;
    }
  }
  return out;
}

ParsedMessage CoinbaseParser::parse_snapshot(const char*, std::size_t) {
  error_ = "coinbase: books are snapshotted in the stream; there is no REST snapshot to parse";
  return ParsedMessage{};
}

void CoinbaseParser::book_event(std::size_t i, ParsedMessage& out) const {
  const Book& b = books_[i];
  const std::span<const PriceLevel> bids(bids_.data() + b.bid_begin, b.bid_end - b.bid_begin);
  const std::span<const PriceLevel> asks(asks_.data() + b.ask_begin, b.ask_end - b.ask_begin);
  if (b.snapshot) {
    set_kind(out, MessageKind::kIgnored, EventKind::kBookSnapshot);
    out.snapshot = BookSnapshotEvent{b.symbol, sequence_, bids, asks, time_ns_, 0};
    return;
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kBookDelta);
  BookDeltaEvent& d = out.delta;
  d = BookDeltaEvent{};
  d.symbol = b.symbol;
  d.event_ns = time_ns_;
  d.first_update_id = sequence_;
  d.last_update_id = sequence_;
  d.bids = bids;
  d.asks = asks;
}

bool CoinbaseParser::next(ParsedMessage& out) {
  switch (pending_) {
    case Pending::kTrades:
      if (cursor_ >= trades_.size()) return false;
      set_kind(out, MessageKind::kTrade, EventKind::kTrade);
      out.trade = trades_[cursor_++];
      return true;
    case Pending::kQuotes:
      if (cursor_ >= quotes_.size()) return false;
      set_kind(out, MessageKind::kIgnored, EventKind::kQuote);
      out.quote = quotes_[cursor_++];
      return true;
    case Pending::kBooks:
      if (cursor_ >= books_.size()) return false;
      book_event(cursor_++, out);
      return true;
    case Pending::kNone:
      return false;
  }
  return false;
}

// Frame: what a frame's root object holds, gathered in the one pass over it.
// Of a repeated key the first counts.
struct CoinbaseParser::Frame {
  enum class State : std::uint8_t { kMissing, kWrongType, kRead };
  static State state(bool read) { return read ? State::kRead : State::kWrongType; }

  // Data.
  State channel_state = State::kMissing, time_state = State::kMissing, sequence_state = State::kMissing;
  std::string_view channel;
  bool time_ok = false;          // timestamp read into time_ns_
  bool events_read = false;
  bool events_deferred = false;  // "events" came before what reading it needs: validated, read after the pass
  // An error reply.
  State type_state = State::kMissing, message_state = State::kMissing;
  std::string_view type, message;
};

bool CoinbaseParser::parse_message(const char* data, std::size_t size, ParsedMessage& out) {
  od::document doc;
  od::object root;
  if (const char* problem = open_message(parser_, data, size, doc, root, false)) return fail(problem);
  // Data: {"channel","client_id","timestamp","sequence_num","events":[..]}, in
  // that order on the wire (any order is read: "events" before the other
  // three is validated in the pass and read after it); a refusal is
  // {"type":"error","message":".."}.
  Frame frame;
  if (const char* problem = read_root(
          doc, root, [&](std::string_view key, od::value value) { return read_root_field(key, value, frame, out); })) {
    return *problem == '\0' ? false : fail(problem);
  }
  return finish_frame(doc, frame, out);
}

bool CoinbaseParser::read_root_field(std::string_view key, od::value value, Frame& frame, ParsedMessage& out) {
  using State = Frame::State;
  bool read = false;
  simdjson::error_code err = simdjson::SUCCESS;
  if (key == "channel" && frame.channel_state == State::kMissing) {
    err = read_or_check(value, frame.channel, 2, read);
    frame.channel_state = Frame::state(read);
  } else if (key == "timestamp" && frame.time_state == State::kMissing) {
    std::string_view timestamp;
    err = read_or_check(value, timestamp, 2, read);
    frame.time_state = Frame::state(read);
    frame.time_ok = read && parse_rfc3339_ns(timestamp, time_ns_);
  } else if (key == "sequence_num" && frame.sequence_state == State::kMissing) {
    err = read_or_check(value, sequence_, 2, read);
    frame.sequence_state = Frame::state(read);
    sequence_read_ = read && !err;
  } else if (key == "events" && !frame.events_read && !frame.events_deferred) {
    if (frame.channel_state == State::kRead && frame.time_ok && frame.sequence_state == State::kRead) {
      frame.events_read = true;
      return parse_events(frame.channel, value, out);
    }
    frame.events_deferred = true;
    err = check_value(value, 2);
  } else if (key == "type" && frame.type_state == State::kMissing) {
    err = read_or_check(value, frame.type, 2, read);
    frame.type_state = Frame::state(read);
  } else if (key == "message" && frame.message_state == State::kMissing) {
    err = read_or_check(value, frame.message, 2, read);
    frame.message_state = Frame::state(read);
  } else {
    err = check_value(value, 2);
  }
  return err ? fail("message: invalid JSON") : true;
}

bool CoinbaseParser::finish_frame(od::document& doc, Frame& frame, ParsedMessage& out) {
  using State = Frame::State;
  if (frame.channel_state == State::kMissing) {
    if (frame.type_state != State::kRead || frame.type != "error") {
      return fail("message: neither data (channel) nor an error reply (type \"error\")");
    }
    if (frame.message_state == State::kWrongType) return fail("message: expected a string");
    set_kind(out, MessageKind::kControl, EventKind::kErrorReply);
    out.error_reply.message = frame.message;
    return true;
  }
  if (frame.channel_state == State::kWrongType) return fail("channel: expected a string");
  if (!frame.time_ok) return fail("timestamp: expected an RFC 3339 UTC time");
  if (frame.sequence_state != State::kRead) return fail("sequence_num: expected an unsigned integer");
  out.connection_sequence = sequence_;
  out.has_connection_sequence = true;
  if (frame.events_deferred) {
    // Already validated: find it again.
    doc.rewind();
    od::object root;
    od::value events;
    if (doc.get_object().get(root) || root.find_field_unordered("events").get(events)) {
      return fail("message: cannot rewind");
    }
    return parse_events(frame.channel, events, out);
  }
  if (!frame.events_read) return fail("events: expected an array");
  return true;
}

bool CoinbaseParser::parse_events(std::string_view channel, od::value value, ParsedMessage& out) {
  od::array events;
  if (value.get_array().get(events)) return fail("events: expected an array");
  if (channel == "l2_data") return parse_books(events, out);
  if (channel == "market_trades") return parse_trades(events, out);
  if (channel == "ticker") return parse_tickers(events, out);
  if (channel == "heartbeats") return parse_heartbeats(events, out);
  if (channel == "subscriptions") return parse_subscriptions(events, out);
  for (auto element : events) {
    if (check_value(element, 3)) return fail("message: invalid JSON");
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // status, candles, ticker_batch: not handled
  return true;
}

bool CoinbaseParser::parse_books(od::array events, ParsedMessage& out) {
  // events: [{"type":"snapshot"|"update","product_id","updates":[{"side":"bid"|"offer",
  // "event_time","price_level","new_quantity"}, ..]}, ..]; new_quantity is absolute, "0" deletes.
  std::size_t index = 0;
  for (auto element : events) {
    od::object e;
    if (element.get_object().get(e)) return fail_at("events", index, "expected an l2_data event object");
    Book book;
    std::string_view type;
    bool have_updates = false;
    book.bid_begin = book.bid_end = bids_.size();
    book.ask_begin = book.ask_end = asks_.size();
    for (auto field : e) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("events", index, "malformed key");
      if (key == "type") {
        if (field.value().get_string().get(type)) return fail_at("events", index, "type: expected a string");
      } else if (key == "product_id") {
        if (field.value().get_string().get(book.symbol)) {
          return fail_at("events", index, "product_id: expected a string");
        }
      } else if (key == "updates") {
        od::array updates;
        if (field.value().get_array().get(updates)) return fail_at("events", index, "updates: expected an array");
        have_updates = true;
        std::size_t u = 0;
        for (auto level : updates) {
          od::object l;
          if (level.get_object().get(l)) return fail_at("updates", u, "expected a level object");
          std::string_view side, price, quantity;
          for (auto f : l) {
            std::string_view k;
            if (f.unescaped_key().get(k)) return fail_at("updates", u, "malformed key");
            simdjson::error_code err = simdjson::SUCCESS;
            if (k == "side") {
              err = f.value().get_string().get(side);
            } else if (k == "price_level") {
              err = f.value().get_string().get(price);
            } else if (k == "new_quantity") {
              err = f.value().get_string().get(quantity);
            } else if (check_value(f.value(), 6)) {
              return fail_at("updates", u, "invalid JSON");
            }
            if (err) return fail_at("updates", u, "side, price_level and new_quantity: expected strings");
          }
          if (!add_level(side, price, quantity, u)) return false;
          ++u;
        }
      } else if (check_value(field.value(), 4)) {
        return fail_at("events", index, "invalid JSON");
      }
    }
    if (!add_book(book, type, have_updates, index)) return false;
    ++index;
  }
  return finish_books(out);
}

bool CoinbaseParser::add_level(std::string_view side, std::string_view price, std::string_view quantity,
                               std::size_t u) {
  PriceLevel p;
  if (!decimal(price, p.price)) return fail_at("updates", u, "price_level: not an exact decimal");
  if (!decimal(quantity, p.size)) return fail_at("updates", u, "new_quantity: not an exact decimal");
  return add_parsed_level(side, p, u);
}

bool CoinbaseParser::add_parsed_level(std::string_view side, const PriceLevel& p, std::size_t u) {
  if (p.size.mantissa < 0) return fail_at("updates", u, "new_quantity: negative");
  if (side == "bid") {
    bids_.push_back(p);
  } else if (side == "offer") {
    asks_.push_back(p);
  } else {
    return fail_at("updates", u, "side: expected \"bid\" or \"offer\"");
  }
  return true;
}

bool CoinbaseParser::add_book(Book& book, std::string_view type, bool have_updates, std::size_t index) {
  if (type == "snapshot") {
    book.snapshot = true;
  } else if (type != "update") {
    return fail_at("events", index, "type: expected \"snapshot\" or \"update\"");
  }
  if (book.symbol.empty()) return fail_at("events", index, "product_id: missing or empty");
  if (!have_updates) return fail_at("events", index, "updates: missing");
  // Each event's levels are contiguous: bids_ and asks_ only grew inside it.
  book.bid_end = bids_.size();
  book.ask_end = asks_.size();
  books_.push_back(book);
  return true;
}

bool CoinbaseParser::finish_books(ParsedMessage& out) {
  if (books_.empty()) return fail("events: no l2_data event");
  book_event(0, out);
  pending_ = Pending::kBooks;
  cursor_ = 1;
  return true;
}

bool CoinbaseParser::parse_trades(od::array events, ParsedMessage& out) {
  // events: [{"type":"snapshot"|"update","trades":[{"trade_id":"<digits>","product_id","price",
  // "size","side":"BUY"|"SELL","time"}, ..]}, ..]. "side" is the taker's side (Advanced
  // Trade's Trade schema, "Taker side of the trade"; the legacy Exchange feed's
  // "matches" name the maker instead). A snapshot holds recent trades (history).
  std::size_t index = 0;
  for (auto element : events) {
    od::object e;
    if (element.get_object().get(e)) return fail_at("events", index, "expected a market_trades event object");
    std::string_view type;
    bool have_type = false, have_trades = false;
    const std::size_t first = trades_.size();
    for (auto field : e) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("events", index, "malformed key");
      if (key == "type" && !have_type) {
        if (field.value().get_string().get(type) || (type != "snapshot" && type != "update")) {
          return fail_at("events", index, "type: expected \"snapshot\" or \"update\"");
        }
        have_type = true;
      } else if (key == "trades" && !have_trades) {
        od::array list;
        if (field.value().get_array().get(list)) return fail_at("events", index, "trades: expected an array");
        if (!parse_trade_list(list)) return false;
        have_trades = true;
      } else if (check_value(field.value(), 4)) {
        return fail_at("events", index, "invalid JSON");
      }
    }
    if (!add_trade_event(first, have_type, type, have_trades, index)) return false;
    ++index;
  }
  return finish_trades(out);
}

bool CoinbaseParser::add_trade_event(std::size_t first, bool have_type, std::string_view type, bool have_trades,
                                     std::size_t index) {
  if (!have_type) return fail_at("events", index, "type: expected \"snapshot\" or \"update\"");
  if (!have_trades) return fail_at("events", index, "trades: expected an array");
  const bool history = type == "snapshot";
  for (std::size_t i = first; i < trades_.size(); ++i) trades_[i].history = history;
  // Oldest first (Coinbase lists a batch newest first): the pipeline then
  // sees each product's ids rise within the event.
  std::sort(trades_.begin() + static_cast<std::ptrdiff_t>(first), trades_.end(),
            [](const TradeEvent& a, const TradeEvent& b) { return a.trade_id < b.trade_id; });
  return true;
}

bool CoinbaseParser::finish_trades(ParsedMessage& out) {
  if (trades_.empty()) {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // an empty snapshot: a product with no trades yet
    return true;
  }
  set_kind(out, MessageKind::kTrade, EventKind::kTrade);
  out.trade = trades_[0];
  pending_ = Pending::kTrades;
  cursor_ = 1;
  return true;
}

bool CoinbaseParser::parse_trade_list(od::array list) {
  // [{"trade_id":"<digits>","product_id","price","size","side":"BUY"|"SELL","time"}, ..]:
  // appended to trades_ (history is set by the caller).
  std::size_t t = 0;
  for (auto item : list) {
    od::object o;
    if (item.get_object().get(o)) return fail_at("trades", t, "expected a trade object");
    TradeEvent trade;
    std::string_view id, price, size, side, time;
    for (auto f : o) {
      std::string_view k;
      if (f.unescaped_key().get(k)) return fail_at("trades", t, "malformed key");
      simdjson::error_code err = simdjson::SUCCESS;
      if (k == "trade_id") {
        err = f.value().get_string().get(id);
      } else if (k == "product_id") {
        err = f.value().get_string().get(trade.symbol);
      } else if (k == "price") {
        err = f.value().get_string().get(price);
      } else if (k == "size") {
        err = f.value().get_string().get(size);
      } else if (k == "side") {
        err = f.value().get_string().get(side);
      } else if (k == "time") {
        err = f.value().get_string().get(time);
      } else if (check_value(f.value(), 6)) {
        return fail_at("trades", t, "invalid JSON");
      }
      if (err) return fail_at("trades", t, "trade_id, product_id, price, size, side, time: expected strings");
    }
    if (!add_trade(trade.symbol, id, price, size, side, time, t)) return false;
    ++t;
  }
  return true;
}

bool CoinbaseParser::add_trade(std::string_view symbol, std::string_view id, std::string_view price,
                               std::string_view size, std::string_view side, std::string_view time, std::size_t t) {
  // The simdjson path's order of checks: id, product, price, size, then side and time.
  std::uint64_t id_value = 0;
  if (!parse_id(id, id_value)) return fail_at("trades", t, "trade_id: expected a string of digits");
  if (symbol.empty()) return fail_at("trades", t, "product_id: missing or empty");
  Decimal p, s;
  if (!decimal(price, p)) return fail_at("trades", t, "price: not an exact decimal");
  if (!decimal(size, s)) return fail_at("trades", t, "size: not an exact decimal");
  return add_parsed_trade(symbol, id, p, s, side, time, t);
}

bool CoinbaseParser::add_parsed_trade(std::string_view symbol, std::string_view id, Decimal price, Decimal size,
                                      std::string_view side, std::string_view time, std::size_t t) {
  TradeEvent trade;
  trade.symbol = symbol;
  if (!parse_id(id, trade.trade_id)) return fail_at("trades", t, "trade_id: expected a string of digits");
  if (trade.symbol.empty()) return fail_at("trades", t, "product_id: missing or empty");
  trade.price = price;
  trade.size = size;
  if (side == "BUY") {
    trade.aggressor = Side::kBuy;
  } else if (side == "SELL") {
    trade.aggressor = Side::kSell;
  } else {
    return fail_at("trades", t, "side: expected \"BUY\" or \"SELL\"");
  }
  if (!parse_rfc3339_ns(time, trade.trade_ns)) return fail_at("trades", t, "time: expected an RFC 3339 UTC time");
  trade.event_ns = time_ns_;
  trades_.push_back(trade);
  return true;
}

bool CoinbaseParser::parse_tickers(od::array events, ParsedMessage& out) {
  // events: [{"type":"snapshot"|"update","tickers":[{"type":"ticker","product_id","price",
  // .., "best_bid","best_bid_quantity","best_ask","best_ask_quantity"}, ..]}, ..]: each
  // ticker is published as a quote; its update id is the message time (ns), which only
  // increases on the venue, across connections too.
  std::size_t index = 0;
  for (auto element : events) {
    od::object e;
    if (element.get_object().get(e)) return fail_at("events", index, "expected a ticker event object");
    bool have_tickers = false;
    for (auto field : e) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("events", index, "malformed key");
      if (key == "tickers" && !have_tickers) {
        od::array list;
        if (field.value().get_array().get(list)) return fail_at("events", index, "tickers: expected an array");
        if (!parse_ticker_list(list)) return false;
        have_tickers = true;
      } else if (check_value(field.value(), 4)) {
        return fail_at("events", index, "invalid JSON");
      }
    }
    if (!have_tickers) return fail_at("events", index, "tickers: expected an array");
    ++index;
  }
  if (quotes_.empty()) return fail("events: no ticker");
  set_kind(out, MessageKind::kIgnored, EventKind::kQuote);
  out.quote = quotes_[0];
  pending_ = Pending::kQuotes;
  cursor_ = 1;
  return true;
}

bool CoinbaseParser::parse_ticker_list(od::array list) {
  // [{"type":"ticker","product_id","price",..,"best_bid","best_bid_quantity","best_ask",
  // "best_ask_quantity"}, ..]: appended to quotes_.
  std::size_t t = 0;
  for (auto item : list) {
    od::object o;
    if (item.get_object().get(o)) return fail_at("tickers", t, "expected a ticker object");
    QuoteEvent q;
    std::string_view bid, bid_qty, ask, ask_qty;
    for (auto f : o) {
      std::string_view k;
      if (f.unescaped_key().get(k)) return fail_at("tickers", t, "malformed key");
      std::string_view* target = nullptr;
      if (k == "product_id") {
        target = &q.symbol;
      } else if (k == "best_bid") {
        target = &bid;
      } else if (k == "best_bid_quantity") {
        target = &bid_qty;
      } else if (k == "best_ask") {
        target = &ask;
      } else if (k == "best_ask_quantity") {
        target = &ask_qty;
      }
      if (target == nullptr) {
        if (check_value(f.value(), 6)) return fail_at("tickers", t, "invalid JSON");
      } else if (f.value().get_string().get(*target)) {
        return fail_at("tickers", t, "product_id, best_bid(_quantity), best_ask(_quantity): expected strings");
      }
    }
    if (q.symbol.empty()) return fail_at("tickers", t, "product_id: missing or empty");
    if (!decimal(bid, q.bid_price)) return fail_at("tickers", t, "best_bid: not an exact decimal");
    if (!decimal(bid_qty, q.bid_size)) return fail_at("tickers", t, "best_bid_quantity: not an exact decimal");
    if (!decimal(ask, q.ask_price)) return fail_at("tickers", t, "best_ask: not an exact decimal");
    if (!decimal(ask_qty, q.ask_size)) return fail_at("tickers", t, "best_ask_quantity: not an exact decimal");
    q.update_id = time_ns_;
    q.event_ns = time_ns_;
    quotes_.push_back(q);
    ++t;
  }
  return true;
}

bool CoinbaseParser::parse_heartbeats(od::array events, ParsedMessage& out) {
  // events: [{"current_time":"..","heartbeat_counter":"3049"|3049}]: liveness only.
  std::size_t index = 0;
  for (auto element : events) {
    od::object e;
    if (element.get_object().get(e)) return fail_at("events", index, "expected a heartbeat object");
    bool have_counter = false;
    for (auto field : e) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) || field.value().get(value)) return fail_at("events", index, "invalid JSON");
      if (key == "heartbeat_counter" && !have_counter) {
        od::json_type type;
        std::uint64_t n = 0;
        std::string_view text;
        const bool ok = !value.type().get(type) &&
                        (type == od::json_type::number ? !value.get_uint64().get(n)
                                                       : type == od::json_type::string && !value.get_string().get(text) &&
                                                             parse_id(text, n));
        if (!ok) {
          return fail_at("events", index, "heartbeat_counter: expected an unsigned integer or a string of digits");
        }
        have_counter = true;
      } else if (check_value(value, 4)) {
        return fail_at("events", index, "invalid JSON");
      }
    }
    if (!have_counter) return fail_at("events", index, "heartbeat_counter: missing");
    ++index;
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);
  return true;
}

bool CoinbaseParser::parse_subscriptions(od::array events, ParsedMessage& out) {
  // events: [{"subscriptions":{"<channel>":["<product>", ..], ..}}]: the reply to every
  // subscribe and unsubscribe, naming all current subscriptions (no request id).
  std::size_t index = 0;
  for (auto element : events) {
    od::object e;
    if (element.get_object().get(e)) return fail_at("events", index, "expected a subscriptions object");
    bool have_subscriptions = false;
    for (auto field : e) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) || field.value().get(value)) return fail_at("events", index, "invalid JSON");
      if (key == "subscriptions" && !have_subscriptions) {
        od::json_type type;
        if (value.type().get(type) || type != od::json_type::object) {
          return fail_at("events", index, "subscriptions: expected an object");
        }
        have_subscriptions = true;
      }
      if (check_value(value, 4)) return fail_at("events", index, "invalid JSON");
    }
    if (!have_subscriptions) return fail_at("events", index, "subscriptions: expected an object");
    ++index;
  }
  set_kind(out, MessageKind::kControl, EventKind::kControlReply);
  return true;
}

}  // namespace tickwire::connector::venues
