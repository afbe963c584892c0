// libFuzzer target: OkxParser::parse, every next() event and parse_snapshot
// over arbitrary bytes (the parser keeps merged funding state across
// inputs, as on a feed; an input starting with 'R' is the REST snapshot
// body after that byte, for parse_snapshot, and one starting with 'C' an
// instruments body, for parse_contract: a contract read is positive, has a
// currency and came from one valid JSON document). Nothing may crash or hang; every event is one of the
// kinds or an error with a reason, and a rejected frame hands out no further
// event; every decimal formats back to text that parses to the same value;
// book levels are never negative and a delta chains to a previous seqId;
// whatever is accepted was exactly one valid JSON document (checked by
// simdjson's DOM parser), or the text "pong". The checksum recipe runs over
// every accepted book. A trades, books or bbo-tbt frame the parser read
// straight from the bytes reads the same through its simdjson path.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../support/direct_read_compare.hpp"
#include "fuzz_support.hpp"
#include "tickwire/connector/venues/okx/parser.hpp"

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
  using tickwire::connector::venues::okx_checksum;
  check((msg.kind == MessageKind::kTrade) == (msg.event == EventKind::kTrade || msg.event == EventKind::kAggTrade));
  switch (msg.event) {
    case EventKind::kError:
      check(false);  // errors come only from parse()
      break;
    case EventKind::kTrade:
    case EventKind::kAggTrade:
      check(!msg.trade.symbol.empty());
      check(msg.trade.aggressor != tickwire::connector::Side::kUnknown);
      check(msg.trade.aggregate == (msg.event == EventKind::kAggTrade));
      check(!msg.trade.aggregate || (msg.trade.first_trade_id <= msg.trade.last_trade_id &&
                                     msg.trade.last_trade_id == msg.trade.trade_id));
      check_round_trip(msg.trade.price);
      check_round_trip(msg.trade.size);
      break;
    case EventKind::kQuote:
      check(!msg.quote.symbol.empty());
      for (auto d : {msg.quote.bid_price, msg.quote.bid_size, msg.quote.ask_price, msg.quote.ask_size}) {
        check_round_trip(d);
      }
      break;
    case EventKind::kBookDelta:
      check(!msg.delta.symbol.empty());
      check(msg.delta.has_prev);
      check(msg.delta.first_update_id <= msg.delta.last_update_id);
      check_levels(msg.delta.bids);
      check_levels(msg.delta.asks);
      (void)okx_checksum(msg.delta.bids, msg.delta.asks);
      break;
    case EventKind::kBookSnapshot:
      check_levels(msg.snapshot.bids);
      check_levels(msg.snapshot.asks);
      (void)okx_checksum(msg.snapshot.bids, msg.snapshot.asks);
      break;
    case EventKind::kFunding:
      check(!msg.funding.symbol.empty());
      for (auto d : {msg.funding.mark_price, msg.funding.funding_rate}) check_round_trip(d);
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
    case EventKind::kServerShutdown:
    case EventKind::kIgnored:
      break;
  }
}

// check_direct_read: a frame that parse() read straight from the bytes (its
// event's symbol points into the frame) comes out of the simdjson path
// (parse_generic) with the same events, every next() one included.
void check_direct_read(const char* frame, std::size_t size) {
  using tickwire::connector::venues::OkxParser;
  static const std::vector<std::string> symbols = {"BTC-USDT", "BTC-USDT-SWAP"};
  static OkxParser direct(symbols);
  static OkxParser generic(symbols);
  const auto a = tickwire::testing::run_parser(direct, frame, size, false);
  if (!a.direct) return;
  check(tickwire::testing::same_events(a, tickwire::testing::run_parser(generic, frame, size, true)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tickwire::connector::EventKind;
  using tickwire::connector::MessageKind;
  using tickwire::connector::venues::OkxParser;
  static const std::vector<std::string> symbols = {"BTC-USDT", "BTC-USDT-SWAP"};
  static OkxParser parser(symbols);
  static simdjson::dom::parser dom;
  std::vector<char> buffer(size + simdjson::SIMDJSON_PADDING, '\0');
  if (size != 0) std::memcpy(buffer.data(), data, size);
  if (size != 0 && data[0] == 'C') {
    const auto contract = parser.parse_contract(buffer.data() + 1, size - 1);
    if (!contract) {
      check(!parser.error().empty());
      return 0;
    }
    check(contract->value.mantissa > 0 && !contract->currency.empty());
    check_round_trip(contract->value);
    simdjson::dom::element root;
    check(dom.parse(buffer.data() + 1, size - 1, false).get(root) == simdjson::SUCCESS);
    return 0;
  }
  const bool snapshot = size != 0 && data[0] == 'R';
  const char* body = buffer.data() + (snapshot ? 1 : 0);
  const std::size_t n = size - (snapshot ? 1 : 0);
  if (!snapshot) check_direct_read(body, n);
  auto msg = snapshot ? parser.parse_snapshot(body, n) : parser.parse(body, n);
  check((msg.kind == MessageKind::kError) == (msg.event == EventKind::kError));
  if (msg.event == EventKind::kError) {
    check(!parser.error().empty());
    check(snapshot || !parser.next(msg));
    return 0;
  }
  if (std::string_view(body, n) != "pong") {
    simdjson::dom::element root;
    check(dom.parse(body, n, false).get(root) == simdjson::SUCCESS);
  }
  check_event(msg);
  if (snapshot) return 0;
  std::size_t events = 1;
  while (parser.next(msg)) {
    check_event(msg);
    check(++events <= size);  // each event needs bytes of its own
  }
  return 0;
}
