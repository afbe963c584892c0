#include "tickwire/connector/sim_market.hpp"

#include <fmt/format.h>

#include <cctype>

namespace tickwire::connector {
namespace {

constexpr std::int8_t kExponent = -8;  // Binance prints spot prices and sizes with 8 decimals

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

SimMarket::SimMarket(std::vector<std::string> symbols, double rate, std::uint64_t seed)
    : symbols_(std::move(symbols)), rng_(seed), gap_s_(rate) {
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    // Start prices spread over several magnitudes: 10^(i%5) * (1 + i%7) units.
    std::int64_t units = 1;
    for (std::size_t k = 0; k < i % 5 + 1; ++k) units *= 10;
    units *= static_cast<std::int64_t>(1 + i % 7);
    const std::int64_t price = units * 100'000'000;
    instruments_.push_back({lower(symbols_[i]) + "@trade", price, std::max<std::int64_t>(price / 100'000, 1),
                            1'000'000 * (i + 1)});
  }
}

std::uint64_t SimMarket::next_gap_ns() { return static_cast<std::uint64_t>(gap_s_(rng_) * 1e9); }

SimMarket::Message SimMarket::next_trade(std::uint64_t now_ms) {
  const std::size_t idx = static_cast<std::size_t>(rng_() % instruments_.size());
  Instrument& ins = instruments_[idx];
  // A random walk of -2..+2 ticks, never below one tick.
  const auto step = static_cast<std::int64_t>(rng_() % 5) - 2;
  ins.price_ticks = std::max(ins.tick, ins.price_ticks + step * ins.tick);
  const auto size = static_cast<std::int64_t>(rng_() % 10'000'000 + 1'000);  // 0.00001 .. 0.1 units
  const bool buyer_is_maker = (rng_() & 1) != 0;
  const std::uint64_t trade_ms = now_ms - rng_() % 3;

  char price[middleware::kMaxFormattedSize];
  char qty[middleware::kMaxFormattedSize];
  const std::size_t np = middleware::format_decimal({ins.price_ticks, kExponent}, price);
  const std::size_t nq = middleware::format_decimal({size, kExponent}, qty);
  Message m{idx, fmt::format(R"({{"stream":"{}","data":{{"e":"trade","E":{},"s":"{}","t":{},"p":"{}","q":"{}","T":{},"m":{},"M":true}}}})",
                             ins.stream, now_ms, symbols_[idx], ins.next_trade_id++, std::string_view(price, np),
                             std::string_view(qty, nq), trade_ms, buyer_is_maker ? "true" : "false")};
  return m;
}

}  // namespace tickwire::connector
