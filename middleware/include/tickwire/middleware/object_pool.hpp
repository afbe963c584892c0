// ObjectPool<T> / LocalObjectPool<T>: T slots allocated once at construction;
// try_acquire() builds a T in a free slot and returns a move-only Handle that
// destroys it and frees the slot; exhaustion gives an empty handle, counted.
// ObjectPool: any thread (lock-free tagged stack: one CAS each way, plus
// relaxed counters); LocalObjectPool: one thread, intrusive free list.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::middleware {

// PoolStats: a snapshot of a pool's counters (exact only when quiescent).
struct PoolStats {
  std::size_t capacity = 0;     // slots in the pool
  std::size_t in_use = 0;       // slots held by live handles
  std::size_t high_water = 0;   // the largest in_use ever seen
  std::uint64_t exhausted = 0;  // acquires refused because every slot was in use
};

namespace detail {

// kNoSlot: "no slot", returned by acquire() when the pool is exhausted.
inline constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

// SlotBlock: count slots of stride bytes in one block aligned to align.
class SlotBlock {
 public:
  SlotBlock(std::size_t stride, std::size_t align, std::uint32_t count)
      : stride_(round_up(std::max(stride, sizeof(std::uint32_t)), align)),
        align_(align),
        count_(checked_count(count)),
        base_(static_cast<std::byte*>(::operator new(stride_ * std::max<std::uint32_t>(count, 1),
                                                     std::align_val_t{align}))) {}
  SlotBlock(const SlotBlock&) = delete;
  SlotBlock& operator=(const SlotBlock&) = delete;
  // Unsized: clang does not declare sized deallocation without -fsized-deallocation.
  ~SlotBlock() { ::operator delete(base_, std::align_val_t{align_}); }

  // Safety: i < count_, so the slot lies inside the block allocated above.
  std::byte* slot(std::uint32_t i) const noexcept { return base_ + std::size_t{i} * stride_; }
  // Safety: p points into slot (p - base_) / stride_ of this block (asserted).
  std::uint32_t index_of(const void* p) const noexcept {
    const auto offset = static_cast<std::size_t>(static_cast<const std::byte*>(p) - base_);
    assert(offset % stride_ == 0 && offset / stride_ < count_ && "pointer does not belong to this pool");
    return static_cast<std::uint32_t>(offset / stride_);
  }
  std::uint32_t count() const noexcept { return count_; }
  std::size_t stride() const noexcept { return stride_; }

 private:
  static std::size_t round_up(std::size_t n, std::size_t a) noexcept { return (n + a - 1) / a * a; }
  static std::uint32_t checked_count(std::uint32_t count) {
    if (count == kNoSlot) throw std::length_error("object pool: at most 2^32-2 slots (kNoSlot is reserved)");
    return count;
  }

  const std::size_t stride_;
  const std::size_t align_;
  const std::uint32_t count_;
  std::byte* const base_;
};

// SharedSlots: slot storage with a lock-free free list any thread pops and
// pushes: a Treiber stack whose head word packs the top slot index with a
// 32-bit tag bumped on every change (no ABA), and whose links live in a
// side array of atomics, so reading a link never races with a T being built
// in that slot. It is not an MpmcQueue on purpose: Vyukov's queue makes
// every pop wait behind a push that was preempted between claiming its cell
// and publishing it, and a pool on it reported millions of false
// exhaustions per second with 2 threads on a loaded 2-core machine. Here a
// preempted thread never blocks the others, and acquire() fails only when
// the stack is empty at that instant.
class SharedSlots {
 public:
  SharedSlots(std::size_t stride, std::size_t align, std::uint32_t count)
      : block_(stride, align, count), next_(std::make_unique<std::atomic<std::uint32_t>[]>(std::max<std::uint32_t>(count, 1))) {
    for (std::uint32_t i = 0; i < count; ++i) {
      next_[i].store(i + 1 < count ? i + 1 : kNoSlot, std::memory_order_relaxed);  // before any other thread sees the pool
    }
    head_->store(pack(count > 0 ? 0 : kNoSlot, 0), std::memory_order_relaxed);  // before any other thread sees the pool
  }

