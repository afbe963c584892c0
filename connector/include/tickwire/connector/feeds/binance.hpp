// BinanceParser: Binance spot websocket messages (combined-stream
// `{"stream":..,"data":{..}}` or raw) and the REST /api/v3/depth body into
// normalized events, with simdjson on-demand straight from the receive buffer
// (no copy). One per feed thread; book levels go into the parser's reusable
// vectors, so parsing does not allocate once they are sized.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "tickwire/connector/events.hpp"

namespace tickwire::connector::feeds {

// MessageKind: the coarse kind the first pipeline acts on. Every market event
// other than a plain trade is kIgnored here; `ParsedMessage::event` tells them
// apart.
enum class MessageKind : std::uint8_t {
  kTrade,    // `out.trade` is filled (a plain trade, not an aggregate)
  kControl,  // a reply to a request (result or error); nothing to publish
  kIgnored,  // any other well-formed message; see `event`
  kError,    // malformed; error() says what and where
};

// EventKind: exactly what the message was, and which member is filled.
enum class EventKind : std::uint8_t {
  kTrade,           // `trade` (trade)
  kAggTrade,        // `trade` with aggregate = true (aggTrade)
  kQuote,           // `quote` (bookTicker)
  kBookDelta,       // `delta` (depthUpdate, diff depth)
  kBookSnapshot,    // `snapshot` (parse_depth_snapshot only)
  kControlReply,    // `control` ({"result":..,"id":..})
  kErrorReply,      // `error_reply` ({"error":{"code","msg"},"id"})
  kServerShutdown,  // `shutdown` (serverShutdown)
  kIgnored,         // a well-formed event of a kind this parser does not handle (e.g. kline)
  kError,           // malformed; error() says what and where
};

// ParsedMessage: the kinds, and the member `event` names (the others keep
// their defaults, or partial values after an error).
struct ParsedMessage {
  MessageKind kind = MessageKind::kError;
  TradeEvent trade;
  EventKind event = EventKind::kError;
  QuoteEvent quote;
  BookDeltaEvent delta;
  BookSnapshotEvent snapshot;
  ControlReply control;
  ErrorReply error_reply;
  ServerShutdown shutdown;
};

// TimeUnit: what one unit of a Binance E/T timestamp is.
enum class TimeUnit : std::uint8_t { kMilliseconds, kMicroseconds };

class BinanceParser {
 public:
  // kInitialLevels: levels reserved per side at construction, per vector.
  static constexpr std::size_t kInitialLevels = 1024;
  // kInitialCapacity: document size simdjson is sized for at construction,
  // so a message a little larger than those seen in warm-up does not
  // reallocate its buffers; a larger one (a REST snapshot) grows them once.
  static constexpr std::size_t kInitialCapacity = 64 * 1024;

  BinanceParser();

  // set_time_unit: the unit of the exchange's E/T timestamps: milliseconds
  // (the default) or microseconds (a connection opened with
  // timeUnit=MICROSECOND).
  void set_time_unit(TimeUnit unit);

  // parse: one websocket message. `data` must be followed by at least
  // simdjson::SIMDJSON_PADDING readable bytes (their content does not
  // matter). Views in the result point into `data` or the parser and are
  // valid until the next parse call.
  ParsedMessage parse(const char* data, std::size_t size);

  // parse_depth_snapshot: the body of GET /api/v3/depth
  // ({"lastUpdateId":N,"bids":[[p,q]..],"asks":[..]}), into `snapshot`
  // (event kBookSnapshot) or kError. Same padding and lifetime rules as parse().
  ParsedMessage parse_depth_snapshot(const char* data, std::size_t size);

  // error: after kError, a description naming the field and the problem.
  std::string_view error() const { return error_; }

 private:
  // The parse_* steps fill the one ParsedMessage that parse() returns (no
  // copies of the large result) and return false, with error_ set, on error.
  bool fail(std::string_view what);
  // to_ns: an exchange timestamp in nanoseconds; false if it does not fit.
  bool to_ns(std::uint64_t t, std::uint64_t& ns) const;
  bool parse_message(const char* data, std::size_t size, ParsedMessage& out);
  bool parse_snapshot(const char* data, std::size_t size, ParsedMessage& out);
  bool parse_event(simdjson::ondemand::object& event, ParsedMessage& out);
  bool parse_reply(simdjson::ondemand::object& root, ParsedMessage& out);
  bool parse_trade(simdjson::ondemand::object& data, ParsedMessage& out);
  bool finish_trade(TradeEvent& t, std::uint64_t event_ms, std::uint64_t trade_ms, std::string_view price,
                    std::string_view size, bool buyer_is_maker);
  bool parse_agg_trade(simdjson::ondemand::object& data, ParsedMessage& out);
  bool parse_book_ticker(simdjson::ondemand::object& data, ParsedMessage& out);
  bool parse_depth_update(simdjson::ondemand::object& data, ParsedMessage& out);
  bool parse_server_shutdown(simdjson::ondemand::object& data, ParsedMessage& out);
  // parse_levels: [[price, size], ...] into `out` (cleared first); on error
  // sets error_ (prefixed by `field`) and returns false.
  bool parse_levels(simdjson::ondemand::value levels, std::vector<PriceLevel>& out, std::string_view field);

  simdjson::ondemand::parser parser_;
  std::string_view error_;
  // The error text when it has to be composed (field + position); error_
  // points here or at a literal.
  std::string error_text_;
  std::uint64_t ns_per_unit_ = 1'000'000;  // nanoseconds per E/T timestamp unit
  std::vector<PriceLevel> bids_;
  std::vector<PriceLevel> asks_;
};

}  // namespace tickwire::connector::feeds
