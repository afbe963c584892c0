// OkxParser: OKX v5 public websocket messages into normalized events, with
// simdjson on-demand straight from the receive buffer. Channels: trades
// (fills of one taker order at one price, as aggregates) and trades-all
// (single fills), books (a snapshot, then updates chained by seqId /
// prevSeqId), books5 (a top-5 image per message), bbo-tbt and tickers (as
// quotes), and for swaps and futures funding-rate and mark-price (merged per
// configured symbol into whole funding records), open-interest and
// liquidation-orders (an instType-wide channel: entries for instruments the
// feed does not configure are skipped); replies ({"event":..}: acks, errors,
// notices) and the text `pong`. Fields are looked up by name. One per feed
// thread; no allocation after warm-up.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/connector/venue.hpp"

namespace tickwire::connector::venues {

// okx_checksum: OKX's book checksum (the legacy CRC32 recipe): the top
// `levels` bids and asks interleaved (bid 1, ask 1, bid 2, ask 2, ...; when
// one side runs out the other's remaining levels follow), each as the
// exchange's own text "px:sz", joined by ':', CRC32 (IEEE) read as a signed
// int32. The decimals give back the exchange's text (they keep every digit).
std::int32_t okx_checksum(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks,
                          std::size_t levels = 25);
// crc32_ieee: the CRC32 of `text` (reflected polynomial 0xEDB88320, as zlib's crc32).
std::uint32_t crc32_ieee(std::string_view text);

class OkxParser final : public VenueParser {
 public:
  static constexpr std::size_t kInitialLevels = 512;  // books: 400 levels a side in a snapshot
  static constexpr std::size_t kInitialCapacity = 256 * 1024;

  // OkxParser: `symbols` are the feed's configured instIds: they get merged
  // funding state, and liquidation-orders entries of other instruments are
  // skipped (the channel carries every instrument of the instType).
  // `funding_rate`: the feed subscribes funding-rate, so a swap's mark price
  // waits for a rate; a dated future (no funding) and a swap without the
  // channel publish each mark price alone (rate 0, next funding time 0).
  explicit OkxParser(std::span<const std::string> symbols = {}, bool funding_rate = true);

  // trades, trades-all, books, books5 and bbo-tbt frames in OKX's compact
  // shape take a direct read of the bytes (direct_read.cpp); every other
  // frame, and any such frame that is not exactly that shape, the simdjson
  // path (parse_generic).
  ParsedMessage parse(const char* data, std::size_t size) override;
  // parse_generic: parse() through the simdjson path alone, which decides
  // every frame the direct read does not take (tests compare the two).
  ParsedMessage parse_generic(const char* data, std::size_t size);
  bool next(ParsedMessage& out) override;
  // parse_snapshot: the REST body of GET /api/v5/market/books
  // ({"code":"0","msg":"","data":[{"asks","bids","ts","seqId"?}]}); the
  // caller sets the symbol.
  ParsedMessage parse_snapshot(const char* data, std::size_t size) override;
  // parse_contract: the body of GET /api/v5/public/instruments?instType=..&instId=..:
  // one contract is ctVal x ctMult units of ctValCcy.
  std::optional<ContractSpec> parse_contract(const char* data, std::size_t size) override;
  std::string_view error() const override { return error_; }

 private:
  // FundingState: one configured symbol's merged mark-price and funding-rate.
  struct FundingState {
    std::string symbol;
    bool has_mark = false, has_rate = false;
    bool rate_expected = true;  // a swap on a feed with funding-rate: mark prices wait for a rate
    Decimal mark_price, funding_rate;
    std::uint64_t next_funding_ms = 0;
  };
  // Arg: the message's "arg" object.
  struct Arg {
    std::string_view channel, inst_id, inst_type;
  };
  // TradeFields: one trade object's fields as sent (strings).
  struct TradeFields {
    std::string_view symbol, id, price, size, side, ts, count;
  };
  // BookFields: a book object's fields other than its levels (in bids_, asks_).
  struct BookFields {
    std::string_view symbol, ts;
    std::int64_t seq = -2, prev = -2, checksum = 0;  // -2: missing
    bool have_b = false, have_a = false;
  };

  // clear_frame: forgets the last frame's events and error.
  void clear_frame();
  bool fail(std::string_view what);
  bool fail_at(std::string_view field, std::size_t index, std::string_view problem);
  bool parse_message(const char* data, std::size_t size, ParsedMessage& out);
  bool parse_arg(simdjson::ondemand::value value, Arg& arg);
  bool parse_event(std::string_view event, std::string_view id, std::string_view code, std::string_view msg,
                   ParsedMessage& out);
  bool parse_data(simdjson::ondemand::value data, const Arg& arg, std::string_view action, ParsedMessage& out);
  bool parse_trades(simdjson::ondemand::array list, const Arg& arg, bool aggregate, ParsedMessage& out);
  bool parse_book(simdjson::ondemand::array list, const Arg& arg, std::string_view action, ParsedMessage& out);
  // add_trade / finish_trades / finish_book: what a trade or book means once
  // its fields are read, by the simdjson path or the direct read alike.
  bool add_trade(const TradeFields& fields, const Arg& arg, bool aggregate, std::size_t index);
  bool finish_trades(const Arg& arg, bool aggregate, ParsedMessage& out);
  bool finish_book(const BookFields& fields, const Arg& arg, std::string_view action, ParsedMessage& out);
  // parse_direct: a trades, books or bbo-tbt frame in OKX's compact shape,
  // read from the bytes (direct_read.cpp); false for anything else, which
  // parse() then hands to the simdjson path with a fresh `out`.
  bool parse_direct(const char* data, std::size_t size, ParsedMessage& out);
  bool parse_ticker(simdjson::ondemand::array list, const Arg& arg, ParsedMessage& out);
  bool parse_funding(simdjson::ondemand::array list, const Arg& arg, bool mark, ParsedMessage& out);
  bool parse_open_interest(simdjson::ondemand::array list, const Arg& arg, ParsedMessage& out);
  bool parse_liquidations(simdjson::ondemand::array list, ParsedMessage& out);
  bool parse_levels(simdjson::ondemand::value levels, std::vector<PriceLevel>& out, std::string_view field);
  bool configured(std::string_view symbol) const;
  FundingState* funding_state(std::string_view symbol);

  simdjson::ondemand::parser parser_;
  std::string_view error_;
  std::string error_text_;
  std::vector<PriceLevel> bids_;
  std::vector<PriceLevel> asks_;
  std::vector<TradeEvent> trades_;              // this frame's trades
  std::vector<LiquidationEvent> liquidations_;  // this frame's liquidations
  std::vector<ParsedMessage> pending_;          // this frame's further funding / open-interest events
  std::size_t cursor_ = 0;                      // the next of trades_ / liquidations_ / pending_ to hand out
  std::vector<std::string> symbols_;            // configured instIds
  std::vector<FundingState> funding_;           // one per configured symbol
};

}  // namespace tickwire::connector::venues
