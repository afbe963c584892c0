// kraken::rfc3339_ns: the times Kraken v2 sends, read by both of the
// parser's paths (parser.cpp, direct_read.cpp). Internal to the Kraken parser.
#pragma once

#include <cstdint>
#include <string_view>

namespace tickwire::connector::venues::kraken {

// rfc3339_ns: "2023-09-25T07:48:36.925533Z" as Unix-epoch nanoseconds.
inline bool rfc3339_ns(std::string_view s, std::uint64_t& ns) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':' || (s.back() != 'Z' && s.back() != 'z')) {
    return false;
  }
  // num: `len` digits at `at` (no sign: "-1" is not an hour).
  const auto num = [&](std::size_t at, std::size_t len, int& out) {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      const auto digit = static_cast<unsigned>(static_cast<unsigned char>(s[i])) - unsigned{'0'};
      if (digit > 9) return false;
      v = v * 10 + static_cast<int>(digit);
    }
    out = v;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) || !num(17, 2, sec)) {
    return false;
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  std::uint64_t frac = 0;
  const std::size_t frac_end = s.size() - 1;
  if (frac_end > 19) {
    if (s[19] != '.' || frac_end - 20 < 1 || frac_end - 20 > 9) return false;
    std::size_t digits = 0;
    for (std::size_t i = 20; i < frac_end; ++i, ++digits) {
      if (s[i] < '0' || s[i] > '9') return false;
      frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = yy / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec;
  ns = static_cast<std::uint64_t>(secs) * 1'000'000'000ull + frac;
  return true;
}

}  // namespace tickwire::connector::venues::kraken
