// [[feeds]]: one table per websocket connection, validated field by field, then
// across feeds (names are unique because they become subject tokens).
#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "sections.hpp"

namespace tickwire::config::detail {
namespace {

// The venues and their channels, as connector/src/venues/ registers them
// (config does not link the connector; a connector test checks they agree).
constexpr std::string_view kExchanges[] = {"binance", "binance-usdm", "bybit", "okx", "kraken", "coinbase"};
// The exchanges the embedded simulator (sim://) speaks (docs/venues.md).
constexpr std::string_view kSimDialects[] = {"binance", "binance-usdm", "bybit", "okx", "kraken", "coinbase"};
constexpr std::string_view kSpotChannels[] = {"trade", "aggTrade", "bookTicker", "depth@100ms"};
constexpr std::string_view kUsdmChannels[] = {"trade",       "aggTrade",  "bookTicker", "depth",        "depth@100ms",
                                              "depth@500ms", "depth@0ms", "markPrice",  "markPrice@1s", "forceOrder"};
constexpr std::string_view kBybitCategories[] = {"spot", "linear"};
constexpr std::string_view kBybitSpotChannels[] = {"publicTrade",    "orderbook.1",   "orderbook.50", "orderbook.200",
                                                   "orderbook.1000", "orderbook.full"};
constexpr std::string_view kBybitLinearChannels[] = {"publicTrade",    "orderbook.1", "orderbook.50",  "orderbook.200",
                                                     "orderbook.1000", "tickers",     "allLiquidation"};
// Kraken v2: "instrument" is reference data (the books' precisions), subscribed
// once per connection before the books; the others are per pair.
constexpr std::string_view kKrakenChannels[] = {"trade",    "ticker",   "book.10",   "book.25",
                                                "book.100", "book.500", "book.1000", "instrument"};
constexpr std::string_view kCoinbaseChannels[] = {"level2", "market_trades", "ticker"};
// Coinbase: the level2 snapshot of a busy product (BTC-USD: tens of thousands
// of levels, each ~110 bytes of JSON) is one frame; the default frame limit
// holds it with room (ccxt raised its own to 100 MB).
constexpr std::size_t kCoinbaseFrameBytes = std::size_t{64} << 20;
// Coinbase refuses "too many L2 streams" above about 16 products per connection.
constexpr std::uint32_t kCoinbaseMaxLevel2Products = 16;
// Bybit: characters of subscription args ("<channel>.<SYMBOL>") per connection.
constexpr std::size_t kBybitMaxArgsChars = 21'000;
// OKX v5: channels as OKX names them; trades-all lives on /ws/v5/business, the rest on /ws/v5/public.
constexpr std::string_view kOkxChannels[] = {"trades",       "trades-all", "books",         "books5",
                                             "bbo-tbt",      "tickers",    "funding-rate",  "mark-price",
                                             "open-interest", "liquidation-orders"};
constexpr std::string_view kSubscribeModes[] = {"url", "message"};
constexpr std::uint32_t kDepthLimits[] = {100, 500, 1000, 5000};
constexpr std::uint64_t kMinFrameBytes = 1u << 10;
constexpr std::uint64_t kMaxFrameBytes = 1u << 30;

bool is_symbol(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// is_product: a Coinbase product id, "BASE-QUOTE" in upper-case letters and digits.
bool is_product(std::string_view text) {
  const auto dash = text.find('-');
  return dash != std::string_view::npos && is_symbol(text.substr(0, dash)) && is_symbol(text.substr(dash + 1));
}

template <std::size_t N>
std::string one_of(const std::string_view (&names)[N]) {
  std::string out;
  for (std::string_view name : names) out += out.empty() ? fmt::format("\"{}\"", name)
                                                         : fmt::format(", \"{}\"", name);
  return out;
}

template <typename T, std::size_t N, typename V>
bool contains(const T (&names)[N], const V& value) {
  return std::find(std::begin(names), std::end(names), value) != std::end(names);
}

// A list of tokens: non-empty, every entry accepted by `valid`, no repeats.
template <typename Valid>
absl::Status check_list(const TableView& t, std::string_view key,
                        const std::vector<std::string>& values, std::string_view expected,
                        Valid valid) {
  if (values.empty()) {
    return t.invalid(key, "expected a non-empty list of strings, got an empty list");
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!valid(values[i])) {
      return t.invalid_element(key, i, fmt::format("expected {}, got {:?}", expected, values[i]));
    }
    const auto first = std::find(values.begin(), values.end(), values[i]);
    if (first != values.begin() + static_cast<std::ptrdiff_t>(i)) {
      return t.invalid_element(
          key, i, fmt::format("expected no repeats, got {:?} again (also at index {})", values[i],
                              first - values.begin()));
    }
  }
  return absl::OkStatus();
}

// ws/wss authority: host[:port], the host possibly a bracketed IPv6 address.
std::string authority_error(std::string_view url, std::string_view authority) {
  std::string_view host = authority;
  std::string_view port;
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  if (has_port) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") {
    return fmt::format("expected a host after the scheme, got {:?}", url);
  }
  if (has_port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return fmt::format("expected a port between 1 and 65535, got {:?}", url);
    }
  }
  return {};
}

