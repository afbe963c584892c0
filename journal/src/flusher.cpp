#include "flusher.hpp"

#include <fcntl.h>

#include <array>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <thread>

#include "tickwire/journal/io.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {
namespace {

constexpr std::uint64_t kNsPerDay = 86'400'000'000'000ull;
constexpr int kIdleSpins = 64;
// Retries of a batch that storage refused (a full disk) wait this long, doubling up to the cap.
constexpr auto kFirstBackoff = std::chrono::milliseconds(1);
constexpr auto kMaxBackoff = std::chrono::milliseconds(100);

}  // namespace

Flusher::Flusher(const Options& options, MmapRing& ring, std::uint64_t next_segment_index, std::uint64_t last_seq,
                 std::uint64_t last_wall_ns)
    : options_(options),
      ring_(ring),
      preparer_(options.dir, options.index_interval, options.segment_bytes),
      next_segment_index_(next_segment_index),
      last_seq_(last_seq),
      last_wall_ns_(last_wall_ns),
      synced_seq_(last_seq),
      last_sync_(std::chrono::steady_clock::now()) {
  if (options_.profiler != nullptr) flush_stage_ = options_.profiler->stage("flush");
  // relaxed: the thread that reads these is started after construction.
  durable_seq_->store(last_seq, std::memory_order_relaxed);
}

void Flusher::absorb_retired() {
  const std::uint64_t synced = preparer_.durable_seq();
  if (synced > synced_seq_) {
    synced_seq_ = synced;
    publish_durable(synced);
  }
}

std::uint64_t Flusher::wall_now() {
  std::uint64_t now = 0;
  if (options_.wall_clock) {
    now = options_.wall_clock();
  } else {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    now = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
  }
  last_wall_ns_ = std::max(last_wall_ns_, now);
  return last_wall_ns_;
}

absl::Status Flusher::roll(std::uint64_t seq, std::uint64_t wall_ns) {
  if (segment_) {
    // The old segment's syncs run on the helper; absorb_retired() publishes them.
    // If its index cannot be written (a full disk), the writer stays, with its
    // end record, and the next try retires it again.
    auto retired = segment_->retire(EndReason::kRoll, wall_ns);
    if (!retired.ok()) return retired.status();
    segment_.reset();
    if (auto s = preparer_.retire(std::move(*retired)); !s.ok()) return s;
    absorb_retired();
  }
  auto spare = preparer_.take(next_segment_index_);
  if (!spare.ok()) return spare.status();
  SegmentHeader h = make_segment_header(next_segment_index_, seq, wall_ns, options_.feed);
  h.schema_id = options_.schema_id;
  h.tsc_anchor = options_.clock.tsc_anchor;
  h.mono_anchor_ns = options_.clock.mono_anchor_ns;
  h.wall_anchor_ns = options_.clock.wall_anchor_ns;
  h.ns_per_tick = options_.clock.ns_per_tick;
  h.index_interval = options_.index_interval;
  auto w = SegmentWriter::create(options_.dir, h, std::move(*spare), preparer_.leftovers());
  if (!w.ok()) return w.status();
  ++next_segment_index_;
  segment_.emplace(std::move(*w));
  segment_day_ = wall_ns / kNsPerDay;
  day_changed_ = false;
  // relaxed: a statistic; single writer.
  segments_->store(segments_->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return apply_retention();
}

namespace {

// segment_created_wall_ns: the creation time in a segment's header, read with pread.
absl::StatusOr<std::uint64_t> segment_created_wall_ns(const std::filesystem::path& segment) {
  auto file = io::open_file(segment, O_RDONLY);
  if (!file.ok()) return file.status();
  std::array<std::byte, kSegmentHeaderSize> image{};
  auto got = file->read_at(0, image);
  if (!got.ok()) return got.status();
  auto header = decode_segment_header(std::span<const std::byte>(image.data(), *got));
  if (!header.ok()) return header.status();
  return header->created_wall_ns;
}

}  // namespace

absl::Status Flusher::apply_retention() {
  if (options_.retention_age.count() == 0 && options_.retention_bytes == 0) return absl::OkStatus();
  auto segs = list_segments(options_.dir);
  if (!segs.ok()) return segs.status();
  std::uint64_t total = 0;
  std::vector<std::pair<SegmentFile, std::uint64_t>> sized;
  for (const auto& s : *segs) {
    std::error_code ec;
    auto bytes = std::filesystem::file_size(s.path, ec);
    if (ec) continue;
    total += bytes;
    sized.emplace_back(s, bytes);
  }
  const auto age_limit_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.retention_age).count());
  for (const auto& [seg, bytes] : sized) {
    if (seg.path == segment_->path()) break;  // never the one being written, nor anything after it
    bool too_big = options_.retention_bytes != 0 && total > options_.retention_bytes;
    bool too_old = false;
    if (age_limit_ns != 0) {
      // Only the header is read (pread): the helper may be truncating a retired
      // segment right now, and a mapping of it would fault past its new end.
      auto created = segment_created_wall_ns(seg.path);
      too_old = created.ok() && *created + age_limit_ns < last_wall_ns_;
    }
    if (!too_big && !too_old) break;
    if (auto s = io::remove_file(index_path(seg.path)); !s.ok()) return s;
    if (auto s = io::remove_file(seg.path); !s.ok()) return s;
    total -= bytes;
  }
  return absl::OkStatus();
}

