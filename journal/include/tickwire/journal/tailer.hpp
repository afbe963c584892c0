// Tailer: follows a journal that another process (or thread) is writing.
// Sees each committed record once, in order, never a partial one (the writer
// stores a record's length word last; the tailer checks the CRC), crosses
// segment rolls, and moves past a segment that lost its end record in a crash
// once a later segment exists. Reads with pread, so a writer truncating or
// deleting a segment can never fault it. poll() never blocks.
#pragma once

#include <absl/status/statusor.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "tickwire/journal/io.hpp"
#include "tickwire/journal/reader.hpp"

namespace tickwire::journal {

class Tailer {
 public:
  // open: follows dir from the first record with seq >= from_seq.
  static absl::StatusOr<Tailer> open(const std::filesystem::path& dir, std::uint64_t from_seq = 0);

  // poll: the next committed record (payload valid until the next poll), or
  // nullopt if there is none yet. An error only for unreadable files.
  absl::StatusOr<std::optional<RecordView>> poll();

  // The segment being followed (empty before the first one appears).
  const std::filesystem::path& segment() const { return file_.path(); }

 private:
  Tailer() = default;
  // Opens the first segment with an index above current_index_; false if none yet.
  absl::StatusOr<bool> advance();
  absl::StatusOr<bool> later_segment_exists();
  // read_record: reads and decodes the record at offset_ whose length word is `length`.
  absl::StatusOr<DecodedRecord> read_record(std::uint32_t length);

  std::filesystem::path dir_;
  std::uint64_t from_seq_ = 0;
  std::uint64_t delivered_ = 0;  // highest seq delivered
  io::File file_;
  std::uint64_t current_index_ = 0;
  std::uint64_t offset_ = 0;
  std::vector<std::byte> buffer_;
  std::chrono::steady_clock::time_point next_listing_{};
};

}  // namespace tickwire::journal
