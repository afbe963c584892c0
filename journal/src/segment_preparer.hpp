// SegmentPreparer: the flusher's helper thread ("tw-seg"). It keeps the next
// segment ready as a SpareSegment and finishes rolled-out segments (index and
// data sync, truncation, unmap, close), so a roll costs the flusher a header
// write, one small sync and two renames instead of creating a file and
// syncing the whole old one while the producer's ring fills. Before start()
// (Journal::open draining a crashed ring) and after stop(), the same work
// runs inline on the caller's thread.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>

#include "tickwire/journal/manifest.hpp"
#include "tickwire/journal/segment_writer.hpp"

namespace tickwire::journal {

class SegmentPreparer {
 public:
  SegmentPreparer(std::filesystem::path dir, std::uint32_t index_interval, std::size_t capacity);

  // take: the spare for `segment_index`: the prepared one if the helper made
  // it (waiting for it if it is being made), else made now. The helper then
  // starts on the spare for segment_index + 1. If the helper could not make
  // it (a full disk), returns that error; the next take() tries again. Flusher thread.
  absl::StatusOr<SpareSegment> take(std::uint64_t segment_index);
  // retire: queues a rolled-out segment to be finished; finished inline when
  // the helper is not running. Flusher thread.
  absl::Status retire(RetiredSegment segment);
  // wait_retired: returns once every retired segment is finished (the first
  // error, if any); their last seqs are then durable. Flusher thread.
  absl::Status wait_retired();
  // durable_seq: the highest last seq of a finished retired segment (0: none).
  std::uint64_t durable_seq() const;

  // prepare_now: makes the spare for `segment_index` on the calling thread,
  // so the first roll does not wait either; before run() starts.
  absl::Status prepare_now(std::uint64_t segment_index);
  // run: the helper's body; from its start, work goes to it instead of running
  // inline. Returns after stop(), with the unused spare removed.
  void run();
  // stop: makes run() return once the work queued now is done; then waits for
  // it to return if it runs, and returns the helper's first error. Any thread, once.
  absl::Status stop();
  // error: the helper's first error finishing a retired segment, OK if none; any thread.
  absl::Status error() const;
  // leftovers: files a failed spare or roll could not remove; every spare made
  // here removes them first, and the flusher's SegmentWriter::create adds to them.
  SpareLeftovers* leftovers() { return &leftovers_; }
  // keep_manifest: from now on, each finished retired segment raises the
  // manifest's highest_seq and next_segment_index and rewrites DIR/manifest,
  // so it trails the run by one segment, not by the whole run since open.
  // Before run() starts.
  void keep_manifest(Manifest manifest) { manifest_ = std::move(manifest); }

 private:
  void record(absl::Status s);  // mu_ held
  // finished: a retired segment is synced: the manifest learns it. Whoever
  // finishes retired segments calls it (the helper, or inline when it does
  // not run: never both at once), without mu_.
  // A full disk is counted and retried at the next segment; any other error is returned.
  absl::Status finished(const std::filesystem::path& segment, std::uint64_t last_seq);
  static absl::Status discard(SpareSegment& spare);

  const std::filesystem::path dir_;
  const std::uint32_t index_interval_;
  const std::size_t capacity_;
  SpareLeftovers leftovers_;  // its own lock

  mutable std::mutex mu_;  // guards everything below (the flusher touches it once per roll)
  std::condition_variable cv_;
  bool started_ = false;   // run() takes work
  bool stopping_ = false;
  bool exited_ = false;    // run() returned (or never will: stop() before start())
  bool preparing_ = false;  // the helper is making a spare outside the lock
  std::size_t retiring_ = 0;  // retired segments queued or being finished
  std::optional<SpareSegment> spare_;
  std::uint64_t wanted_index_ = 0;  // the spare the helper should make next (0: none)
  std::deque<RetiredSegment> retired_;
  std::atomic<std::uint64_t> durable_seq_{0};  // written under mu_; read by the flusher without it
  std::optional<Manifest> manifest_;  // touched only by finished()
  absl::Status error_;        // sticky: a retired segment could not be finished
  absl::Status spare_error_;  // the last spare could not be made; take() reports it and retries; run() records it if none did
};

}  // namespace tickwire::journal
