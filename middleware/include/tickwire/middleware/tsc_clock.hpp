// TscClock: timestamps from the invariant TSC (one rdtsc, ~10 ns),
// converted to CLOCK_MONOTONIC or Unix-epoch nanoseconds off the hot path with
// one 64x64 multiply and a shift. Any thread stamps and converts; one
// background thread calls resync() periodically. Without an invariant TSC the
// ticks are steady_clock nanoseconds and the conversion is exact.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <type_traits>

#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::middleware {

// TscCalibration: a POD snapshot of the conversion parameters. Fields after
// `invariant_tsc` are extensions the conversion does not need.
struct TscCalibration {
  std::uint64_t tsc_anchor;      // TSC reading at the anchor
  std::uint64_t mono_anchor_ns;  // CLOCK_MONOTONIC ns at the anchor
  std::uint64_t wall_anchor_ns;  // CLOCK_REALTIME ns at the anchor
  double ns_per_tick;            // 1.0 in steady_clock fallback mode
  bool invariant_tsc;            // false => ticks are steady_clock ns (fallback)
  std::uint64_t mult;            // fixed point ns_per_tick: ns = ticks * mult >> shift
  std::uint32_t shift;
  std::uint64_t generation;      // +1 at every publication (construction is 1)
  std::uint64_t anchor_error_ns; // bound on |mapped - CLOCK_MONOTONIC| at the anchor
  double rate_error;             // relative bound on the ns_per_tick error
};
static_assert(std::is_trivially_copyable_v<TscCalibration>);

namespace detail {

// Seqlock<T>: one writer at a time (callers serialise writers), any number of
// readers that retry while a write is in progress. The payload lives in atomic
// words, so a reader racing a writer reads a torn value (which it discards)
// without a data race. Ordering follows Boehm, "Can seqlocks get along with
// programming language memory models?" (MSPC 2012), with acquire loads and
// release stores on the words instead of fences: the same plain `mov`s on
// x86-64, and ThreadSanitizer (which ignores fences) can check them.
template <typename T>
class Seqlock {
  static_assert(std::is_trivially_copyable_v<T>);
  static constexpr std::size_t kWords = (sizeof(T) + 7) / 8;

 public:
  explicit Seqlock(const T& initial) noexcept { store(initial); }

  // load: a consistent copy of the last store(); spins only while a store runs.
  T load() const noexcept {
    std::uint64_t sequence = 0;
    return load(sequence);
  }
  // load: the same, and the (even) sequence of the store() it copied.
  T load(std::uint64_t& sequence) const noexcept {
    std::array<std::uint64_t, kWords> words;
    for (;;) {
      // acquire: pairs with the release store of the even sequence in store(),
      // so the words read below are at least as new as that publication.
      const std::uint64_t s1 = seq_.load(std::memory_order_acquire);
      if (s1 & 1U) {
        cpu_relax();
        continue;
      }
      for (std::size_t i = 0; i < kWords; ++i) {
        // acquire: pairs with the release word stores in store(); a word from
        // a store() that began after s1 makes that store()'s odd sequence
        // visible to the re-check below.
        words[i] = words_[i].load(std::memory_order_acquire);
      }
      // relaxed: ordered after the word loads by their acquire semantics.
      if (seq_.load(std::memory_order_relaxed) == s1) {
        sequence = s1;
        break;
      }
    }
    T out;
    // Safety: T is trivially copyable and words holds sizeof(T) bytes or more,
    // all copied from one T by one store() under an unchanged even sequence.
    std::memcpy(&out, words.data(), sizeof(T));
    return out;
  }

  // changed_since: whether a store() began after the one load(sequence)
  // copied; while it returns false, that copy is the current value.
  bool changed_since(std::uint64_t sequence) const noexcept {
    // acquire: pairs with the release store of the even sequence in store(),
    // so a caller that sees a new sequence and calls load() gets that value.
    return seq_.load(std::memory_order_acquire) != sequence;
  }

