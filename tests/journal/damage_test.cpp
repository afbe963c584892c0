// Damage a user or a disk can do to a journal on disk: a byte changed in the
// middle of a segment, segments deleted, swapped or duplicated, foreign files
// beside it. The rules under test are docs/journal-format.md, "Recovery":
// no record with a valid CRC is lost, a sequence is never reused, and what is
// lost is named (a gap with its exact seqs) by recover, verify and replay.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <cstring>
#include <map>

#include "test_util.hpp"
#include <fmt/format.h>

#include "tickwire/journal/examine.hpp"
#include "tickwire/journal/history.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/manifest.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/reader.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {
namespace {

constexpr std::uint64_t kSeed = 5;

std::vector<char> slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const std::filesystem::path& p, const std::vector<char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// write_journal: records first..last, seq = index, in segments of `segment_bytes`.
void write_journal(const std::filesystem::path& dir, std::uint64_t first, std::uint64_t last,
                   std::size_t segment_bytes = 1u << 20) {
  Options o = small_options(dir);
  o.segment_bytes = segment_bytes;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  for (std::uint64_t s = first; s <= last; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(kSeed, s)));
  ASSERT_TRUE((*j)->close().ok());
}

// Offsets of the data records of a segment file: seq -> [begin, end).
std::map<std::uint64_t, std::pair<std::size_t, std::size_t>> record_offsets(const std::filesystem::path& seg) {
  auto bytes = slurp(seg);
  std::span<const std::byte> image(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  std::map<std::uint64_t, std::pair<std::size_t, std::size_t>> out;
  for (std::size_t off = kSegmentHeaderSize;;) {
    DecodedRecord r = decode_record(image, off);
    if (r.status != DecodeStatus::kOk || r.header.type == kTypeEndOfSegment) break;
    out[r.header.seq] = {off, off + r.header.length};
    off = r.next;
  }
  return out;
}

void flip_byte(const std::filesystem::path& seg, std::size_t at) {
  auto bytes = slurp(seg);
  bytes.at(at) = static_cast<char>(bytes.at(at) ^ 0x40);
  spill(seg, bytes);
}

// Every data record a reader delivers, by seq; made gaps as [first, last].
struct ReadBack {
  std::map<std::uint64_t, std::vector<std::byte>> data;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> made_gaps;
  std::vector<std::uint64_t> order;  // every seq delivered, in order
  std::size_t problems = 0;
};

ReadBack read_back(const std::filesystem::path& dir) {
  ReadBack out;
  auto reader = Reader::open(dir);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return out;
  for (;;) {
    auto r = reader->next();
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || !*r) break;
    const RecordView& v = **r;
    out.order.push_back(v.seq);
    if (v.made_gap) {
      GapPayload g{};
      std::memcpy(&g, v.payload.data(), sizeof g);
      out.made_gaps.emplace_back(g.first_missing, g.last_missing);
    } else if (v.type == 1) {
      out.data[v.seq].assign(v.payload.begin(), v.payload.end());
    }
  }
  out.problems = reader->problems().size();
  return out;
}

void expect_strictly_increasing(const std::vector<std::uint64_t>& seqs) {
  for (std::size_t i = 1; i < seqs.size(); ++i) ASSERT_LT(seqs[i - 1], seqs[i]) << "at " << i;
}

