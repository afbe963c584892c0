// MpmcQueue<T>: a bounded lock-free queue for any number of producer and
// consumer threads (Vyukov's per-cell sequence numbers). A push or pop costs
// one CAS on a shared position plus an acquire load and a release store on
// its cell; each cell fills a cache line of its own. close() makes later
// pushes fail while consumers drain what was pushed before.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::middleware {

template <typename T>
class MpmcQueue {
  static_assert(std::is_nothrow_destructible_v<T>, "MpmcQueue elements must have a noexcept destructor");
  static_assert(std::is_nothrow_move_constructible_v<T>, "MpmcQueue elements must have a noexcept move constructor");

 public:
  using value_type = T;

  // MpmcQueue(capacity): holds capacity items, rounded up to a power of two (at least 2).
  explicit MpmcQueue(std::size_t capacity)
      : mask_(std::bit_ceil(std::max<std::size_t>(capacity, 2)) - 1),
        cells_(static_cast<Cell*>(::operator new(sizeof(Cell) * (mask_ + 1), std::align_val_t{alignof(Cell)}))) {
    for (std::size_t i = 0; i <= mask_; ++i) std::construct_at(cells_ + i, i);
  }
  MpmcQueue(const MpmcQueue&) = delete;
  MpmcQueue& operator=(const MpmcQueue&) = delete;

  // Destroys the items still queued. No thread may be using the queue.
  ~MpmcQueue() {
    const std::size_t head = dequeue_pos_->load(std::memory_order_relaxed);  // no concurrent user left
    const std::size_t tail = enqueue_pos_->load(std::memory_order_relaxed) & ~kClosedBit;  // no concurrent user left
    for (std::size_t pos = head; pos != tail; ++pos) {
      Cell& cell = cells_[pos & mask_];
      if (cell.seq.load(std::memory_order_relaxed) == pos + 1) std::destroy_at(cell.item());  // no concurrent user left
    }
    std::destroy(cells_, cells_ + mask_ + 1);
    // Unsized: clang does not declare sized deallocation without -fsized-deallocation.
    ::operator delete(cells_, std::align_val_t{alignof(Cell)});
  }

  // capacity: how many items the queue holds when full.
  std::size_t capacity() const noexcept { return mask_ + 1; }

  // try_emplace: any thread. Constructs T(args...) in the next cell; false if
  // full or closed. A claimed cell must be published, so a constructor that
  // may throw runs before the claim, and rvalue args are then moved from even
  // when the push fails; with a noexcept constructor args are left untouched.
  template <typename... Args>
  bool try_emplace(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args&&...>) {
    static_assert(std::is_constructible_v<T, Args&&...>, "T is not constructible from these arguments");
    if constexpr (std::is_nothrow_constructible_v<T, Args&&...>) {
      Cell* cell = nullptr;
      std::size_t pos = 0;
      if (!claim_push(cell, pos)) return false;
      std::construct_at(cell->raw_item(), std::forward<Args>(args)...);
      cell->seq.store(pos + 1, std::memory_order_release);  // pairs with the consumer's acquire of seq
      return true;
    } else {
      return try_emplace(T(std::forward<Args>(args)...));
    }
  }

  // try_push: any thread. Copies or moves v in; false if full or closed.
  bool try_push(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>) { return try_emplace(v); }
  bool try_push(T&& v) noexcept { return try_emplace(std::move(v)); }

  // try_pop: any thread. Moves the oldest item into out; false if empty.
  bool try_pop(T& out) noexcept {
    static_assert(std::is_nothrow_move_assignable_v<T>, "try_pop(T&) needs a noexcept move assignment");
    return pop_with([&out](T& item) noexcept { out = std::move(item); });
  }

  // try_pop: any thread. The oldest item, or nullopt if empty.
  std::optional<T> try_pop() noexcept {
    std::optional<T> out;
    pop_with([&out](T& item) noexcept { out.emplace(std::move(item)); });
    return out;
  }

  // close: later pushes fail; items already pushed can still be popped. Idempotent.
  void close() noexcept {
    enqueue_pos_->fetch_or(kClosedBit, std::memory_order_release);  // pairs with the acquire in is_closed/closed_and_drained
  }

  // is_closed: close() has been called.
  bool is_closed() const noexcept {
    return (enqueue_pos_->load(std::memory_order_acquire) & kClosedBit) != 0;  // pairs with close()'s release
  }

