// check_journal_volume: a start that cannot work on its volume fails before
// anything streams, naming the absolute directory and what to do.
#include "tickwire/connector/journal_volume.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace tickwire::connector {
namespace {

using ::testing::HasSubstr;

TEST(JournalVolume, AVolumeTooSmallForTheReservationIsRefusedWithTheFigures) {
  testing::TempDir dir("tickwire-volume");
  config::JournalConfig journal;
  journal.dir = (dir / "data").string();
  journal.ring_bytes = std::size_t{1} << 40;
  journal.segment_bytes = std::size_t{1} << 40;
  const absl::Status s = check_journal_volume(journal);
  ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("journal directory " + (dir / "data").string() + ": "));
  EXPECT_THAT(s.message(), HasSubstr("reserves 3145728.0 MiB more"));
  EXPECT_THAT(s.message(), HasSubstr("lower journal.ring_bytes / journal.segment_bytes"));
}

TEST(JournalVolume, ARelativeDirectoryIsNamedAbsolute) {
  testing::TempDir dir("tickwire-volume");
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  config::JournalConfig journal;
  journal.dir = "./data";
  journal.segment_bytes = std::size_t{1} << 40;
  const absl::Status s = check_journal_volume(journal);
  std::filesystem::current_path(old);
  EXPECT_THAT(s.message(), HasSubstr("journal directory " + (dir / "data").string() + ": ")) << s;
}

TEST(JournalVolume, WhatAlreadyExistsIsNotReservedAgain) {
  testing::TempDir dir("tickwire-volume");
  config::JournalConfig journal;
  journal.ring_bytes = 1u << 20;
  journal.segment_bytes = 4u << 20;
  EXPECT_EQ(journal_reservation(journal, dir.path()), (1u << 20) + (8u << 20));
  std::ofstream(dir / "ring") << "x";
  std::ofstream(dir / "000001.seg") << "x";
  EXPECT_EQ(journal_reservation(journal, dir.path()), 4u << 20);
  std::ofstream(dir / ".spare-000002.seg.tmp") << "x";
  EXPECT_EQ(journal_reservation(journal, dir.path()), 0u);
}

TEST(JournalVolume, ADirectoryThisUserCannotWriteNamesTheUserAndTheFix) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to another user";
  testing::TempDir dir("tickwire-volume");
  std::filesystem::create_directories(dir / "data");
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all | std::filesystem::perms::others_exec |
                                               std::filesystem::perms::group_exec);
  std::filesystem::permissions(dir / "data", std::filesystem::perms::owner_all | std::filesystem::perms::others_exec |
                                                 std::filesystem::perms::others_read);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    // The check as uid 10001, the image's user; the message goes back through the pipe.
    ::close(fds[0]);
    if (::setgid(10001) != 0 || ::setuid(10001) != 0) ::_exit(2);
    config::JournalConfig journal;
    journal.dir = (dir / "data").string();
    const absl::Status s = check_journal_volume(journal);
    const std::string text = std::to_string(static_cast<int>(s.code())) + " " + std::string(s.message());
    (void)!::write(fds[1], text.data(), text.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_THAT(text, ::testing::StartsWith(std::to_string(static_cast<int>(absl::StatusCode::kPermissionDenied))));
  EXPECT_THAT(text, HasSubstr("journal directory " + (dir / "data").string() + ": not writable: Permission denied"));
  EXPECT_THAT(text, HasSubstr("chown 10001:10001 on the host directory"));
}

}  // namespace
}  // namespace tickwire::connector
