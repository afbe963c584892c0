// Profiler: named stages, each timed in TscClock ticks into one histogram per
// (thread, stage) that only its thread writes; report() merges them on demand.
// The hot path (record, ScopedTimer) is a TLS lookup, a clz, two shifts and a
// relaxed load + store of one counter: no lock, no RMW, no allocation once the
// thread's recorder for the stage exists (its first record on a thread allocates).
// On a hot path that touches much other memory between two records, that
// counter and the recorder are out of cache each time: StageBatch holds a
// thread's durations and adds them kCapacity at a time, when the misses overlap.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tickwire/middleware/latency_histogram.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::middleware {

// StageId: a stage's index, returned by Profiler::stage().
enum class StageId : std::uint32_t {};

// ProfilerOptions: the histogram layout, in TscClock ticks.
struct ProfilerOptions {
  std::uint64_t highest_trackable_ns = 10'000'000'000;  // larger durations are clamped and counted
  int significant_figures = 3;                          // 3: ~200 KiB per (thread, stage)
};

// StageReport: one stage, merged across threads; durations in ns.
struct StageReport {
  std::string name;             // as registered
  std::uint64_t count = 0;      // recorded durations
  std::uint64_t clamped = 0;    // durations above highest_trackable_ns (counted as that value)
  std::size_t threads = 0;      // threads that recorded at least once
  double p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0, p9999_ns = 0, max_ns = 0;
};

// ProfileReport: every registered stage in registration order.
struct ProfileReport {
  std::vector<StageReport> stages;
  double ns_per_tick = 1.0;  // the calibration used to convert ticks

  // format_text: one aligned row per stage, durations in microseconds.
  std::string format_text() const;
};

namespace detail {

// StageRecorder: one thread's counts for one stage, in LatencyHistogram's
// bucket layout. Relaxed atomics instead of LatencyHistogram's plain words:
// the owner thread is the only writer (load + store, no RMW: the same `mov`s
// as a plain increment on x86-64), and a merging thread may read any counter
// at any time without a data race. A merge therefore sees each counter at
// some value it held during the merge: a snapshot that is not atomic across
// buckets, which is what an on-demand report of a running system can be.
class StageRecorder {
 public:
  explicit StageRecorder(const LatencyHistogram& layout);

