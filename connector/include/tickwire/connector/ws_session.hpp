// WsSession: one websocket connection to an exchange, kept alive on the feed
// thread's io_context: connect (TCP or TLS with certificate and host-name
// verification and SNI), handshake, read frames into one reused buffer with
// simdjson padding after the data, and on any failure report it, wait a
// capped, fully jittered exponential backoff, and reconnect until stop().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "tickwire/connector/ws_url.hpp"
#include "tickwire/middleware/pool_allocator.hpp"

namespace tickwire::connector {

// SessionHandler: what the session reports, all on the feed thread.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  virtual void on_connected() = 0;
  // on_frame: one complete message; data[size .. size + SIMDJSON_PADDING) is
  // readable. rx_ticks: TscClock ticks taken right after the read completed.
  virtual void on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks) = 0;
  virtual void on_disconnected(std::string_view reason) = 0;
};

struct SessionOptions {
  WsUrl url;
  std::string ca_file;             // extra CA bundle for wss; system store otherwise
  bool verify_tls = true;
  std::size_t max_frame_bytes = 1u << 20;
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{30'000};
  std::uint64_t jitter_seed = 0;   // 0: from std::random_device
};

class WsSession {
 public:
  // The frame buffer is drawn from `buffers` (a pool-backed allocator).
  WsSession(boost::asio::io_context& io, SessionOptions options, SessionHandler& handler,
            middleware::PoolAllocatorState& buffers);
  ~WsSession();

  // start: begins connecting (call on or before running the io_context).
  void start();
  // stop: closes the connection and ends the reconnect loop; thread-safe.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tickwire::connector
