#include "tickwire/middleware/profiler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

namespace tickwire::middleware {
namespace {

using tickwire::testing::read_text;

#if defined(TICKWIRE_TSAN)
constexpr int kPerThread = 2'000;
#else
constexpr int kPerThread = 100'000;
#endif

LatencyHistogram make_like(const LatencyHistogram& layout) {
  auto h = LatencyHistogram::create(layout.lowest_discernible(), layout.highest_trackable(),
                                    layout.significant_figures());
  EXPECT_TRUE(h.ok()) << h.status();
  return *std::move(h);
}

// The values thread t records: a seeded lognormal spread, so the merged
// distribution has a tail and every thread contributes different values.
std::vector<std::uint64_t> values_for(int t, int n) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
  std::lognormal_distribution<double> dist(7.0, 1.2);
  std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<std::uint64_t>(dist(rng)) + 1;
  return v;
}

TEST(Profiler, RegisteringANameTwiceReturnsTheSameStage) {
  Profiler p;
  const StageId parse = p.stage("parse");
  const StageId encode = p.stage("encode");
  EXPECT_NE(parse, encode);
  EXPECT_EQ(p.stage("parse"), parse);
  EXPECT_EQ(p.stage_names(), (std::vector<std::string>{"parse", "encode"}));
}

TEST(Profiler, RecorderBucketsMatchTheHistogramLayout) {
  Profiler p;
  const StageId s = p.stage("s");
  auto merged = p.merged(s);
  ASSERT_TRUE(merged.ok()) << merged.status();
  const LatencyHistogram layout = *std::move(merged);
  const detail::StageRecorder recorder(layout);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t v = rng() % layout.highest_trackable();
    const std::uint64_t representative = recorder.value_at_index(recorder.index(v));
    ASSERT_EQ(layout.lowest_equivalent(representative), layout.lowest_equivalent(v)) << v;
  }
}

TEST(Profiler, MergedPercentilesAcrossThreadsEqualOneHistogramOfAllValues) {
  Profiler p;
  const StageId parse = p.stage("parse");
  const StageId publish = p.stage("publish");
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const std::uint64_t v : values_for(t, kPerThread)) p.record(parse, v);
      p.record(publish, static_cast<std::uint64_t>(t) + 100);
    });
  }
  for (auto& th : threads) th.join();

  auto merged = p.merged(parse);
  ASSERT_TRUE(merged.ok()) << merged.status();
  LatencyHistogram expected = make_like(*merged);
  for (int t = 0; t < kThreads; ++t) {
    for (const std::uint64_t v : values_for(t, kPerThread)) expected.record(v);
  }
  EXPECT_EQ(merged->total_count(), static_cast<std::uint64_t>(kThreads) * kPerThread);
  EXPECT_EQ(merged->min(), expected.min());
  EXPECT_EQ(merged->max(), expected.max());
  for (const double q : {0.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    EXPECT_EQ(merged->value_at_percentile(q), expected.value_at_percentile(q)) << q;
  }

  auto pub = p.merged(publish);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->total_count(), 4U);
  EXPECT_EQ(pub->min(), 100U);
  EXPECT_EQ(pub->max(), 103U);
}

TEST(Profiler, ReportConvertsTicksToNanosecondsAndCountsThreads) {
  Profiler p;
  const StageId s = p.stage("ring write");
  p.stage("never used");
  std::thread other([&] { p.record(s, 2000); });
  other.join();
  for (std::uint64_t v = 1; v <= 1000; ++v) p.record(s, v);

  const ProfileReport r = p.report();
  ASSERT_EQ(r.stages.size(), 2U);
  const StageReport& ring = r.stages[0];
  EXPECT_EQ(ring.name, "ring write");
  EXPECT_EQ(ring.count, 1001U);
  EXPECT_EQ(ring.threads, 2U);
  EXPECT_EQ(ring.clamped, 0U);
  auto h = p.merged(s);
  ASSERT_TRUE(h.ok());
  EXPECT_DOUBLE_EQ(ring.p50_ns, static_cast<double>(h->value_at_percentile(50.0)) * r.ns_per_tick);
  EXPECT_DOUBLE_EQ(ring.p99_ns, static_cast<double>(h->value_at_percentile(99.0)) * r.ns_per_tick);
  EXPECT_DOUBLE_EQ(ring.max_ns, 2000.0 * r.ns_per_tick);
  EXPECT_LE(ring.p50_ns, ring.p90_ns);
  EXPECT_LE(ring.p90_ns, ring.p99_ns);
  EXPECT_LE(ring.p99_ns, ring.p999_ns);
  EXPECT_LE(ring.p999_ns, ring.p9999_ns);
  EXPECT_LE(ring.p9999_ns, ring.max_ns);
  EXPECT_EQ(r.stages[1].count, 0U);
  EXPECT_EQ(r.stages[1].threads, 0U);
}

