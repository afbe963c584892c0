// BufferPool / LocalBufferPool: byte buffers in six size classes (64 B, 256 B,
// 1 KiB, 4 KiB, 16 KiB, 64 KiB), each a fixed set of cache-line-aligned slots
// allocated once. acquire(n) hands out the smallest class that fits n, or an
// empty handle saying why (class exhausted, or n over 64 KiB), counted either
// way. BufferPool: any thread acquires and releases; LocalBufferPool: one thread.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "absl/status/status.h"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/object_pool.hpp"

namespace tickwire::middleware {

// kBufferClassSizes: the byte capacity of each size class, smallest first.
inline constexpr std::array<std::size_t, 6> kBufferClassSizes{64, 256, 1024, 4096, 16384, 65536};
// kBufferClassCount: how many size classes there are.
inline constexpr std::size_t kBufferClassCount = kBufferClassSizes.size();
// kMaxBufferSize: the largest request any buffer pool can serve.
inline constexpr std::size_t kMaxBufferSize = kBufferClassSizes.back();

// buffer_class_for: the index of the smallest class holding size bytes, or
// kBufferClassCount when size is over kMaxBufferSize.
constexpr std::size_t buffer_class_for(std::size_t size) noexcept {
  std::size_t c = 0;
  while (c < kBufferClassCount && kBufferClassSizes[c] < size) ++c;
  return c;
}

// BufferPoolConfig: how many buffers each class holds (all allocated up front).
struct BufferPoolConfig {
  // Defaults: 64 KiB + 128 KiB + 256 KiB + 512 KiB + 512 KiB + 512 KiB, about 2 MiB.
  std::array<std::uint32_t, kBufferClassCount> counts{1024, 512, 256, 128, 32, 8};
};

// BufferError: why a handle is empty.
enum class BufferError : std::uint8_t {
  kNone,       // the handle holds a buffer (or was default-constructed / moved from)
  kExhausted,  // every buffer of the smallest fitting class was in use
  kTooLarge,   // the request was over kMaxBufferSize
};

// BufferPoolStats: per-class pool counters plus requests no class could serve.
struct BufferPoolStats {
  std::array<PoolStats, kBufferClassCount> classes{};
  std::uint64_t too_large = 0;  // requests over kMaxBufferSize
  // exhausted: refusals summed over classes.
  std::uint64_t exhausted() const noexcept {
    std::uint64_t n = 0;
    for (const auto& c : classes) n += c.exhausted;
    return n;
  }
};

// BufferHandle<Pool>: owns one buffer of capacity() bytes, of which the
// first size() are in use; returns it to the pool on destruction. Move-only.
template <typename Pool>
class BufferHandle {
 public:
  BufferHandle() noexcept = default;
  BufferHandle(BufferHandle&& o) noexcept { take(o); }
  BufferHandle& operator=(BufferHandle&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  BufferHandle(const BufferHandle&) = delete;
  BufferHandle& operator=(const BufferHandle&) = delete;
  ~BufferHandle() { reset(); }

  // reset: returns the buffer to its pool; the handle becomes empty.
  void reset() noexcept {
    if (data_ != nullptr) std::exchange(pool_, nullptr)->free(class_, std::exchange(data_, nullptr));
    size_ = 0;
  }

  explicit operator bool() const noexcept { return data_ != nullptr; }
  std::byte* data() const noexcept { return data_; }
  // size: bytes in use (the size asked for, or set by resize()).
  std::size_t size() const noexcept { return size_; }
  // capacity: the size of the buffer's class; 0 when empty.
  std::size_t capacity() const noexcept { return data_ != nullptr ? kBufferClassSizes[class_] : 0; }
  // resize: sets size(); false (size unchanged) if n is over capacity().
  bool resize(std::size_t n) noexcept {
    if (n > capacity()) return false;
    size_ = n;
    return true;
  }
  std::span<std::byte> span() const noexcept { return {data_, size_}; }
  // error: why an acquire returned this handle empty; kNone otherwise.
  BufferError error() const noexcept { return error_; }
  // requested: the size the failed (or successful) acquire asked for.
  std::size_t requested() const noexcept { return requested_; }

 private:
  friend Pool;
  BufferHandle(Pool* pool, std::byte* data, std::uint8_t cls, std::size_t size) noexcept
      : pool_(pool), data_(data), size_(size), requested_(size), class_(cls) {}
  BufferHandle(BufferError error, std::size_t requested) noexcept : requested_(requested), error_(error) {}

  void take(BufferHandle& o) noexcept {
    pool_ = std::exchange(o.pool_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    requested_ = o.requested_;
    class_ = o.class_;
    error_ = o.error_;
  }

  Pool* pool_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t requested_ = 0;
  std::uint8_t class_ = 0;
  BufferError error_ = BufferError::kNone;
};

// BasicBufferPool<Slots>: see BufferPool and LocalBufferPool below.
template <typename Slots>
class BasicBufferPool {
 public:
  using Handle = BufferHandle<BasicBufferPool>;

  // BasicBufferPool(config): allocates every buffer now and never again.
  explicit BasicBufferPool(const BufferPoolConfig& config = {})
      : classes_{make_slots(config, 0), make_slots(config, 1), make_slots(config, 2),
                 make_slots(config, 3), make_slots(config, 4), make_slots(config, 5)} {
    static_assert(kBufferClassCount == 6, "one make_slots per class");
  }
  BasicBufferPool(const BasicBufferPool&) = delete;
  BasicBufferPool& operator=(const BasicBufferPool&) = delete;

  // acquire: a buffer of the smallest class holding size bytes, with size()
  // == size. Empty, with error() kExhausted or kTooLarge (each counted), when
  // that class has no free buffer or no class is large enough. A larger class
  // is never used instead: each class's budget stays predictable.
  Handle acquire(std::size_t size) noexcept {
    const std::size_t cls = buffer_class_for(size);
    if (cls == kBufferClassCount) {
      too_large_->fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
      return Handle{BufferError::kTooLarge, size};
    }
    const std::uint32_t slot = classes_[cls].acquire();
    if (slot == detail::kNoSlot) return Handle{BufferError::kExhausted, size};
    return Handle{this, classes_[cls].slot(slot), static_cast<std::uint8_t>(cls), size};
  }

  // failure_status: a message for an empty handle naming what, where and why
  // (allocates: call it off the hot path, e.g. when logging the drop).
  absl::Status failure_status(const Handle& h, std::string_view where) const {
    switch (h.error()) {
      case BufferError::kTooLarge:
        return absl::ResourceExhaustedError(fmt::format(
            "{}: buffer pool: a {}-byte buffer was requested, but the largest size class is {} bytes", where,
            h.requested(), kMaxBufferSize));
      case BufferError::kExhausted: {
        const std::size_t cls = buffer_class_for(h.requested());
        const PoolStats s = classes_[cls].stats();
        return absl::ResourceExhaustedError(fmt::format(
            "{}: buffer pool: no free {}-byte buffer for a {}-byte request ({} of {} in use, refused {} times)",
            where, kBufferClassSizes[cls], h.requested(), s.in_use, s.capacity, s.exhausted));
      }
      case BufferError::kNone:
        break;
    }
    return absl::OkStatus();
  }

  BufferPoolStats stats() const noexcept {
    BufferPoolStats s;
    for (std::size_t c = 0; c < kBufferClassCount; ++c) s.classes[c] = classes_[c].stats();
    s.too_large = too_large_->load(std::memory_order_relaxed);  // a snapshot, orders nothing
    return s;
  }

 private:
  friend Handle;

  static Slots make_slots(const BufferPoolConfig& config, std::size_t cls) {
    return Slots(kBufferClassSizes[cls], kCacheLineSize, config.counts[cls]);
  }
  void free(std::uint8_t cls, std::byte* data) noexcept { classes_[cls].release(classes_[cls].index_of(data)); }

  std::array<Slots, kBufferClassCount> classes_;
  CachePadded<std::atomic<std::uint64_t>> too_large_{std::in_place, 0};
};

// BufferPool: thread-safe; a frame's buffer may be filled on one thread and
// released on another.
using BufferPool = BasicBufferPool<detail::SharedSlots>;

// LocalBufferPool: one owner thread acquires and releases.
using LocalBufferPool = BasicBufferPool<detail::LocalSlots>;

}  // namespace tickwire::middleware
