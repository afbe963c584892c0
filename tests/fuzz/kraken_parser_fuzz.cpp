// libFuzzer target: KrakenParser::parse and every next() event over arbitrary
// bytes, and the checksum of every book it accepts (the parser keeps the
// instrument channel's precisions across inputs, as on a feed; the seed
// corpus sets them for BTC/USD and MATIC/USD).
// Nothing may crash or hang; every event is one of the kinds or an error with
// a reason, and a rejected frame hands out no further event; every decimal
// formats back to text that parses to the same value; book levels are never
// negative and carry no update ids; whatever is accepted was exactly one
// valid JSON document (checked by simdjson's DOM parser); a book or trade
// frame the parser read straight from the bytes reads the same through its
// simdjson path.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../support/direct_read_compare.hpp"
#include "fuzz_support.hpp"
#include "tickwire/connector/venues/kraken/parser.hpp"

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

void check_event(const tickwire::connector::ParsedMessage& msg,
                 const tickwire::connector::venues::KrakenParser& parser) {
  using tickwire::connector::EventKind;
  using tickwire::connector::MessageKind;
  check((msg.kind == MessageKind::kTrade) == (msg.event == EventKind::kTrade));
  switch (msg.event) {
    case EventKind::kError:
    case EventKind::kAggTrade:
    case EventKind::kServerShutdown:
    case EventKind::kFunding:
    case EventKind::kLiquidation:
    case EventKind::kOpenInterest:
      check(false);  // errors come only from parse(); Kraken spot has none of the others
      break;
    case EventKind::kTrade:
      check(!msg.trade.symbol.empty());
      check(msg.trade.aggressor != tickwire::connector::Side::kUnknown);
      check_round_trip(msg.trade.price);
      check_round_trip(msg.trade.size);
      break;
    case EventKind::kQuote:
      check(!msg.quote.symbol.empty());
      check(msg.quote.update_id != 0);
      for (auto d : {msg.quote.bid_price, msg.quote.bid_size, msg.quote.ask_price, msg.quote.ask_size}) {
        check_round_trip(d);
      }
      break;
    case EventKind::kBookDelta:
      check(!msg.delta.symbol.empty());
      check(msg.delta.has_checksum && msg.delta.first_update_id == 0 && msg.delta.last_update_id == 0);
      check_levels(msg.delta.bids);
      check_levels(msg.delta.asks);
      (void)parser.checksum(msg.delta.symbol, msg.delta.bids, msg.delta.asks);
      break;
    case EventKind::kBookSnapshot:
      check(!msg.snapshot.symbol.empty());
      check(msg.snapshot.has_checksum && msg.snapshot.last_update_id == 0);
      check_levels(msg.snapshot.bids);
      check_levels(msg.snapshot.asks);
      (void)parser.checksum(msg.snapshot.symbol, msg.snapshot.bids, msg.snapshot.asks);
      break;
    case EventKind::kControlReply:
    case EventKind::kErrorReply:
    case EventKind::kIgnored:
      break;
  }
}

// check_direct_read: a frame that parse() read straight from the bytes (its
// event's symbol points into the frame) comes out of the simdjson path
// (parse_generic) with the same events, every next() one included. Book and
// trade frames need no precisions, so these parsers have none.
void check_direct_read(const char* frame, std::size_t size) {
  using tickwire::connector::venues::KrakenParser;
  static KrakenParser direct;
  static KrakenParser generic;
  const auto a = tickwire::testing::run_parser(direct, frame, size, false);
  if (!a.direct) return;
  check(tickwire::testing::same_events(a, tickwire::testing::run_parser(generic, frame, size, true)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tickwire::connector::EventKind;
  using tickwire::connector::MessageKind;
  using tickwire::connector::venues::KrakenParser;
  static const std::vector<std::string> symbols = {"BTC/USD", "MATIC/USD"};
  static KrakenParser parser(symbols);
  static simdjson::dom::parser dom;
  std::vector<char> buffer(size + simdjson::SIMDJSON_PADDING, '\0');
  if (size != 0) std::memcpy(buffer.data(), data, size);
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
  check_event(msg, parser);
  std::size_t events = 1;
  while (parser.next(msg)) {
    check_event(msg, parser);
    check(++events <= size);  // each event needs bytes of its own
  }
  return 0;
}
