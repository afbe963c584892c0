#include "tickwire/journal/tailer.hpp"

#include <fcntl.h>

#include <array>
#include <cstring>

#include "tickwire/journal/recovery.hpp"

namespace tickwire::journal {
namespace {

// How often an idle tailer lists the directory looking for a later segment.
constexpr auto kListingPeriod = std::chrono::milliseconds(1);

}  // namespace

absl::StatusOr<Tailer> Tailer::open(const std::filesystem::path& dir, std::uint64_t from_seq) {
  Tailer t;
  t.dir_ = dir;
  t.from_seq_ = from_seq;
  return t;
}

absl::StatusOr<bool> Tailer::advance() {
  auto segs = list_segments(dir_);
  if (!segs.ok()) return segs.status();
  for (const auto& s : *segs) {
    if (s.index <= current_index_) continue;
    auto file = io::open_file(s.path, O_RDONLY);
    if (!file.ok()) {
      if (file.status().code() == absl::StatusCode::kNotFound) continue;  // removed by retention or recovery
      return file.status();
    }
    std::array<std::byte, kSegmentHeaderSize> header{};
    auto got = file->read_at(0, header);
    if (!got.ok()) return got.status();
    // A segment appears under its final name only complete (write-temp + rename).
    if (!decode_segment_header(std::span(header.data(), *got)).ok()) continue;
    file_ = std::move(*file);
    current_index_ = s.index;
    offset_ = kSegmentHeaderSize;
    return true;
  }
  return false;
}

absl::StatusOr<bool> Tailer::later_segment_exists() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_listing_) return false;
  next_listing_ = now + kListingPeriod;
  auto segs = list_segments(dir_);
  if (!segs.ok()) return segs.status();
  return !segs->empty() && segs->back().index > current_index_;
}

absl::StatusOr<DecodedRecord> Tailer::read_record(std::uint32_t length) {
  const std::size_t want = align_record(std::max<std::size_t>(length, kRecordHeaderSize));
  if (want > buffer_.size()) {
    // A length word is untrusted until the CRC checks: never allocate past the file.
    auto size = file_.size();
    if (!size.ok()) return size.status();
    if (offset_ > *size || want > *size - offset_) {
      DecodedRecord truncated;
      truncated.status = DecodeStatus::kTruncated;
      return truncated;
    }
    buffer_.resize(want);
  }
  auto n = file_.read_at(offset_, std::span(buffer_.data(), want));
  if (!n.ok()) return n.status();
  return decode_record(std::span(buffer_.data(), *n), 0);
}

absl::StatusOr<std::optional<RecordView>> Tailer::poll() {
  for (;;) {
    if (!file_.is_open()) {
      const auto now = std::chrono::steady_clock::now();
      if (now < next_listing_) return std::optional<RecordView>{};
      auto opened = advance();
      if (!opened.ok()) return opened.status();
      if (!*opened) {
        next_listing_ = now + kListingPeriod;
        return std::optional<RecordView>{};
      }
    }
    std::uint32_t length = 0;
    auto got = file_.read_at(offset_, std::as_writable_bytes(std::span(&length, 1)));
    if (!got.ok()) return got.status();
    bool stalled = *got < sizeof length || length == 0;
    DecodedRecord r;
    if (!stalled) {
      auto decoded = read_record(length);
      if (!decoded.ok()) return decoded.status();
      r = *decoded;
      stalled = r.status != DecodeStatus::kOk;
    }
    if (stalled) {
      // Nothing committed here yet, or a torn tail left by a crash: it ends
      // this segment only once the writer has moved on to a later one.
      auto later = later_segment_exists();
      if (!later.ok()) return later.status();
      if (!*later) return std::optional<RecordView>{};
      got = file_.read_at(offset_, std::as_writable_bytes(std::span(&length, 1)));
      if (!got.ok()) return got.status();
      if (*got == sizeof length && length != 0) {
        auto decoded = read_record(length);
        if (!decoded.ok()) return decoded.status();
        r = *decoded;
        if (r.status == DecodeStatus::kOk) stalled = false;
      }
      if (stalled) {
        file_ = io::File();
        continue;
      }
    }
    offset_ += align_record(r.header.length);
    if (r.header.type == kTypeEndOfSegment) {
      file_ = io::File();
      continue;
    }
    const std::uint64_t high = highest_seq(r);
    if (high < from_seq_ || (delivered_ != 0 && r.header.seq <= delivered_)) continue;
    delivered_ = high;
    return RecordView{r.header.seq, r.header.mono_ns, r.header.wall_ns, r.header.type, r.payload};
  }
}

}  // namespace tickwire::journal
