#include "tickwire/connector/venues/kraken/checksum.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>

namespace tickwire::connector::venues::kraken {
namespace {

// kLookahead: how many of the previous call's levels a level is looked for
// among, from the one after the last found; a book update that deletes up to
// three levels in a row still finds the rest.
constexpr std::size_t kLookahead = 4;

constexpr std::array<std::uint64_t, 20> kPow10 = [] {
  std::array<std::uint64_t, 20> p{};
  p[0] = 1;
  for (std::size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
  return p;
}();

// kPairs: "00" to "99", two characters each.
constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859606162636465666768697071727374757677787980"
    "81828384858687888990919293949596979899";

// copy_text: `len` bytes from `from` to `to` in 16-byte steps, so up to 15
// bytes more are read and written (both buffers have that room, and the
// bytes written past `len` are overwritten by the next text or never read).
void copy_text(char* to, const char* from, std::size_t len) noexcept {
  for (std::size_t i = 0; i < len; i += 16) std::memcpy(to + i, from + i, 16);
}

// short_digits: m (0 < m < 10^8) in decimal without leading zeros, written
// as one 8-byte store (bytes past the digits are '0'); returns the count. The
// eight digits are worked out side by side in one register: two groups of
// four in its 32-bit halves, each split into two of two in 16-bit lanes, then
// into single digits in bytes, the most significant digit in the lowest byte
// (first in memory, little-endian). x * 10486 >> 20 is x / 100 for x < 10^4,
// x * 103 >> 10 is x / 10 for x < 100, and no lane's product reaches the next.
std::size_t short_digits(std::uint64_t m, char* out) noexcept {
  static_assert(std::endian::native == std::endian::little, "the lowest byte is stored first");
  std::uint64_t v = (m / 10000) | ((m % 10000) << 32);
  const std::uint64_t hundreds = ((v * 10486) >> 20) & 0x0000007F0000007Fu;
  v = hundreds | ((v - hundreds * 100) << 16);
  const std::uint64_t tens = ((v * 103) >> 10) & 0x000F000F000F000Fu;
  v = tens | ((v - tens * 10) << 8);
  const int leading = __builtin_ctzll(v) / 8;  // zero digits before the first (v != 0 as m != 0)
  v = (v >> (8 * leading)) + 0x3030303030303030u;
  std::memcpy(out, &v, 8);
  return static_cast<std::size_t>(8 - leading);
}

}  // namespace

std::size_t fixed_digits(Decimal value, int precision, char* out) noexcept {
  std::uint64_t m = value.mantissa < 0 ? 0 - static_cast<std::uint64_t>(value.mantissa)
                                       : static_cast<std::uint64_t>(value.mantissa);
  // The value scaled by 10^precision is mantissa * 10^shift; a negative shift
  // drops the mantissa's last -shift digits.
  const int shift = static_cast<int>(value.exponent) + precision;
  if (shift < 0) m = -shift < 20 ? m / kPow10[static_cast<std::size_t>(-shift)] : 0;
  if (m == 0) return 0;  // no digit left once leading zeros are stripped
  if (m < 100000000 && shift <= 8) {
    // A venue's price or size: the digits and up to eight zeros, two stores.
    const std::size_t len = short_digits(m, out);
    if (shift > 0) std::memcpy(out + len, "00000000", 8);
    return len + static_cast<std::size_t>(std::max(shift, 0));
  }
  // The digits, two at a time from the least significant end.
  char buf[20];
  char* p = buf + sizeof buf;
  while (m >= 100) {
    p -= 2;
    std::memcpy(p, kPairs + 2 * (m % 100), 2);
    m /= 100;
  }
  if (m >= 10) {
    p -= 2;
    std::memcpy(p, kPairs + 2 * m, 2);
  } else {
    *--p = static_cast<char>('0' + m);
  }
  std::size_t len = static_cast<std::size_t>(buf + sizeof buf - p);
  std::memcpy(out, p, len);
  if (shift > 0) {
    // Trailing zeros up to the precision (bounded: no Kraken precision is near this).
    const std::size_t zeros = std::min<std::size_t>(static_cast<std::size_t>(shift), kFixedDigitsCapacity - 1 - len);
    std::memset(out + len, '0', zeros);
    len += zeros;
  }
  return len;
}

std::uint32_t book_checksum(std::span<const PriceLevel> asks, std::span<const PriceLevel> bids, int price_precision,
                            int qty_precision) noexcept {
  // The text of all 20 levels, then one CRC over it (the CRC of a
  // concatenation is the running CRC of its parts).
  char text[2 * kChecksumLevels * 2 * kFixedDigitsCapacity];
  std::size_t len = 0;
  const auto add = [&](std::span<const PriceLevel> side) {
    for (std::size_t i = 0; i < std::min(side.size(), kChecksumLevels); ++i) {
      len += fixed_digits(side[i].price, price_precision, text + len);
      len += fixed_digits(side[i].size, qty_precision, text + len);
    }
  };
  add(asks);
  add(bids);
  return crc32_update(0, {text, len});
}

std::uint32_t BookChecksummer::checksum(std::span<const PriceLevel> asks, std::span<const PriceLevel> bids,
                                        int price_precision, int qty_precision) noexcept {
  Cache& was = caches_[previous_];
  Cache& now = caches_[previous_ ^ 1];
  if (price_precision != price_precision_ || qty_precision != qty_precision_) {
    // The cached text is at the old precisions: none of it applies.
    was.asks.count = was.bids.count = 0;
    price_precision_ = price_precision;
    qty_precision_ = qty_precision;
  }
  std::size_t len = append_side(asks, was.asks, was.text, now.asks, now.text, 0);
  len = append_side(bids, was.bids, was.text, now.bids, now.text, len);
  previous_ ^= 1;
  return crc32_update(0, {now.text, len});
}

void BookChecksummer::reset() noexcept {
  for (Cache& c : caches_) c.asks.count = c.bids.count = 0;
}

std::size_t BookChecksummer::append_side(std::span<const PriceLevel> side, const Side& was, const char* was_text,
                                         Side& now, char* text, std::size_t len) const noexcept {
  now.count = std::min(side.size(), kChecksumLevels);
  std::size_t next = 0;  // the first of `was` not yet found
  for (std::size_t i = 0; i < now.count; ++i) {
    Level& level = now.levels[i];
    level.price = side[i].price;
    level.size = side[i].size;
    level.at = static_cast<std::uint16_t>(len);
    // Reuse needs the same Decimal bits: equal values written differently
    // ({10,-2} and {1,-1}) give the same text too, but are only formatted again.
    const Level* found = nullptr;
    for (std::size_t k = next; k < std::min(was.count, next + kLookahead); ++k) {
      if (was.levels[k].price == level.price) {
        found = &was.levels[k];
        next = k + 1;
        break;
      }
    }
    if (found == nullptr) {
      level.price_len = static_cast<std::uint8_t>(fixed_digits(level.price, price_precision_, text + len));
      level.size_len =
          static_cast<std::uint8_t>(fixed_digits(level.size, qty_precision_, text + len + level.price_len));
    } else if (found->size == level.size) {
      copy_text(text + len, was_text + found->at, found->price_len + found->size_len);
      level.price_len = found->price_len;
      level.size_len = found->size_len;
    } else {
      copy_text(text + len, was_text + found->at, found->price_len);
      level.price_len = found->price_len;
      level.size_len =
          static_cast<std::uint8_t>(fixed_digits(level.size, qty_precision_, text + len + level.price_len));
    }
    len += level.price_len + level.size_len;
  }
  return len;
}

}  // namespace tickwire::connector::venues::kraken
