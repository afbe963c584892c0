// examine: one full pass over a journal directory that checks every header
// and CRC, follows sequence continuity (gaps must be explained by gap records)
// and collects what `tickwire inspect` shows. `tickwire verify` is examine()
// plus "exit 0 only if no problems". Costs one read of every byte. Safe on a
// journal another process is writing: files are read with pread (never
// mapped, so a concurrent truncation cannot fault), the ring's durable_seq
// is read the same way, and the last segment is "in progress", not damaged.
#pragma once

#include <absl/status/statusor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

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
  bool explained;  // a gap record accounts for it
  std::string where;  // "<file>: offset N"
};

struct JournalSummary {
  std::vector<SegmentSummary> segments;
  std::uint64_t records = 0, bytes = 0;
  std::optional<std::uint64_t> first_seq, last_seq;
  std::uint64_t first_wall_ns = 0, last_wall_ns = 0;
  std::map<std::uint16_t, std::uint64_t> types;  // record count by type
  std::vector<GapSummary> gaps;
  std::optional<std::uint64_t> durable_seq;  // from DIR/ring, when there is one
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

// examine: an error only if the directory cannot be listed; damage is reported in problems.
absl::StatusOr<JournalSummary> examine(const std::filesystem::path& dir, const Progress& progress = {},
                                       const RecordVisitor& visit = {});

struct RecoverReport {
  std::uint64_t truncated_bytes = 0;   // torn tail cut from the last segment
  std::uint64_t drained_records = 0;   // taken from DIR/ring into a segment
  std::uint64_t indexes_rebuilt = 0;
  std::uint64_t next_seq = 1;
};

// recover_journal: what Journal::open does after a crash (truncate the torn
// tail, drain the ring), then rebuilds every index that does not match its segment.
// progress: over the pass that reads every segment to check its index.
absl::StatusOr<RecoverReport> recover_journal(const std::filesystem::path& dir, const Progress& progress = {});

// format_wall: "2026-11-22T14:28:00.123456789Z".
std::string format_wall(std::uint64_t wall_ns);

}  // namespace tickwire::journal
