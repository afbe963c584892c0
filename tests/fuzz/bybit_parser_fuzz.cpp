// libFuzzer target: BybitParser::parse and every next() event over arbitrary
// bytes, in the spot or the linear category (the first byte's low bit
// picks: '{' is odd, so a document that starts with whitespace reaches the
// spot parser; the linear parser keeps merged ticker state across inputs, as
// on a feed); an input starting with 'R' is a REST full_orderbook body after
// that byte, for parse_snapshot.
// Nothing may crash or hang; every event is one of the kinds or an error with
// a reason, and a rejected frame hands out no further event; every decimal
// formats back to text that parses to the same value; book levels are never
// negative and a delta covers one update id; whatever is accepted was exactly
// one valid JSON document (checked by simdjson's DOM parser); a book or
// trade frame the parser read straight from the bytes reads the same through
// its simdjson path.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../support/direct_read_compare.hpp"
#include "fuzz_support.hpp"
#include "tickwire/connector/venues/bybit/parser.hpp"

namespace {

using tickwire::fuzz::check;
using tickwire::middleware::Decimal;

void check_round_trip(Decimal d) {
  Decimal back;
  check(tickwire::middleware::parse_decimal(tickwire::middleware::to_string(d), back) ==
            tickwire::middleware::DecimalError::kOk &&
        back == d);
}

void check_levels(std::span<const tickwire::connector::PriceLevel> levels) {
  for (const auto& l : levels) {
    check(l.size.mantissa >= 0);
    check_round_trip(l.price);
    check_round_trip(l.size);
  }
}

void check_event(const tickwire::connector::ParsedMessage& msg) {
  using tickwire::connector::EventKind;
  using tickwire::connector::MessageKind;
  check((msg.kind == MessageKind::kTrade) == (msg.event == EventKind::kTrade));
  switch (msg.event) {
    case EventKind::kError:
    case EventKind::kAggTrade:
    case EventKind::kServerShutdown:
      check(false);  // errors come only from parse(); Bybit has no aggregates or shutdown notices
      break;
    case EventKind::kTrade:
      check(!msg.trade.symbol.empty());
      check(msg.trade.aggressor != tickwire::connector::Side::kUnknown);
      check_round_trip(msg.trade.price);
      check_round_trip(msg.trade.size);
      break;
    case EventKind::kQuote:
      for (auto d : {msg.quote.bid_price, msg.quote.bid_size, msg.quote.ask_price, msg.quote.ask_size}) {
        check_round_trip(d);
      }
      break;
    case EventKind::kBookDelta:
      check(!msg.delta.symbol.empty());
      check(msg.delta.first_update_id == msg.delta.last_update_id && msg.delta.last_update_id != 0);
      check(msg.delta.restart == (msg.delta.last_update_id == 1));
      check_levels(msg.delta.bids);
      check_levels(msg.delta.asks);
      break;
    case EventKind::kBookSnapshot:
      check(!msg.snapshot.symbol.empty());
      check(msg.snapshot.last_update_id != 0);
      check_levels(msg.snapshot.bids);
      check_levels(msg.snapshot.asks);
      break;
    case EventKind::kFunding:
      check(!msg.funding.symbol.empty());
      for (auto d : {msg.funding.mark_price, msg.funding.index_price, msg.funding.funding_rate}) check_round_trip(d);
      break;
    case EventKind::kLiquidation:
      check(!msg.liquidation.symbol.empty());
      check(msg.liquidation.side != tickwire::connector::Side::kUnknown);
      check_round_trip(msg.liquidation.price);
      check_round_trip(msg.liquidation.size);
      break;
    case EventKind::kOpenInterest:
      check(!msg.open_interest.symbol.empty());
      check_round_trip(msg.open_interest.open_interest);
      break;
    case EventKind::kControlReply:
    case EventKind::kErrorReply:
    case EventKind::kIgnored:
      break;
  }
}

// check_direct_read: a frame that parse() read straight from the bytes (its
// event's symbol points into the frame) comes out of the simdjson path
// (parse_generic) with the same events, every next() one included.
void check_direct_read(const char* frame, std::size_t size) {
  using tickwire::connector::venues::BybitCategory;
  using tickwire::connector::venues::BybitParser;
  static BybitParser direct(BybitCategory::kSpot);
  static BybitParser generic(BybitCategory::kSpot);
  const auto a = tickwire::testing::run_parser(direct, frame, size, false);
  if (!a.direct) return;
  check(tickwire::testing::same_events(a, tickwire::testing::run_parser(generic, frame, size, true)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tickwire::connector::EventKind;
  using tickwire::connector::MessageKind;
  using tickwire::connector::venues::BybitCategory;
  using tickwire::connector::venues::BybitParser;
  static const std::vector<std::string> symbols = {"BTCUSDT", "ETHUSDT"};
  static BybitParser spot(BybitCategory::kSpot, symbols);
  static BybitParser linear(BybitCategory::kLinear, symbols);
  static simdjson::dom::parser dom;
  BybitParser& parser = size != 0 && (data[0] & 1) != 0 ? linear : spot;
  std::vector<char> buffer(size + simdjson::SIMDJSON_PADDING, '\0');
  if (size != 0) std::memcpy(buffer.data(), data, size);
  if (size != 0 && data[0] == 'R') {
    auto snap = spot.parse_snapshot(buffer.data() + 1, size - 1);
    check((snap.kind == MessageKind::kError) == (snap.event == EventKind::kError));
    if (snap.event == EventKind::kError) {
      check(!spot.error().empty());
      return 0;
    }
    check(snap.event == EventKind::kBookSnapshot);
    simdjson::dom::element root;
    check(dom.parse(buffer.data() + 1, size - 1, false).get(root) == simdjson::SUCCESS);
    check_event(snap);
    return 0;
  }
  check_direct_read(buffer.data(), size);
  auto msg = parser.parse(buffer.data(), size);
  check((msg.kind == MessageKind::kError) == (msg.event == EventKind::kError));
  if (msg.event == EventKind::kError) {
    check(!parser.error().empty());
    check(!parser.next(msg));
    return 0;
  }
  simdjson::dom::element root;
  check(dom.parse(buffer.data(), size, false).get(root) == simdjson::SUCCESS);
  check_event(msg);
  std::size_t events = 1;
  while (parser.next(msg)) {
    check_event(msg);
    check(++events <= size);  // each event needs bytes of its own
  }
  return 0;
}
