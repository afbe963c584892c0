// CachePadded<T>: a value alone on its cache line(s), so that two hot values
// written by different threads never share a line (false sharing). Costs
// kCacheLineSize bytes at least per value; used for ring indices and counters.
#pragma once

#include <cstddef>
#include <new>
#include <utility>

namespace tickwire::middleware {

// kCacheLineSize is 64 on x86-64. We do not use
// std::hardware_destructive_interference_size: g++ warns that its value may
// differ between compiler versions (-Winterference-size), which would make it
// an ABI hazard for a library other services link against.
inline constexpr std::size_t kCacheLineSize = 64;

// CachePadded<T>: aligned to, and padded to a multiple of, kCacheLineSize.
template <typename T>
struct alignas(kCacheLineSize) CachePadded {
  CachePadded() = default;
  template <typename... Args>
  explicit CachePadded(std::in_place_t, Args&&... args) : value(std::forward<Args>(args)...) {}

  T& operator*() noexcept { return value; }
  const T& operator*() const noexcept { return value; }
  T* operator->() noexcept { return &value; }
  const T* operator->() const noexcept { return &value; }

  T value{};
};

static_assert(sizeof(CachePadded<char>) == kCacheLineSize);
static_assert(alignof(CachePadded<char>) == kCacheLineSize);

// cpu_relax(): the spin-wait hint (x86 `pause`), lowering power and the cost
// of leaving a spin loop; a compiler barrier elsewhere.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

}  // namespace tickwire::middleware
