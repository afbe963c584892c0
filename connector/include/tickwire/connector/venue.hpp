// The venue seam: everything that differs between exchanges sits behind a
// VenueAdapter (connector/src/venues/<venue>/, one registry line each), and
// the pipeline (dedup, streams, books, stamp, encode, publish, journal) only
// sees what it returns: normalized events from a VenueParser, the book
// integrity policy to run, the trade continuity of each channel, the
// normalized instrument of each exchange symbol, endpoints, limits and the
// control protocol the session speaks. Adapters are stateless singletons;
// parsers and control protocols are made per feed (one feed thread each).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tickwire/config/config.hpp"
#include "tickwire/connector/control_protocol.hpp"
#include "tickwire/connector/events.hpp"

namespace tickwire::connector {

namespace book {
class BookChecksum;
}  // namespace book

// MessageKind: the coarse kind. Every market event other than a plain trade
// is kIgnored here (kept for the parser's first users); `ParsedMessage::event`
// tells them apart.
enum class MessageKind : std::uint8_t {
  kTrade,    // `trade` is filled (a plain trade, not an aggregate)
  kControl,  // a reply to a request (result or error); nothing to publish
  kIgnored,  // any other well-formed message; see `event`
  kError,    // malformed; the parser's error() says what and where
};

// EventKind: exactly what the message was, and which member is filled.
enum class EventKind : std::uint8_t {
  kTrade,           // `trade` (trade)
  kAggTrade,        // `trade` with aggregate = true (aggTrade)
  kQuote,           // `quote` (bookTicker)
  kBookDelta,       // `delta` (diff depth)
  kBookSnapshot,    // `snapshot` (parse_snapshot, or an in-stream snapshot)
  kFunding,         // `funding` (mark price / funding rate)
  kLiquidation,     // `liquidation` (forced liquidation order)
  kOpenInterest,    // `open_interest`
  kControlReply,    // `control` (a reply to one of our requests)
  kErrorReply,      // `error_reply` (the venue refused a request)
  kServerShutdown,  // `shutdown` (the server will close this connection soon)
  kIgnored,         // a well-formed event of a kind the parser does not handle (e.g. kline)
  kError,           // malformed; error() says what and where
};

// ParsedMessage: the kinds, the member `event` names (the others keep their
// defaults, or partial values after an error), and, for a combined-stream
// envelope, the symbol named by the stream ("btcusdt" of "btcusdt@trade"),
// which the pipeline checks against the data's own symbol.
struct ParsedMessage {
  MessageKind kind = MessageKind::kError;
  EventKind event = EventKind::kError;
  std::string_view stream_symbol;  // empty when the frame named no stream
  TradeEvent trade;
  QuoteEvent quote;
  BookDeltaEvent delta;
  BookSnapshotEvent snapshot;
  FundingEvent funding;
  LiquidationEvent liquidation;
  OpenInterestEvent open_interest;
  ControlReply control;
  ErrorReply error_reply;
  ServerShutdown shutdown;
  // connection_sequence: the frame's number in its connection's one sequence
  // across all channels (Coinbase sequence_num), when has_connection_sequence;
  // the pipeline tells a jump (a message lost) per connection.
  std::uint64_t connection_sequence = 0;
  bool has_connection_sequence = false;
};

// VenueParser: frame -> normalized events, in place (simdjson on-demand over
// the receive buffer, which has SIMDJSON_PADDING readable bytes after the
// data; every venue's parser reads its hot frames' compact shape
// directly first, views then pointing into the frame). Every parser validates the whole document (no invalid JSON in
// fields it does not read, no second document after the first). No
// allocation after warm-up. Views live until the next call.
class VenueParser {
 public:
  virtual ~VenueParser() = default;
  virtual ParsedMessage parse(const char* data, std::size_t size) = 0;
  // next: the frame's next event after parse() (or the previous next()) when
  // one frame carries several (Bybit: up to 1024 trades, a merged ticker's
  // quote, funding and open interest); false when there is none. The frame
  // was validated whole by parse(): a malformed frame yields no event at all.
  // Views stay valid until the next parse().
  virtual bool next(ParsedMessage& out) {
    (void)out;
    return false;
  }
  // parse_snapshot: a REST order-book snapshot body (same padding rule).
  virtual ParsedMessage parse_snapshot(const char* data, std::size_t size) = 0;
  // error: after kError, a description naming the field and the problem.
  virtual std::string_view error() const = 0;
  // parse_contract: a REST instruments body (contract_target's answer) ->
  // what one contract of the instrument is worth; nullopt with error() set
  // when it is malformed or names none.
  virtual std::optional<ContractSpec> parse_contract(const char* data, std::size_t size) {
    (void)data;
    (void)size;
    return std::nullopt;
  }
  // book_checksum: the venue's checksum of the top of a book (in-stream
  // checksum policy), which may depend on what this parser has read
  // (Kraken's precisions); null when the venue has none.
  virtual const book::BookChecksum* book_checksum() const { return nullptr; }
};

// Instrument: the venue-neutral name of an exchange symbol, "BTC-USDT" (spot),
// "BTC-USDT-PERP" (perpetual), "BTC-USDT-240628" (dated future): upper-case
// letters, digits and '-', valid as a NATS subject token.
struct Instrument {
  std::string name;
  InstrumentKind kind = InstrumentKind::kUnknown;
};

// ChannelKind: the normalized stream a venue channel feeds.
enum class ChannelKind : std::uint8_t {
  kTrade, kAggTrade, kQuote, kDepth, kFunding, kLiquidation, kOpenInterest,
};
inline constexpr std::size_t kChannelKinds = 7;

// BookIntegrity: how the pipeline keeps a book whole on this venue.
enum class BookIntegrity : std::uint8_t {
  kRestSnapshotFirstId,  // REST snapshot + diffs; a diff continues at U == previous u + 1 (Binance spot)
  kRestSnapshotPrevId,   // REST snapshot + diffs; a diff's "pu" == previous u (Binance USD-M)
  kStreamSequence,       // in-stream snapshot + sequence continuity (OKX seqId, Bybit u, Coinbase sequence)
  kStreamChecksum,       // in-stream snapshot + checksum over the top of the book (Kraken, OKX)
};

// ResyncAction: what the pipeline does when a book breaks.
enum class ResyncAction : std::uint8_t {
  kRestSnapshot,  // fetch the REST snapshot again (Binance)
  kResubscribe,   // unsubscribe and subscribe that one symbol (OKX, Bybit, Kraken, Coinbase)
};

// StreamBootstrap: where an in-stream sequence book (kStreamSequence) starts
// from on a depth channel.
enum class StreamBootstrap : std::uint8_t {
  kStream,        // the snapshot each subscription starts with (Bybit orderbook.N, Coinbase)
  kStreamOrRest,  // that snapshot, or when updates come without one a REST snapshot (OKX books)
  kRest,          // always a REST snapshot: the channel sends updates only (Bybit orderbook.full)
};

// TradeContinuity: whether a channel's ids step by one (a jump is a gap), only
// increase (no gap can be told, so none is declared), or never decrease (the
// id is a sequence that distinct events may share, Bybit's trade "seq": an
// equal id is new data, only a smaller one is a repeat).
enum class TradeContinuity : std::uint8_t { kContiguous, kIncreasing, kNonDecreasing };

// BookPolicy: the integrity rule, the resync action and, for REST
// snapshots, the path of the snapshot request.
struct BookPolicy {
  BookIntegrity integrity = BookIntegrity::kRestSnapshotFirstId;
  ResyncAction resync = ResyncAction::kRestSnapshot;
  std::string_view snapshot_path;  // "/api/v3/depth" (REST policies only)
  std::uint32_t checksum_levels = 0;  // levels per side the checksum covers (checksum policies)
  // sequence_checksum: under kStreamSequence, the venue's checksum of the top
  // `levels` of each side (its 32 bits), verified when a message carries one
  // (BookDeltaEvent::has_checksum; OKX); null: none.
  std::uint32_t (*sequence_checksum)(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks,
                                     std::size_t levels) = nullptr;
  // connection_sequence (kStreamSequence only): book update ids are the
  // connection's one sequence (Coinbase sequence_num), so per book they only
  // increase; continuity is the connection's, and a jump in it is a gap for
  // every book on that connection.
  bool connection_sequence = false;
};

// VenueLimits: the venue's documented limits, applied by the session.
struct VenueLimits {
  std::size_t streams_per_message = 200;  // streams in one subscribe request
  std::size_t max_streams = 1024;         // streams per connection
  std::chrono::milliseconds control_interval{250};  // spacing of control messages
  std::chrono::milliseconds max_lifetime{std::chrono::minutes(24 * 60)};  // the venue closes a connection after this
  std::uint32_t connects_per_5min = 300;  // connection attempts per IP
  std::size_t max_symbol_bytes = 32;      // a longer exchange symbol is rejected
  std::uint32_t control_ops_per_hour = 0; // subscribe/unsubscribe requests per connection an hour (0: none)
  // Per IP, across every connection to the venue (0: none): connection
  // attempts a second, and control messages (subscribe, unsubscribe) a second.
  // Coinbase: 8 and 8.
  std::uint32_t connects_per_second = 0;
  std::uint32_t controls_per_second = 0;
};

class VenueAdapter {
 public:
  virtual ~VenueAdapter() = default;
  // name: the `exchange` value that selects it ("binance", "binance-usdm", "bybit").
  virtual std::string_view name() const = 0;
  // category: the feed `category` this adapter serves ("spot", "linear"),
  // empty for a venue that has none.
  virtual std::string_view category() const { return {}; }
  // for_feed: the adapter that serves `feed` (the one for its `category`);
  // itself for a venue without categories.
  virtual const VenueAdapter& for_feed(const config::FeedConfig& feed) const {
    (void)feed;
    return *this;
  }
  // channels: the channel names as the venue spells them, accepted in `channels`.
  virtual std::span<const std::string_view> channels() const = 0;
  // channel_kind: the normalized stream a channel feeds; nullopt if unknown.
  virtual std::optional<ChannelKind> channel_kind(std::string_view channel) const = 0;
  // stream_name: the subscription name of (symbol, channel), e.g. "btcusdt@trade".
  virtual std::string stream_name(std::string_view symbol, std::string_view channel) const = 0;
  // url_with_streams: a URL target subscribing every stream by URL.
  virtual std::string url_with_streams(std::string_view target, const std::vector<std::string>& symbols,
                                       const std::vector<std::string>& channels) const = 0;
  // ws_url / rest_url: the production endpoints.
  virtual std::string_view ws_url() const = 0;
  virtual std::string_view rest_url() const = 0;
  virtual const VenueLimits& limits() const = 0;
  virtual BookPolicy book_policy() const = 0;
  // trade_continuity: for kTrade / kAggTrade; for kLiquidation only
  // kNonDecreasing is heeded (liquidation times shared by several events).
  virtual TradeContinuity trade_continuity(ChannelKind channel) const = 0;
  // book_depth: the levels per side a depth channel keeps (Kraken "book.25":
  // 25), which the in-stream checksum policy cuts the book to after every
  // message; 0 when the venue deletes what leaves the book itself.
  virtual std::uint32_t book_depth(std::string_view channel) const {
    (void)channel;
    return 0;
  }
  // stream_bootstrap: where a kStreamSequence book on `channel` starts from;
  // with a REST snapshot (snapshot_target), a break on a kRest channel
  // fetches another instead of resubscribing.
  virtual StreamBootstrap stream_bootstrap(std::string_view channel) const {
    (void)channel;
    return StreamBootstrap::kStream;
  }
  // contract_target: the REST request that states what one contract of
  // `symbol` is worth (parse_contract reads the answer); empty when its sizes
  // are not in contracts (spot, or a venue that sizes in the base asset).
  virtual std::string contract_target(std::string_view symbol, const Instrument& instrument) const {
    (void)symbol;
    (void)instrument;
    return {};
  }
  // snapshot_target: the REST request of a book snapshot and its weight.
  virtual std::string snapshot_target(std::string_view symbol, std::uint32_t limit) const = 0;
  virtual std::uint64_t snapshot_weight(std::uint32_t limit) const = 0;
  // instrument: the normalized instrument of an exchange symbol, or why not.
  virtual absl::StatusOr<Instrument> instrument(std::string_view symbol) const = 0;
  // make_parser / make_control: one per feed.
  virtual std::unique_ptr<VenueParser> make_parser(const config::FeedConfig& feed) const = 0;
  virtual std::unique_ptr<ControlProtocol> make_control() const = 0;
  // make_control_for: the control protocol for `feed`, for a venue whose
  // requests depend on the feed's settings (Coinbase signs them with the
  // feed's key_file), or why it cannot be made; make_control() otherwise.
  virtual absl::StatusOr<std::unique_ptr<ControlProtocol>> make_control_for(const config::FeedConfig& feed) const {
    (void)feed;
    return make_control();
  }
  // connection_streams: streams subscribed once on every connection whatever
  // the symbols (Coinbase "heartbeats"), before the symbols' streams.
  virtual std::vector<std::string> connection_streams() const { return {}; }
  // symbols_per_connection: how many of the feed's symbols one connection
  // carries (0: all of them). The runner opens one connection, with its own
  // pipeline, per that many symbols (Coinbase: level2_products_per_connection
  // when level2 is subscribed).
  virtual std::size_t symbols_per_connection(const config::FeedConfig& feed) const {
    (void)feed;
    return 0;
  }
};

// find_venue: the adapter registered under `name`, or null.
const VenueAdapter* find_venue(std::string_view name);
// find_venue: the adapter that serves `feed` (its exchange, then its
// category), or null.
const VenueAdapter* find_venue(const config::FeedConfig& feed);
// registered_venues: every registered adapter, in registry order.
std::span<const VenueAdapter* const> registered_venues();

}  // namespace tickwire::connector
