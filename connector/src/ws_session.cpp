#include "tickwire/connector/ws_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <type_traits>

#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct WsSession::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  SessionOptions options;
  SessionHandler& handler;
  ssl::context tls{ssl::context::tls_client};
  std::string tls_error;
  asio::steady_timer backoff_timer;
  std::function<void()> close_current;  // set while a connection is open
  bool stopping = false;
  bool connected = false;  // the current attempt got as far as on_connected()
  std::mt19937_64 rng;
  // The frame buffer: one per session, its memory from the connector's buffer
  // pool, reused for every frame.
  beast::basic_flat_buffer<middleware::PoolAllocator<char>> buffer;

  Impl(asio::io_context& ctx, SessionOptions o, SessionHandler& h, middleware::PoolAllocatorState& buffers)
      : io(ctx), options(std::move(o)), handler(h), backoff_timer(ctx),
        rng(options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()),
        buffer(middleware::PoolAllocator<char>(buffers)) {
    beast::error_code ec;
    tls.set_default_verify_paths(ec);
    if (!ec && !options.ca_file.empty()) tls.load_verify_file(options.ca_file, ec);
    if (!ec) tls.set_verify_mode(options.verify_tls ? ssl::verify_peer : ssl::verify_none, ec);
    if (ec) tls_error = fmt::format("tls setup (ca_file '{}'): {}", options.ca_file, ec.message());
  }

  static asio::awaitable<void> run(std::shared_ptr<Impl> self) {
    auto backoff = self->options.backoff_initial;
    while (!self->stopping) {
      bool got_data = false;
      self->connected = false;
      // Not a conditional expression: g++ 12 destroys temporaries twice when
      // co_await appears in the arms of ?: (a double free seen here).
      std::string reason;
      if (self->options.url.tls) {
        reason = co_await self->connect_and_read<true>(got_data);
      } else {
        reason = co_await self->connect_and_read<false>(got_data);
      }
      self->close_current = nullptr;
      if (self->stopping) {
        // A clean shutdown still ends the stream: say so, so that a replay
        // consumer can tell "stopped" from "nothing happened".
        if (self->connected) self->handler.on_disconnected("connector shutdown");
        break;
      }
      self->handler.on_disconnected(reason);
      if (got_data) backoff = self->options.backoff_initial;
      // Full jitter (uniform in [0, backoff]) but never under the initial
      // backoff, so a server that refuses at once never sees a tight loop.
      std::uniform_int_distribution<std::int64_t> pick(0, backoff.count());
      const auto wait = std::max(std::chrono::milliseconds(pick(self->rng)), self->options.backoff_initial);
      backoff = std::min(backoff * 2, self->options.backoff_max);
      self->backoff_timer.expires_after(wait);
      beast::error_code ec;
      co_await self->backoff_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  template <bool kTls>
  using Stream = std::conditional_t<kTls, websocket::stream<beast::ssl_stream<beast::tcp_stream>>,
                                    websocket::stream<beast::tcp_stream>>;

  template <bool kTls>
  asio::awaitable<std::string> connect_and_read(bool& got_data) {
    const WsUrl& url = options.url;
    beast::error_code ec;
    if (kTls && !tls_error.empty()) co_return tls_error;
    tcp::resolver resolver(io);
    auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fmt::format("resolve {}:{}: {}", url.host, url.port, ec.message());

    auto ws = [&] {
      if constexpr (kTls) return std::make_unique<Stream<true>>(io, tls);
      else return std::make_unique<Stream<false>>(io);
    }();
    beast::get_lowest_layer(*ws).expires_after(10s);
    co_await beast::get_lowest_layer(*ws).async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fmt::format("connect {}:{}: {}", url.host, url.port, ec.message());
    if constexpr (kTls) {
      // SNI, and verification that the certificate names this host.
      if (!SSL_set_tlsext_host_name(ws->next_layer().native_handle(), url.host.c_str())) {
        co_return fmt::format("tls {}: cannot set SNI", url.host);
      }
      if (options.verify_tls) ws->next_layer().set_verify_callback(ssl::host_name_verification(url.host));
      co_await ws->next_layer().async_handshake(ssl::stream_base::client,
                                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return fmt::format("tls handshake {}: {}", url.host, ec.message());
    }
    beast::get_lowest_layer(*ws).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = 10s;
    timeouts.idle_timeout = 20s;      // with keep-alive pings: a silent peer is dropped after ~20 s
    timeouts.keep_alive_pings = true;
    ws->set_option(timeouts);
    ws->read_message_max(options.max_frame_bytes);
    ws->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "tickwire");
    }));
    co_await ws->async_handshake(url.host + ":" + url.port, url.target,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fmt::format("websocket handshake {}{}: {}", url.host, url.target, ec.message());

    connected = true;
    close_current = [w = ws.get()] { w->async_close(websocket::close_code::normal, [](beast::error_code) {}); };
    handler.on_connected();
    for (;;) {
      const std::size_t n = co_await ws->async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return describe(ec, *ws);
      const std::uint64_t rx_ticks = middleware::TscClock::now_ticks();
      // Make SIMDJSON_PADDING bytes of capacity follow the data, so the parser
      // reads the frame in place. prepare() may move the data: read the
      // pointer after it.
      buffer.prepare(simdjson::SIMDJSON_PADDING);
      got_data = true;
      handler.on_frame(static_cast<const char*>(buffer.data().data()), n, rx_ticks);
      buffer.consume(n);
    }
  }

  template <typename Ws>
  std::string describe(const beast::error_code& ec, Ws& ws) const {
    if (ec == websocket::error::message_too_big) {
      return fmt::format("frame larger than max_frame_bytes ({}): connection reset", options.max_frame_bytes);
    }
    if (ec == websocket::error::closed) {
      return fmt::format("closed by server (code {}, reason '{}')", static_cast<unsigned>(ws.reason().code),
                         std::string(ws.reason().reason.c_str()));
    }
    return fmt::format("read: {}", ec.message());
  }
};

WsSession::WsSession(asio::io_context& io, SessionOptions options, SessionHandler& handler,
                     middleware::PoolAllocatorState& buffers)
    : impl_(std::make_shared<Impl>(io, std::move(options), handler, buffers)) {}

WsSession::~WsSession() = default;

void WsSession::start() { asio::co_spawn(impl_->io, Impl::run(impl_), asio::detached); }

void WsSession::stop() {
  asio::post(impl_->io, [self = impl_] {
    self->stopping = true;
    self->backoff_timer.cancel();
    if (self->close_current) self->close_current();
  });
}

}  // namespace tickwire::connector
