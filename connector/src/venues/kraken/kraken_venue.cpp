// The Kraken v2 adapter: public channels subscribed by message, one channel
// and pair per request (one reply each), the instrument channel once before
// the books (their checksum needs its precisions), app-level pings, books
// kept by CRC-32 and resynced by resubscribing, trade ids that step by one.
#include "venues/kraken/kraken_venue.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>

#include "tickwire/connector/venues/kraken/checksum.hpp"
#include "tickwire/connector/venues/kraken/parser.hpp"

namespace tickwire::connector::venues::kraken {
namespace {

// The error Kraken answers a client that sends requests too fast with.
constexpr std::string_view kRateLimited = "Exceeded msg rate";

constexpr std::array<std::string_view, 7> kChannels = {"trade",    "ticker",   "book.10",  "book.25",
                                                       "book.100", "book.500", "book.1000"};

// The quote currencies of Kraken spot pairs, for a pair written without '/'.
constexpr std::array<std::string_view, 14> kQuotes = {"USDT", "USDC", "USD", "EUR", "GBP", "CAD", "JPY",
                                                      "CHF",  "AUD",  "DAI", "BTC", "XBT", "ETH", "PYUSD"};

// asset: Kraken's own asset codes under their usual names.
std::string_view asset(std::string_view code) {
  if (code == "XBT") return "BTC";
  if (code == "XDG") return "DOGE";
  return code;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string request(std::string_view method, std::span<const std::string> streams, std::uint64_t id) {
  // One stream per request (limits().streams_per_message); several that
  // differ only in their pair become one request naming them all.
  std::string params = streams.empty() ? std::string("{}") : streams[0];
  constexpr std::string_view kSymbol = R"("symbol":[)";
  const auto at = params.find(kSymbol);
  if (streams.size() > 1 && at != std::string::npos) {
    const auto close = params.find(']', at);
    std::string symbols = params.substr(at + kSymbol.size(), close - at - kSymbol.size());
    for (std::size_t i = 1; i < streams.size(); ++i) {
      const auto a = streams[i].find(kSymbol);
      const auto c = a == std::string::npos ? a : streams[i].find(']', a);
      if (c == std::string::npos) continue;
      symbols += ',';
      symbols += streams[i].substr(a + kSymbol.size(), c - a - kSymbol.size());
    }
    params = params.substr(0, at + kSymbol.size()) + symbols + params.substr(close);
  }
  return fmt::format(R"({{"method":"{}","params":{},"req_id":{}}})", method, params, id);
}

}  // namespace

const KrakenVenue kKraken{};

std::uint32_t book_depth(std::string_view channel) {
  if (!channel.starts_with("book.")) return 0;
  std::uint32_t depth = 0;
  const std::string_view n = channel.substr(5);
  const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), depth);
  if (ec != std::errc{} || end != n.data() + n.size()) return 0;
  return depth == 10 || depth == 25 || depth == 100 || depth == 500 || depth == 1000 ? depth : 0;
}

std::string KrakenControl::subscribe_message(std::span<const std::string> streams, std::uint64_t id) const {
  return request("subscribe", streams, id);
}

std::string KrakenControl::unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const {
  return request("unsubscribe", streams, id);
}

ReplyVerdict KrakenControl::classify(const char* data, std::size_t size) {
  // Data has "channel"; replies to our requests have "method" (subscribe or
  // unsubscribe) and "success"; a bare "error" refuses what is pending, and
  // "Exceeded msg rate" says we send too fast (the session slows down and
  // sends the request again). Kraken's rate-limit guide spells that reply's
  // key "Error" ({"Error":"Exceeded msg rate"}): both spellings are taken.
  // Keys in any order: replies are short, data frames stop at "channel",
  // which Kraken sends first.
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser_.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS) {
    return {};
  }
  bool has_success = false, success = false, has_error = false;
  ReplyVerdict v;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return {};
    if (key == "channel") return {};
    if (key == "method") {
      std::string_view method;
      if (field.value().get_string().get(method) != simdjson::SUCCESS) return {};
      if (method != "subscribe" && method != "unsubscribe") return {};  // a pong: is_pong's
    } else if (key == "success") {
      has_success = field.value().get_bool().get(success) == simdjson::SUCCESS;
    } else if (key == "error" || key == "Error") {
      has_error = true;
      std::string_view error;
      v.rate_limited = field.value().get_string().get(error) == simdjson::SUCCESS && error == kRateLimited;
    } else if (key == "req_id") {
      v.has_id = field.value().get_uint64().get(v.id) == simdjson::SUCCESS;
      if (!v.has_id) v.id = 0;
    }
  }
  if (!has_success && !has_error) return {};
  v.kind = has_success && success && !has_error ? ReplyVerdict::kAck : ReplyVerdict::kRejected;
  return v;
}

