#include "tickwire/connector/rest_client.hpp"
#include "net_connect.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

#include <charconv>
#include <deque>

#include "tickwire/connector/ws_url.hpp"

namespace tickwire::connector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kAwait = asio::use_awaitable;

std::string clip(std::string_view s, std::size_t n = 200) {
  return std::string(s.substr(0, n)) + (s.size() > n ? "..." : "");
}

}  // namespace

struct RestClient::Impl : std::enable_shared_from_this<Impl> {
  struct Request {
    std::string url;
    std::uint64_t weight;
    Callback done;
  };

  asio::io_context& io;
  RestOptions options;
  ssl::context tls{ssl::context::tls_client};
  std::string tls_error;
  std::deque<Request> queue;
  bool pumping = false;
  SteadyClock::time_point blocked_until{};
  std::string blocked_cause;
  // The kept-alive connection: at most one of the two streams is open.
  std::string origin;  // "http://host:port" of the open connection
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  bool reusable = false;  // the last exchange left the connection ready for another
  // Shutdown (see RestClient::shutdown): no request runs once `shut`; the one
  // in flight is cancelled when `grace_timer` fires.
  bool shut = false;
  std::unique_ptr<asio::steady_timer> grace_timer;
  tcp::resolver* resolving = nullptr;  // the in-flight request's resolver while it resolves

  Impl(asio::io_context& ctx, RestOptions o) : io(ctx), options(std::move(o)) {
    tls_error = detail::configure_tls(tls, options.verify_tls, options.ca_file);
  }

  void drop_connection() {
    beast::error_code ignored;
    if (plain) plain->socket().close(ignored);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
    plain.reset();
    secure.reset();
    origin.clear();
  }

  static asio::awaitable<void> pump(std::shared_ptr<Impl> self) {
    while (!self->queue.empty()) {
      Request request = std::move(self->queue.front());
      self->queue.pop_front();
      RestResponse response = co_await self->run(request);
      request.done(std::move(response));
    }
    self->pumping = false;
    if (self->grace_timer) self->grace_timer->cancel();  // nothing left to cancel
  }

  static RestResponse cancelled(const std::string& url) {
    RestResponse out;
    out.status = absl::CancelledError(fmt::format("GET {}: cancelled: the connector is shutting down", url));
    return out;
  }

  // fail_queued: every queued request completes with CANCELLED.
  void fail_queued() {
    while (!queue.empty()) {
      Request request = std::move(queue.front());
      queue.pop_front();
      request.done(cancelled(request.url));
    }
  }

  // cancel_in_flight: makes the running exchange's pending operation
  // complete with an error. The streams are closed, not destroyed: the
  // coroutine still refers to them until it returns.
  void cancel_in_flight() {
    if (resolving != nullptr) resolving->cancel();
    beast::error_code ignored;
    if (plain) plain->socket().close(ignored);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
  }