absl::Status Flusher::write(std::uint64_t seq, std::uint64_t mono_ns, std::uint64_t wall_ns, std::uint16_t type,
                            std::span<const std::byte> payload) {
  // Wall stamps are per batch: the day check divides once per new stamp, not per record.
  if (wall_ns != day_checked_wall_) {
    day_checked_wall_ = wall_ns;
    day_changed_ = options_.roll_daily_utc && wall_ns / kNsPerDay != segment_day_;
  }
  const bool new_day = day_changed_;
  if (!segment_ || segment_->ended() || !segment_->fits(payload.size()) || new_day) {
    if (auto s = roll(seq, wall_ns); !s.ok()) return s;
  }
  const std::size_t before = segment_->size();
  segment_->append(seq, mono_ns, wall_ns, type, payload);
  last_seq_ = std::max(last_seq_, segment_->last_seq());
  ++pending_records_;
  pending_bytes_ += segment_->size() - before;
  return absl::OkStatus();
}

absl::Status Flusher::write_entry(const MmapRing::Entry& e, std::uint64_t wall_ns, bool recovering) {
  if (!e.damaged) return write(e.seq, e.mono_ns, wall_ns, e.type, e.payload);
  // relaxed: a statistic.
  ring_damaged_->fetch_add(1, std::memory_order_relaxed);
  auto next = ring_.read_at(e.next);
  if (next && next->padding) next = ring_.read_at(next->next);
  if (recovering && (!next || next->damaged)) next = next_intact_record(ring_, e.position);
  const std::uint64_t first = last_seq_ + 1;
  std::uint64_t last = 0;
  if (next && !next->padding && !next->damaged) {
    // Below first when the next record was journaled already: nothing is missing.
    last = next->seq == 0 ? 0 : next->seq - 1;
  } else {
    last = e.seq >= first ? e.seq : first;
  }
  if (last < first) return absl::OkStatus();
  const GapPayload gap{first, last, 1};
  // Safety: GapPayload is trivially copyable; written as its bytes.
  return write(first, 0, wall_ns, kTypeGap, std::as_bytes(std::span(&gap, 1)));
}

void Flusher::publish_stats() {
  // relaxed: statistics; single writer, published once per batch.
  flushed_records_->store(flushed_records_->load(std::memory_order_relaxed) + pending_records_,
                          std::memory_order_relaxed);
  segment_bytes_->store(segment_bytes_->load(std::memory_order_relaxed) + pending_bytes_, std::memory_order_relaxed);
  pending_records_ = 0;
  pending_bytes_ = 0;
}

absl::Status Flusher::sync_now() {
  if (!segment_ || last_seq_ == synced_seq_) return absl::OkStatus();
  const std::uint64_t covered = last_seq_;
  // Earlier segments first: durable_seq covers them too.
  if (auto s = preparer_.wait_retired(); !s.ok()) return s;
  if (auto s = segment_->sync(); !s.ok()) {
    sync_failed_ = true;
    return s;
  }
  synced_seq_ = covered;
  last_sync_ = std::chrono::steady_clock::now();
  publish_durable(covered);
  return absl::OkStatus();
}

void Flusher::publish_durable(std::uint64_t seq) {
  // release: pairs with the acquire in durable_seq(); the sync is done.
  durable_seq_->store(seq, std::memory_order_release);
  ring_.publish_durable_seq(seq);
}

absl::StatusOr<std::size_t> Flusher::flush_batch() {
  // Index entries a failed batch could not write go first: while storage
  // fails, nothing more is taken from the ring.
  if (segment_) {
    if (auto s = segment_->flush_index(); !s.ok()) return s;
  }
  std::uint64_t pos = ring_.head();
  std::size_t n = 0;
  std::uint64_t wall = 0;
  auto batch_start = std::chrono::steady_clock::time_point{};
  while (n < options_.batch_records) {
    auto e = ring_.read_at(pos);
    if (!e) {
      if (n == 0 || options_.batch_time.count() == 0 ||
          std::chrono::steady_clock::now() - batch_start >= options_.batch_time) {
        break;
      }
      std::this_thread::yield();
      continue;
    }
    if (!e->padding) {
      if (n == 0) {
        wall = wall_now();
        batch_start = std::chrono::steady_clock::now();
      }
      if (auto s = write_entry(*e, wall, false); !s.ok()) {
        // The records before this one are in a segment: the ring lets them go,
        // and a retry starts at this one.
        if (pos != ring_.head()) ring_.release(pos);
        publish_stats();
        return s;
      }
      ++n;
    }
    pos = e->next;
  }
  if (pos != ring_.head()) ring_.release(pos);
  if (n == 0) return n;
  publish_stats();
  if (auto s = segment_->flush_index(); !s.ok()) return s;
  if (options_.fsync == FsyncPolicy::kBatch) {
    if (auto s = sync_now(); !s.ok()) return s;
  }
  return n;
}

