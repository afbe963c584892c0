// StreamWatchdog: per-stream data staleness, separate from socket liveness (a
// socket can stay open, answering pings, while one of its streams stopped).
// The feed thread calls record(stream, ticks) per message (two stores, no
// allocation, no lock); a timer on the same thread calls check(now), which
// lists the streams that should be busy but got nothing for their threshold.
// Ticks are TscClock ticks; `ns_per_tick` converts them (1.0 in tests).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tickwire::connector {

class StreamWatchdog {
 public:
  // StreamWatchdog: `streams` streams, each stale after `threshold` with no
  // data (zero: never stale); `ns_per_tick` from TscCalibration::ns_per_tick.
  StreamWatchdog(std::size_t streams, std::chrono::nanoseconds threshold, double ns_per_tick);

  // for_global_clock: ns_per_tick of TscClock::global(), the domain of
  // TscClock::now_ticks() and of the rx_ticks the session hands out.
  static StreamWatchdog for_global_clock(std::size_t streams, std::chrono::nanoseconds threshold);

  // set_threshold: per-stream override (zero: this stream is never stale,
  // e.g. an illiquid symbol's trades).
  void set_threshold(std::size_t stream, std::chrono::nanoseconds threshold);

  // arm: starts every stream's clock at `now_ticks` (call at connect and after
  // a resubscribe, so streams are judged from when they could first deliver).
  void arm(std::uint64_t now_ticks) noexcept;

  // record: the hot-path call, one per message of `stream`.
  void record(std::size_t stream, std::uint64_t ticks) noexcept {
    if (ticks > last_[stream]) last_[stream] = ticks;
    if (ticks > data_[stream]) data_[stream] = ticks;
  }

  // check: the streams stale at `now_ticks`, in index order; the span stays
  // valid until the next check(). Each stale stream is reported once per
  // arm()/record() of fresh data, so a timer does not restart endlessly.
  std::span<const std::size_t> check(std::uint64_t now_ticks);

  std::size_t size() const noexcept { return last_.size(); }
  // last_ticks: the last data time of `stream` (or the arm time).
  std::uint64_t last_ticks(std::size_t stream) const noexcept { return last_[stream]; }
  // data_ticks: the last data time of `stream`, whatever arm() did since (0: none yet).
  std::uint64_t data_ticks(std::size_t stream) const noexcept { return data_[stream]; }

 private:
  std::uint64_t to_ticks(std::chrono::nanoseconds ns) const noexcept;

  double ns_per_tick_;
  std::vector<std::uint64_t> last_;        // by stream: last data ticks, or the arm time if later
  std::vector<std::uint64_t> data_;        // by stream: last data ticks (arm() leaves it)
  std::vector<std::uint64_t> threshold_;   // by stream: staleness in ticks, 0 = off
  std::vector<std::uint64_t> reported_;    // by stream: the last_ value already reported stale
  std::vector<std::size_t> stale_;         // check()'s result, capacity reserved up front
};

}  // namespace tickwire::connector
