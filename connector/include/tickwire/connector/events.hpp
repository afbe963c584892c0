// Normalized events: what a feed adapter produces from one exchange message,
// before stamping and encoding. Plain values; string views and level spans
// point into the receive buffer or the parser's reusable storage and live
// until the next message is parsed (copy what must outlive that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tickwire/middleware/decimal.hpp"

namespace tickwire::connector {

// JournaledKind: what a journaled market event is, as `tickwire replay` names
// it (kJournaledKindNames); PipelineCounters counts each.
enum class JournaledKind : std::uint8_t {
  kTrade, kAggTrade, kQuote, kBookDelta, kBookSnapshot, kFunding, kLiquidation, kOpenInterest
};
inline constexpr std::size_t kJournaledKinds = 8;
inline constexpr std::string_view kJournaledKindNames[kJournaledKinds] = {
    "trade", "agg_trade", "quote", "book_delta", "book_snapshot", "funding", "liquidation", "open_interest"};

using middleware::Decimal;

enum class Side : std::uint8_t { kUnknown, kBuy, kSell };

// InstrumentKind: what a normalized instrument is (Envelope.instrumentKind,
// same numbering).
enum class InstrumentKind : std::uint8_t { kUnknown = 0, kSpot = 1, kPerpetual = 2, kFuture = 3 };

// ContractSpec: what one contract of a derivative is worth, `value` units of
// `currency` (Envelope.contract; OKX ctVal x ctMult in ctValCcy).
struct ContractSpec {
  Decimal value;
  std::string currency;
  friend bool operator==(const ContractSpec&, const ContractSpec&) = default;
};

// TradeEvent: one trade, or (aggregate = true) one Binance aggregate trade:
// the fills of one taker order at one price. An aggregate's trade_id is the
// aggregate id (Binance "a", its own id space), and first/last_trade_id are
// the range of plain trade ids it covers ("f", "l"). One type for both keeps
// a single encode path; the flag travels into the Envelope (Trade.aggregate).
struct TradeEvent {
  std::string_view symbol;  // as the exchange spells it, e.g. "BTCUSDT"
  std::uint64_t trade_id = 0;
  Decimal price;
  Decimal size;
  Side aggressor = Side::kUnknown;
  std::uint64_t event_ns = 0;  // exchange event time, Unix-epoch ns
  std::uint64_t trade_ns = 0;  // exchange trade time, Unix-epoch ns
  bool aggregate = false;          // an aggTrade: trade_id is the aggregate id
  std::uint64_t first_trade_id = 0;  // aggregate only: first trade id covered
  std::uint64_t last_trade_id = 0;   // aggregate only: last trade id covered
  // history: one of the venue's snapshot of recent trades sent on subscribe
  // (Coinbase market_trades "snapshot"): journaled only if newer than the
  // stream's last accepted trade, never when the stream has none yet.
  bool history = false;
  // tag: where trade_id is shared by several trades (Bybit's cross sequence
  // `seq`), a hash of the venue's own id of this trade (Bybit's `i`) that
  // tells a repeat from another trade at the same trade_id; 0 = none.
  std::uint64_t tag = 0;
  // id_text: the venue's own trade id as sent where trade_id is not it
  // (Bybit's `i`), journaled as Trade.tradeIdText; empty = trade_id is the
  // venue's id. Points into the frame's parse, like symbol.
  std::string_view id_text;
};

// trade_tag: the tag of a venue's own trade id text (64-bit FNV-1a, mixed so
// its low bits are as good as its high ones); never 0.
inline std::uint64_t trade_tag(std::string_view id) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

// PriceLevel: the absolute size resting at one price; size zero removes it.
struct PriceLevel {
  Decimal price;
  Decimal size;

