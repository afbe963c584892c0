// BinanceParser: Binance spot websocket messages (combined-stream
// `{"stream":..,"data":{..}}` or raw) into normalized events, with simdjson
// on-demand straight from the receive buffer (no copy). One per feed thread;
// parse() reuses the parser's internal buffers and does not allocate once
// they are sized.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string_view>

#include "tickwire/connector/events.hpp"

namespace tickwire::connector::feeds {

// What a message turned out to be.
enum class MessageKind : std::uint8_t {
  kTrade,    // `out.trade` is filled
  kControl,  // a reply to a request ({"result":..,"id":..}); nothing to publish
  kIgnored,  // a well-formed event of a kind this parser does not handle
  kError,    // malformed; error() says what and where
};

struct ParsedMessage {
  MessageKind kind = MessageKind::kError;
  TradeEvent trade;
};

class BinanceParser {
 public:
  // parse: `data` must be followed by at least simdjson::SIMDJSON_PADDING
  // readable bytes (their content does not matter). Views in the result point
  // into `data` or the parser and are valid until the next parse().
  ParsedMessage parse(const char* data, std::size_t size);

  // error: after kError, a description naming the field and the problem.
  std::string_view error() const { return error_; }

 private:
  ParsedMessage fail(std::string_view what);
  ParsedMessage parse_trade(simdjson::ondemand::object& data);

  simdjson::ondemand::parser parser_;
  std::string_view error_;
};

}  // namespace tickwire::connector::feeds
