// Kraken v2 book checksum: CRC-32 (the IEEE polynomial, zlib's crc32) over
// the top 10 asks, best (lowest) first, then the top 10 bids, best (highest)
// first; each level is its price then its quantity, each written with the
// instrument's precision (price_precision / qty_precision from the
// `instrument` channel), the '.' removed and leading zeros stripped. v2 sends
// prices as JSON numbers without trailing zeros, so the raw text is not the
// input: the exact decimal is rescaled to the precision. No allocation; the
// cost per book message is measured in bench/feed_bench.cpp. BookChecksummer
// gives the same checksum for one book's successive states, formatting only
// the levels that changed.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "tickwire/connector/events.hpp"
#include "tickwire/connector/venues/crc32.hpp"

namespace tickwire::connector::venues::kraken {

// kChecksumLevels: levels per side the checksum covers.
inline constexpr std::size_t kChecksumLevels = 10;

// crc32_update: the CRC-32 of `data` continuing from `crc` (start from 0).
using venues::crc32_update;

// kFixedDigitsCapacity: the bytes fixed_digits may write (it returns fewer).
inline constexpr std::size_t kFixedDigitsCapacity = 64;

// fixed_digits: `value` scaled to `precision` fraction digits, as decimal
// digits without the point and without leading zeros, written to `out`
// (at least kFixedDigitsCapacity bytes); returns the length. A value with more fraction
// digits than `precision` loses them (Kraken never sends one: the checksum
// then disagrees, which is what such a level deserves).
std::size_t fixed_digits(Decimal value, int precision, char* out) noexcept;

// book_checksum: the checksum of a book's top levels, both sides best first
// (only the first kChecksumLevels of each are read).
std::uint32_t book_checksum(std::span<const PriceLevel> asks, std::span<const PriceLevel> bids, int price_precision,
                            int qty_precision) noexcept;

// BookChecksummer: book_checksum for the successive states of one book. It
// keeps the previous call's top levels with their text; a level whose price
// and size are those of one of them (the same Decimal bits, looked for near
// the same index) copies that text, one whose price alone is found copies the
// price's, any other is formatted. The text is then one CRC, as in
// book_checksum. One per book, used by one thread; ~7 KB, no allocation.
class BookChecksummer {
 public:
  // checksum: book_checksum(asks, bids, price_precision, qty_precision).
  std::uint32_t checksum(std::span<const PriceLevel> asks, std::span<const PriceLevel> bids, int price_precision,
                         int qty_precision) noexcept;

  // reset: forget the previous call's levels (the next call formats all).
  void reset() noexcept;

 private:
  // kTextCapacity: 40 texts of under kFixedDigitsCapacity bytes each; the
  // last starts at most 39 * 63 bytes in and may be written 64 bytes long.
  static constexpr std::size_t kTextCapacity = 2 * kChecksumLevels * 2 * kFixedDigitsCapacity;

  struct Level {
    Decimal price;
    Decimal size;
    std::uint16_t at = 0;  // where its text (price, then size) starts in the Cache's text
    std::uint8_t price_len = 0;
    std::uint8_t size_len = 0;
  };
  struct Side {
    std::array<Level, kChecksumLevels> levels{};
    std::size_t count = 0;
  };
  // Cache: one call's levels and the text the CRC ran over.
  struct Cache {
    Side asks;
    Side bids;
    char text[kTextCapacity]{};  // zeroed: copies read up to 15 bytes past a text's end
  };

  std::size_t append_side(std::span<const PriceLevel> side, const Side& was, const char* was_text, Side& now,
                          char* text, std::size_t len) const noexcept;

  std::array<Cache, 2> caches_{};  // the previous call's (at previous_) and the one this call builds
  std::size_t previous_ = 0;
  int price_precision_ = 0;  // the previous call's precisions, which its text is at
  int qty_precision_ = 0;
};

}  // namespace tickwire::connector::venues::kraken
