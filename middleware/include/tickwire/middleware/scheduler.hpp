// Scheduler: work-stealing tasks for periodic and non-latency-critical work.
// Spawns from a worker go to its ChaseLevDeque, others to an MPMC injection
// queue; idle workers take injected work, steal, then park (no CPU). Task
// nodes come from a pre-allocated pool: spawn() never allocates. every() adds
// timers (one run in flight); shutdown() runs or cancels what is queued.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/chase_lev_deque.hpp"
#include "tickwire/middleware/mpmc_queue.hpp"
#include "tickwire/middleware/object_pool.hpp"
#include "tickwire/middleware/parking.hpp"
#include "tickwire/middleware/thread_pool.hpp"

namespace tickwire::middleware {

// TaskNode: one spawned callable stored inline (at most kInlineBytes; no
// heap), one cache line in all.
class TaskNode {
 public:
  // kInlineBytes: the largest callable a task can hold; capture a pointer to
  // bigger state.
  static constexpr std::size_t kInlineBytes = 48;

  template <typename F>
  explicit TaskNode(F&& f) noexcept(std::is_nothrow_constructible_v<std::decay_t<F>, F&&>) {
    using Fn = std::decay_t<F>;
    static_assert(sizeof(Fn) <= kInlineBytes, "task captures too much: capture a pointer to larger state");
    static_assert(alignof(Fn) <= alignof(std::max_align_t), "task callable is over-aligned");
    static_assert(std::is_nothrow_destructible_v<Fn>, "task callable must have a noexcept destructor");
    // Safety: storage_ is sized and aligned for Fn (asserted above); the Fn
    // lives there until the destructor runs destroy_.
    ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
    invoke_ = [](void* p) { (*std::launder(static_cast<Fn*>(p)))(); };
    destroy_ = [](void* p) noexcept { std::launder(static_cast<Fn*>(p))->~Fn(); };
  }
  TaskNode(const TaskNode&) = delete;
  TaskNode& operator=(const TaskNode&) = delete;
  ~TaskNode() { destroy_(storage_); }

  // run: calls the callable (it may throw; the scheduler catches and counts).
  void run() { invoke_(storage_); }

 private:
  void (*invoke_)(void*) = nullptr;
  void (*destroy_)(void*) noexcept = nullptr;
  alignas(std::max_align_t) std::byte storage_[kInlineBytes];
};

// ShutdownPolicy: what shutdown() does with tasks still queued.
enum class ShutdownPolicy {
  kRunQueued,     // run every queued task (and what they spawn) before stopping
  kCancelQueued,  // finish the tasks already running; destroy the rest unrun
};

// ShutdownReport: what shutdown() did.
struct ShutdownReport {
  std::uint64_t ran = 0;        // tasks that finished after shutdown() began
  std::uint64_t cancelled = 0;  // queued tasks destroyed without running
};

// SchedulerOptions: sizing and placement, fixed at construction.
struct SchedulerOptions {
  std::string name = "sched";  // threads are "<name>-<i>" and "<name>-timer"
  std::size_t workers = 2;
  CpuSet cores = CpuSet::any();  // with a list, worker i runs on cores[i % size]
  OnFailure on_affinity_failure = OnFailure::kError;
  std::size_t deque_capacity = 1024;      // per worker; overflow goes to the injection queue
  std::size_t injection_capacity = 4096;  // tasks queued from outside the workers
  std::uint32_t max_tasks = 8192;         // task nodes: queued plus running, all workers
  SpinPolicy idle_spin{};                 // empty polls (spinning, then yielding) before a worker parks
};

// SchedulerStats: counters summed over workers (a snapshot, exact when quiescent).
struct SchedulerStats {
  std::uint64_t spawned = 0;      // tasks accepted by spawn()
  std::uint64_t executed = 0;     // tasks run (including those that threw)
  std::uint64_t failed = 0;       // tasks that threw
  std::uint64_t stolen = 0;       // tasks a worker stole from another worker's deque
  std::uint64_t injected = 0;     // tasks that went through the injection queue
  std::uint64_t rejected = 0;     // spawns refused: no task node, queues full, or shut down
  std::uint64_t parks = 0;        // times a worker went to sleep
  std::uint64_t timer_runs = 0;   // periodic runs started, all timers
  std::uint64_t timer_skips = 0;  // ticks skipped, all timers (previous run still in flight, or missed)
  std::uint32_t parked_workers = 0;  // workers asleep (or about to be) right now
};

// TimerId: names a timer for cancel_timer() and timer_stats().
using TimerId = std::uint64_t;

// TimerStats: one timer's counters.
struct TimerStats {
  std::uint64_t runs = 0;   // runs started
  std::uint64_t skips = 0;  // ticks not run: the previous run was still in flight, or the tick was missed
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options = {});
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  // Runs shutdown(kCancelQueued) unless shutdown() already ran.
  ~Scheduler();

