#include "tickwire/journal/progress_bar.hpp"

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace tickwire::journal {
namespace {

// Everything readable from fd now (non-blocking).
std::string drain(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

TEST(ProgressBar, DrawsNothingWhenTheOutputIsNotATerminal) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    ProgressBar bar("verify", fds[1]);
    EXPECT_FALSE(bar.enabled());
    EXPECT_FALSE(static_cast<bool>(bar.progress())) << "examine would call a callback for nothing";
    bar.update(0, 100);
    bar.update(100, 100);
  }
  ::close(fds[1]);
  EXPECT_EQ(drain(fds[0]), "");
  ::close(fds[0]);
}

TEST(ProgressBar, OnATerminalDrawsTheFirstAndTheCompletedBarThenStops) {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) GTEST_SKIP() << "no pseudo-terminal here";
  ProgressBar bar("inspect", slave);
  ASSERT_TRUE(bar.enabled());
  auto progress = bar.progress();
  ASSERT_TRUE(static_cast<bool>(progress));
  progress(0, 300u << 20);
  const std::string first = drain(master);
  EXPECT_NE(first.find("\rinspect ["), std::string::npos) << first;
  EXPECT_NE(first.find("  0.0%  0 / 300 MiB"), std::string::npos) << first;
  progress(300u << 20, 300u << 20);
  const std::string done = drain(master);
  EXPECT_NE(done.find("[########################################] 100.0%  300 / 300 MiB"), std::string::npos) << done;
  EXPECT_NE(done.find('\n'), std::string::npos) << "the completed bar ends its line";
  progress(300u << 20, 300u << 20);
  EXPECT_EQ(drain(master), "") << "nothing after the completed bar";
  ::close(slave);
  ::close(master);
}

}  // namespace
}  // namespace tickwire::journal