  // record: owner thread only.
  void record(std::uint64_t value) noexcept {
    if (value > highest_trackable_) [[unlikely]] {
      value = highest_trackable_;
      // relaxed: owner-only writer; readers need no ordering with other counters.
      clamped_.store(clamped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    std::atomic<std::uint64_t>& c = counts_[index(value)];
    // relaxed: owner-only writer; read by add_to() without ordering (see class comment).
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // add_to: adds this recorder's current counts into sums (same layout), any thread.
  void add_to(std::vector<std::uint64_t>& sums, std::uint64_t& clamped) const noexcept;

  // value_at_index: the lowest value counted at index (LatencyHistogram's layout).
  std::uint64_t value_at_index(std::size_t index) const noexcept;

  // index: the counter for value, as LatencyHistogram::counts_index.
  std::size_t index(std::uint64_t value) const noexcept {
    const int pow2_ceiling = 64 - __builtin_clzll(value | sub_bucket_mask_);
    const int bucket = pow2_ceiling - unit_magnitude_ - (half_count_magnitude_ + 1);
    const auto sub_bucket = static_cast<std::int64_t>(value >> (bucket + unit_magnitude_));
    const std::int64_t base = static_cast<std::int64_t>(bucket + 1) << half_count_magnitude_;
    return static_cast<std::size_t>(base + sub_bucket - half_count_);
  }

  std::size_t size() const noexcept { return size_; }

 private:
  std::uint64_t highest_trackable_;
  int unit_magnitude_;
  int half_count_magnitude_;
  std::int64_t half_count_;
  std::uint64_t sub_bucket_mask_;
  std::size_t size_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> clamped_{0};
};

// ProfilerThreadSlot: one thread's recorders in one Profiler, indexed by
// stage. by_stage is read and written only by that thread; the recorders are
// owned by the Profiler.
struct ProfilerThreadSlot {
  std::thread::id thread;
  std::vector<StageRecorder*> by_stage;
};

// ProfilerCacheEntry: a thread's last lookups, keyed by the Profiler's unique
// id (never its address, which a later Profiler may reuse).
struct ProfilerCacheEntry {
  std::uint64_t profiler_id = 0;
  ProfilerThreadSlot* slot = nullptr;
};
inline constexpr std::size_t kProfilerCacheEntries = 4;
inline thread_local ProfilerCacheEntry t_profiler_cache[kProfilerCacheEntries];
inline thread_local std::size_t t_profiler_cache_next = 0;

}  // namespace detail

// Profiler: see the file comment. Register stages at start; record from any
// thread; report from any thread. The Profiler must outlive its recorders'
// threads' last record().
class Profiler {
 public:
  // Profiler: the default ProfilerOptions (always a valid layout).
  Profiler();
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  // create: a Profiler with the given layout, or why the layout is invalid.
  static absl::StatusOr<std::unique_ptr<Profiler>> create(ProfilerOptions options);

  // stage: the id of the stage named `name`, registering it on first call
  // (takes a mutex and may allocate: call it at start, not per event).
  StageId stage(std::string_view name);

  // register_thread: creates the calling thread's recorders for every stage
  // registered so far, so that its first record() does not allocate.
  void register_thread();

  // record: count one duration of `ticks` (TscClock ticks) for stage.
  void record(StageId stage, std::uint64_t ticks) noexcept {
    if (detail::StageRecorder* recorder = cached_recorder(stage)) [[likely]] {
      recorder->record(ticks);
      return;
    }
    record_slow(stage, ticks);
  }

  // record_many: record() of each of `ticks`, with one lookup of the recorder.
  void record_many(StageId stage, std::span<const std::uint64_t> ticks) noexcept {
    if (detail::StageRecorder* recorder = cached_recorder(stage)) [[likely]] {
      for (const std::uint64_t t : ticks) recorder->record(t);
      return;
    }
    for (const std::uint64_t t : ticks) record_slow(stage, t);
  }

  // merged: the stage's histogram merged across threads, in ticks.
  absl::StatusOr<LatencyHistogram> merged(StageId stage) const;

  // report: percentiles of every stage, merged across threads, in ns.
  ProfileReport report() const;

  // write_hgrm: one `<stage>.hgrm` per stage in dir (values in microseconds);
  // characters other than [A-Za-z0-9_.-] in a name become '_'.
  absl::Status write_hgrm(const std::filesystem::path& dir) const;

  // stage_names: the registered names, by StageId.
  std::vector<std::string> stage_names() const;

 private:
  using ThreadSlot = detail::ProfilerThreadSlot;
  struct OwnedRecorder {
    std::uint32_t stage;
    std::unique_ptr<detail::StageRecorder> recorder;
  };

  explicit Profiler(LatencyHistogram layout);

  // cached_slot: the calling thread's slot from its thread-local cache, or nullptr.
  ThreadSlot* cached_slot() const noexcept {
    for (const detail::ProfilerCacheEntry& e : detail::t_profiler_cache) {
      if (e.profiler_id == id_) return e.slot;
    }
    return nullptr;
  }
  // cached_recorder: the calling thread's recorder for `stage` if it exists and is cached, else nullptr.
  detail::StageRecorder* cached_recorder(StageId stage) const noexcept {
    ThreadSlot* slot = cached_slot();
    const auto i = static_cast<std::size_t>(stage);
    return slot != nullptr && i < slot->by_stage.size() ? slot->by_stage[i] : nullptr;
  }
  ThreadSlot* thread_slot();  // find or create the calling thread's slot and cache it (takes mu_)
  void record_slow(StageId stage, std::uint64_t ticks);
  detail::StageRecorder* ensure_recorder(ThreadSlot& slot, std::uint32_t stage);  // mu_ held
  LatencyHistogram merged_locked(std::uint32_t stage, std::uint64_t& clamped, std::size_t& threads) const;

  const std::uint64_t id_;  // unique per Profiler, keys the thread-local cache
  LatencyHistogram layout_;
  mutable std::mutex mu_;   // guards names_, slots_, recorders_
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<ThreadSlot>> slots_;
  std::vector<OwnedRecorder> recorders_;
};

// ScopedTimer: records the ticks from construction to destruction into a
// stage: two TscClock::now_ticks() and one Profiler::record().
class ScopedTimer {
 public:
  ScopedTimer(Profiler& profiler, StageId stage) noexcept
      : profiler_(profiler), stage_(stage), start_(TscClock::now_ticks()) {}
  ~ScopedTimer() {
    const std::uint64_t end = TscClock::now_ticks();
    // A thread moved between cores whose TSCs disagree may read end < start.
    profiler_.record(stage_, end > start_ ? end - start_ : 0);
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Profiler& profiler_;
  StageId stage_;
  std::uint64_t start_;
};

// StageBatch: one thread's durations for one stage, held here and added to the
// Profiler kCapacity at a time (record_many), when flush() is called, or when
// it is destroyed. Until then the Profiler's report() does not count them: the
// owner flushes at points where the report must be whole (a periodic task on
// its thread, the end of a run). Owner thread only.
class StageBatch {
 public:
  static constexpr std::size_t kCapacity = 64;

  StageBatch(Profiler& profiler, StageId stage) noexcept : profiler_(profiler), stage_(stage) {}
  ~StageBatch() { flush(); }
  StageBatch(const StageBatch&) = delete;
  StageBatch& operator=(const StageBatch&) = delete;

  void record(std::uint64_t ticks) noexcept {
    held_[held_count_] = ticks;
    if (++held_count_ == kCapacity) [[unlikely]] flush();
  }
  void flush() noexcept {
    if (held_count_ == 0) return;
    profiler_.record_many(stage_, std::span<const std::uint64_t>(held_.data(), held_count_));
    held_count_ = 0;
  }
  // held: durations recorded here and not yet added to the Profiler.
  std::size_t held() const noexcept { return held_count_; }

 private:
  Profiler& profiler_;
  StageId stage_;
  std::size_t held_count_ = 0;
  std::array<std::uint64_t, kCapacity> held_{};
};

}  // namespace tickwire::middleware
