// Position: where replay starts or stops, given on the command line as a
// sequence number ("123456") or a UTC time ("2026-11-22T14:28:00Z", with an
// optional fraction of up to 9 digits). Time means the record's wall_ns.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <string_view>

#include "tickwire/journal/reader.hpp"

namespace tickwire::journal {

struct Position {
  enum class Kind { kSeq, kTime };
  Kind kind;
  std::uint64_t value;  // seq, or wall ns since the epoch
};

absl::StatusOr<Position> parse_position(std::string_view text);

// seek: positions the reader before the first record at or after `from`.
absl::Status seek(Reader& reader, const Position& from);

// at_or_before: whether a record is within an inclusive `--to` bound.
bool at_or_before(const RecordView& record, const Position& to);

}  // namespace tickwire::journal
