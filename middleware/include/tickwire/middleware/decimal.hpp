// Decimal: an exact base-10 number (integer mantissa, base-10 exponent) for
// prices and sizes. Parsing keeps every digit the exchange sent, trailing
// zeros included, so formatting gives back the original text. No floating
// point anywhere; parsing and formatting never allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tickwire::middleware {

// Decimal: value = mantissa * 10^exponent.
struct Decimal {
  std::int64_t mantissa = 0;
  std::int8_t exponent = 0;

  friend bool operator==(const Decimal&, const Decimal&) = default;
};

// Why a text is not a decimal.
enum class DecimalError : std::uint8_t {
  kOk = 0,
  kEmpty,          // no characters
  kNoDigits,       // a sign or point without digits, e.g. "-" or "."
  kBadCharacter,   // anything but [-]digits[.digits], e.g. "1e5", " 1", "1,5", "0x1"
  kTooManyDigits,  // the mantissa does not fit in int64
  kTooManyFractionDigits,  // more than kMaxFractionDigits after the point
};

// kMaxFractionDigits: the most digits accepted after the decimal point.
inline constexpr int kMaxFractionDigits = 38;

// kPow10: 10^0 .. 10^18, every power of ten an int64 holds.
inline constexpr std::int64_t kPow10[19] = {1,
                                            10,
                                            100,
                                            1000,
                                            10000,
                                            100000,
                                            1000000,
                                            10000000,
                                            100000000,
                                            1000000000,
                                            10000000000,
                                            100000000000,
                                            1000000000000,
                                            10000000000000,
                                            100000000000000,
                                            1000000000000000,
                                            10000000000000000,
                                            100000000000000000,
                                            1000000000000000000};
// kMaxFormattedSize: enough for any Decimal, including exponents no parse
// produces (a decoded record may carry any int8): sign + 20 digits + point +
// 128 zeros.
inline constexpr std::size_t kMaxFormattedSize = 160;

// parse_decimal: parses "[-]digits[.digits]" into `out`. Returns kOk or why not;
// `out` is unchanged on error.
DecimalError parse_decimal(std::string_view text, Decimal& out) noexcept;

// describe: a short English description of an error, for messages.
std::string_view describe(DecimalError error) noexcept;

// format_decimal: writes the decimal's text (no terminator) into `out`, which
// must hold kMaxFormattedSize bytes; returns the number of bytes written.
std::size_t format_decimal(Decimal value, char* out) noexcept;

// to_string: format_decimal into a std::string (allocates; not for the hot path).
std::string to_string(Decimal value);

}  // namespace tickwire::middleware
