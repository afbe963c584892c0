// The Coinbase Advanced Trade adapter: public channels subscribed by message,
// one (channel, product) per request at most 8 a second (we send one every
// 150 ms, the first at once, inside the venue's 5 s subscribe deadline),
// "heartbeats" first on every connection (most channels close after 60-90 s
// without updates otherwise), level2 books kept whole by the connection's one
// sequence_num and resynced by resubscribing the product, trade ids that only
// increase.
#include "venues/coinbase/coinbase_venue.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "tickwire/connector/log.hpp"
#include "tickwire/connector/venues/coinbase/parser.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace tickwire::connector::venues::coinbase {
namespace {

constexpr std::array<std::string_view, 3> kChannels = {"level2", "market_trades", "ticker"};

// The quote currencies a product written without its '-' ("BTCUSD") is split at, longest first.
constexpr std::array<std::string_view, 9> kQuotes = {"USDT", "USDC", "EURC", "USD", "EUR", "GBP", "BTC", "ETH", "DAI"};

bool is_code(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

}  // namespace

const CoinbaseVenue kCoinbase{};

std::string CoinbaseControl::request(std::string_view type, std::span<const std::string> streams) const {
  // One stream per request (limits().streams_per_message is 1): the venue takes one channel per message.
  const std::string_view stream = streams.empty() ? std::string_view() : std::string_view(streams[0]);
  if (!signer_) return fmt::format(R"({{"type":"{}",{}}})", type, stream);
  auto jwt = signer_->sign();
  if (!jwt.ok()) {
    // Public channels take unsigned requests: the subscription goes on, unauthenticated, and says so.
    TW_LOG_ERROR(log(), "coinbase {} {{{}}} sent without a JWT: {}", type, stream,
                 middleware::status_text(jwt.status()));
    return fmt::format(R"({{"type":"{}",{}}})", type, stream);
  }
  return fmt::format(R"({{"type":"{}",{},"jwt":"{}"}})", type, stream, *jwt);
}

std::string CoinbaseControl::subscribe_message(std::span<const std::string> streams, std::uint64_t) const {
  return request("subscribe", streams);
}

std::string CoinbaseControl::unsubscribe_message(std::span<const std::string> streams, std::uint64_t) const {
  return request("unsubscribe", streams);
}

ReplyVerdict CoinbaseControl::classify(const char* data, std::size_t size) {
  // Data and replies open with "channel" (the venue's key order); a refusal
  // has "type":"error". Only the first key is read, so a large snapshot costs
  // nothing here.
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser_.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS) {
    return {};
  }
  for (auto field : obj) {
    std::string_view key, value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return {};
    if (key == "channel") {
      if (field.value().get_string().get(value) != simdjson::SUCCESS || value != "subscriptions") return {};
      ReplyVerdict v;
      v.kind = ReplyVerdict::kAck;
      v.oldest = true;   // no request id: replies come in request order
      v.deliver = true;  // it holds a sequence_num: the pipeline counts it
      return v;
    }
    if (key == "type") {
      if (field.value().get_string().get(value) != simdjson::SUCCESS || value != "error") return {};
      ReplyVerdict v;
      v.kind = ReplyVerdict::kRejected;
      return v;
    }
  }
  return {};
}

std::span<const std::string_view> CoinbaseVenue::channels() const { return kChannels; }

std::optional<ChannelKind> CoinbaseVenue::channel_kind(std::string_view channel) const {
  if (channel == "level2") return ChannelKind::kDepth;
  if (channel == "market_trades") return ChannelKind::kTrade;
  if (channel == "ticker") return ChannelKind::kQuote;
  return std::nullopt;
}

std::string CoinbaseVenue::stream_name(std::string_view symbol, std::string_view channel) const {
  return fmt::format(R"("product_ids":["{}"],"channel":"{}")", symbol, channel);
}

