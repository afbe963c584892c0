#include "tickwire/journal/segment_writer.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "tickwire/journal/crc32c.hpp"

namespace tickwire::journal {
namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kTouchAhead = 1u << 20;  // pages kept pre-faulted ahead of the write offset

// remove_own: removes a file this journal created; one it cannot remove goes to `leftovers`.
void remove_own(const std::filesystem::path& path, SpareLeftovers* leftovers) {
  if (!io::remove_file(path).ok() && leftovers != nullptr) leftovers->add(path);
}

}  // namespace

void SpareLeftovers::add(std::filesystem::path path) {
  std::lock_guard lock(mu_);
  paths_.push_back(std::move(path));
}

absl::Status SpareLeftovers::remove() {
  std::lock_guard lock(mu_);
  absl::Status first;
  std::erase_if(paths_, [&](const std::filesystem::path& p) {
    absl::Status s = io::remove_file(p);
    if (first.ok()) first = s;
    return s.ok();
  });
  return first;
}

std::size_t SpareLeftovers::size() const {
  std::lock_guard lock(mu_);
  return paths_.size();
}

absl::StatusOr<SpareSegment> prepare_spare(const std::filesystem::path& dir, std::uint64_t segment_index,
                                           std::uint32_t index_interval, std::size_t capacity,
                                           SpareLeftovers* leftovers) {
  if (leftovers != nullptr) {
    if (auto s = leftovers->remove(); !s.ok()) return s;
  }
  SpareSegment spare;
  spare.segment_index = segment_index;
  spare.index_interval = index_interval;
  spare.capacity = capacity;
  spare.index_tmp = dir / fmt::format(".spare-{:06}.idx.tmp", segment_index);
  const std::filesystem::path seg_tmp = dir / fmt::format(".spare-{:06}.seg.tmp", segment_index);
  // O_EXCL: both files are new. A file of either name (a symbolic or hard link
  // planted in the directory, say) is refused, never written through.
  auto file = io::open_file(seg_tmp, O_RDWR | O_CREAT | O_EXCL);
  if (!file.ok()) return file.status();
  // On any failure below, what this call created goes again: a partly
  // allocated spare on a full disk would hold the very blocks a retry needs.
  bool made_index = false;
  auto undo = [&](absl::Status s) {
    (void)file->close();
    remove_own(seg_tmp, leftovers);
    if (made_index) remove_own(spare.index_tmp, leftovers);
    return s;
  };
  if (auto s = file->allocate(capacity); !s.ok()) return undo(s);
  // The index first, so a segment never exists without one.
  auto idx = io::open_file(spare.index_tmp, O_WRONLY | O_CREAT | O_EXCL);
  if (!idx.ok()) return undo(idx.status());
  made_index = true;
  IndexHeader ih = make_index_header(index_interval, segment_index);
  // Safety: IndexHeader is trivially copyable; written as its bytes.
  if (auto s = idx->write_at(0, std::as_bytes(std::span(&ih, 1))); !s.ok()) return undo(s);
  if (auto s = idx->sync_data(); !s.ok()) return undo(s);
  if (auto s = idx->close(); !s.ok()) return undo(s);
  // Not populated: on ext4 read faults would only allocate page-cache pages that the
  // first write faults again, and on a 2-core host the helper's CPU is the flusher's.
  // The writer's touch_ahead() keeps 1 MiB ahead of it faulted in.
  auto map = io::Mapping::map(*file, capacity, true);
  if (!map.ok()) return undo(map.status());
  spare.file = std::move(*file);
  spare.map = std::move(*map);
  return spare;
}

absl::StatusOr<SegmentWriter> SegmentWriter::create(const std::filesystem::path& dir, const SegmentHeader& header,
                                                    std::size_t capacity) {
  auto spare = prepare_spare(dir, header.segment_index, header.index_interval, capacity);
  if (!spare.ok()) return spare.status();
  return create(dir, header, std::move(*spare));
}

absl::StatusOr<SegmentWriter> SegmentWriter::create(const std::filesystem::path& dir, const SegmentHeader& header,
                                                    SpareSegment spare, SpareLeftovers* leftovers) {
  const std::filesystem::path final_path = dir / segment_file_name(header.created_wall_ns, header.segment_index);
  const std::filesystem::path spare_path = spare.file.path();
  const std::filesystem::path idx = index_path(final_path);
  SegmentWriter w;
  w.header_ = header;
  seal_segment_header(w.header_);
  w.capacity_ = spare.capacity;
  w.file_ = std::move(spare.file);
  // On a failure before the segment's name exists, the spare's files go, so a
  // retry (after a full disk, say) makes them anew; the segment never existed.
  bool index_renamed = false;
  auto undo = [&](absl::Status s) {
    (void)w.file_.close();
    remove_own(spare_path, leftovers);
    remove_own(index_renamed ? idx : spare.index_tmp, leftovers);
    return s;
  };
  // Safety: SegmentHeader is trivially copyable; written as its bytes. Only the
  // header page is dirty (nothing else of the spare was written), so the sync is one page.
  if (auto s = w.file_.write_at(0, std::as_bytes(std::span(&w.header_, 1))); !s.ok()) return undo(s);
  if (auto s = w.file_.sync_data(); !s.ok()) return undo(s);
  // The index first, so a segment never exists without one; one directory sync for both names.
  if (auto s = io::rename_file(spare.index_tmp, idx); !s.ok()) return undo(s);
  index_renamed = true;
  if (auto s = io::rename_file(spare_path, final_path); !s.ok()) return undo(s);
  w.file_.set_path(final_path);
  if (auto s = io::sync_directory(dir); !s.ok()) return s;
  auto index_file = io::open_file(idx, O_WRONLY);
  if (!index_file.ok()) return index_file.status();
  w.index_file_ = std::move(*index_file);
  w.map_ = std::move(spare.map);
  w.touched_ = kSegmentHeaderSize;
  w.touch_ahead();
  return w;
}