void Flusher::run() {
  if (options_.profiler != nullptr) options_.profiler->register_thread();
  run_batches();
  // The helper's error (a spare it could not make, a segment it could not sync) fails the journal too.
  if (auto s = preparer_.stop(); !s.ok()) fail(s);
}

void Flusher::run_batches() {
  int idle = 0;
  for (;;) {
    absorb_retired();
    // acquire: pairs with the release in stop(); every record the producer
    // committed before stopping is visible to the drain below.
    const bool stopping = stop_->load(std::memory_order_acquire);
    const std::uint64_t t_batch = middleware::TscClock::now_ticks();
    auto n = flush_batch();
    if (!n.ok()) {
      if (stopping || !retryable(n.status())) {
        fail(n.status());
        return;
      }
      note_storage_error(n.status());
      std::this_thread::sleep_for(backoff_);
      backoff_ = std::min(2 * backoff_, kMaxBackoff);
      continue;
    }
    if (*n > 0 && storage_failing()) note_storage_ok();
    if (options_.fsync == FsyncPolicy::kInterval &&
        std::chrono::steady_clock::now() - last_sync_ >= options_.fsync_interval) {
      if (auto s = sync_now(); !s.ok()) {
        fail(s);
        return;
      }
    }
    if (*n > 0) {
      if (options_.profiler != nullptr) {
        const std::uint64_t t_done = middleware::TscClock::now_ticks();
        options_.profiler->record(flush_stage_, t_done > t_batch ? t_done - t_batch : 0);
      }
      idle = 0;
      continue;
    }
    if (stopping) break;
    if (++idle < kIdleSpins) {
      middleware::cpu_relax();
    } else {
      std::this_thread::sleep_for(std::max(options_.batch_time, std::chrono::microseconds(20)));
    }
  }
  if (auto s = finish(); !s.ok()) fail(s);
}

absl::Status Flusher::finish() {
  if (auto s = preparer_.wait_retired(); !s.ok()) return s;
  absorb_retired();
  if (!segment_) return absl::OkStatus();
  const std::uint64_t covered = segment_->last_seq();
  absl::Status s = segment_->finish(EndReason::kClose, wall_now());
  segment_.reset();
  if (!s.ok()) return s;
  synced_seq_ = std::max(synced_seq_, covered);
  publish_durable(synced_seq_);
  return absl::OkStatus();
}

void Flusher::stop() {
  // release: pairs with the acquire in run().
  stop_->store(true, std::memory_order_release);
}

void Flusher::fail(absl::Status status) {
  bool first = false;
  {
    std::lock_guard lock(status_mutex_);
    if (status_.ok()) {
      status_ = status;
      first = true;
    }
  }
  // relaxed: a statistic.
  storage_errors_->fetch_add(1, std::memory_order_relaxed);
  segment_.reset();
  // release: pairs with the acquire in failed(); status_ is set.
  failed_->store(true, std::memory_order_release);
  if (first) report(status);
}

absl::Status Flusher::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

absl::Status Flusher::storage_error() const {
  std::lock_guard lock(status_mutex_);
  return storage_error_;
}

bool Flusher::retryable(const absl::Status& s) const {
  return s.code() == absl::StatusCode::kResourceExhausted && !sync_failed_ && preparer_.error().ok();
}

void Flusher::note_storage_error(const absl::Status& s) {
  // relaxed: a statistic.
  storage_errors_->fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(status_mutex_);
    storage_error_ = s;
  }
  if (storage_failing()) return;
  backoff_ = kFirstBackoff;
  // release: pairs with the acquire in storage_failing(); storage_error_ is set.
  storage_failing_->store(true, std::memory_order_release);
  report(s);
}

void Flusher::note_storage_ok() {
  {
    std::lock_guard lock(status_mutex_);
    storage_error_ = absl::OkStatus();
  }
  // release: pairs with the acquire in storage_failing().
  storage_failing_->store(false, std::memory_order_release);
  report(absl::OkStatus());
}

void Flusher::report(const absl::Status& s) const {
  if (options_.on_storage_event) options_.on_storage_event(s);
}

}  // namespace tickwire::journal
