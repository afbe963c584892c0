// BybitParser: Bybit v5 public websocket messages (spot or linear) into
// normalized events, with simdjson on-demand straight from the receive buffer.
// Topics: publicTrade (up to 1024 trades a frame, handed out by next()),
// orderbook.{1,50,200,1000} snapshots and deltas, tickers (linear: a snapshot
// then deltas in which a missing field is unchanged, merged per configured
// symbol and published whole as quote, funding and open interest), and
// allLiquidation; replies (subscribe acks, both pong shapes, error acks).
// Bybit's key order differs between spot and linear, so every field is
// looked up by name. One per feed thread; no allocation after warm-up.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/connector/venue.hpp"

namespace tickwire::connector::venues {

// BybitCategory: which v5 public endpoint the frames come from.
enum class BybitCategory : std::uint8_t { kSpot, kLinear };

namespace direct {
class Cursor;  // venues/direct_cursor.hpp
}  // namespace direct

class BybitParser final : public VenueParser {
 public:
  // kInitialTrades / kInitialLevels: reserved at construction (a publicTrade
  // frame holds at most 1024 trades; orderbook.1000 at most 1000 levels a side).
  static constexpr std::size_t kInitialTrades = 1024;
  static constexpr std::size_t kInitialLevels = 1024;
  static constexpr std::size_t kInitialCapacity = 256 * 1024;

  // BybitParser: `symbols` are the feed's configured symbols: only they get
  // merged ticker state (a ticker for any other symbol is passed on as it
  // stands, for the pipeline to reject as unsubscribed).
  explicit BybitParser(BybitCategory category, std::span<const std::string> symbols = {});

  // parse: one websocket message (SIMDJSON_PADDING readable bytes after it).
  // Orderbook and publicTrade frames in Bybit's compact shape take a direct
  // read of the bytes (direct_read.cpp); every other frame, and any such
  // frame that is not exactly that shape, the simdjson path (parse_generic).
  ParsedMessage parse(const char* data, std::size_t size) override;
  // parse_generic: parse() through the simdjson path alone, which decides
  // every frame the direct read does not take (tests compare the two).
  ParsedMessage parse_generic(const char* data, std::size_t size);
  // next: the frame's further trades, liquidations or ticker events.
  bool next(ParsedMessage& out) override;
  // parse_snapshot: the body of GET /v5/market/full_orderbook (the REST
  // bootstrap of orderbook.full): {"retCode":0,"result":{"s","b","a","u","seq",..}}.
  ParsedMessage parse_snapshot(const char* data, std::size_t size) override;
  std::string_view error() const override { return error_; }

 private:
  // TickerState: the merged linear ticker of one symbol.
  struct TickerState {
    std::string symbol;
    bool snapshot = false;  // a snapshot has arrived: deltas may be merged
    Decimal bid_price, bid_size, ask_price, ask_size;
    Decimal mark_price, index_price, funding_rate, open_interest;
    std::uint64_t next_funding_ms = 0;
    // Which of the fields above have a value (a field missing from the
    // snapshot stays unknown until a delta sets it).
    std::uint16_t known = 0;
  };

  // Frame: what a frame's root object holds, gathered in the one pass over it (parser.cpp).
  struct Frame;
  // BookFields: a book's symbol and ids; its levels are in bids_ and asks_.
  struct BookFields {
    std::string_view symbol;
    std::uint64_t u = 0;
    std::uint64_t seq = 0;
  };

  // clear_frame: forgets the last frame's events and error.
  void clear_frame();
  bool fail(std::string_view what);
  bool fail_at(std::string_view field, std::size_t index, std::string_view problem);
  // parse_message / parse_rest_book: one pass over the document, which they
  // validate as they read it; on false the caller names invalid JSON.
  bool parse_message(const char* data, std::size_t size, ParsedMessage& out);
  // parse_direct: an orderbook or publicTrade frame in Bybit's compact shape,
  // read from the bytes (direct_read.cpp); false for anything else, which
  // parse() then hands to the simdjson path.
  bool parse_direct(const char* data, std::size_t size, ParsedMessage& out);
  // read_trades_direct: publicTrade's data array, each trade through add_parsed_trade.
  bool read_trades_direct(direct::Cursor& in);
  // add_parsed_trade: a trade whose price and size are read, checked and
  // appended to trades_ as the simdjson path does (both paths call it).
  bool add_parsed_trade(TradeEvent trade, std::string_view side, std::string_view id, std::uint64_t trade_ms,
                        std::size_t index);
  // book_depth_ok: the depths of "orderbook.<depth>.<SYMBOL>" (1, 50, 200, 1000, full).
  static bool book_depth_ok(std::string_view depth);
  bool parse_rest_book(const char* data, std::size_t size, ParsedMessage& out);
  bool read_root_field(std::string_view key, simdjson::ondemand::value value, Frame& frame);
  // read_data: the frame's "data", read as its topic's channel says.
  bool read_data(simdjson::ondemand::value data, Frame& frame);
  bool finish_frame(const Frame& frame, ParsedMessage& out);
  bool parse_reply(const Frame& frame, ParsedMessage& out);
  bool parse_trades(simdjson::ondemand::value data);
  // read_book: a book's fields, from the websocket's "data" or (rest) the
  // REST snapshot's "result", whose errors name "result.".
  bool read_book(simdjson::ondemand::value data, bool rest, BookFields& book);
  void emit_book(const BookFields& book, bool snapshot, std::uint64_t event_ns, ParsedMessage& out);
  // read_ticker: a ticker's fields into ticker_update_; apply_ticker merges
  // them once the whole frame is read.
  bool read_ticker(simdjson::ondemand::value data, std::string_view& symbol);
  bool apply_ticker(const Frame& frame, ParsedMessage& out);
  bool parse_liquidations(simdjson::ondemand::value data);
  bool parse_levels(simdjson::ondemand::value levels, std::vector<PriceLevel>& out, std::string_view field);
  TickerState* ticker_state(std::string_view symbol);
  // emit_pending: the first queued event into `out`; kIgnored if none.
  void emit_pending(ParsedMessage& out);

  BybitCategory category_;
  simdjson::ondemand::parser parser_;
  std::string_view error_;
  std::string error_text_;
  std::vector<PriceLevel> bids_;
  std::vector<PriceLevel> asks_;
  std::vector<TradeEvent> trades_;            // this frame's trades
  std::vector<LiquidationEvent> liquidations_;  // this frame's liquidations
  std::vector<ParsedMessage> pending_;        // this frame's ticker events
  std::size_t cursor_ = 0;                    // the next of trades_ / liquidations_ / pending_ to hand out
  std::string_view topic_symbol_;             // the symbol the frame's topic names
  std::vector<TickerState> tickers_;          // one per configured symbol, in configuration order
  TickerState ticker_update_;                 // the fields of the ticker frame being read
};

}  // namespace tickwire::connector::venues
