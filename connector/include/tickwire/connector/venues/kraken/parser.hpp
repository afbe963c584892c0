// KrakenParser: Kraken spot websocket v2 messages into normalized events,
// with simdjson on-demand straight from the receive buffer. Channels: `book`
// (snapshot and updates with their CRC-32 checksum), `trade` (a frame holds
// several, handed out by next()), `ticker` (the best bid and offer, as a
// quote), `instrument` (reference data: the price and quantity precision of
// each configured pair, kept here because the book checksum needs them),
// `heartbeat` and `status`; replies (subscribe/unsubscribe acks and errors,
// pongs, and bare errors such as {"error":"Exceeded msg rate"}). v2 sends
// prices and quantities as JSON numbers: they are read from the number's
// text into exact decimals, never through a double. Book and trade frames in
// Kraken's compact shape are read straight from the bytes first
// (direct_read.cpp), the simdjson path taking the rest. One per feed thread; no
// allocation after warm-up (the instrument snapshot of every pair included).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/connector/book/checksum_sync.hpp"
#include "tickwire/connector/venues/kraken/checksum.hpp"
#include "tickwire/connector/venue.hpp"

namespace tickwire::connector::venues {

namespace direct {
class Cursor;  // venues/direct_cursor.hpp
}  // namespace direct

// KrakenPrecision: a pair's precisions as the instrument channel last gave
// them (-1: not yet known).
struct KrakenPrecision {
  int price = -1;
  int qty = -1;
  bool known() const { return price >= 0 && qty >= 0; }
};

class KrakenParser final : public VenueParser, public book::BookChecksum {
 public:
  static constexpr std::size_t kInitialLevels = 1024;
  static constexpr std::size_t kInitialEvents = 64;
  static constexpr std::size_t kInitialCapacity = 1024 * 1024;  // the instrument snapshot of every pair
  // kMaxPrecision: precisions above this are refused (Kraken's are 0..10).
  static constexpr int kMaxPrecision = 18;

  // KrakenParser: `symbols` are the feed's configured pairs ("BTC/USD"):
  // only their precisions are kept.
  explicit KrakenParser(std::span<const std::string> symbols = {});

  // Book and trade frames in Kraken's compact shape take a direct read of
  // the bytes (direct_read.cpp); every other frame, and any such frame that
  // is not exactly that shape, the simdjson path.
  ParsedMessage parse(const char* data, std::size_t size) override;
  // parse_generic: parse() through the simdjson path alone, which decides
  // every frame the direct read does not take (tests compare the two).
  ParsedMessage parse_generic(const char* data, std::size_t size);
  // next: the frame's further trades, tickers or books.
  bool next(ParsedMessage& out) override;
  // parse_snapshot: Kraken's books are in the stream; there is no REST body.
  ParsedMessage parse_snapshot(const char* data, std::size_t size) override;
  std::string_view error() const override { return error_; }
  const book::BookChecksum* book_checksum() const override { return this; }

  // checksum: Kraken's CRC-32 over the top 10 levels of `symbol`'s book, or
  // nullopt while its precisions have not come from the instrument channel
  // (or `symbol` is not configured). Each pair's checksummer formats only
  // the levels that changed since its last call.
  std::optional<std::uint32_t> checksum(std::string_view symbol, std::span<const PriceLevel> bids,
                                        std::span<const PriceLevel> asks) const override;
  // precision: what the instrument channel said of `symbol` (tests, tools).
  KrakenPrecision precision(std::string_view symbol) const;

 private:
  struct Pair {
    std::string symbol;
    KrakenPrecision precision;
    // The book's checksum, reusing the text of the levels it saw last time;
    // the feed thread's alone, like the parser (checksum() is const to the sync).
    mutable kraken::BookChecksummer checksummer;
  };
  // LevelRange: one book entry's levels in bids_ / asks_ (offsets: the
  // vectors may grow while a frame is read).
  struct LevelRange {
    std::size_t bids_begin, bids_end, asks_begin, asks_end;
  };

  // clear_frame: forgets the last frame's events, levels and error.
  void clear_frame();
  // parse_direct: a book or trade frame in Kraken's compact shape, read from
  // the bytes (direct_read.cpp); false for anything else, which the simdjson
  // path then reads.
  bool parse_direct(const char* data, std::size_t size, ParsedMessage& out);
  // read_books_direct / read_trades_direct: the frame's first event into
  // `out`, the others queued for next() (no copy of the first, as
  // emit_first() makes).
  bool read_books_direct(direct::Cursor& in, bool snapshot, ParsedMessage& out);
  bool read_trades_direct(direct::Cursor& in, ParsedMessage& out);
  // add_trade: the checks both paths make of one trade once its fields are
  // read (symbol, side), then the trade queued; false (error_ set) if refused.
  bool add_trade(TradeEvent& trade, std::string_view side, std::size_t index);
  // add_book: one book entry whose levels are `range` of bids_ / asks_, into
  // `m` (the frame's first event, or one queued), its spans set later by
  // set_book_levels.
  void add_book(ParsedMessage& m, std::string_view symbol, bool snapshot, std::uint32_t checksum,
                std::uint64_t event_ns, const LevelRange& range);
  // set_book_levels: a book event's spans into bids_ / asks_, once the frame is read.
  void set_book_levels(ParsedMessage& m) const;
  bool fail(std::string_view what);
  bool fail_at(std::string_view field, std::size_t index, std::string_view problem);
  bool parse_message(const char* data, std::size_t size, ParsedMessage& out);
  bool parse_reply(simdjson::ondemand::object& root, ParsedMessage& out);
  bool parse_trades(simdjson::ondemand::array& data, ParsedMessage& out);
  bool parse_tickers(simdjson::ondemand::array& data, ParsedMessage& out);
  bool parse_books(simdjson::ondemand::array& data, bool snapshot, ParsedMessage& out);
  bool parse_instrument(simdjson::ondemand::object& data, ParsedMessage& out);
  bool parse_levels(simdjson::ondemand::value levels, std::vector<PriceLevel>& out, std::string_view field,
                    std::size_t entry);
  Pair* pair(std::string_view symbol);
  // emit_first: the first queued event into `out` (the rest go to next()).
  bool emit_first(ParsedMessage& out);

  simdjson::ondemand::parser parser_;
  std::string_view error_;
  std::string error_text_;
  std::vector<PriceLevel> bids_;
  std::vector<PriceLevel> asks_;
  std::vector<LevelRange> ranges_;      // per queued book event
  std::vector<ParsedMessage> pending_;  // this frame's events
  std::size_t cursor_ = 0;              // the next of pending_ to hand out
  std::vector<Pair> pairs_;             // one per configured symbol
  std::uint64_t tickers_ = 0;           // tickers parsed: the update id of one without a timestamp
};

}  // namespace tickwire::connector::venues
