// Rolls by UTC day and retention by age and by bytes, with the journal's wall
// clock injected (Options::wall_clock) so a test can cross midnight. The
// flusher reads the clock once per batch; each test waits until a phase's
// records are flushed (stats().flushed_records) before moving the clock.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/reader.hpp"
#include "tickwire/journal/recovery.hpp"

namespace tickwire::journal {
namespace {

constexpr std::uint64_t kNsPerHour = 3'600'000'000'000ull;
constexpr std::uint64_t kNsPerDay = 24 * kNsPerHour;
// 2026-11-22T00:00:00Z.
constexpr std::uint64_t kDay0 = 20'779 * kNsPerDay;

// A wall clock the test moves; read by the flusher thread.
std::atomic<std::uint64_t> g_wall{0};

Options clocked_options(const std::filesystem::path& dir) {
  Options o = small_options(dir);
  o.segment_bytes = 1u << 20;  // big enough that only the day rolls
  o.wall_clock = [] {
    // relaxed: the value alone matters; the test sets it before appending the records it stamps.
    return g_wall.load(std::memory_order_relaxed);
  };
  return o;
}

// Appends seqs [from, to] and waits until the flusher has written them all.
void append_and_flush(Journal& j, std::uint64_t from, std::uint64_t to) {
  const std::uint64_t before = j.stats().flushed_records;
  for (std::uint64_t s = from; s <= to; ++s) ASSERT_TRUE(j.append(s, s, 1, payload_for(5, s)));
  while (j.stats().flushed_records < before + (to - from + 1)) std::this_thread::yield();
}

std::vector<std::string> segment_names(const std::filesystem::path& dir) {
  auto segs = list_segments(dir);
  EXPECT_TRUE(segs.ok());
  std::vector<std::string> names;
  for (const auto& s : *segs) names.push_back(s.path.filename().string());
  return names;
}

TEST(Roll, AtUtcMidnightRecordsBeforeAndAfterLandInSegmentsNamedInTimeOrder) {
  ScratchDir dir;
  g_wall.store(kDay0 - 2'000'000'000, std::memory_order_relaxed);  // 23:59:58 the day before
  auto j = Journal::open(clocked_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  append_and_flush(**j, 1, 100);
  g_wall.store(kDay0 + 1'000'000'000, std::memory_order_relaxed);  // 00:00:01
  append_and_flush(**j, 101, 200);
  ASSERT_TRUE((*j)->close().ok());

  const auto names = segment_names(dir.path());
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "20261121T235958Z-000001.seg");
  EXPECT_EQ(names[1], "20261122T000001Z-000002.seg");
  auto sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, names) << "names do not sort in time order";

  auto reader = Reader::open(dir.path());
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (std::uint64_t seq = 1; seq <= 200; ++seq) {
    auto r = reader->next();
    ASSERT_TRUE(r.ok() && r->has_value()) << "seq " << seq;
    ASSERT_EQ((*r)->seq, seq);
    const bool before_midnight = (*r)->wall_ns < kDay0;
    EXPECT_EQ(before_midnight, seq <= 100) << "seq " << seq;
    EXPECT_EQ(reader->current_segment().filename().string(), names[seq <= 100 ? 0 : 1]) << "seq " << seq;
  }
}

TEST(Roll, NoDailyRollWhenDisabled) {
  ScratchDir dir;
  g_wall.store(kDay0 - 2'000'000'000, std::memory_order_relaxed);
  Options o = clocked_options(dir.path());
  o.roll_daily_utc = false;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  append_and_flush(**j, 1, 10);
  g_wall.store(kDay0 + 1'000'000'000, std::memory_order_relaxed);
  append_and_flush(**j, 11, 20);
  ASSERT_TRUE((*j)->close().ok());
  EXPECT_EQ(segment_names(dir.path()).size(), 1u);
}

TEST(Retention, ByAgeDeletesSegmentsCreatedMoreThanTheAgeBeforeNow) {
  ScratchDir dir;
  Options o = clocked_options(dir.path());
  o.retention_age = std::chrono::hours(48);
  g_wall.store(kDay0 + 12 * kNsPerHour, std::memory_order_relaxed);
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  // One segment a day at noon, days 0..3; the roll into day 3 applies retention.
  for (std::uint64_t day = 0; day < 4; ++day) {
    g_wall.store(kDay0 + day * kNsPerDay + 12 * kNsPerHour, std::memory_order_relaxed);
    append_and_flush(**j, day * 10 + 1, day * 10 + 10);
  }
  ASSERT_TRUE((*j)->close().ok());
  // Day 0 noon + 48 h < day 3 noon: gone. Day 1 noon + 48 h = day 3 noon: kept (not older than the age).
  const auto names = segment_names(dir.path());
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "20261123T120000Z-000002.seg");
  EXPECT_EQ(names[2], "20261125T120000Z-000004.seg");
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 30u);
  EXPECT_EQ(recs->front().seq, 11u);
  EXPECT_EQ(recs->back().seq, 40u);
}

TEST(Retention, NeverDeletesTheSegmentBeingWrittenEvenWhenItAloneIsOverTheLimits) {
  ScratchDir dir;
  Options o = clocked_options(dir.path());
  o.segment_bytes = 8192;
  o.retention_bytes = 1;                      // every closed segment is over the limit
  o.retention_age = std::chrono::hours(1);    // and, after the jump below, too old
  g_wall.store(kDay0, std::memory_order_relaxed);
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  append_and_flush(**j, 1, 500);  // many size rolls
  g_wall.store(kDay0 + 10 * kNsPerDay, std::memory_order_relaxed);
  append_and_flush(**j, 501, 510);  // a day roll with everything older than the age
  // While open: only the segment being written is left, and it holds the newest records.
  const auto open_names = segment_names(dir.path());
  ASSERT_EQ(open_names.size(), 1u);
  EXPECT_EQ(open_names[0].substr(0, 16), "20261202T000000Z");
  ASSERT_TRUE((*j)->close().ok());
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 10u);
  EXPECT_EQ(recs->front().seq, 501u);
  EXPECT_EQ(recs->back().seq, 510u);
}

}  // namespace
}  // namespace tickwire::journal
