// libFuzzer target: the segment parsers (header, records, sparse index scan)
// over arbitrary bytes in memory, then the same bytes as the last segment of
// a journal directory through recovery, the reader, examine and the tailer.
// Nothing may crash, no record may be delivered whose CRC does not match, the
// resynchronising walk stays inside the image, and the reader's seqs rise.
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

  // The resynchronising walk: records in rising offsets with valid CRCs, damage
  // ranges inside the image, in order, never overlapping a delivered record.
  // A last record may end inside its alignment padding past the file's end
  // (decode_record accepts that, as above), so valid_end is bounded by the
  // aligned size.
  std::uint64_t after = 0;
  if (size > 16) std::memcpy(&after, data + 8, sizeof after);
  std::uint64_t prev_end = jr::kSegmentHeaderSize;
  std::size_t damage_seen = 0;
  const jr::SegmentWalk walk = jr::walk_segment(
      bytes, jr::kSegmentHeaderSize, after % 4,
      [&](std::uint64_t at, const jr::DecodedRecord& r) {
        check(r.status == jr::DecodeStatus::kOk && r.computed_crc == r.header.crc);
        check(at >= prev_end && r.next <= jr::align_record(size));
        prev_end = r.next;
      },
      [&](const jr::DamagedRange& d) {
        check(d.begin >= jr::kSegmentHeaderSize && d.begin < d.end && d.end <= size && d.resume_seq > d.after_seq);
        ++damage_seen;
      });
  check(damage_seen == walk.damage.size() && walk.valid_end <= std::max<std::size_t>(jr::align_record(size), jr::kSegmentHeaderSize));
  if (walk.tail) check(walk.tail->begin >= walk.valid_end && walk.tail->end == size);

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
  if (jr::recover_segment(seg, jr::Repair::kLastSegment, true).ok()) {
    // After recovery: no torn tail is left, and the reader reads every record
    // back in rising seq order without an error (damage is skipped, not fatal).
    auto again = jr::scan_segment(seg);
    check(again.ok() && !again->tail);
    auto reader = jr::Reader::open(dir);
    check(reader.ok());
    std::uint64_t last = 0;
    for (bool first = true;; first = false) {
      auto r = reader->next();
      check(r.ok());
      if (!*r) break;
      check(first || (*r)->seq > last);
      last = (*r)->seq;
    }
  }
  return 0;
}
