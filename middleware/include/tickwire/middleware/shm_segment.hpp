// ShmSegment: the file behind SharedMemoryTransport (normally under /dev/shm):
// a one-page header, then a BroadcastRing span. One writer process holds an
// exclusive flock on it and formats a new epoch on every start; readers map
// it, validate the header and park on a futex word in it. Mapping costs one
// mmap of header + ring; publishing costs the ring record plus one store here.
//
// Header (8-byte words, offsets in bytes):
//   0 magic "TWSHMTP1"   8 version      16 capacity (ring data bytes)
//   24 epoch (last assigned)            32 ready (= epoch once formatted, 0 while formatting)
//   40 writer pid        48 last sequence (the writer's, stored before each record)
//   64 notify:u32 | waiters:u32 (the cross-process EventCount, its own cache line)
//   4096 ring: [ data: capacity bytes ][ BroadcastLayout trailer ]
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "tickwire/middleware/broadcast_ring.hpp"

namespace tickwire::middleware {

struct ShmLayout {
  static constexpr std::uint64_t kMagic = 0x3150'544D'4853'5754ULL;  // "TWSHMTP1" little-endian
  static constexpr std::uint64_t kVersion = 1;
  static constexpr std::size_t kHeaderBytes = 4096;
  static constexpr std::size_t kMagicOffset = 0;
  static constexpr std::size_t kVersionOffset = 8;
  static constexpr std::size_t kCapacityOffset = 16;
  static constexpr std::size_t kEpochOffset = 24;
  static constexpr std::size_t kReadyOffset = 32;
  static constexpr std::size_t kWriterPidOffset = 40;
  static constexpr std::size_t kLastSequenceOffset = 48;
  static constexpr std::size_t kNotifyOffset = 64;
  static constexpr std::size_t kWaitersOffset = 68;

  // file_bytes: the file size for a ring of `capacity` data bytes.
  static constexpr std::size_t file_bytes(std::size_t capacity) {
    return kHeaderBytes + BroadcastLayout::required_bytes(capacity);
  }
};

// ShmSegment: one mapping of the file. Movable only through shared_ptr:
// readers keep the mapping alive while they point into it.
class ShmSegment {
 public:
  struct WriterOptions {
    std::size_t capacity;  // ring data bytes, a power of two
    mode_t mode;           // permissions of a file this call creates
  };

  // open_writer: creates `path` (O_CREAT, then fchmod to mode) or re-opens it,
  // takes the writer lock, and formats a new epoch: epoch + 1 and the last
  // sequence carried over from a valid file of the same capacity. A valid file
  // of another capacity is retired (readers see a new epoch) and replaced. A
  // non-empty file that is not a transport file is an error, never overwritten.
  static absl::StatusOr<std::shared_ptr<ShmSegment>> open_writer(const std::string& path, WriterOptions options);
  // open_reader: maps an existing file and validates its header; a missing,
  // truncated or foreign file is an error naming the path. Opens read-write
  // when permitted (to park on the futex), read-only otherwise.
  static absl::StatusOr<std::shared_ptr<ShmSegment>> open_reader(const std::string& path);

  ~ShmSegment();
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  std::span<std::byte> ring() const noexcept { return ring_; }
  std::size_t capacity() const noexcept { return capacity_; }
  const std::string& path() const noexcept { return path_; }
  bool writable() const noexcept { return writable_; }
  // writer: the ring's writer, in a segment from open_writer() (nullptr otherwise).
  BroadcastWriter* writer() noexcept { return writer_ ? &*writer_ : nullptr; }
  // same_file: whether `path` still names the file this segment maps.
  bool same_file() const noexcept;

  // ready_epoch: the epoch readers may attach to, 0 while the writer formats.
  std::uint64_t ready_epoch() const noexcept;
  std::uint64_t writer_pid() const noexcept;
  // last_sequence / store_last_sequence: the writer's sequence, stored before each record.
  std::uint64_t last_sequence() const noexcept;
  void store_last_sequence(std::uint64_t sequence) noexcept;

  // The cross-process EventCount (see parking.hpp for the handshake).
  std::uint32_t prepare_wait() noexcept;
  void cancel_wait() noexcept;
  void wait(std::uint32_t key, std::chrono::steady_clock::time_point deadline) noexcept;
  // notify: the writer, after each record; a fence and a load when nobody is parked.
  void notify() noexcept;
  // wake_all: wakes every parked reader (writer restarts, unsubscribes).
  void wake_all() noexcept;

 private:
  ShmSegment() = default;
  static absl::StatusOr<std::shared_ptr<ShmSegment>> map(const std::string& path, int fd, bool writable,
                                                         std::size_t size);
  absl::Status validate() const;
  void format(std::uint64_t epoch, std::uint64_t last_sequence);
  // prefault: one access per page of a validated mapping, so no publish
  // (write) or read on the hot path is the first touch of a page.
  void prefault(bool write) noexcept;
  // reserve_and_prefault: the writer's, after format(): posix_fallocate of
  // the whole file, then prefault(true).
  absl::Status reserve_and_prefault();

  std::string path_;
  int fd_ = -1;
  bool writable_ = false;
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::span<std::byte> ring_;
  std::optional<BroadcastWriter> writer_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace tickwire::middleware
