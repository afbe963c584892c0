// BinanceParser::parse_direct: trade, aggTrade, depthUpdate and bookTicker
// events, which are nearly all of a Binance feed, read straight from the
// bytes in the compact shape Binance sends them in (combined
// {"stream":..,"data":{..}} with "stream" first, or the raw event), without
// simdjson's structural pass. It takes a frame only if it is valid JSON of
// exactly that shape and every value in it is one the simdjson path would
// accept; anything else (whitespace, escapes, non-ASCII text, another key, a
// repeated key, "data" before "stream", a value of another type, a bad
// decimal, a negative size, U > u, a time past the nanosecond range, ...)
// returns false, and the simdjson path decides, errors included. What it
// takes yields the same events as that path:
// tests/connector/binance_direct_read_test.cpp and the binance fuzz target
// compare the two.
#include <cstdint>
#include <string_view>

#include "tickwire/connector/venues/binance/parser.hpp"
#include "../direct_cursor.hpp"

namespace tickwire::connector::venues {

using direct::Cursor;

bool BinanceParser::parse_direct(const char* data, std::size_t size, ParsedMessage& out) {
  constexpr std::string_view kStream = R"({"stream":)";
  Cursor in(data, data + size);
  bool book_ticker_stream = false;
  std::string_view stream;
  const bool combined = in.literal(kStream);
  if (combined) {
    if (!in.text(stream) || !in.literal(R"(,"data":)")) return false;
    book_ticker_stream = stream.ends_with("@bookTicker");
  }
  if (!read_event_direct(in, book_ticker_stream, out)) return false;
  if (combined && !in.take('}')) return false;
  if (!in.at_end()) return false;
  if (combined) out.stream_symbol = stream.substr(0, stream.find('@'));
  return true;
}

bool BinanceParser::read_event_direct(Cursor& in, bool book_ticker_stream, ParsedMessage& out) {
  // The event's first key says what it is, as in the simdjson path: "e"
  // (its type), or "u" (spot's bookTicker, which has no "e"); under a
  // @bookTicker stream the object is a bookTicker whatever it holds.
  constexpr std::string_view kType = R"({"e":)";
  if (book_ticker_stream) return read_book_ticker_direct(in, out, TickerStart::kObject);
  if (!in.literal(kType)) return in.take('{') && read_book_ticker_direct(in, out, TickerStart::kFirstKeyU);
  std::string_view type;
  if (!in.text(type)) return false;
  if (type == "depthUpdate") return read_depth_direct(in, out);
  if (type == "bookTicker") return read_book_ticker_direct(in, out, TickerStart::kAfterType);
  if (type == "trade") return read_trade_direct(in, out, false);
  if (type == "aggTrade") return read_trade_direct(in, out, true);
  return false;
}

bool BinanceParser::read_trade_direct(Cursor& in, ParsedMessage& out, bool aggregate) {
  // trade: "e" read, then E, s, t, p, q, T, m, M (and b, a, the order ids of
  // older streams; X on futures); aggTrade: E, s, a, p, q, f, l, T, m, M.
  // Each key once, in any order; M, b, a and X are not kept.
  TradeEvent& t = out.trade;
  std::uint64_t event_ms = 0, trade_ms = 0, order_id = 0;
  Decimal price, size;
  bool buyer_is_maker = false, best_match = false;
  unsigned seen = 0;  // bit per key below
  while (in.take(',')) {
    std::uint64_t name = 0;
    std::string_view key;
    if (!in.key_code(name, key)) return false;
    unsigned bit = 0;
    bool ok = false;
    switch (name) {
      case direct::code("E"): bit = 1u << 0, ok = in.number(event_ms); break;
      case direct::code("s"): bit = 1u << 1, ok = in.text(t.symbol); break;
      case direct::code("t"): bit = 1u << 2, ok = !aggregate && in.number(t.trade_id); break;
      case direct::code("p"): bit = 1u << 3, ok = in.decimal(price); break;
      case direct::code("q"): bit = 1u << 4, ok = in.decimal(size); break;
      case direct::code("T"): bit = 1u << 5, ok = in.number(trade_ms); break;
      case direct::code("m"): bit = 1u << 6, ok = in.boolean(buyer_is_maker); break;
      case direct::code("M"): bit = 1u << 7, ok = in.boolean(best_match); break;
      case direct::code("a"): bit = 1u << 8, ok = in.number(aggregate ? t.trade_id : order_id); break;
      case direct::code("f"): bit = 1u << 9, ok = aggregate && in.number(t.first_trade_id); break;
      case direct::code("l"): bit = 1u << 10, ok = aggregate && in.number(t.last_trade_id); break;
      case direct::code("b"): bit = 1u << 11, ok = !aggregate && in.number(order_id); break;
      case direct::code("X"): {
        std::string_view x;
        bit = 1u << 12, ok = !aggregate && dialect_ == BinanceDialect::kUsdm && in.text(x);
        break;
      }
      default: break;
    }
    if (!ok || (seen & bit) != 0) return false;
    seen |= bit;
  }
  if (!in.take('}')) return false;
  constexpr unsigned kCommon = 0b1111011;  // E, s, p, q, T, m
  constexpr unsigned kTrade = kCommon | (1u << 2);
  constexpr unsigned kAggregate = kCommon | (1u << 8) | (1u << 9) | (1u << 10);
  const unsigned required = aggregate ? kAggregate : kTrade;
  if ((seen & required) != required) return false;
  if (t.symbol.empty() || (aggregate && t.first_trade_id > t.last_trade_id)) return false;
  if (!to_ns(event_ms, t.event_ns) || !to_ns(trade_ms, t.trade_ns)) return false;
  out.kind = aggregate ? MessageKind::kIgnored : MessageKind::kTrade;
  out.event = aggregate ? EventKind::kAggTrade : EventKind::kTrade;
  t.aggregate = aggregate;
  t.price = price;
  t.size = size;
  t.aggressor = buyer_is_maker ? Side::kSell : Side::kBuy;  // as finish_trade
  return true;
}

bool BinanceParser::read_depth_direct(Cursor& in, ParsedMessage& out) {
  // "e" read, then E, s, U, u, b, a (futures: pu; T, not kept), each once, in any order.
  BookDeltaEvent& d = out.delta;
  std::uint64_t event_ms = 0, transaction_ms = 0;
  const bool usdm = dialect_ == BinanceDialect::kUsdm;
  unsigned seen = 0;
  while (in.take(',')) {
    std::uint64_t name = 0;
    std::string_view key;
    if (!in.key_code(name, key)) return false;
    unsigned bit = 0;
    bool ok = false;
    switch (name) {
      case direct::code("E"): bit = 1u << 0, ok = in.number(event_ms); break;
      case direct::code("s"): bit = 1u << 1, ok = in.text(d.symbol); break;
      case direct::code("U"): bit = 1u << 2, ok = in.number(d.first_update_id); break;
      case direct::code("u"): bit = 1u << 3, ok = in.number(d.last_update_id); break;
      case direct::code("b"): bit = 1u << 4, ok = in.levels(bids_); break;
      case direct::code("a"): bit = 1u << 5, ok = in.levels(asks_); break;
      case direct::code("pu"): bit = 1u << 6, ok = usdm && in.number(d.prev_update_id); break;
      case direct::code("T"): bit = 1u << 7, ok = in.number(transaction_ms); break;  // not kept
      default: break;
    }
    if (!ok || (seen & bit) != 0) return false;
    seen |= bit;
  }
  const unsigned required = usdm ? 0b1111111u : 0b111111u;
  if (!in.take('}') || (seen & required) != required) return false;
  if (d.symbol.empty() || d.first_update_id > d.last_update_id || !to_ns(event_ms, d.event_ns)) return false;
  out.kind = MessageKind::kIgnored;
  out.event = EventKind::kBookDelta;
  d.has_prev = usdm;
  d.bids = bids_;
  d.asks = asks_;
  return true;
}

bool BinanceParser::read_book_ticker_direct(Cursor& in, ParsedMessage& out, TickerStart start) {
  // u, s, b, B, a, A (futures: e, E; T, not kept), each once, in any order. Spot's
  // "E" counts only after "A", as the simdjson path's ordered lookup finds
  // it; before it, the simdjson path decides. An object whose first key is
  // neither "e" nor "u" is not a bookTicker to the simdjson path (unless its
  // stream says so), nor is one with "e" after a first "u".
  QuoteEvent& q = out.quote;
  const bool usdm = dialect_ == BinanceDialect::kUsdm;
  std::uint64_t event_ms = 0, transaction_ms = 0;
  constexpr unsigned kTypeBit = 1u << 8;
  unsigned seen = start == TickerStart::kAfterType ? kTypeBit : 0;
  if (start == TickerStart::kObject && !in.take('{')) return false;
  bool more = start != TickerStart::kAfterType || in.take(',');
  bool first = start == TickerStart::kFirstKeyU;
  while (more) {
    std::uint64_t name = 0;
    std::string_view key;
    if (!in.key_code(name, key)) return false;
    if (first && name != direct::code("u")) return false;
    first = false;
    unsigned bit = 0;
    bool ok = false;
    switch (name) {
      case direct::code("u"): bit = 1u << 0, ok = in.number(q.update_id); break;
      case direct::code("s"): bit = 1u << 1, ok = in.text(q.symbol); break;
      case direct::code("b"): bit = 1u << 2, ok = in.decimal(q.bid_price); break;
      case direct::code("B"): bit = 1u << 3, ok = in.decimal(q.bid_size); break;
      case direct::code("a"): bit = 1u << 4, ok = in.decimal(q.ask_price); break;
      case direct::code("A"): bit = 1u << 5, ok = in.decimal(q.ask_size); break;
      case direct::code("E"):
        bit = 1u << 6, ok = (usdm || (seen & (1u << 5)) != 0) && in.number(event_ms) && to_ns(event_ms, q.event_ns);
        break;
      case direct::code("T"): bit = 1u << 7, ok = in.number(transaction_ms); break;  // not kept
      case direct::code("e"): {
        // Only a stream's data may hold one here: a raw event with "e" is read by its type.
        std::string_view type;
        bit = kTypeBit, ok = start == TickerStart::kObject && in.text(type);
        break;
      }
      default: break;
    }
    if (!ok || (seen & bit) != 0) return false;
    seen |= bit;
    more = in.take(',');
  }
  constexpr unsigned kRequired = 0b111111;
  if (!in.take('}') || (seen & kRequired) != kRequired) return false;
  if (q.symbol.empty() || q.bid_size.mantissa < 0 || q.ask_size.mantissa < 0) return false;
  out.kind = MessageKind::kIgnored;
  out.event = EventKind::kQuote;
  return true;
}

}  // namespace tickwire::connector::venues
