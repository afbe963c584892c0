// The two paths of a parser with a direct read (every venue's): parse(), which
// tries the direct read of the compact shape first, and parse_generic(), the
// simdjson path alone. same_events() is what must hold for every frame the
// direct read takes; the gtest suites and the fuzz targets use it. Which path
// read a frame shows in where its event's symbol points: into the frame (the
// direct read) or into simdjson's string buffer.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/connector/venue.hpp"

namespace tickwire::testing {

// ParserRun: one parse and every next() event after it.
struct ParserRun {
  connector::ParsedMessage message;
  std::vector<connector::ParsedMessage> more;  // next() events
  std::string error;
  bool direct = false;  // its symbol points into the frame
};

// event_symbol: the symbol of a trade, quote or book event; empty otherwise.
inline std::string_view event_symbol(const connector::ParsedMessage& m) {
  using connector::EventKind;
  switch (m.event) {
    case EventKind::kTrade:
    case EventKind::kAggTrade: return m.trade.symbol;
    case EventKind::kQuote: return m.quote.symbol;
    case EventKind::kBookDelta: return m.delta.symbol;
    case EventKind::kBookSnapshot: return m.snapshot.symbol;
    default: return {};
  }
}

// run_parser: `generic` ? parse_generic : parse over frame[0, size) (padded
// by the caller), then next() until it has no more.
template <typename Parser>
ParserRun run_parser(Parser& parser, const char* frame, std::size_t size, bool generic) {
  ParserRun r;
  r.message = generic ? parser.parse_generic(frame, size) : parser.parse(frame, size);
  r.error = std::string(parser.error());
  const std::string_view symbol = event_symbol(r.message);
  r.direct = !symbol.empty() && symbol.data() >= frame && symbol.data() < frame + size;
  if (r.message.event != connector::EventKind::kError) {
    connector::ParsedMessage m = r.message;
    while (parser.next(m)) r.more.push_back(m);
  }
  return r;
}

inline bool same_levels(std::span<const connector::PriceLevel> a, std::span<const connector::PriceLevel> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

inline bool same_trade(const connector::TradeEvent& a, const connector::TradeEvent& b) {
  return a.symbol == b.symbol && a.trade_id == b.trade_id && a.price == b.price && a.size == b.size &&
         a.aggressor == b.aggressor && a.event_ns == b.event_ns && a.trade_ns == b.trade_ns &&
         a.aggregate == b.aggregate && a.first_trade_id == b.first_trade_id && a.last_trade_id == b.last_trade_id &&
         a.history == b.history && a.tag == b.tag && a.id_text == b.id_text;
}

// same_message: every field a trade, quote, book, reply or error fills.
inline bool same_message(const connector::ParsedMessage& a, const connector::ParsedMessage& b) {
  const auto& q = a.quote;
  const auto& r = b.quote;
  const auto& x = a.delta;
  const auto& y = b.delta;
  const auto& s = a.snapshot;
  const auto& t = b.snapshot;
  return a.kind == b.kind && a.event == b.event && a.stream_symbol == b.stream_symbol && same_trade(a.trade, b.trade) &&
         q.symbol == r.symbol && q.update_id == r.update_id && q.bid_price == r.bid_price &&
         q.bid_size == r.bid_size && q.ask_price == r.ask_price && q.ask_size == r.ask_size &&
         q.event_ns == r.event_ns && x.symbol == y.symbol && x.event_ns == y.event_ns &&
         x.first_update_id == y.first_update_id && x.last_update_id == y.last_update_id &&
         same_levels(x.bids, y.bids) && same_levels(x.asks, y.asks) && x.prev_update_id == y.prev_update_id &&
         x.has_prev == y.has_prev && x.restart == y.restart && x.cross_sequence == y.cross_sequence &&
         x.checksum == y.checksum && x.has_checksum == y.has_checksum && s.symbol == t.symbol &&
         s.last_update_id == t.last_update_id && same_levels(s.bids, t.bids) && same_levels(s.asks, t.asks) &&
         s.event_ns == t.event_ns && s.cross_sequence == t.cross_sequence && s.checksum == t.checksum &&
         s.has_checksum == t.has_checksum && s.image == t.image && a.control.has_id == b.control.has_id &&
         a.control.id == b.control.id && a.connection_sequence == b.connection_sequence &&
         a.has_connection_sequence == b.has_connection_sequence;
}

// same_events: the two runs gave the same events and the same error text.
inline bool same_events(const ParserRun& a, const ParserRun& b) {
  if (a.error != b.error || !same_message(a.message, b.message) || a.more.size() != b.more.size()) return false;
  for (std::size_t i = 0; i < a.more.size(); ++i) {
    if (!same_message(a.more[i], b.more[i])) return false;
  }
  return true;
}

// BothPaths: one frame through parse() of one parser and parse_generic() of
// another, each from its own padded copy.
template <typename Parser>
class BothPaths {
 public:
  template <typename... Args>
  explicit BothPaths(const Args&... args) : direct_(args...), generic_(args...) {}

  std::pair<ParserRun, ParserRun> parse(std::string_view text) {
    direct_buffer_.assign(text.size() + simdjson::SIMDJSON_PADDING, '\0');
    generic_buffer_.assign(text.size() + simdjson::SIMDJSON_PADDING, '\0');
    if (!text.empty()) {
      std::memcpy(direct_buffer_.data(), text.data(), text.size());
      std::memcpy(generic_buffer_.data(), text.data(), text.size());
    }
    return {run_parser(direct_, direct_buffer_.data(), text.size(), false),
            run_parser(generic_, generic_buffer_.data(), text.size(), true)};
  }

 private:
  Parser direct_;
  Parser generic_;
  std::vector<char> direct_buffer_, generic_buffer_;
};

}  // namespace tickwire::testing
