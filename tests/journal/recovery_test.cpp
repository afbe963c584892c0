#include "tickwire/journal/recovery.hpp"

#include <fcntl.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <optional>

#include "test_util.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {
namespace {

std::vector<char> slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const std::filesystem::path& p, std::span<const char> bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// One closed segment of `n` records; returns its path and each record's [offset, offset+length).
struct Built {
  std::filesystem::path segment;
  std::vector<std::pair<std::size_t, std::size_t>> records;
};

Built build_segment(const std::filesystem::path& dir, std::uint64_t n) {
  Options o = small_options(dir);
  o.segment_bytes = 1u << 20;
  auto j = Journal::open(o);
  EXPECT_TRUE(j.ok()) << j.status();
  for (std::uint64_t s = 1; s <= n; ++s) EXPECT_TRUE((*j)->append(s, s, 1, payload_for(9, s)));
  EXPECT_TRUE((*j)->close().ok());
  Built b;
  b.segment = list_segments(dir).value().at(0).path;
  auto bytes = slurp(b.segment);
  std::span<const std::byte> image(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  for (std::size_t off = kSegmentHeaderSize;;) {
    DecodedRecord r = decode_record(image, off);
    if (r.status != DecodeStatus::kOk || r.header.type == kTypeEndOfSegment) break;
    b.records.emplace_back(off, off + r.header.length);
    off = r.next;
  }
  return b;
}

// The records a reader delivers after recovery must be exactly 1..expected.
void expect_prefix(const std::filesystem::path& dir, std::uint64_t expected) {
  auto recs = read_all(dir);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), expected);
  for (std::uint64_t i = 0; i < expected; ++i) {
    ASSERT_EQ((*recs)[i].seq, i + 1);
    ASSERT_EQ((*recs)[i].payload, payload_for(9, i + 1));
  }
}

TEST(Recovery, TruncationAtEveryOffsetOfTheLastTwoPagesKeepsTheLongestValidPrefix) {
  ScratchDir src;
  Built b = build_segment(src.path(), 120);
  const auto original = slurp(b.segment);
  ASSERT_GT(original.size(), 8192u + kSegmentHeaderSize);
  ScratchDir work;
  const auto seg = work.path() / b.segment.filename();
  for (std::size_t cut = original.size() - 8192; cut <= original.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    spill(seg, std::span(original.data(), cut));
    std::filesystem::remove(index_path(seg));
    auto scan = recover_segment(seg);
    ASSERT_TRUE(scan.ok()) << scan.status();
    std::uint64_t expected = 0;
    while (expected < b.records.size() && b.records[expected].second <= cut) ++expected;
    ASSERT_EQ(scan->records, expected);
    ASSERT_EQ(std::filesystem::file_size(seg), scan->valid_end);
    expect_prefix(work.path(), expected);
  }
}

TEST(Recovery, ASingleBitFlipAtEveryOffsetOfTheLastTwoPagesLosesOnlyTheFlippedRecord) {
  ScratchDir src;
  Built b = build_segment(src.path(), 120);
  const auto original = slurp(b.segment);
  ScratchDir work;
  const auto seg = work.path() / b.segment.filename();
  for (std::size_t at = original.size() - 8192; at < original.size(); ++at) {
    SCOPED_TRACE("bit " + std::to_string(at % 8) + " of byte " + std::to_string(at));
    auto bytes = original;
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (at % 8)));
    spill(seg, bytes);
    std::filesystem::remove(index_path(seg));
    auto scan = recover_segment(seg);
    ASSERT_TRUE(scan.ok()) << scan.status();
    // The flipped record alone is lost (kept in place as damage, with every
    // record after it); a flip in alignment padding or in the end record loses nothing.
    std::optional<std::uint64_t> flipped;
    for (std::size_t k = 0; k < b.records.size(); ++k) {
      if (b.records[k].first <= at && at < b.records[k].second) flipped = k + 1;
    }
    ASSERT_EQ(scan->records, b.records.size() - (flipped ? 1 : 0));
    ASSERT_EQ(scan->damage.size(), flipped ? 1u : 0u);
    if (flipped) {
      EXPECT_EQ(scan->damage[0].after_seq + 1, *flipped);
      EXPECT_EQ(scan->damage[0].resume_seq, *flipped + 1);
    }
    auto recs = read_all(work.path());
    ASSERT_TRUE(recs.ok()) << recs.status();
    std::uint64_t expect = 1;
    for (const auto& r : *recs) {
      if (flipped && expect == *flipped) {
        ASSERT_EQ(r.type, kTypeGap);  // the reader's gap for the lost seq
        ASSERT_EQ(r.seq, *flipped);
      } else {
        ASSERT_EQ(r.seq, expect);
        ASSERT_EQ(r.payload, payload_for(9, expect));
      }
      ++expect;
    }
    ASSERT_EQ(expect, b.records.size() + 1);
  }
}

