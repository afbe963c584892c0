#include "tickwire/connector/venues/kraken/checksum.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

namespace tickwire::connector::venues::kraken {
namespace {

// kMaxDigits: fixed_digits writes fewer than this many bytes.
constexpr std::size_t kMaxDigits = 64;

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

}  // namespace

std::size_t fixed_digits(Decimal value, int precision, char* out) noexcept {
  std::uint64_t m = value.mantissa < 0 ? 0 - static_cast<std::uint64_t>(value.mantissa)
                                       : static_cast<std::uint64_t>(value.mantissa);
  // The value scaled by 10^precision is mantissa * 10^shift; a negative shift
  // drops the mantissa's last -shift digits.
  const int shift = static_cast<int>(value.exponent) + precision;
  if (shift < 0) m = -shift < 20 ? m / kPow10[static_cast<std::size_t>(-shift)] : 0;
  if (m == 0) return 0;  // no digit left once leading zeros are stripped
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
    const std::size_t zeros = std::min<std::size_t>(static_cast<std::size_t>(shift), kMaxDigits - 1 - len);
    std::memset(out + len, '0', zeros);
    len += zeros;
  }
  return len;
}

std::uint32_t book_checksum(std::span<const PriceLevel> asks, std::span<const PriceLevel> bids, int price_precision,
                            int qty_precision) noexcept {
  // The text of all 20 levels, then one CRC over it (the CRC of a
  // concatenation is the running CRC of its parts).
  char text[2 * kChecksumLevels * 2 * kMaxDigits];
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

}  // namespace tickwire::connector::venues::kraken
