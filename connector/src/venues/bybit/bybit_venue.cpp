// The Bybit v5 adapter: public streams of one category per feed (spot or
// linear), topics "<channel>.<SYMBOL>" subscribed by message (no URL
// subscription exists), at most 10 args per request and 21,000 characters of
// args per connection (config checks the latter), app-level pings, in-stream
// books kept by "u" and resynced by resubscribing, trade "seq" that several
// trades may share.
#include "venues/bybit/bybit_venue.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>

#include "tickwire/connector/venues/bybit/parser.hpp"

namespace tickwire::connector::venues::bybit {
namespace {

constexpr std::array<std::string_view, 6> kSpotChannels = {"publicTrade",   "orderbook.1",    "orderbook.50",
                                                           "orderbook.200", "orderbook.1000", "orderbook.full"};
constexpr std::array<std::string_view, 7> kLinearChannels = {
    "publicTrade", "orderbook.1", "orderbook.50", "orderbook.200", "orderbook.1000", "tickers", "allLiquidation"};

// The quote coins Bybit lists spot pairs and linear contracts against.
constexpr std::array<std::string_view, 12> kQuotes = {"USDT", "USDC", "USDE", "USD1", "DAI", "BTC",
                                                      "ETH",  "EUR",  "BRL",  "PLN",  "TRY", "MNT"};

std::string request(std::string_view op, std::span<const std::string> streams, std::uint64_t id) {
  std::string msg = fmt::format(R"({{"req_id":"{}","op":"{}","args":[)", id, op);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (i > 0) msg += ',';
    msg += '"';
    msg += streams[i];
    msg += '"';
  }
  msg += "]}";
  return msg;
}

absl::StatusOr<std::pair<std::string_view, std::string_view>> split(std::string_view symbol) {
  for (std::string_view quote : kQuotes) {
    if (symbol.size() > quote.size() && symbol.ends_with(quote)) {
      return std::pair{symbol.substr(0, symbol.size() - quote.size()), quote};
    }
  }
  return absl::InvalidArgumentError(fmt::format(
      "symbol {:?}: cannot tell its base from its quote coin (no known Bybit quote coin at its end)", symbol));
}

}  // namespace

const BybitVenue kBybitSpot{BybitCategory::kSpot};
const BybitVenue kBybitLinear{BybitCategory::kLinear};

std::string BybitControl::subscribe_message(std::span<const std::string> streams, std::uint64_t id) const {
  return request("subscribe", streams, id);
}

std::string BybitControl::unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const {
  return request("unsubscribe", streams, id);
}

ReplyVerdict BybitControl::classify(const char* data, std::size_t size) {
  // Replies have "success" (and no "topic"); data always has "topic". Key
  // order is not fixed, so the whole object is read (replies are short; data
  // frames stop at their "topic" key, which Bybit sends first or early).
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser_.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS) {
    return {};
  }
  bool has_success = false, success = false;
  std::string_view req_id;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return {};
    if (key == "topic") return {};
    if (key == "op") {
      std::string_view op;
      if (field.value().get_string().get(op) != simdjson::SUCCESS || op == "ping") return {};  // a spot pong
    } else if (key == "success") {
      has_success = field.value().get_bool().get(success) == simdjson::SUCCESS;
    } else if (key == "req_id") {
      if (field.value().get_string().get(req_id) != simdjson::SUCCESS) req_id = {};
    }
  }
  if (!has_success) return {};  // a pong ({"op":"pong"}) or anything else: not a subscribe reply
  ReplyVerdict v;
  const auto [end, ec] = std::from_chars(req_id.data(), req_id.data() + req_id.size(), v.id);
  v.has_id = !req_id.empty() && ec == std::errc{} && end == req_id.data() + req_id.size();
  if (!v.has_id) v.id = 0;
  v.kind = success ? ReplyVerdict::kAck : ReplyVerdict::kRejected;
  return v;
}

bool BybitControl::is_pong(const char* data, std::size_t size) const {
  // Pongs are short; a data frame never holds these key/value pairs.
  if (size > 256) return false;
  const std::string_view s(data, size);
  return s.find(R"("op":"pong")") != std::string_view::npos ||
         (s.find(R"("ret_msg":"pong")") != std::string_view::npos && s.find(R"("op":"ping")") != std::string_view::npos);
}

std::string_view BybitVenue::category() const { return category_ == BybitCategory::kSpot ? "spot" : "linear"; }

const VenueAdapter& BybitVenue::for_feed(const config::FeedConfig& feed) const {
  return feed.category == "linear" ? static_cast<const VenueAdapter&>(kBybitLinear) : kBybitSpot;
}

