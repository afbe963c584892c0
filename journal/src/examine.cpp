#include "tickwire/journal/examine.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "tickwire/journal/io.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {
namespace {

std::string where(const std::filesystem::path& p, std::uint64_t offset) {
  return fmt::format("{}: offset {}", p.string(), offset);
}

// Sequence continuity across the whole journal.
class SeqTracker {
 public:
  void see(const DecodedRecord& r, const std::string& at, JournalSummary& out) {
    const std::uint64_t seq = r.header.seq;
    if (r.header.type == kTypeGap) {
      GapPayload g{};
      if (r.payload.size() != sizeof g) {
        out.problems.push_back(fmt::format("{}: gap record with a {}-byte payload", at, r.payload.size()));
        return;
      }
      // Safety: the payload is exactly one GapPayload; the type is trivially copyable.
      std::memcpy(&g, r.payload.data(), sizeof g);
      if (g.first_missing != seq || g.last_missing < seq) {
        out.problems.push_back(fmt::format("{}: gap record for {}..{} carries seq {}", at, g.first_missing,
                                           g.last_missing, seq));
      }
      check_next(seq, at, out);
      out.gaps.push_back({g.first_missing, g.last_missing, g.count, true, at});
      last_ = std::max(seq, g.last_missing);
      return;
    }
    check_next(seq, at, out);
    last_ = seq;
  }

  // restart: continuity starts over (the segments before were deleted meanwhile).
  void restart() { last_.reset(); }

 private:
  void check_next(std::uint64_t seq, const std::string& at, JournalSummary& out) {
    if (!last_) return;
    if (seq <= *last_) {
      out.problems.push_back(fmt::format("{}: seq {} does not follow {}", at, seq, *last_));
    } else if (seq != *last_ + 1) {
      out.gaps.push_back({*last_ + 1, seq - 1, seq - 1 - *last_, false, at});
      out.problems.push_back(
          fmt::format("{}: seqs {}..{} missing and no gap record explains them", at, *last_ + 1, seq - 1));
    }
  }

