#include "tickwire/middleware/scheduler.hpp"

#include <algorithm>
#include <exception>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace tickwire::middleware {
namespace {

// The worker the calling thread is, if any: spawn() from a worker uses its deque.
struct WorkerIdentity {
  const Scheduler* scheduler = nullptr;
  std::size_t index = 0;
};
thread_local WorkerIdentity tls_worker;

// bump: increments a counter only its owner thread writes (no RMW needed).
void bump(std::atomic<std::uint64_t>& c) noexcept {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // single writer; readers snapshot
}

}  // namespace

// Worker: one worker's deque and counters. Counters are written by the
// worker only and read by stats() from anywhere.
struct Scheduler::Worker {
  explicit Worker(std::size_t deque_capacity) : deque(deque_capacity) {}
  ChaseLevDeque<TaskNode*> deque;
  alignas(kCacheLineSize) std::atomic<std::uint64_t> executed{0};
  std::atomic<std::uint64_t> spawned{0};
  std::atomic<std::uint64_t> stolen{0};
  std::atomic<std::uint64_t> parks{0};
  std::size_t index = 0;
  std::size_t next_victim = 0;
};

// Timer: one periodic task. Lives until the scheduler is destroyed, so a run
// in flight can always reach it.
struct Scheduler::Timer {
  TimerId id = 0;
  std::string name;
  std::chrono::nanoseconds period{};
  std::chrono::steady_clock::time_point next{};  // guarded by timer_mu_
  std::function<void()> task;
  bool cancelled = false;                // guarded by timer_mu_
  std::atomic<bool> in_flight{false};    // set by the timer thread, cleared by the run's worker
  std::atomic<std::uint64_t> runs{0};
  std::atomic<std::uint64_t> skips{0};
};

Scheduler::Scheduler(SchedulerOptions options)
    : options_(std::move(options)),
      tasks_(options_.max_tasks),
      injection_(options_.injection_capacity) {
  const std::size_t n = std::max<std::size_t>(options_.workers, 1);
  workers_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(options_.deque_capacity));
    workers_.back()->index = i;
    workers_.back()->next_victim = i + 1;
  }
}

Scheduler::~Scheduler() {
  shutdown(ShutdownPolicy::kCancelQueued);
  drain_queued();  // a spawn from outside that raced with shutdown() may have queued after it drained
}

absl::Status Scheduler::start() {
  const std::lock_guard lock(lifecycle_mu_);
  if (started_ || shut_down_) {
    return absl::FailedPreconditionError(
        fmt::format("scheduler '{}': start() called {}", options_.name, shut_down_ ? "after shutdown()" : "twice"));
  }
  started_ = true;
  ThreadOptions worker_options;
  worker_options.cores = options_.cores;
  worker_options.on_affinity_failure = options_.on_affinity_failure;
  absl::Status st = threads_.start_workers(options_.name, workers_.size(), worker_options,
                                           [this](std::size_t i) { worker_main(i); });
  if (st.ok()) st = threads_.start_thread(options_.name + "-timer", ThreadOptions{}, [this] { timer_main(); });
  if (!st.ok()) {
    // Stop whatever did start, leaving queued tasks for the destructor to cancel.
    {
      const std::lock_guard timer_lock(timer_mu_);
      timer_stop_ = true;
    }
    timer_cv_.notify_all();
    cancel_.store(true, std::memory_order_release);    // pairs with the acquire in exiting()
    stopping_.store(true, std::memory_order_release);  // pairs with the acquire in exiting()
    idle_.notify_all();
    threads_.join();
    shut_down_ = true;
  }
  return st;
}

bool Scheduler::on_worker() const noexcept { return tls_worker.scheduler == this; }

bool Scheduler::submit(TaskNode* node) {
  const bool from_worker = on_worker();
  if (!from_worker && stopping_.load(std::memory_order_acquire)) {  // pairs with shutdown()'s release
    tasks_.adopt(node).reset();
    rejected_->fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
    return false;
  }
  // Counted before it becomes visible, so a worker can never finish it first.
  pending_->fetch_add(1, std::memory_order_relaxed);  // read by exiting() after the queues' own acquire/release
  bool queued = false;
  if (from_worker) {
    Worker& w = *workers_[tls_worker.index];
    queued = w.deque.push(node);  // the deque's release pairs with a thief's acquire
    if (queued) bump(w.spawned);
  }
  if (!queued) {
    queued = injection_.try_push(node);  // the queue's release pairs with the popping worker's acquire
    if (queued) injected_->fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
  }
  if (!queued) {
    pending_->fetch_sub(1, std::memory_order_relaxed);  // never published, nothing to order
    tasks_.adopt(node).reset();
    rejected_->fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
    return false;
  }
  idle_.notify_one();
  return true;
}

void Scheduler::worker_main(std::size_t index) {
  tls_worker = {this, index};
  Worker& w = *workers_[index];
  while (TaskNode* node = wait_for_task(w)) run(node, w);
  tls_worker = {};
}

