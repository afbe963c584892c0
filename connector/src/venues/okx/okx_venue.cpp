// The OKX v5 adapter: instruments named as OKX names them ("BTC-USDT",
// "BTC-USDT-SWAP", "BTC-USD-250627"), args {"channel","instId"} subscribed by
// message (OKX has no URL subscription), under 64 KB per request, the text
// "ping" after silence, in-stream books chained by seqId / prevSeqId and
// resynced by resubscribing.
#include "venues/okx/okx_venue.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace tickwire::connector::venues::okx {
namespace {

constexpr std::array<std::string_view, 10> kChannels = {
    "trades",  "trades-all",   "books",      "books5",        "bbo-tbt",
    "tickers", "funding-rate", "mark-price", "open-interest", "liquidation-orders"};

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

bool is_expiry(std::string_view s) {
  return s.size() == 6 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string request(std::string_view op, std::span<const std::string> streams, std::uint64_t id) {
  std::string msg = fmt::format(R"({{"id":"{}","op":"{}","args":[)", id, op);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    // liquidation-orders is one arg per instType: several symbols name it once.
    if (std::find(streams.begin(), streams.begin() + static_cast<std::ptrdiff_t>(i), streams[i]) !=
        streams.begin() + static_cast<std::ptrdiff_t>(i)) {
      continue;
    }
    if (msg.back() != '[') msg += ',';
    msg += streams[i];
  }
  msg += "]}";
  return msg;
}

}  // namespace

const OkxVenue kOkxPublic{OkxEndpoint::kPublic};
const OkxVenue kOkxBusiness{OkxEndpoint::kBusiness};

std::string OkxControl::subscribe_message(std::span<const std::string> streams, std::uint64_t id) const {
  return request("subscribe", streams, id);
}

std::string OkxControl::unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const {
  return request("unsubscribe", streams, id);
}

ReplyVerdict OkxControl::classify(const char* data, std::size_t size) {
  // Replies carry "event" (data never does) and echo our "id"; data frames
  // start with "arg" and stop the scan at "data".
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser_.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS) {
    return {};
  }
  std::string_view event, id;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return {};
    if (key == "data") return {};
    if (key == "event") {
      if (field.value().get_string().get(event) != simdjson::SUCCESS) return {};
    } else if (key == "id") {
      if (field.value().get_string().get(id) != simdjson::SUCCESS) id = {};
    }
  }
  ReplyVerdict v;
  if (event == "subscribe" || event == "unsubscribe") {
    v.kind = ReplyVerdict::kAck;
  } else if (event == "error") {
    v.kind = ReplyVerdict::kRejected;
  } else {
    return {};  // notices and the like go to the parser
  }
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v.id);
  v.has_id = !id.empty() && ec == std::errc{} && end == id.data() + id.size();
  if (!v.has_id) v.id = 0;
  return v;
}

bool OkxControl::is_pong(const char* data, std::size_t size) const { return std::string_view(data, size) == "pong"; }

const VenueAdapter& OkxVenue::for_feed(const config::FeedConfig& feed) const {
  const bool business = std::find(feed.channels.begin(), feed.channels.end(), "trades-all") != feed.channels.end();
  return business ? static_cast<const VenueAdapter&>(kOkxBusiness) : kOkxPublic;
}

std::span<const std::string_view> OkxVenue::channels() const { return kChannels; }

std::optional<ChannelKind> OkxVenue::channel_kind(std::string_view channel) const {
  if (channel == "trades") return ChannelKind::kAggTrade;  // the fills of one taker order at one price
  if (channel == "trades-all") return ChannelKind::kTrade;
  if (channel == "books" || channel == "books5") return ChannelKind::kDepth;
  if (channel == "bbo-tbt" || channel == "tickers") return ChannelKind::kQuote;
  if (channel == "funding-rate" || channel == "mark-price") return ChannelKind::kFunding;
  if (channel == "open-interest") return ChannelKind::kOpenInterest;
  if (channel == "liquidation-orders") return ChannelKind::kLiquidation;
  return std::nullopt;
}

std::string OkxVenue::stream_name(std::string_view symbol, std::string_view channel) const {
  if (channel == "liquidation-orders") {
    // Subscribed per instrument type; the parser keeps the configured instruments.
    auto i = instrument(symbol);
    const std::string_view type = i.ok() && i->kind == InstrumentKind::kFuture ? "FUTURES" : "SWAP";
    return fmt::format(R"({{"channel":"{}","instType":"{}"}})", channel, type);
  }
  return fmt::format(R"({{"channel":"{}","instId":"{}"}})", channel, symbol);
}

std::string OkxVenue::url_with_streams(std::string_view target, const std::vector<std::string>&,
                                       const std::vector<std::string>&) const {
  return std::string(target);  // OKX subscribes by message only (config requires subscribe = "message")
}

std::string_view OkxVenue::ws_url() const {
  return endpoint_ == OkxEndpoint::kPublic ? "wss://ws.okx.com:8443/ws/v5/public"
                                           : "wss://ws.okx.com:8443/ws/v5/business";
}

