// BinanceParser: Binance websocket messages (combined-stream
// `{"stream":..,"data":{..}}` or raw) and the REST depth body into normalized
// events, with simdjson on-demand straight from the receive buffer (no copy),
// in one of two dialects: spot (/api/v3/depth, U/u diffs) and USD-M futures
// (/fapi/v1/depth, diffs chained by "pu", markPriceUpdate, forceOrder, the
// "X" of a futures trade). One per feed thread; book levels go into the
// parser's reusable vectors, so parsing does not allocate once they are
// sized. Every frame is validated whole: the direct read of the hot events
// (direct_read.cpp) takes only exact compact JSON, and the simdjson path
// checks the document before it reads its fields.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "tickwire/connector/venue.hpp"

namespace tickwire::connector::venues {

namespace direct {
class Cursor;  // venues/direct_cursor.hpp
}  // namespace direct

// TimeUnit: what one unit of a Binance E/T timestamp is.
enum class TimeUnit : std::uint8_t { kMilliseconds, kMicroseconds };

// BinanceDialect: which Binance market the frames come from.
enum class BinanceDialect : std::uint8_t { kSpot, kUsdm };

class BinanceParser final : public VenueParser {
 public:
  // kInitialLevels: levels reserved per side at construction, per vector.
  static constexpr std::size_t kInitialLevels = 1024;
  // kInitialCapacity: document size simdjson is sized for at construction,
  // so a message a little larger than those seen in warm-up does not
  // reallocate its buffers; a larger one (a REST snapshot) grows them once.
  static constexpr std::size_t kInitialCapacity = 64 * 1024;

  explicit BinanceParser(BinanceDialect dialect = BinanceDialect::kSpot);

  // set_time_unit: the unit of the exchange's E/T timestamps: milliseconds
  // (the default) or microseconds (a connection opened with
  // timeUnit=MICROSECOND).
  void set_time_unit(TimeUnit unit);

  // parse: one websocket message. `data` must be followed by at least
  // simdjson::SIMDJSON_PADDING readable bytes (their content does not
  // matter). Views in the result point into `data` or the parser and are
  // valid until the next parse call.
  // Trade, aggTrade, depthUpdate and bookTicker events in Binance's compact
  // shape take a direct read of the bytes (direct_read.cpp); every other
  // frame, and any such frame that is not exactly that shape, the simdjson
  // path.
  ParsedMessage parse(const char* data, std::size_t size) override;
  // parse_generic: parse() through the simdjson path alone, which decides
  // every frame the direct read does not take (tests compare the two).
  ParsedMessage parse_generic(const char* data, std::size_t size);

  // parse_depth_snapshot: the body of GET /api/v3/depth
  // ({"lastUpdateId":N,"bids":[[p,q]..],"asks":[..]}), into `snapshot`
  // (event kBookSnapshot) or kError. Same padding and lifetime rules as parse().
  ParsedMessage parse_depth_snapshot(const char* data, std::size_t size);
  ParsedMessage parse_snapshot(const char* data, std::size_t size) override { return parse_depth_snapshot(data, size); }

  // error: after kError, a description naming the field and the problem.
  std::string_view error() const override { return error_; }

 private:
  // The parse_* steps fill the one ParsedMessage that parse() returns (no
  // copies of the large result) and return false, with error_ set, on error.
  bool fail(std::string_view what);
  // to_ns: an exchange timestamp in nanoseconds; false if it does not fit.
  bool to_ns(std::uint64_t t, std::uint64_t& ns) const;
  bool parse_message(const char* data, std::size_t size, ParsedMessage& out);
  // parse_direct: a frame in Binance's compact shape read from the bytes
  // (direct_read.cpp); false for anything else, which the simdjson path
  // then reads. The read_*_direct steps read one event object.
  bool parse_direct(const char* data, std::size_t size, ParsedMessage& out);
  bool read_event_direct(direct::Cursor& in, bool book_ticker_stream, ParsedMessage& out);
  bool read_trade_direct(direct::Cursor& in, ParsedMessage& out, bool aggregate);
  bool read_depth_direct(direct::Cursor& in, ParsedMessage& out);
  // TickerStart: where read_book_ticker_direct starts: at the object (a
  // @bookTicker stream's data), after its '{' (a spot bookTicker, whose
  // first key must be "u"), or after {"e":"bookTicker" (futures).
  enum class TickerStart : std::uint8_t { kObject, kFirstKeyU, kAfterType };
  bool read_book_ticker_direct(direct::Cursor& in, ParsedMessage& out, TickerStart start);
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
  bool parse_mark_price(simdjson::ondemand::object& data, ParsedMessage& out);
  bool parse_force_order(simdjson::ondemand::object& data, ParsedMessage& out);
  bool parse_decimal_field(simdjson::ondemand::object& o, std::string_view key, Decimal& out,
                           std::string_view missing, std::string_view bad);
  // parse_levels: [[price, size], ...] into `out` (cleared first); on error
  // sets error_ (prefixed by `field`) and returns false.
  bool parse_levels(simdjson::ondemand::value levels, std::vector<PriceLevel>& out, std::string_view field);

  BinanceDialect dialect_;
  simdjson::ondemand::parser parser_;
  std::string_view error_;
  // The error text when it has to be composed (field + position); error_
  // points here or at a literal.
  std::string error_text_;
  std::uint64_t ns_per_unit_ = 1'000'000;  // nanoseconds per E/T timestamp unit
  std::vector<PriceLevel> bids_;
  std::vector<PriceLevel> asks_;
};

}  // namespace tickwire::connector::venues
