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

class CoinbaseParser final : public VenueParser {
 public:
  // kInitialLevels: reserved per side; a BTC-USD snapshot holds tens of
  // thousands of levels and grows the storage once, on the first snapshot.
  static constexpr std::size_t kInitialLevels = 4096;
  static constexpr std::size_t kInitialTrades = 256;
  static constexpr std::size_t kInitialCapacity = 1024 * 1024;

  CoinbaseParser();

  // parse: one websocket message (SIMDJSON_PADDING readable bytes after it).
  ParsedMessage parse(const char* data, std::size_t size) override;
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
