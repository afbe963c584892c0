// Helpers shared by the journal tests: deterministic payloads, small options,
// reading a whole journal back.
#pragma once

#include <absl/status/statusor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/reader.hpp"

namespace tickwire::journal {

// payload_for: the bytes of record `seq` in a run seeded with `seed`; 1 to 200 bytes.
inline std::vector<std::byte> payload_for(std::uint64_t seed, std::uint64_t seq) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull ^ seq * 0xBF58476D1CE4E5B9ull;
  auto mix = [&x] {
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return x;
  };
  std::vector<std::byte> out(1 + mix() % 200);
  for (auto& b : out) b = static_cast<std::byte>(mix() & 0xFF);
  return out;
}

inline Options small_options(const std::filesystem::path& dir) {
  Options o;
  o.dir = dir;
  o.feed = "test";
  o.ring_bytes = 64u << 10;
  o.segment_bytes = 64u << 10;
  o.index_interval = 16;
  o.fsync = FsyncPolicy::kNone;
  return o;
}

// ScratchDir: a fresh directory on tmpfs (/dev/shm) when there is one, else
// under $TMPDIR or /tmp; removed with its contents. Crash tests need only the
// page cache to survive the child (as it does a SIGKILL), not a disk, and
// tmpfs keeps their hundreds of directory fsyncs cheap.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "tickwire-journal") {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp != nullptr ? tmp : "/tmp");
    std::string templ = base + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::system_error(errno, std::generic_category(), templ);
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct OwnedRecord {
  std::uint64_t seq, mono_ns, wall_ns;
  std::uint16_t type;
  std::vector<std::byte> payload;
};

inline absl::StatusOr<std::vector<OwnedRecord>> read_all(const std::filesystem::path& dir) {
  auto reader = Reader::open(dir);
  if (!reader.ok()) return reader.status();
  std::vector<OwnedRecord> out;
  for (;;) {
    auto r = reader->next();
    if (!r.ok()) return r.status();
    if (!*r) return out;
    const RecordView& v = **r;
    out.push_back({v.seq, v.mono_ns, v.wall_ns, v.type, {v.payload.begin(), v.payload.end()}});
  }
}

}  // namespace tickwire::journal
