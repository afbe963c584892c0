// The journal manifest, `DIR/manifest`: what the segments alone cannot prove.
// The highest sequence ever issued, which segment indexes should exist, and
// every loss that was acknowledged (damage skipped inside a segment, history
// found missing and accepted by `tickwire recover`). Journal::open, `recover`
// and, while running, the flusher's helper after each rolled-out segment is
// synced write it (temp file, fsync, rename, directory fsync); `verify`,
// `replay` and open read it. A few hundred bytes of text, human-readable.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tickwire::journal {

inline constexpr std::uint32_t kManifestVersion = 1;
inline constexpr const char* kManifestName = "manifest";
inline constexpr const char* kManifestTempName = ".manifest.tmp";

// Loss: sequences known lost, and where. segment_index != 0: damaged bytes
// [begin, end) of that segment (kept in place, never overwritten); 0: history
// missing (segment files gone). first_seq > last_seq: no sequence was lost.
struct Loss {
  std::uint64_t first_seq = 0, last_seq = 0;
  std::uint64_t segment_index = 0;
  std::uint64_t begin = 0, end = 0;
  std::string what;  // one line: why, for people

  bool operator==(const Loss&) const = default;
};

struct Manifest {
  std::uint32_t format_version = 1;     // the segment format version
  std::string feed;
  std::uint64_t highest_seq = 0;        // highest sequence ever issued, as known when last written
  std::uint64_t next_segment_index = 1;  // the index the next new segment gets (never reused)
  std::uint64_t first_segment_index = 0;  // lowest segment index present when last written (0: none)
  std::uint64_t first_seq = 0;          // that segment's first seq
  bool retention = false;               // the run after the last write may delete the oldest segments
  std::vector<Loss> losses;             // acknowledged, oldest first

  // add_loss: appends `loss` unless the same damage (segment, begin) or the same
  // missing seq range is there; returns whether it was added.
  bool add_loss(const Loss& loss);
  // damage_loss: the acknowledged loss for damage at `begin` of segment `segment_index`, if any.
  const Loss* damage_loss(std::uint64_t segment_index, std::uint64_t begin) const;
  // covers: whether acknowledged losses account for every seq of [first, last].
  bool covers(std::uint64_t first, std::uint64_t last) const;
};

// read_manifest: nullopt if DIR/manifest does not exist; an error naming the
// file and line if it is not a manifest this build reads.
absl::StatusOr<std::optional<Manifest>> read_manifest(const std::filesystem::path& dir);

// write_manifest: replaces DIR/manifest atomically and durably.
absl::Status write_manifest(const std::filesystem::path& dir, const Manifest& manifest);

}  // namespace tickwire::journal
