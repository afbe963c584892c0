// BroadcastRing: one writer, many independent readers over a caller-provided
// byte span (the LMAX/Aeron broadcast model). The writer never waits; each
// reader owns its cursor, copies a record out, then validates it, and when
// lapped counts the loss and resumes at the oldest intact record. Per record:
// header + payload stored once as 8-byte words, three counter stores.
//
// The span holds only positions and bytes (no pointers, nothing per process),
// so it can live in a shared-memory file mapped at different addresses:
//   [ data: capacity bytes, a power of two ][ trailer: kTrailerBytes ]
// Positions are absolute byte counts since the writer formatted the span.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::middleware {

// The layout shared by writer and readers.
struct BroadcastLayout {
  static constexpr std::uint64_t kMagic = 0x5457'4243'5354'0001ULL;  // "TWBCST" v1
  static constexpr std::size_t kMinCapacity = 1024;
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 32;
  static constexpr std::size_t kAlignment = 8;          // records start on 8-byte boundaries
  static constexpr std::size_t kRecordHeaderBytes = 16; // [length:u32 | type:u32][seq:u64]
  static constexpr std::size_t kCheckpoints = 32;       // resync points per lap, see trailer
  static constexpr std::uint32_t kPaddingType = 0xFFFF'FFFFU;

  // Trailer offsets (bytes from the trailer start), one concern per cache line.
  static constexpr std::size_t kTailIntentOffset = 0;   // writer: end of the record being written
  static constexpr std::size_t kTailOffset = 8;         // writer: end of the last complete record
  static constexpr std::size_t kLatestOffset = 16;      // writer: start of the last complete record
  static constexpr std::size_t kMagicOffset = kCacheLineSize;
  static constexpr std::size_t kCapacityOffset = kCacheLineSize + 8;
  static constexpr std::size_t kEpochOffset = kCacheLineSize + 16;
  // checkpoint[b % kCheckpoints] = start of the first record that starts in
  // block b (blocks are capacity / kCheckpoints bytes).
  static constexpr std::size_t kCheckpointOffset = 2 * kCacheLineSize;
  static constexpr std::size_t kTrailerBytes = kCheckpointOffset + kCheckpoints * 8;

  // required_bytes: the span size for a data capacity.
  static constexpr std::size_t required_bytes(std::size_t capacity) { return capacity + kTrailerBytes; }
  // max_payload: the largest payload; an eighth of the capacity, so that a
  // reader has room to copy out a record before the writer comes round.
  static constexpr std::size_t max_payload(std::size_t capacity) { return capacity / 8 - kRecordHeaderBytes; }
};

namespace detail {

// Word access to the shared span. All shared state is 8-byte words accessed
// through std::atomic_ref, so concurrent (and cross-process) access to the same
// word is never a data race; a torn record is detected, not read as UB.
class SharedWords {
 public:
  SharedWords() = default;
  explicit SharedWords(std::byte* base) noexcept : base_(base) {}

  std::atomic_ref<std::uint64_t> at(std::size_t offset) const noexcept {
    // Safety: callers pass 8-aligned offsets inside the span, whose base is
    // checked to be cache-line aligned at create()/attach(); uint64_t is an
    // implicit-lifetime type, so the mapped bytes hold such objects.
    return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(base_ + offset));
  }

 private:
  std::byte* base_ = nullptr;
};
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "cross-process words must be lock-free");

}  // namespace detail

// BroadcastWriter: formats the span and publishes records. One thread (and
// one process) writes; publishing never waits for readers.
class BroadcastWriter {
 public:
  // create: formats `memory` (size BroadcastLayout::required_bytes(capacity),
  // 64-byte aligned) and publishes `epoch`; readers of an earlier format see
  // the epoch change and stop delivering from it.
  static absl::StatusOr<BroadcastWriter> create(std::span<std::byte> memory, std::uint64_t epoch);

  // publish: appends one record; false (and nothing written) if the payload
  // exceeds max_payload() or type is BroadcastLayout::kPaddingType.
  bool publish(std::uint32_t type, std::span<const std::byte> payload) noexcept;

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t max_payload() const noexcept { return BroadcastLayout::max_payload(capacity_); }
  std::uint64_t epoch() const noexcept { return epoch_; }
  std::uint64_t records_published() const noexcept { return next_seq_; }
  std::uint64_t position() const noexcept { return tail_; }

