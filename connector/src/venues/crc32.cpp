// The long-input path of crc32_update: PCLMULQDQ folding (Gopal, Ozturk et
// al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
// Instruction", Intel 2009), a last partial block included; slicing-by-8
// without PCLMULQDQ. The build is portable (no -march), so the folding
// function is compiled for pclmul+sse4.1 alone and chosen at run time.
#include "tickwire/connector/venues/crc32.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tickwire::connector::venues::crc32_detail {
namespace {

#if defined(__x86_64__)

// The folding constants for the reflected IEEE polynomial: each is x^n mod
// P(x), bit-reflected and multiplied by x (the paper's appendix; zlib-ng,
// Chromium's crc32_simd.c and Linux's crc32-pclmul carry the same values, and
// tests/connector/kraken_checksum_test.cpp checks the result bit by bit).
constexpr long long kFold64Low = 0x154442bd4;   // x^(4*128+32): a lane 64 bytes ahead
constexpr long long kFold64High = 0x1c6e41596;  // x^(4*128-32)
constexpr long long kFold16Low = 0x1751997d0;   // x^(128+32): 16 bytes ahead
constexpr long long kFold16High = 0x0ccaa009e;  // x^(128-32)
constexpr long long kFold96To64 = 0x163cd6124;  // x^64
constexpr long long kPolynomial = 0x1db710641;  // P(x) reflected, with its x^32 term
constexpr long long kBarrettMu = 0x1f7011641;   // floor(x^64 / P(x)) reflected

#define TICKWIRE_PCLMUL __attribute__((target("pclmul,sse4.1")))

// fold: `acc` carried `distance` bytes on (its two 64-bit halves times that
// distance's constants, `k`), plus the 16 bytes found there.
TICKWIRE_PCLMUL inline __m128i fold(__m128i acc, __m128i k, __m128i data) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00), _mm_clmulepi64_si128(acc, k, 0x11)), data);
}

TICKWIRE_PCLMUL inline __m128i load(const char* p) {
  // Safety: callers pass p with at least 16 bytes left; loadu has no alignment need.
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// kShift: pshufb masks for a last block of r bytes (0 < r < 16). Loaded
// from kShift + 16 + r, a mask moves a register's bytes r places down (the top
// r bytes zero, their mask bytes' high bit set, which blendv reads); loaded
// from kShift + r, it moves them 16 - r places up.
alignas(16) constexpr unsigned char kShift[48] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};

// fold_pclmul: the CRC register after `n` bytes from `p`; n >= 64. Four
// lanes 64 bytes apart hide the multiply's latency.
TICKWIRE_PCLMUL std::uint32_t fold_pclmul(std::uint32_t reg, const char* p, std::size_t n) noexcept {
  __m128i lane0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(reg)));
  __m128i lane1 = load(p + 16), lane2 = load(p + 32), lane3 = load(p + 48);
  const __m128i k64 = _mm_set_epi64x(kFold64High, kFold64Low);
  for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
    lane0 = fold(lane0, k64, load(p));
    lane1 = fold(lane1, k64, load(p + 16));
    lane2 = fold(lane2, k64, load(p + 32));
    lane3 = fold(lane3, k64, load(p + 48));
  }
  const __m128i k16 = _mm_set_epi64x(kFold16High, kFold16Low);
  __m128i acc = fold(fold(fold(lane0, k16, lane1), k16, lane2), k16, lane3);
  for (; n >= 16; p += 16, n -= 16) acc = fold(acc, k16, load(p));
  if (n > 0) {
    // The last r = n bytes: acc's 16 bytes then r more are the same message
    // as acc's first r bytes (with leading zeros, which add nothing) then 16
    // bytes: acc's last 16 - r and the r new ones (the input's last 16
    // bytes, which n >= 64 allows reading, supply them).
    // Safety: kShift + n and kShift + 16 + n are within the table for n < 16.
    const __m128i down = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kShift + 16 + n));
    const __m128i up = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kShift + n));
    const __m128i last = _mm_blendv_epi8(_mm_shuffle_epi8(acc, down), load(p + n - 16), down);
    acc = fold(_mm_shuffle_epi8(acc, up), k16, last);
  }

  // 128 bits to 96 (the low half times x^(128-32) onto the high half), 96 to
  // 64 (the low 32 bits times x^64), then Barrett's reduction to 32.
  const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);
  acc = _mm_xor_si128(_mm_srli_si128(acc, 8), _mm_clmulepi64_si128(acc, k16, 0x10));
  acc = _mm_xor_si128(_mm_srli_si128(acc, 4),
                      _mm_clmulepi64_si128(_mm_and_si128(acc, low32), _mm_cvtsi64_si128(kFold96To64), 0x00));
  const __m128i barrett = _mm_set_epi64x(kBarrettMu, kPolynomial);
  __m128i q = _mm_and_si128(_mm_clmulepi64_si128(_mm_and_si128(acc, low32), barrett, 0x10), low32);
  q = _mm_clmulepi64_si128(q, barrett, 0x00);
  return static_cast<std::uint32_t>(_mm_extract_epi32(_mm_xor_si128(acc, q), 1));
}

#undef TICKWIRE_PCLMUL

// False until static initialization sets it: a CRC taken before then (from
// another static initializer) uses the tables, with the same result.
// __builtin_cpu_init must run first there, as other constructors may not have.
const bool kHasPclmul = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}();

#endif

}  // namespace

std::uint32_t crc32_fold(std::uint32_t crc, std::string_view data) noexcept {
  std::uint32_t reg = ~crc;
  const char* p = data.data();
  std::size_t n = data.size();
#if defined(__x86_64__)
  if (kHasPclmul) return ~fold_pclmul(reg, p, n);
#endif
  return ~slicing(reg, p, n);
}

}  // namespace tickwire::connector::venues::crc32_detail
