#include "tickwire/journal/examine.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <thread>

#include "test_util.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/segment_index.hpp"

namespace tickwire::journal {
namespace {

void write_journal(const std::filesystem::path& dir, std::uint64_t first, std::uint64_t last, bool drop_some = false) {
  Options o = small_options(dir);
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  std::vector<std::byte> big((*j)->max_payload() + 1);
  for (std::uint64_t s = first; s <= last; ++s) {
    bool dropped = drop_some && s % 100 == 0;
    EXPECT_EQ((*j)->append(s, s, 1, dropped ? std::span<const std::byte>(big) : payload_for(2, s)), !dropped);
  }
  ASSERT_TRUE((*j)->close().ok());
}

TEST(Examine, ACleanJournalVerifiesWithItsGapsExplained) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 1000, true);
  auto s = examine(dir.path());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->clean()) << s->problems.front();
  EXPECT_EQ(s->records, 1000u);
  EXPECT_EQ(*s->first_seq, 1u);
  EXPECT_EQ(*s->last_seq, 1000u);
  EXPECT_EQ(s->gaps.size(), 10u);
  EXPECT_EQ(s->types.at(1), 990u);
  EXPECT_EQ(s->types.at(kTypeGap), 10u);
  EXPECT_EQ(s->durable_seq, 1000u);
  EXPECT_TRUE(s->notes.empty());
  for (const auto& seg : s->segments) EXPECT_TRUE(seg.end_marker);
}

TEST(Examine, AFlippedByteIsAProblemNamingFileAndOffset) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 1500);
  auto segs = list_segments(dir.path());
  ASSERT_TRUE(segs.ok());
  ASSERT_GE(segs->size(), 2u);
  auto seg = (*segs)[1].path;
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kSegmentHeaderSize + 100);
    f.put('\x01');
  }
  auto s = examine(dir.path());
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_FALSE(s->clean());
  EXPECT_NE(s->problems.front().find(seg.string() + ": offset 512: crc mismatch"), std::string::npos)
      << s->problems.front();
}

TEST(Examine, AnUnexplainedSeqJumpIsAProblem) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 10);
  write_journal(dir.path(), 20, 30);
  auto s = examine(dir.path());
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->problems.size(), 1u);
  EXPECT_NE(s->problems[0].find("seqs 11..19 missing and no gap record explains them"), std::string::npos)
      << s->problems[0];
}

TEST(Examine, RecoverTruncatesATornTailAndRebuildsLostIndexes) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 1500);
  auto segs = list_segments(dir.path());
  ASSERT_TRUE(segs.ok());
  ASSERT_GE(segs->size(), 2u);
  std::filesystem::remove(index_path(segs->front().path));
  const auto last = segs->back().path;
  std::filesystem::resize_file(last, std::filesystem::file_size(last) - 30);  // tears the end record
  {
    std::ofstream f(last, std::ios::binary | std::ios::app);
    f << "garbage";
  }
  auto before = examine(dir.path());
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->clean());
  auto report = recover_journal(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->truncated_bytes, 0u);
  EXPECT_GE(report->indexes_rebuilt, 1u);
  EXPECT_EQ(report->next_seq, 1501u);
  auto after = examine(dir.path());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->clean()) << after->problems.front();
  EXPECT_EQ(*after->last_seq, 1500u);
}

// A writer in another process, appending until killed: 64 KiB segments
// (a roll every few hundred records) and byte retention (segments deleted
// behind it), so files are created, extended, truncated and removed while
// the parent examines them.
class LiveWriter {
 public:
  explicit LiveWriter(const std::filesystem::path& dir) {
    pid_ = ::fork();
    if (pid_ == 0) {
      Options o = small_options(dir);
      o.retention_bytes = 1u << 20;
      auto j = Journal::open(o);
      if (!j.ok()) ::_exit(2);
      for (std::uint64_t seq = 1;; ++seq) {
        if (!(*j)->append(seq, seq, 1, payload_for(4, seq))) ::_exit(3);
      }
    }
  }
  ~LiveWriter() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

TEST(Examine, AnOpenJournalsLastSegmentIsInProgressNotDamaged) {
  ScratchDir dir;
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  for (std::uint64_t s = 1; s <= 100; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(2, s)));
  while ((*j)->stats().flushed_records < 100) std::this_thread::yield();
  auto s = examine(dir.path());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->clean()) << (s->problems.empty() ? "" : s->problems.front());
  ASSERT_EQ(s->segments.size(), 1u);
  EXPECT_TRUE(s->segments.back().in_progress);
  EXPECT_FALSE(s->segments.back().end_marker);
  EXPECT_EQ(s->records, 100u);
  ASSERT_TRUE((*j)->close().ok());
  s = examine(dir.path());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->segments.back().in_progress) << "closed: it has its end record";
}

TEST(Examine, AJournalBeingWrittenByAnotherProcessExaminesClean) {
  ScratchDir dir;
  LiveWriter writer(dir.path());
  ASSERT_TRUE(writer.started());
  // Wait (on the files, not a clock) until the writer has rolled a few times.
  for (;;) {
    auto segs = list_segments(dir.path());
    if (segs.ok() && segs->size() >= 4) break;
    std::this_thread::yield();
  }
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::uint64_t visited = 0;
    auto s = examine(dir.path(), {}, [&](std::size_t, std::uint16_t type, std::span<const std::byte>) {
      EXPECT_EQ(type, 1);
      ++visited;
    });
    ASSERT_TRUE(s.ok()) << s.status();
    std::string problems;
    for (const auto& p : s->problems) problems += p + "\n";
    ASSERT_TRUE(s->clean()) << problems;
    ASSERT_GT(s->records, 0u);
    EXPECT_EQ(visited, s->records);
  }
}

TEST(Examine, TheVisitorSeesEveryDataRecordWithItsSegment) {
  ScratchDir dir;
  write_journal(dir.path(), 1, 1000, true);
  std::map<std::size_t, std::uint64_t> per_segment;
  std::uint64_t seq = 0;
  auto s = examine(dir.path(), {}, [&](std::size_t segment, std::uint16_t type, std::span<const std::byte> payload) {
    ++seq;
    if (seq % 100 == 0) ++seq;  // dropped: a gap record, not visited
    EXPECT_EQ(type, 1);
    EXPECT_EQ(std::vector<std::byte>(payload.begin(), payload.end()), payload_for(2, seq)) << "seq " << seq;
    ++per_segment[segment];
  });
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(per_segment.size(), s->segments.size());
  std::uint64_t visited = 0;
  for (const auto& [i, n] : per_segment) {
    EXPECT_LE(n, s->segments[i].records);
    visited += n;
  }
  EXPECT_EQ(visited, s->records - s->types[kTypeGap]);
  EXPECT_EQ(seq, 999u);  // 1000 was dropped
}

}  // namespace
}  // namespace tickwire::journal
