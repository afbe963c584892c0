#include "tickwire/journal/journal.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"
#include "test_util.hpp"
#include "tickwire/journal/reader.hpp"
#include "tickwire/journal/recovery.hpp"

namespace tickwire::journal {
namespace {

using testing::TempDir;

TEST(Journal, AppendedRecordsReadBackInOrderAfterClose) {
  TempDir dir;
  Options o = small_options(dir.path());
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->next_seq(), 1u);
  for (std::uint64_t seq = 1; seq <= 1000; ++seq) {
    auto p = payload_for(7, seq);
    ASSERT_TRUE((*j)->append(seq, seq * 10, 1, p));
  }
  ASSERT_TRUE((*j)->close().ok());
  Stats st = (*j)->stats();
  EXPECT_EQ(st.appended, 1000u);
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_EQ(st.flushed_records, 1000u);
  EXPECT_EQ(st.durable_seq, 1000u);
  EXPECT_GT(st.segments, 1u);
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 1000u);
  for (std::uint64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ((*recs)[i].seq, i + 1);
    EXPECT_EQ((*recs)[i].mono_ns, (i + 1) * 10);
    EXPECT_EQ((*recs)[i].type, 1);
    EXPECT_EQ((*recs)[i].payload, payload_for(7, i + 1));
  }
}

// expect_journaled: the journal in `dir` holds records 1..n, in order, each
// of type 1 with the bytes payload(seq), and nothing else.
template <typename PayloadOf>
void expect_journaled(const std::filesystem::path& dir, std::uint64_t n, PayloadOf payload) {
  auto reader = Reader::open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::uint64_t expected = 1;
  for (;;) {
    auto r = reader->next();
    ASSERT_TRUE(r.ok()) << r.status();
    if (!*r) break;
    ASSERT_EQ((*r)->seq, expected);
    ASSERT_EQ((*r)->type, 1);
    const auto& want = payload(expected);
    ASSERT_TRUE(std::equal((*r)->payload.begin(), (*r)->payload.end(), want.begin(), want.end())) << expected;
    ++expected;
  }
  EXPECT_EQ(expected - 1, n);
}

TEST(Journal, CloseDrainsEveryRecordAppendedAtFullSpeedThroughAFullRing) {
  // Stress: the producer outruns the flusher (a 64 KiB ring, 64 KiB
  // segments, so it is full and rolling all the time); close() must still
  // leave every appended record in the segments, once, in order.
  TempDir dir;
  Options o = small_options(dir.path());
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  constexpr std::uint64_t kRecords = 200'000;
  std::vector<std::vector<std::byte>> payloads(64);
  for (std::size_t i = 0; i < payloads.size(); ++i) payloads[i] = payload_for(11, i);
  for (std::uint64_t seq = 1; seq <= kRecords; ++seq) {
    ASSERT_TRUE((*j)->append(seq, seq, 1, payloads[seq % payloads.size()]));
  }
  ASSERT_TRUE((*j)->close().ok());
  const Stats st = (*j)->stats();
  EXPECT_EQ(st.appended, kRecords);
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_EQ(st.flushed_records, kRecords);
  expect_journaled(dir.path(), kRecords, [&](std::uint64_t seq) { return payloads[seq % payloads.size()]; });
}

// baits: `n` payloads of 72 to 104 bytes for a 64 KiB ring, each placed as
// the ring places it (a filler at the end of a lap when it does not fit), and
// every word of each shaped like a commit word of a 40-byte record in the
// next lap: what a reader finds if it looks there one lap later.
std::vector<std::vector<std::byte>> baits(std::uint64_t n) {
  std::vector<std::vector<std::byte>> out;
  std::uint64_t pos = 0;
  for (std::uint64_t seq = 1; seq <= n; ++seq) {
    std::vector<std::byte> p(8 * (9 + seq % 5));
    const std::uint64_t aligned = 32 + p.size();
    const std::uint64_t to_end = 65536 - pos % 65536;
    if (aligned > to_end) pos += to_end;
    const std::uint64_t w = ((pos >> 16) + 1) << 32 | 40;
    for (std::size_t i = 0; i < p.size(); i += 8) std::memcpy(p.data() + i, &w, 8);
    pos += aligned;
    out.push_back(std::move(p));
  }
  return out;
}