// Bybit: the category's channels, one book depth per feed (each symbol has
// one book), and at most 21,000 characters of topics per connection.
absl::Status check_bybit_channels(const TableView& t, const FeedConfig& feed) {
  const bool spot = feed.category == "spot";
  auto s = spot ? check_list(t, "channels", feed.channels,
                             fmt::format("one of {} (exchange \"bybit\", category \"spot\")", one_of(kBybitSpotChannels)),
                             [](std::string_view c) { return contains(kBybitSpotChannels, c); })
                : check_list(t, "channels", feed.channels,
                             fmt::format("one of {} (exchange \"bybit\", category \"linear\")",
                                         one_of(kBybitLinearChannels)),
                             [](std::string_view c) { return contains(kBybitLinearChannels, c); });
  if (!s.ok()) return s;
  std::size_t books = 0;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < feed.channels.size(); ++i) {
    if (feed.channels[i].starts_with("orderbook.") && ++books > 1) {
      return t.invalid_element("channels", i,
                               fmt::format("expected one orderbook depth per feed (a symbol has one book), got {:?} "
                                           "beside another",
                                           feed.channels[i]));
    }
    for (const auto& symbol : feed.symbols) chars += feed.channels[i].size() + 1 + symbol.size();
  }
  if (chars > kBybitMaxArgsChars) {
    return t.invalid("symbols", fmt::format("expected at most {} characters of topics per Bybit connection, got {} "
                                            "({} symbols x {} channels); split the feed",
                                            kBybitMaxArgsChars, chars, feed.symbols.size(), feed.channels.size()));
  }
  return absl::OkStatus();
}

// OKX instIds: "BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-250627".
bool is_okx_symbol(std::string_view text) {
  return !text.empty() && text.front() != '-' && text.back() != '-' &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; });
}