  // acquire: a free slot's index, or kNoSlot (counted) when every slot is in use.
  std::uint32_t acquire() noexcept {
    std::uint64_t head = head_->load(std::memory_order_acquire);  // pairs with release()'s release CAS
    std::uint32_t slot;
    for (;;) {
      slot = top_of(head);
      if (slot == kNoSlot) {
        exhausted_->fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
        return kNoSlot;
      }
      // Stale if another thread popped slot meanwhile; the tag then fails the CAS.
      const std::uint32_t next = next_[slot].load(std::memory_order_relaxed);  // ordered by the acquire on head
      // acquire (both outcomes): pairs with the release CAS that pushed the new top, so its link and memory are visible
      if (head_->compare_exchange_weak(head, pack(next, tag_of(head) + 1), std::memory_order_acquire,
                                       std::memory_order_acquire)) {
        break;
      }
    }
    const std::size_t now = in_use_->fetch_add(1, std::memory_order_relaxed) + 1;  // a counter, orders nothing
    std::size_t seen = high_water_->load(std::memory_order_relaxed);  // a counter, orders nothing
    while (now > seen &&
           !high_water_->compare_exchange_weak(seen, now, std::memory_order_relaxed, std::memory_order_relaxed)) {
      // relaxed: a monotonic maximum, orders nothing
    }
    return slot;
  }

  // release: returns slot to the free list; any thread. Lock-free.
  void release(std::uint32_t slot) noexcept {
    in_use_->fetch_sub(1, std::memory_order_relaxed);  // a counter, orders nothing
    std::uint64_t head = head_->load(std::memory_order_relaxed);  // the CAS below validates it
    do {
      next_[slot].store(top_of(head), std::memory_order_relaxed);  // published by the release CAS below
      // release: pairs with acquire()'s acquire; publishes the link and everything done to the slot
    } while (!head_->compare_exchange_weak(head, pack(slot, tag_of(head) + 1), std::memory_order_release,
                                           std::memory_order_relaxed));
  }

  std::byte* slot(std::uint32_t i) const noexcept { return block_.slot(i); }
  std::uint32_t index_of(const void* p) const noexcept { return block_.index_of(p); }
  std::size_t slot_size() const noexcept { return block_.stride(); }

  PoolStats stats() const noexcept {
    return {block_.count(), in_use_->load(std::memory_order_relaxed),  // a snapshot, orders nothing
            high_water_->load(std::memory_order_relaxed),              // a snapshot, orders nothing
            exhausted_->load(std::memory_order_relaxed)};              // a snapshot, orders nothing
  }

 private:
  static constexpr std::uint64_t pack(std::uint32_t top, std::uint32_t tag) noexcept {
    return (std::uint64_t{tag} << 32) | top;
  }
  static constexpr std::uint32_t top_of(std::uint64_t head) noexcept { return static_cast<std::uint32_t>(head); }
  static constexpr std::uint32_t tag_of(std::uint64_t head) noexcept { return static_cast<std::uint32_t>(head >> 32); }

  SlotBlock block_;
  const std::unique_ptr<std::atomic<std::uint32_t>[]> next_;  // next_[i]: the slot below i on the stack while i is free
  CachePadded<std::atomic<std::uint64_t>> head_{std::in_place, 0};  // tag:32 | top slot index:32
  CachePadded<std::atomic<std::size_t>> in_use_{std::in_place, 0};
  CachePadded<std::atomic<std::size_t>> high_water_{std::in_place, 0};
  CachePadded<std::atomic<std::uint64_t>> exhausted_{std::in_place, 0};
};

// LocalSlots: slot storage with an intrusive free list (each free slot holds
// the index of the next free slot in its first four bytes). One owner thread
// acquires and releases; other threads may read stats().
class LocalSlots {
 public:
  LocalSlots(std::size_t stride, std::size_t align, std::uint32_t count) : block_(stride, align, count) {
    for (std::uint32_t i = 0; i < count; ++i) set_next(i, i + 1 < count ? i + 1 : kNoSlot);
    head_ = count > 0 ? 0 : kNoSlot;
  }

