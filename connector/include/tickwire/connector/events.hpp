// Normalized events: what a feed adapter produces from one exchange message,
// before stamping and encoding. Plain values; string views point into the
// receive buffer (or the parser's string buffer) and live until the next
// message is parsed.
#pragma once

#include <cstdint>
#include <string_view>

#include "tickwire/middleware/decimal.hpp"

namespace tickwire::connector {

using middleware::Decimal;

enum class Side : std::uint8_t { kUnknown, kBuy, kSell };

struct TradeEvent {
  std::string_view symbol;  // as the exchange spells it, e.g. "BTCUSDT"
  std::uint64_t trade_id = 0;
  Decimal price;
  Decimal size;
  Side aggressor = Side::kUnknown;
  std::uint64_t event_ns = 0;  // exchange event time, Unix-epoch ns
  std::uint64_t trade_ns = 0;  // exchange trade time, Unix-epoch ns
};

}  // namespace tickwire::connector
