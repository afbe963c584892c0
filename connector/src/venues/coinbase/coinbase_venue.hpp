// CoinbaseVenue: the `exchange = "coinbase"` adapter (Coinbase Advanced Trade
// public market data, wss://advanced-trade-ws.coinbase.com, see venue.hpp).
// Products are "BTC-USD"; one channel per subscribe message, "heartbeats" on
// every connection; books are in-stream (a level2 snapshot after each
// subscribe, then updates with absolute quantities) and kept whole by the
// connection's one sequence_num, resynced by resubscribing the product.
#pragma once

#include <simdjson.h>

#include <optional>

#include "tickwire/connector/venue.hpp"
#include "tickwire/connector/venues/coinbase/jwt.hpp"

namespace tickwire::connector::venues::coinbase {

// CoinbaseControl: {"type":"subscribe"|"unsubscribe","product_ids":[..],"channel":".."}
// requests, one (channel, product) each: a stream name is the request's body
// after "type". With a signer (the feed's key_file) each request also carries
// "jwt", a token signed for it when it is written (Coinbase wants a new one
// per message; they live 2 min). The venue answers every one with a "subscriptions" message
// naming all current subscriptions and no request id, in request order (so a
// reply acknowledges the oldest request), which also carries the connection's
// sequence_num and so is handed on to the pipeline too; a refusal is
// {"type":"error","message":".."}. Liveness: websocket protocol pings (and the
// heartbeats channel's message every second).
class CoinbaseControl final : public ControlProtocol {
 public:
  CoinbaseControl() = default;
  explicit CoinbaseControl(JwtSigner signer) : signer_(std::move(signer)) {}
  std::string subscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  std::string unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  ReplyVerdict classify(const char* data, std::size_t size) override;

 private:
  // request: the request of `type` for streams[0], signed when there is a signer.
  std::string request(std::string_view type, std::span<const std::string> streams) const;

  std::optional<JwtSigner> signer_;
  simdjson::ondemand::parser parser_;
};

class CoinbaseVenue final : public VenueAdapter {
 public:
  std::string_view name() const override { return "coinbase"; }
  std::span<const std::string_view> channels() const override;
  std::optional<ChannelKind> channel_kind(std::string_view channel) const override;
  std::string stream_name(std::string_view symbol, std::string_view channel) const override;
  std::string url_with_streams(std::string_view target, const std::vector<std::string>& symbols,
                               const std::vector<std::string>& channels) const override;
  std::string_view ws_url() const override { return "wss://advanced-trade-ws.coinbase.com"; }
  std::string_view rest_url() const override { return "https://api.coinbase.com"; }
  const VenueLimits& limits() const override;
  BookPolicy book_policy() const override;
  TradeContinuity trade_continuity(ChannelKind channel) const override;
  std::string snapshot_target(std::string_view symbol, std::uint32_t limit) const override;
  std::uint64_t snapshot_weight(std::uint32_t limit) const override;
  absl::StatusOr<Instrument> instrument(std::string_view symbol) const override;
  std::unique_ptr<VenueParser> make_parser(const config::FeedConfig& feed) const override;
  std::unique_ptr<ControlProtocol> make_control() const override;
  absl::StatusOr<std::unique_ptr<ControlProtocol>> make_control_for(const config::FeedConfig& feed) const override;
  std::vector<std::string> connection_streams() const override;
  std::size_t symbols_per_connection(const config::FeedConfig& feed) const override;
};

extern const CoinbaseVenue kCoinbase;

}  // namespace tickwire::connector::venues::coinbase
