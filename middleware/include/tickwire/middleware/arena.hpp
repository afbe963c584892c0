// Arena: a monotonic (bump) allocator over one block allocated once, or
// lent by the caller. An allocation is an align-up and an add; deallocate is a
// no-op; reset() frees everything in O(1). It is a std::pmr::memory_resource
// with no upstream: running out is a counted failure (nullptr from
// try_allocate, ArenaExhausted from pmr), never a silent malloc. One thread.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory_resource>
#include <new>
#include <span>

#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::middleware {

// ArenaExhausted: what a pmr allocation from a full arena throws (pmr's only
// way to fail). what() names the arena, the request and the room left; it is
// formatted into the exception itself, so throwing it does not allocate.
class ArenaExhausted : public std::bad_alloc {
 public:
  ArenaExhausted(const char* arena, std::size_t bytes, std::size_t alignment, std::size_t used,
                 std::size_t capacity) noexcept {
    std::snprintf(what_, sizeof what_,
                  "arena '%s': cannot allocate %zu bytes (alignment %zu): %zu of %zu bytes used, no upstream "
                  "(reset the arena or size it larger)",
                  arena, bytes, alignment, used, capacity);
  }
  const char* what() const noexcept override { return what_; }

 private:
  char what_[256];
};

class Arena final : public std::pmr::memory_resource {
 public:
  // Arena(capacity, name): allocates and pre-faults (zeroes) capacity bytes
  // now, so first use costs no page fault. name (a string literal or other
  // static string) appears in error messages.
  explicit Arena(std::size_t capacity, const char* name = "arena")
      : name_(name),
        owned_(static_cast<std::byte*>(::operator new(std::max<std::size_t>(capacity, 1),
                                                      std::align_val_t{kCacheLineSize}))),
        base_(owned_),
        capacity_(capacity) {
    std::memset(base_, 0, capacity_);
  }
  // Arena(buffer, name): bump-allocates inside memory the caller owns (and
  // keeps alive for the arena's lifetime).
  explicit Arena(std::span<std::byte> buffer, const char* name = "arena") noexcept
      : name_(name), base_(buffer.data()), capacity_(buffer.size()) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() override {
    if (owned_ != nullptr) {
      ::operator delete(owned_, std::align_val_t{kCacheLineSize});  // unsized: portable to clang
    }
  }

  // try_allocate: bytes at the given alignment (a power of two), or nullptr
  // (and one more failures() count) when the arena has no room.
  void* try_allocate(std::size_t bytes, std::size_t alignment = alignof(std::max_align_t)) noexcept {
    assert(alignment != 0 && (alignment & (alignment - 1)) == 0 && "alignment must be a power of two");
    // Safety: integer arithmetic on the address only; the pointer formed
    // below lies inside [base_, base_ + capacity_) when the checks pass.
    const auto base = reinterpret_cast<std::uintptr_t>(base_);
    const std::uintptr_t aligned = (base + used_ + (alignment - 1)) & ~std::uintptr_t{alignment - 1};
    const std::size_t start = static_cast<std::size_t>(aligned - base);
    if (start > capacity_ || bytes > capacity_ - start) {
      ++failures_;
      return nullptr;
    }
    used_ = start + bytes;
    high_water_ = std::max(high_water_, used_);
    return base_ + start;
  }

  // reset: forgets every allocation in O(1). Objects still living in the
  // arena are not destroyed: destroy (or abandon) them first.
  void reset() noexcept { used_ = 0; }

  std::size_t capacity() const noexcept { return capacity_; }
  // used: bytes handed out since the last reset, alignment padding included.
  std::size_t used() const noexcept { return used_; }
  std::size_t remaining() const noexcept { return capacity_ - used_; }
  // high_water: the most bytes ever in use between resets.
  std::size_t high_water() const noexcept { return high_water_; }
  // failures: allocations refused for lack of room.
  std::uint64_t failures() const noexcept { return failures_; }
  const char* name() const noexcept { return name_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    void* p = try_allocate(bytes, alignment);
    if (p == nullptr) throw ArenaExhausted(name_, bytes, alignment, used_, capacity_);
    return p;
  }
  void do_deallocate(void*, std::size_t, std::size_t) noexcept override {}
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  const char* name_;
  std::byte* owned_ = nullptr;
  std::byte* base_;
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::size_t high_water_ = 0;
  std::uint64_t failures_ = 0;
};

}  // namespace tickwire::middleware
