// OkxParser::parse_direct: trades, trades-all, books (and the login-only
// books-l2-tbt, books50-l2-tbt), books5 and bbo-tbt frames, nearly all of an
// OKX feed, read straight from the bytes in the compact shape OKX sends
// them in, without simdjson's structural pass or the whole-document check.
// It takes a frame only if it is valid JSON of exactly that shape: "arg"
// ({"channel","instId"}) first, then "action" where the channel has one,
// then "data"; known keys once each; no whitespace, escapes or non-ASCII
// text. Anything else, malformed frames included, returns false having
// published nothing, and the simdjson path decides. What the fields mean
// (add_trade, finish_trades, finish_book) is the simdjson path's own code,
// and a frame it refuses is left to that path too, which names the reason.
// tests/connector/okx_direct_read_test.cpp and the okx fuzz target compare
// the two paths.
#include <cstdint>
#include <string_view>

#include "../direct_cursor.hpp"
#include "tickwire/connector/venues/okx/parser.hpp"

namespace tickwire::connector::venues {
namespace {

using direct::Cursor;

enum class Channel : std::uint8_t { kOther, kTrades, kTradesAll, kBooks, kBookImage };

Channel channel_of(std::string_view c) {
  if (c == "trades") return Channel::kTrades;
  if (c == "trades-all") return Channel::kTradesAll;
  // The incremental channels, which carry an "action".
  if (c == "books" || c == "books-l2-tbt" || c == "books50-l2-tbt") return Channel::kBooks;
  if (c == "books5" || c == "bbo-tbt") return Channel::kBookImage;
  return Channel::kOther;
}

// read_levels: [[px, sz(, "0", orders)], ..]: two to four strings a level,
// the first two exact decimals, the size not negative.
bool read_levels(Cursor& in, std::vector<PriceLevel>& out) {
  out.clear();
  if (!in.take('[')) return false;
  if (in.take(']')) return true;
  do {
    PriceLevel level;
    if (!in.take('[') || !in.decimal(level.price) || !in.take(',') || !in.decimal(level.size)) return false;
    for (int extra = 0; extra < 2 && in.take(','); ++extra) {
      std::string_view ignored;
      if (!in.text(ignored)) return false;
    }
    if (!in.take(']') || level.size.mantissa < 0) return false;
    out.push_back(level);
  } while (in.take(','));
  return in.take(']');
}

}  // namespace

bool OkxParser::parse_direct(const char* data, std::size_t size, ParsedMessage& out) {
  constexpr std::string_view kArg = R"({"arg":{"channel":)";
  if (!std::string_view(data, size).starts_with(kArg)) return false;
  Cursor in(data + kArg.size(), data + size);
  Arg arg;
  if (!in.text(arg.channel) || !in.take(',')) return false;
  std::string_view key;
  if (!in.key(key) || key != "instId" || !in.text(arg.inst_id) || !in.take('}') || !in.take(',')) return false;
  const Channel channel = channel_of(arg.channel);
  if (channel == Channel::kOther) return false;
  std::string_view action;
  if (!in.key(key)) return false;
  if (channel == Channel::kBooks) {
    if (key != "action" || !in.text(action) || !in.take(',') || !in.key(key)) return false;
  }
  if (key != "data" || !in.take('[')) return false;
  if (channel == Channel::kTrades || channel == Channel::kTradesAll) {
    // [{"instId","tradeId","px","sz","side","ts","count"?,"source"?,"seqId"?}, ..]
    const bool aggregate = channel == Channel::kTrades;
    std::size_t index = 0;
    do {
      TradeFields f;
      unsigned seen = 0;  // a bit per key below
      if (!in.take('{')) return false;
      do {
        std::uint64_t name = 0;
        if (!in.key_code(name, key)) return false;
        unsigned bit = 0;
        bool ok = false;
        std::string_view* text = nullptr;
        switch (name) {
          case direct::code("instId"): bit = 1u << 0, text = &f.symbol; break;
          case direct::code("tradeId"): bit = 1u << 1, text = &f.id; break;
          case direct::code("px"): bit = 1u << 2, text = &f.price; break;
          case direct::code("sz"): bit = 1u << 3, text = &f.size; break;
          case direct::code("side"): bit = 1u << 4, text = &f.side; break;
          case direct::code("ts"): bit = 1u << 5, text = &f.ts; break;
          case direct::code("count"): bit = 1u << 6, text = &f.count; break;
          case direct::code("source"): {  // not kept
            std::string_view source;
            bit = 1u << 7, ok = in.text(source);
            break;
          }
          case direct::code("seqId"): {  // not kept
            std::uint64_t seq = 0;
            bit = 1u << 8, ok = in.number(seq);
            break;
          }
          default: break;
        }
        if (text != nullptr) ok = in.text(*text);
        if (!ok || (seen & bit) != 0) return false;
        seen |= bit;
      } while (in.take(','));
      if (!in.take('}') || !add_trade(f, arg, aggregate, index)) return false;
      ++index;
    } while (in.take(','));
    if (!in.take(']') || !in.take('}') || !in.at_end()) return false;
    return finish_trades(arg, aggregate, out);
  }
  // One book object: {"asks","bids","ts","checksum"?,"prevSeqId"?,"seqId","instId"?}.
  BookFields f;
  bool have_ts = false, have_seq = false, have_prev = false, have_checksum = false, have_symbol = false;
  if (!in.take('{')) return false;
  do {
    std::uint64_t name = 0;
    if (!in.key_code(name, key)) return false;
    bool ok = false;
    switch (name) {
      case direct::code("asks"): ok = !f.have_a && (f.have_a = read_levels(in, asks_)); break;
      case direct::code("bids"): ok = !f.have_b && (f.have_b = read_levels(in, bids_)); break;
      case direct::code("ts"): ok = !have_ts && (have_ts = in.text(f.ts)); break;
      case direct::code("seqId"): ok = !have_seq && (have_seq = in.integer(f.seq)); break;
      case direct::code("checksum"): ok = !have_checksum && (have_checksum = in.integer(f.checksum)); break;
      case direct::code("instId"): ok = !have_symbol && (have_symbol = in.text(f.symbol)); break;
      default:
        if (key == "prevSeqId") ok = !have_prev && (have_prev = in.integer(f.prev));
        break;
    }
    if (!ok) return false;
  } while (in.take(','));
  if (!in.take('}') || !in.take(']') || !in.take('}') || !in.at_end()) return false;
  return finish_book(f, arg, action, out);
}

}  // namespace tickwire::connector::venues
