// WsUrl: a parsed ws://, wss://, http:// or https:// URL, and the Binance stream target built
// from a feed's symbols and channels.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tickwire::connector {

struct WsUrl {
  bool tls = false;
  std::string host;
  std::string port;    // "443"/"80" when the URL has none
  std::string target;  // path and query, at least "/"
};

// parse_ws_url: "ws[s]://host[:port][/path[?query]]"; errors name the URL and the problem.
absl::StatusOr<WsUrl> parse_ws_url(std::string_view url);

// parse_http_url: the same for "http[s]://host[:port][/path[?query]]" (tls for https).
absl::StatusOr<WsUrl> parse_http_url(std::string_view url);

// stream_name: Binance's stream name, "<symbol lower case>@<channel>", e.g.
// "btcusdt@depth@100ms".
std::string stream_name(std::string_view symbol, std::string_view channel);

// with_streams: for a combined-stream target ("/stream" with no query) appends
// "?streams=" with "<symbol lower case>@<channel>" for every symbol and channel;
// any other target is returned unchanged.
std::string with_streams(std::string_view target, const std::vector<std::string>& symbols,
                         const std::vector<std::string>& channels);

// with_query_param: `target` with "name=value" appended to its query
// ("/ws/btcusdt@trade" -> "/ws/btcusdt@trade?timeUnit=MICROSECOND").
std::string with_query_param(std::string_view target, std::string_view param);

}  // namespace tickwire::connector
