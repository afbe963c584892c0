#include "tickwire/connector/book/order_book.hpp"

#include <algorithm>

namespace tickwire::connector::book {
namespace {

// -Wpedantic: __int128 is a GNU extension, which __extension__ acknowledges.
__extension__ using Int128 = __int128;

using middleware::kPow10;

// rank: the side's sort order, worst first. For bids a higher price ranks
// higher; for asks a lower one does.
template <BookSide S>
std::strong_ordering rank(Decimal a, Decimal b) noexcept {
  if constexpr (S == BookSide::kBid) {
    return compare_decimal(a, b);
  } else {
    return compare_decimal(b, a);
  }
}

// position: the first index whose price ranks >= `price`. Scans down from
// the best level first, where most updates land.
template <BookSide S>
std::size_t position(const std::vector<PriceLevel>& levels, Decimal price) noexcept {
  std::size_t hi = levels.size();
  for (std::size_t steps = 0; hi > 0 && steps < OrderBook::kLinearScan; ++steps) {
    if (rank<S>(levels[hi - 1].price, price) < 0) return hi;
    --hi;
  }
  if (hi == 0) return 0;
  // Everything from hi up ranks >= price: binary search [0, hi).
  auto it = std::lower_bound(levels.begin(), levels.begin() + static_cast<std::ptrdiff_t>(hi), price,
                             [](const PriceLevel& l, Decimal p) { return rank<S>(l.price, p) < 0; });
  return static_cast<std::size_t>(it - levels.begin());
}

template <BookSide S>
void set(std::vector<PriceLevel>& levels, const PriceLevel& level) {
  const std::size_t i = position<S>(levels, level.price);
  const auto at = levels.begin() + static_cast<std::ptrdiff_t>(i);
  const bool exists = i < levels.size() && rank<S>(at->price, level.price) == 0;
  if (level.size.mantissa == 0) {
    if (exists) levels.erase(at);
  } else if (exists) {
    *at = level;
  } else {
    levels.insert(at, level);
  }
}

bool any_negative(std::span<const PriceLevel> levels) noexcept {
  return std::any_of(levels.begin(), levels.end(), [](const PriceLevel& l) { return l.size.mantissa < 0; });
}

}  // namespace

std::strong_ordering compare_decimal_scaled(Decimal a, Decimal b) noexcept {
  if (a.exponent == b.exponent) return a.mantissa <=> b.mantissa;
  // Bring the one with the larger exponent down to the smaller: m * 10^d.
  // |mantissa| < 2^63 < 10^19, so for d >= 19 a non-zero m * 10^d outweighs
  // any mantissa and only its sign matters; for d < 19 the product fits in
  // 128 bits.
  const bool a_larger = a.exponent > b.exponent;
  const Decimal& big = a_larger ? a : b;
  const Decimal& small = a_larger ? b : a;
  const int d = big.exponent - small.exponent;
  std::strong_ordering big_vs_small = std::strong_ordering::equal;
  if (d >= 19) {
    big_vs_small = big.mantissa == 0 ? (0 <=> small.mantissa) : (big.mantissa <=> 0);
  } else {
    const Int128 scaled = static_cast<Int128>(big.mantissa) * kPow10[d];
    const Int128 other = small.mantissa;
    big_vs_small = scaled < other ? std::strong_ordering::less
                                  : (scaled > other ? std::strong_ordering::greater : std::strong_ordering::equal);
  }
  if (a_larger) return big_vs_small;
  return 0 <=> big_vs_small;
}

OrderBook::OrderBook(std::size_t reserve_per_side) {
  bids_.reserve(reserve_per_side);
  asks_.reserve(reserve_per_side);
}

bool OrderBook::apply(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks) {
  if (any_negative(bids) || any_negative(asks)) return false;
  for (const auto& l : bids) set<BookSide::kBid>(bids_, l);
  for (const auto& l : asks) set<BookSide::kAsk>(asks_, l);
  return true;
}

bool OrderBook::set_level(BookSide side, const PriceLevel& level) {
  if (level.size.mantissa < 0) return false;
  if (side == BookSide::kBid) {
    set<BookSide::kBid>(bids_, level);
  } else {
    set<BookSide::kAsk>(asks_, level);
  }
  return true;
}

bool OrderBook::load(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks) {
  clear();
  if (any_negative(bids) || any_negative(asks)) return false;
  // A snapshot lists best first: inserting in reverse appends at the back
  // after the first comparison, so a 5000-level load is linear.
  for (auto it = bids.rbegin(); it != bids.rend(); ++it) set<BookSide::kBid>(bids_, *it);
  for (auto it = asks.rbegin(); it != asks.rend(); ++it) set<BookSide::kAsk>(asks_, *it);
  return true;
}

void OrderBook::clear() noexcept {
  bids_.clear();
  asks_.clear();
}

void OrderBook::truncate(std::size_t depth, std::vector<PriceLevel>& removed_bids,
                         std::vector<PriceLevel>& removed_asks) {
  // Each side is worst-first: the levels past `depth` are at the front.
  const auto cut = [depth](std::vector<PriceLevel>& side, std::vector<PriceLevel>& removed) {
    if (side.size() <= depth) return;
    const auto excess = static_cast<std::ptrdiff_t>(side.size() - depth);
    for (auto it = side.begin(); it != side.begin() + excess; ++it) removed.push_back({it->price, Decimal{}});
    side.erase(side.begin(), side.begin() + excess);
  };
  cut(bids_, removed_bids);
  cut(asks_, removed_asks);
}

std::size_t OrderBook::top(BookSide side, std::span<PriceLevel> out) const noexcept {
  const auto& levels = side == BookSide::kBid ? bids_ : asks_;
  const std::size_t n = std::min(out.size(), levels.size());
  std::copy_n(levels.rbegin(), n, out.begin());
  return n;
}

bool OrderBook::crossed() const noexcept {
  if (bids_.empty() || asks_.empty()) return false;
  return compare_decimal(bids_.back().price, asks_.back().price) >= 0;
}

std::vector<PriceLevel> OrderBook::levels(BookSide side) const {
  const auto& levels = side == BookSide::kBid ? bids_ : asks_;
  return {levels.rbegin(), levels.rend()};
}

bool operator==(const OrderBook& a, const OrderBook& b) noexcept {
  auto same = [](const std::vector<PriceLevel>& x, const std::vector<PriceLevel>& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](const PriceLevel& l, const PriceLevel& r) {
      return compare_decimal(l.price, r.price) == 0 && compare_decimal(l.size, r.size) == 0;
    });
  };
  return same(a.bids_, b.bids_) && same(a.asks_, b.asks_);
}

}  // namespace tickwire::connector::book