  // acquire: owner thread only. A free slot's index, or kNoSlot (counted).
  std::uint32_t acquire() noexcept {
    assert(owner_ok() && "LocalObjectPool used from a second thread");
    if (head_ == kNoSlot) {
      bump(exhausted_);
      return kNoSlot;
    }
    const std::uint32_t slot = head_;
    head_ = next_of(slot);
    const std::size_t now = in_use_.load(std::memory_order_relaxed) + 1;  // single writer: this thread
    in_use_.store(now, std::memory_order_relaxed);  // single writer; readers take a snapshot
    if (now > high_water_.load(std::memory_order_relaxed)) {  // single writer: this thread
      high_water_.store(now, std::memory_order_relaxed);    // single writer; readers take a snapshot
    }
    return slot;
  }

  // release: owner thread only.
  void release(std::uint32_t slot) noexcept {
    assert(owner_ok() && "LocalObjectPool used from a second thread");
    set_next(slot, head_);
    head_ = slot;
    in_use_.store(in_use_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);  // single writer
  }

  std::byte* slot(std::uint32_t i) const noexcept { return block_.slot(i); }
  std::uint32_t index_of(const void* p) const noexcept { return block_.index_of(p); }
  std::size_t slot_size() const noexcept { return block_.stride(); }

  PoolStats stats() const noexcept {
    return {block_.count(), in_use_.load(std::memory_order_relaxed),  // a snapshot, orders nothing
            high_water_.load(std::memory_order_relaxed),              // a snapshot, orders nothing
            exhausted_.load(std::memory_order_relaxed)};              // a snapshot, orders nothing
  }

 private:
  // Safety: a free slot holds no object, and every slot is at least four
  // bytes (SlotBlock rounds up), so its first bytes may carry the link;
  // memcpy creates and reads the uint32_t without aliasing a live T.
  void set_next(std::uint32_t slot, std::uint32_t next) noexcept { std::memcpy(block_.slot(slot), &next, sizeof next); }
  std::uint32_t next_of(std::uint32_t slot) const noexcept {
    std::uint32_t next;
    std::memcpy(&next, block_.slot(slot), sizeof next);
    return next;
  }
  template <typename Counter>
  static void bump(Counter& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // single writer; readers snapshot
  }
#ifndef NDEBUG
  bool owner_ok() noexcept {
    if (owner_ == std::thread::id{}) owner_ = std::this_thread::get_id();
    return owner_ == std::this_thread::get_id();
  }
  std::thread::id owner_{};
#endif

  SlotBlock block_;
  std::uint32_t head_ = kNoSlot;
  std::atomic<std::size_t> in_use_{0};
  std::atomic<std::size_t> high_water_{0};
  std::atomic<std::uint64_t> exhausted_{0};
};

}  // namespace detail

// PoolHandle<Pool>: owns one object of Pool::value_type in a pool slot;
// destroying or reset()ting it destroys the object and frees the slot.
// Move-only; empty when default-constructed, moved from, or when the pool was
// exhausted. The pool must outlive its handles.
template <typename Pool>
class PoolHandle {
 public:
  using element_type = typename Pool::value_type;

  PoolHandle() noexcept = default;
  PoolHandle(PoolHandle&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), ptr_(std::exchange(o.ptr_, nullptr)) {}
  PoolHandle& operator=(PoolHandle&& o) noexcept {
    if (this != &o) {
      reset();
      pool_ = std::exchange(o.pool_, nullptr);
      ptr_ = std::exchange(o.ptr_, nullptr);
    }
    return *this;
  }
  PoolHandle(const PoolHandle&) = delete;
  PoolHandle& operator=(const PoolHandle&) = delete;
  ~PoolHandle() { reset(); }