Scheduler::FindResult Scheduler::find_task(Worker& w, TaskNode*& out) {
  if (w.deque.take(out)) return FindResult::kFound;
  if (injection_.try_pop(out)) return FindResult::kFound;
  bool lost_race = false;
  const std::size_t n = workers_.size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t victim = (w.next_victim + k) % n;
    if (victim == w.index) continue;
    const auto r = workers_[victim]->deque.steal();
    if (r.status == ChaseLevDeque<TaskNode*>::StealResult::kSuccess) {
      w.next_victim = victim;  // come back to a victim that had work
      bump(w.stolen);
      out = r.value;
      return FindResult::kFound;
    }
    lost_race |= r.status == ChaseLevDeque<TaskNode*>::StealResult::kLost;
  }
  w.next_victim = (w.next_victim + 1) % n;  // spread the next search's first probe
  return lost_race ? FindResult::kRetry : FindResult::kNone;
}

bool Scheduler::exiting() const noexcept {
  if (!stopping_.load(std::memory_order_acquire)) return false;  // pairs with shutdown()'s release
  if (cancel_.load(std::memory_order_acquire)) return true;      // pairs with shutdown()'s release
  return pending_->load(std::memory_order_acquire) == 0;  // pairs with run()'s acq_rel decrement
}

TaskNode* Scheduler::wait_for_task(Worker& w) {
  TaskNode* node = nullptr;
  const int polls = options_.idle_spin.spins + options_.idle_spin.yields;
  for (int i = 0; i < polls; ++i) {
    if (cancel_.load(std::memory_order_acquire)) return nullptr;  // pairs with shutdown()'s release
    const FindResult r = find_task(w, node);
    if (r == FindResult::kFound) return node;
    if (r == FindResult::kNone && exiting()) return nullptr;
    if (i < options_.idle_spin.spins) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  for (;;) {
    // EventCount handshake: announce, re-check every source, then sleep;
    // submit() and shutdown() notify after making work or exit visible.
    const EventCount::Key key = idle_.prepare_wait();
    if (cancel_.load(std::memory_order_acquire)) {  // pairs with shutdown()'s release
      idle_.cancel_wait();
      return nullptr;
    }
    const FindResult r = find_task(w, node);
    if (r == FindResult::kFound) {
      idle_.cancel_wait();
      return node;
    }
    if (r == FindResult::kRetry) {
      idle_.cancel_wait();
      continue;
    }
    if (exiting()) {
      idle_.cancel_wait();
      return nullptr;
    }
    bump(w.parks);
    idle_.wait(key);
  }
}

void Scheduler::run(TaskNode* node, Worker& w) {
  auto owned = tasks_.adopt(node);
  try {
    node->run();
  } catch (const std::exception& e) {
    failed_->fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
    spdlog::error("scheduler '{}': worker {}: a task threw: {}", options_.name, w.index, e.what());
  } catch (...) {
    failed_->fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
    spdlog::error("scheduler '{}': worker {}: a task threw a non-standard exception", options_.name, w.index);
  }
  owned.reset();
  bump(w.executed);
  // acq_rel: the task's effects happen before exiting() sees zero (its acquire)
  if (pending_->fetch_sub(1, std::memory_order_acq_rel) == 1 &&
      stopping_.load(std::memory_order_acquire)) {  // pairs with shutdown()'s release
    idle_.notify_all();  // the last task of a kRunQueued shutdown: let parked workers exit
  }
}

absl::StatusOr<TimerId> Scheduler::every(std::chrono::nanoseconds period, std::string name,
                                         std::function<void()> task) {
  if (period <= std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError(fmt::format("scheduler '{}': timer '{}': period must be positive, got {} ns",
                                                  options_.name, name, period.count()));
  }
  if (!task) {
    return absl::InvalidArgumentError(
        fmt::format("scheduler '{}': timer '{}': the task is empty", options_.name, name));
  }
  auto timer = std::make_unique<Timer>();
  timer->name = std::move(name);
  timer->period = period;
  timer->task = std::move(task);
  TimerId id = 0;
  {
    const std::lock_guard lock(timer_mu_);
    if (timer_stop_) {
      return absl::FailedPreconditionError(
          fmt::format("scheduler '{}': timer '{}': the scheduler is shut down", options_.name, timer->name));
    }
    id = timer->id = next_timer_id_++;
    timer->next = std::chrono::steady_clock::now() + period;
    timers_.push_back(std::move(timer));
  }
  timer_cv_.notify_all();
  return id;
}

bool Scheduler::cancel_timer(TimerId id) {
  const std::lock_guard lock(timer_mu_);
  for (auto& t : timers_) {
    if (t->id == id && !t->cancelled) {
      t->cancelled = true;
      return true;
    }
  }
  return false;
}

absl::StatusOr<TimerStats> Scheduler::timer_stats(TimerId id) const {
  const std::lock_guard lock(timer_mu_);
  for (const auto& t : timers_) {
    if (t->id == id) {
      return TimerStats{t->runs.load(std::memory_order_relaxed),    // a counter, orders nothing
                        t->skips.load(std::memory_order_relaxed)};  // a counter, orders nothing
    }
  }
  return absl::NotFoundError(fmt::format("scheduler '{}': no timer with id {}", options_.name, id));
}

void Scheduler::fire(Timer& t) {
  // acquire: pairs with the release that cleared it at the end of the previous run
  if (t.in_flight.exchange(true, std::memory_order_acquire)) {
    t.skips.fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
    return;
  }
  t.runs.fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
  Timer* timer = &t;
  const bool queued = spawn([timer] {
    struct ClearInFlight {
      Timer* t;
      ~ClearInFlight() { t->in_flight.store(false, std::memory_order_release); }  // pairs with fire()'s acquire
    } clear{timer};
    timer->task();
  });
  if (!queued) {
    t.runs.fetch_sub(1, std::memory_order_relaxed);   // a counter, orders nothing
    t.skips.fetch_add(1, std::memory_order_relaxed);  // a counter, orders nothing
    t.in_flight.store(false, std::memory_order_relaxed);  // nothing ran, nothing to publish
  }
}

void Scheduler::timer_main() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(timer_mu_);
  while (!timer_stop_) {
    const Clock::time_point now = Clock::now();
    Clock::time_point wake = Clock::time_point::max();
    for (auto& t : timers_) {
      if (t->cancelled) continue;
      if (t->next <= now) {
        fire(*t);
        t->next += t->period;
        if (t->next <= now) {  // this thread fell behind: the ticks it missed are skipped, not bunched up
          const auto missed = static_cast<std::uint64_t>((now - t->next) / t->period) + 1;
          t->skips.fetch_add(missed, std::memory_order_relaxed);  // a counter, orders nothing
          t->next += t->period * static_cast<std::int64_t>(missed);
        }
      }
      wake = std::min(wake, t->next);
    }
    if (wake == Clock::time_point::max()) {
      timer_cv_.wait(lock);
    } else {
      timer_cv_.wait_until(lock, wake);
    }
  }
}

