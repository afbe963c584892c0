// ThreadPool: starts threads named after their role (pthread_setname_np),
// pinned to listed cores or any, optionally at SCHED_FIFO, and joins them.
// Pinning and priority failures name the core and errno: an error, or under
// OnFailure::kWarn a logged, recorded warning. A start costs a thread + 3 syscalls.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace tickwire::middleware {

// CpuSet: the cores a thread may run on: a list, or any core.
class CpuSet {
 public:
  // any: no pinning; the kernel places the thread.
  static CpuSet any() { return CpuSet{}; }
  // of: exactly these cores (0-based, as in /proc/cpuinfo).
  static CpuSet of(std::vector<int> cores) { return CpuSet{std::move(cores)}; }

  bool is_any() const noexcept { return cores_.empty(); }
  const std::vector<int>& cores() const noexcept { return cores_; }
  // to_string: "any" or "[0, 1]".
  std::string to_string() const;

 private:
  CpuSet() = default;
  explicit CpuSet(std::vector<int> cores) : cores_(std::move(cores)) {}
  std::vector<int> cores_;
};

// OnFailure: what a pinning or priority failure does to start_thread.
enum class OnFailure {
  kError,  // the thread is not started; start_thread returns the error
  kWarn,   // the thread runs anyway; the failure is logged and kept in warnings()
};

// ThreadOptions: placement and scheduling of a started thread.
struct ThreadOptions {
  CpuSet cores = CpuSet::any();
  OnFailure on_affinity_failure = OnFailure::kError;
  // realtime_priority: 0 keeps the default policy; 1..99 asks for SCHED_FIFO
  // at that priority (needs CAP_SYS_NICE or an RLIMIT_RTPRIO allowance).
  int realtime_priority = 0;
  OnFailure on_priority_failure = OnFailure::kWarn;
};

class ThreadPool {
 public:
  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  // Joins every thread: make their bodies return first.
  ~ThreadPool() { join(); }

  // start_thread: runs body on a new thread named role (cut to the 15 bytes
  // Linux keeps), placed per options. The body starts only after naming,
  // pinning and priority are settled; on an error under OnFailure::kError
  // the body never runs and the status names the role, the cores and errno.
  absl::Status start_thread(const std::string& role, const ThreadOptions& options, std::function<void()> body);

  // start_workers: count threads named "<role>-<i>" running body(i). With a
  // core list, worker i is pinned to cores[i % size] alone (one core each);
  // with any, they float. Stops at the first error (workers already started
  // keep running; join() collects them).
  absl::Status start_workers(const std::string& role, std::size_t count, const ThreadOptions& options,
                             std::function<void(std::size_t)> body);

  // join: waits for every started thread to return. Idempotent.
  void join();

  // size: threads started and not yet joined.
  std::size_t size() const;
  // warnings: failures tolerated under OnFailure::kWarn, oldest first.
  std::vector<std::string> warnings() const;

 private:
  void warn(std::string message);

  mutable std::mutex mu_;  // guards threads_ and warnings_ (start and join are not hot)
  std::vector<std::thread> threads_;
  std::vector<std::string> warnings_;
};

}  // namespace tickwire::middleware