// OKX: its channels, one book channel and one quote channel per feed (each
// has its own id space), trades-all alone (it lives on another endpoint),
// funding-rate for swaps only.
absl::Status check_okx_channels(const TableView& t, const FeedConfig& feed) {
  auto s = check_list(t, "channels", feed.channels,
                      fmt::format("one of {} (exchange \"okx\")", one_of(kOkxChannels)),
                      [](std::string_view c) { return contains(kOkxChannels, c); });
  if (!s.ok()) return s;
  std::size_t books = 0, quotes = 0;
  for (std::size_t i = 0; i < feed.channels.size(); ++i) {
    const std::string& c = feed.channels[i];
    if ((c == "books" || c == "books5") && ++books > 1) {
      return t.invalid_element("channels", i, fmt::format("expected one book channel per feed (a symbol has one "
                                                          "book), got {:?} beside another", c));
    }
    if ((c == "bbo-tbt" || c == "tickers") && ++quotes > 1) {
      return t.invalid_element("channels", i, fmt::format("expected one quote channel per feed (bbo-tbt or tickers), "
                                                          "got {:?} beside another", c));
    }
    if (c == "trades-all" && feed.channels.size() > 1) {
      return t.invalid_element("channels", i, "expected \"trades-all\" alone: it lives on /ws/v5/business, the "
                                              "other channels on /ws/v5/public (one feed is one connection)");
    }
    if (c == "funding-rate") {
      for (const auto& symbol : feed.symbols) {
        if (!symbol.ends_with("-SWAP")) {
          return t.invalid_element("channels", i, fmt::format("expected only swaps (\"...-SWAP\") with "
                                                              "\"funding-rate\", got symbol {:?}", symbol));
        }
      }
    }
    if (c == "liquidation-orders") {
      // Subscribed per instType SWAP or FUTURES: a spot instrument's
      // (margin) liquidations are not on either, so nothing would ever come.
      for (const auto& symbol : feed.symbols) {
        if (std::count(symbol.begin(), symbol.end(), '-') < 2) {
          return t.invalid_element("channels", i, fmt::format("expected only swaps and futures with "
                                                              "\"liquidation-orders\" (it is read per instType SWAP "
                                                              "or FUTURES), got spot symbol {:?}", symbol));
        }
      }
    }
  }
  return absl::OkStatus();
}

// Kraken: a pair as Kraken v2 writes it ("BTC/USD"), or without the slash.
bool is_kraken_pair(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return is_symbol(text);
  return is_symbol(text.substr(0, slash)) && is_symbol(text.substr(slash + 1));
}

// kraken_asset: Kraken's legacy asset codes under the names v2 uses.
std::string kraken_asset(std::string_view code) {
  if (code == "XBT") return "BTC";
  if (code == "XDG") return "DOGE";
  return std::string(code);
}

// Kraken: XBT and XDG pairs written as v2 writes them (BTC, DOGE), the
// channels known, one book depth per feed, and the instrument channel first
// whenever there is a book (its precisions verify the book's checksums).
absl::Status check_kraken_channels(const TableView& t, FeedConfig& feed) {
  for (auto& symbol : feed.symbols) {
    const auto slash = symbol.find('/');
    if (slash != std::string::npos) {
      symbol = kraken_asset(std::string_view(symbol).substr(0, slash)) + "/" +
               kraken_asset(std::string_view(symbol).substr(slash + 1));
    }
  }
  if (auto s = check_list(t, "symbols", feed.symbols, "a Kraken pair (\"BTC/USD\")", is_kraken_pair); !s.ok()) {
    return s;
  }
  auto s = check_list(t, "channels", feed.channels,
                      fmt::format("one of {} (exchange \"kraken\")", one_of(kKrakenChannels)),
                      [](std::string_view c) { return contains(kKrakenChannels, c); });
  if (!s.ok()) return s;
  std::size_t books = 0;
  for (std::size_t i = 0; i < feed.channels.size(); ++i) {
    if (feed.channels[i].starts_with("book.") && ++books > 1) {
      return t.invalid_element("channels", i,
                               fmt::format("expected one book depth per feed (a pair has one book), got {:?} "
                                           "beside another",
                                           feed.channels[i]));
    }
  }
  std::erase(feed.channels, std::string("instrument"));
  if (books > 0) feed.channels.insert(feed.channels.begin(), "instrument");
  return absl::OkStatus();
}

