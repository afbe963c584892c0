// libFuzzer target: BinanceParser over arbitrary bytes. Nothing may crash or
// hang; a message is a trade, a control reply, ignored, or an error with a
// reason, and a trade's decimals format back to text that parses again.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tickwire/connector/feeds/binance.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tickwire::connector::feeds::BinanceParser parser;
  std::vector<char> buffer(size + simdjson::SIMDJSON_PADDING, '\0');
  if (size != 0) std::memcpy(buffer.data(), data, size);
  const auto msg = parser.parse(buffer.data(), size);
  using tickwire::connector::feeds::MessageKind;
  if (msg.kind == MessageKind::kError && parser.error().empty()) std::abort();
  if (msg.kind == MessageKind::kTrade) {
    for (auto d : {msg.trade.price, msg.trade.size}) {
      tickwire::middleware::Decimal back;
      if (tickwire::middleware::parse_decimal(tickwire::middleware::to_string(d), back) !=
              tickwire::middleware::DecimalError::kOk ||
          !(back == d)) {
        std::abort();
      }
    }
  }
  return 0;
}
