// The Kraken book checksum's parts (checksum.cpp, and the CRC-32 it runs,
// crc32.cpp): fixed_digits against a text recipe, the CRC against the bitwise
// definition on both its paths, and BookChecksummer against book_checksum
// over a long run of changing books. The documented checksum vectors, through
// the parser, are in kraken_parser_test.cpp.
#include "tickwire/connector/venues/kraken/checksum.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace tickwire::connector::venues {
namespace {

TEST(KrakenChecksum, FixedDigitsScalesToThePrecisionDropsThePointAndLeadingZeros) {
  char out[64];
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{566, -3}, 4, out)), "5660");    // 0.566 -> 0.5660
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{1, -1}, 8, out)), "10000000");  // 0.1 -> 0.10000000
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{452810, -1}, 1, out)), "452810");
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{40, 0}, 8, out)), "4000000000");
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{10, -2}, 1, out)), "1");  // 0.10 at precision 1
  // Each side of eight digits and eight zeros (below, the digits are worked out in one register).
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{99999999, 0}, 0, out)), "99999999");
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{100000000, 0}, 0, out)), "100000000");
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{10000001, -8}, 8, out)), "10000001");
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{-7, 0}, 8, out)), "700000000");
  EXPECT_EQ(std::string_view(out, kraken::fixed_digits(Decimal{7, 0}, 9, out)), "7000000000");
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

// The folding path takes 64 bytes and more, in 16-byte blocks and a last
// partial one, the tables shorter inputs: every length to 600 from every
// offset in a 16-byte block covers each partial block after each number of
// whole ones, at each alignment.
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

// random_decimal: mostly a venue's prices and sizes (up to 8 fraction
// digits), sometimes a long mantissa, a zero or a negative one (fixed_digits
// writes a negative value's digits, as the text recipe does).
Decimal random_decimal(std::mt19937_64& rng) {
  Decimal d;
  switch (rng() % 8) {
    case 0:
      d = {0, static_cast<std::int8_t>(-static_cast<int>(rng() % 9))};
      break;
    case 1:
      d = {static_cast<std::int64_t>(rng() % 1000000000000000000u),
           static_cast<std::int8_t>(static_cast<int>(rng() % 22) - 19)};
      break;
    default:
      d = {static_cast<std::int64_t>(1 + rng() % 1000000), static_cast<std::int8_t>(-static_cast<int>(rng() % 9))};
  }
  if (rng() % 10 == 0) d.mantissa = -d.mantissa;
  return d;
}

// respelled: the same value with another mantissa and exponent ({10,-2} for
// {1,-1}), or `d` when that would overflow.
Decimal respelled(Decimal d) {
  if (d.mantissa > INT64_MAX / 10 || d.mantissa < INT64_MIN / 10 || d.exponent == INT8_MIN) return d;
  return {d.mantissa * 10, static_cast<std::int8_t>(d.exponent - 1)};
}

// rescaled: the same mantissa at another exponent (another value).
Decimal rescaled(Decimal d) {
  return {d.mantissa, static_cast<std::int8_t>(d.exponent == INT8_MIN || d.exponent > -3 ? -4 : d.exponent + 1)};
}

// change_side: a book update's worth of change near the top of one side:
// sizes changed (some to the same value written otherwise, some to the same
// mantissa at another exponent), levels inserted and deleted, now and then
// two levels out of order, a duplicate, or the side cut short or emptied.
void change_side(std::mt19937_64& rng, std::vector<PriceLevel>& side) {
  const int changes = 1 + static_cast<int>(rng() % 3);
  for (int c = 0; c < changes; ++c) {
    const std::size_t at = side.empty() ? 0 : rng() % std::min<std::size_t>(side.size(), 12);
    switch (rng() % 14) {
      case 0:
      case 1:
      case 2:
        if (!side.empty()) side[at].size = random_decimal(rng);
        break;
      case 3:
        if (!side.empty()) side[at].size = respelled(side[at].size);
        break;
      case 4:
        if (!side.empty()) side[at].price = respelled(side[at].price);
        break;
      case 5:
      case 6:
        side.insert(side.begin() + static_cast<std::ptrdiff_t>(std::min(at, side.size())),
                    PriceLevel{random_decimal(rng), random_decimal(rng)});
        break;
      case 7:
      case 8:
        if (!side.empty()) side.erase(side.begin() + static_cast<std::ptrdiff_t>(at));
        break;
      case 9:
        if (!side.empty()) side[at].size = rescaled(side[at].size);
        break;
      case 10:
        if (!side.empty()) side[at].price = rescaled(side[at].price);
        break;
      case 11:
        if (at + 1 < side.size()) std::swap(side[at], side[at + 1]);
        break;
      case 12:
        if (!side.empty()) side.insert(side.begin() + static_cast<std::ptrdiff_t>(at), side[at]);
        break;
      default:
        if (rng() % 8 == 0) side.resize(std::min<std::size_t>(side.size(), rng() % 4));
    }
  }
  if (side.size() > 16) side.resize(16);
}