  std::optional<std::uint64_t> last_;
};

// Where and why examine_records stopped early (a zero length word).
struct Stop {
  bool at_empty = false;
  std::uint64_t offset = 0;
};

// examine_records: every record of one segment image, into s and out.
template <typename Report>
Stop examine_records(std::span<const std::byte> image, const std::filesystem::path& path, SeqTracker& seqs,
                     JournalSummary& out, SegmentSummary& s, const RecordVisitor& visit, Report&& report) {
  std::uint64_t offset = kSegmentHeaderSize;
  std::uint64_t next_report = 0;
  for (;;) {
    if (offset >= next_report) {
      report(offset);
      next_report = offset + (8u << 20);
    }
    DecodedRecord r = decode_record(image, offset);
    if (r.status == DecodeStatus::kEmpty) return Stop{true, std::min<std::uint64_t>(offset, image.size())};
    if (r.status != DecodeStatus::kOk) {
      std::string detail(to_string(r.status));
      if (r.status == DecodeStatus::kBadCrc) {
        detail = fmt::format("crc mismatch (stored {:#010x}, computed {:#010x})", r.header.crc, r.computed_crc);
      }
      out.problems.push_back(fmt::format("{}: {}", where(path, offset), detail));
      return {};
    }
    if (r.header.type == kTypeEndOfSegment) {
      s.end_marker = true;
      const bool zeros = std::all_of(image.begin() + static_cast<std::ptrdiff_t>(std::min(r.next, image.size())),
                                     image.end(), [](std::byte b) { return b == std::byte{0}; });
      // Zeros are the reserved space a roll leaves until the writer's helper truncates it.
      if (r.next < image.size() && !zeros) {
        out.problems.push_back(fmt::format("{}: {} bytes after the end record", where(path, r.next),
                                           image.size() - r.next));
      }
      return {};
    }
    if (s.records == 0) {
      s.first_seq = r.header.seq;
      s.first_wall_ns = r.header.wall_ns;
    }
    ++s.records;
    s.last_seq = highest_seq(r);
    s.last_wall_ns = r.header.wall_ns;
    ++out.types[r.header.type];
    seqs.see(r, where(path, offset), out);
    if (visit && r.header.type != kTypeGap) visit(out.segments.size(), r.header.type, r.payload);
    offset = r.next;
  }
}

// read_image: the whole file with pread (a file being truncated meanwhile just reads short).
absl::Status read_image(const io::File& file, std::vector<std::byte>& buf, std::span<const std::byte>& image) {
  auto size = file.size();
  if (!size.ok()) return size.status();
  buf.resize(static_cast<std::size_t>(*size));
  auto got = file.read_at(0, buf);
  if (!got.ok()) return got.status();
  image = std::span<const std::byte>(buf.data(), *got);
  return absl::OkStatus();
}

// end_of_data: what a zero length word at `stop` means: the end of a live or
// crashed segment, or damage if non-zero bytes follow it and stay there.
void end_of_data(const io::File& file, std::span<const std::byte> image, std::uint64_t stop, bool last,
                 SegmentSummary& s, JournalSummary& out) {
  const bool tail_zero = std::all_of(image.begin() + static_cast<std::ptrdiff_t>(stop), image.end(),
                                     [](std::byte b) { return b == std::byte{0}; });
  if (!tail_zero) {
    // A live writer may have committed a record here since the read: look again.
    std::uint32_t length = 0;
    auto got = file.read_at(stop, std::as_writable_bytes(std::span(&length, 1)));
    if (last && got.ok() && *got == sizeof length && length != 0) {
      s.in_progress = true;
      out.notes.push_back(fmt::format("{}: in progress (being written while examined)", file.path().string()));
      return;
    }
    out.problems.push_back(fmt::format("{}: zero length word followed by non-zero bytes", where(file.path(), stop)));
  } else if (last) {
    s.in_progress = true;
    out.notes.push_back(fmt::format("{}: no end record: in progress (being written, or the writer crashed; "
                                    "`tickwire recover` closes it)", file.path().string()));
  } else {
    out.notes.push_back(fmt::format("{}: no end record (the writer crashed; recovered)", file.path().string()));
  }
}

void examine_segment(const SegmentFile& seg, bool last, SeqTracker& seqs, JournalSummary& out,
                     std::uint64_t& done, std::uint64_t total, const Progress& progress, const RecordVisitor& visit,
                     std::vector<std::byte>& buf) {
  SegmentSummary s;
  s.path = seg.path;
  s.index = seg.index;
  auto file = io::open_file(seg.path, O_RDONLY);
  if (!file.ok()) {
    if (file.status().code() == absl::StatusCode::kNotFound) {
      // Deleted by the writer's retention since the directory was listed (oldest
      // first, so what was examined before it is gone too): no gap to explain.
      out.notes.push_back(fmt::format("{}: removed while examined (retention)", seg.path.string()));
      seqs.restart();
      return;
    }
    out.problems.push_back(std::string(io::message(file.status())));
    out.segments.push_back(std::move(s));
    return;
  }
  std::span<const std::byte> image;
  if (auto st = read_image(*file, buf, image); !st.ok()) {
    out.problems.push_back(std::string(io::message(st)));
    out.segments.push_back(std::move(s));
    return;
  }
  s.bytes = image.size();
  out.bytes += s.bytes;
  auto header = decode_segment_header(image);
  if (!header.ok()) {
    out.problems.push_back(fmt::format("{}: {}", seg.path.string(), io::message(header.status())));
    out.segments.push_back(std::move(s));
    return;
  }
  s.header_ok = true;
  s.feed = std::string(header->feed_name());
  s.schema_id = header->schema_id;
  s.created_wall_ns = header->created_wall_ns;
  Stop stop = examine_records(image, seg.path, seqs, out, s, visit, [&](std::uint64_t offset) {
    if (progress) progress(done + offset, total);
  });
  if (stop.at_empty) end_of_data(*file, image, stop.offset, last, s, out);
  if (!s.in_progress) {
    // A live segment's index lags its records by design: only finished ones must match.
    auto loaded = load_index(index_path(seg.path), header->index_interval, header->segment_index);
    if (!loaded.ok() || *loaded != scan_index(image, header->index_interval)) {
      out.notes.push_back(
          fmt::format("{}: index missing or stale (`tickwire recover` rebuilds it)", seg.path.string()));
    }
  }
  done += image.size();
  out.records += s.records;
  if (s.records > 0) {
    if (!out.first_seq) {
      out.first_seq = s.first_seq;
      out.first_wall_ns = s.first_wall_ns;
    }
    out.last_seq = s.last_seq;
    out.last_wall_ns = s.last_wall_ns;
  }
  out.segments.push_back(std::move(s));
}

}  // namespace