// The exact reproduction of issue 12, item 1: a byte flipped in the middle of
// a finished segment, then recover, recover again, a restart and verify.
TEST(Damage, AFlippedByteMidSegmentIsAGapAndEveryValidRecordAfterItSurvivesRecoverAndRestart) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 3000);
  const auto seg = list_segments(dir.path()).value().at(0).path;
  const auto offsets = record_offsets(seg);
  ASSERT_EQ(offsets.size(), 3000u);
  const std::uint64_t victim = 1500;
  flip_byte(seg, offsets.at(victim).first + 45);
  const auto size_before = std::filesystem::file_size(seg);

  auto first = recover_journal(dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->losses.size(), 1u);
  EXPECT_EQ(first->losses[0].first_seq, victim);
  EXPECT_EQ(first->losses[0].last_seq, victim);
  EXPECT_EQ(first->losses[0].begin, offsets.at(victim).first);
  EXPECT_EQ(first->losses[0].end, offsets.at(victim + 1).first);
  EXPECT_NE(first->losses[0].what.find("1500 valid records after them kept"), std::string::npos)
      << first->losses[0].what;
  EXPECT_EQ(first->next_seq, 3001u);
  EXPECT_EQ(std::filesystem::file_size(seg), size_before) << "a segment with damage inside was truncated";

  auto second = recover_journal(dir.path());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->losses.empty()) << "the same damage was recorded twice";
  EXPECT_EQ(second->next_seq, 3001u);

  {
    auto j = Journal::open(small_options(dir.path()));
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_EQ((*j)->next_seq(), 3001u);
    ASSERT_TRUE((*j)->append(3001, 3001, 1, payload_for(kSeed, 3001)));
    ASSERT_TRUE((*j)->close().ok());
  }
  EXPECT_EQ(std::filesystem::file_size(seg), size_before);

  auto summary = examine(dir.path());
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_TRUE(summary->clean()) << summary->problems.front();
  bool gap_named = false;
  for (const auto& g : summary->gaps) gap_named |= g.first_missing == victim && g.last_missing == victim && g.explained;
  EXPECT_TRUE(gap_named);

  ReadBack back = read_back(dir.path());
  expect_strictly_increasing(back.order);
  EXPECT_EQ(back.data.size(), 3000u);
  for (std::uint64_t s = 1; s <= 3001; ++s) {
    if (s == victim) continue;
    ASSERT_TRUE(back.data.contains(s)) << "seq " << s << " lost";
    ASSERT_EQ(back.data.at(s), payload_for(kSeed, s)) << "seq " << s;
  }
  ASSERT_EQ(back.made_gaps.size(), 1u);
  EXPECT_EQ(back.made_gaps[0], std::pair(victim, victim));
  EXPECT_GT(back.problems, 0u);
}

TEST(Damage, OpenSkipsDamageInTheLastSegmentWithoutTruncatingAndContinuesAboveTheHighestSeq) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 2000);
  const auto seg = list_segments(dir.path()).value().at(0).path;
  const auto offsets = record_offsets(seg);
  flip_byte(seg, offsets.at(1990).first + 8);  // the seq field, after the last index point
  std::filesystem::remove(index_path(seg));     // so open scans the whole segment
  const auto size_before = std::filesystem::file_size(seg);
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->next_seq(), 2001u);
  ASSERT_EQ((*j)->recovery().new_losses.size(), 1u);
  EXPECT_EQ((*j)->recovery().new_losses[0].first_seq, 1990u);
  EXPECT_EQ((*j)->recovery().new_losses[0].last_seq, 1990u);
  EXPECT_EQ((*j)->recovery().truncated_bytes, 0u);
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_EQ(std::filesystem::file_size(seg), size_before);
  ReadBack back = read_back(dir.path());
  EXPECT_EQ(back.data.size(), 1999u);
  EXPECT_TRUE(back.data.contains(2000));
}

TEST(Damage, ATornTailWithNoValidRecordAfterItIsTheOnlyThingCut) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 100);
  const auto seg = list_segments(dir.path()).value().at(0).path;
  const auto offsets = record_offsets(seg);
  auto bytes = slurp(seg);
  bytes.resize(offsets.at(100).first + 20);  // record 100 half there, no end record
  spill(seg, bytes);
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->next_seq(), 101u);  // the ring's durable_seq says 100 was issued
  EXPECT_EQ((*j)->recovery().truncated_bytes, 20u);
  ASSERT_EQ((*j)->recovery().new_losses.size(), 1u);
  EXPECT_EQ((*j)->recovery().new_losses[0].first_seq, 100u);
  EXPECT_EQ((*j)->recovery().new_losses[0].last_seq, 100u);
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_EQ(std::filesystem::file_size(seg), offsets.at(100).first);
}