TEST(BookChecksummer, AnswersAsBookChecksumOverALongRunOfChangingBooks) {
  std::mt19937_64 rng(20261207);
  std::vector<PriceLevel> asks, bids;
  for (int k = 0; k < 12; ++k) {
    asks.push_back({{370001 + k, -1}, random_decimal(rng)});
    bids.push_back({{369999 - k, -1}, random_decimal(rng)});
  }
  kraken::BookChecksummer checksummer;
  int price_precision = 1, qty_precision = 8;
  for (int i = 0; i < 200000; ++i) {
    change_side(rng, asks);
    change_side(rng, bids);
    if (rng() % 64 == 0) {
      // Another precision, now and then one long enough for 63-digit texts.
      price_precision = static_cast<int>(rng() % (rng() % 8 == 0 ? 64 : 11));
      qty_precision = static_cast<int>(rng() % 11);
    }
    if (rng() % 500 == 0) checksummer.reset();
    ASSERT_EQ(checksummer.checksum(asks, bids, price_precision, qty_precision),
              kraken::book_checksum(asks, bids, price_precision, qty_precision))
        << "update " << i << ", " << asks.size() << " asks, " << bids.size() << " bids, precision " << price_precision
        << " and " << qty_precision;
  }
}

TEST(BookChecksummer, FitsTwentyLevelsOfTheLongestTexts) {
  // 19-digit mantissas at precision 60: every price and size is 63 digits.
  std::vector<PriceLevel> asks, bids;
  for (std::int64_t k = 0; k < 10; ++k) {
    asks.push_back({{1000000000000000000 + k, 0}, {-1000000000000000000 - k, 0}});
    bids.push_back({{999999999999999999 - k, 0}, {1000000000000000000 + k, 0}});
  }
  char out[kraken::kFixedDigitsCapacity];
  ASSERT_EQ(kraken::fixed_digits(asks[0].price, 60, out), 63u);
  kraken::BookChecksummer checksummer;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(checksummer.checksum(asks, bids, 60, 60), kraken::book_checksum(asks, bids, 60, 60)) << i;
    std::rotate(asks.begin(), asks.begin() + 1, asks.end());  // every level found, one index away
    bids[static_cast<std::size_t>(i)].size.mantissa += 1;
  }
}

TEST(BookChecksummer, GivesTheSameAfterResetAndForEmptySides) {
  const std::vector<PriceLevel> asks = {{{452830, -1}, {5, -1}}, {{452840, -1}, {12345678, -8}}};
  kraken::BookChecksummer checksummer;
  EXPECT_EQ(checksummer.checksum({}, {}, 1, 8), kraken::book_checksum({}, {}, 1, 8));
  EXPECT_EQ(checksummer.checksum(asks, {}, 1, 8), kraken::book_checksum(asks, {}, 1, 8));
  EXPECT_EQ(checksummer.checksum({}, asks, 1, 8), kraken::book_checksum({}, asks, 1, 8))
      << "the asks' texts are not looked for among the bids";
  checksummer.reset();
  EXPECT_EQ(checksummer.checksum(asks, asks, 1, 8), kraken::book_checksum(asks, asks, 1, 8));
}

}  // namespace
}  // namespace tickwire::connector::venues
