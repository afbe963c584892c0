// SpscChannel<T, N>: an SpscRing with blocking, timed and closable ends. One
// thread sends, one thread receives; either waits by spinning, yielding, then
// parking on a futex, so an idle end uses no CPU. A send or recv costs the
// ring operation plus one full fence and one load to see whether the peer is
// parked; the futex syscall happens only when it is.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <utility>

#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/parking.hpp"
#include "tickwire/middleware/spsc_ring.hpp"

namespace tickwire::middleware {

// Closing: close() is meant for the sender after its last send, or for any
// thread once the sender has stopped. Then every item sent before close() is
// received before recv reports kClosed, and every later send fails with
// kClosed. A send racing with close() from another thread may succeed without
// its item ever being received; the channel destroys such items.
template <typename T, std::size_t N>
class SpscChannel {
 public:
  using value_type = T;

  SpscChannel() = default;
  // SpscChannel(policy): how long each end spins and yields before parking.
  explicit SpscChannel(SpinPolicy policy) : policy_(policy) {}
  SpscChannel(const SpscChannel&) = delete;
  SpscChannel& operator=(const SpscChannel&) = delete;

  // capacity: how many items the channel buffers.
  static constexpr std::size_t capacity() noexcept { return N; }

  // try_send: sender only. kOk, kWouldBlock (full) or kClosed; v is moved from only on kOk.
  template <typename U>
  ChannelStatus try_send(U&& v) {
    if (closed_->load(std::memory_order_acquire)) return ChannelStatus::kClosed;  // pairs with close()'s release
    if (!ring_.try_emplace(std::forward<U>(v))) return ChannelStatus::kWouldBlock;
    not_empty_.notify_one();
    return ChannelStatus::kOk;
  }

  // send: sender only. Waits for room; kOk or kClosed.
  template <typename U>
  ChannelStatus send(U&& v) {
    return send_until(std::forward<U>(v), kNoDeadline);
  }

  // send_until: sender only. kOk, kTimedOut or kClosed.
  template <typename U>
  ChannelStatus send_until(U&& v, Deadline deadline) {
    ChannelStatus status = ChannelStatus::kTimedOut;
    // try_send leaves v untouched unless it succeeds, so forwarding it again is sound.
    wait_until(
        not_full_,
        [&] {
          status = try_send(std::forward<U>(v));
          return status != ChannelStatus::kWouldBlock;
        },
        deadline, policy_);
    return status == ChannelStatus::kWouldBlock ? ChannelStatus::kTimedOut : status;
  }

  // send_for: send_until(now + timeout).
  template <typename U, typename Rep, typename Period>
  ChannelStatus send_for(U&& v, std::chrono::duration<Rep, Period> timeout) {
    return send_until(std::forward<U>(v), std::chrono::steady_clock::now() + timeout);
  }

  // try_recv: receiver only. kOk (out assigned), kWouldBlock (empty) or kClosed (closed and drained).
  ChannelStatus try_recv(T& out) {
    if (ring_.try_pop(out)) return received();
    if (!closed_->load(std::memory_order_acquire)) return ChannelStatus::kWouldBlock;  // pairs with close()'s release
    // Closed: everything sent before close() is visible now; drain it first.
    if (ring_.try_pop(out)) return received();
    return ChannelStatus::kClosed;
  }

  // recv: receiver only. Waits for an item; kOk or kClosed.
  ChannelStatus recv(T& out) { return recv_until(out, kNoDeadline); }

  // recv_until: receiver only. kOk, kTimedOut or kClosed.
  ChannelStatus recv_until(T& out, Deadline deadline) {
    ChannelStatus status = ChannelStatus::kTimedOut;
    wait_until(
        not_empty_,
        [&] {
          status = try_recv(out);
          return status != ChannelStatus::kWouldBlock;
        },
        deadline, policy_);
    return status == ChannelStatus::kWouldBlock ? ChannelStatus::kTimedOut : status;
  }

  // recv_for: recv_until(now + timeout).
  template <typename Rep, typename Period>
  ChannelStatus recv_for(T& out, std::chrono::duration<Rep, Period> timeout) {
    return recv_until(out, std::chrono::steady_clock::now() + timeout);
  }

  // close: later sends fail; recv drains what is buffered, then reports kClosed. Idempotent.
  void close() noexcept {
    closed_->store(true, std::memory_order_release);  // pairs with the acquire in try_send/try_recv
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // is_closed: close() has been called.
  bool is_closed() const noexcept {
    return closed_->load(std::memory_order_acquire);  // pairs with close()'s release
  }

  // parked_receivers / parked_senders: threads parking or parked on this
  // channel, a hint for tests and statistics.
  std::uint32_t parked_receivers() const noexcept { return not_empty_.waiters(); }
  std::uint32_t parked_senders() const noexcept { return not_full_.waiters(); }

  // size_approx: buffered items, exact only when both ends are idle.
  std::size_t size_approx() const noexcept { return ring_.size_approx(); }

 private:
  ChannelStatus received() {
    not_full_.notify_one();
    return ChannelStatus::kOk;
  }

  SpscRing<T, N> ring_;
  CachePadded<std::atomic<bool>> closed_{std::in_place, false};
  EventCount not_empty_;  // the receiver parks here
  EventCount not_full_;   // the sender parks here
  SpinPolicy policy_;
};

}  // namespace tickwire::middleware
