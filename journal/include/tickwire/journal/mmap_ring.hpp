// MmapRing: the single-producer single-consumer ring of variable-length
// records that lives in a file (`DIR/ring`), so what a dead process committed
// is still there for the next one. Producer: the feed thread (try_write).
// Consumer: the flusher (read_at, then release). A write costs two memcpys and
// one release store; the producer touches the consumer's line only when its
// cached view of the free space runs out.
//
// Layout: a 4096-byte header page (magic, capacity, the consumer position
// `head` on its own cache line, the last durable seq, the highest dropped
// seq, each on its own line), then `capacity` bytes
// of records. Each record starts with a 64-bit commit word
// `lap << 32 | flags_and_length`, written last with release semantics
// (Aeron's order: reserve, write, publish). `lap` is the record's position
// divided by the capacity, so a word left from an earlier lap never looks
// committed and the consumer never has to zero what it read. Then the
// record's CRC32C (over its length word and every byte after the CRC), type,
// seq, mono_ns and payload: a record changed in the ring (a stray write, a
// bad page, an edited file) is read as damaged, never as true.
#pragma once

#include <absl/status/statusor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "tickwire/journal/io.hpp"
#include "tickwire/middleware/cache_padded.hpp"

namespace tickwire::journal {

inline constexpr std::size_t kRingHeaderSize = 4096;
inline constexpr std::size_t kRingRecordHeaderSize = 32;  // commit, crc, type, reserved, seq, mono_ns

class MmapRing {
 public:
  // A committed record as the consumer sees it; payload points into the ring.
  struct Entry {
    std::uint64_t seq;
    std::uint64_t mono_ns;
    std::uint16_t type;
    bool padding;  // the filler at the end of the buffer: skip to `next`
    std::span<const std::byte> payload;
    std::uint64_t next;  // position of the following record
    std::uint64_t position;  // where this record starts
    // damaged: the CRC does not match; no field may be trusted (seq, type and
    // payload included, and `next` if the length was hit).
    bool damaged = false;
  };

  // open: maps `path`, creating it with `capacity` bytes (a power of two,
  // >= 4096) if absent. An existing ring keeps its own capacity. A ring of
  // the previous format (`TWJRING1`, no checksums) opens as legacy(): it can
  // be drained (by its own rules, unchecked) but not written.
  static absl::StatusOr<MmapRing> open(const std::filesystem::path& path, std::size_t capacity);
  // legacy: the ring is of format 1 (records without a CRC); try_write refuses it.
  bool legacy() const { return legacy_; }

  MmapRing(MmapRing&&) noexcept = default;
  MmapRing& operator=(MmapRing&&) noexcept = default;

  std::size_t capacity() const { return capacity_; }
  const std::filesystem::path& path() const { return file_.path(); }

  // max_payload: the largest payload try_write can ever accept.
  std::size_t max_payload() const { return capacity_ / 2 - kRingRecordHeaderSize; }

  // try_write: producer only. Copies and commits a record with its CRC32C;
  // false if the ring lacks space now (or the payload exceeds max_payload(),
  // or the ring is legacy()).
  bool try_write(std::uint64_t seq, std::uint64_t mono_ns, std::uint16_t type, std::span<const std::byte> payload);

  // free_bytes: producer only. Bytes the consumer has released ahead of the
  // producer now (reads the consumer's line).
  std::size_t free_bytes();

  // read_at: consumer only. The record committed at `position`, or nullopt if
  // none is (yet). Also used on recovery, where it stops at the first
  // position that was never committed. Checks the CRC (Entry::damaged).
  std::optional<Entry> read_at(std::uint64_t position) const;

  // tail: producer only. The producer position (first byte not yet written).
  std::uint64_t tail() const { return producer_->tail; }
  // head: the consumer position (first byte not yet released).
  std::uint64_t head() const;
  // release: consumer only. Everything before `position` may be overwritten.
  void release(std::uint64_t position);

  // reset: empties the ring (zeroes it, head = producer position = 0). Only
  // when neither side runs, after recovery has drained it.
  void reset();
  // set_producer_position: where the next try_write goes (after a drain).
  void set_producer_position(std::uint64_t position);

  // The last durable seq, kept in the file for `tickwire inspect`.
  void publish_durable_seq(std::uint64_t seq);
  std::uint64_t durable_seq() const;
  // The highest seq the producer dropped (0: none since the ring was made):
  // kept in the file because a dropped seq was issued, and must never be
  // issued again, even when the gap record for it could not be written
  // (storage failing at close). Producer only; read by the next open.
  void publish_dropped_seq(std::uint64_t seq);
  std::uint64_t dropped_seq() const;

 private:
  MmapRing() = default;
  std::uint64_t* head_word() const;
  std::uint64_t* durable_word() const;
  std::uint64_t* dropped_word() const;
  std::byte* data() const { return map_.data() + kRingHeaderSize; }

  io::File file_;
  io::Mapping map_;
  std::size_t capacity_ = 0;
  std::size_t mask_ = 0;
  unsigned shift_ = 0;
  bool legacy_ = false;
  // Producer-only state, on its own line so the consumer's reads of the
  // mapping never share it.
  struct Producer {
    std::uint64_t tail = 0;        // next write position
    std::uint64_t head_cache = 0;  // last head seen; refreshed only when space seems short
  };
  middleware::CachePadded<Producer> producer_;
};

// read_ring_durable_seq: the durable seq kept in a ring file, read with pread
// (no mapping, no write): safe while the journal that owns the ring runs.
absl::StatusOr<std::uint64_t> read_ring_durable_seq(const std::filesystem::path& path);

// next_intact_record: the first committed record with a matching CRC in
// (position, head + capacity), tried at every 8-byte boundary: where reading
// resumes after a damaged record whose length (and so `next`) cannot be
// trusted. nullopt if there is none. Recovery only (it reads stale bytes).
std::optional<MmapRing::Entry> next_intact_record(const MmapRing& ring, std::uint64_t position);

// for_each_ring_record: calls f(entry) for every record committed from the
// head on, padding skipped; what recovery drains. A damaged record is passed
// on (Entry::damaged) and reading goes on after it: at its `next` if a record
// is committed there, else at next_intact_record(). Total over any file content.
template <typename F>
void for_each_ring_record(const MmapRing& ring, F&& f) {
  const std::uint64_t head = ring.head();
  std::uint64_t pos = head;
  while (pos - head < ring.capacity()) {
    auto e = ring.read_at(pos);
    if (!e) return;
    if (!e->padding) f(*e);
    if (e->damaged && !ring.read_at(e->next)) {
      auto resumed = next_intact_record(ring, pos);
      if (!resumed) return;
      pos = resumed->position;
      continue;
    }
    pos = e->next;
  }
}

}  // namespace tickwire::journal