  friend bool operator==(const PriceLevel&, const PriceLevel&) = default;
};

// QuoteEvent: best bid and offer (Binance bookTicker). Spot bookTicker has no
// event time, so event_ns is 0 there.
struct QuoteEvent {
  std::string_view symbol;
  std::uint64_t update_id = 0;  // the book update id it reflects (Binance "u")
  Decimal bid_price;
  Decimal bid_size;
  Decimal ask_price;
  Decimal ask_size;
  std::uint64_t event_ns = 0;  // exchange event time if the message has one, else 0
};

// BookDeltaEvent: an incremental update covering exchange update ids
// [first_update_id, last_update_id] (Binance "U".."u"); levels carry absolute
// sizes, in the exchange's order. Venues that chain each update to the one
// before (Binance USD-M "pu", OKX prevSeqId) set prev_update_id and has_prev.
struct BookDeltaEvent {
  std::string_view symbol;
  std::uint64_t event_ns = 0;
  std::uint64_t first_update_id = 0;
  std::uint64_t last_update_id = 0;
  std::span<const PriceLevel> bids;
  std::span<const PriceLevel> asks;
  std::uint64_t prev_update_id = 0;  // the previous update's last id ("pu"), when has_prev
  bool has_prev = false;
  // restart: the venue restarted its update ids (Bybit u = 1): the levels are
  // the whole book, which they replace (in-stream sequence policy only).
  bool restart = false;
  // cross_sequence: the venue's cross sequence (Bybit "seq"), comparable
  // between books of different depths; 0 when the venue has none.
  std::uint64_t cross_sequence = 0;
  // checksum: the venue's checksum of the top of the book after this update,
  // when has_checksum: OKX's signed CRC32 as its 32 bits (OKX sends 0: none),
  // Kraken's CRC-32 (in-stream checksum policy).
  std::uint32_t checksum = 0;
  bool has_checksum = false;
};

// BookSnapshotEvent: a full image valid at last_update_id (Binance REST
// /api/v3/depth, or an in-stream snapshot such as Bybit's). The REST body
// names no symbol: the caller sets it.
struct BookSnapshotEvent {
  std::string_view symbol;
  std::uint64_t last_update_id = 0;
  std::span<const PriceLevel> bids;  // best first
  std::span<const PriceLevel> asks;  // best first
  std::uint64_t event_ns = 0;        // exchange event time of an in-stream snapshot (0 for REST)
  std::uint64_t cross_sequence = 0;  // as BookDeltaEvent::cross_sequence
  std::uint32_t checksum = 0;        // as BookDeltaEvent::checksum, when has_checksum
  bool has_checksum = false;
  // image: every message of the channel is a whole top-of-book image (OKX
  // books5): replacing the book with it is routine, not a venue reset.
  bool image = false;
};

// FundingEvent: a perpetual's mark price and funding (Binance USD-M
// markPriceUpdate): mark and index prices, the estimated settle price, the
// current funding rate (may be negative) and when it is next applied.
struct FundingEvent {
  std::string_view symbol;
  std::uint64_t event_ns = 0;
  Decimal mark_price;
  Decimal index_price;
  Decimal settle_price;     // estimated settle price (zero when the venue has none)
  Decimal funding_rate;
  std::uint64_t next_funding_ns = 0;
};

// LiquidationEvent: a forced liquidation order (Binance USD-M forceOrder):
// the side of the liquidation order, its price, average fill price, original
// and filled quantities.
struct LiquidationEvent {
  std::string_view symbol;
  std::uint64_t event_ns = 0;
  std::uint64_t trade_ns = 0;
  Side side = Side::kUnknown;
  Decimal price;
  Decimal average_price;
  Decimal size;            // original quantity
  Decimal filled_size;     // accumulated filled quantity
};

// OpenInterestEvent: the total open interest of a derivative, in contracts or
// base units as the venue states it.
struct OpenInterestEvent {
  std::string_view symbol;
  std::uint64_t event_ns = 0;
  Decimal open_interest;
};

// ControlReply: the exchange's answer to a request ({"result":..,"id":N}).
struct ControlReply {
  bool has_id = false;  // false when the id was null
  std::uint64_t id = 0;
};

// ErrorReply: the exchange refused a request
// ({"error":{"code":..,"msg":..},"id":..} or {"code":..,"msg":..,"id":..}).
struct ErrorReply {
  bool has_id = false;
  std::uint64_t id = 0;
  std::int64_t code = 0;
  std::string_view message;
};

// ServerShutdown: the server will close this connection soon (maintenance):
// open the replacement now.
struct ServerShutdown {
  std::uint64_t event_ns = 0;
};

}  // namespace tickwire::connector
