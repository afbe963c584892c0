// Flusher: the consumer of the journal ring and the only writer of segment
// files. Runs on its own thread (run()) once the journal is open; before that,
// Journal::open uses write() directly to drain what a crashed process left.
#pragma once

#include <absl/status/status.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/segment_writer.hpp"
#include "segment_preparer.hpp"
#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::journal {

class Flusher {
 public:
  Flusher(const Options& options, MmapRing& ring, std::uint64_t next_segment_index, std::uint64_t last_seq,
          std::uint64_t last_wall_ns);

  // write: appends one record to the current segment, rolling first if needed.
  absl::Status write(std::uint64_t seq, std::uint64_t mono_ns, std::uint64_t wall_ns, std::uint16_t type,
                     std::span<const std::byte> payload);
  // write_entry: writes one ring record. A damaged one (CRC mismatch) is never
  // written as if true: it is counted (ring_damaged) and journaled as a gap
  // record covering the seqs between the last one written and the next intact
  // record's (or its own seq, or last + 1, when no intact record follows).
  // `recovering`: the ring is not live (Journal::open), so when the damaged
  // record's `next` holds nothing, the next intact record is searched for.
  absl::Status write_entry(const MmapRing::Entry& e, std::uint64_t wall_ns, bool recovering);
  // sync_now: fdatasync of the current segment; advances durable_seq.
  absl::Status sync_now();
  // wall_now: CLOCK_REALTIME, never below a stamp already given.
  std::uint64_t wall_now();

  // run: the thread body; returns when stop() was called and the ring is drained.
  void run();
  // run_helper: the body of the helper thread (SegmentPreparer) that keeps
  // the next segment ready and finishes rolled-out ones. Started before run().
  void run_helper() { preparer_.run(); }
  // prepare_next: makes the next segment's spare now (Journal::open, before the threads start).
  absl::Status prepare_next() { return preparer_.prepare_now(next_segment_index_); }
  // keep_manifest: see SegmentPreparer::keep_manifest; before the threads start.
  void keep_manifest(Manifest manifest) { preparer_.keep_manifest(std::move(manifest)); }
  // stop_helper: makes run_helper() return; for when run() will never run.
  void stop_helper() { (void)preparer_.stop(); }
  // stop: asks run() to drain and finish; any thread.
  void stop();

  bool failed() const {
    // acquire: pairs with the release in fail(); the error is stored before.
    return failed_->load(std::memory_order_acquire);
  }
  absl::Status status() const;
  // storage_failing: a full disk stalls the flusher now; it retries with a backoff. Any thread.
  bool storage_failing() const {
    // acquire: pairs with the release in note_storage_error()/note_storage_ok(); the error is stored before.
    return storage_failing_->load(std::memory_order_acquire);
  }
  // storage_error: the error storage fails with now (OK when it works).
  absl::Status storage_error() const;
  std::uint64_t storage_errors() const { return storage_errors_->load(std::memory_order_relaxed); }
  std::uint64_t ring_damaged() const { return ring_damaged_->load(std::memory_order_relaxed); }
  // finish: writes the end record of the current segment (clean close).
  absl::Status finish();

  // relaxed (flushed_records, segment_bytes, segments): statistics that order
  // nothing; each is a running count with a single writer (publish_stats, roll).
  std::uint64_t flushed_records() const { return flushed_records_->load(std::memory_order_relaxed); }
  std::uint64_t segment_bytes() const { return segment_bytes_->load(std::memory_order_relaxed); }
  std::uint64_t durable_seq() const {
    // acquire: pairs with the release in publish_durable(); the sync happened before.
    return durable_seq_->load(std::memory_order_acquire);
  }
  std::uint64_t segments() const { return segments_->load(std::memory_order_relaxed); }
  std::uint64_t last_seq() const { return last_seq_; }

  void publish_durable(std::uint64_t seq);
  // publish_stats: makes the counts of records written since the last call visible to stats().
  void publish_stats();

 private:
  absl::StatusOr<std::size_t> flush_batch();
  void run_batches();  // run() until stopped or failed
  absl::Status roll(std::uint64_t seq, std::uint64_t wall_ns);
  absl::Status apply_retention();
  // absorb_retired: publishes as durable what the helper synced of rolled-out segments.
  void absorb_retired();
  void fail(absl::Status status);
  // retryable: a full disk (ENOSPC, EDQUOT) where retrying is sound: not a failed
  // sync (after which the kernel may have dropped dirty pages) nor the helper's
  // sticky error (a retired segment it could not finish).
  bool retryable(const absl::Status& s) const;
  // note_storage_error / note_storage_ok: count, remember and report the
  // start and the end of a stall; the callback runs once per change.
  void note_storage_error(const absl::Status& s);
  void note_storage_ok();
  void report(const absl::Status& s) const;

  const Options& options_;
  middleware::StageId flush_stage_{};  // valid when options_.profiler is set
  MmapRing& ring_;
  SegmentPreparer preparer_;
  std::optional<SegmentWriter> segment_;
  std::uint64_t next_segment_index_;
  std::uint64_t last_seq_;       // highest seq written to a segment
  std::uint64_t last_wall_ns_;   // highest wall stamp given
  std::uint64_t segment_day_ = 0;    // UTC day (ns / 86400e9) of the current segment
  std::uint64_t day_checked_wall_ = 0;  // the wall stamp day_changed_ was computed for
  bool day_changed_ = false;
  std::uint64_t synced_seq_ = 0;  // highest seq covered by the last sync
  std::chrono::steady_clock::time_point last_sync_;
  std::uint64_t pending_records_ = 0;  // written since the last publish_stats()
  std::uint64_t pending_bytes_ = 0;
  bool sync_failed_ = false;  // a sync failed: never retried
  std::chrono::milliseconds backoff_{0};  // the wait before the next retry of a stalled batch

  // Stats counters: written by the flusher only (relaxed stores), read by stats().
  middleware::CachePadded<std::atomic<std::uint64_t>> flushed_records_;
  middleware::CachePadded<std::atomic<std::uint64_t>> segment_bytes_;
  middleware::CachePadded<std::atomic<std::uint64_t>> durable_seq_;
  middleware::CachePadded<std::atomic<std::uint64_t>> segments_;
  middleware::CachePadded<std::atomic<bool>> stop_;
  middleware::CachePadded<std::atomic<bool>> failed_;
  middleware::CachePadded<std::atomic<std::uint64_t>> storage_errors_;
  middleware::CachePadded<std::atomic<std::uint64_t>> ring_damaged_;
  middleware::CachePadded<std::atomic<bool>> storage_failing_;
  mutable std::mutex status_mutex_;
  absl::Status status_;
  absl::Status storage_error_;  // guarded by status_mutex_
};

}  // namespace tickwire::journal
