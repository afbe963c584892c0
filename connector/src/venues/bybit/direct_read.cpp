// BybitParser::parse_direct: orderbook and publicTrade frames, which are
// nearly all of a Bybit feed, read straight from the bytes in the compact
// shape Bybit sends them in, without simdjson's structural pass. It takes a
// frame only if it is valid JSON of exactly that shape and every value in it
// is one the simdjson path would accept; anything else (whitespace, escapes,
// non-ASCII text, another key, a repeated key, "topic" not first, a value of
// another type, a bad decimal, a negative size, a zero u, ...) returns false
// having published nothing, and the simdjson path decides, errors included.
// What it takes yields the same events as that path:
// tests/connector/bybit_direct_read_test.cpp and the bybit fuzz target
// compare the two.
#include <cstdint>
#include <string_view>

#include "tickwire/connector/venues/bybit/parser.hpp"
#include "../direct_cursor.hpp"

namespace tickwire::connector::venues {
namespace {

using direct::Cursor;

// read_book_data: an orderbook's data; false on anything the generic path
// would refuse, or read otherwise.
bool read_book_data(Cursor& in, std::string_view& symbol, std::uint64_t& u, std::uint64_t& seq,
                    std::vector<PriceLevel>& bids, std::vector<PriceLevel>& asks) {
  // {"s":"BTCUSDT","b":[..],"a":[..],"u":N,"seq":N}, in any order, each once.
  bool have_s = false, have_b = false, have_a = false, have_u = false, have_seq = false;
  if (!in.take('{')) return false;
  do {
    std::uint64_t name = 0;
    std::string_view field;
    if (!in.key_code(name, field)) return false;
    bool ok = false;
    switch (name) {
      case direct::code("s"): ok = !have_s && (have_s = in.text(symbol)); break;
      case direct::code("b"): ok = !have_b && (have_b = in.levels(bids)); break;
      case direct::code("a"): ok = !have_a && (have_a = in.levels(asks)); break;
      case direct::code("u"): ok = !have_u && (have_u = in.number(u)); break;
      case direct::code("seq"): ok = !have_seq && (have_seq = in.number(seq)); break;
      default: break;
    }
    if (!ok) return false;
  } while (in.take(','));
  return in.take('}') && !symbol.empty() && have_b && have_a && u != 0;
}

}  // namespace

bool BybitParser::parse_direct(const char* data, std::size_t size, ParsedMessage& out) {
  // {"topic":"orderbook.<depth>.<SYMBOL>"|"publicTrade.<SYMBOL>","type":"snapshot"|"delta","ts":N,
  //  "data":..,"cts":N}, "topic" first (as Bybit sends it); "cts" optional and unused, as in the
  // generic path.
  constexpr std::string_view kBookTopic = R"({"topic":"orderbook.)";
  constexpr std::string_view kTradeTopic = R"({"topic":"publicTrade.)";
  const std::string_view frame(data, size);
  const bool trade_channel = frame.starts_with(kTradeTopic);
  if (!trade_channel && !frame.starts_with(kBookTopic)) return false;
  Cursor in(data, data + size);
  bool have_type = false, have_ts = false, have_data = false, have_cts = false;
  bool snapshot = false, level1 = false;
  std::string_view topic;
  std::uint64_t ts_ms = 0;
  BookFields book;
  if (!in.take('{') || !in.key(topic) || !in.text(topic)) return false;
  const auto last_dot = topic.rfind('.');
  const std::string_view topic_symbol = topic.substr(last_dot + 1);
  if (!trade_channel) {
    constexpr std::size_t kChannel = std::string_view("orderbook.").size();
    if (last_dot < kChannel) return false;  // "orderbook.X": no depth
    const std::string_view depth = topic.substr(kChannel, last_dot - kChannel);
    if (!book_depth_ok(depth)) return false;
    level1 = depth == "1";
  }
  while (in.take(',')) {
    std::uint64_t name = 0;
    std::string_view key;
    if (!in.key_code(name, key)) return false;
    bool ok = false;
    switch (name) {
      case direct::code("type"): {
        std::string_view type;
        ok = !have_type && in.text(type) && (type == "snapshot" || type == "delta");
        snapshot = type == "snapshot";
        have_type = true;
        break;
      }
      case direct::code("ts"):
        ok = !have_ts && in.number(ts_ms) && ts_ms <= UINT64_MAX / 1'000'000;
        have_ts = true;
        break;
      case direct::code("cts"): {
        std::uint64_t cts = 0;
        ok = !have_cts && in.number(cts);
        have_cts = true;
        break;
      }
      case direct::code("data"):
        ok = !have_data && (trade_channel ? read_trades_direct(in)
                                          : read_book_data(in, book.symbol, book.u, book.seq, bids_, asks_));
        have_data = true;
        break;
      default: break;
    }
    if (!ok) return false;
  }
  if (!in.take('}') || !in.at_end()) return false;
  if (!have_type || !have_ts || !have_data) return false;
  topic_symbol_ = topic_symbol;
  out.stream_symbol = topic_symbol;
  const std::uint64_t event_ns = ts_ms * 1'000'000;
  if (trade_channel) {
    for (TradeEvent& t : trades_) t.event_ns = event_ns;
    out.kind = MessageKind::kTrade;
    out.event = EventKind::kTrade;
    out.trade = trades_[0];
    cursor_ = 1;
    return true;
  }
  emit_book(book, snapshot, event_ns, out);
  if (snapshot && level1) out.snapshot.image = true;
  return true;
}

