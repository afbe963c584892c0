#include "tickwire/connector/venues/kraken/checksum.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

namespace tickwire::connector::venues::kraken {
namespace {

// The byte-at-a-time table of the reflected polynomial 0xEDB88320.
constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kTable = make_table();

std::uint32_t add_level(std::uint32_t crc, const PriceLevel& level, int price_precision, int qty_precision) {
  char digits[64];
  crc = crc32_update(crc, {digits, fixed_digits(level.price, price_precision, digits)});
  return crc32_update(crc, {digits, fixed_digits(level.size, qty_precision, digits)});
}

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, std::string_view data) noexcept {
  crc = ~crc;
  for (const char ch : data) crc = kTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::size_t fixed_digits(Decimal value, int precision, char* out) noexcept {
  // |mantissa| in decimal digits (at most 19), most significant first.
  char reversed[24];
  std::size_t n = 0;
  std::uint64_t m = value.mantissa < 0 ? 0 - static_cast<std::uint64_t>(value.mantissa)
                                       : static_cast<std::uint64_t>(value.mantissa);
  do {
    reversed[n++] = static_cast<char>('0' + m % 10);
    m /= 10;
  } while (m != 0);
  // The value scaled by 10^precision is mantissa * 10^shift.
  const int shift = static_cast<int>(value.exponent) + precision;
  std::size_t keep = n;  // digits of the mantissa kept (a negative shift drops the last ones)
  if (shift < 0) keep = static_cast<std::size_t>(std::max<int>(0, static_cast<int>(n) + shift));
  std::size_t len = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    const char d = reversed[n - 1 - i];
    if (len == 0 && d == '0') continue;  // leading zeros are stripped
    out[len++] = d;
  }
  if (len > 0 && shift > 0) {
    // Trailing zeros up to the precision (bounded: no Kraken precision is near this).
    const std::size_t zeros = std::min<std::size_t>(static_cast<std::size_t>(shift), 63 - len);
    std::fill(out + len, out + len + zeros, '0');
    len += zeros;
  }
  return len;
}

std::uint32_t book_checksum(std::span<const PriceLevel> asks, std::span<const PriceLevel> bids, int price_precision,
                            int qty_precision) noexcept {
  std::uint32_t crc = 0;
  for (std::size_t i = 0; i < std::min(asks.size(), kChecksumLevels); ++i) {
    crc = add_level(crc, asks[i], price_precision, qty_precision);
  }
  for (std::size_t i = 0; i < std::min(bids.size(), kChecksumLevels); ++i) {
    crc = add_level(crc, bids[i], price_precision, qty_precision);
  }
  return crc;
}

}  // namespace tickwire::connector::venues::kraken