  void shutdown(milliseconds grace) {
    shut = true;
    fail_queued();
    if (!pumping) {
      drop_connection();
      return;
    }
    grace_timer = std::make_unique<asio::steady_timer>(io, grace);
    grace_timer->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->pumping) self->cancel_in_flight();
    });
  }

  asio::awaitable<RestResponse> run(const Request& request) {
    if (shut) co_return cancelled(request.url);
    RestResponse out;
    const auto now = SteadyClock::now();
    if (now < blocked_until) {
      out.retry_after = std::chrono::ceil<milliseconds>(blocked_until - now);
      out.status = absl::UnavailableError(fmt::format("GET {}: not sent: the server asked to wait ({}), {} ms left",
                                                      request.url, blocked_cause, out.retry_after.count()));
      co_return out;
    }
    if (options.weight_limiter) {
      auto& limiter = *options.weight_limiter;
      const auto wait = std::chrono::ceil<milliseconds>(limiter.try_acquire(request.weight));
      if (wait.count() > 0) {
        out.retry_after = wait;
        out.status = absl::ResourceExhaustedError(
            fmt::format("GET {}: not sent: weight {} exceeds the {} limit ({} per {} s) for {} ms", request.url,
                        request.weight, limiter.name(), limiter.limit(),
                        std::chrono::ceil<std::chrono::seconds>(limiter.window()).count(), wait.count()));
        co_return out;
      }
    }
    auto url = parse_http_url(request.url);
    if (!url.ok()) {
      out.status = url.status();
      co_return out;
    }
    if (url->tls && !tls_error.empty()) {
      out.status = absl::FailedPreconditionError(fmt::format("GET {}: {}", request.url, tls_error));
      co_return out;
    }
    const std::string key = fmt::format("{}://{}:{}", url->tls ? "https" : "http", url->host, url->port);
    // A kept-alive connection the server closed meanwhile fails at once: one
    // retry on a fresh connection covers it.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reuse = origin == key && (plain || secure);
      if (!reuse) drop_connection();
      if (url->tls) {
        out = co_await exchange<true>(*url, request.url, reuse);
      } else {
        out = co_await exchange<false>(*url, request.url, reuse);
      }
      if (shut || !(reuse && out.http_status == 0)) break;
    }
    if (shut && !out.status.ok() && out.http_status == 0) out = cancelled(request.url);
    if (reusable) origin = key;
    else drop_connection();
    co_return out;
  }

  template <bool kTls>
  auto& stream() {
    if constexpr (kTls) return *secure;
    else return *plain;
  }

  // exchange: one request/response on the (possibly new) connection.
  template <bool kTls>
  asio::awaitable<RestResponse> exchange(const WsUrl& url, const std::string& full, bool reuse) {
    RestResponse out;
    out.reused_connection = reuse;
    reusable = false;
    beast::error_code ec;
    if (!reuse) {
      if constexpr (kTls) secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, tls);
      else plain = std::make_unique<beast::tcp_stream>(io);
      detail::ConnectOptions how;
      how.verify_tls = options.verify_tls;
      how.timeout = options.timeout;
      how.aborted = [this] { return shut; };
      how.resolving = &resolving;
      const detail::ConnectFailure failed = co_await detail::connect_stream(stream<kTls>(), url, std::move(how));
      if (failed) {
        out.status = absl::UnavailableError(fmt::format("GET {}: {}: {}", full, failed.stage_name(), failed.detail));
        co_return out;
      }
    }
    auto& s = stream<kTls>();
    beast::get_lowest_layer(s).expires_after(options.timeout);
    http::request<http::empty_body> req{http::verb::get, url.target, 11};
    req.set(http::field::host, url.port == (url.tls ? "443" : "80") ? url.host : url.host + ":" + url.port);
    req.set(http::field::user_agent, "tickwire");
    req.keep_alive(true);
    co_await http::async_write(s, req, asio::redirect_error(kAwait, ec));
    if (ec) {
      out.status = absl::UnavailableError(fmt::format("GET {}: write: {}", full, ec.message()));
      co_return out;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    co_await http::async_read(s, buffer, parser, asio::redirect_error(kAwait, ec));
    if (parser.is_header_done()) out.http_status = parser.get().result_int();
    if (ec == http::error::body_limit) {
      out.status = absl::ResourceExhaustedError(
          fmt::format("GET {}: body larger than max_body_bytes ({})", full, options.max_body_bytes));
      co_return out;
    }
    if (ec) {
      if (!parser.is_header_done()) out.http_status = 0;
      const auto what = ec == beast::error::timeout ? fmt::format("no complete reply within {} ms", options.timeout.count())
                                                    : ec.message();
      out.status = absl::UnavailableError(fmt::format("GET {}: read: {}", full, what));
      co_return out;
    }
    beast::get_lowest_layer(s).expires_never();
    auto& res = parser.get();
    reusable = res.keep_alive();
    out.body = std::move(res.body());
    if (out.http_status >= 200 && out.http_status < 300) co_return out;
    if (out.http_status == 429 || out.http_status == 418) {
      const auto it = res.find(http::field::retry_after);
      auto wait = it != res.end() ? parse_retry_after(it->value(), std::chrono::system_clock::now())
                                  : milliseconds(-1);
      const auto cause = wait.count() >= 0
                             ? fmt::format("HTTP {}, Retry-After {} s", out.http_status,
                                           std::chrono::duration_cast<std::chrono::seconds>(wait).count())
                             : fmt::format("HTTP {} without Retry-After", out.http_status);
      if (wait.count() < 0) wait = out.http_status == 418 ? options.ban_wait : options.default_retry;
      out.retry_after = wait;
      blocked_until = SteadyClock::now() + wait;
      blocked_cause = cause;
      out.status = absl::ResourceExhaustedError(fmt::format("GET {}: {}: wait {} ms", full, cause, wait.count()));
      co_return out;
    }
    if (out.http_status == 503) {
      // Temporarily unavailable (a replaying simulator before its book
      // exists, an exchange under maintenance): retryable, after Retry-After
      // if given. It is about this resource, so other requests still go.
      const auto it = res.find(http::field::retry_after);
      const auto wait = it != res.end() ? parse_retry_after(it->value(), std::chrono::system_clock::now())
                                        : milliseconds(-1);
      if (wait.count() > 0) out.retry_after = wait;
      out.status = absl::UnavailableError(
          fmt::format("GET {}: HTTP 503{}: {}", full,
                      wait.count() >= 0 ? fmt::format(", Retry-After {} s",
                                                      std::chrono::duration_cast<std::chrono::seconds>(wait).count())
                                        : std::string(),
                      clip(out.body)));
      co_return out;
    }
    out.status = absl::UnavailableError(fmt::format("GET {}: HTTP {}: {}", full, out.http_status, clip(out.body)));
    co_return out;
  }

};

RestClient::RestClient(asio::io_context& io, RestOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

RestClient::~RestClient() = default;

void RestClient::get(std::string url, std::uint64_t weight, Callback done) {
  asio::post(impl_->io, [self = impl_, url = std::move(url), weight, done = std::move(done)]() mutable {
    if (self->shut) {
      done(Impl::cancelled(url));
      return;
    }
    self->queue.push_back({std::move(url), weight, std::move(done)});
    if (self->pumping) return;
    self->pumping = true;
    asio::co_spawn(self->io, Impl::pump(self), asio::detached);
  });
}

void RestClient::shutdown(std::chrono::milliseconds grace) {
  asio::post(impl_->io, [self = impl_, grace] { self->shutdown(grace); });
}

void RestClient::close() {
  asio::post(impl_->io, [self = impl_] {
    if (!self->pumping) self->drop_connection();
  });
}

}  // namespace tickwire::connector
