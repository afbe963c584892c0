// Reader: iterates every record of a journal directory in sequence order,
// verifying each CRC, and seeks by seq or wall time in O(log n) (binary search
// over segment headers, then over the segment's sparse index). Segments are
// read in the order of their headers (segment index, first seq), not their
// names. Damage never stops it: damaged bytes are skipped (resynchronising on
// the next valid record), a seq jump becomes a gap the reader makes (`made_gap`),
// and a seq at or below one already delivered (a duplicated or overlapping
// segment) is skipped; each is listed in problems(). Maps one segment at a
// time, read-only. For segments still being written by another process, use Tailer.
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
  // made_gap: not a stored record: a kTypeGap (payload GapPayload) the reader
  // made for seqs that are in no valid record (damage, missing segments).
  bool made_gap = false;
};

class Reader {
 public:
  static absl::StatusOr<Reader> open(const std::filesystem::path& dir);

  // next: the next record (data and gap records; end records are consumed),
  // nullopt at the end. Seqs strictly increase. Damage is skipped and noted
  // in problems(); an error only if a segment cannot be read at all.
  absl::StatusOr<std::optional<RecordView>> next();

  // problems: damage skipped, seqs missing, duplicates skipped, so far; each names file and offset.
  const std::vector<std::string>& problems() const { return problems_; }

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
  std::optional<std::uint64_t> last_seq_;  // highest seq delivered since open or the last seek
  bool damage_pending_ = false;           // damaged bytes skipped since the last record delivered
  GapPayload made_gap_{};                  // the payload of the last gap the reader made
  std::vector<std::string> problems_;
};

}  // namespace tickwire::journal
