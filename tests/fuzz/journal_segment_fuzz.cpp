// libFuzzer target: the segment parsers (header, records, sparse index scan)
// over arbitrary bytes in memory, then the same bytes as the last segment of
// a journal directory through recovery, the reader, examine and the tailer.
// Nothing may crash, and no record may be delivered whose CRC does not match.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tickwire/journal/examine.hpp"
#include "tickwire/journal/reader.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/segment_index.hpp"
#include "tickwire/journal/tailer.hpp"

#include "fuzz_support.hpp"

namespace {

namespace jr = tickwire::journal;

// scratch: this process's directory for the files the target writes, removed at exit.
const std::filesystem::path& scratch() { return tickwire::fuzz::scratch_dir("tickwire-fuzz-seg"); }

using tickwire::fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An aligned copy: segment images are page-aligned mappings in real use.
  std::vector<std::byte> image(size);
  if (size != 0) std::memcpy(image.data(), data, size);
  const std::span<const std::byte> bytes(image);

  auto header = jr::decode_segment_header(bytes);
  std::size_t offset = jr::kSegmentHeaderSize;
  for (std::size_t n = 0; n < size; ++n) {
    jr::DecodedRecord r = jr::decode_record(bytes, offset);
    if (r.status != jr::DecodeStatus::kOk) break;
    check(r.computed_crc == r.header.crc && r.next > offset && r.next <= jr::align_record(size));
    (void)jr::highest_seq(r);
    offset = r.next;
  }
  (void)jr::scan_index(bytes, header.ok() ? header->index_interval : 4);

  const auto& dir = scratch();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto seg = dir / "20260101T000000Z-000001.seg";
  std::ofstream(seg, std::ios::binary).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  (void)jr::examine(dir);
  if (auto tailer = jr::Tailer::open(dir); tailer.ok()) {
    for (std::size_t n = 0; n < size; ++n) {
      auto r = tailer->poll();
      if (!r.ok() || !*r) break;
    }
  }
  if (jr::recover_segment(seg).ok()) {
    // After recovery the reader must read every record back without an error.
    auto reader = jr::Reader::open(dir);
    check(reader.ok());
    for (;;) {
      auto r = reader->next();
      check(r.ok());
      if (!*r) break;
    }
  }
  return 0;
}