  // closed_and_drained: closed, and every item pushed has been claimed by a
  // pop. Once true it stays true.
  bool closed_and_drained() const noexcept {
    const std::size_t tail = enqueue_pos_->load(std::memory_order_acquire);  // pairs with close()'s release
    if ((tail & kClosedBit) == 0) return false;
    // Pushes are over (the CAS fails once the bit is set), so tail is final.
    return dequeue_pos_->load(std::memory_order_relaxed) >= (tail & ~kClosedBit);  // monotonic; data is ordered by cell seq
  }

  // size_approx: queued items, exact only when no thread is active.
  std::size_t size_approx() const noexcept {
    const std::size_t head = dequeue_pos_->load(std::memory_order_relaxed);  // a snapshot, orders nothing
    const std::size_t tail = enqueue_pos_->load(std::memory_order_relaxed) & ~kClosedBit;  // a snapshot, orders nothing
    return tail > head ? std::min(tail - head, capacity()) : 0;
  }

 private:
  // The top bit of the enqueue position marks the queue closed; positions
  // never reach it (2^63 pushes).
  static constexpr std::size_t kClosedBit = std::size_t{1} << 63;

  // A cell holds an item while seq == pos + 1 and is free for the push at pos
  // while seq == pos. One cache line per cell (at least), so neighbours
  // written by different threads do not share a line.
  struct alignas(kCacheLineSize) Cell {
    explicit Cell(std::size_t initial) noexcept : seq(initial) {}
    // Safety: storage is aligned and sized for T; a T lives there exactly
    // while seq == pos + 1 for the position that filled it.
    T* raw_item() noexcept { return reinterpret_cast<T*>(storage); }
    T* item() noexcept { return std::launder(raw_item()); }

    std::atomic<std::size_t> seq;
    alignas(T) std::byte storage[sizeof(T)];
  };

  // claim_push: reserves the cell for the next push; false if full or closed.
  bool claim_push(Cell*& cell, std::size_t& pos) noexcept {
    pos = enqueue_pos_->load(std::memory_order_relaxed);  // the cell's seq, not pos, orders the data
    for (;;) {
      if (pos & kClosedBit) return false;
      cell = &cells_[pos & mask_];
      const std::size_t seq = cell->seq.load(std::memory_order_acquire);  // pairs with the consumer's release that freed the cell
      const auto dif = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (dif == 0) {
        // relaxed: winning the CAS only claims the cell; its seq publishes the data.
        if (enqueue_pos_->compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed, std::memory_order_relaxed)) {
          return true;
        }
      } else if (dif < 0) {
        return false;  // the cell one lap back is not consumed yet: full
      } else {
        pos = enqueue_pos_->load(std::memory_order_relaxed);  // another producer took pos; the cell's seq orders the data
      }
    }
  }

  // pop_with: claims the oldest filled cell, hands its item to take (which
  // must not throw: the cell has to be freed) and frees the cell.
  template <typename Take>
  bool pop_with(Take&& take) noexcept {
    std::size_t pos = dequeue_pos_->load(std::memory_order_relaxed);  // the cell's seq, not pos, orders the data
    Cell* cell;
    for (;;) {
      cell = &cells_[pos & mask_];
      const std::size_t seq = cell->seq.load(std::memory_order_acquire);  // pairs with the producer's release of seq
      const auto dif = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1);
      if (dif == 0) {
        // relaxed: winning the CAS only claims the cell; its seq published the data.
        if (dequeue_pos_->compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        return false;  // the cell at pos is not filled yet: empty
      } else {
        pos = dequeue_pos_->load(std::memory_order_relaxed);  // another consumer took pos; the cell's seq orders the data
      }
    }
    T* item = cell->item();
    take(*item);
    std::destroy_at(item);
    cell->seq.store(pos + mask_ + 1, std::memory_order_release);  // pairs with the producer's acquire of seq
    return true;
  }

  CachePadded<std::atomic<std::size_t>> enqueue_pos_{std::in_place, 0};
  CachePadded<std::atomic<std::size_t>> dequeue_pos_{std::in_place, 0};
  // Read-only after construction.
  alignas(kCacheLineSize) const std::size_t mask_;
  Cell* const cells_;
};

}  // namespace tickwire::middleware
