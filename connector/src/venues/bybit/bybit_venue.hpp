// BybitVenue: the `exchange = "bybit"` adapter (Bybit v5 public streams, see
// venue.hpp) in one of two categories, picked per feed by `category`: spot
// (wss://stream.bybit.com/v5/public/spot) or linear perpetuals
// (/v5/public/linear). Books are in-stream (snapshot, then deltas whose "u"
// steps by one), resynced by resubscribing the symbol's topic.
#pragma once

#include <simdjson.h>

#include "tickwire/connector/venue.hpp"
#include "tickwire/connector/venues/bybit/parser.hpp"

namespace tickwire::connector::venues::bybit {

// BybitControl: {"req_id":"N","op":"subscribe"|"unsubscribe","args":[topics]}
// requests; their replies carry "success" and the request's "req_id" (a
// reply is told from data by having no "topic"); the app-level ping
// {"op":"ping"} is answered by {"success":true,"ret_msg":"pong",..,"op":"ping"}
// (spot) or {"op":"pong","args":[..],..} (linear).
class BybitControl final : public ControlProtocol {
 public:
  std::string subscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  std::string unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const override;
  ReplyVerdict classify(const char* data, std::size_t size) override;
  std::string_view ping_text() const override { return R"({"op":"ping"})"; }
  bool is_pong(const char* data, std::size_t size) const override;

 private:
  simdjson::ondemand::parser parser_;
};

class BybitVenue final : public VenueAdapter {
 public:
  explicit constexpr BybitVenue(BybitCategory category) : category_(category) {}
  std::string_view name() const override { return "bybit"; }
  std::string_view category() const override;
  const VenueAdapter& for_feed(const config::FeedConfig& feed) const override;
  std::span<const std::string_view> channels() const override;
  std::optional<ChannelKind> channel_kind(std::string_view channel) const override;
  std::string stream_name(std::string_view symbol, std::string_view channel) const override;
  std::string url_with_streams(std::string_view target, const std::vector<std::string>& symbols,
                               const std::vector<std::string>& channels) const override;
  std::string_view ws_url() const override;
  std::string_view rest_url() const override { return "https://api.bybit.com"; }
  const VenueLimits& limits() const override;
  BookPolicy book_policy() const override;
  TradeContinuity trade_continuity(ChannelKind channel) const override;
  StreamBootstrap stream_bootstrap(std::string_view channel) const override;
  std::string snapshot_target(std::string_view symbol, std::uint32_t limit) const override;
  std::uint64_t snapshot_weight(std::uint32_t limit) const override;
  absl::StatusOr<Instrument> instrument(std::string_view symbol) const override;
  std::unique_ptr<VenueParser> make_parser(const config::FeedConfig& feed) const override;
  std::unique_ptr<ControlProtocol> make_control() const override;

 private:
  BybitCategory category_;
};

// The two category adapters; the registry holds the spot one, whose
// for_feed() answers the linear one for `category = "linear"`.
extern const BybitVenue kBybitSpot;
extern const BybitVenue kBybitLinear;

}  // namespace tickwire::connector::venues::bybit
