#include "tickwire/journal/reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>

#include "test_util.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {
namespace {

// A journal of several segments, with a dropped run (a gap record) in it.
std::vector<OwnedRecord> build_journal(const std::filesystem::path& dir, std::uint64_t n) {
  Options o = small_options(dir);
  o.segment_bytes = 32768;
  o.batch_records = 7;
  auto j = Journal::open(o);
  EXPECT_TRUE(j.ok()) << j.status();
  std::vector<std::byte> big((*j)->max_payload() + 1);
  for (std::uint64_t s = 1; s <= n; ++s) {
    if (s % 1000 == 500) {
      EXPECT_FALSE((*j)->append(s, s, 1, big));
    } else {
      EXPECT_TRUE((*j)->append(s, s, 1, payload_for(3, s)));
    }
  }
  EXPECT_TRUE((*j)->close().ok());
  auto all = read_all(dir);
  EXPECT_TRUE(all.ok()) << all.status();
  return *all;
}

std::optional<std::uint64_t> seq_after_seek(Reader& r) {
  auto rec = r.next();
  EXPECT_TRUE(rec.ok()) << rec.status();
  if (!rec.ok() || !*rec) return std::nullopt;
  return (*rec)->seq;
}

void check_random_seeks(const std::filesystem::path& dir, const std::vector<OwnedRecord>& all, std::uint64_t seed) {
  auto reader = Reader::open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 500; ++i) {
    const std::uint64_t target = rng() % (all.back().seq + 10);
    ASSERT_TRUE(reader->seek_seq(target).ok());
    // A gap record is delivered for a seek to any seq it covers.
    auto it = std::find_if(all.begin(), all.end(), [&](const OwnedRecord& r) {
      std::uint64_t hi = r.seq;
      if (r.type == kTypeGap) {
        GapPayload g;
        std::memcpy(&g, r.payload.data(), sizeof g);
        hi = g.last_missing;
      }
      return hi >= target;
    });
    auto got = seq_after_seek(*reader);
    if (it == all.end()) {
      ASSERT_FALSE(got.has_value()) << "seek_seq " << target;
    } else {
      ASSERT_EQ(got, it->seq) << "seek_seq " << target;
    }

    const OwnedRecord& pick = all[rng() % all.size()];
    const std::uint64_t t = pick.wall_ns + rng() % 2;
    ASSERT_TRUE(reader->seek_time(t).ok());
    auto jt = std::find_if(all.begin(), all.end(), [&](const OwnedRecord& r) { return r.wall_ns >= t; });
    got = seq_after_seek(*reader);
    if (jt == all.end()) {
      ASSERT_FALSE(got.has_value()) << "seek_time " << t;
    } else {
      ASSERT_EQ(got, jt->seq) << "seek_time " << t;
    }
  }
}

TEST(Reader, RandomSeeksBySeqAndTimeAgreeWithALinearScan) {
  ScratchDir dir;
  auto all = build_journal(dir.path(), 5000);
  ASSERT_GT(list_segments(dir.path())->size(), 3u);
  check_random_seeks(dir.path(), all, 1);
}

TEST(Reader, SeeksStillAgreeWhenEveryIndexFileIsDeleted) {
  ScratchDir dir;
  auto all = build_journal(dir.path(), 3000);
  auto segs = list_segments(dir.path());
  ASSERT_TRUE(segs.ok());
  for (const auto& s : *segs) std::filesystem::remove(index_path(s.path));
  check_random_seeks(dir.path(), all, 2);
}

TEST(Reader, SeeksStillAgreeWhenAnIndexFileIsGarbage) {
  ScratchDir dir;
  auto all = build_journal(dir.path(), 3000);
  auto segs = list_segments(dir.path());
  ASSERT_TRUE(segs.ok());
  for (const auto& s : *segs) {
    std::ofstream(index_path(s.path), std::ios::binary | std::ios::trunc) << "not an index at all, but long enough";
  }
  check_random_seeks(dir.path(), all, 3);
}

TEST(Reader, GapRecordsAccountForEveryDroppedSeq) {
  ScratchDir dir;
  auto all = build_journal(dir.path(), 2000);
  ASSERT_EQ(all.size(), 2000u);  // 1998 records + 2 gap records
  std::uint64_t expect = 1;
  for (const auto& r : all) {
    ASSERT_EQ(r.seq, expect);
    if (r.type == kTypeGap) {
      GapPayload g;
      ASSERT_EQ(r.payload.size(), sizeof g);
      std::memcpy(&g, r.payload.data(), sizeof g);
      expect = g.last_missing + 1;
    } else {
      ++expect;
    }
  }
}

TEST(Reader, ACrcMismatchIsSkippedAsAGapAndNamedWithFileAndOffset) {
  ScratchDir dir;
  build_journal(dir.path(), 100);
  auto seg = list_segments(dir.path())->front().path;
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kSegmentHeaderSize + 50);
    f.put('\x5a');
  }
  auto reader = Reader::open(dir.path());
  ASSERT_TRUE(reader.ok());
  auto r = reader->next();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_TRUE((*r)->made_gap);
  EXPECT_EQ((*r)->seq, 1u);
  r = reader->next();
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->seq, 2u);
  EXPECT_FALSE((*r)->made_gap);
  ASSERT_FALSE(reader->problems().empty());
  const std::string& msg = reader->problems().front();
  EXPECT_NE(msg.find(seg.string() + ": offset 512: crc mismatch (stored 0x"), std::string::npos) << msg;
}

TEST(Reader, AnEmptyDirectoryHasNoRecords) {
  ScratchDir dir;
  auto reader = Reader::open(dir.path());
  ASSERT_TRUE(reader.ok());
  auto r = reader->next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(reader->seek_seq(5).ok());
  EXPECT_TRUE(reader->seek_time(5).ok());
}

}  // namespace
}  // namespace tickwire::journal