// Coinbase: its channels, and level2_products_per_connection (the connector
// opens one connection per that many products when level2 is subscribed).
absl::Status check_coinbase_channels(const TableView& t, FeedConfig& feed) {
  if (auto s = check_list(t, "channels", feed.channels,
                          fmt::format("one of {} (exchange \"coinbase\")", one_of(kCoinbaseChannels)),
                          [](std::string_view c) { return contains(kCoinbaseChannels, c); });
      !s.ok()) {
    return s;
  }
  if (auto s = t.read_uint32("level2_products_per_connection", feed.level2_products_per_connection, 1); !s.ok()) {
    return s;
  }
  if (feed.level2_products_per_connection > kCoinbaseMaxLevel2Products) {
    return t.invalid("level2_products_per_connection",
                     fmt::format("expected at most {} (Coinbase refuses \"too many L2 streams\" above about that), "
                                 "got {}",
                                 kCoinbaseMaxLevel2Products, feed.level2_products_per_connection));
  }
  return absl::OkStatus();
}

absl::Status read_symbols_and_channels(const TableView& t, FeedConfig& feed) {
  if (auto s = t.read_string_list("symbols", feed.symbols, Presence::kRequired); !s.ok()) return s;
  if (feed.exchange == "okx") {
    if (auto s = check_list(t, "symbols", feed.symbols, "an OKX instId ([A-Z0-9-]+, e.g. \"BTC-USDT-SWAP\")",
                            is_okx_symbol);
        !s.ok()) {
      return s;
    }
    feed.channels = {"trades"};  // the default, in OKX's name
    if (auto s = t.read_string_list("channels", feed.channels, Presence::kOptional); !s.ok()) return s;
    return check_okx_channels(t, feed);
  }
  if (feed.exchange == "kraken") {
    feed.channels = {"trade"};  // the default
    if (auto s = t.read_string_list("channels", feed.channels, Presence::kOptional); !s.ok()) return s;
    return check_kraken_channels(t, feed);
  }
  if (feed.exchange == "coinbase") {
    if (auto s = check_list(t, "symbols", feed.symbols, "a Coinbase product (\"BTC-USD\")", is_product); !s.ok()) {
      return s;
    }
    // Coinbase's public channels serve a "-USDC" product as its "-USD" twin
    // and label the data "-USD" (Advanced Trade channel docs): it would never
    // match the product subscribed. USDT-USDC and EURC-USDC are their own.
    for (std::size_t i = 0; i < feed.symbols.size(); ++i) {
      const std::string& p = feed.symbols[i];
      if (p.ends_with("-USDC") && p != "USDT-USDC" && p != "EURC-USDC") {
        return t.invalid_element(
            "symbols", i,
            fmt::format("expected {:?}: Coinbase's public channels send {}'s data as the USD product's, labelled "
                        "{:?} (only USDT-USDC and EURC-USDC have their own), got {:?}",
                        p.substr(0, p.size() - 1), p, p.substr(0, p.size() - 1), p));
      }
    }
    feed.channels = {"market_trades"};  // the default, in Coinbase's name
    if (auto s = t.read_string_list("channels", feed.channels, Presence::kOptional); !s.ok()) return s;
    return check_coinbase_channels(t, feed);
  }
  if (auto s = check_list(t, "symbols", feed.symbols, "an upper-case symbol ([A-Z0-9]+)", is_symbol);
      !s.ok()) {
    return s;
  }
  if (feed.exchange == "bybit") feed.channels = {"publicTrade"};  // the default, in Bybit's name
  if (auto s = t.read_string_list("channels", feed.channels, Presence::kOptional); !s.ok()) return s;
  if (feed.exchange == "bybit") return check_bybit_channels(t, feed);
  if (feed.exchange == "binance-usdm") {
    return check_list(t, "channels", feed.channels,
                      fmt::format("one of {} (exchange \"binance-usdm\")", one_of(kUsdmChannels)),
                      [](std::string_view c) { return contains(kUsdmChannels, c); });
  }
  return check_list(t, "channels", feed.channels, fmt::format("one of {}", one_of(kSpotChannels)),
                    [](std::string_view c) { return contains(kSpotChannels, c); });
}