// The crash-with-damage soak's duplicated seq: the last data record of the
// newest segment damaged, its end record intact, and the ring still holding a
// good copy. The end record says the seq was issued: it is a recorded loss,
// and the ring's copy is never written again after it (that reused the seq).
TEST(Damage, ADamagedLastRecordBeforeTheEndRecordIsALossNeverRewrittenFromTheRing) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 100);
  const auto seg = list_segments(dir.path()).value().back().path;
  const auto offsets = record_offsets(seg);
  ASSERT_EQ(offsets.rbegin()->first, 100u);
  flip_byte(seg, offsets.at(100).first + 20);
  {
    // The ring as a crash leaves it: record 100 still there, its read position not yet stored.
    auto ring = MmapRing::open(dir.path() / "ring", small_options(dir.path()).ring_bytes);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ASSERT_TRUE(ring->try_write(100, 100, 1, payload_for(kSeed, 100)));
  }
  {
    auto j = Journal::open(small_options(dir.path()));
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_EQ((*j)->next_seq(), 101u);
    ASSERT_EQ((*j)->recovery().new_losses.size(), 1u);
    EXPECT_EQ((*j)->recovery().new_losses[0].first_seq, 100u);
    EXPECT_EQ((*j)->recovery().new_losses[0].last_seq, 100u);
    EXPECT_EQ((*j)->stats().flushed_records, 0u) << "a record the segments cover was drained from the ring again";
    ASSERT_TRUE((*j)->append(101, 101, 1, payload_for(kSeed, 101)));
    ASSERT_TRUE((*j)->close().ok());
  }
  auto summary = examine(dir.path());
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_TRUE(summary->clean()) << summary->problems.front();
  ReadBack back = read_back(dir.path());
  expect_strictly_increasing(back.order);
  EXPECT_EQ(back.data.size(), 100u);
  EXPECT_FALSE(back.data.contains(100));
  ASSERT_EQ(back.made_gaps.size(), 1u);
  EXPECT_EQ(back.made_gaps[0], (std::pair<std::uint64_t, std::uint64_t>(100, 100)));
}

// Issue 12, item 7: a damaged segment that is not the last.
TEST(Damage, ReplayGoesOnPastADamagedEarlierSegmentAndRecoverRecordsItsGap) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 1200, 32768);
  {
    // A restart, so later segments were written by another run.
    write_journal(dir.path(), 1201, 1500, 32768);
  }
  auto segs = list_segments(dir.path()).value();
  ASSERT_GE(segs.size(), 4u);
  const auto damaged = segs[1].path;
  const auto offsets = record_offsets(damaged);
  const auto [victim, range] = *std::next(offsets.begin(), 10);
  flip_byte(damaged, range.first + 50);

  auto before = examine(dir.path());
  ASSERT_TRUE(before.ok());
  ASSERT_FALSE(before->clean());
  EXPECT_NE(before->problems.front().find(damaged.string() + ": offset " + std::to_string(range.first)),
            std::string::npos) << before->problems.front();

  ReadBack back = read_back(dir.path());
  expect_strictly_increasing(back.order);
  EXPECT_EQ(back.data.size(), 1499u);
  EXPECT_TRUE(back.data.contains(1500));
  ASSERT_EQ(back.made_gaps.size(), 1u);
  EXPECT_EQ(back.made_gaps[0], std::pair(victim, victim));

  auto report = recover_journal(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->losses.size(), 1u);
  EXPECT_EQ(report->losses[0].first_seq, victim);
  EXPECT_EQ(report->next_seq, 1501u);
  auto after = examine(dir.path());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->clean()) << after->problems.front();
}