TEST(Journal, PayloadsThatLookLikeCommitWordsAreNeverMistakenForRecords) {
  // Cap'n Proto payloads are full of small integers: an 8-byte word whose
  // upper half is a small lap number is common. Each lap here leaves such
  // words where the next lap's records do not start (sizes vary, so
  // boundaries move), and the flusher often catches up and looks past the
  // last record (the producer gives up its time slice every few records).
  // Every record must come back, once, in order.
  TempDir dir;
  Options o = small_options(dir.path());
  ASSERT_EQ(o.ring_bytes, 65536u);
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  constexpr std::uint64_t kRecords = 100'000;
  const auto payloads = baits(kRecords);
  for (std::uint64_t seq = 1; seq <= kRecords; ++seq) {
    ASSERT_TRUE((*j)->append(seq, seq, 1, payloads[seq - 1]));
    if (seq % 4 == 0) std::this_thread::yield();
  }
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_EQ((*j)->stats().flushed_records, kRecords);
  expect_journaled(dir.path(), kRecords, [&](std::uint64_t seq) { return payloads[seq - 1]; });
}

TEST(Journal, ReopenContinuesAfterTheLastJournaledSeq) {
  TempDir dir;
  Options o = small_options(dir.path());
  {
    auto j = Journal::open(o);
    ASSERT_TRUE(j.ok()) << j.status();
    for (std::uint64_t seq = 1; seq <= 50; ++seq) ASSERT_TRUE((*j)->append(seq, 0, 1, payload_for(1, seq)));
    ASSERT_TRUE((*j)->close().ok());
  }
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->next_seq(), 51u);
  EXPECT_EQ((*j)->durable_seq(), 50u);
  ASSERT_TRUE((*j)->append(51, 0, 1, payload_for(1, 51)));
  ASSERT_TRUE((*j)->close().ok());
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 51u);
  EXPECT_EQ(recs->back().seq, 51u);
}

TEST(Journal, BlockPolicyWaitsOutAFullRingAndLosesNothing) {
  TempDir dir;
  Options o = small_options(dir.path());
  o.ring_bytes = 4096;  // a few dozen records: the producer waits for the flusher again and again
  o.batch_records = 4;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  constexpr std::uint64_t kRecords = 20'000;
  for (std::uint64_t seq = 1; seq <= kRecords; ++seq) ASSERT_TRUE((*j)->append(seq, seq, 1, payload_for(3, seq)));
  ASSERT_TRUE((*j)->close().ok());
  Stats st = (*j)->stats();
  EXPECT_EQ(st.appended, kRecords);
  EXPECT_EQ(st.dropped, 0u);
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    ASSERT_EQ((*recs)[i].seq, i + 1);
    ASSERT_EQ((*recs)[i].payload, payload_for(3, i + 1));
  }
}

TEST(Journal, BlockPolicyWaitsForRoomForRecordsLargerThanAnEighthOfTheRing) {
  TempDir dir;
  Options o = small_options(dir.path());
  o.ring_bytes = 4096;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_GE((*j)->max_payload(), 1500u);
  constexpr std::uint64_t kRecords = 2'000;
  for (std::uint64_t seq = 1; seq <= kRecords; ++seq) {
    std::vector<std::byte> p(1500, static_cast<std::byte>(seq));
    ASSERT_TRUE((*j)->append(seq, seq, 1, p));
  }
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_EQ((*j)->stats().dropped, 0u);
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    ASSERT_EQ((*recs)[i].payload, std::vector<std::byte>(1500, static_cast<std::byte>(i + 1)));
  }
}

TEST(Journal, DropPolicyCountsDropsAndJournalsAGapRecord) {
  TempDir dir;
  Options o = small_options(dir.path());
  o.full_policy = FullPolicy::kDrop;
  o.ring_bytes = 4096;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  // Oversized payloads are always dropped, whatever the ring's state.
  std::vector<std::byte> big((*j)->max_payload() + 1);
  ASSERT_TRUE((*j)->append(1, 0, 1, payload_for(1, 1)));
  EXPECT_FALSE((*j)->append(2, 0, 1, big));
  EXPECT_FALSE((*j)->append(3, 0, 1, big));
  ASSERT_TRUE((*j)->append(4, 0, 1, payload_for(1, 4)));
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_EQ((*j)->stats().dropped, 2u);
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[1].type, kTypeGap);
  GapPayload g;
  ASSERT_EQ((*recs)[1].payload.size(), sizeof g);
  std::memcpy(&g, (*recs)[1].payload.data(), sizeof g);
  EXPECT_EQ(g.first_missing, 2u);
  EXPECT_EQ(g.last_missing, 3u);
  EXPECT_EQ(g.count, 2u);
  EXPECT_EQ((*recs)[2].seq, 4u);
}

