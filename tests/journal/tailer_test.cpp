#include "tickwire/journal/tailer.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "test_util.hpp"
#include "tickwire/journal/journal.hpp"

namespace tickwire::journal {
namespace {

#if defined(TICKWIRE_TSAN)
constexpr std::uint64_t kRecords = 3'000;
#else
constexpr std::uint64_t kRecords = 30'000;
#endif

TEST(Tailer, FollowsALiveJournalAcrossVeryFrequentRollsSeeingEachRecordOnce) {
  ScratchDir dir;
  Options o = small_options(dir.path());
  o.segment_bytes = 8192;  // a roll every ~50 records
  o.ring_bytes = 16384;
  auto tailer = Tailer::open(dir.path());
  ASSERT_TRUE(tailer.ok());
  std::thread writer([&] {
    auto j = Journal::open(o);
    ASSERT_TRUE(j.ok()) << j.status();
    for (std::uint64_t s = 1; s <= kRecords; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(4, s)));
    ASSERT_TRUE((*j)->close().ok());
  });
  std::uint64_t expect = 1;
  while (expect <= kRecords && !::testing::Test::HasFatalFailure()) {
    auto r = tailer->poll();
    ASSERT_TRUE(r.ok()) << r.status();
    if (!*r) continue;
    ASSERT_EQ((*r)->seq, expect);
    ASSERT_EQ(std::vector<std::byte>((*r)->payload.begin(), (*r)->payload.end()), payload_for(4, expect));
    ++expect;
  }
  writer.join();
  auto r = tailer->poll();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST(Tailer, StartsAtTheRequestedSeq) {
  ScratchDir dir;
  Options o = small_options(dir.path());
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok());
  for (std::uint64_t s = 1; s <= 500; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(4, s)));
  ASSERT_TRUE((*j)->close().ok());
  auto tailer = Tailer::open(dir.path(), 321);
  ASSERT_TRUE(tailer.ok());
  for (std::uint64_t expect = 321; expect <= 500; ++expect) {
    auto r = tailer->poll();
    ASSERT_TRUE(r.ok() && r->has_value());
    ASSERT_EQ((*r)->seq, expect);
  }
}

}  // namespace
}  // namespace tickwire::journal
