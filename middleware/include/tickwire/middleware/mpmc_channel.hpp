// MpmcChannel<T>: an MpmcQueue with blocking, timed and closable ends for any
// number of sending and receiving threads. Waiting ends spin, yield, then park
// on a futex (several may park on each side). A send or recv costs the queue
// operation plus one full fence and one load to see whether anyone is parked;
// the futex syscall happens only when someone is.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "tickwire/middleware/mpmc_queue.hpp"
#include "tickwire/middleware/parking.hpp"

namespace tickwire::middleware {

// Closing: close() may be called by any thread, any number of times. A send
// either completes before the close (and its item is received) or fails with
// kClosed; recv reports kClosed only once every item sent has been received.
template <typename T>
class MpmcChannel {
 public:
  using value_type = T;

  // MpmcChannel(capacity, policy): buffers capacity items (rounded up to a
  // power of two); policy says how long ends spin and yield before parking.
  explicit MpmcChannel(std::size_t capacity, SpinPolicy policy = {}) : queue_(capacity), policy_(policy) {}
  MpmcChannel(const MpmcChannel&) = delete;
  MpmcChannel& operator=(const MpmcChannel&) = delete;

  // capacity: how many items the channel buffers.
  std::size_t capacity() const noexcept { return queue_.capacity(); }

  // try_send: any thread. kOk, kWouldBlock (full) or kClosed. v is left
  // untouched on failure unless building a T from it may throw (then the T is
  // built first, see MpmcQueue::try_emplace).
  template <typename U>
  ChannelStatus try_send(U&& v) {
    if (!queue_.try_emplace(std::forward<U>(v))) {
      return queue_.is_closed() ? ChannelStatus::kClosed : ChannelStatus::kWouldBlock;
    }
    not_empty_.notify_one();
    return ChannelStatus::kOk;
  }

  // send: any thread. Waits for room; kOk or kClosed.
  template <typename U>
  ChannelStatus send(U&& v) {
    return send_until(std::forward<U>(v), kNoDeadline);
  }

  // send_until: any thread. kOk, kTimedOut or kClosed.
  template <typename U>
  ChannelStatus send_until(U&& v, Deadline deadline) {
    if constexpr (!std::is_nothrow_constructible_v<T, U&&>) {
      // Built once up front, so that retries below move a T (noexcept).
      return send_until(T(std::forward<U>(v)), deadline);
    } else {
      ChannelStatus status = ChannelStatus::kTimedOut;
      // A failed try_send leaves v untouched, so forwarding it again is sound.
      wait_until(
          not_full_,
          [&] {
            status = try_send(std::forward<U>(v));
            return status != ChannelStatus::kWouldBlock;
          },
          deadline, policy_);
      if (status == ChannelStatus::kOk) pass_on(not_full_, queue_.size_approx() < queue_.capacity());
      return status == ChannelStatus::kWouldBlock ? ChannelStatus::kTimedOut : status;
    }
  }

  // send_for: send_until(now + timeout).
  template <typename U, typename Rep, typename Period>
  ChannelStatus send_for(U&& v, std::chrono::duration<Rep, Period> timeout) {
    return send_until(std::forward<U>(v), std::chrono::steady_clock::now() + timeout);
  }

  // try_recv: any thread. kOk (out assigned), kWouldBlock (empty) or kClosed (closed and drained).
  ChannelStatus try_recv(T& out) {
    if (queue_.try_pop(out)) {
      not_full_.notify_one();
      return ChannelStatus::kOk;
    }
    // Not drained while a sender has claimed a cell it has not filled yet:
    // that sender notifies once it has.
    return queue_.closed_and_drained() ? ChannelStatus::kClosed : ChannelStatus::kWouldBlock;
  }

  // recv: any thread. Waits for an item; kOk or kClosed.
  ChannelStatus recv(T& out) { return recv_until(out, kNoDeadline); }

  // recv_until: any thread. kOk, kTimedOut or kClosed.
  ChannelStatus recv_until(T& out, Deadline deadline) {
    ChannelStatus status = ChannelStatus::kTimedOut;
    wait_until(
        not_empty_,
        [&] {
          status = try_recv(out);
          return status != ChannelStatus::kWouldBlock;
        },
        deadline, policy_);
    if (status == ChannelStatus::kOk) pass_on(not_empty_, queue_.size_approx() != 0);
    return status == ChannelStatus::kWouldBlock ? ChannelStatus::kTimedOut : status;
  }

  // recv_for: recv_until(now + timeout).
  template <typename Rep, typename Period>
  ChannelStatus recv_for(T& out, std::chrono::duration<Rep, Period> timeout) {
    return recv_until(out, std::chrono::steady_clock::now() + timeout);
  }

  // close: later sends fail; receivers drain what was sent, then get kClosed. Idempotent.
  void close() noexcept {
    queue_.close();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // is_closed: close() has been called.
  bool is_closed() const noexcept { return queue_.is_closed(); }

  // parked_receivers / parked_senders: threads parking or parked on this
  // channel, a hint for tests and statistics.
  std::uint32_t parked_receivers() const noexcept { return not_empty_.waiters(); }
  std::uint32_t parked_senders() const noexcept { return not_full_.waiters(); }

  // size_approx: buffered items, exact only when no thread is active.
  std::size_t size_approx() const noexcept { return queue_.size_approx(); }

 private:
  // pass_on: a woken waiter may find its item taken by a thread that never
  // parked, and a cell claimed but not yet filled can hide the items behind
  // it; so a blocking end that succeeds while more is available wakes the
  // next parked peer, and no parked thread sleeps beside an available item.
  static void pass_on(EventCount& ec, bool more_available) noexcept {
    if (more_available) ec.notify_one();
  }

  MpmcQueue<T> queue_;
  EventCount not_empty_;  // receivers park here
  EventCount not_full_;   // senders park here
  SpinPolicy policy_;
};

}  // namespace tickwire::middleware
