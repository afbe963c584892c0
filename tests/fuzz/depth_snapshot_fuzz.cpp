// libFuzzer target: BinanceParser::parse_depth_snapshot (the REST
// /api/v3/depth body) over arbitrary bytes: a snapshot or an error with a
// reason, never a crash or a hang; levels are never negative and their
// decimals format back to the same value.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "tickwire/connector/venues/binance/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tickwire::fuzz::check;
  static tickwire::connector::venues::BinanceParser parser;
  std::vector<char> buffer(size + simdjson::SIMDJSON_PADDING, '\0');
  if (size != 0) std::memcpy(buffer.data(), data, size);
  const auto msg = parser.parse_depth_snapshot(buffer.data(), size);
  using tickwire::connector::EventKind;
  check(msg.event == EventKind::kBookSnapshot || msg.event == EventKind::kError);
  if (msg.event == EventKind::kError) {
    check(!parser.error().empty());
    return 0;
  }
  for (auto side : {msg.snapshot.bids, msg.snapshot.asks}) {
    for (const auto& l : side) {
      check(l.size.mantissa >= 0);
      tickwire::middleware::Decimal back;
      check(tickwire::middleware::parse_decimal(tickwire::middleware::to_string(l.price), back) ==
                tickwire::middleware::DecimalError::kOk &&
            back == l.price);
    }
  }
  return 0;
}
