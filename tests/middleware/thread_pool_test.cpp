#include "tickwire/middleware/thread_pool.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tickwire/middleware/status_text.hpp"

namespace tickwire::middleware {
namespace {

// A core this process may run on (the test machine may be a cpuset).
int first_allowed_core() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) return c;
  }
  return 0;
}

std::string current_thread_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

std::set<int> current_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  pthread_getaffinity_np(pthread_self(), sizeof set, &set);
  std::set<int> out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.insert(c);
  }
  return out;
}

TEST(CpuSet, PrintsAnyOrTheCoreList) {
  EXPECT_EQ(CpuSet::any().to_string(), "any");
  EXPECT_TRUE(CpuSet::any().is_any());
  EXPECT_EQ(CpuSet::of({0, 3}).to_string(), "[0, 3]");
}

TEST(ThreadPool, NamesTheThreadAfterItsRoleAndPinsItToTheGivenCore) {
  const int core = first_allowed_core();
  std::string name;
  std::set<int> affinity;
  ThreadPool pool;
  ThreadOptions options;
  options.cores = CpuSet::of({core});
  ASSERT_TRUE(pool.start_thread("tw-test-pinned", options, [&] {
                    name = current_thread_name();
                    affinity = current_affinity();
                  }).ok());
  pool.join();  // the join orders the body's writes before the reads below
  EXPECT_EQ(name, "tw-test-pinned");
  EXPECT_EQ(affinity, std::set<int>{core});
  EXPECT_TRUE(pool.warnings().empty());
}

TEST(ThreadPool, CutsLongRolesToTheFifteenBytesLinuxKeeps) {
  std::string name;
  ThreadPool pool;
  ASSERT_TRUE(pool.start_thread("a-very-long-role-name", ThreadOptions{}, [&] { name = current_thread_name(); }).ok());
  pool.join();
  EXPECT_EQ(name, "a-very-long-rol");
}

TEST(ThreadPool, ReportsANonexistentCoreAsAnErrorNamingTheCoreAndErrnoAndNeverRunsTheBody) {
  std::atomic<bool> ran{false};
  ThreadPool pool;
  ThreadOptions options;
  options.cores = CpuSet::of({4096});
  const absl::Status st = pool.start_thread("tw-bad-core", options, [&] { ran.store(true); });
  ASSERT_FALSE(st.ok());
  const std::string msg(status_text(st));
  EXPECT_NE(msg.find("tw-bad-core"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4096"), std::string::npos) << msg;
  EXPECT_NE(msg.find("EINVAL"), std::string::npos) << msg;
  pool.join();
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(pool.size(), 0u);
}

TEST(ThreadPool, ReportsACoreTheKernelDroppedFromAListThatAlsoHasAValidCore) {
  ThreadPool pool;
  ThreadOptions options;
  options.cores = CpuSet::of({first_allowed_core(), 4096});
  const absl::Status st = pool.start_thread("tw-half-bad", options, [] {});
  ASSERT_FALSE(st.ok());
  const std::string msg(status_text(st));
  EXPECT_NE(msg.find("core 4096"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dropped"), std::string::npos) << msg;
}

TEST(ThreadPool, RunsTheThreadAndRecordsAWarningWhenAffinityFailureIsAWarning) {
  std::atomic<bool> ran{false};
  ThreadPool pool;
  ThreadOptions options;
  options.cores = CpuSet::of({4096});
  options.on_affinity_failure = OnFailure::kWarn;
  ASSERT_TRUE(pool.start_thread("tw-warned", options, [&] { ran.store(true); }).ok());
  pool.join();
  EXPECT_TRUE(ran.load());
  const auto warnings = pool.warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("4096"), std::string::npos) << warnings[0];
}

TEST(ThreadPool, RejectsANegativeCore) {
  ThreadPool pool;
  ThreadOptions options;
  options.cores = CpuSet::of({-2});
  const absl::Status st = pool.start_thread("tw-negative", options, [] {});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(status_text(st)).find("core -2"), std::string::npos);
}

TEST(ThreadPool, RealtimePriorityIsAppliedOrItsRefusalIsReported) {
  int policy = -1;
  ThreadPool pool;
  ThreadOptions options;
  options.realtime_priority = 10;
  options.on_priority_failure = OnFailure::kError;
  const absl::Status st = pool.start_thread("tw-rt", options, [&] {
    sched_param p{};
    pthread_getschedparam(pthread_self(), &policy, &p);
  });
  pool.join();
  if (st.ok()) {
    EXPECT_EQ(policy, SCHED_FIFO);
  } else {
    EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_NE(std::string(status_text(st)).find("EPERM"), std::string::npos) << status_text(st);
  }
}

TEST(ThreadPool, RejectsAnOutOfRangeRealtimePriority) {
  ThreadPool pool;
  ThreadOptions options;
  options.realtime_priority = 500;
  options.on_priority_failure = OnFailure::kError;
  const absl::Status st = pool.start_thread("tw-rt-bad", options, [] {});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ThreadPool, StartsNamedWorkersOnePerCoreRoundRobin) {
  const int core = first_allowed_core();
  std::mutex mu;
  std::vector<std::string> names;
  std::vector<std::set<int>> affinities;
  std::atomic<int> indices_sum{0};
  ThreadPool pool;
  ThreadOptions options;
  options.cores = CpuSet::of({core});
  ASSERT_TRUE(pool.start_workers("tw-w", 3, options, [&](std::size_t i) {
                    indices_sum.fetch_add(static_cast<int>(i));
                    const std::lock_guard lock(mu);
                    names.push_back(current_thread_name());
                    affinities.push_back(current_affinity());
                  }).ok());
  EXPECT_EQ(pool.size(), 3u);
  pool.join();
  EXPECT_EQ(indices_sum.load(), 0 + 1 + 2);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), (std::set<std::string>{"tw-w-0", "tw-w-1", "tw-w-2"}));
  for (const auto& a : affinities) EXPECT_EQ(a, std::set<int>{core});
}

}  // namespace
}  // namespace tickwire::middleware
