// libFuzzer target: the ring file parser and the journal's ring drain. The
// input is used three times: as a whole ring file (header included); as the
// data area of a valid 4096-byte ring (format 1 or 2, by its first byte)
// whose head comes from its first bytes, drained through Journal::open; and
// as damage (offset, xor mask pairs) to a ring of records the producer wrote
// with their CRCs, drained too. Nothing may crash; whatever is drained must
// read back without an error; and from the damaged ring every record read
// back is a gap record or exactly what the producer wrote for its seq.
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

// expected_payload: what record `seq` of part 3 holds: 1 to 64 bytes.
std::vector<std::byte> expected_payload(std::uint64_t seq) {
  std::vector<std::byte> p(1 + seq % 64);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::byte>((seq * 131 + i * 7) & 0xFF);
  return p;
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
  const bool legacy = size > 0 && (data[0] & 1) != 0;
  const char magic[8] = {'T', 'W', 'J', 'R', 'I', 'N', 'G', legacy ? '1' : '2'};
  const std::uint32_t version = legacy ? 1 : 2;
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

  // 3. A ring the producer wrote (CRCs and all), damaged where the input says.
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::uint64_t written = 0;
  {
    auto ring = jr::MmapRing::open(dir / "ring", kCapacity);
    check(ring.ok());
    while (ring->try_write(written + 1, written + 1, 1, expected_payload(written + 1))) ++written;
  }
  {
    std::fstream f(dir / "ring", std::ios::in | std::ios::out | std::ios::binary);
    for (std::size_t i = 0; i + 3 <= size; i += 3) {
      const auto off = static_cast<std::streamoff>(jr::kRingHeaderSize + ((data[i] | (data[i + 1] << 8)) % kCapacity));
      char c = 0;
      f.seekg(off);
      f.read(&c, 1);
      c = static_cast<char>(c ^ static_cast<char>(data[i + 2]));
      f.seekp(off);
      f.write(&c, 1);
    }
  }
  auto damaged = jr::Journal::open(o);
  check(damaged.ok());
  check((*damaged)->close().ok());
  auto back = jr::Reader::open(dir);
  check(back.ok());
  for (;;) {
    auto r = back->next();
    check(r.ok());
    if (!*r) break;
    const jr::RecordView& v = **r;
    if (v.type == jr::kTypeGap) continue;
    const auto want = expected_payload(v.seq);
    check(v.seq >= 1 && v.seq <= written && v.type == 1 && v.mono_ns == v.seq && v.payload.size() == want.size() &&
          std::memcmp(v.payload.data(), want.data(), want.size()) == 0);
  }
  return 0;
}
