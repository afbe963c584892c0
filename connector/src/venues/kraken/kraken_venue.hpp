// KrakenVenue: the `exchange = "kraken"` adapter (Kraken spot websocket v2,
// wss://ws.kraken.com/v2, see venue.hpp). Pairs are written as Kraken writes
// them ("BTC/USD"; the instrument is "BTC-USD", and Kraken's XBT and XDG
// mean BTC and DOGE). Every subscription is one request for one channel and
// one pair, acknowledged by one reply; books are checked by CRC-32 after
// every message and resynced by resubscribing the pair's book.
#pragma once

#include <simdjson.h>

#include "tickwire/connector/venue.hpp"

namespace tickwire::connector::venues::kraken {

// KrakenControl: {"method":"subscribe"|"unsubscribe","params":{..},"req_id":N}
// requests (a stream name is the request's params); replies carry "method",
// "success" and the request's "req_id" (data has "channel"); a bare
// {"error":".."} refuses whatever is pending; the rate limit's "Exceeded msg
// rate" is marked rate_limited (the session slows down and sends the request
// again). The app-level ping {"method":"ping"} is answered by
// {"method":"pong",..}.
class KrakenControl final : public ControlProtocol {
 public:
  std::string subscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  std::string unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  ReplyVerdict classify(const char* data, std::size_t size) override;
  std::string_view ping_text() const override { return R"({"method":"ping"})"; }
  bool is_pong(const char* data, std::size_t size) const override;

 private:
  simdjson::ondemand::parser parser_;
};

// book_depth: the depth of a book channel ("book.25" -> 25), 0 if not one.
std::uint32_t book_depth(std::string_view channel);

class KrakenVenue final : public VenueAdapter {
 public:
  std::string_view name() const override { return "kraken"; }
  std::span<const std::string_view> channels() const override;
  std::optional<ChannelKind> channel_kind(std::string_view channel) const override;
  // stream_name: the subscribe params, e.g. {"channel":"book","symbol":["BTC/USD"],"depth":10};
  // the instrument channel is one stream for every pair: {"channel":"instrument"}.
  std::string stream_name(std::string_view symbol, std::string_view channel) const override;
  std::string url_with_streams(std::string_view target, const std::vector<std::string>& symbols,
                               const std::vector<std::string>& channels) const override;
  std::string_view ws_url() const override { return "wss://ws.kraken.com/v2"; }
  std::string_view rest_url() const override { return "https://api.kraken.com"; }
  const VenueLimits& limits() const override;
  BookPolicy book_policy() const override;
  TradeContinuity trade_continuity(ChannelKind channel) const override;
  std::uint32_t book_depth(std::string_view channel) const override { return kraken::book_depth(channel); }
  std::string snapshot_target(std::string_view symbol, std::uint32_t limit) const override;
  std::uint64_t snapshot_weight(std::uint32_t limit) const override;
  absl::StatusOr<Instrument> instrument(std::string_view symbol) const override;
  std::unique_ptr<VenueParser> make_parser(const config::FeedConfig& feed) const override;
  std::unique_ptr<ControlProtocol> make_control() const override;
};

extern const KrakenVenue kKraken;

}  // namespace tickwire::connector::venues::kraken
