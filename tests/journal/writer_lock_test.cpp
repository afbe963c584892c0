// One writer per journal directory: a second writer and `recover` are refused
// while a journal is open (naming the holder), the lock goes with the writer
// (close, or death), and examine tells a live journal from a crashed one.
#include "tickwire/journal/writer_lock.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

#include "test_util.hpp"
#include "tickwire/journal/examine.hpp"
#include "tickwire/journal/journal.hpp"

namespace tickwire::journal {
namespace {

std::string message_of(const absl::Status& s) { return std::string(io::message(s)); }

TEST(WriterLock, ASecondWriterIsRefusedNamingTheHolderAndMayOpenOnceTheFirstCloses) {
  ScratchDir dir;
  auto first = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)->append(1, 1, 1, payload_for(1, 1)));

  auto second = Journal::open(small_options(dir.path()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(message_of(second.status()).find("process " + std::to_string(::getpid())), std::string::npos)
      << second.status();
  EXPECT_EQ(WriterLock::writer(dir.path()), ::getpid());

  ASSERT_TRUE((*first)->close().ok());
  EXPECT_EQ(WriterLock::writer(dir.path()), std::nullopt);
  auto third = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ((*third)->next_seq(), 2u) << "the refused open changed nothing";
  ASSERT_TRUE((*third)->close().ok());
}

TEST(WriterLock, RecoverIsRefusedWhileTheJournalIsWrittenAndCutsNothing) {
  ScratchDir dir;
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  for (std::uint64_t s = 1; s <= 50; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(2, s)));
  while ((*j)->stats().flushed_records < 50) std::this_thread::yield();
  auto segs = list_segments(dir.path());
  ASSERT_TRUE(segs.ok());
  ASSERT_FALSE(segs->empty());
  const auto live = segs->back().path;
  const auto size_before = std::filesystem::file_size(live);

  auto report = recover_journal(dir.path());
  ASSERT_FALSE(report.ok()) << "recover under a live writer would cut what it is writing";
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::filesystem::file_size(live), size_before);

  for (std::uint64_t s = 51; s <= 100; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(2, s)));
  ASSERT_TRUE((*j)->close().ok());
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 100u);
  EXPECT_EQ(recs->back().seq, 100u);
  EXPECT_TRUE(recover_journal(dir.path()).ok()) << "once closed, recover runs";
}

TEST(WriterLock, ALiveWritersLastSegmentIsInProgressAndACrashedWritersIsNot) {
  ScratchDir dir;
  auto j = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  for (std::uint64_t s = 1; s <= 10; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(3, s)));
  while ((*j)->stats().flushed_records < 10) std::this_thread::yield();
  auto live = examine(dir.path());
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->writer, ::getpid());
  EXPECT_TRUE(live->clean());
  ASSERT_TRUE((*j)->close().ok());
  auto closed = examine(dir.path());
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->writer, std::nullopt);
}

TEST(WriterLock, AWriterKilledMidRunLeavesNoLockBehind) {
  ScratchDir dir;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto j = Journal::open(small_options(dir.path()));
    if (!j.ok()) ::_exit(2);
    if (!(*j)->append(1, 1, 1, payload_for(4, 1))) ::_exit(4);
    char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(3);
    for (std::uint64_t s = 2;; ++s) {
      if (!(*j)->append(s, s, 1, payload_for(4, s))) ::_exit(4);
    }
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child opened the journal and appended";
  ::close(ready[0]);
  EXPECT_EQ(WriterLock::writer(dir.path()), child);
  auto refused = Journal::open(small_options(dir.path()));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(message_of(refused.status()).find("process " + std::to_string(child)), std::string::npos)
      << refused.status();
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_EQ(WriterLock::writer(dir.path()), std::nullopt);
  auto after = Journal::open(small_options(dir.path()));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GT((*after)->next_seq(), 1u) << "what the killed writer appended was recovered from its ring";
  ASSERT_TRUE((*after)->close().ok());
}

TEST(WriterLock, ALockFilePlantedAsALinkIsRefused) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.path() / "j");
  ::chmod((dir.path() / "j").c_str(), 0750);
  const auto target = dir.path() / "target";
  { std::ofstream(target) << "untouched"; }
  std::filesystem::create_symlink(target, dir.path() / "j" / kLockName);
  auto j = Journal::open(small_options(dir.path() / "j"));
  ASSERT_FALSE(j.ok());
  EXPECT_NE(message_of(j.status()).find("symbolic link"), std::string::npos) << j.status();
  std::ifstream in(target);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "untouched");
}

}  // namespace
}  // namespace tickwire::journal