std::vector<std::string> CoinbaseVenue::connection_streams() const { return {R"("channel":"heartbeats")"}; }

// Coinbase refuses "too many L2 streams" above about 16 products with level2
// on one connection; the other channels have no such limit.
std::size_t CoinbaseVenue::symbols_per_connection(const config::FeedConfig& feed) const {
  const bool level2 = std::find(feed.channels.begin(), feed.channels.end(), "level2") != feed.channels.end();
  return level2 ? feed.level2_products_per_connection : 0;
}

std::string CoinbaseVenue::url_with_streams(std::string_view target, const std::vector<std::string>&,
                                            const std::vector<std::string>&) const {
  return std::string(target);  // Coinbase subscribes by message only (config requires subscribe = "message")
}

const VenueLimits& CoinbaseVenue::limits() const {
  // One channel per subscribe message (we send one stream each); at most 8
  // unauthenticated messages a second per IP, across connections: 150 ms
  // apart on one connection leaves room for a ping, and a limiter shared by
  // the process's Coinbase connections keeps their sum at 8 a second; 8
  // connection attempts a second per IP (2400 per 5 min); no stated
  // connection lifetime. Products are "BTC-USD", "1INCH-USD".
  static const VenueLimits kLimits = [] {
    VenueLimits l{1, 256, std::chrono::milliseconds(150), std::chrono::hours(24 * 7), 2400, 32};
    l.connects_per_second = 8;
    l.controls_per_second = 8;
    return l;
  }();
  return kLimits;
}

BookPolicy CoinbaseVenue::book_policy() const {
  BookPolicy p{BookIntegrity::kStreamSequence, ResyncAction::kResubscribe, {}, 0};
  p.connection_sequence = true;
  return p;
}

TradeContinuity CoinbaseVenue::trade_continuity(ChannelKind) const {
  // Trade ids are per product and increase; a batch may skip ids of trades
  // that are not reported, so no gap is declared from them.
  return TradeContinuity::kIncreasing;
}

std::string CoinbaseVenue::snapshot_target(std::string_view, std::uint32_t) const { return {}; }

std::uint64_t CoinbaseVenue::snapshot_weight(std::uint32_t) const { return 0; }

absl::StatusOr<Instrument> CoinbaseVenue::instrument(std::string_view symbol) const {
  const auto dash = symbol.find('-');
  if (dash != std::string_view::npos) {
    if (is_code(symbol.substr(0, dash)) && is_code(symbol.substr(dash + 1))) {
      return Instrument{std::string(symbol), InstrumentKind::kSpot};
    }
    return absl::InvalidArgumentError(
        fmt::format("product {:?}: expected \"BASE-QUOTE\" in upper-case letters and digits", symbol));
  }
  for (std::string_view quote : kQuotes) {
    if (symbol.size() > quote.size() && symbol.ends_with(quote) && is_code(symbol)) {
      return Instrument{fmt::format("{}-{}", symbol.substr(0, symbol.size() - quote.size()), quote),
                        InstrumentKind::kSpot};
    }
  }
  return absl::InvalidArgumentError(fmt::format(
      "product {:?}: cannot tell its base from its quote currency (write it as Coinbase does, \"BTC-USD\")", symbol));
}

std::unique_ptr<VenueParser> CoinbaseVenue::make_parser(const config::FeedConfig&) const {
  return std::make_unique<CoinbaseParser>();
}

std::unique_ptr<ControlProtocol> CoinbaseVenue::make_control() const { return std::make_unique<CoinbaseControl>(); }

absl::StatusOr<std::unique_ptr<ControlProtocol>> CoinbaseVenue::make_control_for(const config::FeedConfig& feed) const {
  if (feed.key_file.empty()) return make_control();
  auto signer = JwtSigner::load(feed.key_file);
  if (!signer.ok()) return signer.status();
  return std::make_unique<CoinbaseControl>(*std::move(signer));
}

}  // namespace tickwire::connector::venues::coinbase
