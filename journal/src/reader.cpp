#include "tickwire/journal/reader.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>

namespace tickwire::journal {

absl::StatusOr<Reader> Reader::open(const std::filesystem::path& dir) {
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  Reader r;
  r.dir_ = dir;
  r.segments_ = std::move(*segs);
  r.current_ = r.segments_.size();
  if (!r.segments_.empty()) {
    if (auto s = r.open_segment(0); !s.ok()) return s;
  }
  return r;
}

const std::filesystem::path& Reader::current_segment() const {
  static const std::filesystem::path kNone;
  return current_ < segments_.size() ? segments_[current_].path : kNone;
}

absl::Status Reader::open_segment(std::size_t i) {
  map_ = io::Mapping();
  index_loaded_ = false;
  index_.clear();
  current_ = i;
  if (i >= segments_.size()) return absl::OkStatus();
  const auto& path = segments_[i].path;
  auto file = io::open_file(path, O_RDONLY);
  if (!file.ok()) return file.status();
  auto size = file->size();
  if (!size.ok()) return size.status();
  auto map = io::Mapping::map(*file, *size, false);
  if (!map.ok()) return map.status();
  map_ = std::move(*map);
  auto header = decode_segment_header(map_.bytes());
  if (!header.ok()) return absl::DataLossError(fmt::format("{}: {}", path.string(), io::message(header.status())));
  header_ = *header;
  offset_ = kSegmentHeaderSize;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<RecordView>> Reader::next() {
  while (current_ < segments_.size()) {
    DecodedRecord r = decode_record(map_.bytes(), offset_);
    if (r.status == DecodeStatus::kEmpty || (r.status == DecodeStatus::kOk && r.header.type == kTypeEndOfSegment)) {
      if (auto s = open_segment(current_ + 1); !s.ok()) return s;
      continue;
    }
    if (r.status != DecodeStatus::kOk) {
      std::string detail(to_string(r.status));
      if (r.status == DecodeStatus::kBadCrc) {
        detail = fmt::format("crc mismatch (stored {:#010x}, computed {:#010x})", r.header.crc, r.computed_crc);
      }
      return absl::DataLossError(fmt::format("{}: offset {}: {}", segments_[current_].path.string(), offset_, detail));
    }
    last_offset_ = offset_;
    offset_ = r.next;
    return RecordView{r.header.seq, r.header.mono_ns, r.header.wall_ns, r.header.type, r.payload};
  }
  return std::optional<RecordView>{};
}

absl::StatusOr<const std::vector<IndexEntry>*> Reader::index() {
  if (!index_loaded_) {
    const auto& path = segments_[current_].path;
    auto loaded = load_index(index_path(path), header_.index_interval, header_.segment_index);
    bool usable = loaded.ok();
    if (usable && !loaded->empty()) {
      // The index is a cache: trust it only if its last entry names a record that is there.
      DecodedRecord r = decode_record(map_.bytes(), loaded->back().offset);
      usable = r.status == DecodeStatus::kOk && r.header.seq == loaded->back().seq;
    }
    index_ = usable ? std::move(*loaded) : scan_index(map_.bytes(), header_.index_interval);
    index_loaded_ = true;
  }
  return &index_;
}

absl::StatusOr<SegmentHeader> Reader::header_of(std::size_t i) const {
  auto file = io::open_file(segments_[i].path, O_RDONLY);
  if (!file.ok()) return file.status();
  std::array<std::byte, kSegmentHeaderSize> bytes{};
  auto got = file->read_at(0, bytes);
  if (!got.ok()) return got.status();
  auto h = decode_segment_header(std::span(bytes.data(), *got));
  if (!h.ok()) return absl::DataLossError(fmt::format("{}: {}", segments_[i].path.string(), io::message(h.status())));
  return h;
}

absl::Status Reader::seek_in_segment(std::size_t i, std::uint64_t key, bool by_seq) {
  if (auto s = open_segment(i); !s.ok()) return s;
  if (current_ >= segments_.size()) return absl::OkStatus();
  auto idx = index();
  if (!idx.ok()) return idx.status();
  const auto& entries = **idx;
  // The last entry strictly before the key; records before it are all below the key.
  auto it = std::partition_point(entries.begin(), entries.end(), [&](const IndexEntry& e) {
    return by_seq ? e.seq < key : e.wall_ns < key;
  });
  offset_ = it == entries.begin() ? kSegmentHeaderSize : std::prev(it)->offset;
  // Scan forward to the first record at or past the key (next() crosses into later segments).
  for (;;) {
    DecodedRecord r = decode_record(map_.bytes(), offset_);
    if (r.status != DecodeStatus::kOk || r.header.type == kTypeEndOfSegment) return absl::OkStatus();
    if ((by_seq ? highest_seq(r) : r.header.wall_ns) >= key) return absl::OkStatus();
    offset_ = r.next;
  }
}

absl::Status Reader::seek_seq(std::uint64_t seq) {
  // The last segment whose first seq is <= seq: every earlier record is below it.
  std::size_t lo = 0, hi = segments_.size();
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    auto h = header_of(mid);
    if (!h.ok()) return h.status();
    if (h->first_seq <= seq) lo = mid + 1; else hi = mid;
  }
  return seek_in_segment(lo == 0 ? 0 : lo - 1, seq, true);
}

absl::Status Reader::seek_time(std::uint64_t wall_ns) {
  // The last segment created strictly before wall_ns: wall stamps never
  // decrease, so every record of the segments before it is earlier.
  std::size_t lo = 0, hi = segments_.size();
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    auto h = header_of(mid);
    if (!h.ok()) return h.status();
    if (h->created_wall_ns < wall_ns) lo = mid + 1; else hi = mid;
  }
  return seek_in_segment(lo == 0 ? 0 : lo - 1, wall_ns, false);
}

}  // namespace tickwire::journal