absl::StatusOr<JournalSummary> examine(const std::filesystem::path& dir, const Progress& progress,
                                       const RecordVisitor& visit) {
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  JournalSummary out;
  std::uint64_t total = 0, done = 0;
  for (const auto& s : *segs) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(s.path, ec);
    if (!ec) total += bytes;
  }
  SeqTracker seqs;
  std::vector<std::byte> buf;  // one segment at a time
  for (std::size_t i = 0; i < segs->size(); ++i) {
    examine_segment((*segs)[i], i + 1 == segs->size(), seqs, out, done, total, progress, visit, buf);
  }
  if (progress) progress(std::max(done, total), std::max(done, total));
  std::error_code ec;
  if (std::filesystem::exists(dir / "ring", ec)) {
    auto durable = read_ring_durable_seq(dir / "ring");
    if (durable.ok()) {
      out.durable_seq = *durable;
    } else {
      out.problems.push_back(std::string(io::message(durable.status())));
    }
  }
  return out;
}

absl::StatusOr<RecoverReport> recover_journal(const std::filesystem::path& dir, const Progress& progress) {
  RecoverReport report;
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  std::string feed;
  std::uint16_t schema = 1;
  if (!segs->empty()) {
    auto scan = recover_segment(segs->back().path);
    if (!scan.ok()) return scan.status();
    report.truncated_bytes = scan->truncated_bytes;
    report.indexes_rebuilt += scan->index_rewritten ? 1 : 0;
    feed = std::string(scan->header.feed_name());
    schema = scan->header.schema_id;
  }
  std::error_code ec;
  if (std::filesystem::exists(dir / "ring", ec)) {
    Options o;
    o.dir = dir;
    o.feed = feed;
    o.schema_id = schema;
    {
      auto ring = MmapRing::open(dir / "ring", 4096);
      if (!ring.ok()) return ring.status();
      o.ring_bytes = ring->capacity();  // keep the ring as it is
    }
    auto j = Journal::open(o);
    if (!j.ok()) return j.status();
    report.drained_records = (*j)->stats().flushed_records;
    if (auto s = (*j)->close(); !s.ok()) return s;
  }
  segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  std::uint64_t total = 0, done = 0;
  for (const auto& s : *segs) {
    std::error_code size_ec;
    const auto bytes = std::filesystem::file_size(s.path, size_ec);
    if (!size_ec) total += bytes;
  }
  for (const auto& s : *segs) {
    if (progress) progress(done, total);
    auto file = io::open_file(s.path, O_RDONLY);
    if (!file.ok()) return file.status();
    auto size = file->size();
    if (!size.ok()) return size.status();
    auto map = io::Mapping::map(*file, *size, false);
    if (!map.ok()) return map.status();
    auto header = decode_segment_header(map->bytes());
    if (!header.ok()) return absl::DataLossError(fmt::format("{}: {}", s.path.string(), io::message(header.status())));
    auto entries = scan_index(map->bytes(), header->index_interval);
    auto loaded = load_index(index_path(s.path), header->index_interval, header->segment_index);
    if (!loaded.ok() || *loaded != entries) {
      if (auto st = write_index(index_path(s.path), header->index_interval, header->segment_index, entries); !st.ok()) {
        return st;
      }
      ++report.indexes_rebuilt;
    }
    done += *size;
  }
  if (progress) progress(std::max(done, total), std::max(done, total));
  for (auto it = segs->rbegin(); it != segs->rend(); ++it) {
    auto scan = scan_segment_tail(it->path);
    if (!scan.ok()) return scan.status();
    if (scan->records > 0) {
      report.next_seq = scan->last_seq + 1;
      break;
    }
  }
  return report;
}

std::string format_wall(std::uint64_t wall_ns) {
  auto secs = static_cast<std::time_t>(wall_ns / 1'000'000'000u);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, wall_ns % 1'000'000'000u);
}

}  // namespace tickwire::journal
