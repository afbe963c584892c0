#include "tickwire/connector/rate_limit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace tickwire::connector {
namespace {

using namespace std::chrono_literals;
using Clock = SlidingWindowLimiter::Clock;

// FakeClock: time moves only when the test says so.
struct FakeClock {
  Clock::time_point t{Clock::duration(1'000'000)};
  SlidingWindowLimiter::NowFn fn() {
    return [this] { return t; };
  }
};

TEST(SlidingWindowLimiter, RefusesThe301stAttemptWithinFiveMinutes) {
  FakeClock clock;
  const auto owner = SlidingWindowLimiter::binance_connection_attempts(clock.fn());
  auto& limiter = *owner;
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(limiter.try_acquire(), Clock::duration::zero()) << "attempt " << i + 1;
    clock.t += 1s;  // 300 attempts spread over 300 s - 1 s: all inside one window
  }
  clock.t -= 1s;
  // The 301st, 299 s after the first: refused until the first leaves the window.
  const auto wait = limiter.try_acquire();
  EXPECT_EQ(wait, 1s);
  EXPECT_EQ(limiter.refused(), 1u);
  EXPECT_EQ(limiter.used(), 300u);
  clock.t += wait;
  EXPECT_EQ(limiter.try_acquire(), Clock::duration::zero());
  EXPECT_EQ(limiter.try_acquire(), 1s) << "the second attempt expires one second later";
}

TEST(SlidingWindowLimiter, WeightsCountAndExpireOnTheSlidingWindow) {
  FakeClock clock;
  const auto owner = SlidingWindowLimiter::binance_rest_weight(clock.fn());
  auto& limiter = *owner;
  EXPECT_EQ(limiter.try_acquire(5000), Clock::duration::zero());
  clock.t += 30s;
  EXPECT_EQ(limiter.try_acquire(1000), Clock::duration::zero());
  EXPECT_EQ(limiter.used(), 6000u);
  // 50 more does not fit until the 5000 taken at t0 expire: 30 s from now.
  EXPECT_EQ(limiter.try_acquire(50), 30s);
  clock.t += 30s;
  EXPECT_EQ(limiter.used(), 1000u);
  EXPECT_EQ(limiter.try_acquire(50), Clock::duration::zero());
}

TEST(SlidingWindowLimiter, ARequestLargerThanTheLimitNeverFits) {
  FakeClock clock;
  SlidingWindowLimiter limiter("weight", 10, 1min, clock.fn());
  EXPECT_EQ(limiter.try_acquire(11), 1min);
  EXPECT_EQ(limiter.used(), 0u);
}

TEST(SlidingWindowLimiter, ThreadsSharingOneLimiterNeverExceedIt) {
  FakeClock clock;  // time stands still: exactly `limit` acquisitions succeed
  SlidingWindowLimiter limiter("connection attempts", 1000, 5min, clock.fn());
  std::atomic<int> admitted{0};
  auto worker = [&] {
    for (int i = 0; i < 2000; ++i) {
      // relaxed: a count read after join(), which orders it.
      if (limiter.try_acquire() == Clock::duration::zero()) admitted.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_EQ(admitted.load(), 1000);
  EXPECT_EQ(limiter.refused(), 3000u);
}

}  // namespace
}  // namespace tickwire::connector

namespace tickwire::connector {
namespace {

using std::chrono::milliseconds;

// 1994-11-06 08:49:37 UTC, the RFC's example instant.
std::chrono::system_clock::time_point rfc_example() {
  using namespace std::chrono;
  return sys_days(year(1994) / November / 6) + hours(8) + minutes(49) + seconds(37);
}

TEST(RetryAfter, DelaySecondsAreReadAndCapped) {
  const auto now = rfc_example();
  EXPECT_EQ(parse_retry_after("120", now), milliseconds(120'000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("999999999999", now), milliseconds(7LL * 86'400'000));
  EXPECT_EQ(parse_retry_after("99999999999999999999999", now), milliseconds(7LL * 86'400'000));
}

TEST(RetryAfter, AllThreeHttpDateFormatsAreReadRelativeToNow) {
  const auto now = rfc_example() - std::chrono::seconds(90);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), milliseconds(90'000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), milliseconds(90'000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), milliseconds(90'000));
  // Ten days ahead: capped at seven.
  EXPECT_EQ(parse_retry_after("Wed Nov 16 08:49:37 1994", now), milliseconds(7LL * 86'400'000));
}

TEST(RetryAfter, APastDateMeansNowAndTwoDigitYearsStayWithinFiftyYears) {
  const auto now = rfc_example();
  EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), milliseconds(0));
  // In 2026 "26" is 2026 and "99" is 1999 (more than 50 years ahead would be 2099).
  using namespace std::chrono;
  const auto in_2026 = sys_days(year(2026) / November / 22) + hours(20);
  EXPECT_EQ(parse_retry_after("Sunday, 22-Nov-26 20:00:05 GMT", in_2026), milliseconds(5'000));
  EXPECT_EQ(parse_retry_after("Monday, 22-Nov-99 20:00:05 GMT", in_2026), milliseconds(0));
}

TEST(RetryAfter, GarbageIsMinusOne) {
  const auto now = rfc_example();
  for (const char* bad : {"", "soon", "12s", "-5", "1.5", "Sun, 6 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sun Nov  6 08:49:37 94"}) {
    EXPECT_EQ(parse_retry_after(bad, now), milliseconds(-1)) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace tickwire::connector
