#include "tickwire/connector/metrics/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <pthread.h>

#include <thread>

namespace tickwire::connector::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Counters: written on the server thread, read by figures() on any thread;
// relaxed: independent statistics.
// Declared before `io`: connections still queued in `io` when it is
// destroyed decrement `open`.
struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  std::uint32_t open = 0;  // connections open (server thread only)
  std::atomic<std::uint64_t> ok{0}, not_found{0}, bad{0}, unavailable{0}, rejected{0}, timeouts{0};
  std::uint16_t port = 0;  // bound port, set before the thread starts
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;

  void accept();
};

namespace {

void bump(std::atomic<std::uint64_t>& counter) {
  // relaxed: a statistic; single writer (the server thread).
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Connection: one accepted socket, one request, one answer.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer::Impl& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
    ++server_.open;
    parser_.header_limit(server_.options.max_header_bytes);
    parser_.body_limit(0);
  }
  ~Connection() { --server_.open; }

  void start() {
    stream_.expires_after(server_.options.timeout);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      bump(server_.timeouts);
      return;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return;
    if (ec == http::error::header_limit) {
      answer(431, "request header too large\n");
      return;
    }
    if (ec) {
      answer(400, fmt::format("bad request: {}\n", ec.message()));
      return;
    }
    const auto& request = parser_.get();
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      answer(405, "only GET and HEAD\n");
      return;
    }
    HttpResponse r = server_.handler(request.target());
    respond(r.status, r.content_type, std::move(r.body), request.method() == http::verb::head);
  }

  void answer(unsigned status, std::string body) { respond(status, "text/plain; charset=utf-8", std::move(body), false); }

  void respond(unsigned status, std::string_view content_type, std::string body, bool head) {
    if (status == 200) {
      bump(server_.ok);
    } else if (status == 404) {
      bump(server_.not_found);
    } else if (status == 503) {
      bump(server_.unavailable);
    } else {
      bump(server_.bad);
    }
    response_.result(status);
    response_.set(http::field::server, "tickwire");
    response_.set(http::field::content_type, content_type);
    response_.set(http::field::connection, "close");
    response_.keep_alive(false);
    response_.body() = std::move(body);
    response_.prepare_payload();
    if (head) response_.body().clear();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
      if (write_ec == beast::error::timeout) bump(self->server_.timeouts);
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

absl::StatusOr<tcp::endpoint> resolve_listen(asio::io_context& io, const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError(fmt::format("{}: expected host:port", listen));
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  tcp::resolver resolver(io);
  beast::error_code ec;
  const auto results = resolver.resolve(host, listen.substr(colon + 1),
                                        tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(fmt::format("metrics listen {}: cannot resolve: {}", listen, ec.message()));
  }
  return results.begin()->endpoint();
}

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      if (open >= options.max_connections) {
        bump(rejected);
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Connection>(*this, std::move(socket))->start();
      }
    }
    accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, HttpHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  auto endpoint = resolve_listen(impl->io, impl->options.listen);
  if (!endpoint.ok()) return endpoint.status();
  beast::error_code ec;
  impl->acceptor.open(endpoint->protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(*endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format("metrics endpoint: cannot listen on {}: {}", impl->options.listen,
                                              ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    ::pthread_setname_np(::pthread_self(), "tw-http");
    raw->io.run();
  });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  // Connections still open are dropped with the io_context's queue.
  impl_->io.stop();
  impl_->thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

std::uint16_t HttpServer::port() const { return impl_->port; }

HttpFigures HttpServer::figures() const {
  HttpFigures f;
  // relaxed loads: statistics (see Impl).
  f.requests_ok = impl_->ok.load(std::memory_order_relaxed);
  f.requests_not_found = impl_->not_found.load(std::memory_order_relaxed);
  f.requests_bad = impl_->bad.load(std::memory_order_relaxed);
  f.requests_unavailable = impl_->unavailable.load(std::memory_order_relaxed);
  f.connections_rejected = impl_->rejected.load(std::memory_order_relaxed);
  f.timeouts = impl_->timeouts.load(std::memory_order_relaxed);
  return f;
}

}  // namespace tickwire::connector::metrics
