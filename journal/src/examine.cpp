#include "tickwire/journal/examine.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>

#include "tickwire/journal/history.hpp"
#include "tickwire/journal/io.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/segment_index.hpp"
#include "tickwire/journal/writer_lock.hpp"

namespace tickwire::journal {
namespace {

std::string where(const std::filesystem::path& p, std::uint64_t offset) {
  return fmt::format("{}: offset {}", p.string(), offset);
}

// Sequence continuity across the whole journal.
class SeqTracker {
 public:
  explicit SeqTracker(const std::optional<Manifest>& manifest) : manifest_(manifest) {}

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

  // damaged: seqs [first, last] were in bytes that hold no valid record; reported by the caller.
  void damaged(std::uint64_t first, std::uint64_t last, bool acknowledged, const std::string& at,
               JournalSummary& out) {
    if (first <= last) out.gaps.push_back({first, last, last - first + 1, acknowledged, at});
    if (first <= last) last_ = std::max(last_.value_or(0), last);
  }

  // restart: continuity starts over (the segments before were deleted meanwhile).
  void restart() {
    last_.reset();
    restarted_ = true;
  }
  // restarted: a writer's retention deleted segments while they were examined.
  bool restarted() const { return restarted_; }

 private:
  void check_next(std::uint64_t seq, const std::string& at, JournalSummary& out) {
    if (!last_) return;
    if (seq <= *last_) {
      out.problems.push_back(fmt::format("{}: seq {} does not follow {}", at, seq, *last_));
    } else if (seq != *last_ + 1) {
      if (manifest_ && manifest_->covers(*last_ + 1, seq - 1)) {
        out.gaps.push_back({*last_ + 1, seq - 1, seq - 1 - *last_, true,
                            fmt::format("{} (a loss acknowledged in the manifest)", at)});
        return;
      }
      out.gaps.push_back({*last_ + 1, seq - 1, seq - 1 - *last_, false, at});
      out.problems.push_back(
          fmt::format("{}: seqs {}..{} missing and no gap record explains them", at, *last_ + 1, seq - 1));
    }
  }

  const std::optional<Manifest>& manifest_;
  std::optional<std::uint64_t> last_;
  bool restarted_ = false;
};

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

// Examining one segment: its records, damage and end, into the summary.
struct SegmentPass {
  const SegmentFile& seg;
  bool last;
  const SegmentHeader& header;
  const std::optional<Manifest>& manifest;
  SeqTracker& seqs;
  JournalSummary& out;
  SegmentSummary& s;
  const RecordVisitor& visit;
  std::function<void(std::uint64_t)> report;

  // damage: a skipped range: a recorded gap if the manifest acknowledges it, else a problem.
  void damage(const DamagedRange& d, std::uint64_t next_first_seq) {
    ++out.damaged_ranges;
    const Loss loss = loss_for_damage(seg.path, header.segment_index, d, next_first_seq);
    const Loss* known = manifest ? manifest->damage_loss(header.segment_index, d.begin) : nullptr;
    const std::string at = where(seg.path, d.begin);
    seqs.damaged(loss.first_seq, loss.last_seq, known != nullptr, at + " (damaged bytes)", out);
    if (known != nullptr) {
      out.notes.push_back(fmt::format("{}: damage recorded as a loss: {}", at, known->what));
    } else {
      out.problems.push_back(fmt::format("{}: {}: bytes {}..{} skipped, seqs {} lost; `tickwire recover` records "
                                         "them as a gap",
                                         at, to_string(d.why), d.begin, d.end,
                                         loss.first_seq <= loss.last_seq
                                             ? fmt::format("{}..{}", loss.first_seq, loss.last_seq)
                                             : std::string("none")));
    }
  }

