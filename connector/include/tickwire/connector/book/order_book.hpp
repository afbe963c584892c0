// OrderBook: one instrument's L2 price levels, exact decimals, owned by the
// feed thread that applies its updates (not thread-safe). Updates carry
// absolute sizes; queries (best, top-N into a caller's buffer, crossed) do not
// allocate, and updates allocate only when a side outgrows its reservation.
//
// Prices are compared exactly across exponents ("0.35" equals "0.3500"), so a
// book needs no per-instrument scale; a level keeps the text form it was last
// written with. Each side is a vector sorted worst-first, best at the back:
// updates cluster near the top of book, so finding a level is a short scan
// from the back (a binary search beyond kLinearScan levels) and inserting or
// removing one moves only the few levels above it. bench/feed_bench.cpp
// measures it against a std::map book.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tickwire/connector/events.hpp"

namespace tickwire::connector::book {

enum class BookSide : std::uint8_t { kBid, kAsk };

// compare_decimal: exact three-way comparison of the values of two decimals,
// whatever their exponents. Inline for the common case, one venue's prices at
// one scale (a compare of mantissas); compare_decimal_scaled brings different
// exponents to one.
std::strong_ordering compare_decimal_scaled(Decimal a, Decimal b) noexcept;
inline std::strong_ordering compare_decimal(Decimal a, Decimal b) noexcept {
  if (a.exponent == b.exponent) [[likely]] return a.mantissa <=> b.mantissa;
  return compare_decimal_scaled(a, b);
}

class OrderBook {
 public:
  // kDefaultReserve: levels reserved per side; Binance snapshots hold up to 5000.
  static constexpr std::size_t kDefaultReserve = 5000;
  // kLinearScan: levels scanned from the top before switching to binary
  // search: the top 32 hold nearly every update of a depth-50 stream, and
  // the search beyond mispredicts (bench/RESULTS.md, "Book and trade frames
  // at their floor": 5-7% off the depth pipelines against 8).
  static constexpr std::size_t kLinearScan = 32;

  explicit OrderBook(std::size_t reserve_per_side = kDefaultReserve);

  // apply: sets every level of a delta (absolute sizes; a zero size deletes,
  // deleting an absent level is a no-op). If any size is negative, nothing is
  // applied and it returns false.
  [[nodiscard]] bool apply(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks);
  // set_level: one level; false (book unchanged) if the size is negative.
  [[nodiscard]] bool set_level(BookSide side, const PriceLevel& level);
  // load: replaces the whole book with a snapshot's levels (any order); false,
  // and an empty book, if a size is negative.
  [[nodiscard]] bool load(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks);
  // clear: removes every level, keeping the reserved memory.
  void clear() noexcept;
  // truncate: keeps the best `depth` levels of each side; each level removed
  // is appended to `removed_bids` / `removed_asks` with size zero (a delete).
  void truncate(std::size_t depth, std::vector<PriceLevel>& removed_bids, std::vector<PriceLevel>& removed_asks);

  // best_bid / best_ask: the top level, or nullptr when that side is empty.
  const PriceLevel* best_bid() const noexcept { return bids_.empty() ? nullptr : &bids_.back(); }
  const PriceLevel* best_ask() const noexcept { return asks_.empty() ? nullptr : &asks_.back(); }
  // top: copies up to out.size() levels of `side`, best first; returns how many.
  std::size_t top(BookSide side, std::span<PriceLevel> out) const noexcept;
  // crossed: both sides hold levels and the best bid is >= the best ask (a
  // locked book counts: on a matching exchange it cannot rest).
  bool crossed() const noexcept;
  // depth: the number of levels on a side.
  std::size_t depth(BookSide side) const noexcept { return side == BookSide::kBid ? bids_.size() : asks_.size(); }
  bool empty() const noexcept { return bids_.empty() && asks_.empty(); }

  // levels: a copy of one side, best first (allocates; for tests and export).
  std::vector<PriceLevel> levels(BookSide side) const;

  // operator==: the same levels by exact value on both sides.
  friend bool operator==(const OrderBook& a, const OrderBook& b) noexcept;

 private:
  std::vector<PriceLevel> bids_;  // ascending price: best (highest) at the back
  std::vector<PriceLevel> asks_;  // descending price: best (lowest) at the back
};

}  // namespace tickwire::connector::book
