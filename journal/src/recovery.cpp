#include "tickwire/journal/recovery.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <system_error>

#include "tickwire/journal/io.hpp"

namespace tickwire::journal {
namespace {

struct TailScan {
  SegmentScan scan;
  std::vector<IndexEntry> entries;  // the index as it should be
  bool index_changed = false;
};

// start_point: where a tail scan starts, from the last index entry whose record
// is there and intact; `ordinal` is that record's number among the valid ones.
struct StartPoint {
  std::uint64_t offset = kSegmentHeaderSize;
  std::uint64_t after_seq = 0;
  std::uint64_t ordinal = 0;
};

StartPoint start_point(std::span<const std::byte> image, const SegmentHeader& header,
                       std::vector<IndexEntry>& entries, bool full) {
  StartPoint p;
  p.after_seq = header.first_seq > 0 ? header.first_seq - 1 : 0;
  if (full) {
    entries.clear();
    return p;
  }
  while (!entries.empty()) {
    DecodedRecord r = decode_record(image, entries.back().offset);
    if (r.status == DecodeStatus::kOk && r.header.seq == entries.back().seq && r.header.type != kTypeEndOfSegment) {
      break;
    }
    entries.pop_back();
  }
  if (!entries.empty()) {
    p.offset = entries.back().offset;
    p.after_seq = entries.back().seq > 0 ? entries.back().seq - 1 : 0;
    p.ordinal = (entries.size() - 1) * std::uint64_t{header.index_interval};
    entries.pop_back();  // re-added by the walk
  }
  return p;
}

// highest_end_seq: the last seq an end record says its segment covered.
std::uint64_t highest_end_seq(const DecodedRecord& r) {
  EndPayload end{};
  if (r.payload.size() < sizeof end) return r.header.seq;
  // Safety: the payload holds at least one EndPayload; the type is trivially copyable.
  std::memcpy(&end, r.payload.data(), sizeof end);
  return std::max(end.last_seq, r.header.seq);
}

absl::StatusOr<TailScan> scan_tail(const std::filesystem::path& segment, const io::File& file, bool full) {
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

  auto loaded = load_index(index_path(segment), interval, header->segment_index);
  std::vector<IndexEntry> entries = loaded.ok() ? *loaded : std::vector<IndexEntry>{};
  const std::size_t loaded_count = entries.size();
  const StartPoint start = start_point(image, *header, entries, full);
  DecodedRecord first = decode_record(image, kSegmentHeaderSize);
  if (first.status == DecodeStatus::kOk && first.header.type != kTypeEndOfSegment) {
    t.scan.first_seq = first.header.seq;
    t.scan.first_wall_ns = first.header.wall_ns;
  } else {
    t.scan.first_seq = header->first_seq;
  }
  std::uint64_t ordinal = start.ordinal;
  SegmentWalk w = walk_segment(image, start.offset, start.after_seq, [&](std::uint64_t offset, const DecodedRecord& r) {
    if (interval != 0 && ordinal % interval == 0) {
      entries.push_back({r.header.seq, r.header.mono_ns, r.header.wall_ns, offset});
    }
    ++ordinal;
  });
  t.scan.records = ordinal;
  t.scan.last_seq = w.last_seq;
  t.scan.last_wall_ns = w.last_wall_ns;
  t.scan.valid_end = std::min<std::uint64_t>(w.valid_end, *size);
  t.scan.end_marker = w.end_marker;
  t.scan.damage = std::move(w.damage);
  t.scan.tail = w.tail;
  t.index_changed = !loaded.ok() || entries.size() != loaded_count ||
                    (loaded.ok() && !std::equal(entries.begin(), entries.end(), loaded->begin()));
  t.entries = std::move(entries);
  return t;
}

}  // namespace

SegmentWalk walk_segment(std::span<const std::byte> image, std::uint64_t offset, std::uint64_t after_seq,
                         const RecordFn& on_record, const DamageFn& on_damage) {
  SegmentWalk w;
  w.valid_end = std::min<std::uint64_t>(offset, image.size());
  std::uint64_t last = after_seq;
  std::uint64_t last_wall = 0;
  std::optional<DamagedRange> open;  // damage seen, its end not yet found
  auto close_damage = [&](std::uint64_t at, std::uint64_t resume_seq) {
    open->end = at;
    open->resume_seq = resume_seq;
    if (on_damage) on_damage(*open);
    open->resume_records = w.records;  // records before it, for now: see the end of the walk
    w.damage.push_back(*open);
    open.reset();
  };
  while (offset < image.size()) {
    DecodedRecord r = decode_record(image, offset);
    const bool is_end = r.status == DecodeStatus::kOk && r.header.type == kTypeEndOfSegment;
    // Seqs rise within a segment; the end record repeats the last one.
    const bool in_order = is_end ? r.header.seq >= last : (r.header.seq > last || (w.records == 0 && !open));
    if (r.status == DecodeStatus::kOk && in_order) {
      w.valid_end = r.next;
      if (is_end) {
        // The lost seqs run to the end record's last_seq.
        if (open) close_damage(offset, std::max(highest_end_seq(r), last) + 1);
        // Covered up to what the end record says, a damaged last record included:
        // those seqs were issued and are never issued again.
        w.last_seq = std::max(w.last_seq, highest_end_seq(r));
        w.end_marker = true;
        w.bytes_after_end = !all_zero(image, r.next);
        break;
      }
      if (open) close_damage(offset, r.header.seq);
      if (on_record) on_record(offset, r);
      if (w.records++ == 0) {
        w.first_seq = r.header.seq;
        w.first_wall_ns = r.header.wall_ns;
      }
      last = std::max(last, highest_seq(r));
      w.last_seq = std::max(w.last_seq, highest_seq(r));
      last_wall = std::max(last_wall, r.header.wall_ns);
      w.last_wall_ns = r.header.wall_ns;
      offset = r.next;
      continue;
    }
    // No valid record here: the end of the data, or damage to skip.
    const std::optional<std::size_t> next =
        find_next_record(image, offset + kRecordAlign, last > 0 ? last - 1 : 0, last_wall);
    const DecodeStatus why = r.status == DecodeStatus::kOk ? DecodeStatus::kBadLength : r.status;  // kOk: out of order
    if (!open) {
      open = DamagedRange{};
      open->begin = offset;
      open->why = why;
      open->after_seq = last;
    }
    if (!next) {
      if (!all_zero(image, offset) || open->begin != offset) {
        open->end = image.size();
        w.tail = *open;
      }
      open.reset();
      break;
    }
    offset = *next;
  }
  for (auto& d : w.damage) d.resume_records = w.records - d.resume_records;
  return w;
}

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
  auto t = scan_tail(segment, *file, false);
  if (!t.ok()) return t.status();
  return t->scan;
}