// Issue 12, item 5: every segment deleted, the ring kept.
TEST(Damage, DeletedSegmentsAreMissingHistoryThatOpenRefusesAndRecoverAcknowledges) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 700, 16384);
  const auto segs = list_segments(dir.path()).value();
  for (const auto& s : segs) {
    std::filesystem::remove(s.path);
    std::filesystem::remove(index_path(s.path));
  }
  auto summary = examine(dir.path());
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_FALSE(summary->clean());
  EXPECT_NE(summary->problems.back().find("seqs 1..700 were issued"), std::string::npos) << summary->problems.back();

  auto refused = Journal::open(small_options(dir.path()));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status()));
  EXPECT_NE(std::string(refused.status().message()).find("seqs 1..700"), std::string::npos) << refused.status();

  auto report = recover_journal(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->next_seq, 701u);
  ASSERT_EQ(report->losses.size(), 1u);
  EXPECT_EQ(report->losses[0].first_seq, 1u);
  EXPECT_EQ(report->losses[0].last_seq, 700u);

  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->next_seq(), 701u);
  ASSERT_TRUE((*j)->append(701, 701, 1, payload_for(kSeed, 701)));
  ASSERT_TRUE((*j)->close().ok());
  auto after = examine(dir.path());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->clean()) << after->problems.front();
}

TEST(Damage, TheManifestFollowsTheRunSoLosingTheRingAndEverySegmentStillReusesNoSeq) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 700, 16384);  // one open, many rolls, closed
  const auto segs = list_segments(dir.path()).value();
  ASSERT_GE(segs.size(), 3u);
  auto before = read_manifest(dir.path());
  ASSERT_TRUE(before.ok() && *before) << before.status();
  // Written at open (highest 0) and again as each rolled-out segment was synced.
  auto infos = read_segment_infos({segs[segs.size() - 2]});
  ASSERT_TRUE(infos.front().header);
  EXPECT_GE((*before)->highest_seq, infos.front().last_seq);
  EXPECT_GE((*before)->next_segment_index, segs.back().index + 1);

  std::filesystem::remove(dir.path() / "ring");
  for (const auto& s : segs) {
    std::filesystem::remove(s.path);
    std::filesystem::remove(index_path(s.path));
  }
  auto refused = Journal::open(small_options(dir.path()));
  ASSERT_FALSE(refused.ok()) << "the manifest alone still says seqs were issued";
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  auto report = recover_journal(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->next_seq, infos.front().last_seq);
}

TEST(Damage, AMissingMiddleSegmentIsNamedByVerifyAndRefusedByOpen) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 1000, 16384);
  auto segs = list_segments(dir.path()).value();
  ASSERT_GE(segs.size(), 4u);
  const std::uint64_t gone = segs[2].index;
  std::filesystem::remove(segs[2].path);
  auto summary = examine(dir.path());
  ASSERT_TRUE(summary.ok());
  ASSERT_FALSE(summary->clean());
  const std::string named = fmt::format("segment {} missing", gone);
  bool found = false;
  for (const auto& p : summary->problems) found |= p.find(named) != std::string::npos;
  EXPECT_TRUE(found) << summary->problems.front();
  auto refused = Journal::open(small_options(dir.path()));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find(named), std::string::npos) << refused.status();
  ReadBack back = read_back(dir.path());
  expect_strictly_increasing(back.order);
  EXPECT_EQ(back.made_gaps.size(), 1u);
}

TEST(Damage, SwappedSegmentNamesAreNamedByVerifyAndReadInHeaderOrder) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 1000, 16384);
  auto segs = list_segments(dir.path()).value();
  ASSERT_GE(segs.size(), 3u);
  const auto a = segs[0].path, b = segs[1].path;
  std::filesystem::rename(a, dir.path() / "swap");
  std::filesystem::rename(b, a);
  std::filesystem::rename(dir.path() / "swap", b);
  auto summary = examine(dir.path());
  ASSERT_TRUE(summary.ok());
  ASSERT_FALSE(summary->clean());
  bool named = false;
  for (const auto& p : summary->problems) named |= p.find(a.string() + ": named segment") != std::string::npos;
  EXPECT_TRUE(named);
  ReadBack back = read_back(dir.path());
  expect_strictly_increasing(back.order);
  EXPECT_EQ(back.data.size(), 1000u);
  EXPECT_TRUE(back.made_gaps.empty());
}

