// CoinbaseParser: Coinbase Advanced Trade market-data websocket messages
// (wss://advanced-trade-ws.coinbase.com) into normalized events, with
// simdjson on-demand straight from the receive buffer. Every message is an
// envelope {"channel","client_id","timestamp","sequence_num","events":[..]}
// whose sequence_num is one counter per connection across all channels: it
// is handed to the pipeline (ParsedMessage::connection_sequence), which
// tells a jump. Channels: l2_data (level2 snapshots and updates, absolute
// quantities), market_trades (a snapshot of recent trades, then updates),
// ticker (a quote per product), heartbeats, subscriptions (the reply to every
// subscribe); {"type":"error","message"} refusals. Prices and sizes are
// strings, kept exact. A frame's several events are handed out by next().
// One per feed thread; no allocation after warm-up (a larger book snapshot
// grows the level storage once).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/connector/venue.hpp"

namespace tickwire::connector::venues {

// parse_rfc3339_ns: "2023-02-09T20:32:50.714964855Z" (0 to 9 fraction digits,
// "Z" or "+00:00") in Unix-epoch nanoseconds; false if it is not one.
bool parse_rfc3339_ns(std::string_view text, std::uint64_t& ns);

namespace direct {
class Cursor;  // venues/direct_cursor.hpp
}  // namespace direct

class CoinbaseParser final : public VenueParser {
 public:
  // kInitialLevels: reserved per side; a BTC-USD snapshot holds tens of
  // thousands of levels and grows the storage once, on the first snapshot.
  static constexpr std::size_t kInitialLevels = 4096;
  static constexpr std::size_t kInitialTrades = 256;
  static constexpr std::size_t kInitialCapacity = 1024 * 1024;

  CoinbaseParser();

  // parse: one websocket message (SIMDJSON_PADDING readable bytes after it).
  // market_trades and l2_data frames in Coinbase's compact shape take a
  // direct read of the bytes (direct_read.cpp); every other frame, and any
  // such frame that is not exactly that shape, the simdjson path
  // (parse_generic).
  ParsedMessage parse(const char* data, std::size_t size) override;
  // parse_generic: parse() through the simdjson path alone, which decides
  // every frame the direct read does not take (tests compare the two).
  ParsedMessage parse_generic(const char* data, std::size_t size);
  // next: the frame's further trades, quotes or book events.
  bool next(ParsedMessage& out) override;
  // parse_snapshot: Coinbase books are snapshotted in the stream; no REST body.
  ParsedMessage parse_snapshot(const char* data, std::size_t size) override;
  std::string_view error() const override { return error_; }

 private:
  // Book: one l2_data event; its levels are [begin, end) of bids_ / asks_.
  struct Book {
    bool snapshot = false;
    std::string_view symbol;
    std::size_t bid_begin = 0, bid_end = 0, ask_begin = 0, ask_end = 0;
  };
  enum class Pending : std::uint8_t { kNone, kTrades, kQuotes, kBooks };

  // clear_frame: forgets the last frame's events, error and sequence_num.
  void clear_frame();
  bool fail(std::string_view what);
  bool fail_at(std::string_view field, std::size_t index, std::string_view problem);
  // Frame: what a frame's root object holds, gathered in the one pass over it (parser.cpp).
  struct Frame;

  // parse_message: one pass over the document, which it validates as it
  // reads it; on false the caller names invalid JSON.
  bool parse_message(const char* data, std::size_t size, ParsedMessage& out);
  bool read_root_field(std::string_view key, simdjson::ondemand::value value, Frame& frame, ParsedMessage& out);
  bool finish_frame(simdjson::ondemand::document& doc, Frame& frame, ParsedMessage& out);
  // parse_events: the frame's "events", read as its channel says.
  bool parse_events(std::string_view channel, simdjson::ondemand::value value, ParsedMessage& out);
  bool parse_books(simdjson::ondemand::array events, ParsedMessage& out);
  bool parse_trades(simdjson::ondemand::array events, ParsedMessage& out);
  // parse_trade_list / parse_ticker_list: one event's trades or tickers,
  // appended to trades_ / quotes_.
  bool parse_trade_list(simdjson::ondemand::array list);
  bool parse_tickers(simdjson::ondemand::array events, ParsedMessage& out);
  bool parse_ticker_list(simdjson::ondemand::array list);
  bool parse_heartbeats(simdjson::ondemand::array events, ParsedMessage& out);
  bool parse_subscriptions(simdjson::ondemand::array events, ParsedMessage& out);
  // add_level / add_book / finish_books, add_trade / add_trade_event /
  // finish_trades: what a level, a book event, a trade or a trade event
  // means once its fields are read, by the simdjson path or the direct read.
  bool add_level(std::string_view side, std::string_view price, std::string_view quantity, std::size_t u);
  bool add_parsed_level(std::string_view side, const PriceLevel& level, std::size_t u);
  bool add_book(Book& book, std::string_view type, bool have_updates, std::size_t index);
  bool finish_books(ParsedMessage& out);
  bool add_trade(std::string_view symbol, std::string_view id, std::string_view price, std::string_view size,
                 std::string_view side, std::string_view time, std::size_t t);
  bool add_parsed_trade(std::string_view symbol, std::string_view id, Decimal price, Decimal size,
                        std::string_view side, std::string_view time, std::size_t t);
  bool add_trade_event(std::size_t first, bool have_type, std::string_view type, bool have_trades, std::size_t index);
  bool finish_trades(ParsedMessage& out);
  // parse_direct: a market_trades or l2_data frame in Coinbase's compact
  // shape, read from the bytes (direct_read.cpp); false for anything else,
  // which parse() then hands to the simdjson path.
  bool parse_direct(const char* data, std::size_t size, ParsedMessage& out);
  bool read_levels(direct::Cursor& in);
  bool read_trades(direct::Cursor& in);
  // book_event: books_[i] as the ParsedMessage the pipeline takes.
  void book_event(std::size_t i, ParsedMessage& out) const;

  simdjson::ondemand::parser parser_;
  std::string_view error_;
  std::string error_text_;
  std::uint64_t sequence_ = 0;   // this frame's sequence_num
  bool sequence_read_ = false;   // sequence_ was read from this frame (kept when the frame is rejected)
  std::uint64_t time_ns_ = 0;    // this frame's timestamp
  std::vector<PriceLevel> bids_;
  std::vector<PriceLevel> asks_;
  std::vector<Book> books_;
  std::vector<TradeEvent> trades_;
  std::vector<QuoteEvent> quotes_;
  Pending pending_ = Pending::kNone;
  std::size_t cursor_ = 0;  // the next of this frame's events to hand out
};

}  // namespace tickwire::connector::venues
