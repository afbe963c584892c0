// PoolAllocator<T>: a standard allocator drawing from a BufferPool, for
// containers and buffers that must not call malloc once warm (e.g. Beast's
// flat_buffer holding websocket frames). Each allocation carries a 64-byte
// header holding its pool handle; a request over the largest size class, or
// one the pool cannot serve, falls back to operator new and is counted in
// fallbacks() so that it is visible, never silent.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>

#include "tickwire/middleware/buffer_pool.hpp"

namespace tickwire::middleware {

// PoolAllocatorState: the pool plus the fallback counter, shared by every
// copy (and rebind) of an allocator.
struct PoolAllocatorState {
  explicit PoolAllocatorState(BufferPool& p) : pool(p) {}
  BufferPool& pool;
  std::atomic<std::uint64_t> fallbacks{0};  // allocations served by operator new
};

template <typename T>
class PoolAllocator {
 public:
  using value_type = T;

  explicit PoolAllocator(PoolAllocatorState& state) noexcept : state_(&state) {}
  template <typename U>
  PoolAllocator(const PoolAllocator<U>& other) noexcept : state_(other.state()) {}  // NOLINT: rebind

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T) + kHeader;
    BufferPool::Handle handle = state_->pool.acquire(bytes);
    std::byte* base;
    bool pooled = static_cast<bool>(handle);
    if (pooled) {
      base = handle.data();
    } else {
      // relaxed: a counter read for reporting only.
      state_->fallbacks.fetch_add(1, std::memory_order_relaxed);
      base = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{kHeader}));
    }
    // Safety: base is kHeader-aligned (pool slots are cache-line aligned) and
    // at least kHeader + n * sizeof(T) bytes long; the header's lifetime ends
    // in deallocate().
    new (base) Header{std::move(handle), pooled};
    return reinterpret_cast<T*>(base + kHeader);
  }

  void deallocate(T* p, std::size_t) noexcept {
    // Safety: p came from allocate(), which placed a Header kHeader bytes before it.
    std::byte* base = reinterpret_cast<std::byte*>(p) - kHeader;
    Header* header = std::launder(reinterpret_cast<Header*>(base));
    const bool pooled = header->pooled;
    BufferPool::Handle handle = std::move(header->handle);
    header->~Header();
    if (!pooled) ::operator delete(base, std::align_val_t{kHeader});
    // A pooled buffer returns to its pool when `handle` goes out of scope.
  }

  PoolAllocatorState* state() const noexcept { return state_; }
  friend bool operator==(const PoolAllocator& a, const PoolAllocator& b) noexcept { return a.state_ == b.state_; }

 private:
  static constexpr std::size_t kHeader = kCacheLineSize;
  struct Header {
    BufferPool::Handle handle;
    bool pooled;
  };
  static_assert(sizeof(Header) <= kHeader);

  PoolAllocatorState* state_;
};

}  // namespace tickwire::middleware
