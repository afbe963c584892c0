// The Binance USD-M futures adapter: wss://fstream.binance.com, REST
// snapshots from /fapi/v1/depth, diffs chained by "pu" == previous "u" (the
// spot rule U == previous u + 1 does not hold on futures and is not checked),
// contiguous aggregate-trade ids but raw trade ids that only increase (the
// trade stream carries market trades only; insurance-fund and ADL fills use
// ids too), markPrice (funding) and forceOrder (liquidations).
#include "venues/binance-usdm/binance_usdm_venue.hpp"

#include <fmt/format.h>

#include <array>

#include "tickwire/connector/venues/binance/parser.hpp"
#include "tickwire/connector/ws_url.hpp"
#include "venues/binance/binance_common.hpp"

namespace tickwire::connector::venues::binance {
namespace {

constexpr std::array<std::string_view, 10> kUsdmChannels = {
    "trade",       "aggTrade",    "bookTicker", "depth",     "depth@100ms",
    "depth@500ms", "depth@0ms",   "markPrice",  "markPrice@1s", "forceOrder"};

}  // namespace

std::span<const std::string_view> BinanceUsdmVenue::channels() const { return kUsdmChannels; }

std::optional<ChannelKind> BinanceUsdmVenue::channel_kind(std::string_view channel) const {
  if (channel == "trade") return ChannelKind::kTrade;
  if (channel == "aggTrade") return ChannelKind::kAggTrade;
  if (channel == "bookTicker") return ChannelKind::kQuote;
  if (channel == "depth" || channel == "depth@100ms" || channel == "depth@500ms" || channel == "depth@0ms") {
    return ChannelKind::kDepth;
  }
  if (channel == "markPrice" || channel == "markPrice@1s") return ChannelKind::kFunding;
  if (channel == "forceOrder") return ChannelKind::kLiquidation;
  return std::nullopt;
}

std::string BinanceUsdmVenue::stream_name(std::string_view symbol, std::string_view channel) const {
  return connector::stream_name(symbol, channel);
}

std::string BinanceUsdmVenue::url_with_streams(std::string_view target, const std::vector<std::string>& symbols,
                                               const std::vector<std::string>& channels) const {
  return with_streams(target, symbols, channels);
}

const VenueLimits& BinanceUsdmVenue::limits() const {
  // 200 streams per SUBSCRIBE, 1024 streams per connection (the USD-M
  // "Websocket Market Streams" page; it was 200 before), 10 incoming control
  // messages per second (150 ms spacing leaves room for pings), a connection
  // lives 24 h.
  static const VenueLimits kLimits{200, 1024, std::chrono::milliseconds(150), std::chrono::hours(24), 300, 32};
  return kLimits;
}

BookPolicy BinanceUsdmVenue::book_policy() const {
  return {BookIntegrity::kRestSnapshotPrevId, ResyncAction::kRestSnapshot, "/fapi/v1/depth", 0};
}

TradeContinuity BinanceUsdmVenue::trade_continuity(ChannelKind channel) const {
  return channel == ChannelKind::kAggTrade ? TradeContinuity::kContiguous : TradeContinuity::kIncreasing;
}

std::string BinanceUsdmVenue::snapshot_target(std::string_view symbol, std::uint32_t limit) const {
  return fmt::format("/fapi/v1/depth?symbol={}&limit={}", symbol, limit);
}

std::uint64_t BinanceUsdmVenue::snapshot_weight(std::uint32_t limit) const {
  // GET /fapi/v1/depth: 2 / 5 / 10 / 20 by limit.
  if (limit <= 50) return 2;
  if (limit <= 100) return 5;
  if (limit <= 500) return 10;
  return 20;
}

absl::StatusOr<Instrument> BinanceUsdmVenue::instrument(std::string_view symbol) const {
  // "BTCUSDT" is the perpetual; "BTCUSDT_240628" the quarterly delivering 2024-06-28.
  const auto underscore = symbol.find('_');
  auto split = split_symbol(symbol.substr(0, underscore));
  if (!split.ok()) return split.status();
  if (underscore == std::string_view::npos) {
    return Instrument{fmt::format("{}-{}-PERP", split->first, split->second), InstrumentKind::kPerpetual};
  }
  const std::string_view expiry = symbol.substr(underscore + 1);
  if (expiry.empty()) return absl::InvalidArgumentError(fmt::format("symbol {:?}: empty expiry after '_'", symbol));
  return Instrument{fmt::format("{}-{}-{}", split->first, split->second, expiry), InstrumentKind::kFuture};
}

std::unique_ptr<VenueParser> BinanceUsdmVenue::make_parser(const config::FeedConfig& feed) const {
  auto parser = std::make_unique<BinanceParser>(BinanceDialect::kUsdm);
  if (feed.time_unit == "us") parser->set_time_unit(TimeUnit::kMicroseconds);
  return parser;
}

std::unique_ptr<ControlProtocol> BinanceUsdmVenue::make_control() const { return std::make_unique<BinanceControl>(); }

}  // namespace tickwire::connector::venues::binance