std::string rest_url_error(std::string_view url) {
  const auto separator = url.find("://");
  const std::string_view scheme = url.substr(0, separator);
  if (separator == std::string_view::npos || (scheme != "http" && scheme != "https")) {
    return fmt::format("expected \"http://host[:port]\" or \"https://host[:port]\", got {:?}", url);
  }
  const std::string_view rest = url.substr(separator + 3);
  if (rest.find_first_of("/?# \t\r\n") != std::string_view::npos) {
    return fmt::format("expected a scheme and authority only (no path), got {:?}", url);
  }
  return authority_error(url, rest);
}

// The session keys: subscription mode, REST snapshots, liveness, rollover, reconnect.
absl::Status read_session(const TableView& t, FeedConfig& feed) {
  const bool bybit = feed.exchange == "bybit";
  const bool okx = feed.exchange == "okx";
  const bool kraken = feed.exchange == "kraken";
  const bool coinbase = feed.exchange == "coinbase";
  std::size_t mode = feed.subscribe == "message" || bybit || okx || kraken || coinbase ? 1 : 0;
  if (auto s = t.read_choice("subscribe", {"url", "message"}, mode); !s.ok()) return s;
  feed.subscribe = std::string(kSubscribeModes[mode]);
  if (coinbase && feed.subscribe != "message") {
    return t.invalid("subscribe", "expected \"message\" with exchange \"coinbase\" (Coinbase subscribes by message "
                                  "only), got \"url\"");
  }
  if (bybit && feed.subscribe != "message") {
    return t.invalid("subscribe", "expected \"message\" with exchange \"bybit\" (Bybit subscribes by message only), "
                                  "got \"url\"");
  }
  if (okx && feed.subscribe != "message") {
    return t.invalid("subscribe", "expected \"message\" with exchange \"okx\" (OKX subscribes by message only), "
                                  "got \"url\"");
  }
  if (kraken && feed.subscribe != "message") {
    return t.invalid("subscribe", "expected \"message\" with exchange \"kraken\" (Kraken subscribes by message "
                                  "only), got \"url\"");
  }
  if (auto s = t.read_string("rest_url", feed.rest_url, Presence::kOptional); !s.ok()) return s;
  if (!feed.rest_url.empty()) {
    if (auto why = rest_url_error(feed.rest_url); !why.empty()) return t.invalid("rest_url", why);
  }
  if (auto s = t.read_uint32("depth_limit", feed.depth_limit, 1); !s.ok()) return s;
  if (!contains(kDepthLimits, feed.depth_limit)) {
    return t.invalid("depth_limit",
                     fmt::format("expected one of 100, 500, 1000, 5000, got {}", feed.depth_limit));
  }
  if (auto s = t.read_bool("snapshot_on_reconnect", feed.snapshot_on_reconnect); !s.ok()) return s;
  std::size_t unit = feed.time_unit == "us" ? 1 : 0;
  if (auto s = t.read_choice("time_unit", {"ms", "us"}, unit); !s.ok()) return s;
  feed.time_unit = unit == 1 ? "us" : "ms";
  if (feed.time_unit == "us" && okx) {
    return t.invalid("time_unit", "expected \"ms\" with exchange \"okx\" (OKX sends millisecond times)");
  }
  if (feed.time_unit == "us" && coinbase) {
    return t.invalid("time_unit", "expected \"ms\" with exchange \"coinbase\" (Coinbase sends RFC 3339 times, kept "
                                  "to the nanosecond)");
  }
  if (feed.time_unit == "us" && bybit) {
    return t.invalid("time_unit", "expected \"ms\" with exchange \"bybit\" (Bybit sends millisecond times)");
  }
  if (feed.time_unit == "us" && kraken) {
    return t.invalid("time_unit", "expected \"ms\" with exchange \"kraken\" (time_unit is Binance's URL option; "
                                  "Kraken sends RFC 3339 times to the microsecond)");
  }
  if (feed.time_unit == "us" && feed.url == "sim://") {
    return t.invalid("time_unit", "expected \"ms\" with url \"sim://\" (the simulator sends millisecond times)");
  }
  if (auto s = t.read_uint32("ping_interval_ms", feed.ping_interval_ms, 0); !s.ok()) return s;
  if (auto s = t.read_uint32("pong_timeout_ms", feed.pong_timeout_ms, 100); !s.ok()) return s;
  // OKX closes a connection on which nothing arrived for 30 s: our ping must come first.
  const std::uint32_t ping_ms = feed.ping_interval_ms != 0 ? feed.ping_interval_ms : feed.pong_timeout_ms / 2;
  if (okx && ping_ms >= 30'000) {
    return t.invalid(feed.ping_interval_ms != 0 ? "ping_interval_ms" : "pong_timeout_ms",
                     fmt::format("expected a ping within 30 s with exchange \"okx\" (OKX closes a connection silent "
                                 "for 30 s; ping_interval_ms, or pong_timeout_ms / 2 when it is 0, below 30000), got "
                                 "a ping after {} ms",
                                 ping_ms));
  }
  if (auto s = t.read_uint32("stale_after_ms", feed.stale_after_ms, 0); !s.ok()) return s;
  if (auto s = t.read_uint32("resubscribe_timeout_ms", feed.resubscribe_timeout_ms, 100); !s.ok()) return s;
  if (auto s = t.read_uint("max_lifetime_s", feed.max_lifetime_s, 1, 7 * 86'400); !s.ok()) return s;
  if (auto s = t.read_uint32("rollover_overlap_ms", feed.rollover_overlap_ms, 1); !s.ok()) return s;
  if (auto s = t.read_uint32("backoff_initial_ms", feed.backoff_initial_ms, 1); !s.ok()) return s;
  if (auto s = t.read_uint32("backoff_max_ms", feed.backoff_max_ms, 1); !s.ok()) return s;
  if (feed.backoff_max_ms < feed.backoff_initial_ms) {
    return t.invalid("backoff_max_ms", fmt::format("expected >= backoff_initial_ms ({}), got {}",
                                                   feed.backoff_initial_ms, feed.backoff_max_ms));
  }
  if (auto s = t.read_uint32("lag_warn_ms", feed.lag_warn_ms, 0); !s.ok()) return s;
  return t.read_uint32("max_connects_per_5min", feed.max_connects_per_5min, 1);
}

absl::Status read_feed(const TableView& t, FeedConfig& feed) {
  if (auto s = t.check_known({"name", "exchange", "category", "url", "symbols", "channels", "ca_file",
                              "verify_tls", "max_frame_bytes", "subscribe", "rest_url", "depth_limit",
                              "snapshot_on_reconnect", "time_unit", "ping_interval_ms", "pong_timeout_ms", "stale_after_ms",
                              "resubscribe_timeout_ms",
                              "max_lifetime_s", "rollover_overlap_ms", "backoff_initial_ms",
                              "backoff_max_ms", "max_connects_per_5min", "lag_warn_ms",
                              "level2_products_per_connection", "key_file"});
      !s.ok()) {
    return s;
  }
  if (auto s = t.read_string("name", feed.name, Presence::kRequired); !s.ok()) return s;
  if (!is_subject_token(feed.name)) {
    return t.invalid("name", fmt::format("expected a subject token ([a-z0-9_-]+), got {:?}", feed.name));
  }
  if (auto s = t.read_string("exchange", feed.exchange, Presence::kRequired); !s.ok()) return s;
  if (!contains(kExchanges, feed.exchange)) {
    return t.invalid("exchange",
                     fmt::format("expected one of {}, got {:?}", one_of(kExchanges), feed.exchange));
  }
  if (auto s = t.read_string("category", feed.category,
                             feed.exchange == "bybit" ? Presence::kRequired : Presence::kOptional);
      !s.ok()) {
    return s;
  }
  if (feed.exchange == "bybit" && !contains(kBybitCategories, feed.category)) {
    return t.invalid("category", fmt::format("expected one of {} with exchange \"bybit\", got {:?}",
                                             one_of(kBybitCategories), feed.category));
  }
  if (feed.exchange != "bybit" && !feed.category.empty()) {
    return t.invalid("category", fmt::format("expected no category with exchange {:?} (only \"bybit\" has "
                                             "categories), got {:?}",
                                             feed.exchange, feed.category));
  }
  if (auto s = t.read_string("url", feed.url, Presence::kRequired); !s.ok()) return s;
  if (auto why = url_error(feed.url); !why.empty()) return t.invalid("url", why);
  if (feed.url == "sim://" && !contains(kSimDialects, feed.exchange)) {
    return t.invalid("url", fmt::format("expected a ws:// or wss:// URL with exchange {:?}: the embedded "
                                        "simulator speaks only {} so far",
                                        feed.exchange, one_of(kSimDialects)));
  }
  if (auto s = read_symbols_and_channels(t, feed); !s.ok()) return s;
  if (auto s = t.read_string("ca_file", feed.ca_file, Presence::kOptional); !s.ok()) return s;
  if (auto s = t.read_bool("verify_tls", feed.verify_tls); !s.ok()) return s;
  // The file itself is checked once its path is resolved (config.cpp, resolve_paths).
  if (auto s = t.read_string("key_file", feed.key_file, Presence::kOptional); !s.ok()) return s;
  if (!feed.key_file.empty() && feed.exchange != "coinbase") {
    return t.invalid("key_file", fmt::format("expected no key_file with exchange {:?} (only \"coinbase\" signs its "
                                             "subscriptions with a key), got {:?}",
                                             feed.exchange, feed.key_file));
  }
  if (feed.exchange == "coinbase") {
    feed.max_frame_bytes = kCoinbaseFrameBytes;
    feed.max_lifetime_s = 7 * 86'400;  // Coinbase states no connection lifetime: roll over as seldom as allowed
  }
  if (auto s = t.read_size("max_frame_bytes", feed.max_frame_bytes, kMinFrameBytes, kMaxFrameBytes);
      !s.ok()) {
    return s;
  }
  return read_session(t, feed);
}

}  // namespace

bool is_subject_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string url_error(std::string_view url) {
  const auto separator = url.find("://");
  const std::string_view scheme = url.substr(0, separator);
  if (separator == std::string_view::npos || (scheme != "sim" && scheme != "ws" && scheme != "wss")) {
    return fmt::format("expected a URL with scheme sim, ws or wss (\"sim://\", "
                       "\"wss://host:port/path\"), got {:?}", url);
  }
  const std::string_view rest = url.substr(separator + 3);
  if (scheme == "sim") {
    return rest.empty() ? std::string()
                        : fmt::format("expected exactly \"sim://\" (the simulator is set in "
                                      "[simulator]), got {:?}", url);
  }
  if (rest.find_first_of(" \t\r\n") != std::string_view::npos) {
    return fmt::format("expected a URL without whitespace, got {:?}", url);
  }
  return authority_error(url, rest.substr(0, rest.find_first_of("/?#")));
}

absl::Status read_feeds(const TableView& root, std::vector<FeedConfig>& feeds) {
  auto list = root.table_array("feeds");
  if (!list.ok()) return list.status();
  if (*list == nullptr) {
    return root.missing("feeds", "expected an array of tables ([[feeds]])");
  }
  if ((*list)->empty()) return root.invalid("feeds", "expected at least one feed, got an empty list");
  feeds.assign((*list)->size(), FeedConfig{});
  for (std::size_t i = 0; i < feeds.size(); ++i) {
    const TableView t(*(*list)->get(i)->as_table(), fmt::format("feeds[{}]", i), root.source());
    if (auto s = read_feed(t, feeds[i]); !s.ok()) return s;
    for (std::size_t j = 0; j < i; ++j) {
      if (feeds[j].name == feeds[i].name) {
        return t.invalid("name", fmt::format("expected a unique feed name, got {:?} again (also "
                                             "feeds[{}].name)", feeds[i].name, j));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace tickwire::config::detail
