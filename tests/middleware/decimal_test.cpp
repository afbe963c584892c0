#include "tickwire/middleware/decimal.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>

namespace tickwire::middleware {
namespace {

Decimal parse_ok(std::string_view text) {
  Decimal d;
  EXPECT_EQ(parse_decimal(text, d), DecimalError::kOk) << text;
  return d;
}

DecimalError parse_err(std::string_view text) {
  Decimal d{7, -1};
  DecimalError e = parse_decimal(text, d);
  EXPECT_EQ(d, (Decimal{7, -1})) << "output changed on error for '" << text << "'";
  return e;
}

TEST(Decimal, KeepsEveryDigitTheExchangeSent) {
  EXPECT_EQ(parse_ok("0.00100000"), (Decimal{100000, -8}));
  EXPECT_EQ(parse_ok("6195.00000000"), (Decimal{619500000000, -8}));
  EXPECT_EQ(parse_ok("100"), (Decimal{100, 0}));
  EXPECT_EQ(parse_ok("-0.5"), (Decimal{-5, -1}));
  EXPECT_EQ(parse_ok("0"), (Decimal{0, 0}));
}

TEST(Decimal, RoundTripsTextExactly) {
  for (const char* text : {"0.00100000", "0.001", "100", "6195.00000000", "0.35130000", "-12.5",
                           "0.00000001", "123456789012345678", "0.000000000000000000000000000000000001",
                           "9223372036854775807", "-9223372036854775808", "0.0"}) {
    EXPECT_EQ(to_string(parse_ok(text)), text);
  }
}

TEST(Decimal, NormalizesOnlyWhatDoesNotChangeTheNumber) {
  EXPECT_EQ(to_string(parse_ok("1.")), "1");
  EXPECT_EQ(to_string(parse_ok(".5")), "0.5");
  EXPECT_EQ(to_string(parse_ok("007")), "7");
}

TEST(Decimal, RoundTripsRandomValues) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 100000; ++i) {
    Decimal d{static_cast<std::int64_t>(rng()), static_cast<std::int8_t>(-static_cast<int>(rng() % 19))};
    Decimal back;
    ASSERT_EQ(parse_decimal(to_string(d), back), DecimalError::kOk) << to_string(d);
    EXPECT_EQ(back, d) << to_string(d);
  }
}

TEST(Decimal, AcceptsTheBoundsOfInt64AndRejectsBeyond) {
  EXPECT_EQ(parse_ok("9223372036854775807").mantissa, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_ok("-9223372036854775808").mantissa, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(parse_err("9223372036854775808"), DecimalError::kTooManyDigits);
  EXPECT_EQ(parse_err("-9223372036854775809"), DecimalError::kTooManyDigits);
  EXPECT_EQ(parse_err("92233720368547758.080"), DecimalError::kTooManyDigits);
  EXPECT_EQ(parse_err("0.000000000000000000000000000000000000001"), DecimalError::kTooManyFractionDigits);
}

TEST(Decimal, RejectsGarbageWithAReason) {
  EXPECT_EQ(parse_err(""), DecimalError::kEmpty);
  EXPECT_EQ(parse_err("-"), DecimalError::kNoDigits);
  EXPECT_EQ(parse_err("."), DecimalError::kNoDigits);
  EXPECT_EQ(parse_err("1e5"), DecimalError::kBadCharacter);
  EXPECT_EQ(parse_err(" 1"), DecimalError::kBadCharacter);
  EXPECT_EQ(parse_err("1,5"), DecimalError::kBadCharacter);
  EXPECT_EQ(parse_err("1.2.3"), DecimalError::kBadCharacter);
  EXPECT_EQ(parse_err("+1"), DecimalError::kBadCharacter);
  EXPECT_EQ(parse_err("0x10"), DecimalError::kBadCharacter);
  EXPECT_EQ(parse_err("NaN"), DecimalError::kBadCharacter);
  EXPECT_NE(describe(DecimalError::kBadCharacter), describe(DecimalError::kEmpty));
}

// reference: what parse_decimal must answer, written independently (the
// grammar [-]digits[.digits], 128-bit accumulation, then the checks in the
// order the errors are ranked).
DecimalError reference(std::string_view text, Decimal& out) {
  if (text.empty()) return DecimalError::kEmpty;
  __extension__ using Int128 = __int128;
  std::size_t i = text[0] == '-' ? 1 : 0;
  const bool negative = i == 1;
  Int128 magnitude = 0;
  int digits = 0, fraction = 0, points = 0;
  bool overflow = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (++points > 1) return DecimalError::kBadCharacter;
      continue;
    }
    if (c < '0' || c > '9') return DecimalError::kBadCharacter;
    magnitude = magnitude * 10 + (c - '0');
    if (magnitude > (Int128{1} << 64)) overflow = true;
    ++digits;
    if (points == 1) ++fraction;
    // The parser stops at the first digit that overflows, or that exceeds
    // the fraction digits: whichever comes first.
    const Int128 limit = negative ? (Int128{1} << 63) : (Int128{1} << 63) - 1;
    if (overflow || magnitude > limit) return DecimalError::kTooManyDigits;
    if (fraction > kMaxFractionDigits) return DecimalError::kTooManyFractionDigits;
  }
  if (digits == 0) return DecimalError::kNoDigits;
  out.mantissa = static_cast<std::int64_t>(negative ? -magnitude : magnitude);
  out.exponent = static_cast<std::int8_t>(-fraction);
  return DecimalError::kOk;
}

// Texts of every length up to 24 over the characters that matter (digits,
// one or two points, a sign, a stray character): the short path (at most 18
// characters) and the general loop answer exactly as the reference, value
// and error alike, and leave the output alone on an error.
TEST(Decimal, EveryShortAndLongTextAnswersAsTheReference) {
  std::mt19937_64 rng(20261205);
  const std::string alphabet = "0123456789012345678901234567890123456789..-x";
  for (int round = 0; round < 400000; ++round) {
    std::string text;
    const std::size_t length = rng() % 25;
    for (std::size_t k = 0; k < length; ++k) text += alphabet[rng() % alphabet.size()];
    if (rng() % 4 == 0 && !text.empty()) text[0] = '-';
    Decimal want{7, -1};
    Decimal got{7, -1};
    const DecimalError want_error = reference(text, want);
    const DecimalError got_error = parse_decimal(text, got);
    ASSERT_EQ(got_error, want_error) << "'" << text << "'";
    ASSERT_EQ(got, want) << "'" << text << "'";
  }
}

TEST(Decimal, FormatsHostileExponentsWithinTheBuffer) {
  EXPECT_EQ(to_string(Decimal{std::numeric_limits<std::int64_t>::min(), -128}).size(),
            1u + 2u + 128u - 19u + 19u);
  EXPECT_EQ(to_string(Decimal{std::numeric_limits<std::int64_t>::min(), 127}).size(), 1u + 19u + 127u);
  EXPECT_EQ(to_string(Decimal{5, 2}), "500");
}

}  // namespace
}  // namespace tickwire::middleware
