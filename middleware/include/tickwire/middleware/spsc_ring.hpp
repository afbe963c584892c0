// SpscRing<T, N>: a wait-free bounded ring for exactly one producer thread and
// one consumer thread. The producer owns try_push/try_emplace/try_push_n, the
// consumer owns front/pop/try_pop/pop_n/consume_all. An operation costs one
// release store and, only when the ring looks full (producer) or empty
// (consumer), one acquire load of the other side's index. Model: rigtorp/SPSCQueue.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::middleware {

template <typename T, std::size_t N>
class SpscRing {
  static_assert(N >= 2 && (N & (N - 1)) == 0, "SpscRing capacity must be a power of two >= 2");
  static_assert(std::is_nothrow_destructible_v<T>, "SpscRing elements must have a noexcept destructor");

 public:
  using value_type = T;

  SpscRing() : slots_(allocate_slots()) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Destroys the elements still in the ring. No thread may be using it.
  ~SpscRing() {
    const std::size_t head = consumer_->head.load(std::memory_order_relaxed);  // no concurrent user left
    const std::size_t tail = producer_->tail.load(std::memory_order_relaxed);  // no concurrent user left
    for (std::size_t i = head; i != tail; ++i) std::destroy_at(slot(i));
    ::operator delete(slots_, std::align_val_t{kCacheLineSize});  // unsized: portable to clang
  }

  // capacity: the number of elements the ring holds when full.
  static constexpr std::size_t capacity() noexcept { return N; }

  // try_emplace: producer only. Constructs T(args...) in place; false if full
  // (args are then left untouched).
  template <typename... Args>
  bool try_emplace(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args&&...>) {
    static_assert(std::is_constructible_v<T, Args&&...>, "T is not constructible from these arguments");
    Producer& p = *producer_;
    const std::size_t tail = p.tail.load(std::memory_order_relaxed);  // only this thread writes tail
    if (tail - p.head_cache == N) {
      p.head_cache = consumer_->head.load(std::memory_order_acquire);  // pairs with the consumer's release of head
      if (tail - p.head_cache == N) return false;
    }
    std::construct_at(raw_slot(tail), std::forward<Args>(args)...);
    p.tail.store(tail + 1, std::memory_order_release);  // pairs with the consumer's acquire of tail
    return true;
  }

  // try_push: producer only. Copies or moves v in; false if full.
  bool try_push(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>) { return try_emplace(v); }
  bool try_push(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) { return try_emplace(std::move(v)); }

  // try_push_n: producer only. Constructs up to n elements from *first, *(first+1)...
  // (wrap with std::make_move_iterator to move) and publishes them with one
  // release store. Returns how many went in.
  template <typename InputIt>
  std::size_t try_push_n(InputIt first, std::size_t n) {
    Producer& p = *producer_;
    const std::size_t tail = p.tail.load(std::memory_order_relaxed);  // only this thread writes tail
    if (N - (tail - p.head_cache) < n) {
      p.head_cache = consumer_->head.load(std::memory_order_acquire);  // pairs with the consumer's release of head
    }
    const std::size_t count = std::min(n, N - (tail - p.head_cache));
    std::size_t done = 0;
    // Publishes what was constructed even if a constructor throws.
    struct Publish {
      Producer& p;
      std::size_t tail;
      const std::size_t& done;
      ~Publish() {
        if (done != 0) p.tail.store(tail + done, std::memory_order_release);  // pairs with the consumer's acquire of tail
      }
    } publish{p, tail, done};
    for (; done < count; ++done, ++first) std::construct_at(raw_slot(tail + done), *first);
    return count;
  }

  // front: consumer only. The oldest element, or nullptr if the ring is empty.
  T* front() noexcept {
    Consumer& c = *consumer_;
    const std::size_t head = c.head.load(std::memory_order_relaxed);  // only this thread writes head
    if (head == c.tail_cache) {
      // Latency: start pulling the next item's line before reading tail, so
      // that when the producer has just written both, the two cache-line
      // transfers overlap instead of running back to back. A prefetch is a
      // hint, not an access: it cannot race with the producer's write.
      __builtin_prefetch(raw_slot(head));
      c.tail_cache = producer_->tail.load(std::memory_order_acquire);  // pairs with the producer's release of tail
      if (head == c.tail_cache) return nullptr;
    }
    return slot(head);
  }

