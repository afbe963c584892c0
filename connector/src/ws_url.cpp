#include "tickwire/connector/ws_url.hpp"

#include <cctype>
#include <charconv>

namespace tickwire::connector {

namespace {

// parse_url: "<plain>://" or "<secure>://" then host[:port][/target].
absl::StatusOr<WsUrl> parse_url(std::string_view url, std::string_view plain, std::string_view secure) {
  WsUrl out;
  std::string_view rest;
  const std::string secure_prefix = std::string(secure) + "://";
  const std::string plain_prefix = std::string(plain) + "://";
  if (url.starts_with(secure_prefix)) {
    out.tls = true;
    rest = url.substr(secure_prefix.size());
  } else if (url.starts_with(plain_prefix)) {
    rest = url.substr(plain_prefix.size());
  } else {
    return absl::InvalidArgumentError("url '" + std::string(url) + "': scheme must be " + plain_prefix + " or " +
                                      secure_prefix);
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return absl::InvalidArgumentError("url '" + std::string(url) + "': bad port '" + std::string(port) + "'");
    }
    out.port = std::string(port);
    authority = authority.substr(0, colon);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  if (authority.empty()) return absl::InvalidArgumentError("url '" + std::string(url) + "': missing host");
  out.host = std::string(authority);
  return out;
}

}  // namespace

absl::StatusOr<WsUrl> parse_ws_url(std::string_view url) { return parse_url(url, "ws", "wss"); }

absl::StatusOr<WsUrl> parse_http_url(std::string_view url) { return parse_url(url, "http", "https"); }

std::string stream_name(std::string_view symbol, std::string_view channel) {
  std::string out;
  out.reserve(symbol.size() + 1 + channel.size());
  for (char c : symbol) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out += '@';
  out += channel;
  return out;
}

std::string with_streams(std::string_view target, const std::vector<std::string>& symbols,
                         const std::vector<std::string>& channels) {
  if (target != "/stream") return std::string(target);
  std::string out = "/stream?streams=";
  bool first = true;
  for (const auto& symbol : symbols) {
    for (const auto& channel : channels) {
      if (!first) out += '/';
      first = false;
      out += stream_name(symbol, channel);
    }
  }
  return out;
}

std::string with_query_param(std::string_view target, std::string_view param) {
  std::string out(target);
  out += target.find('?') == std::string_view::npos ? '?' : '&';
  out += param;
  return out;
}

}  // namespace tickwire::connector
