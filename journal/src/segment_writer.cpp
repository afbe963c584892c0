#include "tickwire/journal/segment_writer.hpp"

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace tickwire::journal {
namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kTouchAhead = 1u << 20;  // pages kept pre-faulted ahead of the write offset

}  // namespace

absl::StatusOr<SegmentWriter> SegmentWriter::create(const std::filesystem::path& dir, const SegmentHeader& header,
                                                    std::size_t capacity) {
  const std::filesystem::path final_path = dir / segment_file_name(header.created_wall_ns, header.segment_index);
  std::filesystem::path tmp = dir / ("." + final_path.filename().string() + ".tmp");
  SegmentWriter w;
  w.header_ = header;
  seal_segment_header(w.header_);
  w.capacity_ = capacity;
  {
    auto file = io::open_file(tmp, O_RDWR | O_CREAT | O_TRUNC);
    if (!file.ok()) return file.status();
    if (auto s = file->allocate(capacity); !s.ok()) return s;
    // Safety: SegmentHeader is trivially copyable; written as its bytes.
    if (auto s = file->write_at(0, std::as_bytes(std::span(&w.header_, 1))); !s.ok()) return s;
    if (auto s = file->sync_data(); !s.ok()) return s;
    w.file_ = std::move(*file);
  }
  // The index first, so a segment never exists without one.
  const std::filesystem::path idx = index_path(final_path);
  if (auto s = write_index(idx, header.index_interval, header.segment_index, {}); !s.ok()) return s;
  if (auto s = io::rename_durable(tmp, final_path); !s.ok()) return s;
  w.file_.set_path(final_path);
  auto index_file = io::open_file(idx, O_WRONLY);
  if (!index_file.ok()) return index_file.status();
  w.index_file_ = std::move(*index_file);
  auto map = io::Mapping::map(w.file_, capacity, true);
  if (!map.ok()) return map.status();
  w.map_ = std::move(*map);
  w.touched_ = kSegmentHeaderSize;
  w.touch_ahead();
  return w;
}

void SegmentWriter::touch_ahead() {
  const std::size_t limit = std::min(capacity_, offset_ + kTouchAhead);
  std::size_t page = (touched_ + kPage - 1) / kPage * kPage;
  for (; page < limit; page += kPage) {
    // Safety: page < capacity_, inside the writable mapping; the page is beyond
    // every record written so far, so it is zero and rewriting it changes nothing.
    volatile std::byte* b = map_.data() + page;
    *b = std::byte{0};
  }
  touched_ = std::max(touched_, limit);
}

void SegmentWriter::append(std::uint64_t seq, std::uint64_t mono_ns, std::uint64_t wall_ns, std::uint16_t type,
                           std::span<const std::byte> payload) {
  RecordHeader h{};
  h.length = static_cast<std::uint32_t>(kRecordHeaderSize + payload.size());
  h.seq = seq;
  h.mono_ns = mono_ns;
  h.wall_ns = wall_ns;
  h.type = type;
  h.crc = record_crc(h, payload);
  std::byte* rec = map_.data() + offset_;
  // Safety: fits() guaranteed [offset_, offset_ + aligned length) is inside the mapping;
  // the length word (the first 4 bytes) is written last, below.
  std::memcpy(rec + 4, reinterpret_cast<const std::byte*>(&h) + 4, kRecordHeaderSize - 4);
  if (!payload.empty()) std::memcpy(rec + kRecordHeaderSize, payload.data(), payload.size());
  // release: pairs with readers in other processes (Tailer reads the length
  // word, then the record, through the same page cache); the record's bytes
  // are visible before a non-zero length is.
  std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(rec)).store(h.length, std::memory_order_release);
  if (type != kTypeEndOfSegment) {
    if (header_.index_interval != 0 && --until_index_ == 0) {
      pending_index_.push_back({seq, mono_ns, wall_ns, offset_});
      until_index_ = header_.index_interval;
    }
    ++records_;
    last_seq_ = std::max(last_seq_, seq);
    if (type == kTypeGap && payload.size() >= sizeof(GapPayload)) {
      GapPayload g;
      // Safety: payload holds a whole GapPayload (checked); the type is trivially copyable.
      std::memcpy(&g, payload.data(), sizeof g);
      last_seq_ = std::max(last_seq_, g.last_missing);
    }
  }
  offset_ += align_record(h.length);
  if (offset_ + kTouchAhead / 2 > touched_) touch_ahead();
}

absl::Status SegmentWriter::flush_index() {
  if (pending_index_.empty()) return absl::OkStatus();
  const std::uint64_t at = sizeof(IndexHeader) + index_entries_written_ * sizeof(IndexEntry);
  if (auto s = index_file_.write_at(at, std::as_bytes(std::span(pending_index_))); !s.ok()) return s;
  index_entries_written_ += pending_index_.size();
  pending_index_.clear();
  return absl::OkStatus();
}

absl::Status SegmentWriter::sync() { return file_.sync_data(); }

absl::Status SegmentWriter::finish(EndReason reason, std::uint64_t wall_ns) {
  EndPayload end{records_, last_seq_, static_cast<std::uint32_t>(reason), 0};
  // Safety: EndPayload is trivially copyable; appended as its bytes. fits() always
  // leaves kEndRecordSize bytes for it.
  append(last_seq_, 0, wall_ns, kTypeEndOfSegment, std::as_bytes(std::span(&end, 1)));
  if (auto s = flush_index(); !s.ok()) return s;
  if (auto s = index_file_.sync_data(); !s.ok()) return s;
  map_ = io::Mapping();
  if (auto s = file_.truncate(offset_); !s.ok()) return s;
  if (auto s = file_.sync_data(); !s.ok()) return s;
  if (auto s = index_file_.close(); !s.ok()) return s;
  return file_.close();
}

}  // namespace tickwire::journal
