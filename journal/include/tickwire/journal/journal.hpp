// Journal: the connector's record of everything it published. The feed thread
// appends into an mmap'd ring (`DIR/ring`, no system call, no allocation); a
// flusher thread drains it in batches into segment files, stamps wall time,
// syncs by policy and publishes durable_seq. A process killed at any instant
// loses nothing it appended: the next open drains the ring file.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "tickwire/journal/history.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/writer_lock.hpp"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/thread_pool.hpp"

namespace tickwire::journal {

enum class FsyncPolicy { kNone, kInterval, kBatch };
enum class FullPolicy { kBlock, kDrop };

// ClockInfo: the TSC calibration behind mono_ns, written into segment headers.
struct ClockInfo {
  std::uint64_t tsc_anchor, mono_anchor_ns, wall_anchor_ns;
  double ns_per_tick;
};

struct Options {
  std::filesystem::path dir;                  // journal directory (created if absent); holds `ring` + segment files
  std::string feed;                           // recorded in segment headers (first 64 bytes)
  std::uint16_t schema_id = 1;                // recorded in segment headers
  ClockInfo clock{};
  std::size_t ring_bytes = 16u << 20;         // power of two
  std::size_t segment_bytes = 256u << 20;     // roll size
  bool roll_daily_utc = true;
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  std::chrono::milliseconds fsync_interval{100};
  FullPolicy full_policy = FullPolicy::kBlock;
  std::size_t batch_records = 64;
  std::chrono::microseconds batch_time{100};
  std::uint32_t index_interval = 1024;        // one sparse-index entry every this many records
  std::chrono::hours retention_age{0};        // delete closed segments older than this (0: keep)
  std::uint64_t retention_bytes = 0;          // delete oldest closed segments beyond this total (0: keep)
  std::vector<int> flusher_cores;             // pin the flusher thread ("tw-flush") to these cores (empty: any)
  bool flusher_affinity_required = true;      // true: an unusable core fails open(); false: warn, run unpinned
  middleware::Profiler* profiler = nullptr;   // if set: stage "flush" times each non-empty batch (drain, append, sync)
  // wall_clock: UTC ns since the epoch, read by the flusher once per batch (stamps, daily roll,
  // retention by age). Empty: CLOCK_REALTIME. Tests inject one to cross midnight.
  std::function<std::uint64_t()> wall_clock;
  // on_storage_event: called on the flusher's thread with the error ("<path>: <op>: <strerror>
  // (<errno name>)") when storage starts failing, with OK when it works again after a failure,
  // and with the error that fails the journal closed. Once per change, not per retry. Empty: none.
  std::function<void(const absl::Status&)> on_storage_event;
  // acknowledge_missing_history: open records missing history (segments gone,
  // seqs the ring or manifest says were issued) as a loss and continues above
  // it; false (default): open refuses and names what is missing. `tickwire recover` sets it.
  bool acknowledge_missing_history = false;
};

struct Stats {
  std::uint64_t appended, dropped, flushed_records, segment_bytes, durable_seq, segments;
  std::uint64_t storage_errors = 0;  // storage calls that failed (each retry of a full disk counts)
  std::uint64_t ring_damaged = 0;    // ring records whose checksum failed, journaled as gaps
  bool storage_failing = false;      // storage fails now; the flusher retries (see storage_error())
  std::uint64_t ring_used_bytes = 0;  // ring bytes written and not yet released by the flusher
  std::uint64_t ring_bytes = 0;       // the ring's capacity
};

class Flusher;

class Journal {
 public:
  // open: opens or creates options.dir. Recovers the last segment (cuts a
  // torn tail, skips damage with valid records after it and records it as a
  // loss), drains records a crashed process left in DIR/ring (skipping any
  // already in a segment, by seq), checks the history against DIR/manifest and
  // the ring's durable_seq (missing history: an error, see
  // acknowledge_missing_history), then starts the flusher thread. Holds
  // DIR/lock until closed: a directory another process writes is refused.
  static absl::StatusOr<std::unique_ptr<Journal>> open(Options options);
  // open: the same, under a writer lock the caller already holds on options.dir (`recover`).
  static absl::StatusOr<std::unique_ptr<Journal>> open(Options options, WriterLock lock);
  ~Journal();  // closes if close() was not called (its error is then lost)
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // next_seq: highest seq ever issued + 1 (segments, ring durable_seq,
  // manifest; 1 for a new journal); seeds the connector's counter. Producer thread (or before it starts).
  std::uint64_t next_seq() const { return producer_->last_seq + 1; }