absl::StatusOr<SegmentScan> scan_segment(const std::filesystem::path& segment) {
  auto file = io::open_file(segment, O_RDONLY);
  if (!file.ok()) return file.status();
  auto t = scan_tail(segment, *file, true);
  if (!t.ok()) return t.status();
  return t->scan;
}

absl::StatusOr<SegmentScan> recover_segment(const std::filesystem::path& segment, Repair repair, bool full) {
  auto file = io::open_file(segment, O_RDWR);
  if (!file.ok()) return file.status();
  auto t = scan_tail(segment, *file, full);
  if (!t.ok()) return t.status();
  SegmentScan& scan = t->scan;
  // Only what holds no valid record is ever cut: a torn tail of the last
  // segment, or the zeros a roll reserved after an earlier segment's end record.
  const bool cut = scan.file_size > scan.valid_end && (repair == Repair::kLastSegment || scan.end_marker);
  if (cut) {
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

std::vector<IndexEntry> index_entries(std::span<const std::byte> image, std::uint32_t interval) {
  std::vector<IndexEntry> entries;
  auto header = decode_segment_header(image);
  if (!header.ok()) return entries;
  std::uint64_t ordinal = 0;
  walk_segment(image, kSegmentHeaderSize, header->first_seq > 0 ? header->first_seq - 1 : 0,
               [&](std::uint64_t offset, const DecodedRecord& r) {
                 if (interval != 0 && ordinal % interval == 0) {
                   entries.push_back({r.header.seq, r.header.mono_ns, r.header.wall_ns, offset});
                 }
                 ++ordinal;
               });
  return entries;
}

bool is_journal_temporary(std::string_view name) {
  if (name == ".ring.tmp" || name == ".manifest.tmp") return true;
  // .spare-NNNNNN.seg.tmp and .spare-NNNNNN.idx.tmp
  constexpr std::string_view kSpare = ".spare-";
  if (name.starts_with(kSpare) && (name.ends_with(".seg.tmp") || name.ends_with(".idx.tmp"))) {
    const std::string_view digits = name.substr(kSpare.size(), name.size() - kSpare.size() - 8);
    return !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  // <segment>.idx.tmp: an index being rewritten.
  constexpr std::string_view kIndexTmp = ".idx.tmp";
  if (name.ends_with(kIndexTmp)) return parse_segment_index(name.substr(0, name.size() - kIndexTmp.size())) != 0;
  return false;
}

absl::Status remove_temporaries(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> doomed;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    if (is_journal_temporary(it->path().filename().string())) doomed.push_back(it->path());
  }
  if (ec) return io::errno_status(ec.value(), "list", dir);
  for (const auto& p : doomed) {
    if (auto s = io::remove_file(p); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tickwire::journal