std::span<const std::string_view> BybitVenue::channels() const {
  if (category_ == BybitCategory::kSpot) return kSpotChannels;
  return kLinearChannels;
}

std::optional<ChannelKind> BybitVenue::channel_kind(std::string_view channel) const {
  if (channel == "publicTrade") return ChannelKind::kTrade;
  if (channel == "orderbook.1" || channel == "orderbook.50" || channel == "orderbook.200" ||
      channel == "orderbook.1000") {
    return ChannelKind::kDepth;
  }
  // orderbook.full: spot only (Bybit: live on spot since July 2026, not on futures yet).
  if (channel == "orderbook.full" && category_ == BybitCategory::kSpot) return ChannelKind::kDepth;
  if (category_ == BybitCategory::kLinear) {
    if (channel == "tickers") return ChannelKind::kQuote;  // and funding and open interest
    if (channel == "allLiquidation") return ChannelKind::kLiquidation;
  }
  return std::nullopt;
}

std::string BybitVenue::stream_name(std::string_view symbol, std::string_view channel) const {
  return fmt::format("{}.{}", channel, symbol);
}

std::string BybitVenue::url_with_streams(std::string_view target, const std::vector<std::string>&,
                                         const std::vector<std::string>&) const {
  return std::string(target);  // Bybit subscribes by message only (config requires subscribe = "message")
}

std::string_view BybitVenue::ws_url() const {
  return category_ == BybitCategory::kSpot ? "wss://stream.bybit.com/v5/public/spot"
                                           : "wss://stream.bybit.com/v5/public/linear";
}

const VenueLimits& BybitVenue::limits() const {
  // Spot: at most 10 args per subscribe request (linear states no per-request
  // limit; the same 10 keep requests small); 21,000 characters of args per
  // connection, which allows at least 1,500 topics; 500 connections per 5
  // minutes; no connection lifetime (idle connections are cut after 10
  // minutes, which the 20 s app-level ping prevents); 100 ms between requests.
  static const VenueLimits kLimits{10, 1500, std::chrono::milliseconds(100), std::chrono::hours(24), 500, 32};
  return kLimits;
}

BookPolicy BybitVenue::book_policy() const {
  return {BookIntegrity::kStreamSequence, ResyncAction::kResubscribe, {}, 0};
}

TradeContinuity BybitVenue::trade_continuity(ChannelKind) const {
  // Trade ids are strings ("i") and not contiguous; their cross sequence
  // "seq" never decreases, and several trades (and messages) may share one.
  // The same holds for liquidation times.
  return TradeContinuity::kNonDecreasing;
}

StreamBootstrap BybitVenue::stream_bootstrap(std::string_view channel) const {
  // orderbook.full sends updates only ("there is no initial snapshot
  // message"): the book starts from GET /v5/market/full_orderbook, whose u is
  // the stream's, and every break fetches it again.
  return channel == "orderbook.full" ? StreamBootstrap::kRest : StreamBootstrap::kStream;
}

std::string BybitVenue::snapshot_target(std::string_view symbol, std::uint32_t) const {
  // Up to 10,000 levels a side; no size parameter.
  return fmt::format("/v5/market/full_orderbook?category={}&symbol={}", category(), symbol);
}

std::uint64_t BybitVenue::snapshot_weight(std::uint32_t) const { return 1; }

absl::StatusOr<Instrument> BybitVenue::instrument(std::string_view symbol) const {
  if (category_ == BybitCategory::kSpot) {
    auto s = split(symbol);
    if (!s.ok()) return s.status();
    return Instrument{fmt::format("{}-{}", s->first, s->second), InstrumentKind::kSpot};
  }
  // Linear perpetuals: "BTCUSDT" (USDT-margined), "BTCPERP" (USDC-margined).
  if (symbol.size() > 4 && symbol.ends_with("PERP")) {
    return Instrument{fmt::format("{}-USDC-PERP", symbol.substr(0, symbol.size() - 4)), InstrumentKind::kPerpetual};
  }
  auto s = split(symbol);
  if (!s.ok()) return s.status();
  return Instrument{fmt::format("{}-{}-PERP", s->first, s->second), InstrumentKind::kPerpetual};
}

std::unique_ptr<VenueParser> BybitVenue::make_parser(const config::FeedConfig& feed) const {
  return std::make_unique<BybitParser>(category_, feed.symbols);
}

std::unique_ptr<ControlProtocol> BybitVenue::make_control() const { return std::make_unique<BybitControl>(); }

}  // namespace tickwire::connector::venues::bybit
