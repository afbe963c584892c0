// The journal's history as a whole: segment order from the headers (checked
// against the file names), segments or sequences that are missing, and what
// Journal::open does about both before the connector issues a sequence.
// Rules: docs/journal-format.md, "Recovery". Costs two small preads per
// segment (header, end record), plus a tail scan where there is no end record.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tickwire/journal/manifest.hpp"
#include "tickwire/journal/recovery.hpp"

namespace tickwire::journal {

// SegmentInfo: one segment file, as its name and its header describe it.
struct SegmentInfo {
  SegmentFile file;
  std::optional<SegmentHeader> header;  // nullopt: unreadable (damage elsewhere reports why)
  std::uint64_t last_seq = 0;           // highest seq it covers; 0 if none or unknown
};

// read_segment_infos: header and last seq of every segment (end record, else a tail scan).
std::vector<SegmentInfo> read_segment_infos(const std::vector<SegmentFile>& segments);

// Missing: history that should be there and is not.
struct Missing {
  std::uint64_t first_index = 0, last_index = 0;  // segment indexes missing (0: none named)
  std::uint64_t first_seq = 0, last_seq = 0;      // seqs missing (first > last: none)
  std::string what;
  bool acknowledged = false;  // a manifest loss covers its seqs
};

struct HistoryCheck {
  std::vector<std::string> order_problems;  // names vs headers, duplicates, overlaps
  std::vector<Missing> missing;
  std::vector<std::string> notes;
  std::uint64_t highest_seq = 0;  // highest seq anything records as issued
  std::uint64_t segments_last_seq = 0;
  std::uint64_t highest_index = 0;  // highest segment index named or in a header
  bool unacknowledged() const;
};

// check_history: segments (any order) against each other, the manifest and the ring's durable_seq.
HistoryCheck check_history(const std::vector<SegmentInfo>& segments, const std::optional<Manifest>& manifest,
                           std::optional<std::uint64_t> durable_seq);

// RecoveryReport: what Journal::open (or `tickwire recover`) did.
struct RecoveryReport {
  std::uint64_t truncated_bytes = 0;  // torn tail cut from the last segment
  std::vector<Loss> new_losses;       // damage skipped and history acknowledged by this open
  std::vector<std::string> notes;     // order problems, retention, absent empty segments
  std::uint64_t next_seq = 1;

  bool empty() const { return truncated_bytes == 0 && new_losses.empty() && notes.empty(); }
};

// loss_for_damage: the Loss a damaged range of a segment stands for. `next_first_seq`:
// the first seq of the following segment, for a tail that is not the last (0: unknown).
Loss loss_for_damage(const std::filesystem::path& segment, std::uint64_t segment_index, const DamagedRange& d,
                     std::uint64_t next_first_seq);

// OpenRecovery: what Journal::open learns before draining the ring.
struct OpenRecovery {
  std::optional<Manifest> manifest;
  std::uint64_t next_segment_index = 1;
  std::uint64_t last_seq = 0;  // highest seq in the segments
  std::uint64_t last_wall_ns = 0;
  RecoveryReport report;
  // A torn tail cut from the last segment (non-zero bytes, no valid record
  // after them): seqs the ring or manifest says were issued after it were in it.
  std::optional<Loss> tail_cut;
};

// recover_for_open: removes the journal's temporaries, reads the manifest,
// repairs the last segment(s) (torn tail cut, damage skipped and noted).
absl::StatusOr<OpenRecovery> recover_for_open(const std::filesystem::path& dir);

// settle_history: after the ring is drained: checks the history; missing
// history is an error naming it unless `acknowledge_missing` (then it becomes
// a loss); writes the manifest; returns the highest seq ever issued.
absl::StatusOr<std::uint64_t> settle_history(const std::filesystem::path& dir, OpenRecovery& recovery,
                                             std::optional<std::uint64_t> durable_seq, std::string_view feed,
                                             bool retention, bool acknowledge_missing);

// not_a_journal: an error if `dir` holds no segment, ring or manifest.
absl::Status require_journal(const std::filesystem::path& dir);

}  // namespace tickwire::journal
