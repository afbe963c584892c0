#include "tickwire/middleware/decimal.hpp"

#include <limits>

namespace tickwire::middleware {

DecimalError parse_decimal(std::string_view text, Decimal& out) noexcept {
  if (text.empty()) return DecimalError::kEmpty;
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
