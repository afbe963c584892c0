// The sparse index of one segment: `<segment>.idx` beside it, a 32-byte header
// then one 32-byte entry (seq, mono_ns, wall_ns, offset) for every
// index_interval-th record (the 0th, Nth, 2Nth...). It is a cache: it can
// always be rebuilt from the segment, byte for byte (rebuild_index).
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace tickwire::journal {

inline constexpr std::array<char, 8> kIndexMagic = {'T', 'W', 'J', 'I', 'D', 'X', '0', '1'};

struct IndexHeader {
  std::array<char, 8> magic;
  std::uint32_t version;
  std::uint32_t interval;
  std::uint64_t segment_index;
  std::uint64_t reserved;
};
static_assert(sizeof(IndexHeader) == 32);

struct IndexEntry {
  std::uint64_t seq;
  std::uint64_t mono_ns;
  std::uint64_t wall_ns;
  std::uint64_t offset;  // of the record in the segment file

  bool operator==(const IndexEntry&) const = default;
};
static_assert(sizeof(IndexEntry) == 32);

// index_path: `X.seg` -> `X.seg.idx`.
std::filesystem::path index_path(const std::filesystem::path& segment);

IndexHeader make_index_header(std::uint32_t interval, std::uint64_t segment_index);

// load_index: the entries of an index file whose header matches. Entries are
// checked for order and alignment only; a caller that relies on one checks
// the record it points to. A missing, foreign or damaged file is an error.
absl::StatusOr<std::vector<IndexEntry>> load_index(const std::filesystem::path& idx, std::uint32_t interval,
                                                   std::uint64_t segment_index);

// scan_index: the entries the writer makes for a segment image, from its records.
std::vector<IndexEntry> scan_index(std::span<const std::byte> segment_image, std::uint32_t interval);

// write_index: replaces the index file (write temp, rename).
absl::Status write_index(const std::filesystem::path& idx, std::uint32_t interval, std::uint64_t segment_index,
                         std::span<const IndexEntry> entries);

// rebuild_index: scans the segment and writes its index.
absl::Status rebuild_index(const std::filesystem::path& segment);

}  // namespace tickwire::journal