  // pop: consumer only. Destroys the element front() returned; the ring must not be empty.
  void pop() noexcept {
    Consumer& c = *consumer_;
    const std::size_t head = c.head.load(std::memory_order_relaxed);  // only this thread writes head
    assert(head != c.tail_cache && "SpscRing::pop on an empty ring (call front() first)");
    std::destroy_at(slot(head));
    c.head.store(head + 1, std::memory_order_release);  // pairs with the producer's acquire of head
  }

  // try_pop: consumer only. Moves the oldest element into out; false if empty.
  bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    T* p = front();
    if (p == nullptr) return false;
    out = std::move(*p);
    pop();
    return true;
  }

  // try_pop: consumer only. The oldest element, or nullopt if empty.
  std::optional<T> try_pop() noexcept(std::is_nothrow_move_constructible_v<T>) {
    T* p = front();
    if (p == nullptr) return std::nullopt;
    std::optional<T> out(std::move(*p));
    pop();
    return out;
  }

  // pop_n: consumer only. Moves up to max elements to out and frees their
  // slots with one release store. Returns how many were taken.
  template <typename OutputIt>
  std::size_t pop_n(OutputIt out, std::size_t max) {
    return consume_up_to(max, [&out](T&& v) { *out++ = std::move(v); });
  }

  // consume_all: consumer only. Calls f(T&&) on every element visible after one
  // acquire load, in order, then frees them with one release store. If f
  // throws, the element it was given and those after it stay in the ring.
  template <typename F>
  std::size_t consume_all(F&& f) {
    return consume_up_to(N, std::forward<F>(f));
  }

  // consume_up_to: consume_all, stopping after max elements.
  template <typename F>
  std::size_t consume_up_to(std::size_t max, F&& f) {
    Consumer& c = *consumer_;
    const std::size_t head = c.head.load(std::memory_order_relaxed);  // only this thread writes head
    if (c.tail_cache - head < max) {
      c.tail_cache = producer_->tail.load(std::memory_order_acquire);  // pairs with the producer's release of tail
    }
    const std::size_t count = std::min(max, c.tail_cache - head);
    std::size_t done = 0;
    // Frees what was consumed even if f throws.
    struct Release {
      Consumer& c;
      std::size_t head;
      const std::size_t& done;
      ~Release() {
        if (done != 0) c.head.store(head + done, std::memory_order_release);  // pairs with the producer's acquire of head
      }
    } release{c, head, done};
    for (; done < count; ++done) {
      T* p = slot(head + done);
      f(std::move(*p));
      std::destroy_at(p);
    }
    return count;
  }

  // size_approx: the number of elements, exact only when neither side is active.
  std::size_t size_approx() const noexcept {
    const std::size_t head = consumer_->head.load(std::memory_order_acquire);  // pairs with the consumer's release of head
    const std::size_t tail = producer_->tail.load(std::memory_order_acquire);  // pairs with the producer's release of tail
    return tail >= head ? std::min(tail - head, N) : 0;
  }

  // empty: size_approx() == 0.
  bool empty() const noexcept { return size_approx() == 0; }

 private:
  // Indices grow without bound (2^64 operations never wrap in practice) and
  // are masked on access, so all N slots are usable and full != empty.
  static constexpr std::size_t kMask = N - 1;
  static constexpr std::size_t kSlotBytes =
      (N * sizeof(T) + kCacheLineSize - 1) / kCacheLineSize * kCacheLineSize;

  // Each side's index shares a line with that side's cache of the other
  // index: the cache is only touched by its owner, so the line moves between
  // cores only when the other side reads the index, which it does only when
  // its own cache says full/empty.
  struct Producer {
    std::atomic<std::size_t> tail{0};
    std::size_t head_cache = 0;
  };
  struct Consumer {
    std::atomic<std::size_t> head{0};
    std::size_t tail_cache = 0;
  };

  static T* allocate_slots() {
    // Cache-line aligned and sized, so no other object shares the slots' lines.
    return static_cast<T*>(::operator new(kSlotBytes, std::align_val_t{kCacheLineSize}));
  }

  // Safety: slots_ is storage for a T[N] (suitably aligned, implicitly created
  // by operator new); the index is masked into range. raw_slot is for
  // construction; slot is for a live T, which a slot holds exactly while
  // head <= i < tail.
  T* raw_slot(std::size_t i) const noexcept { return slots_ + (i & kMask); }
  T* slot(std::size_t i) const noexcept { return std::launder(raw_slot(i)); }

  CachePadded<Producer> producer_;
  CachePadded<Consumer> consumer_;
  // Read-only after construction: shared by both cores without traffic.
  alignas(kCacheLineSize) T* const slots_;
};

}  // namespace tickwire::middleware
