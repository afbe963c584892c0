// SegmentWriter: appends records to one segment file, owned by the flusher.
// The file is made ahead of its roll as a SpareSegment (temporary name, blocks
// reserved with fallocate, empty index beside it, mapped); the roll writes
// the header, renames both into place and fsyncs the directory.
// The writer touches pages ahead of itself so appends do not fault. Each
// record's length word is stored last with release semantics, so a tailer in
// another process never takes a half-written record for a whole one.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <span>
#include <vector>

#include "tickwire/journal/io.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {

// Room always kept for the end-of-segment record.
inline constexpr std::size_t kEndRecordSize = align_record(kRecordHeaderSize + sizeof(EndPayload));

// SpareSegment: a segment file prepared before it is needed (what is slow
// about a roll: fallocate, the index file and its sync, mapping).
// Only its temporary names exist; SegmentWriter::create makes it a segment.
struct SpareSegment {
  io::File file;                    // `dir/.spare-<index>.seg.tmp`, `capacity` bytes reserved
  io::Mapping map;                  // all of it, read-write
  std::filesystem::path index_tmp;  // `dir/.spare-<index>.idx.tmp`: an index header, no entries
  std::uint64_t segment_index = 0;
  std::uint32_t index_interval = 0;
  std::size_t capacity = 0;
};

// SpareLeftovers: files a failed spare or roll created and then could not
// remove, because the unlink failed too (storage refusing every call). The
// next attempt for the same segment would meet them under O_EXCL and fail the
// journal for good. This journal made them, so the next attempt removes them
// first; until it can, it fails as the storage does. Any thread.
class SpareLeftovers {
 public:
  void add(std::filesystem::path path);
  // remove: unlinks each (gone already counts as removed); those that fail
  // stay for the next call, and the first failure is returned.
  absl::Status remove();
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::filesystem::path> paths_;  // guarded by mu_
};

// prepare_spare: the spare for segment `segment_index` (any thread; files
// only). With `leftovers`, what an earlier failed attempt could not remove
// goes first, and what this one cannot remove after a failure is added to it.
absl::StatusOr<SpareSegment> prepare_spare(const std::filesystem::path& dir, std::uint64_t segment_index,
                                           std::uint32_t index_interval, std::size_t capacity,
                                           SpareLeftovers* leftovers = nullptr);

// RetiredSegment: a segment whose end record is written; what is left of
// closing it (index sync, truncation to size, data sync, unmap, close) can run
// on another thread than the one that rolled.
class RetiredSegment {
 public:
  // finish: syncs and closes; every record in the segment then survives a power cut.
  absl::Status finish();
  std::uint64_t last_seq() const { return last_seq_; }
  const std::filesystem::path& path() const { return file_.path(); }

 private:
  friend class SegmentWriter;
  io::File file_;
  io::File index_file_;
  io::Mapping map_;
  std::size_t size_ = 0;
  std::uint64_t last_seq_ = 0;
};

class SegmentWriter {
 public:
  // create: a new segment `dir/<name>` of `capacity` bytes (header included).
  static absl::StatusOr<SegmentWriter> create(const std::filesystem::path& dir, const SegmentHeader& header,
                                              std::size_t capacity);
  // create: a new segment from a spare made for header.segment_index with the
  // same index interval: writes and syncs the header, renames spare and index
  // into place, fsyncs the directory. On a failure before the segment's name
  // exists the spare's files are removed; those that cannot be go to `leftovers`.
  static absl::StatusOr<SegmentWriter> create(const std::filesystem::path& dir, const SegmentHeader& header,
                                              SpareSegment spare, SpareLeftovers* leftovers = nullptr);

  SegmentWriter(SegmentWriter&&) noexcept = default;
  SegmentWriter& operator=(SegmentWriter&&) noexcept = default;

  const std::filesystem::path& path() const { return file_.path(); }
  const SegmentHeader& header() const { return header_; }
  std::size_t size() const { return offset_; }
  std::uint64_t records() const { return records_; }
  std::uint64_t last_seq() const { return last_seq_; }

  // fits: whether a record with this payload still fits (with the end record).
  bool fits(std::size_t payload_bytes) const {
    return offset_ + align_record(kRecordHeaderSize + payload_bytes) + kEndRecordSize <= capacity_;
  }
  // append: writes one record; the caller checked fits().
  void append(std::uint64_t seq, std::uint64_t mono_ns, std::uint64_t wall_ns, std::uint16_t type,
              std::span<const std::byte> payload);
  // flush_index: writes index entries made since the last call.
  absl::Status flush_index();
  // sync: fdatasync of the segment (records appended so far survive a power cut).
  absl::Status sync();
  // finish: end record, index, truncation to size, sync, close.
  absl::Status finish(EndReason reason, std::uint64_t wall_ns);
  // retire: end record and the pending index entries; the rest of finish() is
  // left to the returned RetiredSegment. The writer is spent afterwards. If the
  // index cannot be written, the writer stays whole (ended()), and retire()
  // may be called again: the end record is written once.
  absl::StatusOr<RetiredSegment> retire(EndReason reason, std::uint64_t wall_ns);
  // ended: the end record is written; no more records may be appended.
  bool ended() const { return ended_; }

 private:
  SegmentWriter() = default;
  void touch_ahead();

  io::File file_;
  io::File index_file_;
  io::Mapping map_;
  SegmentHeader header_{};
  std::size_t capacity_ = 0;
  std::size_t offset_ = kSegmentHeaderSize;
  std::size_t touched_ = 0;  // pages below this offset have been written once
  std::uint64_t records_ = 0;
  std::uint64_t until_index_ = 1;  // records until the next index entry (the 0th, Nth, 2Nth...)
  std::uint64_t last_seq_ = 0;
  std::vector<IndexEntry> pending_index_;
  std::uint64_t index_entries_written_ = 0;
  bool ended_ = false;
};

}  // namespace tickwire::journal