std::uint64_t Scheduler::executed_total() const noexcept {
  std::uint64_t n = 0;
  for (const auto& w : workers_) n += w->executed.load(std::memory_order_relaxed);  // a counter, orders nothing
  return n;
}

std::uint64_t Scheduler::drain_queued() {
  // Only after the workers joined: take() is owner-only, and the join makes
  // this thread the deques' owner.
  std::uint64_t cancelled = 0;
  TaskNode* node = nullptr;
  for (auto& w : workers_) {
    while (w->deque.take(node)) {
      tasks_.adopt(node).reset();
      ++cancelled;
    }
  }
  while (injection_.try_pop(node)) {
    tasks_.adopt(node).reset();
    ++cancelled;
  }
  pending_->fetch_sub(cancelled, std::memory_order_relaxed);  // the workers are gone; a counter now
  return cancelled;
}

ShutdownReport Scheduler::shutdown(ShutdownPolicy policy) {
  const std::lock_guard lock(lifecycle_mu_);
  if (shut_down_) return {};
  shut_down_ = true;
  {
    const std::lock_guard timer_lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  const std::uint64_t executed_before = executed_total();
  if (policy == ShutdownPolicy::kCancelQueued) {
    cancel_.store(true, std::memory_order_release);  // pairs with the workers' acquire
  }
  stopping_.store(true, std::memory_order_release);  // pairs with the acquire in exiting() and submit()
  idle_.notify_all();
  threads_.join();
  ShutdownReport report;
  report.cancelled = drain_queued();
  report.ran = executed_total() - executed_before;
  return report;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  for (const auto& w : workers_) {
    s.executed += w->executed.load(std::memory_order_relaxed);  // a counter, orders nothing
    s.spawned += w->spawned.load(std::memory_order_relaxed);    // a counter, orders nothing
    s.stolen += w->stolen.load(std::memory_order_relaxed);      // a counter, orders nothing
    s.parks += w->parks.load(std::memory_order_relaxed);        // a counter, orders nothing
  }
  s.injected = injected_->load(std::memory_order_relaxed);  // a counter, orders nothing
  s.spawned += s.injected;
  s.rejected = rejected_->load(std::memory_order_relaxed);  // a counter, orders nothing
  s.failed = failed_->load(std::memory_order_relaxed);      // a counter, orders nothing
  s.parked_workers = idle_.waiters();
  const std::lock_guard lock(timer_mu_);
  for (const auto& t : timers_) {
    s.timer_runs += t->runs.load(std::memory_order_relaxed);    // a counter, orders nothing
    s.timer_skips += t->skips.load(std::memory_order_relaxed);  // a counter, orders nothing
  }
  return s;
}

}  // namespace tickwire::middleware
