// SegmentWriter: appends records to one segment file, owned by the flusher.
// The file is created complete under a temporary name (header, blocks
// reserved with fallocate) and renamed into place with a directory fsync,
// then mapped; the writer touches pages ahead of itself so appends do not
// fault. Each record's length word is stored last with release semantics, so
// a tailer in another process never takes a half-written record for a whole one.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "tickwire/journal/io.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {

// Room always kept for the end-of-segment record.
inline constexpr std::size_t kEndRecordSize = align_record(kRecordHeaderSize + sizeof(EndPayload));

class SegmentWriter {
 public:
  // create: a new segment `dir/<name>` of `capacity` bytes (header included).
  static absl::StatusOr<SegmentWriter> create(const std::filesystem::path& dir, const SegmentHeader& header,
                                              std::size_t capacity);

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
};

}  // namespace tickwire::journal
