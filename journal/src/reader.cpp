#include "tickwire/journal/reader.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "tickwire/journal/history.hpp"

namespace tickwire::journal {

namespace {

// highest_end_seq: the last seq an end record says its segment covered.
std::uint64_t highest_end_seq(const DecodedRecord& r) {
  EndPayload end{};
  if (r.payload.size() < sizeof end) return r.header.seq;
  // Safety: the payload holds at least one EndPayload; the type is trivially copyable.
  std::memcpy(&end, r.payload.data(), sizeof end);
  return std::max(end.last_seq, r.header.seq);
}

}  // namespace

absl::StatusOr<Reader> Reader::open(const std::filesystem::path& dir) {
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  Reader r;
  r.dir_ = dir;
  // Order by header (segment index, first seq); a header that does not decode keeps its name's place.
  std::vector<std::pair<std::pair<std::uint64_t, std::uint64_t>, SegmentFile>> keyed;
  for (const SegmentInfo& info : read_segment_infos(*segs)) {
    const auto key = info.header ? std::pair(info.header->segment_index, info.header->first_seq)
                                 : std::pair(info.file.index, std::uint64_t{0});
    if (info.header && info.header->segment_index != info.file.index) {
      r.problems_.push_back(fmt::format("{}: named segment {} but its header says segment {}; read in header order",
                                        info.file.path.string(), info.file.index, info.header->segment_index));
    }
    keyed.emplace_back(key, info.file);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [key, file] : keyed) r.segments_.push_back(std::move(file));
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
  if (!header.ok()) {
    // Nothing in it can be trusted to belong here: skipped, named, and the reader goes on.
    problems_.push_back(fmt::format("{}: {}: segment skipped", path.string(), io::message(header.status())));
    damage_pending_ = true;
    return open_segment(i + 1);
  }
  header_ = *header;
  offset_ = kSegmentHeaderSize;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<RecordView>> Reader::next() {
  while (current_ < segments_.size()) {
    const std::span<const std::byte> image = map_.bytes();
    DecodedRecord r = decode_record(image, offset_);
    if (r.status == DecodeStatus::kOk && r.header.type == kTypeEndOfSegment) {
      const std::uint64_t end_last = highest_end_seq(r);
      if (damage_pending_ && last_seq_ && end_last > *last_seq_) {
        // Damage just before the end record: the end record says which seqs it held.
        made_gap_ = GapPayload{*last_seq_ + 1, end_last, end_last - *last_seq_};
        damage_pending_ = false;
        last_seq_ = end_last;
        // Safety: GapPayload is trivially copyable; the span views the member until the next call.
        return RecordView{made_gap_.first_missing, 0, r.header.wall_ns, kTypeGap,
                          std::as_bytes(std::span(&made_gap_, 1)), true};
      }
      if (auto s = open_segment(current_ + 1); !s.ok()) return s;
      continue;
    }
    const auto& path = segments_[current_].path;
    if (r.status == DecodeStatus::kOk) {
      if (last_seq_ && r.header.seq <= *last_seq_) {
        problems_.push_back(fmt::format("{}: offset {}: seq {} not above {} already read (a duplicated or "
                                        "overlapping segment): skipped", path.string(), offset_, r.header.seq,
                                        *last_seq_));
        offset_ = r.next;
        continue;
      }
      // Damage before the first record delivered: the segment header says where its seqs begin.
      const std::optional<std::uint64_t> before =
          last_seq_ ? last_seq_
                    : (damage_pending_ && header_.first_seq > 0 ? std::optional(header_.first_seq - 1) : std::nullopt);
      if (before && r.header.seq > *before + 1) {
        // Seqs in no valid record: a gap the reader makes, before this record.
        made_gap_ = GapPayload{*before + 1, r.header.seq - 1, r.header.seq - 1 - *before};
        if (!damage_pending_) {
          problems_.push_back(fmt::format("{}: offset {}: seqs {}..{} are in no segment (missing history)",
                                          path.string(), offset_, made_gap_.first_missing, made_gap_.last_missing));
        }
        damage_pending_ = false;
        last_seq_ = made_gap_.last_missing;
        // Safety: GapPayload is trivially copyable; the span views the member until the next call.
        return RecordView{made_gap_.first_missing, 0, r.header.wall_ns, kTypeGap,
                          std::as_bytes(std::span(&made_gap_, 1)), true};
      }
      damage_pending_ = false;
      last_offset_ = offset_;
      offset_ = r.next;
      last_seq_ = std::max(last_seq_.value_or(0), highest_seq(r));
      return RecordView{r.header.seq, r.header.mono_ns, r.header.wall_ns, r.header.type, r.payload, false};
    }
    // No valid record here: the end of this segment's data, or damage to skip.
    const auto resume = find_next_record(image, offset_ + kRecordAlign, last_seq_.value_or(0), 0);
    if (resume || !all_zero(image, offset_)) {
      std::string detail(to_string(r.status));
      if (r.status == DecodeStatus::kBadCrc) {
        detail = fmt::format("crc mismatch (stored {:#010x}, computed {:#010x})", r.header.crc, r.computed_crc);
      }
      const std::uint64_t end = resume ? *resume : image.size();
      problems_.push_back(fmt::format("{}: offset {}: {}: bytes {}..{} skipped", path.string(), offset_, detail,
                                      offset_, end));
      damage_pending_ = true;
    }
    if (resume) {
      offset_ = *resume;
      continue;
    }
    if (auto s = open_segment(current_ + 1); !s.ok()) return s;
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
  last_seq_.reset();
  damage_pending_ = false;
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
  last_seq_.reset();
  damage_pending_ = false;
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
