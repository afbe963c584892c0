// The Binance spot adapter: wss://stream.binance.com:9443, REST snapshots
// from /api/v3/depth, diffs continued by U == previous u + 1, contiguous
// trade and aggregate-trade ids, websocket protocol pings.
#include "venues/binance/binance_venue.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "tickwire/connector/venues/binance/parser.hpp"
#include "tickwire/connector/ws_url.hpp"
#include "venues/binance/binance_common.hpp"

namespace tickwire::connector::venues::binance {
namespace {

constexpr std::array<std::string_view, 4> kSpotChannels = {"trade", "aggTrade", "bookTicker", "depth@100ms"};

}  // namespace

std::span<const std::string_view> BinanceSpotVenue::channels() const { return kSpotChannels; }

std::optional<ChannelKind> BinanceSpotVenue::channel_kind(std::string_view channel) const {
  if (channel == "trade") return ChannelKind::kTrade;
  if (channel == "aggTrade") return ChannelKind::kAggTrade;
  if (channel == "bookTicker") return ChannelKind::kQuote;
  if (channel == "depth@100ms") return ChannelKind::kDepth;
  return std::nullopt;
}

std::string BinanceSpotVenue::stream_name(std::string_view symbol, std::string_view channel) const {
  return connector::stream_name(symbol, channel);
}

std::string BinanceSpotVenue::url_with_streams(std::string_view target, const std::vector<std::string>& symbols,
                                               const std::vector<std::string>& channels) const {
  return with_streams(target, symbols, channels);
}

const VenueLimits& BinanceSpotVenue::limits() const {
  // 1024 streams per connection, 5 incoming control messages per second
  // (250 ms spacing leaves room for a ping), 300 connection attempts per
  // 5 minutes per IP, a connection lives 24 h.
  static const VenueLimits kLimits{200, 1024, std::chrono::milliseconds(250), std::chrono::hours(24), 300, 32};
  return kLimits;
}

BookPolicy BinanceSpotVenue::book_policy() const {
  return {BookIntegrity::kRestSnapshotFirstId, ResyncAction::kRestSnapshot, "/api/v3/depth", 0};
}

TradeContinuity BinanceSpotVenue::trade_continuity(ChannelKind) const { return TradeContinuity::kContiguous; }

std::string BinanceSpotVenue::snapshot_target(std::string_view symbol, std::uint32_t limit) const {
  return fmt::format("/api/v3/depth?symbol={}&limit={}", symbol, limit);
}

std::uint64_t BinanceSpotVenue::snapshot_weight(std::uint32_t limit) const {
  // GET /api/v3/depth: weight by limit.
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}

absl::StatusOr<Instrument> BinanceSpotVenue::instrument(std::string_view symbol) const {
  auto split = split_symbol(symbol);
  if (!split.ok()) return split.status();
  return Instrument{fmt::format("{}-{}", split->first, split->second), InstrumentKind::kSpot};
}

std::unique_ptr<VenueParser> BinanceSpotVenue::make_parser(const config::FeedConfig& feed) const {
  auto parser = std::make_unique<BinanceParser>(BinanceDialect::kSpot);
  if (feed.time_unit == "us") parser->set_time_unit(TimeUnit::kMicroseconds);
  return parser;
}

std::unique_ptr<ControlProtocol> BinanceSpotVenue::make_control() const { return std::make_unique<BinanceControl>(); }

}  // namespace tickwire::connector::venues::binance
