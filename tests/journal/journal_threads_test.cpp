#include <gtest/gtest.h>

#include <string>

#include "support/temp_dir.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace tickwire::journal {
namespace {

TEST(JournalThreads, RefusesToOpenWithAFlusherCoreThatCannotBeUsed) {
  testing::TempDir dir("tickwire-jthreads");
  Options o;
  o.dir = dir.path();
  o.feed = "test";
  o.ring_bytes = 1u << 20;
  o.segment_bytes = 4u << 20;
  o.flusher_cores = {1023};  // no machine here has 1024 cores
  auto journal = Journal::open(o);
  ASSERT_FALSE(journal.ok());
  const std::string message(middleware::status_text(journal.status()));
  EXPECT_NE(message.find("tw-flush"), std::string::npos) << message;
  EXPECT_NE(message.find("1023"), std::string::npos) << message;
}

TEST(JournalThreads, RunsUnpinnedWithAWarningWhenAffinityIsOptional) {
  testing::TempDir dir("tickwire-jthreads");
  Options o;
  o.dir = dir.path();
  o.feed = "test";
  o.ring_bytes = 1u << 20;
  o.segment_bytes = 4u << 20;
  o.flusher_cores = {1023};
  o.flusher_affinity_required = false;
  auto journal = Journal::open(o);
  ASSERT_TRUE(journal.ok()) << journal.status();
  const std::byte payload[8] = {};
  ASSERT_TRUE((*journal)->append((*journal)->next_seq(), 1, 1, payload));
  ASSERT_TRUE((*journal)->close().ok());
  EXPECT_EQ((*journal)->stats().flushed_records, 1u);
}

}  // namespace
}  // namespace tickwire::journal

namespace tickwire::journal {
namespace {

TEST(JournalProfiler, TimesNonEmptyFlusherBatchesInTheFlushStage) {
  testing::TempDir dir("tickwire-jprof");
  middleware::Profiler profiler;
  Options o;
  o.dir = dir.path();
  o.feed = "test";
  o.ring_bytes = 1u << 20;
  o.segment_bytes = 4u << 20;
  o.fsync = FsyncPolicy::kNone;
  o.profiler = &profiler;
  auto journal = Journal::open(o);
  ASSERT_TRUE(journal.ok()) << journal.status();
  const std::byte payload[64] = {};
  const std::uint64_t first = (*journal)->next_seq();
  for (std::uint64_t i = 0; i < 500; ++i) ASSERT_TRUE((*journal)->append(first + i, i, 1, payload));
  ASSERT_TRUE((*journal)->close().ok());
  const auto report = profiler.report();
  ASSERT_EQ(report.stages.size(), 1u);
  EXPECT_EQ(report.stages[0].name, "flush");
  EXPECT_GE(report.stages[0].count, 1u);    // at least one batch held records
  EXPECT_LE(report.stages[0].count, 500u);  // and never more batches than records
}

}  // namespace
}  // namespace tickwire::journal