const VenueLimits& OkxVenue::limits() const {
  // A request stays under 64 KB: 500 args of at most ~80 bytes
  // ({"channel":"liquidation-orders","instId":<32 bytes>}) are 40 KB. 480
  // subscribe/unsubscribe requests per connection per hour; no connection
  // lifetime; 3 connection requests per second per IP (the 5-minute window
  // allows one a second on average); instIds are at most 32 bytes.
  static const VenueLimits kLimits{500, 1000, std::chrono::milliseconds(100), std::chrono::hours(24), 300, 32, 480};
  return kLimits;
}

BookPolicy OkxVenue::book_policy() const {
  // seqId / prevSeqId chain the updates; a non-zero checksum (top 25 levels)
  // is verified as well. The REST path is the books bootstrap.
  BookPolicy policy{BookIntegrity::kStreamSequence, ResyncAction::kResubscribe, "/api/v5/market/books", 25};
  policy.sequence_checksum = [](std::span<const PriceLevel> bids, std::span<const PriceLevel> asks,
                                std::size_t levels) {
    // Safety: the signed CRC's two's complement bits, as the parser keeps them.
    return static_cast<std::uint32_t>(okx_checksum(bids, asks, levels));
  };
  return policy;
}

TradeContinuity OkxVenue::trade_continuity(ChannelKind channel) const {
  // Trade ids only increase per instrument; OKX does not promise that they
  // step by one, so no gap is declared from them. Liquidation times may be
  // shared by several orders.
  return channel == ChannelKind::kLiquidation ? TradeContinuity::kNonDecreasing : TradeContinuity::kIncreasing;
}

StreamBootstrap OkxVenue::stream_bootstrap(std::string_view channel) const {
  // books starts with its snapshot today; OKX announced (Feb 2026) that it
  // will start without one, from GET /api/v5/market/books instead.
  return channel == "books" ? StreamBootstrap::kStreamOrRest : StreamBootstrap::kStream;
}

std::string OkxVenue::contract_target(std::string_view symbol, const Instrument& instrument) const {
  // Swap and futures sizes (trades, books, open interest in contracts) are
  // in contracts, whose value (ctVal x ctMult, in ctValCcy) the instruments
  // endpoint states; spot sizes are in the base currency.
  if (instrument.kind == InstrumentKind::kPerpetual) {
    return fmt::format("/api/v5/public/instruments?instType=SWAP&instId={}", symbol);
  }
  if (instrument.kind == InstrumentKind::kFuture) {
    return fmt::format("/api/v5/public/instruments?instType=FUTURES&instId={}", symbol);
  }
  return {};
}

std::string OkxVenue::snapshot_target(std::string_view symbol, std::uint32_t limit) const {
  return fmt::format("/api/v5/market/books?instId={}&sz={}", symbol, std::min<std::uint32_t>(limit, 400));
}

std::uint64_t OkxVenue::snapshot_weight(std::uint32_t) const { return 1; }

absl::StatusOr<Instrument> OkxVenue::instrument(std::string_view symbol) const {
  // BASE-QUOTE (spot), BASE-QUOTE-SWAP (perpetual), BASE-QUOTE-YYMMDD (future).
  std::string_view parts[3];
  std::size_t n = 0;
  std::string_view rest = symbol;
  for (;;) {
    if (n == 3) {
      n = 0;  // four parts or more: an option or something else, not supported
      break;
    }
    const auto dash = rest.find('-');
    parts[n++] = rest.substr(0, dash);
    if (dash == std::string_view::npos) break;
    rest = rest.substr(dash + 1);
  }
  const bool pair = n >= 2 && is_token(parts[0]) && is_token(parts[1]);
  if (pair && n == 2) return Instrument{fmt::format("{}-{}", parts[0], parts[1]), InstrumentKind::kSpot};
  if (pair && parts[2] == "SWAP") {
    return Instrument{fmt::format("{}-{}-PERP", parts[0], parts[1]), InstrumentKind::kPerpetual};
  }
  if (pair && is_expiry(parts[2])) {
    return Instrument{fmt::format("{}-{}-{}", parts[0], parts[1], parts[2]), InstrumentKind::kFuture};
  }
  return absl::InvalidArgumentError(fmt::format(
      "symbol {:?}: not an OKX spot, swap or futures instId (BASE-QUOTE, BASE-QUOTE-SWAP, BASE-QUOTE-YYMMDD)",
      symbol));
}

std::unique_ptr<VenueParser> OkxVenue::make_parser(const config::FeedConfig& feed) const {
  const bool funding_rate =
      std::find(feed.channels.begin(), feed.channels.end(), "funding-rate") != feed.channels.end();
  return std::make_unique<OkxParser>(feed.symbols, funding_rate);
}

std::unique_ptr<ControlProtocol> OkxVenue::make_control() const { return std::make_unique<OkxControl>(); }

}  // namespace tickwire::connector::venues::okx
