// CRC-32 (the IEEE polynomial, reflected 0xEDB88320: zlib's crc32), as the
// venues' book checksums use it (Kraken, OKX). Inputs of 64 bytes or more
// fold 16 bytes per carry-less multiply where the CPU has PCLMULQDQ (checked
// once at startup, crc32.cpp); shorter ones and other CPUs take slicing-by-8
// (eight 256-entry tables, eight input bytes per step).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tickwire::connector::venues {
namespace crc32_detail {

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

// kTables[0] is the byte-at-a-time table, kTables[k][i] the CRC of byte i
// followed by k zero bytes.
constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t i = 0; i < 256; ++i) {
    for (std::size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  }
  return t;
}

inline constexpr Tables kTables = make_tables();

// kFoldMinimum: the shortest input crc32_fold takes (four 16-byte lanes).
inline constexpr std::size_t kFoldMinimum = 64;

// slicing: the CRC register (the complemented CRC) after `n` bytes from `p`.
inline std::uint32_t slicing(std::uint32_t reg, const char* p, std::size_t n) noexcept {
  const auto& t = kTables;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint32_t lo = 0, hi = 0;
    std::memcpy(&lo, p, 4);  // the tables assume little-endian words (x86-64, aarch64)
    std::memcpy(&hi, p + 4, 4);
    lo ^= reg;
    reg = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) reg = t[0][(reg ^ static_cast<unsigned char>(*p)) & 0xFFu] ^ (reg >> 8);
  return reg;
}

// crc32_fold: crc32_update for data.size() >= kFoldMinimum (crc32.cpp).
std::uint32_t crc32_fold(std::uint32_t crc, std::string_view data) noexcept;

}  // namespace crc32_detail

// crc32_update: the CRC-32 of `data` continuing from `crc` (start from 0;
// the CRC of a concatenation is the running CRC of its parts).
inline std::uint32_t crc32_update(std::uint32_t crc, std::string_view data) noexcept {
  if (data.size() >= crc32_detail::kFoldMinimum) return crc32_detail::crc32_fold(crc, data);
  return ~crc32_detail::slicing(~crc, data.data(), data.size());
}

}  // namespace tickwire::connector::venues
