// Finding segments in a journal directory, walking their records past damage,
// and repairing them after a crash. The rules (docs/journal-format.md,
// "Recovery"): a record with a valid CRC is never removed; damage inside a
// segment is skipped (the scan resynchronises on the next valid record) and
// becomes an acknowledged loss with its exact sequences; only a torn tail of
// the last segment (no valid record after it) is truncated. Used by
// Journal::open, the reader, examine and `tickwire recover`.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {

struct SegmentFile {
  std::filesystem::path path;
  std::uint64_t index;  // from the name
};

// list_segments: the segment files of dir, by the index in their names.
absl::StatusOr<std::vector<SegmentFile>> list_segments(const std::filesystem::path& dir);

// DamagedRange: bytes of a segment that hold no valid record.
struct DamagedRange {
  std::uint64_t begin = 0, end = 0;  // [begin, end): end is the next valid record, or the file's end
  DecodeStatus why = DecodeStatus::kBadCrc;  // how the record at `begin` failed
  std::uint64_t after_seq = 0;   // highest seq covered before it (header first_seq - 1 at the start)
  std::uint64_t resume_seq = 0;  // seq of the valid record at `end`; 0 for a tail (none after it)
  std::uint64_t resume_records = 0;  // valid records after it in the segment (end record excluded)
};

// SegmentWalk: what walk_segment found.
struct SegmentWalk {
  std::uint64_t records = 0;  // valid data and gap records, end record excluded
  std::uint64_t first_seq = 0, last_seq = 0;  // last_seq: highest covered (gaps included); 0 if none
  std::uint64_t first_wall_ns = 0, last_wall_ns = 0;
  std::uint64_t valid_end = kSegmentHeaderSize;  // after the last valid record (end record included)
  bool end_marker = false;
  std::vector<DamagedRange> damage;  // each followed by a valid record of this segment
  std::optional<DamagedRange> tail;  // non-zero bytes after valid_end and no valid record after them
  bool bytes_after_end = false;      // non-zero bytes after the end record
};

// RecordFn: called for each valid record (end record excluded) with its offset.
using RecordFn = std::function<void(std::uint64_t offset, const DecodedRecord& record)>;
// DamageFn: called for each damaged range with valid records after it, before
// the first of them is passed to RecordFn (resume_records is not known yet: 0).
using DamageFn = std::function<void(const DamagedRange& damage)>;

// walk_segment: every valid record of a segment image from `offset` (a record
// boundary), skipping damage: at a record that does not decode it searches
// forward (find_next_record) for one with a seq above `after_seq` and the
// records before. Total over any input; reads each byte a bounded number of
// times except inside damage, where a CRC is tried only at plausible headers.
SegmentWalk walk_segment(std::span<const std::byte> image, std::uint64_t offset, std::uint64_t after_seq,
                         const RecordFn& on_record = {}, const DamageFn& on_damage = {});

// What a scan of one segment found.
struct SegmentScan {
  SegmentHeader header{};
  std::uint64_t file_size = 0;
  std::uint64_t records = 0;  // data and gap records, end record excluded
  std::uint64_t first_seq = 0, last_seq = 0;  // last_seq: highest covered (gaps included); 0 if none
  std::uint64_t first_wall_ns = 0, last_wall_ns = 0;
  std::uint64_t valid_end = kSegmentHeaderSize;  // offset after the last valid record (end record included)
  bool end_marker = false;
  std::vector<DamagedRange> damage;  // skipped, with valid records after (never truncated)
  std::optional<DamagedRange> tail;  // garbage after the last valid record, nothing valid after it
  bool index_rewritten = false;
  std::uint64_t truncated_bytes = 0;
};

// scan_segment_tail: read-only; starts at the last index point that checks out.
absl::StatusOr<SegmentScan> scan_segment_tail(const std::filesystem::path& segment);
// scan_segment: read-only; every record from the header on.
absl::StatusOr<SegmentScan> scan_segment(const std::filesystem::path& segment);

enum class Repair {
  kLastSegment,  // the newest segment: a torn tail (garbage or zeros after the last valid record) is cut
  kEarlier,      // an earlier one: only zeros after its end record are cut (a roll the crash interrupted)
};
// recover_segment: scans (from the last good index point, or the whole file
// when `full`), truncates as `repair` allows, and makes the index agree.
// Damage with valid records after it is left in place and reported in `damage`.
absl::StatusOr<SegmentScan> recover_segment(const std::filesystem::path& segment,
                                            Repair repair = Repair::kLastSegment, bool full = false);

// index_entries: the sparse index of a segment image as recovery writes it
// (every `interval`-th valid record, damage skipped).
std::vector<IndexEntry> index_entries(std::span<const std::byte> image, std::uint32_t interval);

// is_journal_temporary: whether `name` is a file the journal itself creates
// as a temporary: `.spare-NNNNNN.seg.tmp`, `.spare-NNNNNN.idx.tmp`,
// `.ring.tmp`, `.manifest.tmp`, `.<segment>.idx.tmp`.
bool is_journal_temporary(std::string_view name);

// remove_temporaries: deletes the journal's own temporaries a crash during a
// roll or an index/manifest write leaves behind; no other file.
absl::Status remove_temporaries(const std::filesystem::path& dir);

}  // namespace tickwire::journal
