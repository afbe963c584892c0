// Kraken v2 book checksum: CRC-32 (the IEEE polynomial, zlib's crc32) over
// the top 10 asks, best (lowest) first, then the top 10 bids, best (highest)
// first; each level is its price then its quantity, each written with the
// instrument's precision (price_precision / qty_precision from the
// `instrument` channel), the '.' removed and leading zeros stripped. v2 sends
// prices as JSON numbers without trailing zeros, so the raw text is not the
// input: the exact decimal is rescaled to the precision. No allocation; the
// cost per book message is measured in bench/feed_bench.cpp.
#pragma once

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

// fixed_digits: `value` scaled to `precision` fraction digits, as decimal
// digits without the point and without leading zeros, written to `out`
// (at least 64 bytes); returns the length. A value with more fraction
// digits than `precision` loses them (Kraken never sends one: the checksum
// then disagrees, which is what such a level deserves).
std::size_t fixed_digits(Decimal value, int precision, char* out) noexcept;

// book_checksum: the checksum of a book's top levels, both sides best first
// (only the first kChecksumLevels of each are read).
std::uint32_t book_checksum(std::span<const PriceLevel> asks, std::span<const PriceLevel> bids, int price_precision,
                            int qty_precision) noexcept;

}  // namespace tickwire::connector::venues::kraken
