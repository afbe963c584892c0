#include "tickwire/journal/position.hpp"

#include <fmt/format.h>

#include <charconv>
#include <ctime>

namespace tickwire::journal {
namespace {

bool parse_digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  auto [end, ec] = std::from_chars(s.data() + at, s.data() + at + n, out);
  return ec == std::errc() && end == s.data() + at + n;
}

}  // namespace

absl::StatusOr<Position> parse_position(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::uint64_t seq = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return absl::InvalidArgumentError(fmt::format("position '{}': sequence number out of range", text));
    }
    return Position{Position::Kind::kSeq, seq};
  }
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z
  auto bad = [&] {
    return absl::InvalidArgumentError(fmt::format(
        "position '{}': expected a sequence number or a UTC time like 2026-11-22T14:28:00.5Z", text));
  };
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text.back() != 'Z' || !parse_digits(text, 0, 4, year) || !parse_digits(text, 5, 2, mon) ||
      !parse_digits(text, 8, 2, day) || !parse_digits(text, 11, 2, hour) || !parse_digits(text, 14, 2, min) ||
      !parse_digits(text, 17, 2, sec)) {
    return bad();
  }
  std::uint64_t frac = 0;
  std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) return bad();
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return bad();
      frac = frac * 10 + static_cast<std::uint64_t>(c - '0');
    }
    for (std::size_t i = rest.size() - 1; i < 9; ++i) frac *= 10;
  }
  if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return bad();
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t t = ::timegm(&tm);
  if (t < 0) return bad();
  return Position{Position::Kind::kTime, static_cast<std::uint64_t>(t) * 1'000'000'000u + frac};
}

absl::Status seek(Reader& reader, const Position& from) {
  return from.kind == Position::Kind::kSeq ? reader.seek_seq(from.value) : reader.seek_time(from.value);
}

bool at_or_before(const RecordView& record, const Position& to) {
  return to.kind == Position::Kind::kSeq ? record.seq <= to.value : record.wall_ns <= to.value;
}

}  // namespace tickwire::journal
