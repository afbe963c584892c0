#include "tickwire/connector/rate_limit.hpp"

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

}  // namespace tickwire::connector