  SegmentWalk walk(std::span<const std::byte> image) {
    std::uint64_t next_report = 0;
    return walk_segment(
        image, kSegmentHeaderSize, header.first_seq > 0 ? header.first_seq - 1 : 0,
        [&](std::uint64_t offset, const DecodedRecord& r) {
          if (offset >= next_report) {
            report(offset);
            next_report = offset + (8u << 20);
          }
          if (s.records == 0) {
            s.first_seq = r.header.seq;
            s.first_wall_ns = r.header.wall_ns;
          }
          ++s.records;
          s.last_seq = highest_seq(r);
          s.last_wall_ns = r.header.wall_ns;
          ++out.types[r.header.type];
          seqs.see(r, where(seg.path, offset), out);
          if (visit && r.header.type != kTypeGap) visit(out.segments.size(), r.header.type, r.payload);
        },
        [&](const DamagedRange& d) { damage(d, 0); });
  }

  // end: the end record, or what a missing one means.
  void end(const SegmentWalk& w, std::uint64_t next_first_seq) {
    s.end_marker = w.end_marker;
    if (w.bytes_after_end) {
      out.problems.push_back(fmt::format("{}: non-zero bytes after the end record", where(seg.path, w.valid_end)));
    }
    if (w.end_marker) return;
    if (w.tail) {
      if (last && out.writer) {
        // A live writer's last segment: what follows its last whole record is
        // being written (the bytes read may predate the stores that complete it).
        s.in_progress = true;
        out.notes.push_back(fmt::format("{}: in progress: being written by process {} ({} bytes after the last "
                                        "whole record)", where(seg.path, w.tail->begin), *out.writer,
                                        w.tail->end - w.tail->begin));
        return;
      }
      if (last && w.tail->why == DecodeStatus::kEmpty) {
        // The writer stores a record's bytes first and its length word last (the
        // commit): a zero length word with bytes after it is a record not yet
        // committed, by a live writer (seen mid-store) or one killed mid-store.
        // Either way it was never acknowledged; `tickwire recover` cuts it.
        s.in_progress = true;
        out.notes.push_back(fmt::format("{}: in progress: a record not yet committed ({} bytes; being written, "
                                        "or the writer died before its commit; `tickwire recover` cuts it)",
                                        where(seg.path, w.tail->begin), w.tail->end - w.tail->begin));
        return;
      }
      if (last) {
        out.problems.push_back(fmt::format("{}: torn tail: {} ({} bytes, no valid record after it); "
                                           "`tickwire recover` cuts it",
                                           where(seg.path, w.tail->begin), to_string(w.tail->why),
                                           w.tail->end - w.tail->begin));
        return;
      }
      damage(*w.tail, next_first_seq);
      return;
    }
    if (last && out.writer) {
      s.in_progress = true;
      out.notes.push_back(fmt::format("{}: in progress: being written by process {}", seg.path.string(), *out.writer));
    } else if (last) {
      s.in_progress = true;
      out.notes.push_back(fmt::format("{}: no end record: the writer crashed (`tickwire recover` closes it)",
                                      seg.path.string()));
    } else {
      out.notes.push_back(fmt::format("{}: no end record (the writer crashed; recovered)", seg.path.string()));
    }
  }
};

// first_seq_after: the header first_seq of the segment after `i`, 0 if none.
std::uint64_t first_seq_after(const std::vector<SegmentFile>& segs, std::size_t i) {
  if (i + 1 >= segs.size()) return 0;
  // The header alone, with pread: the segment is never mapped (a live writer may truncate it meanwhile).
  auto file = io::open_file(segs[i + 1].path, O_RDONLY);
  if (!file.ok()) return 0;
  std::array<std::byte, kSegmentHeaderSize> bytes{};
  auto got = file->read_at(0, bytes);
  if (!got.ok()) return 0;
  auto header = decode_segment_header(std::span(bytes.data(), *got));
  return header.ok() ? header->first_seq : 0;
}

void examine_segment(const std::vector<SegmentFile>& segs, std::size_t i, const std::optional<Manifest>& manifest,
                     SeqTracker& seqs, JournalSummary& out, std::vector<SegmentInfo>& infos, std::uint64_t& done,
                     std::uint64_t total, const Progress& progress, const RecordVisitor& visit,
                     std::vector<std::byte>& buf) {
  const SegmentFile& seg = segs[i];
  const bool last = i + 1 == segs.size();
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
      infos.clear();  // retention removed those before it too: they are no hole
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
  auto header = decode_segment_header(image);
  if (!header.ok()) {
    s.bytes = image.size();
    out.bytes += s.bytes;
    out.problems.push_back(fmt::format("{}: {}", seg.path.string(), io::message(header.status())));
    out.segments.push_back(std::move(s));
    infos.push_back({seg, std::nullopt, 0});
    return;
  }
  if (last) {
    // A writer racing the read can leave a zero length word before a record it
    // committed meanwhile: damage seen in the last segment is looked at again.
    SegmentWalk dry = walk_segment(image, kSegmentHeaderSize, header->first_seq > 0 ? header->first_seq - 1 : 0);
    if (!dry.damage.empty() || dry.tail) {
      if (auto st = read_image(*file, buf, image); !st.ok()) {
        out.problems.push_back(std::string(io::message(st)));
        out.segments.push_back(std::move(s));
        return;
      }
    }
  }
  s.bytes = image.size();
  out.bytes += s.bytes;
  s.header_ok = true;
  s.feed = std::string(header->feed_name());
  s.schema_id = header->schema_id;
  s.created_wall_ns = header->created_wall_ns;
  SegmentPass pass{seg, last, *header, manifest, seqs, out, s, visit,
                   [&](std::uint64_t offset) { if (progress) progress(done + offset, total); }};
  const SegmentWalk w = pass.walk(image);
  pass.end(w, last ? 0 : first_seq_after(segs, i));
  if (!s.in_progress) {
    // A live segment's index lags its records by design: only finished ones must match.
    auto loaded = load_index(index_path(seg.path), header->index_interval, header->segment_index);
    if (!loaded.ok() || *loaded != index_entries(image, header->index_interval)) {
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
    out.last_seq = std::max(out.last_seq.value_or(0), s.last_seq);
    out.last_wall_ns = s.last_wall_ns;
  }
  infos.push_back({seg, *header, s.last_seq});
  out.segments.push_back(std::move(s));
}

// check_whole: the history as a whole against the manifest and the ring's durable_seq.
void check_whole(const std::vector<SegmentInfo>& infos, const std::optional<Manifest>& manifest, JournalSummary& out) {
  HistoryCheck c = check_history(infos, manifest, out.durable_seq);
  for (auto& p : c.order_problems) out.problems.push_back(std::move(p));
  for (auto& n : c.notes) out.notes.push_back(std::move(n));
  for (const Missing& m : c.missing) {
    if (m.acknowledged) {
      out.gaps.push_back({m.first_seq, m.last_seq, m.last_seq - m.first_seq + 1, true,
                          "missing history acknowledged in the manifest"});
    } else {
      out.problems.push_back(fmt::format("missing history: {}; `tickwire recover` records it as a gap", m.what));
    }
  }
}

}  // namespace

absl::StatusOr<JournalSummary> examine(const std::filesystem::path& dir, const Progress& progress,
                                       const RecordVisitor& visit) {
  if (auto s = require_journal(dir); !s.ok()) return s;
  JournalSummary out;
  out.writer = WriterLock::writer(dir);
  std::error_code ec;
  // durable_seq first: a live writer only syncs what the segments listed next already hold.
  if (std::filesystem::exists(dir / "ring", ec)) {
    auto durable = read_ring_durable_seq(dir / "ring");
    if (durable.ok()) {
      out.durable_seq = *durable;
    } else {
      out.problems.push_back(std::string(io::message(durable.status())));
    }
  }
  std::optional<Manifest> manifest;
  if (auto m = read_manifest(dir); m.ok()) {
    manifest = std::move(*m);
    if (manifest) out.highest_seq = manifest->highest_seq;
  } else {
    out.problems.push_back(std::string(io::message(m.status())));
  }
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  std::uint64_t total = 0, done = 0;
  for (const auto& s : *segs) {
    const auto bytes = std::filesystem::file_size(s.path, ec);
    if (!ec) total += bytes;
  }
  SeqTracker seqs(manifest);
  std::vector<std::byte> buf;  // one segment at a time
  std::vector<SegmentInfo> infos;
  for (std::size_t i = 0; i < segs->size(); ++i) {
    examine_segment(*segs, i, manifest, seqs, out, infos, done, total, progress, visit, buf);
  }
  if (progress) progress(std::max(done, total), std::max(done, total));
  if (seqs.restarted() && infos.empty()) {
    // Every segment listed was deleted by the writer's retention before it was
    // read: nothing examined is left to hold the history up to durable_seq.
    out.notes.push_back("history not checked: the writer's retention deleted every listed segment while it was "
                        "examined (examine again)");
    return out;
  }
  check_whole(infos, manifest, out);
  return out;
}

namespace {

// repair_segments: the full pass of `recover`: every segment read, damage
// recorded, the last one's torn tail cut, every index made to match.
absl::Status repair_segments(const std::vector<SegmentFile>& segs, RecoverReport& report, Manifest& manifest,
                             const Progress& progress) {
  std::uint64_t total = 0, done = 0;
  for (const auto& s : segs) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(s.path, ec);
    if (!ec) total += bytes;
  }
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (progress) progress(done, total);
    const bool last = i + 1 == segs.size();
    auto scan = recover_segment(segs[i].path, last ? Repair::kLastSegment : Repair::kEarlier, true);
    if (!scan.ok()) return scan.status();
    if (last) report.truncated_bytes += scan->truncated_bytes;
    report.indexes_rebuilt += scan->index_rewritten ? 1 : 0;
    for (const auto& d : scan->damage) {
      Loss l = loss_for_damage(segs[i].path, scan->header.segment_index, d, 0);
      if (manifest.add_loss(l)) report.losses.push_back(std::move(l));
    }
    if (!last && scan->tail) {
      Loss l = loss_for_damage(segs[i].path, scan->header.segment_index, *scan->tail, first_seq_after(segs, i));
      if (manifest.add_loss(l)) report.losses.push_back(std::move(l));
    }
    done += scan->file_size;
  }
  if (progress) progress(std::max(done, total), std::max(done, total));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecoverReport> recover_journal(const std::filesystem::path& dir, const Progress& progress) {
  if (auto s = require_journal(dir); !s.ok()) return s;
  // Never under a live writer: cutting "its torn tail" would cut what it is writing.
  auto lock = WriterLock::acquire(dir);
  if (!lock.ok()) return lock.status();
  RecoverReport report;
  if (auto s = remove_temporaries(dir); !s.ok()) return s;
  auto manifest = read_manifest(dir);
  if (!manifest.ok()) return manifest.status();
  Manifest m = manifest->value_or(Manifest{});
  auto segs = list_segments(dir);
  if (!segs.ok()) return segs.status();
  if (auto s = repair_segments(*segs, report, m, progress); !s.ok()) return s;
  std::string feed = m.feed;
  std::uint16_t schema = 1;
  if (!segs->empty()) {
    auto info = read_segment_infos({segs->back()});
    if (info.front().header) {
      feed = std::string(info.front().header->feed_name());
      schema = info.front().header->schema_id;
    }
  }
  if (!report.losses.empty() || !*manifest) {
    if (auto s = write_manifest(dir, m); !s.ok()) return s;
  }
  // What Journal::open does: drain the ring, check the history (acknowledging what is missing).
  Options o;
  o.dir = dir;
  o.feed = feed;
  o.schema_id = schema;
  o.ring_bytes = 64u << 10;
  o.acknowledge_missing_history = true;
  std::error_code ec;
  if (std::filesystem::exists(dir / "ring", ec)) {
    auto ring = MmapRing::open(dir / "ring", 4096);
    if (!ring.ok()) return ring.status();
    o.ring_bytes = ring->capacity();  // keep the ring as it is
  }
  auto j = Journal::open(o, std::move(*lock));
  if (!j.ok()) return j.status();
  report.drained_records = (*j)->stats().flushed_records;
  report.next_seq = (*j)->next_seq();
  report.truncated_bytes += (*j)->recovery().truncated_bytes;
  for (const Loss& l : (*j)->recovery().new_losses) report.losses.push_back(l);
  report.notes = (*j)->recovery().notes;
  if (auto s = (*j)->close(); !s.ok()) return s;
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
