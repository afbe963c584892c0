#include "tickwire/connector/stream_watchdog.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tickwire::connector {
namespace {

using namespace std::chrono_literals;

std::vector<std::size_t> stale(StreamWatchdog& w, std::uint64_t now) {
  auto s = w.check(now);
  return {s.begin(), s.end()};
}

TEST(StreamWatchdog, ReportsOnlyStreamsSilentForTheirThreshold) {
  StreamWatchdog w(3, 5s, 1.0);  // 1 tick = 1 ns
  w.arm(0);
  const std::uint64_t s = 1'000'000'000;
  w.record(0, 4 * s);
  w.record(1, 1 * s);
  EXPECT_TRUE(stale(w, 4 * s + s / 2).empty());
  EXPECT_EQ(stale(w, 6 * s), (std::vector<std::size_t>{1, 2}));
}

TEST(StreamWatchdog, ReportsAStaleStreamOnceUntilDataReturns) {
  StreamWatchdog w(1, 1s, 1.0);
  w.arm(0);
  EXPECT_EQ(stale(w, 2'000'000'000), (std::vector<std::size_t>{0}));
  EXPECT_TRUE(stale(w, 3'000'000'000).empty()) << "already reported";
  w.record(0, 3'000'000'000);
  EXPECT_TRUE(stale(w, 3'500'000'000).empty());
  EXPECT_EQ(stale(w, 4'000'000'001), (std::vector<std::size_t>{0}));
}

TEST(StreamWatchdog, PerStreamThresholdsAndDisabledStreams) {
  StreamWatchdog w(3, 10s, 2.0);  // 1 tick = 2 ns
  w.set_threshold(1, 1s);
  w.set_threshold(2, 0s);          // never stale
  w.arm(100);
  const std::uint64_t one_s_ticks = 500'000'000;
  EXPECT_EQ(stale(w, 100 + one_s_ticks), (std::vector<std::size_t>{1}));
  EXPECT_EQ(stale(w, 100 + 10 * one_s_ticks), (std::vector<std::size_t>{0}));
}

TEST(StreamWatchdog, ArmResetsClocksAndReports) {
  StreamWatchdog w(2, 1s, 1.0);
  w.arm(0);
  EXPECT_EQ(stale(w, 1'000'000'000).size(), 2u);
  w.arm(1'000'000'000);  // reconnected
  EXPECT_TRUE(stale(w, 1'500'000'000).empty());
  EXPECT_EQ(stale(w, 2'000'000'000).size(), 2u);
}

TEST(StreamWatchdog, DataTicksKeepTheLastMessageThroughArm) {
  StreamWatchdog w(2, 1s, 1.0);
  w.arm(100);
  EXPECT_EQ(w.data_ticks(0), 0u) << "no message yet";
  w.record(0, 500);
  w.arm(2'000);  // reconnected: the staleness clock restarts, the last message stays
  EXPECT_EQ(w.last_ticks(0), 2'000u);
  EXPECT_EQ(w.data_ticks(0), 500u);
  EXPECT_EQ(w.data_ticks(1), 0u);
  w.record(0, 400);  // older: ignored
  EXPECT_EQ(w.data_ticks(0), 500u);
}

TEST(StreamWatchdog, OlderTicksDoNotMoveTheClockBack) {
  StreamWatchdog w(1, 1s, 1.0);
  w.arm(0);
  w.record(0, 900);
  w.record(0, 800);
  EXPECT_EQ(w.last_ticks(0), 900u);
}

}  // namespace
}  // namespace tickwire::connector
