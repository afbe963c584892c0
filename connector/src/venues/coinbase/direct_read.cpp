// CoinbaseParser::parse_direct: market_trades and l2_data frames, nearly all
// of a Coinbase feed, read straight from the bytes in the compact shape
// Coinbase sends them in, without simdjson's structural pass. It takes a
// frame only if it is valid JSON of exactly that shape: "channel" first, then
// "client_id", "timestamp" and "sequence_num" in any order before "events",
// which ends the frame; known keys once each; no whitespace, escapes or
// non-ASCII text. Anything else, malformed frames included, returns false
// having published nothing, and the simdjson path decides. What the fields
// mean (add_level, add_book, add_trade, add_trade_event, finish_*) is the
// simdjson path's own code, and a frame it refuses is left to that path too,
// which names the reason. tests/connector/coinbase_direct_read_test.cpp and
// the coinbase fuzz target compare the two paths.
#include <cstdint>
#include <string_view>

#include "../direct_cursor.hpp"
#include "tickwire/connector/venues/coinbase/parser.hpp"

namespace tickwire::connector::venues {

using direct::Cursor;

bool CoinbaseParser::parse_direct(const char* data, std::size_t size, ParsedMessage& out) {
  constexpr std::string_view kChannel = R"({"channel":)";
  if (!std::string_view(data, size).starts_with(kChannel)) return false;
  Cursor in(data + kChannel.size(), data + size);
  std::string_view channel;
  if (!in.text(channel)) return false;
  const bool books = channel == "l2_data";
  if (!books && channel != "market_trades") return false;
  bool have_client = false, have_time = false, have_sequence = false;
  for (;;) {
    if (!in.take(',')) return false;
    if (in.literal(R"("events":)")) {
      if (!have_time || !have_sequence) return false;  // what reading the events needs, read before them
      break;
    }
    bool ok = false;
    if (in.literal(R"("client_id":)")) {
      std::string_view client;
      ok = !have_client && (have_client = in.text(client));
    } else if (in.literal(R"("timestamp":)")) {
      std::string_view timestamp;
      ok = !have_time && (have_time = in.text_wide(timestamp) && parse_rfc3339_ns(timestamp, time_ns_));
    } else if (in.literal(R"("sequence_num":)")) {
      ok = !have_sequence && (have_sequence = in.number(sequence_));
    }
    if (!ok) return false;
  }
  sequence_read_ = true;
  if (!in.take('[')) return false;
  std::size_t index = 0;
  do {
    // One event: {"type","product_id","updates":[..]} or {"type","trades":[..]}, keys in any order.
    std::string_view type;
    bool have_type = false, have_list = false, have_product = false;
    Book book;
    book.bid_begin = book.bid_end = bids_.size();
    book.ask_begin = book.ask_end = asks_.size();
    const std::size_t first_trade = trades_.size();
    if (!in.take('{')) return false;
    do {
      bool ok = false;
      if (in.literal(R"("type":)")) {
        // market_trades: a type other than these is refused where it is read.
        ok = !have_type && (have_type = in.text(type) && (books || type == "snapshot" || type == "update"));
      } else if (books && in.literal(R"("updates":)")) {
        ok = !have_list && (have_list = read_levels(in));
      } else if (!books && in.literal(R"("trades":)")) {
        ok = !have_list && (have_list = read_trades(in));
      } else if (books && in.literal(R"("product_id":)")) {
        ok = !have_product && (have_product = in.text(book.symbol));
      }
      if (!ok) return false;
    } while (in.take(','));
    if (!in.take('}')) return false;
    if (books ? !add_book(book, type, have_list, index) : !add_trade_event(first_trade, have_type, type, have_list, index)) {
      return false;
    }
    ++index;
  } while (in.take(','));
  if (!in.take(']') || !in.take('}') || !in.at_end()) return false;
  if (!(books ? finish_books(out) : finish_trades(out))) return false;
  out.connection_sequence = sequence_;
  out.has_connection_sequence = true;
  return true;
}

bool CoinbaseParser::read_levels(Cursor& in) {
  // [{"side":"bid"|"offer","event_time","price_level","new_quantity"}, ..]: each
  // key matched whole with its quotes and colon; the decimals read in the pass.
  if (!in.take('[')) return false;
  if (in.take(']')) return true;
  std::size_t u = 0;
  do {
    std::string_view side, event_time;
    PriceLevel level;
    unsigned seen = 0;
    if (!in.take('{')) return false;
    do {
      unsigned bit = 0;
      bool read = false;
      if (in.literal(R"("side":)")) {
        bit = 1u << 0, read = in.text(side);
      } else if (in.literal(R"("event_time":)")) {  // not kept; long: eight bytes at a time
        bit = 1u << 1, read = in.text_wide(event_time);
      } else if (in.literal(R"("price_level":)")) {
        bit = 1u << 2, read = in.decimal(level.price);
      } else if (in.literal(R"("new_quantity":)")) {
        bit = 1u << 3, read = in.decimal(level.size);
      }
      if (!read || (seen & bit) != 0) return false;
      seen |= bit;
    } while (in.take(','));
    // Without a price or a quantity the simdjson path names what is missing.
    constexpr unsigned kPriceAndQuantity = (1u << 2) | (1u << 3);
    if (!in.take('}') || (seen & kPriceAndQuantity) != kPriceAndQuantity || !add_parsed_level(side, level, u)) {
      return false;
    }
    ++u;
  } while (in.take(','));
  return in.take(']');
}

bool CoinbaseParser::read_trades(Cursor& in) {
  // [{"trade_id","product_id","price","size","side":"BUY"|"SELL","time"}, ..]: each key
  // matched whole with its quotes and colon; the decimals read in the pass.
  if (!in.take('[')) return false;
  if (in.take(']')) return true;
  std::size_t t = 0;
  do {
    std::string_view id, symbol, side, time;
    Decimal price, size;
    unsigned seen = 0;
    if (!in.take('{')) return false;
    do {
      unsigned bit = 0;
      bool read = false;
      if (in.literal(R"("trade_id":)")) {
        bit = 1u << 0, read = in.text(id);
      } else if (in.literal(R"("product_id":)")) {
        bit = 1u << 1, read = in.text(symbol);
      } else if (in.literal(R"("price":)")) {
        bit = 1u << 2, read = in.decimal(price);
      } else if (in.literal(R"("size":)")) {
        bit = 1u << 3, read = in.decimal(size);
      } else if (in.literal(R"("side":)")) {
        bit = 1u << 4, read = in.text(side);
      } else if (in.literal(R"("time":)")) {  // long: eight bytes at a time
        bit = 1u << 5, read = in.text_wide(time);
      }
      if (!read || (seen & bit) != 0) return false;
      seen |= bit;
    } while (in.take(','));
    // Without a price or a size the simdjson path names what is missing.
    constexpr unsigned kPriceAndSize = (1u << 2) | (1u << 3);
    if (!in.take('}') || (seen & kPriceAndSize) != kPriceAndSize ||
        !add_parsed_trade(symbol, id, price, size, side, time, t)) {
      return false;
    }
    ++t;
  } while (in.take(','));
  return in.take(']');
}

}  // namespace tickwire::connector::venues
