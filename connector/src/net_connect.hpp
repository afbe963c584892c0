// net_connect: how WsSession and RestClient reach a server, written once.
//
//  - configure_tls: the client TLS context (the system's CAs, an extra CA
//    file, verification on or off);
//  - connect_stream: resolve, TCP connect within a deadline and, for TLS,
//    SNI, OpenSSL's own check that the certificate names the host, and the
//    handshake. The deadline stays armed on the TCP layer when it returns:
//    the caller re-arms or clears it for what follows.
//
// A failure comes back as the stage that failed and the reason, and each
// caller words it in its own style ("connect HOST:PORT: …" in the session's
// log, "GET URL: connect: …" in a REST status).
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "fmt/format.h"
#include "tickwire/connector/ws_url.hpp"

namespace tickwire::connector::detail {

// expect_peer_name: makes OpenSSL itself check that the server certificate
// names `host` (a DNS name, or an IP address against the IP SANs), so a
// mismatch fails the handshake with X509_V_ERR_HOSTNAME_MISMATCH / _IP_ADDRESS_
// MISMATCH, which verify_failure() can name. (Asio's host_name_verification
// callback fails with an unspecified error instead.)
inline bool expect_peer_name(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1) return true;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

// verify_failure: OpenSSL's reason the peer's certificate was refused, or ""
// when verification did not fail.
inline std::string verify_failure(const SSL* ssl) {
  const long result = SSL_get_verify_result(ssl);
  return result == X509_V_OK ? std::string() : std::string(X509_verify_cert_error_string(result));
}

// configure_tls: the system's default CAs, then `ca_file` if given, then the
// verification mode; "" or what failed.
inline std::string configure_tls(boost::asio::ssl::context& tls, bool verify, const std::string& ca_file) {
  boost::system::error_code ec;
  tls.set_default_verify_paths(ec);
  if (!ec && !ca_file.empty()) tls.load_verify_file(ca_file, ec);
  if (!ec) {
    tls.set_verify_mode(verify ? boost::asio::ssl::verify_peer : boost::asio::ssl::verify_none, ec);
  }
  if (ec) return fmt::format("tls setup (ca_file '{}'): {}", ca_file, ec.message());
  return {};
}

// ConnectFailure: the stage that failed (kNone: connected) and why.
struct ConnectFailure {
  enum class Stage : std::uint8_t { kNone, kResolve, kAborted, kConnect, kTls, kTlsHandshake };
  Stage stage = Stage::kNone;
  std::string detail;

  explicit operator bool() const noexcept { return stage != Stage::kNone; }
  // stage_name: "resolve", "connect", "tls", "tls handshake" (kAborted: "resolve").
  std::string_view stage_name() const noexcept {
    switch (stage) {
      case Stage::kResolve:
      case Stage::kAborted: return "resolve";
      case Stage::kConnect: return "connect";
      case Stage::kTls: return "tls";
      case Stage::kTlsHandshake: return "tls handshake";
      case Stage::kNone: break;
    }
    return "";
  }
};

// ConnectOptions: what connect_stream needs beyond the stream and the URL.
struct ConnectOptions {
  bool verify_tls = true;
  std::chrono::milliseconds timeout{10'000};  // TCP connect and TLS handshake together
  // aborted: asked once the name is resolved; true gives up (kAborted).
  std::function<bool()> aborted;
  // resolving: set to the resolver while it resolves (so a shutdown can
  // cancel it), then back to null.
  boost::asio::ip::tcp::resolver** resolving = nullptr;
};

// connect_stream: `stream` is a beast::basic_stream<tcp, Executor> or a
// beast::ssl_stream of one, fresh; the coroutine runs on that Executor.
template <class Stream, class Executor = typename boost::beast::lowest_layer_type<Stream>::executor_type>
boost::asio::awaitable<ConnectFailure, Executor> connect_stream(Stream& stream, const WsUrl& url,
                                                                ConnectOptions options) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  constexpr bool kTls = !std::is_same_v<Stream, beast::lowest_layer_type<Stream>>;
  using Stage = ConnectFailure::Stage;
  constexpr asio::use_awaitable_t<Executor> kAwait;
  beast::error_code ec;
  auto& lowest = beast::get_lowest_layer(stream);
  asio::ip::tcp::resolver resolver(lowest.get_executor());
  if (options.resolving != nullptr) *options.resolving = &resolver;
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(kAwait, ec));
  if (options.resolving != nullptr) *options.resolving = nullptr;
  if (ec) co_return ConnectFailure{Stage::kResolve, ec.message()};
  if (options.aborted && options.aborted()) {
    co_return ConnectFailure{Stage::kAborted, asio::error::make_error_code(asio::error::operation_aborted).message()};
  }
  lowest.expires_after(options.timeout);
  co_await lowest.async_connect(endpoints, asio::redirect_error(kAwait, ec));
  if (ec) co_return ConnectFailure{Stage::kConnect, ec.message()};
  // No Nagle: a pong, a subscribe or a request goes out when written, not
  // after the server's (possibly delayed) ACK of what we sent before.
  // Failing to set it costs latency, not correctness: go on.
  beast::error_code ignored;
  lowest.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  if constexpr (kTls) {
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
      co_return ConnectFailure{Stage::kTls, "cannot set SNI"};
    }
    if (options.verify_tls && !expect_peer_name(stream.native_handle(), url.host)) {
      co_return ConnectFailure{Stage::kTls, "cannot set the expected host name"};
    }
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(kAwait, ec));
    if (ec) {
      // OpenSSL's verify result says which check failed (unknown CA, host name, expiry).
      const std::string why = verify_failure(stream.native_handle());
      co_return ConnectFailure{Stage::kTlsHandshake, why.empty() ? ec.message() : ec.message() + ": " + why};
    }
  }
  co_return ConnectFailure{};
}

}  // namespace tickwire::connector::detail
