// examine: one full pass over a journal directory that checks every header
// and CRC, follows sequence continuity (gaps must be explained by gap records)
// and collects what `tickwire inspect` shows. `tickwire verify` is examine()
// plus "exit 0 only if no problems". Costs one read of every byte. Safe on a
// journal another process is writing: files are read with pread (never
// mapped, so a concurrent truncation cannot fault), the ring's durable_seq
// is read the same way, and the last segment is "in progress", not damaged:
// a live writer holds DIR/lock (WriterLock), and the bytes after its last
// whole record are being written.
#pragma once

#include <absl/status/statusor.h>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tickwire/journal/manifest.hpp"
#include "tickwire/journal/segment_format.hpp"

namespace tickwire::journal {

struct SegmentSummary {
  std::filesystem::path path;
  std::uint64_t index = 0;
  std::uint64_t bytes = 0;
  std::string feed;
  std::uint16_t schema_id = 0;
  std::uint64_t created_wall_ns = 0;
  std::uint64_t records = 0;  // data and gap records
  std::uint64_t first_seq = 0, last_seq = 0;
  std::uint64_t first_wall_ns = 0, last_wall_ns = 0;
  bool end_marker = false;
  bool header_ok = false;
  bool in_progress = false;  // the last segment, without an end record: being written (or its writer crashed)
};

struct GapSummary {
  std::uint64_t first_missing, last_missing, count;
  bool explained;  // a gap record, or a loss acknowledged in DIR/manifest, accounts for it
  std::string where;  // "<file>: offset N", or what the manifest says
};

struct JournalSummary {
  std::vector<SegmentSummary> segments;
  std::uint64_t records = 0, bytes = 0;
  std::optional<std::uint64_t> first_seq, last_seq;
  std::uint64_t first_wall_ns = 0, last_wall_ns = 0;
  std::map<std::uint16_t, std::uint64_t> types;  // record count by type
  std::vector<GapSummary> gaps;
  std::optional<std::uint64_t> durable_seq;  // from DIR/ring, when there is one
  std::optional<std::uint64_t> highest_seq;  // highest seq ever issued, from DIR/manifest, when there is one
  std::uint64_t damaged_ranges = 0;          // byte ranges skipped (acknowledged or not)
  std::optional<pid_t> writer;               // a process writes the journal now (holds DIR/lock); its pid or 0
  std::vector<std::string> problems;  // damage: verify fails
  std::vector<std::string> notes;     // worth knowing, not damage (crashed writer, stale index)

  bool clean() const { return problems.empty(); }
};

// Progress: called with (bytes examined, total bytes) now and then.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// RecordVisitor: called with (index into JournalSummary::segments, record
// type, payload) for every intact data record (not gap or end records), in
// order; the payload is valid during the call only. How a caller that knows
// the payload format (the connector's Envelopes) adds its own counts.
using RecordVisitor = std::function<void(std::size_t segment, std::uint16_t type, std::span<const std::byte> payload)>;

// examine: an error if the directory cannot be listed or is not a journal
// (no segment, ring or manifest); damage, missing history and segments out
// of order (names vs headers, duplicates, overlaps) are reported in problems.
absl::StatusOr<JournalSummary> examine(const std::filesystem::path& dir, const Progress& progress = {},
                                       const RecordVisitor& visit = {});

struct RecoverReport {
  std::uint64_t truncated_bytes = 0;   // torn tail cut from the last segment
  std::uint64_t drained_records = 0;   // taken from DIR/ring into a segment
  std::uint64_t indexes_rebuilt = 0;
  std::vector<Loss> losses;            // recorded in DIR/manifest by this run: damage skipped, history missing
  std::vector<std::string> notes;      // segment order problems and the like (see `verify`)
  std::uint64_t next_seq = 1;
};

// recover_journal: reads every segment; damage with valid records after it is
// kept in place and recorded as a loss in DIR/manifest (with its exact seqs);
// the torn tail of the last segment is cut; then what Journal::open does
// (drain the ring; missing history is acknowledged as a loss), then every
// index that does not match its segment is rebuilt. Never removes a valid record.
// progress: over the pass that reads every segment.
absl::StatusOr<RecoverReport> recover_journal(const std::filesystem::path& dir, const Progress& progress = {});

// format_wall: "2026-11-22T14:28:00.123456789Z".
std::string format_wall(std::uint64_t wall_ns);

}  // namespace tickwire::journal
