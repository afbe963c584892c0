#include "tickwire/journal/history.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <system_error>

#include "tickwire/journal/io.hpp"

namespace tickwire::journal {
namespace {

constexpr std::size_t kEndBytes = align_record(kRecordHeaderSize + sizeof(EndPayload));

std::string seq_text(std::uint64_t first, std::uint64_t last) {
  if (first > last) return "none";
  return first == last ? fmt::format("{}", first) : fmt::format("{}..{}", first, last);
}

std::string index_text(std::uint64_t first, std::uint64_t last) {
  return first == last ? fmt::format("segment {}", first) : fmt::format("segments {}..{}", first, last);
}

// last_seq_of: the highest seq a segment covers, from its end record if it has one.
std::uint64_t last_seq_of(const io::File& file, const std::filesystem::path& path, std::uint64_t size) {
  if (size >= kSegmentHeaderSize + kEndBytes) {
    std::array<std::byte, kEndBytes> tail{};
    auto got = file.read_at(size - kEndBytes, tail);
    if (got.ok() && *got == tail.size()) {
      DecodedRecord r = decode_record(tail, 0);
      if (r.status == DecodeStatus::kOk && r.header.type == kTypeEndOfSegment && r.payload.size() >= sizeof(EndPayload)) {
        EndPayload end{};
        // Safety: the payload holds one EndPayload (checked); the type is trivially copyable.
        std::memcpy(&end, r.payload.data(), sizeof end);
        return std::max(end.last_seq, r.header.seq);
      }
    }
  }
  auto scan = scan_segment_tail(path);
  return scan.ok() ? scan->last_seq : 0;
}

// check_order: names vs headers, duplicates, overlaps, holes in the indexes.
void check_order(std::vector<const SegmentInfo*>& ok, HistoryCheck& c) {
  std::sort(ok.begin(), ok.end(), [](const SegmentInfo* a, const SegmentInfo* b) {
    return std::pair(a->header->segment_index, a->header->first_seq) <
           std::pair(b->header->segment_index, b->header->first_seq);
  });
  for (std::size_t k = 1; k < ok.size(); ++k) {
    const SegmentInfo& prev = *ok[k - 1];
    const SegmentInfo& cur = *ok[k];
    const std::uint64_t pi = prev.header->segment_index, ci = cur.header->segment_index;
    const std::uint64_t prev_last = prev.last_seq != 0 ? prev.last_seq : prev.header->first_seq;
    if (pi == ci) {
      c.order_problems.push_back(fmt::format("{} and {} both hold segment {} (a duplicate)",
                                             prev.file.path.string(), cur.file.path.string(), ci));
      continue;
    }
    if (cur.header->first_seq <= prev_last) {
      c.order_problems.push_back(fmt::format("{} (segment {}, first seq {}) overlaps {} (segment {}, seqs up to {})",
                                             cur.file.path.string(), ci, cur.header->first_seq,
                                             prev.file.path.string(), pi, prev_last));
      continue;
    }
    if (ci > pi + 1) {
      Missing m{pi + 1, ci - 1, prev_last + 1, cur.header->first_seq - 1, {}, false};
      if (m.first_seq > m.last_seq) {
        c.notes.push_back(fmt::format("{} absent; no sequence is missing there (an empty segment a crash left, "
                                      "removed by recovery)", index_text(m.first_index, m.last_index)));
        continue;
      }
      m.what = fmt::format("{} missing between {} and {}: seqs {} lost", index_text(m.first_index, m.last_index),
                           prev.file.path.filename().string(), cur.file.path.filename().string(),
                           seq_text(m.first_seq, m.last_seq));
      c.missing.push_back(std::move(m));
    }
  }
}

}  // namespace

bool HistoryCheck::unacknowledged() const {
  return std::any_of(missing.begin(), missing.end(), [](const Missing& m) { return !m.acknowledged; });
}

std::vector<SegmentInfo> read_segment_infos(const std::vector<SegmentFile>& segments) {
  std::vector<SegmentInfo> out;
  out.reserve(segments.size());
  for (const auto& s : segments) {
    SegmentInfo info{s, std::nullopt, 0};
    auto file = io::open_file(s.path, O_RDONLY);
    if (file.ok()) {
      std::array<std::byte, kSegmentHeaderSize> bytes{};
      auto got = file->read_at(0, bytes);
      auto size = file->size();
      if (got.ok() && size.ok()) {
        auto header = decode_segment_header(std::span(bytes.data(), *got));
        if (header.ok()) {
          info.header = *header;
          info.last_seq = last_seq_of(*file, s.path, *size);
        }
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

HistoryCheck check_history(const std::vector<SegmentInfo>& segments, const std::optional<Manifest>& manifest,
                           std::optional<std::uint64_t> durable_seq) {
  HistoryCheck c;
  std::vector<const SegmentInfo*> ok;
  for (const auto& s : segments) {
    c.highest_index = std::max(c.highest_index, s.file.index);
    c.segments_last_seq = std::max(c.segments_last_seq, s.last_seq);
    if (!s.header) continue;
    if (s.header->segment_index != s.file.index) {
      c.order_problems.push_back(fmt::format("{}: named segment {} but its header says segment {} (renamed, "
                                             "swapped or copied)", s.file.path.string(), s.file.index,
                                             s.header->segment_index));
    }
    c.highest_index = std::max(c.highest_index, s.header->segment_index);
    ok.push_back(&s);
  }
  check_order(ok, c);
  if (manifest && manifest->first_segment_index != 0 && !ok.empty() &&
      ok.front()->header->segment_index > manifest->first_segment_index) {
    Missing m{manifest->first_segment_index, ok.front()->header->segment_index - 1, manifest->first_seq,
              ok.front()->header->first_seq - 1, {}, false};
    if (manifest->retention) {
      c.notes.push_back(fmt::format("{} (seqs {}) removed by retention", index_text(m.first_index, m.last_index),
                                    seq_text(m.first_seq, m.last_seq)));
    } else if (m.first_seq <= m.last_seq) {
      m.what = fmt::format("{} missing before {} (no retention was configured): seqs {} lost",
                           index_text(m.first_index, m.last_index), ok.front()->file.path.filename().string(),
                           seq_text(m.first_seq, m.last_seq));
      c.missing.push_back(std::move(m));
    }
  }
  std::uint64_t highest = std::max(c.segments_last_seq, durable_seq.value_or(0));
  if (manifest) {
    highest = std::max(highest, manifest->highest_seq);
    for (const Loss& l : manifest->losses) highest = std::max(highest, l.last_seq);
  }
  c.highest_seq = highest;
  if (highest > c.segments_last_seq) {
    Missing m{0, 0, c.segments_last_seq + 1, highest, {}, false};
    std::string which = segments.empty() ? std::string("there are no segment files")
                                         : fmt::format("the segments end at seq {}", c.segments_last_seq);
    if (manifest && manifest->next_segment_index > c.highest_index + 1) {
      m.first_index = c.highest_index + 1;
      m.last_index = manifest->next_segment_index - 1;
      which += fmt::format("; {} may be missing", index_text(m.first_index, m.last_index));
    }
    m.what = fmt::format("seqs {} were issued (ring durable_seq {}, manifest highest_seq {}) but {}",
                         seq_text(m.first_seq, m.last_seq),
                         durable_seq ? std::to_string(*durable_seq) : std::string("unknown"),
                         manifest ? std::to_string(manifest->highest_seq) : std::string("unknown"), which);
    c.missing.push_back(std::move(m));
  }
  for (Missing& m : c.missing) m.acknowledged = manifest && manifest->covers(m.first_seq, m.last_seq);
  return c;
}

Loss loss_for_damage(const std::filesystem::path& segment, std::uint64_t segment_index, const DamagedRange& d,
                     std::uint64_t next_first_seq) {
  Loss l;
  l.segment_index = segment_index;
  l.begin = d.begin;
  l.end = d.end;
  l.first_seq = d.after_seq + 1;
  if (d.resume_seq != 0) {
    l.last_seq = d.resume_seq - 1;
  } else if (next_first_seq != 0) {
    l.last_seq = next_first_seq - 1;
  } else {
    l.last_seq = d.after_seq;  // what a tail held cannot be told from this segment alone
  }
  l.what = fmt::format("{}: bytes {}..{} ({} bytes) hold no valid record ({}): seqs {} lost, {} valid records "
                       "after them kept",
                       segment.filename().string(), d.begin, d.end, d.end - d.begin, to_string(d.why),
                       seq_text(l.first_seq, l.last_seq), d.resume_records);
  return l;
}

absl::StatusOr<OpenRecovery> recover_for_open(const std::filesystem::path& dir) {
  OpenRecovery r;
  if (auto s = remove_temporaries(dir); !s.ok()) return s;
  auto manifest = read_manifest(dir);
  if (!manifest.ok()) return manifest.status();
  r.manifest = std::move(*manifest);
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  r.next_segment_index = r.manifest ? std::max<std::uint64_t>(r.manifest->next_segment_index, 1) : 1;
  if (segs->empty()) return r;
  r.next_segment_index = std::max(r.next_segment_index, segs->back().index + 1);
  std::uint64_t next_first_seq = 0;  // first seq of the segment after the one being scanned
  for (std::size_t i = segs->size(); i-- > 0;) {
    const bool last = i + 1 == segs->size();
    const auto& path = (*segs)[i].path;
    auto scan = last ? recover_segment(path, Repair::kLastSegment) : scan_segment_tail(path);
    if (!scan.ok()) return scan.status();
    const bool untruncated = !last && scan->end_marker && scan->file_size > scan->valid_end;
    if (untruncated) {
      // Rolled out, but the crash came before the helper truncated it to its end
      // record. The helper finishes segments in order: those are the newest closed ones.
      scan = recover_segment(path, Repair::kEarlier);
      if (!scan.ok()) return scan.status();
    }
    if (scan->records == 0 && !scan->end_marker && last && scan->damage.empty()) {
      // Created by a roll the crash interrupted: nothing in it but the header.
      if (auto s = io::remove_file(index_path(path)); !s.ok()) return s;
      if (auto s = io::remove_file(path); !s.ok()) return s;
      r.report.truncated_bytes += scan->truncated_bytes;
      continue;
    }
    if (last) r.report.truncated_bytes += scan->truncated_bytes;
    if (last && scan->tail) r.tail_cut = loss_for_damage(path, scan->header.segment_index, *scan->tail, 0);
    for (const auto& d : scan->damage) {
      r.report.new_losses.push_back(loss_for_damage(path, scan->header.segment_index, d, 0));
    }
    if (!last && scan->tail) {
      r.report.new_losses.push_back(loss_for_damage(path, scan->header.segment_index, *scan->tail, next_first_seq));
    }
    next_first_seq = scan->header.first_seq;
    r.last_wall_ns = std::max({r.last_wall_ns, scan->last_wall_ns, scan->header.created_wall_ns});
    // The highest seq the segment covers, its end record included: a damaged
    // last record's seq is recorded as lost, never written again from the ring.
    if ((scan->records > 0 || scan->end_marker) && r.last_seq == 0) r.last_seq = scan->last_seq;
    if (r.last_seq != 0 && !last && !untruncated) break;
  }
  return r;
}

absl::StatusOr<std::uint64_t> settle_history(const std::filesystem::path& dir, OpenRecovery& recovery,
                                             std::optional<std::uint64_t> durable_seq, std::string_view feed,
                                             bool retention, bool acknowledge_missing) {
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  const std::vector<SegmentInfo> infos = read_segment_infos(*segs);
  HistoryCheck check = check_history(infos, recovery.manifest, durable_seq);
  Manifest m = recovery.manifest.value_or(Manifest{});
  std::vector<Loss> added;
  for (const Loss& l : recovery.report.new_losses) {
    if (m.add_loss(l)) added.push_back(l);
  }
  std::string refused;
  for (const Missing& miss : check.missing) {
    if (miss.acknowledged) continue;
    if (recovery.tail_cut && miss.first_index == 0 && miss.first_seq == recovery.tail_cut->first_seq) {
      // Issued seqs that were in the torn tail just cut: damage, recorded like any other.
      Loss l = *recovery.tail_cut;
      l.last_seq = miss.last_seq;
      l.what += fmt::format("; it held seqs {} (issued, by the ring's durable_seq or the manifest)",
                            seq_text(miss.first_seq, miss.last_seq));
      if (m.add_loss(l)) added.push_back(l);
      continue;
    }
    if (!acknowledge_missing) {
      refused += fmt::format("{}{}", refused.empty() ? "" : "; ", miss.what);
      continue;
    }
    Loss l{miss.first_seq, miss.last_seq, 0, 0, 0, "history missing, acknowledged by recover: " + miss.what};
    if (m.add_loss(l)) added.push_back(l);
  }
  if (!refused.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "{}: journal history is missing: {}. Nothing was written. If the loss is real, `tickwire recover {}` "
        "records it as a gap and the connector then continues at seq {}",
        dir.string(), refused, dir.string(), check.highest_seq + 1));
  }
  for (auto& p : check.order_problems) recovery.report.notes.push_back(std::move(p));
  for (auto& n : check.notes) recovery.report.notes.push_back(std::move(n));
  recovery.report.new_losses = std::move(added);
  m.format_version = kFormatVersion;
  if (!feed.empty()) m.feed = std::string(feed);
  m.highest_seq = std::max(m.highest_seq, check.highest_seq);
  m.next_segment_index = std::max({m.next_segment_index, recovery.next_segment_index, check.highest_index + 1});
  const SegmentInfo* first = nullptr;
  for (const auto& s : infos) {
    if (s.header && (first == nullptr || s.header->segment_index < first->header->segment_index)) first = &s;
  }
  if (first != nullptr) {
    m.first_segment_index = first->header->segment_index;
    m.first_seq = first->header->first_seq;
  } else {
    m.first_segment_index = m.next_segment_index;  // nothing before the next segment is expected any more
    m.first_seq = m.highest_seq + 1;
  }
  m.retention = retention;
  if (auto s = write_manifest(dir, m); !s.ok()) return s;
  recovery.manifest = m;
  recovery.report.next_seq = m.highest_seq + 1;
  return m.highest_seq;
}

absl::Status require_journal(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(fmt::format("{}: not a directory", dir.string()));
  }
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  if (!segs->empty() || std::filesystem::exists(dir / "ring", ec) || std::filesystem::exists(dir / kManifestName, ec)) {
    return absl::OkStatus();
  }
  return absl::NotFoundError(fmt::format(
      "{}: not a tickwire journal (no segment files *-NNNNNN.seg, no ring, no manifest)", dir.string()));
}

}  // namespace tickwire::journal
