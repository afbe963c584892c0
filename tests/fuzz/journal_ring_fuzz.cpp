// libFuzzer target: the ring file parser and the journal's ring drain. The
// input is used twice: as a whole ring file (header included), and as the
// data area of a valid 4096-byte ring whose head comes from its first bytes;
// the second then goes through Journal::open, which drains it into a segment.
// Nothing may crash; whatever is drained must read back without an error.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/reader.hpp"

#include "fuzz_support.hpp"

namespace {

namespace jr = tickwire::journal;

// scratch: this process's directory for the files the target writes, removed at exit.
const std::filesystem::path& scratch() { return tickwire::fuzz::scratch_dir("tickwire-fuzz-ring"); }

using tickwire::fuzz::check;

void write_file(const std::filesystem::path& p, const void* data, std::size_t size) {
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& dir = scratch();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  // 1. The input as a ring file.
  write_file(dir / "ring", data, size);
  if (auto ring = jr::MmapRing::open(dir / "ring", 4096); ring.ok()) {
    jr::for_each_ring_record(*ring, [](const jr::MmapRing::Entry& e) { check(e.payload.size() < (1u << 31)); });
  }

  // 2. A valid ring header, head taken from the input, the input as its data.
  constexpr std::size_t kCapacity = 4096;
  std::vector<std::uint8_t> file(jr::kRingHeaderSize + kCapacity, 0);
  const char magic[8] = {'T', 'W', 'J', 'R', 'I', 'N', 'G', '1'};
  const std::uint32_t version = 1;
  const std::uint64_t capacity = kCapacity;
  std::uint64_t head = 0;
  std::memcpy(file.data(), magic, sizeof magic);
  std::memcpy(file.data() + 8, &version, sizeof version);
  std::memcpy(file.data() + 16, &capacity, sizeof capacity);
  if (size >= 8) std::memcpy(&head, data, sizeof head);
  head &= 0xFFFF'FFF8u;  // a plausible, aligned position
  std::memcpy(file.data() + 64, &head, sizeof head);
  if (size > 8) std::memcpy(file.data() + jr::kRingHeaderSize, data + 8, std::min(size - 8, kCapacity));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_file(dir / "ring", file.data(), file.size());
  jr::Options o;
  o.dir = dir;
  o.feed = "fuzz";
  o.ring_bytes = kCapacity;
  o.segment_bytes = 64u << 10;
  o.fsync = jr::FsyncPolicy::kNone;
  auto j = jr::Journal::open(o);
  check(j.ok());
  check((*j)->close().ok());
  auto reader = jr::Reader::open(dir);
  check(reader.ok());
  for (;;) {
    auto r = reader->next();
    check(r.ok());
    if (!*r) break;
  }
  return 0;
}