  // start: starts the workers and the timer thread. An affinity failure
  // (under OnFailure::kError) is returned and nothing keeps running.
  absl::Status start();

  // spawn: queues f; any thread. From a worker of this scheduler it goes to
  // that worker's deque (the injection queue when that is full), from any
  // other thread to the injection queue. False (counted as rejected) when no
  // task node is free, the queues are full, or shutdown() has begun.
  template <typename F>
  bool spawn(F&& f) {
    auto node = tasks_.try_acquire(std::forward<F>(f));
    if (!node) {
      rejected_->fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
      return false;
    }
    return submit(node.release());
  }

  // every: runs task every period (first run one period from now) on a
  // worker, never two runs at once: a tick that finds the previous run still
  // in flight is skipped and counted. name appears in logs. Allocates once.
  absl::StatusOr<TimerId> every(std::chrono::nanoseconds period, std::string name, std::function<void()> task);
  // cancel_timer: no new runs after it returns (one in flight may finish). False if unknown.
  bool cancel_timer(TimerId id);
  // timer_stats: one timer's counters, or NotFound.
  absl::StatusOr<TimerStats> timer_stats(TimerId id) const;

  // shutdown: stops the timers, then runs or cancels queued tasks per
  // policy, joins every thread and reports. Later calls return {0, 0}.
  ShutdownReport shutdown(ShutdownPolicy policy);

  SchedulerStats stats() const;
  std::size_t worker_count() const noexcept { return workers_.size(); }
  // stopping: shutdown() has begun; long tasks may poll it to finish early.
  bool stopping() const noexcept {
    return stopping_.load(std::memory_order_acquire);  // pairs with shutdown()'s release
  }
  // on_worker: the calling thread is one of this scheduler's workers.
  bool on_worker() const noexcept;
  // thread_warnings: affinity failures tolerated under OnFailure::kWarn.
  std::vector<std::string> thread_warnings() const { return threads_.warnings(); }

 private:
  struct Worker;
  struct Timer;
  enum class FindResult { kFound, kNone, kRetry };

  bool submit(TaskNode* node);
  void worker_main(std::size_t index);
  TaskNode* wait_for_task(Worker& w);
  FindResult find_task(Worker& w, TaskNode*& out);
  bool exiting() const noexcept;
  void run(TaskNode* node, Worker& w);
  void timer_main();
  void fire(Timer& t);
  std::uint64_t executed_total() const noexcept;
  std::uint64_t drain_queued();

  const SchedulerOptions options_;
  ObjectPool<TaskNode> tasks_;
  std::vector<std::unique_ptr<Worker>> workers_;
  MpmcQueue<TaskNode*> injection_;
  EventCount idle_;  // idle workers park here; spawn and shutdown notify it

  CachePadded<std::atomic<std::uint64_t>> pending_{std::in_place, 0};  // accepted, not yet finished or cancelled
  CachePadded<std::atomic<std::uint64_t>> injected_{std::in_place, 0};
  CachePadded<std::atomic<std::uint64_t>> rejected_{std::in_place, 0};
  CachePadded<std::atomic<std::uint64_t>> failed_{std::in_place, 0};
  std::atomic<bool> stopping_{false};  // shutdown() has begun
  std::atomic<bool> cancel_{false};    // ... with kCancelQueued

  mutable std::mutex timer_mu_;  // guards timers_, next_timer_id_, timer_stop_
  std::condition_variable timer_cv_;
  std::vector<std::unique_ptr<Timer>> timers_;
  TimerId next_timer_id_ = 1;
  bool timer_stop_ = false;

  std::mutex lifecycle_mu_;  // serializes start() and shutdown()
  bool started_ = false;
  bool shut_down_ = false;
  ThreadPool threads_;
};

}  // namespace tickwire::middleware
