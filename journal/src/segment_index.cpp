#include "tickwire/journal/segment_index.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <cstring>

#include "tickwire/journal/io.hpp"
#include "tickwire/journal/segment_format.hpp"

namespace tickwire::journal {

std::filesystem::path index_path(const std::filesystem::path& segment) {
  std::filesystem::path p = segment;
  p += ".idx";
  return p;
}

IndexHeader make_index_header(std::uint32_t interval, std::uint64_t segment_index) {
  IndexHeader h{};
  h.magic = kIndexMagic;
  h.version = kFormatVersion;
  h.interval = interval;
  h.segment_index = segment_index;
  return h;
}

absl::StatusOr<std::vector<IndexEntry>> load_index(const std::filesystem::path& idx, std::uint32_t interval,
                                                   std::uint64_t segment_index) {
  auto file = io::open_file(idx, O_RDONLY);
  if (!file.ok()) return file.status();
  auto size = file->size();
  if (!size.ok()) return size.status();
  std::vector<std::byte> bytes(*size);
  auto got = file->read_at(0, bytes);
  if (!got.ok()) return got.status();
  if (*got < sizeof(IndexHeader)) return absl::DataLossError(fmt::format("{}: shorter than its header", idx.string()));
  IndexHeader h;
  // Safety: at least sizeof(IndexHeader) bytes were read; the type is trivially copyable.
  std::memcpy(&h, bytes.data(), sizeof h);
  if (h.magic != kIndexMagic || h.version != kFormatVersion || h.interval != interval ||
      h.segment_index != segment_index) {
    return absl::DataLossError(fmt::format("{}: header does not match its segment", idx.string()));
  }
  std::size_t n = (*got - sizeof h) / sizeof(IndexEntry);
  std::vector<IndexEntry> entries(n);
  // Safety: n whole entries follow the header in `bytes`; IndexEntry is trivially copyable.
  if (n != 0) std::memcpy(entries.data(), bytes.data() + sizeof h, n * sizeof(IndexEntry));
  for (std::size_t i = 0; i < n; ++i) {
    const IndexEntry& e = entries[i];
    bool ordered = i == 0 || (e.seq > entries[i - 1].seq && e.offset > entries[i - 1].offset &&
                              e.wall_ns >= entries[i - 1].wall_ns);
    if (!ordered || e.offset % kRecordAlign != 0 || e.offset < kSegmentHeaderSize) {
      return absl::DataLossError(fmt::format("{}: entry {} out of order or misaligned", idx.string(), i));
    }
  }
  return entries;
}

std::vector<IndexEntry> scan_index(std::span<const std::byte> image, std::uint32_t interval) {
  std::vector<IndexEntry> entries;
  std::size_t offset = kSegmentHeaderSize;
  for (std::uint64_t n = 0;; ++n) {
    DecodedRecord r = decode_record(image, offset);
    if (r.status != DecodeStatus::kOk || r.header.type == kTypeEndOfSegment) break;
    if (interval != 0 && n % interval == 0) {
      entries.push_back({r.header.seq, r.header.mono_ns, r.header.wall_ns, offset});
    }
    offset = r.next;
  }
  return entries;
}

absl::Status write_index(const std::filesystem::path& idx, std::uint32_t interval, std::uint64_t segment_index,
                         std::span<const IndexEntry> entries) {
  std::filesystem::path tmp = idx;
  tmp += ".tmp";
  // Ours by its exact name (`<segment>.idx.tmp`), left by a crash between create
  // and rename: removed (unlink never follows a link), then made anew with
  // O_EXCL, so nothing planted under that name is ever written through.
  if (auto s = io::remove_file(tmp); !s.ok()) return s;
  auto file = io::open_file(tmp, O_WRONLY | O_CREAT | O_EXCL);
  if (!file.ok()) return file.status();
  IndexHeader h = make_index_header(interval, segment_index);
  // Safety: IndexHeader is trivially copyable; viewed as its bytes.
  if (auto s = file->write_at(0, std::as_bytes(std::span(&h, 1))); !s.ok()) return s;
  if (auto s = file->write_at(sizeof h, std::as_bytes(entries)); !s.ok()) return s;
  if (auto s = file->sync_data(); !s.ok()) return s;
  if (auto s = file->close(); !s.ok()) return s;
  return io::rename_durable(tmp, idx);
}

absl::Status rebuild_index(const std::filesystem::path& segment) {
  auto file = io::open_file(segment, O_RDONLY);
  if (!file.ok()) return file.status();
  auto size = file->size();
  if (!size.ok()) return size.status();
  auto map = io::Mapping::map(*file, *size, false);
  if (!map.ok()) return map.status();
  auto header = decode_segment_header(map->bytes());
  if (!header.ok()) return absl::DataLossError(fmt::format("{}: {}", segment.string(), io::message(header.status())));
  return write_index(index_path(segment), header->index_interval, header->segment_index,
                     scan_index(map->bytes(), header->index_interval));
}

}  // namespace tickwire::journal
