// The Kraken book checksum's parts (checksum.cpp, and the CRC-32 it runs,
// crc32.cpp): fixed_digits against a text recipe, the CRC against the bitwise
// definition on both its paths. The documented checksum vectors, through the
// parser, are in kraken_parser_test.cpp.
#include "tickwire/connector/venues/kraken/checksum.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace tickwire::connector::venues {
namespace {

TEST(KrakenChecksum, FixedDigitsScalesToThePrecisionDropsThePointAndLeadingZeros) {
  char out[64];
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{566, -3}, 4, out)), "5660");    // 0.566 -> 0.5660
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{1, -1}, 8, out)), "10000000");  // 0.1 -> 0.10000000
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{452810, -1}, 1, out)), "452810");
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{40, 0}, 8, out)), "4000000000");
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{10, -2}, 1, out)), "1");  // 0.10 at precision 1
}

// reference_digits: fixed_digits by the text recipe, in strings: the
// mantissa's digits, a point placed by the exponent, the fraction cut or
// padded to the precision, the point and leading zeros removed.
std::string reference_digits(Decimal value, int precision) {
  std::string digits = std::to_string(value.mantissa < 0 ? 0 - static_cast<std::uint64_t>(value.mantissa)
                                                         : static_cast<std::uint64_t>(value.mantissa));
  const int shift = static_cast<int>(value.exponent) + precision;
  if (shift >= 0) {
    digits.append(static_cast<std::size_t>(shift), '0');
  } else {
    const auto cut = static_cast<std::size_t>(-shift);
    digits = cut >= digits.size() ? std::string() : digits.substr(0, digits.size() - cut);
  }
  const auto first = digits.find_first_not_of('0');
  return first == std::string::npos ? std::string() : digits.substr(first);
}

TEST(KrakenChecksum, FixedDigitsAnswersAsTheTextRecipeForRandomDecimals) {
  std::mt19937_64 rng(20261206);
  char out[64];
  for (int i = 0; i < 200000; ++i) {
    const int width = static_cast<int>(rng() % 19);  // mantissas of 1 to 19 digits
    std::uint64_t m = rng() % 10;
    for (int k = 0; k < width; ++k) m = m * 10 + rng() % 10;
    if (m > static_cast<std::uint64_t>(INT64_MAX)) m /= 10;
    const Decimal value{static_cast<std::int64_t>(m) * (rng() % 4 == 0 ? -1 : 1),
                        static_cast<std::int8_t>(static_cast<int>(rng() % 22) - 19)};  // 10^-19 .. 10^2
    const int precision = static_cast<int>(rng() % 11);
    ASSERT_EQ(std::string_view(out, kraken::fixed_digits(value, precision, out)), reference_digits(value, precision))
        << value.mantissa << "e" << value.exponent << " at precision " << precision;
  }
}

// The folding path takes 64 bytes and more in 16-byte blocks, the tables the
// rest: every length to 600 from every offset in a 16-byte block covers each
// tail after each number of blocks, at each alignment.
TEST(KrakenChecksum, Crc32OfEveryLengthAndOffsetIsTheBitwiseOne) {
  std::mt19937 rng(7);
  std::string text(616, '\0');
  for (char& c : text) c = static_cast<char>(rng());
  for (std::size_t from = 0; from < 16; ++from) {
    std::uint32_t crc = ~0u;  // bit by bit, the reflected polynomial, one more byte each length
    for (std::size_t len = 0; len <= 600; ++len) {
      ASSERT_EQ(kraken::crc32_update(0, std::string_view(text).substr(from, len)), ~crc) << from << "+" << len;
      crc ^= static_cast<unsigned char>(text[from + len]);
      for (int k = 0; k < 8; ++k) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
  }
}

TEST(KrakenChecksum, Crc32ContinuesFromAnyCrcAcrossBothPaths) {
  std::mt19937 rng(8);
  std::string text(600, '\0');
  for (char& c : text) c = static_cast<char>(rng());
  const std::string_view all(text);
  for (std::size_t len = 0; len <= all.size(); ++len) {
    const std::uint32_t whole = kraken::crc32_update(0, all.substr(0, len));
    for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{63}, std::size_t{64},
                                  std::size_t{200}, len / 2, len - std::min<std::size_t>(len, 70)}) {
      if (cut > len) continue;
      const std::uint32_t head = kraken::crc32_update(0, all.substr(0, cut));
      ASSERT_EQ(kraken::crc32_update(head, all.substr(cut, len - cut)), whole) << cut << " then " << len - cut;
    }
  }
}

TEST(KrakenChecksum, Crc32IsZlibs) {
  EXPECT_EQ(kraken::crc32_update(0, "123456789"), 0xCBF43926u);  // the CRC-32 check value
  EXPECT_EQ(kraken::crc32_update(kraken::crc32_update(0, "1234"), "56789"), 0xCBF43926u);
}

}  // namespace
}  // namespace tickwire::connector::venues
