// Scheduler benchmarks beside tbb::task_group, in one binary:
//   BM_SchedulerSpawnOutside / BM_TbbTaskGroupOutside
//       the benchmark thread spawns kBatch trivial tasks, then waits for all
//   BM_SchedulerSpawnInside / BM_TbbTaskGroupInside
//       one root task spawns kBatch children from inside the pool
// Our scheduler runs 2 workers and the benchmark thread waits by yielding;
// TBB runs its default arena (one worker per core) and its waiting thread
// joins in. Times are per batch; items/s counts tasks.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <benchmark/benchmark.h>
#include <tbb/task_group.h>

#include "tickwire/middleware/scheduler.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace {

using tickwire::middleware::Scheduler;
using tickwire::middleware::SchedulerOptions;

constexpr int kBatch = 1000;

SchedulerOptions bench_options() {
  SchedulerOptions o;
  o.name = "bench";
  o.workers = 2;
  return o;
}

// scheduler: one started scheduler shared by the benchmarks.
Scheduler& scheduler() {
  static Scheduler sched(bench_options());
  static const bool started = [] {
    const auto st = sched.start();
    if (!st.ok()) {
      const auto text = tickwire::middleware::status_text(st);
      std::fprintf(stderr, "scheduler_bench: %.*s\n", static_cast<int>(text.size()), text.data());
      std::exit(1);
    }
    return true;
  }();
  benchmark::DoNotOptimize(started);
  return sched;
}

// wait_done: the benchmark thread's wait for a batch.
void wait_done(const std::atomic<int>& done, int n) {
  while (done.load(std::memory_order_acquire) < n) std::this_thread::yield();  // pairs with the tasks' release
}

void BM_SchedulerSpawnOutside(benchmark::State& state) {
  Scheduler& sched = scheduler();
  std::atomic<int> done{0};
  for (auto _ : state) {
    done.store(0, std::memory_order_relaxed);  // no task of this batch is queued yet
    for (int i = 0; i < kBatch; ++i) {
      while (!sched.spawn([&done] { done.fetch_add(1, std::memory_order_release); })) std::this_thread::yield();  // pairs with wait_done
    }
    wait_done(done, kBatch);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_TbbTaskGroupOutside(benchmark::State& state) {
  std::atomic<int> done{0};
  for (auto _ : state) {
    tbb::task_group tg;
    for (int i = 0; i < kBatch; ++i) tg.run([&done] { done.fetch_add(1, std::memory_order_release); });  // as above
    tg.wait();
  }
  benchmark::DoNotOptimize(done.load(std::memory_order_relaxed));  // keeps the counter alive
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_SchedulerSpawnInside(benchmark::State& state) {
  Scheduler& sched = scheduler();
  std::atomic<int> done{0};
  for (auto _ : state) {
    done.store(0, std::memory_order_relaxed);  // no task of this batch is queued yet
    Scheduler* s = &sched;
    std::atomic<int>* d = &done;
    while (!sched.spawn([s, d] {
      for (int i = 0; i < kBatch; ++i) {
        while (!s->spawn([d] { d->fetch_add(1, std::memory_order_release); })) std::this_thread::yield();  // pairs with wait_done
      }
    })) {
      std::this_thread::yield();
    }
    wait_done(done, kBatch);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_TbbTaskGroupInside(benchmark::State& state) {
  std::atomic<int> done{0};
  for (auto _ : state) {
    tbb::task_group tg;
    tg.run([&tg, &done] {
      for (int i = 0; i < kBatch; ++i) tg.run([&done] { done.fetch_add(1, std::memory_order_release); });  // as above
    });
    tg.wait();
  }
  benchmark::DoNotOptimize(done.load(std::memory_order_relaxed));  // keeps the counter alive
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_SchedulerSpawnOutside)->UseRealTime();
BENCHMARK(BM_TbbTaskGroupOutside)->UseRealTime();
BENCHMARK(BM_SchedulerSpawnInside)->UseRealTime();
BENCHMARK(BM_TbbTaskGroupInside)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
