#include "tickwire/journal/recovery.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include "tickwire/journal/io.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {
namespace {

struct TailScan {
  SegmentScan scan;
  std::vector<IndexEntry> entries;  // the index as it should be
  bool index_changed = false;
};

absl::StatusOr<TailScan> scan_tail(const std::filesystem::path& segment, const io::File& file) {
  TailScan t;
  auto size = file.size();
  if (!size.ok()) return size.status();
  t.scan.file_size = *size;
  auto map = io::Mapping::map(file, *size, false);
  if (!map.ok()) return map.status();
  const std::span<const std::byte> image = map->bytes();
  auto header = decode_segment_header(image);
  if (!header.ok()) return absl::DataLossError(fmt::format("{}: {}", segment.string(), io::message(header.status())));
  t.scan.header = *header;
  const std::uint32_t interval = header->index_interval;

  // The last index entry whose record is there and intact: scanning starts there.
  auto loaded = load_index(index_path(segment), interval, header->segment_index);
  std::vector<IndexEntry> entries = loaded.ok() ? *loaded : std::vector<IndexEntry>{};
  const std::size_t loaded_count = entries.size();
  while (!entries.empty()) {
    DecodedRecord r = decode_record(image, entries.back().offset);
    if (r.status == DecodeStatus::kOk && r.header.seq == entries.back().seq && r.header.type != kTypeEndOfSegment) {
      break;
    }
    entries.pop_back();
  }
  std::size_t offset = kSegmentHeaderSize;
  std::uint64_t ordinal = 0;
  if (!entries.empty()) {
    offset = entries.back().offset;
    ordinal = (entries.size() - 1) * std::uint64_t{interval};
    entries.pop_back();  // re-added by the scan below
  }
  DecodedRecord first = decode_record(image, kSegmentHeaderSize);
  if (first.status == DecodeStatus::kOk && first.header.type != kTypeEndOfSegment) {
    t.scan.first_seq = first.header.seq;
    t.scan.first_wall_ns = first.header.wall_ns;
  }
  t.scan.valid_end = offset;
  for (;;) {
    DecodedRecord r = decode_record(image, offset);
    if (r.status != DecodeStatus::kOk) {
      t.scan.stop = r.status;
      t.scan.stop_offset = offset;
      break;
    }
    t.scan.valid_end = r.next;
    if (r.header.type == kTypeEndOfSegment) {
      t.scan.end_marker = true;
      t.scan.stop_offset = r.next;
      break;
    }
    if (interval != 0 && ordinal % interval == 0) {
      entries.push_back({r.header.seq, r.header.mono_ns, r.header.wall_ns, offset});
    }
    ++ordinal;
    t.scan.last_seq = std::max(t.scan.last_seq, highest_seq(r));
    t.scan.last_wall_ns = r.header.wall_ns;
    offset = r.next;
  }
  t.scan.records = ordinal;
  t.scan.valid_end = std::min<std::uint64_t>(t.scan.valid_end, *size);
  t.index_changed = !loaded.ok() || entries.size() != loaded_count ||
                    (loaded.ok() && !std::equal(entries.begin(), entries.end(), loaded->begin()));
  t.entries = std::move(entries);
  return t;
}

}  // namespace

absl::StatusOr<std::vector<SegmentFile>> list_segments(const std::filesystem::path& dir) {
  std::vector<SegmentFile> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (std::uint64_t index = parse_segment_index(name); index != 0) out.push_back({it->path(), index});
  }
  if (ec) return io::errno_status(ec.value(), "list", dir);
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.index < b.index; });
  return out;
}

absl::StatusOr<SegmentScan> scan_segment_tail(const std::filesystem::path& segment) {
  auto file = io::open_file(segment, O_RDONLY);
  if (!file.ok()) return file.status();
  auto t = scan_tail(segment, *file);
  if (!t.ok()) return t.status();
  return t->scan;
}

absl::StatusOr<SegmentScan> recover_segment(const std::filesystem::path& segment) {
  auto file = io::open_file(segment, O_RDWR);
  if (!file.ok()) return file.status();
  auto t = scan_tail(segment, *file);
  if (!t.ok()) return t.status();
  SegmentScan& scan = t->scan;
  if (scan.file_size > scan.valid_end) {
    if (auto s = file->truncate(scan.valid_end); !s.ok()) return s;
    if (auto s = file->sync_data(); !s.ok()) return s;
    scan.truncated_bytes = scan.file_size - scan.valid_end;
    scan.file_size = scan.valid_end;
  }
  if (t->index_changed) {
    if (auto s = write_index(index_path(segment), scan.header.index_interval, scan.header.segment_index, t->entries);
        !s.ok()) {
      return s;
    }
    scan.index_rewritten = true;
  }
  return scan;
}

absl::Status remove_temporaries(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> doomed;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() > 4 && name.ends_with(".tmp")) doomed.push_back(it->path());
  }
  if (ec) return io::errno_status(ec.value(), "list", dir);
  for (const auto& p : doomed) {
    if (auto s = io::remove_file(p); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tickwire::journal