TEST(Profiler, ReportTextHasAHeaderAndOneParsableRowPerStage) {
  Profiler p;
  const StageId a = p.stage("parse");
  const StageId b = p.stage("encode");
  for (std::uint64_t v = 1; v <= 100; ++v) p.record(a, v);
  p.record(b, 5);
  const ProfileReport r = p.report();
  std::istringstream text(r.format_text());
  std::string line;
  ASSERT_TRUE(std::getline(text, line));
  EXPECT_NE(line.find("p99.99_us"), std::string::npos) << line;
  for (const StageReport& expected : r.stages) {
    ASSERT_TRUE(std::getline(text, line));
    std::istringstream row(line);
    std::string name;
    std::uint64_t count = 0;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, p9999 = 0, max = 0;
    std::size_t threads = 0;
    std::uint64_t clamped = 0;
    row >> name >> count >> p50 >> p90 >> p99 >> p999 >> p9999 >> max >> threads >> clamped;
    ASSERT_FALSE(row.fail()) << line;
    EXPECT_EQ(name, expected.name);
    EXPECT_EQ(count, expected.count);
    EXPECT_NEAR(p50, expected.p50_ns / 1e3, 0.0005);
    EXPECT_NEAR(max, expected.max_ns / 1e3, 0.0005);
    EXPECT_EQ(threads, 1U);
  }
  EXPECT_FALSE(std::getline(text, line));
}

TEST(Profiler, WritesOneParsableHgrmFilePerStage) {
  tickwire::testing::TempDir dir;
  Profiler p;
  const StageId a = p.stage("parse");
  const StageId b = p.stage("ring write");
  for (std::uint64_t v = 1; v <= 500; ++v) p.record(a, v * 10);
  p.record(b, 42);
  ASSERT_TRUE(p.write_hgrm(dir.path()).ok());

  for (const auto& [file, count] : {std::pair{"parse.hgrm", 500}, std::pair{"ring_write.hgrm", 1}}) {
    const std::string text = read_text(dir / file);
    ASSERT_FALSE(text.empty()) << file;
    EXPECT_EQ(text.rfind("       Value   Percentile   TotalCount 1/(1-Percentile)", 0), 0U) << text;
    const auto at = text.find("Total count    = ");
    ASSERT_NE(at, std::string::npos) << text;
    EXPECT_EQ(std::stoull(text.substr(at + 17)), static_cast<std::uint64_t>(count)) << file;
    // Every data row parses as value, percentile, cumulative count, 1/(1-p).
    std::istringstream rows(text);
    std::string line;
    std::getline(rows, line);
    std::getline(rows, line);
    int data_rows = 0;
    while (std::getline(rows, line) && line.rfind("#", 0) != 0) {
      std::istringstream row(line);
      double value = 0, percentile = 0;
      std::uint64_t cumulative = 0;
      row >> value >> percentile >> cumulative;
      ASSERT_FALSE(row.fail()) << line;
      EXPECT_LE(cumulative, static_cast<std::uint64_t>(count));
      ++data_rows;
    }
    EXPECT_GT(data_rows, 0) << file;
  }
}

TEST(Profiler, WriteHgrmIntoAMissingDirectoryNamesThePath) {
  Profiler p;
  p.stage("parse");
  const absl::Status s = p.write_hgrm("/nonexistent/tickwire-profiler");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("/nonexistent/tickwire-profiler/parse.hgrm"), std::string::npos) << s;
}

TEST(Profiler, ScopedTimerRecordsOneDurationPerScope) {
  Profiler p;
  const StageId s = p.stage("flush");
  p.register_thread();
  for (int i = 0; i < 10; ++i) {
    ScopedTimer t(p, s);
  }
  auto h = p.merged(s);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->total_count(), 10U);
}

