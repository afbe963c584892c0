// ChaseLevDeque<T>: the Chase-Lev work-stealing deque with the C11 orderings
// of Le, Pop, Cohen and Zappa Nardelli (PPoPP 2013, Fig. 1). The owner push()es
// and take()s at the bottom (LIFO); other threads steal() at the top (FIFO).
// push: relaxed stores and a release fence; take: one seq_cst fence; steal:
// one seq_cst fence and one CAS.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/parking.hpp"

namespace tickwire::middleware {

// Bounded, not growable: the buffer is allocated once and push() reports
// "full" instead of resizing. The paper's resize() swaps in a larger array
// and keeps the old ones alive forever (thieves may still read them); a
// fixed array keeps the toolkit's rule of no allocation after construction,
// removes the array pointer (and its consume load) from every steal, and the
// scheduler already has somewhere to put the overflow: its injection queue.
template <typename T>
class ChaseLevDeque {
  static_assert(std::is_trivially_copyable_v<T> && std::atomic<T>::is_always_lock_free,
                "elements live in std::atomic<T> slots: use a pointer or a small index");

 public:
  // StealResult: kEmpty (nothing to steal), kLost (lost a race to the owner
  // or another thief: retry), or kSuccess with value.
  struct StealResult {
    enum Status { kEmpty, kLost, kSuccess } status;
    T value;
  };

  // ChaseLevDeque(capacity): rounded up to a power of two (at least 2).
  explicit ChaseLevDeque(std::size_t capacity)
      : mask_(static_cast<std::int64_t>(std::bit_ceil(std::max<std::size_t>(capacity, 2))) - 1),
        buffer_(std::make_unique<std::atomic<T>[]>(static_cast<std::size_t>(mask_) + 1)) {}
  ChaseLevDeque(const ChaseLevDeque&) = delete;
  ChaseLevDeque& operator=(const ChaseLevDeque&) = delete;

  std::size_t capacity() const noexcept { return static_cast<std::size_t>(mask_) + 1; }

  // push: owner only. False when full (the paper would resize here).
  bool push(T x) noexcept {
    const std::int64_t b = bottom_->load(std::memory_order_relaxed);  // paper: relaxed; only the owner writes bottom
    const std::int64_t t = top_->load(std::memory_order_acquire);     // paper: acquire; pairs with a thief's seq_cst CAS on top
    if (b - t > mask_) return false;
    slot(b).store(x, std::memory_order_relaxed);  // paper: relaxed; published by the release fence below
    publish_fence();                              // paper: release fence; pairs with the thief's acquire load of bottom
    bottom_->store(b + 1, kBottomStore);  // paper: relaxed; ordered after the slot store by the fence
    return true;
  }

  // take: owner only. The most recently pushed item, or false when empty.
  bool take(T& out) noexcept {
    const std::int64_t b = bottom_->load(std::memory_order_relaxed) - 1;  // paper: relaxed; only the owner writes bottom
    bottom_->store(b, kBottomStore);  // paper: relaxed; ordered before the load of top by the fence
    detail::store_load_fence();                    // paper: seq_cst fence; pairs with the fence in steal()
    std::int64_t t = top_->load(std::memory_order_relaxed);  // paper: relaxed; the fences order it against thieves
    if (t > b) {  // empty
      bottom_->store(b + 1, kBottomStore);  // paper: relaxed; restores bottom, owner-only word
      return false;
    }
    out = slot(b).load(std::memory_order_relaxed);  // paper: relaxed; the owner wrote it
    if (t == b) {  // the last item: race thieves for it on top
      // paper: seq_cst on success, relaxed on failure; pairs with the thieves' CAS on top
      const bool won = top_->compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed);
      bottom_->store(b + 1, kBottomStore);  // paper: relaxed; owner-only word
      return won;
    }
    return true;
  }

  // steal: any thread but the owner. The oldest item, kEmpty, or kLost.
  StealResult steal() noexcept {
    std::int64_t t = top_->load(std::memory_order_acquire);  // paper: acquire; pairs with other thieves' / the owner's CAS
    detail::store_load_fence();  // paper: seq_cst fence; pairs with the fence in take()
    const std::int64_t b = bottom_->load(std::memory_order_acquire);  // paper: acquire; pairs with push's release fence
    if (t >= b) return {StealResult::kEmpty, T{}};
    // paper: relaxed (after a consume of the array, which a fixed buffer does not need)
    const T x = slot(t).load(std::memory_order_relaxed);
    // paper: seq_cst on success, relaxed on failure; pairs with take()'s CAS and other thieves'
    if (!top_->compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
      return {StealResult::kLost, T{}};
    }
    return {StealResult::kSuccess, x};
  }

  // size_approx: items queued, exact only when no thread is active.
  std::size_t size_approx() const noexcept {
    const std::int64_t b = bottom_->load(std::memory_order_relaxed);  // a snapshot, orders nothing
    const std::int64_t t = top_->load(std::memory_order_relaxed);     // a snapshot, orders nothing
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }

 private:
  std::atomic<T>& slot(std::int64_t i) noexcept { return buffer_[static_cast<std::size_t>(i & mask_)]; }

  // publish_fence / kBottomStore: push's release fence, and the order of
  // every bottom store. A thief whose acquire load of bottom reads any bottom
  // store made after push's fence (push's own, or take()'s) synchronizes
  // with that fence, so the slot and the task it points to are visible.
  // ThreadSanitizer does not model standalone fences (g++ rejects them under
  // -fsanitize=thread), so there the fence is dropped and every bottom store
  // is a release instead, which gives the thief the same edge.
#if defined(TICKWIRE_TSAN)
  static constexpr std::memory_order kBottomStore = std::memory_order_release;  // pairs with steal's acquire of bottom
  static void publish_fence() noexcept {}
#else
  static constexpr std::memory_order kBottomStore = std::memory_order_relaxed;  // the paper's order; the fence orders
  static void publish_fence() noexcept {
    std::atomic_thread_fence(std::memory_order_release);  // pairs with steal's acquire load of bottom
  }
#endif

  // top_ is written by thieves and bottom_ by the owner: separate lines.
  CachePadded<std::atomic<std::int64_t>> top_{std::in_place, 0};
  CachePadded<std::atomic<std::int64_t>> bottom_{std::in_place, 0};
  alignas(kCacheLineSize) const std::int64_t mask_;
  const std::unique_ptr<std::atomic<T>[]> buffer_;
};

}  // namespace tickwire::middleware
