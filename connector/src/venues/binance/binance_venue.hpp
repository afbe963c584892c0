// BinanceSpotVenue: the `exchange = "binance"` adapter (see venue.hpp).
#pragma once

#include "tickwire/connector/venue.hpp"

namespace tickwire::connector::venues::binance {

class BinanceSpotVenue final : public VenueAdapter {
 public:
  std::string_view name() const override { return "binance"; }
  std::span<const std::string_view> channels() const override;
  std::optional<ChannelKind> channel_kind(std::string_view channel) const override;
  std::string stream_name(std::string_view symbol, std::string_view channel) const override;
  std::string url_with_streams(std::string_view target, const std::vector<std::string>& symbols,
                               const std::vector<std::string>& channels) const override;
  std::string_view ws_url() const override { return "wss://stream.binance.com:9443/stream"; }
  std::string_view rest_url() const override { return "https://api.binance.com"; }
  const VenueLimits& limits() const override;
  BookPolicy book_policy() const override;
  TradeContinuity trade_continuity(ChannelKind channel) const override;
  std::string snapshot_target(std::string_view symbol, std::uint32_t limit) const override;
  std::uint64_t snapshot_weight(std::uint32_t limit) const override;
  absl::StatusOr<Instrument> instrument(std::string_view symbol) const override;
  std::unique_ptr<VenueParser> make_parser(const config::FeedConfig& feed) const override;
  std::unique_ptr<ControlProtocol> make_control() const override;
};

}  // namespace tickwire::connector::venues::binance
