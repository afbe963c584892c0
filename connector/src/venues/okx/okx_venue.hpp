// OkxVenue: the `exchange = "okx"` adapter (OKX v5 public streams, see
// venue.hpp): spot (BTC-USDT), perpetual swaps (BTC-USDT-SWAP, BTC-USD-SWAP)
// and dated futures (BTC-USD-250627) on wss://ws.okx.com:8443/ws/v5/public,
// or /ws/v5/business for a feed of trades-all. Books are in-stream (a
// snapshot, then updates chained by prevSeqId == the previous seqId),
// resynced by resubscribing the instrument's books channel.
#pragma once

#include <simdjson.h>

#include "tickwire/connector/venue.hpp"
#include "tickwire/connector/venues/okx/parser.hpp"

namespace tickwire::connector::venues::okx {

// OkxControl: {"id":"N","op":"subscribe"|"unsubscribe","args":[{"channel","instId"}..]}
// requests; OKX acknowledges each arg with {"id":"N","event":"subscribe","arg":{..}}
// and refuses with {"id":"N","event":"error","code":"600xx","msg":".."}; the
// app-level ping is the text "ping", answered by the text "pong".
class OkxControl final : public ControlProtocol {
 public:
  std::string subscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  std::string unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  ReplyVerdict classify(const char* data, std::size_t size) override;
  std::string_view ping_text() const override { return "ping"; }
  bool is_pong(const char* data, std::size_t size) const override;

 private:
  simdjson::ondemand::parser parser_;
};

// OkxEndpoint: which v5 public websocket a feed's channels live on.
enum class OkxEndpoint : std::uint8_t { kPublic, kBusiness };

class OkxVenue final : public VenueAdapter {
 public:
  explicit constexpr OkxVenue(OkxEndpoint endpoint) : endpoint_(endpoint) {}
  std::string_view name() const override { return "okx"; }
  const VenueAdapter& for_feed(const config::FeedConfig& feed) const override;
  std::span<const std::string_view> channels() const override;
  std::optional<ChannelKind> channel_kind(std::string_view channel) const override;
  std::string stream_name(std::string_view symbol, std::string_view channel) const override;
  std::string url_with_streams(std::string_view target, const std::vector<std::string>& symbols,
                               const std::vector<std::string>& channels) const override;
  std::string_view ws_url() const override;
  std::string_view rest_url() const override { return "https://www.okx.com"; }
  const VenueLimits& limits() const override;
  BookPolicy book_policy() const override;
  TradeContinuity trade_continuity(ChannelKind channel) const override;
  StreamBootstrap stream_bootstrap(std::string_view channel) const override;
  std::string contract_target(std::string_view symbol, const Instrument& instrument) const override;
  std::string snapshot_target(std::string_view symbol, std::uint32_t limit) const override;
  std::uint64_t snapshot_weight(std::uint32_t limit) const override;
  absl::StatusOr<Instrument> instrument(std::string_view symbol) const override;
  std::unique_ptr<VenueParser> make_parser(const config::FeedConfig& feed) const override;
  std::unique_ptr<ControlProtocol> make_control() const override;

 private:
  OkxEndpoint endpoint_;
};

// The registry holds the public one; for_feed() answers the business one
// for a feed of trades-all.
extern const OkxVenue kOkxPublic;
extern const OkxVenue kOkxBusiness;

}  // namespace tickwire::connector::venues::okx