  // append: producer thread only. Copies the record into the ring. Returns
  // false if it was dropped: ring full under FullPolicy::kDrop, payload over
  // max_payload(), seq not above the previous one, a reserved type, or the
  // journal failed (see status()). Dropped seqs are counted and, except
  // repeats, recorded as a kTypeGap record. kBlock waits for space (spins, then sleeps
  // in 20 µs steps until an eighth of the ring is free; 1 ms steps while storage
  // fails), also while storage fails (a full disk), until stop_waiting().
  bool append(std::uint64_t seq, std::uint64_t mono_ns, std::uint16_t type, std::span<const std::byte> payload);

  // close: producer thread. Drains the ring into the segment, writes the end
  // record, syncs, joins the flusher. Returns the first storage error, if any.
  absl::Status close();

  // stats, durable_seq, status: any thread.
  Stats stats() const;
  // durable_seq: every record up to this seq survives a power cut.
  std::uint64_t durable_seq() const;
  // status: OK, or the storage error that made the journal fail closed.
  absl::Status status() const;
  // storage_error: OK, or the error storage fails with now (a full disk: the
  // flusher retries with a backoff, the ring holds what it has not written).
  absl::Status storage_error() const;
  // stop_waiting: any thread, for shutdown. From now on an append that would
  // wait on a full ring while storage fails (FullPolicy::kBlock) drops the
  // record instead (counted, and a gap record once there is room), so the
  // producer thread can be joined. A healthy journal keeps blocking as before.
  void stop_waiting();

  std::size_t max_payload() const { return producer_->max_payload; }

  // recovery: what open repaired (torn tail cut, damage skipped, losses recorded); empty() after a clean close.
  const RecoveryReport& recovery() const { return recovery_; }

 private:
  Journal(Options options, MmapRing ring, WriterLock lock);
  bool drop(std::uint64_t seq);
  bool write_pending_gap(std::uint64_t mono_ns);
  // wait_for_space: FullPolicy::kBlock on a full ring; true once an eighth of
  // the ring, and room for a record of `payload_bytes`, is free; false if the
  // journal failed, or storage fails after stop_waiting(): drop then.
  bool wait_for_space(std::size_t payload_bytes);

  Options options_;
  WriterLock lock_;  // DIR/lock, held from open until this is destroyed
  MmapRing ring_;
  struct Producer {
    std::uint64_t last_seq = 0;  // highest seq appended or dropped
    std::uint64_t appended = 0;
    std::uint64_t dropped = 0;
    std::size_t max_payload = 0;
    bool gap_pending = false;
    GapPayload gap{};
  };
  middleware::CachePadded<Producer> producer_;
  // Producer-written, read by stats(): relaxed stores of the producer's counts.
  middleware::CachePadded<std::atomic<std::uint64_t>> appended_;
  middleware::CachePadded<std::atomic<std::uint64_t>> dropped_;
  middleware::CachePadded<std::atomic<std::uint64_t>> ring_tail_;  // the ring's producer position after the last append
  std::atomic<bool> stop_waiting_{false};
  std::unique_ptr<Flusher> flusher_;
  middleware::ThreadPool threads_;  // the flusher's thread
  bool closed_ = false;
  RecoveryReport recovery_;
};

}  // namespace tickwire::journal
