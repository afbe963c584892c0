// Parking: how a channel end waits for its peer without burning a core.
// EventCount is the futex-backed meeting point (one per direction of a
// channel); wait_until() spins, then yields, then parks on it. notify_*() cost
// one full fence and one load when nobody is parked, and a futex syscall only
// when somebody is. Shared by SpscChannel and MpmcChannel.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <thread>

#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::middleware {

// ChannelStatus: the outcome of a channel send or receive.
enum class ChannelStatus {
  kOk,          // the item was sent or received
  kWouldBlock,  // try_*: the channel was full (send) or empty (recv)
  kTimedOut,    // *_until / *_for: the deadline passed first
  kClosed,      // send: the channel is closed; recv: closed and drained
};

// Deadline: an absolute point on the steady clock (CLOCK_MONOTONIC on Linux).
using Deadline = std::chrono::steady_clock::time_point;
// kNoDeadline: wait forever.
inline constexpr Deadline kNoDeadline = Deadline::max();

// SpinPolicy: how long a waiter polls before it parks.
struct SpinPolicy {
  int spins = 256;  // polls with cpu_relax() between them
  int yields = 8;   // polls with std::this_thread::yield() between them
};

namespace detail {

// store_load_fence: a sequentially consistent fence, the store->load barrier
// of the Dekker handshake in EventCount. ThreadSanitizer does not model
// standalone fences (g++ rejects them under -fsanitize=thread), so there it is
// an acq_rel RMW on one shared word: of two threads that both call it, the
// later in that word's modification order synchronizes with the earlier,
// which gives the same guarantee the fences give.
inline void store_load_fence() noexcept {
#if defined(TICKWIRE_TSAN)
  static std::atomic<std::uint32_t> fence_word{0};
  fence_word.fetch_add(0, std::memory_order_acq_rel);  // pairs with the same RMW in the other thread
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "futex needs a plain 32-bit atomic word");

// Safety: std::atomic<uint32_t> is a lock-free 32-bit word with the layout of
// uint32_t (asserted above), which is what futex(2) reads and compares.
inline std::uint32_t* futex_address(std::atomic<std::uint32_t>& word) noexcept {
  return reinterpret_cast<std::uint32_t*>(&word);
}

// futex_wait: sleeps while word == expected, until woken or deadline.
// Returns false only if the deadline passed.
inline bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, Deadline deadline) noexcept {
  timespec ts{};
  const timespec* timeout = nullptr;
  if (deadline != kNoDeadline) {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    if (ns <= 0) return false;
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    timeout = &ts;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, the clock
  // behind std::chrono::steady_clock, so retries never stretch the timeout.
  const long rc = syscall(SYS_futex, futex_address(word), FUTEX_WAIT_BITSET_PRIVATE, expected, timeout,
                          nullptr, FUTEX_BITSET_MATCH_ANY);
  return !(rc == -1 && errno == ETIMEDOUT);
}

// futex_wake: wakes up to count threads sleeping on word.
inline void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  syscall(SYS_futex, futex_address(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

}  // namespace detail

// EventCount: lets a thread sleep until "something changed", with no lost
// wake-ups and no syscall for the notifier when nobody sleeps.
//
// Waiter:   key = prepare_wait(); if (condition) cancel_wait(); else wait(key);
// Notifier: make condition true; notify_one();
//
// Memory ordering (the Dekker handshake; this is where lost wake-ups hide):
//   waiter:   waiters_ += 1; FENCE; read condition      (prepare_wait + re-check)
//   notifier: write condition; FENCE; read waiters_      (notify_*)
// Each side stores, then a full fence, then loads what the other stored. Of
// the two fences one comes first in the single total order of seq_cst
// fences, so either the notifier sees waiters_ > 0 (and wakes), or the
// waiter's re-check sees the new condition (and does not sleep); both missing
// each other is impossible. With release/acquire alone both loads could read
// stale values (x86 reorders a store with a later load), and the waiter would
// sleep through the only notification. The futex then closes the last gap:
// the notifier bumps epoch_ before waking, and the kernel sleeps the waiter
// only if epoch_ still equals the key read in prepare_wait.
class EventCount {
 public:
  // Key: the epoch a waiter observed in prepare_wait.
  using Key = std::uint32_t;

  // prepare_wait: announces a waiter. Re-check the condition after it, then
  // call exactly one of cancel_wait() or wait().
  Key prepare_wait() noexcept {
    state_->waiters.fetch_add(1, std::memory_order_relaxed);  // ordered before the re-check by the fence below
    detail::store_load_fence();
    return state_->epoch.load(std::memory_order_acquire);  // pairs with the release bump in notify
  }

  // cancel_wait: withdraws prepare_wait() when the condition already holds.
  void cancel_wait() noexcept {
    state_->waiters.fetch_sub(1, std::memory_order_relaxed);  // a hint only: a stale count costs a spurious wake syscall
  }

  // wait: sleeps until notified (or spuriously woken) unless a notify already
  // happened since prepare_wait. Returns false only if the deadline passed.
  bool wait(Key key, Deadline deadline = kNoDeadline) noexcept {
    const bool woken = detail::futex_wait(state_->epoch, key, deadline);
    state_->waiters.fetch_sub(1, std::memory_order_relaxed);  // a hint only: a stale count costs a spurious wake syscall
    return woken;
  }

  // waiters: threads between prepare_wait() and the end of their wait; a
  // hint for tests and statistics.
  std::uint32_t waiters() const noexcept {
    return state_->waiters.load(std::memory_order_relaxed);  // a hint, pairs with nothing
  }

  // notify_one: wakes one parked waiter, if any. Call after making the
  // condition true.
  void notify_one() noexcept { notify(1); }

  // notify_all: wakes every parked waiter.
  void notify_all() noexcept { notify(INT_MAX); }

 private:
  void notify(int count) noexcept {
    detail::store_load_fence();
    if (state_->waiters.load(std::memory_order_relaxed) == 0) return;  // ordered after the condition by the fence above
    state_->epoch.fetch_add(1, std::memory_order_release);  // pairs with the acquire in prepare_wait
    detail::futex_wake(state_->epoch, count);
  }

  struct State {
    std::atomic<std::uint32_t> epoch{0};    // the futex word
    std::atomic<std::uint32_t> waiters{0};  // threads between prepare_wait and cancel_wait/wait's return
  };
  // Alone on its line: notifiers read it on every call, waiters write it rarely.
  CachePadded<State> state_;
};

// wait_until: calls attempt() until it returns true, spinning, then yielding,
// then parking on ec between calls. Whoever makes attempt() succeed must call
// ec.notify_one() or notify_all() afterwards. Returns false if the deadline
// passed first.
template <typename Attempt>
bool wait_until(EventCount& ec, Attempt&& attempt, Deadline deadline = kNoDeadline,
                const SpinPolicy& policy = {}) {
  for (int i = 0; i < policy.spins; ++i) {
    if (attempt()) return true;
    cpu_relax();
  }
  for (int i = 0; i < policy.yields; ++i) {
    if (attempt()) return true;
    if (deadline != kNoDeadline && std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  for (;;) {
    const EventCount::Key key = ec.prepare_wait();
    if (attempt()) {
      ec.cancel_wait();
      return true;
    }
    if (!ec.wait(key, deadline)) return attempt();
  }
}

}  // namespace tickwire::middleware