  // store: publish a new value; callers must not call store() concurrently.
  void store(const T& value) noexcept {
    std::array<std::uint64_t, kWords> words{};
    // Safety: T is trivially copyable and fits in words.
    std::memcpy(words.data(), &value, sizeof(T));
    // relaxed: only this (serialised) writer modifies seq_.
    const std::uint64_t s = seq_.load(std::memory_order_relaxed);
    // relaxed: made visible before each word by the words' release stores.
    seq_.store(s + 1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < kWords; ++i) {
      // release: pairs with the reader's acquire word loads in load(); carries
      // the odd sequence stored above to any reader that sees this word.
      words_[i].store(words[i], std::memory_order_release);
    }
    // release: pairs with the acquire load of seq_ at the top of load().
    seq_.store(s + 2, std::memory_order_release);
  }

 private:
  // The sequence and the words share cache lines on purpose: a reader touches
  // one or two lines, and the writer (resync) is rare.
  alignas(kCacheLineSize) std::atomic<std::uint64_t> seq_{0};
  std::array<std::atomic<std::uint64_t>, kWords> words_{};
};

}  // namespace detail

// TscClock: see the file comment. Use global() in production; construct one
// directly only to test or to force a mode.
class TscClock {
 public:
  enum class Mode { kAuto, kForceSteady };

  // Calibrates (~12 ms): median of several short trials against CLOCK_MONOTONIC.
  explicit TscClock(Mode mode = Mode::kAuto);
  TscClock(const TscClock&) = delete;
  TscClock& operator=(const TscClock&) = delete;

  // global: the process-wide instance, calibrated on first use (thread-safe).
  // TICKWIRE_CLOCK=steady in the environment forces the fallback mode.
  static TscClock& global();

  // now_ticks: the hot-path stamp in the global instance's tick domain: a
  // bare rdtsc, which the CPU may execute a few ns before or after the
  // instructions around it. Monotonic on a thread; when a stamp must not
  // precede an event observed from another thread, use now_ticks_ordered().
  static std::uint64_t now_ticks() noexcept { return now_ticks_impl<false>(); }
  // now_ticks_ordered: `lfence; rdtsc`: taken after every earlier instruction
  // has completed, so never smaller than a stamp this thread has already seen
  // from another thread. ~6 ns more than now_ticks() on this EPYC VM.
  static std::uint64_t now_ticks_ordered() noexcept { return now_ticks_impl<true>(); }

  // ticks / ticks_ordered: the same stamps in this instance's tick domain.
  std::uint64_t ticks() const noexcept { return invariant_tsc_ ? read_tsc<false>() : read_steady_ns(); }
  std::uint64_t ticks_ordered() const noexcept { return invariant_tsc_ ? read_tsc<true>() : read_steady_ns(); }

  // to_mono_ns: ticks to CLOCK_MONOTONIC-domain ns.
  std::uint64_t to_mono_ns(std::uint64_t ticks) const noexcept {
    return map(params_.load(), ticks);
  }
  // to_wall_ns: ticks to Unix-epoch ns (CLOCK_REALTIME offset as of the last resync).
  std::uint64_t to_wall_ns(std::uint64_t ticks) const noexcept { return to_mono_and_wall_ns(ticks).wall_ns; }
  // MonoAndWall: one reading in both domains.
  struct MonoAndWall {
    std::uint64_t mono_ns;
    std::uint64_t wall_ns;
  };
  // to_mono_and_wall_ns: to_mono_ns and to_wall_ns of one reading under one
  // snapshot of the calibration (one seqlock read instead of two; the pair
  // is consistent even across a resync).
  MonoAndWall to_mono_and_wall_ns(std::uint64_t ticks) const noexcept {
    const TscCalibration c = params_.load();
    const std::uint64_t mono = map(c, ticks);
    return {mono, mono - c.mono_anchor_ns + c.wall_anchor_ns};
  }
  // Mapper: to_mono_and_wall_ns for one thread's hot path. It keeps its own
  // copy of the calibration and copies it again only when a resync has
  // published a new one: one load of the sequence per conversion instead of
  // a copy of every word of the calibration (which stalled on store
  // forwarding: 4.5% of the feed thread at full rate). One thread at a time;
  // the clock must outlive it.
  class Mapper {
   public:
    explicit Mapper(const TscClock& clock) noexcept : clock_(&clock) { refresh(); }
    MonoAndWall to_mono_and_wall_ns(std::uint64_t ticks) noexcept {
      if (clock_->params_.changed_since(sequence_)) [[unlikely]] refresh();
      const std::uint64_t mono = map(c_, ticks);
      return {mono, mono - c_.mono_anchor_ns + c_.wall_anchor_ns};
    }