 private:
  BroadcastWriter() = default;
  void store_word(std::size_t offset, std::uint64_t value) noexcept {
    // release: pairs with the readers' acquire word loads; carries the
    // tail-intent store before it to any reader that sees this word.
    data_.at(offset).store(value, std::memory_order_release);
  }
  void checkpoint(std::uint64_t position) noexcept;

  detail::SharedWords data_;
  detail::SharedWords trailer_;
  std::size_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  unsigned block_shift_ = 0;
  std::uint64_t epoch_ = 0;
  std::uint64_t tail_ = 0;         // writer-local copy of the tail counter
  std::uint64_t next_seq_ = 0;
  std::uint64_t last_block_ = UINT64_MAX;
};

struct BroadcastReaderOptions {
  double pressure_threshold = 0.8;  // under_pressure() at or above this backlog
  double throttle_threshold = 0.9;  // should_throttle() at or above this backlog
  bool start_at_oldest = false;     // start at the oldest intact record, not at the tail
};

enum class ReadStatus {
  kRecord,           // a record was copied out
  kEmpty,            // nothing new
  kBufferTooSmall,   // `length` is the payload size needed; nothing consumed
  kWriterRestarted,  // the span was re-formatted (new epoch); re-attach
};

struct ReadResult {
  ReadStatus status;
  std::uint32_t type = 0;
  std::uint32_t length = 0;  // payload bytes
  std::uint64_t seq = 0;     // the writer's record number (from 0 per epoch)
};

// BroadcastReader: one thread's cursor over a formatted span. Starts at the
// writer's tail (records published after attach) unless start_at_oldest.
class BroadcastReader {
 public:
  static absl::StatusOr<BroadcastReader> attach(std::span<std::byte> memory,
                                                BroadcastReaderOptions options = {});

  // try_read: copies the next record's payload into `out`, validated against
  // the writer having overtaken it while copying.
  ReadResult try_read(std::span<std::byte> out) noexcept;

  // poll: delivers up to `limit` records to handler(type, payload, seq) from
  // an internal buffer sized at attach; returns how many were delivered.
  template <typename Handler>
  int poll(Handler&& handler, int limit = 64) {
    int n = 0;
    while (n < limit) {
      const ReadResult r = try_read(scratch_);
      if (r.status != ReadStatus::kRecord) break;
      handler(r.type, std::span<const std::byte>(scratch_.data(), r.length), r.seq);
      ++n;
    }
    return n;
  }

  // backpressure: how far behind the writer this reader is, as a fraction of
  // the capacity (0.0 caught up, 1.0 about to be lapped).
  double backpressure() const noexcept;
  bool under_pressure() const noexcept { return backpressure() >= options_.pressure_threshold; }
  bool should_throttle() const noexcept { return backpressure() >= options_.throttle_threshold; }

  std::uint64_t lapped_count() const noexcept { return lapped_count_; }  // resyncs after being overtaken
  std::uint64_t lost_records() const noexcept { return lost_records_; }  // from gaps in seq
  std::uint64_t lost_bytes() const noexcept { return lost_bytes_; }      // skipped by resyncs
  std::uint64_t position() const noexcept { return next_; }
  std::uint64_t epoch() const noexcept { return epoch_; }  // the epoch attached to
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  BroadcastReader() = default;
  std::uint64_t load_word(std::size_t offset) const noexcept {
    // acquire: pairs with the writer's release word stores (store_word).
    return data_.at(offset).load(std::memory_order_acquire);
  }
  bool intact(std::uint64_t position) const noexcept;
  void copy_out(std::size_t offset, std::byte* out, std::size_t length) const noexcept;
  std::uint64_t oldest_intact_record() const noexcept;
  void resync() noexcept;

  detail::SharedWords data_;
  detail::SharedWords trailer_;
  std::size_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  unsigned block_shift_ = 0;
  std::uint64_t epoch_ = 0;
  BroadcastReaderOptions options_;
  std::uint64_t next_ = 0;
  std::uint64_t expected_seq_ = 0;
  bool have_expected_seq_ = false;
  std::uint64_t lapped_count_ = 0;
  std::uint64_t lost_records_ = 0;
  std::uint64_t lost_bytes_ = 0;
  std::vector<std::byte> scratch_;
};

}  // namespace tickwire::middleware
