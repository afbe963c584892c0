#include "tickwire/journal/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace tickwire::journal {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // reflected Castagnoli

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? (c >> 1) ^ kPolynomial : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr auto kTable = make_table();

std::uint32_t extend_software(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t extend_sse42(std::uint32_t crc, const unsigned char* p,
                                                             std::size_t n) noexcept {
  std::uint64_t c = ~crc;
  while (n >= 8) {
    std::uint64_t word;
    // Safety: memcpy reads 8 bytes from p, which has at least n >= 8 left.
    std::memcpy(&word, p, sizeof word);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p);
    ++p;
    --n;
  }
  return ~c32;
}

using ExtendFn = std::uint32_t (*)(std::uint32_t, const unsigned char*, std::size_t) noexcept;
// Chosen once during static initialization; __builtin_cpu_init must run first
// there because other constructors may not have run yet.
const ExtendFn kExtend = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") ? extend_sse42 : extend_software;
}();
#endif

}  // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  return kExtend(crc, p, n);
#else
  return extend_software(crc, p, n);
#endif
}

bool crc32c_hardware() noexcept {
#if defined(__x86_64__)
  return kExtend == extend_sse42;
#else
  return false;
#endif
}

}  // namespace tickwire::journal
