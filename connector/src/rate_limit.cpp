#include "tickwire/connector/rate_limit.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace tickwire::connector {

using namespace std::chrono_literals;

SlidingWindowLimiter::SlidingWindowLimiter(std::string name, std::uint64_t limit, Clock::duration window,
                                           NowFn now)
    : name_(std::move(name)), limit_(limit), window_(window),
      now_(now ? std::move(now) : NowFn([] { return Clock::now(); })) {}

std::shared_ptr<SlidingWindowLimiter> SlidingWindowLimiter::binance_connection_attempts(NowFn now) {
  return std::make_shared<SlidingWindowLimiter>("connection attempts", 300, 5min, std::move(now));
}

std::shared_ptr<SlidingWindowLimiter> SlidingWindowLimiter::binance_rest_weight(NowFn now) {
  return std::make_shared<SlidingWindowLimiter>("REST request weight", 6000, 1min, std::move(now));
}

void SlidingWindowLimiter::expire(Clock::time_point now) {
  // An entry taken at t counts while now < t + window.
  while (!taken_.empty() && taken_.front().first + window_ <= now) {
    used_ -= taken_.front().second;
    taken_.pop_front();
  }
}

SlidingWindowLimiter::Clock::duration SlidingWindowLimiter::try_acquire(std::uint64_t units) {
  std::lock_guard lock(mutex_);
  const auto now = now_();
  expire(now);
  if (units > limit_) {
    ++refused_;
    return window_;
  }
  if (used_ + units <= limit_) {
    taken_.emplace_back(now, units);
    used_ += units;
    return Clock::duration::zero();
  }
  // Walk the oldest entries until enough of them have expired to make room.
  std::uint64_t freed = 0;
  Clock::time_point until = now;
  for (const auto& [at, n] : taken_) {
    freed += n;
    until = at + window_;
    if (used_ - freed + units <= limit_) break;
  }
  ++refused_;
  return std::max(until - now, Clock::duration(1));
}

std::uint64_t SlidingWindowLimiter::used() {
  std::lock_guard lock(mutex_);
  expire(now_());
  return used_;
}

std::uint64_t SlidingWindowLimiter::refused() {
  std::lock_guard lock(mutex_);
  return refused_;
}

namespace {

constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(24 * 7);
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                       "Friday", "Saturday", "Sunday"};

// Cursor: a left-to-right reader of one header value; every take_* fails
// (returns false) without consuming on a mismatch.
struct Cursor {
  std::string_view s;

  bool literal(std::string_view lit) {
    if (!s.starts_with(lit)) return false;
    s.remove_prefix(lit.size());
    return true;
  }
  // digits: exactly `n` decimal digits (n = 0: one or more).
  bool digits(std::size_t n, int& out) {
    std::size_t len = 0;
    while (len < s.size() && s[len] >= '0' && s[len] <= '9' && (n == 0 || len < n)) ++len;
    if (len == 0 || (n != 0 && len != n) || len > 9) return false;
    std::from_chars(s.data(), s.data() + len, out);
    s.remove_prefix(len);
    return true;
  }
  template <std::size_t N>
  bool one_of(const std::array<std::string_view, N>& names, int* index = nullptr) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        if (index != nullptr) *index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  // time: "HH:MM:SS".
  bool time(int& h, int& m, int& sec) {
    return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, sec);
  }
};

// http_date: the UTC instant of an HTTP-date, or nullopt.
std::optional<std::chrono::system_clock::time_point> http_date(std::string_view text,
                                                               std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  Cursor c{text};
  int day = 0, month = 0, year = 0, h = 0, m = 0, sec = 0;
  bool ok = false;
  if (Cursor f = c; f.one_of(kDays) && f.literal(", ")) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    ok = f.digits(2, day) && f.literal(" ") && f.one_of(kMonths, &month) && f.literal(" ") && f.digits(4, year) &&
         f.literal(" ") && f.time(h, m, sec) && f.literal(" GMT") && f.s.empty();
  } else if (Cursor r = c; r.one_of(kLongDays) && r.literal(", ")) {
    // rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year more
    // than 50 years ahead is in the past century (RFC 9110 section 5.6.7).
    ok = r.digits(2, day) && r.literal("-") && r.one_of(kMonths, &month) && r.literal("-") && r.digits(2, year) &&
         r.literal(" ") && r.time(h, m, sec) && r.literal(" GMT") && r.s.empty();
    if (ok) {
      const int this_year = static_cast<int>(year_month_day(floor<days>(now)).year());
      year += this_year / 100 * 100;
      if (year > this_year + 50) year -= 100;
    }
  } else if (Cursor a = c; a.one_of(kDays) && a.literal(" ")) {
    // asctime-date: "Sun Nov  6 08:49:37 1994" (day padded with a space)
    ok = a.one_of(kMonths, &month) && a.literal(" ");
    if (ok) {
      a.literal(" ");  // the pad of a one-digit day
      ok = a.digits(0, day) && day < 32 && a.literal(" ") && a.time(h, m, sec) && a.literal(" ") &&
           a.digits(4, year) && a.s.empty();
    }
  }
  if (!ok || h > 23 || m > 59 || sec > 60) return std::nullopt;
  const year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month + 1)),
                           std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  return sys_days(ymd) + hours(h) + minutes(m) + seconds(sec);
}

}  // namespace

std::chrono::milliseconds parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  using std::chrono::milliseconds;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return milliseconds(-1);
  if (value.front() >= '0' && value.front() <= '9') {
    unsigned long long seconds = 0;
    const auto* end = value.data() + value.size();
    auto [ptr, ec] = std::from_chars(value.data(), end, seconds);
    if (ptr != end) return milliseconds(-1);
    // Out of range is a very long wait, not garbage: cap it.
    if (ec == std::errc::result_out_of_range) return kMaxRetryAfter;
    if (ec != std::errc{}) return milliseconds(-1);
    return std::min(milliseconds(static_cast<std::int64_t>(std::min<unsigned long long>(seconds, 86'400ULL * 7)) *
                                 1000),
                    kMaxRetryAfter);
  }
  const auto at = http_date(value, now);
  if (!at) return milliseconds(-1);
  if (*at <= now) return milliseconds(0);
  const auto wait = std::chrono::duration_cast<milliseconds>(*at - now);
  return std::min(wait, kMaxRetryAfter);
}

}  // namespace tickwire::connector