bool KrakenControl::is_pong(const char* data, std::size_t size) const {
  // Pongs are short; no data frame holds this key/value pair.
  if (size > 256) return false;
  return std::string_view(data, size).find(R"("method":"pong")") != std::string_view::npos;
}

std::span<const std::string_view> KrakenVenue::channels() const { return kChannels; }

std::optional<ChannelKind> KrakenVenue::channel_kind(std::string_view channel) const {
  if (channel == "trade") return ChannelKind::kTrade;
  if (channel == "ticker") return ChannelKind::kQuote;
  if (book_depth(channel) != 0) return ChannelKind::kDepth;
  return std::nullopt;  // "instrument" is reference data, not a stream of its own
}

std::string KrakenVenue::stream_name(std::string_view symbol, std::string_view channel) const {
  if (channel == "instrument") return R"({"channel":"instrument"})";
  if (const std::uint32_t depth = book_depth(channel); depth != 0) {
    return fmt::format(R"({{"channel":"book","symbol":["{}"],"depth":{}}})", symbol, depth);
  }
  if (channel == "ticker") {
    // The ticker is our quote: published on every change of the best bid or
    // offer ("bbo"), not only on trades (Kraken's default, "trades").
    return fmt::format(R"({{"channel":"ticker","symbol":["{}"],"event_trigger":"bbo"}})", symbol);
  }
  return fmt::format(R"({{"channel":"{}","symbol":["{}"]}})", channel, symbol);
}

std::string KrakenVenue::url_with_streams(std::string_view target, const std::vector<std::string>&,
                                          const std::vector<std::string>&) const {
  return std::string(target);  // Kraken subscribes by message only (config requires subscribe = "message")
}

const VenueLimits& KrakenVenue::limits() const {
  // One channel and pair per request (one reply each); Kraken's message rate
  // limit is dynamic ("Exceeded msg rate"), so requests are spaced by 100 ms;
  // no documented stream or lifetime limit (1000 streams, 24 h rollover are
  // ours); no verified connection rate, so a conservative 150 per 5 minutes.
  static const VenueLimits kLimits{1, 1000, std::chrono::milliseconds(100), std::chrono::hours(24), 150, 32};
  return kLimits;
}

BookPolicy KrakenVenue::book_policy() const {
  return {BookIntegrity::kStreamChecksum, ResyncAction::kResubscribe, {},
          static_cast<std::uint32_t>(kChecksumLevels)};
}

TradeContinuity KrakenVenue::trade_continuity(ChannelKind) const {
  return TradeContinuity::kContiguous;  // v2 trade_id is sequential per pair
}

std::string KrakenVenue::snapshot_target(std::string_view, std::uint32_t) const { return {}; }

std::uint64_t KrakenVenue::snapshot_weight(std::uint32_t) const { return 0; }

absl::StatusOr<Instrument> KrakenVenue::instrument(std::string_view symbol) const {
  std::string_view base, quote;
  if (const auto slash = symbol.find('/'); slash != std::string_view::npos) {
    base = symbol.substr(0, slash);
    quote = symbol.substr(slash + 1);
  } else {
    for (std::string_view q : kQuotes) {
      if (symbol.size() > q.size() && symbol.ends_with(q)) {
        base = symbol.substr(0, symbol.size() - q.size());
        quote = q;
        break;
      }
    }
  }
  if (!is_token(base) || !is_token(quote)) {
    return absl::InvalidArgumentError(fmt::format(
        "symbol {:?}: expected a Kraken pair \"BASE/QUOTE\" (e.g. \"BTC/USD\") or one ending in a known quote", symbol));
  }
  return Instrument{fmt::format("{}-{}", asset(base), asset(quote)), InstrumentKind::kSpot};
}

std::unique_ptr<VenueParser> KrakenVenue::make_parser(const config::FeedConfig& feed) const {
  return std::make_unique<KrakenParser>(feed.symbols);
}

std::unique_ptr<ControlProtocol> KrakenVenue::make_control() const { return std::make_unique<KrakenControl>(); }

}  // namespace tickwire::connector::venues::kraken
