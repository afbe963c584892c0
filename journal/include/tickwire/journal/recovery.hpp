// Finding segments in a journal directory, scanning them and repairing the
// last one after a crash (truncate the torn or CRC-failing tail, bring the
// index in line). Used by Journal::open, the reader and `tickwire recover`.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "tickwire/journal/segment_format.hpp"

namespace tickwire::journal {

struct SegmentFile {
  std::filesystem::path path;
  std::uint64_t index;  // from the name
};

// list_segments: the segment files of dir, by index.
absl::StatusOr<std::vector<SegmentFile>> list_segments(const std::filesystem::path& dir);

// What a scan of one segment found.
struct SegmentScan {
  SegmentHeader header{};
  std::uint64_t file_size = 0;
  std::uint64_t records = 0;  // data and gap records, end record excluded
  std::uint64_t first_seq = 0, last_seq = 0;  // last_seq: highest covered (gaps included); 0 if none
  std::uint64_t first_wall_ns = 0, last_wall_ns = 0;
  std::uint64_t valid_end = kSegmentHeaderSize;  // offset after the last valid record (end record included)
  bool end_marker = false;
  DecodeStatus stop = DecodeStatus::kEmpty;  // why the scan stopped before the end record or file end
  std::uint64_t stop_offset = kSegmentHeaderSize;
  bool index_rewritten = false;
  std::uint64_t truncated_bytes = 0;
};

// scan_segment_tail: read-only; starts at the last index point that checks out.
absl::StatusOr<SegmentScan> scan_segment_tail(const std::filesystem::path& segment);

// recover_segment: scan_segment_tail, then truncate the file at valid_end and
// make the index agree (dropping entries past it, adding missing ones).
absl::StatusOr<SegmentScan> recover_segment(const std::filesystem::path& segment);

// remove_temporaries: deletes the `.*.tmp` files a crash during a roll or an
// index write leaves behind.
absl::Status remove_temporaries(const std::filesystem::path& dir);

}  // namespace tickwire::journal
