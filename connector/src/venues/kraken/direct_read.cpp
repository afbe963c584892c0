// KrakenParser::parse_direct: book and trade frames, which are nearly all of
// a Kraken feed, read straight from the bytes in the compact shape Kraken
// sends them in, without simdjson's structural pass. It takes a frame only
// if it is valid JSON of exactly that shape and every value in it is one the
// simdjson path would accept; anything else (whitespace, escapes, non-ASCII
// text, another key, a repeated key, root keys in another order, a number
// with an exponent or more than 18 digits, a negative qty, a bad time, ...)
// returns false, and the simdjson path decides, errors included. What it
// takes yields the same events as that path:
// tests/connector/kraken_direct_read_test.cpp and the kraken fuzz target
// compare the two.
#include <cstdint>
#include <string_view>

#include "tickwire/connector/venues/kraken/parser.hpp"
#include "../direct_cursor.hpp"
#include "rfc3339.hpp"

namespace tickwire::connector::venues {
namespace {

using direct::Cursor;

constexpr std::string_view kTimestamp = "timestamp";

// read_levels: [{"price":N,"qty":N},..] appended to `out`; false on any
// other shape or a negative qty (which the simdjson path refuses).
bool read_levels(Cursor& in, std::vector<PriceLevel>& out) {
  if (!in.take('[')) return false;
  if (in.take(']')) return true;
  do {
    PriceLevel level;
    if (!in.literal(R"({"price":)") || !in.bare_decimal(level.price) || !in.literal(R"(,"qty":)") ||
        !in.bare_decimal(level.size) || !in.take('}')) {
      return false;
    }
    if (level.size.mantissa < 0) return false;
    out.push_back(level);
  } while (in.take(','));
  return in.take(']');
}

// read_time: an RFC 3339 UTC time string, as Unix nanoseconds.
bool read_time(Cursor& in, std::uint64_t& ns) {
  std::string_view text;
  return in.text_wide(text) && kraken::rfc3339_ns(text, ns);
}

}  // namespace

bool KrakenParser::parse_direct(const char* data, std::size_t size, ParsedMessage& out) {
  // {"channel":"book"|"trade","type":"snapshot"|"update","data":[..]}, in
  // that order (as Kraken sends them).
  constexpr std::string_view kBook = R"({"channel":"book","type":")";
  constexpr std::string_view kTrade = R"({"channel":"trade","type":")";
  Cursor in(data, data + size);
  const bool book = in.literal(kBook);
  if (!book && !in.literal(kTrade)) return false;
  bool snapshot = false;
  if (in.literal(R"(snapshot")")) {
    snapshot = true;
  } else if (!in.literal(R"(update")")) {
    return false;
  }
  if (!in.literal(R"(,"data":)")) return false;
  if (!(book ? read_books_direct(in, snapshot, out) : read_trades_direct(in, out))) return false;
  if (!in.take('}') || !in.at_end()) return false;
  set_book_levels(out);
  for (ParsedMessage& m : pending_) set_book_levels(m);
  cursor_ = 0;  // pending_ holds the events after the first
  return true;
}

bool KrakenParser::read_books_direct(Cursor& in, bool snapshot, ParsedMessage& out) {
  // [{"symbol":"BTC/USD","bids":[..],"asks":[..],"checksum":N,"timestamp":".."},..]: each key
  // once, in any order; "timestamp" optional, as in the simdjson path.
  if (!in.take('[')) return false;
  bool first = true;
  do {
    std::string_view symbol;
    std::uint64_t sum = 0, event_ns = 0;
    bool have_symbol = false, have_bids = false, have_asks = false, have_checksum = false, have_time = false;
    LevelRange range{bids_.size(), bids_.size(), asks_.size(), asks_.size()};
    if (!in.take('{')) return false;
    do {
      std::uint64_t name = 0;
      std::string_view key;
      if (!in.key_code(name, key)) return false;
      bool ok = false;
      switch (name) {
        case direct::code("symbol"): ok = !have_symbol && (have_symbol = in.text(symbol)); break;
        case direct::code("bids"):
          range.bids_begin = bids_.size();
          ok = !have_bids && (have_bids = read_levels(in, bids_));
          range.bids_end = bids_.size();
          break;
        case direct::code("asks"):
          range.asks_begin = asks_.size();
          ok = !have_asks && (have_asks = read_levels(in, asks_));
          range.asks_end = asks_.size();
          break;
        case direct::code("checksum"):
          ok = !have_checksum && (have_checksum = in.number(sum)) && sum <= UINT32_MAX;
          break;
        case 0: ok = key == kTimestamp && !have_time && (have_time = read_time(in, event_ns)); break;
        default: break;
      }
      if (!ok) return false;
    } while (in.take(','));
    if (!in.take('}') || symbol.empty() || !have_bids || !have_asks || !have_checksum) return false;
    add_book(first ? out : pending_.emplace_back(), symbol, snapshot, static_cast<std::uint32_t>(sum), event_ns,
             range);
    first = false;
  } while (in.take(','));
  return in.take(']');
}

bool KrakenParser::read_trades_direct(Cursor& in, ParsedMessage& out) {
  // [{"symbol":..,"side":"buy"|"sell","price":N,"qty":N,"ord_type":..,"trade_id":N,"timestamp":".."},..]:
  // each key at most once, in any order; every one but "ord_type" required.
  if (!in.take('[')) return false;
  std::size_t index = 0;
  do {
    ParsedMessage& m = index == 0 ? out : pending_.emplace_back();
    m.kind = MessageKind::kTrade;
    m.event = EventKind::kTrade;
    TradeEvent& trade = m.trade;
    std::string_view side, ord_type;
    unsigned seen = 0;  // bit per key below
    if (!in.take('{')) return false;
    do {
      std::uint64_t name = 0;
      std::string_view key;
      if (!in.key_code(name, key)) return false;
      unsigned bit = 0;
      bool ok = false;
      switch (name) {
        case direct::code("symbol"): bit = 1u << 0, ok = in.text(trade.symbol); break;
        case direct::code("side"): bit = 1u << 1, ok = in.text(side); break;
        case direct::code("price"): bit = 1u << 2, ok = in.bare_decimal(trade.price); break;
        case direct::code("qty"): bit = 1u << 3, ok = in.bare_decimal(trade.size); break;
        case direct::code("trade_id"): bit = 1u << 4, ok = in.number(trade.trade_id); break;
        case direct::code("ord_type"): bit = 1u << 5, ok = in.text(ord_type); break;  // not kept
        case 0: bit = 1u << 6, ok = key == kTimestamp && read_time(in, trade.trade_ns); break;
        default: break;
      }
      if (!ok || (seen & bit) != 0) return false;
      seen |= bit;
    } while (in.take(','));
    constexpr unsigned kRequired = 0b1011111;  // all but ord_type
    if (!in.take('}') || (seen & kRequired) != kRequired) return false;
    if (!add_trade(trade, side, index)) return false;
    ++index;
  } while (in.take(','));
  return in.take(']');
}

}  // namespace tickwire::connector::venues