bool BybitParser::read_trades_direct(Cursor& in) {
  // [{"T":ms,"s":..,"S":"Buy"|"Sell","v":..,"p":..,"L":..,"i":..,"BT":bool,"RPI":bool,"seq":N},..]:
  // each key at most once, in any order; false on any other key, or on a
  // trade the simdjson path refuses.
  if (!in.take('[')) return false;
  std::size_t index = 0;
  do {
    TradeEvent trade;
    std::string_view side, id;
    std::uint64_t trade_ms = 0;
    unsigned seen = 0;  // bit per key below
    if (!in.take('{')) return false;
    do {
      std::uint64_t name = 0;
      std::string_view key;
      if (!in.key_code(name, key)) return false;
      unsigned bit = 0;
      bool ok = false;
      switch (name) {
        case direct::code("T"): bit = 1u << 0, ok = in.number(trade_ms); break;
        case direct::code("s"): bit = 1u << 1, ok = in.text(trade.symbol); break;
        case direct::code("S"): bit = 1u << 2, ok = in.text(side); break;
        case direct::code("v"): bit = 1u << 3, ok = in.decimal(trade.size); break;
        case direct::code("p"): bit = 1u << 4, ok = in.decimal(trade.price); break;
        case direct::code("i"): bit = 1u << 5, ok = in.text(id); break;
        case direct::code("seq"): bit = 1u << 6, ok = in.number(trade.trade_id); break;
        case direct::code("L"): {  // the tick direction: not kept
          std::string_view tick;
          bit = 1u << 7, ok = in.text(tick);
          break;
        }
        // Block trade, retail price improvement: not kept.
        case direct::code("BT"): bit = 1u << 8, ok = in.boolean(); break;
        case direct::code("RPI"): bit = 1u << 9, ok = in.boolean(); break;
        default: break;
      }
      if (!ok || (seen & bit) != 0) return false;
      seen |= bit;
    } while (in.take(','));
    if (!in.take('}')) return false;
    constexpr unsigned kSizeAndPrice = (1u << 3) | (1u << 4);  // no default: the generic path refuses ""
    if ((seen & kSizeAndPrice) != kSizeAndPrice) return false;
    if (!add_parsed_trade(trade, side, id, trade_ms, index)) return false;
    ++index;
  } while (in.take(','));
  return in.take(']');
}

}  // namespace tickwire::connector::venues
