// Simulator: the exchange simulator behind `tickwire sim` and `sim://` feeds.
// A Boost.Beast websocket server on loopback that speaks Binance's
// combined-stream trade format (`/stream?streams=btcusdt@trade/...`) with
// Poisson arrivals from a seeded SimMarket. It runs on its own thread; every
// connection receives the streams it asked for from one shared market.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tickwire::connector {

struct SimulatorOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;             // 0: any free port
  std::vector<std::string> symbols;   // upper case, e.g. BTCUSDT
  double rate = 1000.0;               // mean messages per second over all symbols
  std::uint64_t seed = 1;
  std::uint64_t count = 0;            // stop generating after this many; 0 = unlimited
  std::string record_path;            // if set: every message sent, one per line (NDJSON)
};

class Simulator {
 public:
  explicit Simulator(SimulatorOptions options);
  ~Simulator();  // stop()s
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // start: binds, starts the server thread; returns the bound port.
  absl::StatusOr<std::uint16_t> start();
  // stop: closes every connection and joins the thread. Idempotent.
  void stop();
  // sent: messages generated and sent to at least one connection.
  std::uint64_t sent() const;
  // connections: websocket sessions accepted so far.
  std::uint64_t connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickwire::connector
