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