TEST(Recovery, RecoveryRebuildsAMissingIndexIdentically) {
  ScratchDir dir;
  Built b = build_segment(dir.path(), 500);
  const auto idx = index_path(b.segment);
  const auto written = slurp(idx);
  ASSERT_GT(written.size(), sizeof(IndexHeader));
  std::filesystem::remove(idx);
  auto scan = recover_segment(b.segment);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_TRUE(scan->index_rewritten);
  EXPECT_EQ(slurp(idx), written);
  std::filesystem::remove(idx);
  ASSERT_TRUE(rebuild_index(b.segment).ok());
  EXPECT_EQ(slurp(idx), written);
}

TEST(Recovery, ReopenAfterATornTailOfDurableRecordsRecordsTheirGapAndNeverReusesTheirSeqs) {
  ScratchDir dir;
  Built b = build_segment(dir.path(), 100);
  auto bytes = slurp(b.segment);
  // Tear record 60 (its last byte) and drop the end record: a crash mid-write.
  bytes.resize(b.records[59].second - 1);
  spill(b.segment, bytes);
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  // The ring's durable_seq says 100 was issued: 60..100 become a gap, never reused.
  EXPECT_EQ((*j)->next_seq(), 101u);
  ASSERT_EQ((*j)->recovery().new_losses.size(), 1u);
  EXPECT_EQ((*j)->recovery().new_losses[0].first_seq, 60u);
  EXPECT_EQ((*j)->recovery().new_losses[0].last_seq, 100u);
  ASSERT_TRUE((*j)->append(101, 101, 1, payload_for(9, 101)));
  ASSERT_TRUE((*j)->close().ok());
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 61u);
  for (std::uint64_t i = 0; i < 59; ++i) ASSERT_EQ((*recs)[i].payload, payload_for(9, i + 1));
  EXPECT_EQ((*recs)[59].type, kTypeGap);
  EXPECT_EQ((*recs)[59].seq, 60u);
  EXPECT_EQ((*recs)[60].seq, 101u);
}

TEST(Recovery, TemporariesLeftByAnInterruptedRollAreRemovedOnOpen) {
  ScratchDir dir;
  build_segment(dir.path(), 10);
  spill(dir.path() / ".spare-000002.seg.tmp", std::span<const char>("partial", 7));
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / ".spare-000002.seg.tmp"));
  expect_prefix(dir.path(), 10);
}

TEST(Recovery, RolledOutSegmentsACrashLeftUntruncatedAreTruncatedToTheirEndRecordOnOpen) {
  ScratchDir dir;
  Options o = small_options(dir.path());
  o.segment_bytes = 8192;
  {
    auto j = Journal::open(o);
    ASSERT_TRUE(j.ok()) << j.status();
    for (std::uint64_t s = 1; s <= 300; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(9, s)));
    ASSERT_TRUE((*j)->close().ok());
  }
  auto segs = list_segments(dir.path());
  ASSERT_TRUE(segs.ok());
  ASSERT_GE(segs->size(), 4u);
  // As if the writer died after rolling out the two segments before the last,
  // before its helper truncated them: zeros after their end records.
  std::vector<std::uintmax_t> sizes;
  for (std::size_t i = segs->size() - 3; i + 1 < segs->size(); ++i) {
    sizes.push_back(std::filesystem::file_size((*segs)[i].path));
    std::filesystem::resize_file((*segs)[i].path, o.segment_bytes);
  }
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->next_seq(), 301u);
  ASSERT_TRUE((*j)->close().ok());
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    EXPECT_EQ(std::filesystem::file_size((*segs)[segs->size() - 3 + k].path), sizes[k]) << "segment " << k;
  }
  expect_prefix(dir.path(), 300);
}

}  // namespace
}  // namespace tickwire::journal
