// Helpers shared by the ring, queue and channel tests: an element type that
// counts its constructions and destructions and detects double destruction,
// and the item-count scale for stress tests (smaller under ThreadSanitizer).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tickwire::middleware::testing {

#if defined(TICKWIRE_TSAN)
inline constexpr std::uint64_t kStressDivisor = 20;
#else
inline constexpr std::uint64_t kStressDivisor = 1;
#endif

// Tracked: a non-trivial value whose lifetime is counted. live() is
// constructions minus destructions; double_destroys() counts destructor calls
// on an object that was already destroyed.
class Tracked {
 public:
  explicit Tracked(int v) : value_(v) { constructed(); }
  Tracked(const Tracked& o) : value_(o.value_) { constructed(); }
  Tracked(Tracked&& o) noexcept : value_(o.value_) { constructed(); }
  Tracked& operator=(const Tracked& o) = default;
  Tracked& operator=(Tracked&& o) noexcept = default;
  ~Tracked() {
    if (magic_ != kAlive) counters().double_destroys.fetch_add(1, std::memory_order_relaxed);  // a counter, no ordering
    magic_ = kDead;
    counters().live.fetch_sub(1, std::memory_order_relaxed);  // a counter, no ordering
  }

  int value() const { return value_; }

  static std::int64_t live() { return counters().live.load(std::memory_order_relaxed); }  // read after the threads joined
  static std::int64_t double_destroys() {
    return counters().double_destroys.load(std::memory_order_relaxed);  // read after the threads joined
  }
  static void reset() {
    counters().live.store(0, std::memory_order_relaxed);             // set before any thread starts
    counters().double_destroys.store(0, std::memory_order_relaxed);  // set before any thread starts
  }

 private:
  static constexpr std::uint32_t kAlive = 0xA11CEu;
  static constexpr std::uint32_t kDead = 0xDEADu;
  struct Counters {
    std::atomic<std::int64_t> live{0};
    std::atomic<std::int64_t> double_destroys{0};
  };
  static Counters& counters() {
    static Counters c;
    return c;
  }
  static void constructed() { counters().live.fetch_add(1, std::memory_order_relaxed); }  // a counter, no ordering

  int value_;
  std::uint32_t magic_ = kAlive;
};

// Encodes (producer, sequence) in one word so consumers can check per-producer FIFO order.
inline constexpr std::uint64_t encode_item(std::uint64_t producer, std::uint64_t seq) { return (producer << 48) | seq; }
inline constexpr std::uint64_t item_producer(std::uint64_t item) { return item >> 48; }
inline constexpr std::uint64_t item_seq(std::uint64_t item) { return item & ((std::uint64_t{1} << 48) - 1); }

}  // namespace tickwire::middleware::testing