// A StageBatch holds durations until it has kCapacity of them, is flushed or
// is destroyed; what it adds is what one record() per value adds.
TEST(Profiler, StageBatchAddsItsDurationsAtCapacityFlushAndDestruction) {
  Profiler batched;
  Profiler direct;
  const StageId sb = batched.stage("parse");
  const StageId sd = direct.stage("parse");
  const std::vector<std::uint64_t> values = values_for(0, 200);
  {
    StageBatch batch(batched, sb);
    for (std::size_t i = 0; i + 1 < StageBatch::kCapacity; ++i) batch.record(values[i]);
    EXPECT_EQ(batched.report().stages[0].count, 0U);
    EXPECT_EQ(batch.held(), StageBatch::kCapacity - 1);
    batch.record(values[StageBatch::kCapacity - 1]);  // full: added
    EXPECT_EQ(batched.report().stages[0].count, StageBatch::kCapacity);
    EXPECT_EQ(batch.held(), 0U);
    for (std::size_t i = StageBatch::kCapacity; i < 100; ++i) batch.record(values[i]);
    batch.flush();
    EXPECT_EQ(batched.report().stages[0].count, 100U);
    for (std::size_t i = 100; i < values.size(); ++i) batch.record(values[i]);
  }  // destroyed: the rest is added
  for (const std::uint64_t v : values) direct.record(sd, v);
  auto a = batched.merged(sb);
  auto b = direct.merged(sd);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->total_count(), values.size());
  for (const double q : {50.0, 90.0, 99.0, 100.0}) {
    EXPECT_EQ(a->value_at_percentile(q), b->value_at_percentile(q)) << q;
  }
}

TEST(Profiler, DurationsAboveTheRangeAreClampedAndCounted) {
  auto created = Profiler::create({.highest_trackable_ns = 1'000'000, .significant_figures = 2});
  ASSERT_TRUE(created.ok()) << created.status();
  Profiler& p = **created;
  const StageId s = p.stage("s");
  p.record(s, ~std::uint64_t{0});
  p.record(s, 1);
  const ProfileReport r = p.report();
  EXPECT_EQ(r.stages[0].count, 2U);
  EXPECT_EQ(r.stages[0].clamped, 1U);
}

TEST(Profiler, CreateRejectsAnInvalidLayout) {
  auto created = Profiler::create({.highest_trackable_ns = 1'000'000, .significant_figures = 9});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(std::string(created.status().message()).find("significant_figures"), std::string::npos) << created.status();
}

TEST(Profiler, AnUnregisteredStageRecordsNothing) {
  Profiler p;
  p.stage("only");
  p.record(static_cast<StageId>(5), 10);
  EXPECT_EQ(p.report().stages[0].count, 0U);
  EXPECT_FALSE(p.merged(static_cast<StageId>(5)).ok());
}

TEST(Profiler, TwoProfilersOnOneThreadKeepTheirOwnCounts) {
  Profiler a;
  Profiler b;
  const StageId sa = a.stage("x");
  const StageId sb = b.stage("x");
  for (int i = 0; i < 3; ++i) a.record(sa, 1);
  b.record(sb, 1);
  EXPECT_EQ(a.report().stages[0].count, 3U);
  EXPECT_EQ(b.report().stages[0].count, 1U);
}

TEST(Profiler, ReportsWhileThreadsRecordAndEndsWithExactCounts) {
  Profiler p;
  const StageId s = p.stage("parse");
  constexpr int kThreads = 3;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      p.register_thread();
      for (int i = 0; i < kPerThread; ++i) {
        ScopedTimer timer(p, s);
      }
      done.fetch_add(1, std::memory_order_release);  // pairs with the acquire load in the loop below
    });
  }
  std::uint64_t last = 0;
  while (done.load(std::memory_order_acquire) < kThreads) {  // pairs with the release increments above
    const std::uint64_t now = p.report().stages[0].count;
    EXPECT_GE(now, last);
    last = now;
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(p.report().stages[0].count, static_cast<std::uint64_t>(kThreads) * kPerThread);
}

}  // namespace
}  // namespace tickwire::middleware
