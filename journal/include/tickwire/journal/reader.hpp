// Reader: iterates every record of a journal directory in sequence order,
// verifying each CRC, and seeks by seq or wall time in O(log n) (binary search
// over segment headers, then over the segment's sparse index). Maps one
// segment at a time, read-only. For segments still being written by another
// process, use Tailer.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "tickwire/journal/io.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {

// RecordView: one record; payload points into the mapped segment and stays
// valid until the reader moves to another segment (next()/seek).
struct RecordView {
  std::uint64_t seq, mono_ns, wall_ns;
  std::uint16_t type;
  std::span<const std::byte> payload;
};

class Reader {
 public:
  static absl::StatusOr<Reader> open(const std::filesystem::path& dir);

  // next: the next record (data and gap records; end records are consumed),
  // nullopt at the end. A damaged record is an error naming file and offset.
  absl::StatusOr<std::optional<RecordView>> next();

  // seek_seq: positions before the first record with seq >= `seq`.
  absl::Status seek_seq(std::uint64_t seq);
  // seek_time: positions before the first record with wall_ns >= `wall_ns`.
  absl::Status seek_time(std::uint64_t wall_ns);

  const std::vector<SegmentFile>& segments() const { return segments_; }
  // The segment and offset of the record next() returned last.
  const std::filesystem::path& current_segment() const;
  std::uint64_t current_offset() const { return last_offset_; }
  // The header of the current segment.
  const SegmentHeader& current_header() const { return header_; }

 private:
  Reader() = default;
  absl::Status open_segment(std::size_t i);
  absl::StatusOr<const std::vector<IndexEntry>*> index();
  absl::Status seek_in_segment(std::size_t i, std::uint64_t key, bool by_seq);
  absl::StatusOr<SegmentHeader> header_of(std::size_t i) const;

  std::filesystem::path dir_;
  std::vector<SegmentFile> segments_;
  std::size_t current_ = 0;  // index into segments_; == size() when exhausted
  io::Mapping map_;
  SegmentHeader header_{};
  std::uint64_t offset_ = 0;
  std::uint64_t last_offset_ = 0;
  bool index_loaded_ = false;
  std::vector<IndexEntry> index_;
};

}  // namespace tickwire::journal
