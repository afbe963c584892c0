// RestClient: asynchronous HTTP(S) GET on the feed thread's io_context, for
// REST snapshots such as Binance's /api/v3/depth. Same TLS rules as WsSession
// (certificate and host-name verification, SNI, extra CA file); a timeout per
// request, a body size limit, HTTP 429/418 + Retry-After honoured (the client
// refuses further requests until the wait is over, and tells the caller how
// long), HTTP 503 reported as retryable (UNAVAILABLE, with its Retry-After;
// other requests still go), and a shared request-weight limiter. Requests run one at a time, in
// order, over one kept-alive connection that is reused while the origin stays
// the same. Not a hot path: it allocates per request.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "tickwire/connector/rate_limit.hpp"

namespace tickwire::connector {

struct RestOptions {
  std::string ca_file;     // extra CA bundle for https; system store otherwise
  bool verify_tls = true;
  std::chrono::milliseconds timeout{10'000};  // per request: connect, TLS, write and read
  std::size_t max_body_bytes = 16u << 20;
  std::chrono::milliseconds ban_wait{120'000};     // after HTTP 418 without Retry-After
  std::chrono::milliseconds default_retry{60'000}; // after HTTP 429 without Retry-After
  // Shared by every client of the process (Binance: 6000 weight per minute);
  // null: no limit.
  std::shared_ptr<SlidingWindowLimiter> weight_limiter;
};

// RestResponse: one request's outcome. `status` is OK only for a 2xx reply
// with its whole body; otherwise its message names the URL and the cause.
struct RestResponse {
  absl::Status status;
  unsigned http_status = 0;  // 0 when no reply arrived
  std::string body;
  // retry_after > 0: do not ask again before this long (server Retry-After
  // on 429/418/503, ban, or the weight limiter).
  std::chrono::milliseconds retry_after{0};
  bool reused_connection = false;  // sent over a kept-alive connection
};

// binance_depth_weight: the request weight of GET /api/v3/depth?limit=N
// (5/25/50/250 for limit <= 100/500/1000/5000).
constexpr std::uint64_t binance_depth_weight(unsigned limit) noexcept {
  return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
}

class RestClient {
 public:
  using Callback = std::function<void(RestResponse)>;

  RestClient(boost::asio::io_context& io, RestOptions options);
  ~RestClient();

  // get: GET `url` ("http[s]://host[:port]/path?query") costing `weight` of
  // the weight limiter; `done` runs on the io_context's thread. Thread-safe.
  void get(std::string url, std::uint64_t weight, Callback done);

  // close: drops the kept-alive connection; queued requests still run.
  void close();

  // shutdown: ends every request, for a connector that is stopping. Queued
  // requests (and any get() after this) complete at once with CANCELLED; the
  // request in flight may finish within `grace`, after which its resolve or
  // connection is cancelled and it completes with CANCELLED. Afterwards the
  // client leaves no work on the io_context, so its run() can return.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tickwire::connector