TEST(Damage, ADuplicatedSegmentIsNamedNeverReplayedTwiceAndNeverLetsASeqBeReused) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 1000, 16384);
  auto segs = list_segments(dir.path()).value();
  ASSERT_GE(segs.size(), 3u);
  // The newest segment copied in under the name the next one would get.
  const auto copy = dir.path() / segment_file_name(0, segs.back().index + 1);
  std::filesystem::copy_file(segs[1].path, copy);
  auto summary = examine(dir.path());
  ASSERT_TRUE(summary.ok());
  bool duplicate = false;
  for (const auto& p : summary->problems) duplicate |= p.find("(a duplicate)") != std::string::npos;
  EXPECT_TRUE(duplicate) << (summary->problems.empty() ? "" : summary->problems.front());
  ReadBack back = read_back(dir.path());
  expect_strictly_increasing(back.order);
  EXPECT_EQ(back.data.size(), 1000u);
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->next_seq(), 1001u);
  ASSERT_TRUE((*j)->close().ok());
}

TEST(Damage, VerifyOfADirectoryThatIsNotAJournalIsAnError) {
  ScratchDir dir;
  spill(dir.path() / "notes.txt", {'h', 'i'});
  auto summary = examine(dir.path());
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(std::string(summary.status().message()).find("not a tickwire journal"), std::string::npos);
  EXPECT_FALSE(recover_journal(dir.path()).ok());
}

// Issue 12, item 3.
TEST(Damage, OpenRemovesOnlyTheJournalsOwnTemporaries) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 10);
  for (const char* name : {"notes.tmp", ".x.tmp", ".spare-abc.seg.tmp"}) spill(dir.path() / name, {'u'});
  for (const char* name : {".spare-000007.seg.tmp", ".spare-000007.idx.tmp", ".manifest.tmp", ".ring.tmp"}) {
    spill(dir.path() / name, {'j'});
  }
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_TRUE((*j)->close().ok());
  for (const char* name : {"notes.tmp", ".x.tmp", ".spare-abc.seg.tmp"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.path() / name)) << name << " was deleted";
  }
  for (const char* name : {".spare-000007.seg.tmp", ".spare-000007.idx.tmp", ".manifest.tmp"}) {
    EXPECT_FALSE(std::filesystem::exists(dir.path() / name)) << name << " was left";
  }
}

TEST(Damage, TheManifestRoundTripsAndRejectsAChangedByte) {
  ScratchDir dir;
  Manifest m;
  m.feed = "binance";
  m.highest_seq = 13721;
  m.next_segment_index = 9;
  m.first_segment_index = 3;
  m.first_seq = 400;
  m.retention = true;
  m.add_loss({5, 7, 4, 1024, 1100, "a loss"});
  m.add_loss({5, 7, 4, 1024, 1100, "the same damage again"});
  ASSERT_TRUE(write_manifest(dir.path(), m).ok());
  auto back = read_manifest(dir.path());
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->highest_seq, 13721u);
  EXPECT_EQ((*back)->losses.size(), 1u);
  EXPECT_EQ((*back)->losses[0].what, "a loss");
  EXPECT_TRUE((*back)->retention);
  EXPECT_TRUE((*back)->covers(5, 7));
  EXPECT_FALSE((*back)->covers(5, 8));
  auto text = slurp(dir.path() / kManifestName);
  text[text.size() / 2] = static_cast<char>(text[text.size() / 2] ^ 1);
  spill(dir.path() / kManifestName, text);
  EXPECT_FALSE(read_manifest(dir.path()).ok());
}

}  // namespace
}  // namespace tickwire::journal