TEST(Journal, RejectsReservedTypesAndRepeatedSeqs) {
  TempDir dir;
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_TRUE((*j)->append(5, 0, 1, payload_for(1, 5)));
  EXPECT_FALSE((*j)->append(5, 0, 1, payload_for(1, 5)));
  EXPECT_FALSE((*j)->append(6, 0, kTypeGap, payload_for(1, 6)));
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_EQ((*j)->stats().dropped, 2u);
}

TEST(Journal, OpenRejectsARingSizeThatIsNotAPowerOfTwo) {
  TempDir dir;
  Options o = small_options(dir.path());
  o.ring_bytes = 5000;
  auto j = Journal::open(o);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("ring_bytes 5000"), std::string::npos) << j.status();
}

TEST(Journal, IntervalFsyncAdvancesDurableSeqWithoutClose) {
  TempDir dir;
  Options o = small_options(dir.path());
  o.fsync = FsyncPolicy::kInterval;
  o.fsync_interval = std::chrono::milliseconds(1);
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  for (std::uint64_t seq = 1; seq <= 100; ++seq) ASSERT_TRUE((*j)->append(seq, 0, 1, payload_for(1, seq)));
  while ((*j)->durable_seq() < 100) std::this_thread::yield();
  EXPECT_EQ((*j)->stats().durable_seq, 100u);
  ASSERT_TRUE((*j)->close().ok());
}

TEST(Journal, BatchFsyncMakesEveryFlushedRecordDurable) {
  TempDir dir;
  Options o = small_options(dir.path());
  o.fsync = FsyncPolicy::kBatch;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  for (std::uint64_t seq = 1; seq <= 100; ++seq) ASSERT_TRUE((*j)->append(seq, 0, 1, payload_for(1, seq)));
  while ((*j)->stats().flushed_records < 100) std::this_thread::yield();
  while ((*j)->durable_seq() < 100) std::this_thread::yield();
  ASSERT_TRUE((*j)->close().ok());
}

TEST(Journal, RetentionByBytesDeletesTheOldestClosedSegmentsOnly) {
  TempDir dir;
  Options o = small_options(dir.path());
  o.segment_bytes = 8192;
  o.retention_bytes = 40000;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  for (std::uint64_t seq = 1; seq <= 2000; ++seq) ASSERT_TRUE((*j)->append(seq, 0, 1, payload_for(1, seq)));
  ASSERT_TRUE((*j)->close().ok());
  auto segs = list_segments(dir.path());
  ASSERT_TRUE(segs.ok());
  std::uint64_t total = 0;
  for (const auto& s : *segs) total += std::filesystem::file_size(s.path);
  EXPECT_LE(total, o.retention_bytes + o.segment_bytes);
  EXPECT_GT((*j)->stats().segments, segs->size());
  // What is left is a contiguous suffix ending at the last record.
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_FALSE(recs->empty());
  EXPECT_EQ(recs->back().seq, 2000u);
  for (std::size_t i = 1; i < recs->size(); ++i) ASSERT_EQ((*recs)[i].seq, (*recs)[i - 1].seq + 1);
}

TEST(Journal, SegmentHeadersCarryFeedSchemaAndClock) {
  TempDir dir;
  Options o = small_options(dir.path());
  o.feed = "binance-spot";
  o.schema_id = 7;
  o.clock = ClockInfo{111, 222, 333, 0.5};
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_TRUE((*j)->append(1, 0, 1, payload_for(1, 1)));
  ASSERT_TRUE((*j)->close().ok());
  auto reader = Reader::open(dir.path());
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(reader->next().ok());
  const SegmentHeader& h = reader->current_header();
  EXPECT_EQ(h.feed_name(), "binance-spot");
  EXPECT_EQ(h.schema_id, 7);
  EXPECT_EQ(h.tsc_anchor, 111u);
  EXPECT_EQ(h.mono_anchor_ns, 222u);
  EXPECT_EQ(h.wall_anchor_ns, 333u);
  EXPECT_EQ(h.ns_per_tick, 0.5);
  EXPECT_EQ(h.first_seq, 1u);
  EXPECT_EQ(h.index_interval, 16u);
}

}  // namespace
}  // namespace tickwire::journal