void SegmentWriter::touch_ahead() {
  const std::size_t limit = std::min(capacity_, offset_ + kTouchAhead);
  std::size_t page = (touched_ + kPage - 1) / kPage * kPage;
  if (page < limit) {
    // One system call faults the whole range in for writing, instead of one
    // page fault (an exception, then the same kernel work) per 4 KiB page.
    // Safety: [page, limit) lies inside the writable mapping; populating
    // changes no byte. Kernels before 5.14 lack it: touch page by page then.
    if (::madvise(map_.data() + page, limit - page, MADV_POPULATE_WRITE) != 0) {
      for (; page < limit; page += kPage) {
        // Safety: page < capacity_, inside the writable mapping; the page is beyond
        // every record written so far, so it is zero and rewriting it changes nothing.
        volatile std::byte* b = map_.data() + page;
        *b = std::byte{0};
      }
    }
  }
  touched_ = std::max(touched_, limit);
}

void SegmentWriter::append(std::uint64_t seq, std::uint64_t mono_ns, std::uint64_t wall_ns, std::uint16_t type,
                           std::span<const std::byte> payload) {
  const auto length = static_cast<std::uint32_t>(kRecordHeaderSize + payload.size());
  // type, then flags and reserved (zero): bytes [32, 40) as one little-endian word.
  const std::uint64_t type_word = type;
  std::byte* rec = map_.data() + offset_;
  // The header's fields go straight to the segment, one store each: a RecordHeader
  // built on the stack and copied in wider loads stalled on store forwarding, the
  // largest user-space cost of an append.
  // Safety: fits() guaranteed [offset_, offset_ + aligned length) is inside the mapping;
  // the offsets are RecordHeader's (asserted in segment_format.hpp); the length word
  // (the first 4 bytes) is written last, below.
  std::memcpy(rec + 8, &seq, 8);
  std::memcpy(rec + 16, &mono_ns, 8);
  std::memcpy(rec + 24, &wall_ns, 8);
  std::memcpy(rec + 32, &type_word, 8);
  if (!payload.empty()) std::memcpy(rec + kRecordHeaderSize, payload.data(), payload.size());
  // The crc in one pass over the bytes just written (hot in L1), as decode_record checks it.
  const std::uint32_t crc = crc32c_extend(crc32c(&length, sizeof length), rec + 8, length - 8u);
  std::memcpy(rec + 4, &crc, sizeof crc);
  // release: pairs with readers in other processes (Tailer reads the length
  // word, then the record, through the same page cache); the record's bytes
  // are visible before a non-zero length is.
  std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(rec)).store(length, std::memory_order_release);
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
  offset_ += align_record(length);
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

absl::StatusOr<RetiredSegment> SegmentWriter::retire(EndReason reason, std::uint64_t wall_ns) {
  if (!ended_) {
    EndPayload end{records_, last_seq_, static_cast<std::uint32_t>(reason), 0};
    // Safety: EndPayload is trivially copyable; appended as its bytes. fits() always
    // leaves kEndRecordSize bytes for it.
    append(last_seq_, 0, wall_ns, kTypeEndOfSegment, std::as_bytes(std::span(&end, 1)));
    ended_ = true;
  }
  if (auto s = flush_index(); !s.ok()) return s;
  RetiredSegment r;
  r.file_ = std::move(file_);
  r.index_file_ = std::move(index_file_);
  r.map_ = std::move(map_);
  r.size_ = offset_;
  r.last_seq_ = last_seq_;
  return r;
}

absl::Status SegmentWriter::finish(EndReason reason, std::uint64_t wall_ns) {
  auto r = retire(reason, wall_ns);
  if (!r.ok()) return r.status();
  return r->finish();
}

absl::Status RetiredSegment::finish() {
  if (auto s = index_file_.sync_data(); !s.ok()) return s;
  map_ = io::Mapping();
  if (auto s = file_.truncate(size_); !s.ok()) return s;
  if (auto s = file_.sync_data(); !s.ok()) return s;
  // The segment is on disk: its pages go back to the allocator now, for the
  // next segments, instead of staying as cache until reclaim. Fresh pages cost
  // the writer 5-15x more to fault in on a VM that returns free memory to its
  // host (free page reporting) than recently freed ones. A reader of a
  // finished segment reads it from disk.
  file_.drop_cache();
  if (auto s = index_file_.close(); !s.ok()) return s;
  return file_.close();
}

}  // namespace tickwire::journal
