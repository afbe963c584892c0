#include "tickwire/journal/segment_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "tickwire/journal/crc32c.hpp"

namespace tickwire::journal {

SegmentHeader make_segment_header(std::uint64_t segment_index, std::uint64_t first_seq,
                                  std::uint64_t created_wall_ns, std::string_view feed) {
  SegmentHeader h{};
  h.magic = kSegmentMagic;
  h.version = kFormatVersion;
  h.header_size = kSegmentHeaderSize;
  h.segment_index = segment_index;
  h.first_seq = first_seq;
  h.created_wall_ns = created_wall_ns;
  h.feed_length = static_cast<std::uint16_t>(std::min(feed.size(), kFeedMax));
  std::copy_n(feed.data(), h.feed_length, h.feed.data());
  return h;
}

void seal_segment_header(SegmentHeader& header) {
  header.crc = crc32c(&header, offsetof(SegmentHeader, crc));
}

absl::StatusOr<SegmentHeader> decode_segment_header(std::span<const std::byte> image) {
  if (image.size() < kSegmentHeaderSize) {
    return absl::DataLossError(fmt::format("header: file is {} bytes, shorter than the {}-byte segment header",
                                           image.size(), kSegmentHeaderSize));
  }
  SegmentHeader h;
  // Safety: SegmentHeader is trivially copyable and image holds at least sizeof(h) bytes.
  std::memcpy(&h, image.data(), sizeof h);
  if (h.magic != kSegmentMagic) return absl::DataLossError("header: bad magic (not a tickwire segment)");
  std::uint32_t computed = crc32c(&h, offsetof(SegmentHeader, crc));
  if (computed != h.crc) {
    return absl::DataLossError(
        fmt::format("header: crc mismatch (stored {:#010x}, computed {:#010x})", h.crc, computed));
  }
  if (h.version != kFormatVersion) {
    return absl::FailedPreconditionError(
        fmt::format("header: format version {} (this build reads {})", h.version, kFormatVersion));
  }
  if (h.header_size != kSegmentHeaderSize || h.feed_length > kFeedMax) {
    return absl::DataLossError(fmt::format("header: bad header size {} or feed length {}", h.header_size,
                                           h.feed_length));
  }
  return h;
}

std::string_view to_string(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::kOk:
      return "ok";
    case DecodeStatus::kEmpty:
      return "no record";
    case DecodeStatus::kTruncated:
      return "record runs past end of file";
    case DecodeStatus::kBadLength:
      return "bad length";
    case DecodeStatus::kBadCrc:
      return "crc mismatch";
  }
  return "unknown";
}

std::uint32_t record_crc(const RecordHeader& header, std::span<const std::byte> payload) {
  std::uint32_t c = crc32c(&header.length, sizeof header.length);
  // Safety: the header is a standard-layout struct; bytes [8, 40) are seq..reserved.
  c = crc32c_extend(c, reinterpret_cast<const std::byte*>(&header) + 8, kRecordHeaderSize - 8);
  return crc32c_extend(c, payload.data(), payload.size());
}

DecodedRecord decode_record(std::span<const std::byte> image, std::size_t offset) {
  DecodedRecord r;
  if (offset > image.size() || image.size() - offset < sizeof(std::uint32_t)) return r;
  std::uint32_t length;
  // Safety: at least 4 bytes remain at offset (checked above).
  std::memcpy(&length, image.data() + offset, sizeof length);
  if (length == 0) return r;
  if (offset % kRecordAlign != 0 || length < kRecordHeaderSize) {
    r.status = DecodeStatus::kBadLength;
    return r;
  }
  if (length > image.size() - offset) {
    r.status = DecodeStatus::kTruncated;
    return r;
  }
  // Safety: length >= kRecordHeaderSize bytes remain at offset (checked above).
  std::memcpy(&r.header, image.data() + offset, kRecordHeaderSize);
  r.payload = image.subspan(offset + kRecordHeaderSize, length - kRecordHeaderSize);
  r.computed_crc = crc32c_extend(crc32c(&length, sizeof length), image.data() + offset + 8, length - 8);
  r.next = offset + align_record(length);
  r.status = r.computed_crc == r.header.crc ? DecodeStatus::kOk : DecodeStatus::kBadCrc;
  return r;
}

std::optional<std::size_t> find_next_record(std::span<const std::byte> image, std::size_t from,
                                            std::uint64_t after_seq, std::uint64_t min_wall_ns) {
  for (std::size_t offset = align_record(from); offset < image.size() && image.size() - offset >= kRecordHeaderSize;
       offset += kRecordAlign) {
    std::uint32_t length;
    // Safety: kRecordHeaderSize bytes remain at offset (loop condition).
    std::memcpy(&length, image.data() + offset, sizeof length);
    if (length < kRecordHeaderSize || length > image.size() - offset) continue;  // zero words end here
    RecordHeader h;
    // Safety: as above; RecordHeader is trivially copyable.
    std::memcpy(&h, image.data() + offset, kRecordHeaderSize);
    if (h.seq <= after_seq || h.wall_ns < min_wall_ns) continue;
    if (decode_record(image, offset).status == DecodeStatus::kOk) return offset;
  }
  return std::nullopt;
}

bool all_zero(std::span<const std::byte> image, std::size_t from) {
  if (from >= image.size()) return true;
  return std::all_of(image.begin() + static_cast<std::ptrdiff_t>(from), image.end(),
                     [](std::byte b) { return b == std::byte{0}; });
}

std::uint64_t highest_seq(const DecodedRecord& r) {
  if (r.header.type == kTypeGap && r.payload.size() >= sizeof(GapPayload)) {
    GapPayload g;
    // Safety: payload holds at least sizeof(GapPayload) bytes; GapPayload is trivially copyable.
    std::memcpy(&g, r.payload.data(), sizeof g);
    return std::max(g.last_missing, r.header.seq);
  }
  return r.header.seq;
}

std::string segment_file_name(std::uint64_t created_wall_ns, std::uint64_t segment_index) {
  auto secs = static_cast<std::time_t>(created_wall_ns / 1'000'000'000u);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:06}.seg", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, segment_index);
}

std::uint64_t parse_segment_index(std::string_view name) {
  // YYYYMMDDTHHMMSSZ-N.seg
  constexpr std::size_t kPrefix = 17;
  if (name.size() <= kPrefix + 4 || name.substr(name.size() - 4) != ".seg" || name[8] != 'T' ||
      name[15] != 'Z' || name[16] != '-') {
    return 0;
  }
  std::string_view digits = name.substr(kPrefix, name.size() - kPrefix - 4);
  std::uint64_t index = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size()) return 0;
  return index;
}

}  // namespace tickwire::journal
