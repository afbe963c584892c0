// libFuzzer target: BinanceParser::parse over arbitrary bytes, in the spot
// or the USD-M dialect (the first byte picks). Nothing may crash or hang;
// every message is one of the event kinds or an error with a reason; every
// decimal formats back to text that parses to the same value; book levels are
// never negative and U <= u; and whatever is accepted was exactly one valid
// JSON document (checked by simdjson's DOM parser, which validates it all);
// a frame the parser read straight from the bytes reads the same through its
// simdjson path.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "../support/direct_read_compare.hpp"
#include "fuzz_support.hpp"
#include "tickwire/connector/venues/binance/parser.hpp"

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

}  // namespace

namespace {

// check_direct_read: a frame that parse() read straight from the bytes (its
// event's symbol points into the frame) comes out of the simdjson path
// (parse_generic) with the same event, in the dialect the input picked.
void check_direct_read(bool usdm_dialect, const char* frame, std::size_t size) {
  using tickwire::connector::venues::BinanceDialect;
  using tickwire::connector::venues::BinanceParser;
  static BinanceParser direct[2] = {BinanceParser(BinanceDialect::kSpot), BinanceParser(BinanceDialect::kUsdm)};
  static BinanceParser generic[2] = {BinanceParser(BinanceDialect::kSpot), BinanceParser(BinanceDialect::kUsdm)};
  const int i = usdm_dialect ? 1 : 0;
  const auto a = tickwire::testing::run_parser(direct[i], frame, size, false);
  if (!a.direct) return;
  check(tickwire::testing::same_events(a, tickwire::testing::run_parser(generic[i], frame, size, true)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tickwire::connector::venues::BinanceDialect;
  using tickwire::connector::venues::BinanceParser;
  static BinanceParser spot(BinanceDialect::kSpot);
  static BinanceParser usdm(BinanceDialect::kUsdm);
  static simdjson::dom::parser dom;
  BinanceParser& parser = size != 0 && (data[0] & 1) != 0 ? usdm : spot;
  std::vector<char> buffer(size + simdjson::SIMDJSON_PADDING, '\0');
  if (size != 0) std::memcpy(buffer.data(), data, size);
  check_direct_read(&parser == &usdm, buffer.data(), size);
  const auto msg = parser.parse(buffer.data(), size);
  using tickwire::connector::EventKind;
  using tickwire::connector::MessageKind;
  if (msg.event != EventKind::kError) {
    simdjson::dom::element root;
    check(dom.parse(buffer.data(), size, false).get(root) == simdjson::SUCCESS);
  }
  check((msg.kind == MessageKind::kError) == (msg.event == EventKind::kError));
  check((msg.kind == MessageKind::kTrade) == (msg.event == EventKind::kTrade));
  switch (msg.event) {
    case EventKind::kError:
      check(!parser.error().empty());
      break;
    case EventKind::kTrade:
    case EventKind::kAggTrade:
      check(msg.trade.aggregate == (msg.event == EventKind::kAggTrade));
      check(!msg.trade.symbol.empty());
      check(msg.trade.first_trade_id <= msg.trade.last_trade_id);
      check_round_trip(msg.trade.price);
      check_round_trip(msg.trade.size);
      break;
    case EventKind::kQuote:
      check(!msg.quote.symbol.empty());
      for (auto d : {msg.quote.bid_price, msg.quote.bid_size, msg.quote.ask_price, msg.quote.ask_size}) {
        check_round_trip(d);
      }
      check(msg.quote.bid_size.mantissa >= 0 && msg.quote.ask_size.mantissa >= 0);
      break;
    case EventKind::kBookDelta:
      check(!msg.delta.symbol.empty());
      check(msg.delta.first_update_id <= msg.delta.last_update_id);
      check_levels(msg.delta.bids);
      check_levels(msg.delta.asks);
      break;
    case EventKind::kBookSnapshot:
      check(false);  // only parse_depth_snapshot produces snapshots
      break;
    case EventKind::kFunding:
      check(!msg.funding.symbol.empty());
      for (auto d : {msg.funding.mark_price, msg.funding.index_price, msg.funding.settle_price,
                     msg.funding.funding_rate}) {
        check_round_trip(d);
      }
      break;
    case EventKind::kLiquidation:
      check(!msg.liquidation.symbol.empty());
      check(msg.liquidation.side != tickwire::connector::Side::kUnknown);
      for (auto d : {msg.liquidation.price, msg.liquidation.average_price, msg.liquidation.size,
                     msg.liquidation.filled_size}) {
        check_round_trip(d);
      }
      break;
    case EventKind::kOpenInterest:
      check(false);  // no Binance stream carries open interest
      break;
    case EventKind::kControlReply:
    case EventKind::kErrorReply:
    case EventKind::kServerShutdown:
    case EventKind::kIgnored:
      break;
  }
  return 0;
}
