// What Binance spot and USD-M futures share: stream names ("<symbol lower
// case>@<channel>"), the combined-stream URL, the JSON control protocol
// (SUBSCRIBE / UNSUBSCRIBE with an id, {"result":null,"id":N} replies,
// websocket protocol pings) and the split of a symbol into base and quote.
#pragma once

#include <simdjson.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tickwire/connector/control_protocol.hpp"

namespace tickwire::connector::venues::binance {

// BinanceControl: SUBSCRIBE/UNSUBSCRIBE requests and their replies. While
// replies are pending, frames that start with {"result", {"id", {"error" or
// {"code" are replies (a prefix test, then one simdjson parse): Binance's
// market data starts with {"e", {"stream", {"u" or {"lastUpdateId".
class BinanceControl final : public ControlProtocol {
 public:
  std::string subscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  std::string unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  ReplyVerdict classify(const char* data, std::size_t size) override;

 private:
  simdjson::ondemand::parser parser_;
};

// split_symbol: "BTCUSDT" -> {"BTC", "USDT"} by the longest known quote
// asset that leaves a non-empty base; an error names the symbol otherwise.
absl::StatusOr<std::pair<std::string_view, std::string_view>> split_symbol(std::string_view symbol);

}  // namespace tickwire::connector::venues::binance
