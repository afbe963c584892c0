#include "tickwire/middleware/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "middleware/queue_test_support.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace tickwire::middleware {
namespace {

using namespace std::chrono_literals;
using testing::kStressDivisor;

// A failure guard for waits on a condition: never reached unless the code
// under test is broken; the waits themselves end on the condition.
constexpr auto kHang = 60s;

// wait_for: yields until pred() holds; false only on a hang.
template <typename Pred>
bool wait_for(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kHang;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Counter: counts events and lets a test wait until there were n of them.
class Counter {
 public:
  // add: notifies under the lock, so a waiter that returns and destroys the
  // Counter cannot race with a notify still in progress.
  void add() {
    const std::lock_guard lock(mu_);
    ++n_;
    cv_.notify_all();
  }
  bool wait_at_least(std::uint64_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kHang, [&] { return n_ >= n; });
  }
  std::uint64_t value() {
    const std::lock_guard lock(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t n_ = 0;
};

SchedulerOptions with_workers(std::size_t n) {
  SchedulerOptions o;
  o.name = "tw-test";
  o.workers = n;
  return o;
}

TEST(Scheduler, RunsTasksSpawnedFromOutsideThroughTheInjectionQueue) {
  Scheduler sched(with_workers(2));
  ASSERT_TRUE(sched.start().ok());
  Counter done;
  constexpr int kTasks = 1000;
  for (int i = 0; i < kTasks; ++i) ASSERT_TRUE(sched.spawn([&done] { done.add(); }));
  ASSERT_TRUE(done.wait_at_least(kTasks));
  const ShutdownReport r = sched.shutdown(ShutdownPolicy::kRunQueued);
  EXPECT_EQ(r.cancelled, 0u);
  const SchedulerStats s = sched.stats();
  EXPECT_EQ(s.injected, static_cast<std::uint64_t>(kTasks));
  EXPECT_EQ(s.executed, static_cast<std::uint64_t>(kTasks));
  EXPECT_EQ(s.rejected, 0u);
}

TEST(Scheduler, IdleWorkersStealWhenEveryTaskLandsOnOneWorkersDeque) {
  Scheduler sched(with_workers(3));
  ASSERT_TRUE(sched.start().ok());
  constexpr int kChildren = 500;
  std::atomic<int> children_done{0};
  std::atomic<int> ran_on_root_thread{0};
  Counter root_done;
  ASSERT_TRUE(sched.spawn([&] {
    const auto root = std::this_thread::get_id();
    for (int i = 0; i < kChildren; ++i) {
      // From a worker, so into this worker's own deque.
      ASSERT_TRUE(sched.spawn([&children_done, &ran_on_root_thread, root] {
        if (std::this_thread::get_id() == root) ran_on_root_thread.fetch_add(1, std::memory_order_relaxed);  // read after
        children_done.fetch_add(1, std::memory_order_release);  // pairs with the root's acquire
      }));
    }
    // The root keeps its worker busy until every child ran: only thieves can run them.
    while (children_done.load(std::memory_order_acquire) < kChildren) std::this_thread::yield();  // pairs with the children
    root_done.add();
  }));
  ASSERT_TRUE(root_done.wait_at_least(1));
  sched.shutdown(ShutdownPolicy::kRunQueued);
  const SchedulerStats s = sched.stats();
  EXPECT_EQ(ran_on_root_thread.load(std::memory_order_relaxed), 0);  // after shutdown joined the workers
  EXPECT_GE(s.stolen, static_cast<std::uint64_t>(kChildren));
  EXPECT_EQ(s.spawned - s.injected, static_cast<std::uint64_t>(kChildren));
}

TEST(Scheduler, IdleWorkersParkInsteadOfSpinning) {
  Scheduler sched(with_workers(2));
  ASSERT_TRUE(sched.start().ok());
  // parked_workers counts a worker from its prepare_wait, parks from just before its sleep: wait for both.
  EXPECT_TRUE(wait_for([&] {
    const SchedulerStats s = sched.stats();
    return s.parked_workers == 2 && s.parks >= 2;
  }));
  Counter done;
  ASSERT_TRUE(sched.spawn([&done] { done.add(); }));  // a spawn wakes a parked worker
  EXPECT_TRUE(done.wait_at_least(1));
}

TEST(Scheduler, PeriodicTimerRunsRepeatedly) {
  Scheduler sched(with_workers(2));
  ASSERT_TRUE(sched.start().ok());
  Counter runs;
  auto id = sched.every(1ms, "heartbeat", [&runs] { runs.add(); });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(runs.wait_at_least(5));
  ASSERT_TRUE(sched.cancel_timer(*id));
  EXPECT_FALSE(sched.cancel_timer(*id));
  auto st = sched.timer_stats(*id);
  ASSERT_TRUE(st.ok());
  EXPECT_GE(st->runs, 5u);
  sched.shutdown(ShutdownPolicy::kRunQueued);
  EXPECT_EQ(runs.value(), sched.timer_stats(*id)->runs);  // every run started also finished
}

TEST(Scheduler, SlowPeriodicTaskSkipsTicksAndNeverRunsTwiceAtOnce) {
  Scheduler sched(with_workers(2));
  ASSERT_TRUE(sched.start().ok());
  std::atomic<int> in_task{0};
  std::atomic<int> overlaps{0};
  std::atomic<bool> release{false};
  Counter runs;
  auto id = sched.every(1ms, "slow", [&] {
    if (in_task.fetch_add(1, std::memory_order_relaxed) != 0) overlaps.fetch_add(1, std::memory_order_relaxed);  // a flag
    while (!release.load(std::memory_order_acquire)) std::this_thread::yield();  // pairs with the test's release
    in_task.fetch_sub(1, std::memory_order_relaxed);  // a flag
    runs.add();
  });
  ASSERT_TRUE(id.ok());
  // The first run blocks; ticks keep coming and must be skipped, not queued.
  ASSERT_TRUE(wait_for([&] { return sched.timer_stats(*id)->skips >= 5; }));
  EXPECT_EQ(sched.timer_stats(*id)->runs, 1u);
  release.store(true, std::memory_order_release);  // pairs with the task's acquire
  ASSERT_TRUE(runs.wait_at_least(2));
  sched.shutdown(ShutdownPolicy::kRunQueued);
  EXPECT_EQ(overlaps.load(std::memory_order_relaxed), 0);  // after shutdown joined the workers
  EXPECT_GE(sched.stats().timer_skips, 5u);
}

TEST(Scheduler, RejectsANonPositiveTimerPeriod) {
  Scheduler sched(with_workers(1));
  const auto id = sched.every(0ms, "zero", [] {});
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(status_text(id.status())).find("zero"), std::string::npos);
}

TEST(Scheduler, ShutdownRunQueuedRunsEveryQueuedTaskAndWhatTheySpawn) {
  Scheduler sched(with_workers(1));
  ASSERT_TRUE(sched.start().ok());
  Counter blocker_started;
  std::atomic<int> ran{0};
  ASSERT_TRUE(sched.spawn([&] {
    blocker_started.add();
    while (!sched.stopping()) std::this_thread::yield();  // holds the only worker until shutdown begins
  }));
  ASSERT_TRUE(blocker_started.wait_at_least(1));
  constexpr int kQueued = 50;
  for (int i = 0; i < kQueued; ++i) {
    ASSERT_TRUE(sched.spawn([&] {
      ran.fetch_add(1, std::memory_order_relaxed);  // read after shutdown joined
      EXPECT_TRUE(sched.spawn([&] { ran.fetch_add(1, std::memory_order_relaxed); }));  // read after join
    }));
  }
  const ShutdownReport r = sched.shutdown(ShutdownPolicy::kRunQueued);
  EXPECT_EQ(r.cancelled, 0u);
  EXPECT_EQ(r.ran, 1u + 2 * kQueued);  // the blocker, the queued tasks and their children
  EXPECT_EQ(ran.load(std::memory_order_relaxed), 2 * kQueued);
  EXPECT_FALSE(sched.spawn([] {}));  // from outside after shutdown
  EXPECT_EQ(sched.stats().rejected, 1u);
  EXPECT_EQ(sched.shutdown(ShutdownPolicy::kRunQueued).ran, 0u);  // idempotent
}

TEST(Scheduler, ShutdownCancelQueuedFinishesTheRunningTaskAndCancelsTheRest) {
  Scheduler sched(with_workers(1));
  ASSERT_TRUE(sched.start().ok());
  Counter blocker_started;
  std::atomic<int> ran{0};
  ASSERT_TRUE(sched.spawn([&] {
    blocker_started.add();
    while (!sched.stopping()) std::this_thread::yield();
  }));
  ASSERT_TRUE(blocker_started.wait_at_least(1));
  constexpr int kQueued = 50;
  for (int i = 0; i < kQueued; ++i) ASSERT_TRUE(sched.spawn([&] { ran.fetch_add(1, std::memory_order_relaxed); }));
  const ShutdownReport r = sched.shutdown(ShutdownPolicy::kCancelQueued);
  EXPECT_EQ(r.ran, 1u);
  EXPECT_EQ(r.cancelled, static_cast<std::uint64_t>(kQueued));
  EXPECT_EQ(ran.load(std::memory_order_relaxed), 0);  // after shutdown joined
}

TEST(Scheduler, CancelsTasksQueuedBeforeStartWhenNeverStarted) {
  testing::Tracked::reset();
  {
    Scheduler sched(with_workers(1));
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(sched.spawn([t = std::make_shared<testing::Tracked>(i)] { (void)t; }));
    }
    EXPECT_EQ(testing::Tracked::live(), 10);
    const ShutdownReport r = sched.shutdown(ShutdownPolicy::kCancelQueued);
    EXPECT_EQ(r.cancelled, 10u);
    EXPECT_EQ(r.ran, 0u);
  }
  EXPECT_EQ(testing::Tracked::live(), 0);  // cancelled captures were destroyed
  EXPECT_EQ(testing::Tracked::double_destroys(), 0);
}

TEST(Scheduler, RejectsAndCountsASpawnWhenNoTaskNodeIsFree) {
  SchedulerOptions o = with_workers(1);
  o.max_tasks = 2;
  Scheduler sched(o);
  EXPECT_TRUE(sched.spawn([] {}));
  EXPECT_TRUE(sched.spawn([] {}));
  EXPECT_FALSE(sched.spawn([] {}));
  EXPECT_EQ(sched.stats().rejected, 1u);
}

TEST(Scheduler, CountsATaskThatThrowsAndKeepsRunning) {
  Scheduler sched(with_workers(1));
  ASSERT_TRUE(sched.start().ok());
  Counter done;
  ASSERT_TRUE(sched.spawn([] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(sched.spawn([&done] { done.add(); }));
  ASSERT_TRUE(done.wait_at_least(1));
  sched.shutdown(ShutdownPolicy::kRunQueued);
  EXPECT_EQ(sched.stats().failed, 1u);
  EXPECT_EQ(sched.stats().executed, 2u);
}

TEST(Scheduler, StartReportsAnAffinityFailureNamingTheCore) {
  SchedulerOptions o = with_workers(1);
  o.cores = CpuSet::of({4096});
  Scheduler sched(o);
  const absl::Status st = sched.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(status_text(st)).find("4096"), std::string::npos) << status_text(st);
  EXPECT_FALSE(sched.start().ok());
}

TEST(Scheduler, EveryTaskRunsExactlyOnceUnderMixedInsideAndOutsideSpawns) {
  const int kPerProducer = static_cast<int>(20'000 / kStressDivisor);
  constexpr int kProducers = 2;
  // Room for every task at once: a worker waiting for a free node while all
  // nodes sit queued behind it would wait forever.
  SchedulerOptions o = with_workers(3);
  o.max_tasks = static_cast<std::uint32_t>(2 * kProducers * kPerProducer);
  o.injection_capacity = o.max_tasks;
  Scheduler sched(o);
  ASSERT_TRUE(sched.start().ok());
  std::vector<std::atomic<std::uint8_t>> seen(static_cast<std::size_t>(2 * kProducers * kPerProducer));
  std::atomic<int> done{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        const auto id = static_cast<std::size_t>(2 * (p * kPerProducer + i));
        auto* seen_ptr = &seen;
        auto* done_ptr = &done;
        auto* sched_ptr = &sched;
        while (!sched.spawn([seen_ptr, done_ptr, sched_ptr, id] {
          (*seen_ptr)[id].fetch_add(1, std::memory_order_relaxed);  // checked after join
          done_ptr->fetch_add(1, std::memory_order_release);        // pairs with the test's acquire
          // A child from inside the worker: into its own deque (or the injection queue when full).
          while (!sched_ptr->spawn([seen_ptr, done_ptr, id] {
            (*seen_ptr)[id + 1].fetch_add(1, std::memory_order_relaxed);  // checked after join
            done_ptr->fetch_add(1, std::memory_order_release);            // pairs with the test's acquire
          })) {
            std::this_thread::yield();
          }
        })) {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  const int total = 2 * kProducers * kPerProducer;
  ASSERT_TRUE(wait_for([&] { return done.load(std::memory_order_acquire) == total; }));  // pairs with the tasks
  const ShutdownReport r = sched.shutdown(ShutdownPolicy::kRunQueued);
  EXPECT_EQ(r.cancelled, 0u);
  std::uint64_t wrong = 0;
  for (auto& s : seen) wrong += s.load(std::memory_order_relaxed) != 1;  // after join
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(sched.stats().executed, static_cast<std::uint64_t>(total));
}

}  // namespace
}  // namespace tickwire::middleware
