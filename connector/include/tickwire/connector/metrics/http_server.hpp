// HttpServer: a small HTTP/1.1 server (Boost.Beast) on a thread of its own,
// for /metrics, /healthz and /readyz. It never touches the feed thread. Each
// connection carries one GET (or HEAD) and is closed after the answer. Bad
// clients are bounded: at most max_connections open at once (more are closed
// unanswered and counted), request headers over max_header_bytes get 431, a
// request body gets 400, and a connection that has not been read and
// answered within `timeout` is closed and counted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tickwire/connector/metrics/snapshot.hpp"

namespace tickwire::connector::metrics {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // "host:port" (port 0: any free port)
  std::uint32_t max_connections = 16;
  std::uint32_t max_header_bytes = 8192;
  std::chrono::milliseconds timeout{5000};
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// HttpHandler: answers a GET of `target` (path and query); runs on the
// server's thread, one request at a time.
using HttpHandler = std::function<HttpResponse(std::string_view target)>;

class HttpServer {
 public:
  // start: binds `options.listen` and starts the server thread; an address
  // that cannot be bound is an error naming it.
  static absl::StatusOr<std::unique_ptr<HttpServer>> start(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // stop: closes the listener and every connection, joins the thread.
  void stop();
  // port: the bound port.
  std::uint16_t port() const;
  // figures: the server's counters (any thread).
  HttpFigures figures() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickwire::connector::metrics
