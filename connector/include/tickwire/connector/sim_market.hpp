// SimMarket: the simulator's deterministic market. From a seed and a symbol
// list it produces Binance combined-stream trade messages with Poisson
// inter-arrival times: the same seed gives the same symbols, ids, prices,
// sizes and sides, message for message. Timestamps are the caller's.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/middleware/decimal.hpp"

namespace tickwire::connector {

class SimMarket {
 public:
  // rate: mean messages per second over all symbols (> 0).
  SimMarket(std::vector<std::string> symbols, double rate, std::uint64_t seed);

  struct Message {
    std::size_t symbol_index;  // into symbols()
    std::string text;          // the exact JSON sent on the wire
  };

  // next_gap_ns: the exponential wait before the next message (Poisson arrivals).
  std::uint64_t next_gap_ns();
  // next_trade: the next trade message, stamped with `now_ms` (Unix-epoch ms).
  Message next_trade(std::uint64_t now_ms);

  const std::vector<std::string>& symbols() const { return symbols_; }

 private:
  struct Instrument {
    std::string stream;                // e.g. "btcusdt@trade"
    std::int64_t price_ticks;          // price in units of 10^-8
    std::int64_t tick;                 // minimum price step, in 10^-8
    std::uint64_t next_trade_id;
  };

  std::vector<std::string> symbols_;
  std::vector<Instrument> instruments_;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> gap_s_;
};

}  // namespace tickwire::connector