  // reset: destroys the object and returns its slot; no-op when empty.
  void reset() noexcept {
    if (ptr_ != nullptr) std::exchange(pool_, nullptr)->destroy_and_free(std::exchange(ptr_, nullptr));
  }
  // release: gives up ownership without destroying; hand the pointer back to
  // Pool::adopt() later (e.g. to carry it through a lock-free queue).
  element_type* release() noexcept {
    pool_ = nullptr;
    return std::exchange(ptr_, nullptr);
  }

  element_type* get() const noexcept { return ptr_; }
  element_type& operator*() const noexcept { return *ptr_; }
  element_type* operator->() const noexcept { return ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }

 private:
  friend Pool;
  PoolHandle(Pool* pool, element_type* ptr) noexcept : pool_(pool), ptr_(ptr) {}

  Pool* pool_ = nullptr;
  element_type* ptr_ = nullptr;
};

// BasicObjectPool<T, Slots>: see ObjectPool and LocalObjectPool below.
template <typename T, typename Slots>
class BasicObjectPool {
  static_assert(std::is_nothrow_destructible_v<T>, "pooled objects must have a noexcept destructor");

 public:
  using value_type = T;
  using Handle = PoolHandle<BasicObjectPool>;

  // BasicObjectPool(capacity): allocates capacity slots now and never again.
  explicit BasicObjectPool(std::uint32_t capacity) : slots_(sizeof(T), alignof(T), capacity) {}
  BasicObjectPool(const BasicObjectPool&) = delete;
  BasicObjectPool& operator=(const BasicObjectPool&) = delete;
  // Every handle must be gone by now (the pool cannot reach their objects).
  ~BasicObjectPool() { assert(stats().in_use == 0 && "pool destroyed while handles are alive"); }

  // try_acquire: constructs T(args...) in a free slot; an empty handle (and
  // one more exhausted count) when every slot is in use. If T's constructor
  // throws, the slot is freed and the exception propagates.
  template <typename... Args>
  Handle try_acquire(Args&&... args) {
    const std::uint32_t slot = slots_.acquire();
    if (slot == detail::kNoSlot) return Handle{};
    if constexpr (std::is_nothrow_constructible_v<T, Args&&...>) {
      return Handle{this, std::construct_at(slot_ptr(slot), std::forward<Args>(args)...)};
    } else {
      try {
        return Handle{this, std::construct_at(slot_ptr(slot), std::forward<Args>(args)...)};
      } catch (...) {
        slots_.release(slot);
        throw;
      }
    }
  }

  // adopt: takes back a pointer that Handle::release() gave up.
  Handle adopt(T* released) noexcept { return Handle{this, released}; }

  // capacity: slots in the pool.
  std::size_t capacity() const noexcept { return stats().capacity; }
  PoolStats stats() const noexcept { return slots_.stats(); }

 private:
  friend Handle;

  // Safety: slot is a valid index, and slots are sized and aligned for T.
  T* slot_ptr(std::uint32_t slot) noexcept { return reinterpret_cast<T*>(slots_.slot(slot)); }

  void destroy_and_free(T* obj) noexcept {
    std::destroy_at(obj);
    slots_.release(slots_.index_of(obj));
  }

  Slots slots_;
};

// ObjectPool<T>: thread-safe; handles may be moved to and released on any thread.
template <typename T>
using ObjectPool = BasicObjectPool<T, detail::SharedSlots>;

// LocalObjectPool<T>: one owner thread acquires and releases (asserted in
// debug builds); the fastest variant, for per-thread scratch objects.
template <typename T>
using LocalObjectPool = BasicObjectPool<T, detail::LocalSlots>;

}  // namespace tickwire::middleware
