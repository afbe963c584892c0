#include "tickwire/middleware/decimal.hpp"

#include <limits>

namespace tickwire::middleware {

namespace {

// digit_run: adds the digits at p[i..) to acc until the first non-digit;
// returns the index of that character (n at the end).
inline std::size_t digit_run(const char* p, std::size_t i, std::size_t n, std::uint64_t& acc) noexcept {
  for (; i < n; ++i) {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(p[i])) - unsigned{'0'};
    if (d > 9) break;
    acc = acc * 10 + d;
  }
  return i;
}

// parse_short: the common case, a well-formed text of at most 18
// characters, whose at most 18 digits cannot overflow: two digit runs around
// one point, no per-digit overflow or point checks. false: anything else
// (out untouched), which the general loop decides, errors included.
inline bool parse_short(std::string_view text, Decimal& out) noexcept {
  const char* p = text.data();
  const std::size_t n = text.size();
  const bool negative = p[0] == '-';
  const std::size_t start = negative ? 1 : 0;
  std::uint64_t acc = 0;
  const std::size_t integer_end = digit_run(p, start, n, acc);
  std::size_t fraction_digits = 0;
  if (integer_end < n) {
    if (p[integer_end] != '.') return false;
    const std::size_t fraction_start = integer_end + 1;
    if (digit_run(p, fraction_start, n, acc) < n) return false;
    fraction_digits = n - fraction_start;
  }
  // A sign or point alone has no digits: the general loop names it.
  if (integer_end - start + fraction_digits == 0) return false;
  const auto magnitude = static_cast<std::int64_t>(acc);
  out.mantissa = negative ? -magnitude : magnitude;
  out.exponent = static_cast<std::int8_t>(-static_cast<int>(fraction_digits));
  return true;
}

}  // namespace

DecimalError parse_decimal(std::string_view text, Decimal& out) noexcept {
  if (text.empty()) return DecimalError::kEmpty;
  if (text.size() <= 18 && parse_short(text, out)) return DecimalError::kOk;
  std::size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  // Accumulate as a negative number: |INT64_MIN| > INT64_MAX, so "-9223372036854775808" fits.
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  std::int64_t acc = 0;
  int digits = 0;
  int fraction_digits = 0;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (seen_point) return DecimalError::kBadCharacter;
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') return DecimalError::kBadCharacter;
    const int d = c - '0';
    if (acc < (kMin + d) / 10) return DecimalError::kTooManyDigits;
    acc = acc * 10 - d;
    ++digits;
    if (seen_point) {
      if (++fraction_digits > kMaxFractionDigits) return DecimalError::kTooManyFractionDigits;
    }
  }
  if (digits == 0) return DecimalError::kNoDigits;
  if (!negative && acc == kMin) return DecimalError::kTooManyDigits;
  out.mantissa = negative ? acc : -acc;
  out.exponent = static_cast<std::int8_t>(-fraction_digits);
  return DecimalError::kOk;
}

std::string_view describe(DecimalError error) noexcept {
  switch (error) {
    case DecimalError::kOk: return "ok";
    case DecimalError::kEmpty: return "empty decimal";
    case DecimalError::kNoDigits: return "decimal without digits";
    case DecimalError::kBadCharacter: return "decimal with a character other than [-]digits[.digits]";
    case DecimalError::kTooManyDigits: return "decimal mantissa does not fit in 64 bits";
    case DecimalError::kTooManyFractionDigits: return "decimal with more than 38 fraction digits";
  }
  return "unknown decimal error";
}

std::size_t format_decimal(Decimal value, char* out) noexcept {
  // Digits of |mantissa|, least significant first (unsigned: INT64_MIN is representable).
  char digits[24];
  int n = 0;
  const bool negative = value.mantissa < 0;
  std::uint64_t m = negative ? 0 - static_cast<std::uint64_t>(value.mantissa)
                             : static_cast<std::uint64_t>(value.mantissa);
  do {
    digits[n++] = static_cast<char>('0' + m % 10);
    m /= 10;
  } while (m != 0);

  std::size_t pos = 0;
  if (negative) out[pos++] = '-';
  if (value.exponent >= 0) {
    for (int k = n - 1; k >= 0; --k) out[pos++] = digits[k];
    for (int z = 0; z < value.exponent; ++z) out[pos++] = '0';
    return pos;
  }
  const int frac = -value.exponent;
  if (n <= frac) {
    out[pos++] = '0';
    out[pos++] = '.';
    for (int z = 0; z < frac - n; ++z) out[pos++] = '0';
    for (int k = n - 1; k >= 0; --k) out[pos++] = digits[k];
  } else {
    for (int k = n - 1; k >= frac; --k) out[pos++] = digits[k];
    out[pos++] = '.';
    for (int k = frac - 1; k >= 0; --k) out[pos++] = digits[k];
  }
  return pos;
}

std::string to_string(Decimal value) {
  char buf[kMaxFormattedSize];
  return std::string(buf, format_decimal(value, buf));
}

}  // namespace tickwire::middleware