   private:
    void refresh() noexcept { c_ = clock_->params_.load(sequence_); }
    const TscClock* clock_;
    TscCalibration c_{};
    std::uint64_t sequence_ = 0;
  };

  // now_mono_ns: to_mono_ns(ticks()) for this instance.
  std::uint64_t now_mono_ns() const noexcept { return to_mono_ns(ticks()); }
  // now_wall_ns: to_wall_ns(ticks()) for this instance.
  std::uint64_t now_wall_ns() const noexcept { return to_wall_ns(ticks()); }

  // calibration: a consistent snapshot of the parameters (seqlock read).
  TscCalibration calibration() const noexcept { return params_.load(); }

  // resync: re-anchor to CLOCK_MONOTONIC/CLOCK_REALTIME and re-measure the
  // rate over the baseline since construction. The mapping never steps back:
  // when it runs ahead of CLOCK_MONOTONIC it is slewed, not stepped. Costs a
  // few microseconds; call it every second or so from a background thread.
  void resync();

  // error_bound_ns: how far to_mono_ns(ticks) may be from CLOCK_MONOTONIC,
  // according to the calibration in effect.
  std::uint64_t error_bound_ns(std::uint64_t ticks) const noexcept;

  // map: ticks to mono ns under the given parameters (shared by the methods above).
  static std::uint64_t map(const TscCalibration& c, std::uint64_t ticks) noexcept {
    if (ticks >= c.tsc_anchor) {
      return c.mono_anchor_ns + scale(ticks - c.tsc_anchor, c.mult, c.shift);
    }
    return c.mono_anchor_ns - scale(c.tsc_anchor - ticks, c.mult, c.shift);
  }

  // cpu_has_invariant_tsc: CPUID leaf 0x80000007, EDX bit 8.
  static bool cpu_has_invariant_tsc() noexcept;

 private:
  static constexpr int kModeUnknown = 0;
  static constexpr int kModeTsc = 1;
  static constexpr int kModeSteady = 2;

  struct Sample {
    std::uint64_t tsc;
    std::uint64_t mono_ns;
    std::uint64_t wall_ns;
    std::uint64_t half_width_ns;  // half the CLOCK_MONOTONIC bracket around tsc
  };

  __extension__ using U128 = unsigned __int128;  // g++/clang extension; one `mul` on x86-64
  static std::uint64_t scale(std::uint64_t delta, std::uint64_t mult, std::uint32_t shift) noexcept {
    return static_cast<std::uint64_t>((static_cast<U128>(delta) * mult) >> shift);
  }

  template <bool kOrdered>
  static std::uint64_t read_tsc() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (kOrdered) __builtin_ia32_lfence();
    return __builtin_ia32_rdtsc();
#else
    return read_steady_ns();
#endif
  }
  template <bool kOrdered>
  static std::uint64_t now_ticks_impl() noexcept {
    // relaxed: the mode is a self-contained value set once by global(); a
    // thread that still reads kUnknown goes through global()'s guarded init.
    const int mode = g_mode_.load(std::memory_order_relaxed);
    if (mode == kModeTsc) [[likely]] return read_tsc<kOrdered>();
    if (mode == kModeSteady) return read_steady_ns();
    return kOrdered ? global().ticks_ordered() : global().ticks();
  }
  static std::uint64_t read_steady_ns() noexcept;

  static Sample sample(bool use_tsc) noexcept;
  static TscCalibration calibrate(bool use_tsc, Sample& base);

  static inline std::atomic<int> g_mode_{kModeUnknown};

  bool invariant_tsc_;
  Sample base_{};                 // first calibration sample: the rate baseline
  std::mutex resync_mu_;          // serialises writers of params_
  detail::Seqlock<TscCalibration> params_;
};

}  // namespace tickwire::middleware
