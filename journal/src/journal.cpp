#include "tickwire/journal/journal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <system_error>
#include <thread>

#include "flusher.hpp"
#include "tickwire/journal/history.hpp"
#include "tickwire/journal/io.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {
namespace {

// A producer blocked on a full ring (FullPolicy::kBlock) resumes once this
// share of the ring is free, not at the first batch the flusher releases:
// spinning batch by batch kept one of two cores busy (48-144 ns of producer
// CPU per append in the benchmark, 18-24 ns with this), a core the flusher's
// helper, the kernel and the rest of the process need. It polls kFullSpins
// times, then sleeps.
constexpr std::size_t kResumeFreeDivisor = 8;
constexpr int kFullSpins = 64;
constexpr auto kFullSleep = std::chrono::microseconds(20);
constexpr auto kStorageWaitSleep = std::chrono::milliseconds(1);

absl::Status validate(const Options& o) {
  if (o.dir.empty()) return absl::InvalidArgumentError("journal options: dir is empty");
  if (!std::has_single_bit(o.ring_bytes) || o.ring_bytes < 4096) {
    return absl::InvalidArgumentError(fmt::format("journal options: ring_bytes {} is not a power of two >= 4096",
                                                  o.ring_bytes));
  }
  if (o.segment_bytes < 8192 || o.segment_bytes % 4096 != 0) {
    return absl::InvalidArgumentError(
        fmt::format("journal options: segment_bytes {} is not a multiple of 4096 >= 8192", o.segment_bytes));
  }
  if (o.batch_records == 0) return absl::InvalidArgumentError("journal options: batch_records is 0");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Journal>> Journal::open(Options options) {
  if (auto s = validate(options); !s.ok()) return s;
  if (auto s = io::make_journal_directory(options.dir); !s.ok()) return s;
  auto lock = WriterLock::acquire(options.dir);
  if (!lock.ok()) return lock.status();
  return open(std::move(options), std::move(*lock));
}

absl::StatusOr<std::unique_ptr<Journal>> Journal::open(Options options, WriterLock lock) {
  if (auto s = validate(options); !s.ok()) return s;
  if (auto s = io::make_journal_directory(options.dir); !s.ok()) return s;
  if (!lock.held()) return absl::InvalidArgumentError("journal open: the writer lock is not held");
  auto recovered = recover_for_open(options.dir);
  if (!recovered.ok()) return recovered.status();

  const std::filesystem::path ring_path = options.dir / "ring";
  auto ring = MmapRing::open(ring_path, options.ring_bytes);
  if (!ring.ok()) return ring.status();
  std::unique_ptr<Journal> j(new Journal(std::move(options), std::move(*ring), std::move(lock)));
  j->flusher_ = std::make_unique<Flusher>(j->options_, j->ring_, recovered->next_segment_index,
                                          recovered->last_seq, recovered->last_wall_ns);
  Flusher& f = *j->flusher_;
  // Read before the drain publishes anything: what the last run had made durable.
  const std::uint64_t durable_before = j->ring_.durable_seq();

  // Drain what a crashed process committed to the ring but had not flushed.
  absl::Status drained = absl::OkStatus();
  std::uint64_t wall = 0;
  const std::uint64_t last_before_drain = f.last_seq();
  std::uint64_t first_drained = 0;  // the first seq the ring gave back above the segments
  // A record whose CRC fails becomes a gap record (Flusher::write_entry).
  for_each_ring_record(j->ring_, [&](const MmapRing::Entry& e) {
    if (!drained.ok() || (!e.damaged && e.seq <= f.last_seq())) return;
    if (wall == 0) wall = f.wall_now();
    if (first_drained == 0) first_drained = e.seq;
    drained = f.write_entry(e, wall, true);
  });
  if (recovered->tail_cut && first_drained > last_before_drain + 1) {
    // A torn tail was cut and the ring gave back only records after some of
    // what it held (the ring had already reused the space of the others):
    // those are lost, between the segments' end and the ring's first record.
    Loss l = *recovered->tail_cut;
    l.first_seq = last_before_drain + 1;
    l.last_seq = first_drained - 1;
    l.what += fmt::format("; seqs {}..{} were in it and are no longer in the ring", l.first_seq, l.last_seq);
    recovered->report.new_losses.push_back(std::move(l));
  }
  // Seqs the last run dropped after its last ring record, whose gap record it
  // could not write (storage failed until it closed): journaled now, as the gap
  // it owed. Only on intact history: with segments missing, `highest` below
  // carries them into the history check instead.
  const std::uint64_t dropped = j->ring_.dropped_seq();
  if (drained.ok() && dropped > f.last_seq() && f.last_seq() >= durable_before) {
    const GapPayload gap{f.last_seq() + 1, dropped, dropped - f.last_seq()};
    if (wall == 0) wall = f.wall_now();
    // Safety: GapPayload is trivially copyable; written as its bytes.
    drained = f.write(gap.first_missing, 0, wall, kTypeGap, std::as_bytes(std::span(&gap, 1)));
  }
  f.publish_stats();
  if (drained.ok()) drained = f.sync_now();
  if (drained.ok()) drained = f.finish();
  if (!drained.ok()) return drained;
  // Missing history refuses the open (unless acknowledged); the ring stays as it is.
  auto highest = settle_history(j->options_.dir, *recovered, std::max(durable_before, dropped), j->options_.feed,
                                j->options_.retention_age.count() != 0 || j->options_.retention_bytes != 0,
                                j->options_.acknowledge_missing_history);
  if (!highest.ok()) {
    j->closed_ = true;  // nothing to drain: the flusher never ran
    return highest.status();
  }
  j->recovery_ = std::move(recovered->report);
  if (recovered->manifest) f.keep_manifest(*recovered->manifest);

  if (j->ring_.capacity() != j->options_.ring_bytes || j->ring_.legacy()) {
    // Everything is in a segment now: replace the ring with one of the configured size and format.
    if (auto s = io::remove_file(ring_path); !s.ok()) return s;
    auto fresh = MmapRing::open(ring_path, j->options_.ring_bytes);
    if (!fresh.ok()) return fresh.status();
    j->ring_ = std::move(*fresh);
  } else {
    j->ring_.reset();
  }
  Producer& p = *j->producer_;
  j->ring_tail_->store(j->ring_.tail(), std::memory_order_relaxed);  // relaxed: a statistic (stats())
  // Never below anything issued before: segments, the ring's durable_seq, the manifest.
  p.last_seq = std::max(f.last_seq(), *highest);
  j->recovery_.next_seq = p.last_seq + 1;
  p.max_payload = std::min(j->ring_.max_payload(),
                           j->options_.segment_bytes - kSegmentHeaderSize - kEndRecordSize - kRecordHeaderSize);
  middleware::ThreadOptions placement;
  placement.cores = j->options_.flusher_cores.empty() ? middleware::CpuSet::any()
                                                      : middleware::CpuSet::of(j->options_.flusher_cores);
  placement.on_affinity_failure =
      j->options_.flusher_affinity_required ? middleware::OnFailure::kError : middleware::OnFailure::kWarn;
  if (auto s = f.prepare_next(); !s.ok()) {
    j->closed_ = true;  // nothing to drain: the flusher never ran
    return s;
  }
  if (auto started = j->threads_.start_thread("tw-flush", placement, [&f] { f.run(); }); !started.ok()) {
    f.stop_helper();
    j->closed_ = true;  // nothing to drain: the flusher never ran, the ring keeps what it holds
    return started;
  }
  // The flusher's helper, on the same cores: it prepares the next segment and syncs rolled-out ones.
  if (auto started = j->threads_.start_thread("tw-seg", placement, [&f] { f.run_helper(); }); !started.ok()) {
    (void)j->close();
    return started;
  }
  return j;
}

Journal::Journal(Options options, MmapRing ring, WriterLock lock)
    : options_(std::move(options)), lock_(std::move(lock)), ring_(std::move(ring)) {}

Journal::~Journal() {
  if (!closed_) (void)close();
}

bool Journal::drop(std::uint64_t seq) {
  Producer& p = *producer_;
  if (seq > p.last_seq) {
    if (!p.gap_pending) {
      p.gap = GapPayload{seq, seq, 0};
      p.gap_pending = true;
    }
    p.gap.last_missing = seq;
    ++p.gap.count;
    p.last_seq = seq;
    ring_.publish_dropped_seq(seq);  // issued: never again, even if the gap record is never written
  }
  ++p.dropped;
  // relaxed: a statistic read by stats(); single writer.
  dropped_->store(p.dropped, std::memory_order_relaxed);
  return false;
}

bool Journal::write_pending_gap(std::uint64_t mono_ns) {
  Producer& p = *producer_;
  // Safety: GapPayload is trivially copyable; written as its bytes.
  if (!ring_.try_write(p.gap.first_missing, mono_ns, kTypeGap, std::as_bytes(std::span(&p.gap, 1)))) return false;
  p.gap_pending = false;
  return true;
}

bool Journal::append(std::uint64_t seq, std::uint64_t mono_ns, std::uint16_t type,
                     std::span<const std::byte> payload) {
  Producer& p = *producer_;
  if (seq <= p.last_seq || type >= kReservedTypeBase || payload.size() > p.max_payload || flusher_->failed()) {
    return drop(seq);
  }
  for (;;) {
    if ((!p.gap_pending || write_pending_gap(mono_ns)) && ring_.try_write(seq, mono_ns, type, payload)) {
      p.last_seq = seq;
      ++p.appended;
      // relaxed: a statistic read by stats(); single writer.
      appended_->store(p.appended, std::memory_order_relaxed);
      ring_tail_->store(ring_.tail(), std::memory_order_relaxed);  // relaxed: as above
      return true;
    }
    if (options_.full_policy == FullPolicy::kDrop || !wait_for_space(payload.size())) return drop(seq);
  }
}

bool Journal::wait_for_space(std::size_t payload_bytes) {
  // Twice the record's ring footprint always fits it, padding at the wrap included.
  const std::size_t resume = std::max(ring_.capacity() / kResumeFreeDivisor,
                                      2 * align_record(kRingRecordHeaderSize + payload_bytes));
  for (int polls = 0; ring_.free_bytes() < resume; ++polls) {
    if (flusher_->failed()) return false;
    if (polls < kFullSpins) {
      middleware::cpu_relax();
    } else if (!flusher_->storage_failing()) {
      std::this_thread::sleep_for(kFullSleep);
    } else {
      // acquire: pairs with the release in stop_waiting(); nothing else is read through it.
      if (stop_waiting_.load(std::memory_order_acquire)) return false;
      // Storage fails: the flusher retries with a backoff of 1 ms and more; so does this.
      std::this_thread::sleep_for(kStorageWaitSleep);
    }
  }
  return true;
}

void Journal::stop_waiting() {
  // release: pairs with the acquire in wait_for_space().
  stop_waiting_.store(true, std::memory_order_release);
}

absl::Status Journal::close() {
  if (closed_) return flusher_->status();
  closed_ = true;
  Producer& p = *producer_;
  // The pending gap needs room in the ring; while storage fails there may be
  // none for ever: the flusher then fails closed below, and the gap is not written.
  while (p.gap_pending && !flusher_->failed() && !flusher_->storage_failing() && !write_pending_gap(0)) {
    middleware::cpu_relax();
  }
  flusher_->stop();
  threads_.join();
  lock_ = WriterLock{};  // no longer written: another writer, or `recover`, may open it
  return flusher_->status();
}

Stats Journal::stats() const {
  // relaxed: statistics, each a single writer's running count (the tail may
  // trail the head by a gap record written since the last append: clamped).
  const std::uint64_t tail = ring_tail_->load(std::memory_order_relaxed);
  const std::uint64_t head = ring_.head();
  return Stats{appended_->load(std::memory_order_relaxed),
               dropped_->load(std::memory_order_relaxed),
               flusher_->flushed_records(),
               flusher_->segment_bytes(),
               flusher_->durable_seq(),
               flusher_->segments(),
               flusher_->storage_errors(),
               flusher_->ring_damaged(),
               flusher_->storage_failing(),
               tail > head ? tail - head : 0,
               ring_.capacity()};
}

absl::Status Journal::storage_error() const { return flusher_->storage_error(); }

std::uint64_t Journal::durable_seq() const { return flusher_->durable_seq(); }

absl::Status Journal::status() const { return flusher_->status(); }

}  // namespace tickwire::journal
