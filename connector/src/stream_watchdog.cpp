#include "tickwire/connector/stream_watchdog.hpp"

#include <cassert>
#include <cmath>
#include <limits>

#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {

namespace {
constexpr std::uint64_t kNeverReported = std::numeric_limits<std::uint64_t>::max();
}

StreamWatchdog::StreamWatchdog(std::size_t streams, std::chrono::nanoseconds threshold, double ns_per_tick)
    : ns_per_tick_(ns_per_tick > 0 ? ns_per_tick : 1.0),
      last_(streams, 0),
      data_(streams, 0),
      threshold_(streams, 0),
      reported_(streams, kNeverReported) {
  stale_.reserve(streams);
  for (auto& t : threshold_) t = to_ticks(threshold);
}

StreamWatchdog StreamWatchdog::for_global_clock(std::size_t streams, std::chrono::nanoseconds threshold) {
  return StreamWatchdog(streams, threshold, middleware::TscClock::global().calibration().ns_per_tick);
}

std::uint64_t StreamWatchdog::to_ticks(std::chrono::nanoseconds ns) const noexcept {
  if (ns.count() <= 0) return 0;
  return static_cast<std::uint64_t>(std::llround(static_cast<double>(ns.count()) / ns_per_tick_));
}

void StreamWatchdog::set_threshold(std::size_t stream, std::chrono::nanoseconds threshold) {
  assert(stream < threshold_.size() && "StreamWatchdog::set_threshold: stream index out of range");
  threshold_[stream] = to_ticks(threshold);
}

void StreamWatchdog::arm(std::uint64_t now_ticks) noexcept {
  for (auto& t : last_) t = now_ticks;
  for (auto& r : reported_) r = kNeverReported;
}

std::span<const std::size_t> StreamWatchdog::check(std::uint64_t now_ticks) {
  stale_.clear();
  for (std::size_t i = 0; i < last_.size(); ++i) {
    if (threshold_[i] == 0 || now_ticks < last_[i]) continue;
    if (now_ticks - last_[i] < threshold_[i] || reported_[i] == last_[i]) continue;
    reported_[i] = last_[i];
    stale_.push_back(i);  // within the reserved capacity: no allocation
  }
  return stale_;
}

}  // namespace tickwire::connector
