// SlidingWindowLimiter: "at most N units per window" over a true sliding
// window, for exchange limits such as Binance's 300 connection attempts per
// 5 min per IP (unit = one attempt) or 6000 REST request weight per minute
// (unit = weight). One instance is shared by every session or client of the
// process; it is thread-safe (a mutex: callers acquire a few times a second at
// most, never on a per-message path). The clock is injectable for tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace tickwire::connector {

class SlidingWindowLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;

  // SlidingWindowLimiter: `limit` units per `window`; `now` defaults to the
  // steady clock. `name` appears in reasons ("connection attempts").
  SlidingWindowLimiter(std::string name, std::uint64_t limit, Clock::duration window, NowFn now = {});

  // binance_connection_attempts: 300 attempts per 5 min, for SessionOptions.
  static std::shared_ptr<SlidingWindowLimiter> binance_connection_attempts(NowFn now = {});
  // binance_rest_weight: 6000 request weight per minute, for RestOptions.
  static std::shared_ptr<SlidingWindowLimiter> binance_rest_weight(NowFn now = {});

  // try_acquire: takes `units` if they fit in the window now and returns 0;
  // otherwise takes nothing and returns how long to wait until they would fit
  // (always > 0). A request larger than the whole limit never fits: it returns
  // the full window, so the caller keeps backing off rather than spinning.
  Clock::duration try_acquire(std::uint64_t units = 1);

  // used: units taken within the current window.
  std::uint64_t used();
  // refused: try_acquire calls that returned a wait.
  std::uint64_t refused();

  const std::string& name() const noexcept { return name_; }
  std::uint64_t limit() const noexcept { return limit_; }
  Clock::duration window() const noexcept { return window_; }

 private:
  void expire(Clock::time_point now);

  std::string name_;
  std::uint64_t limit_;
  Clock::duration window_;
  NowFn now_;
  std::mutex mutex_;
  std::deque<std::pair<Clock::time_point, std::uint64_t>> taken_;  // oldest first; guarded by mutex_
  std::uint64_t used_ = 0;                                          // sum of taken_; guarded by mutex_
  std::uint64_t refused_ = 0;                                       // guarded by mutex_
};

// parse_retry_after: how long an HTTP Retry-After header value asks us to
// wait, measured from `now`. Both forms of RFC 9110 section 10.2.3 are read:
// delay-seconds ("120") and an HTTP-date in any of the three formats a
// recipient must accept ("Sun, 06 Nov 1994 08:49:37 GMT", the obsolete
// "Sunday, 06-Nov-94 08:49:37 GMT" and "Sun Nov  6 08:49:37 1994"). A date
// in the past gives 0; every wait is capped at 7 days; anything else gives
// -1 ms (the caller then uses its own default).
std::chrono::milliseconds parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace tickwire::connector
