#include "tickwire/middleware/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tickwire/middleware/status_text.hpp"

namespace tickwire::middleware {
namespace {

// Linux keeps 15 bytes of a thread name plus the terminating NUL.
constexpr std::size_t kMaxThreadName = 15;

std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  return fmt::format("{} ({})", name != nullptr ? name : "errno " + std::to_string(err), std::strerror(err));
}

std::string online_cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? fmt::format("{} online, 0-{}", n, n - 1) : std::string("unknown");
}

// CpuMask: a dynamically sized cpu_set_t (CPU_ALLOC), so cores past
// CPU_SETSIZE reach the kernel and are judged there, not silently dropped.
class CpuMask {
 public:
  explicit CpuMask(int max_core)
      : count_(std::max(max_core + 1, CPU_SETSIZE)), set_(CPU_ALLOC(count_)), bytes_(CPU_ALLOC_SIZE(count_)) {
    CPU_ZERO_S(bytes_, set_);
  }
  CpuMask(const CpuMask&) = delete;
  CpuMask& operator=(const CpuMask&) = delete;
  ~CpuMask() { CPU_FREE(set_); }

  void set(int core) { CPU_SET_S(static_cast<std::size_t>(core), bytes_, set_); }
  bool has(int core) const { return CPU_ISSET_S(static_cast<std::size_t>(core), bytes_, set_); }
  cpu_set_t* get() { return set_; }
  std::size_t bytes() const { return bytes_; }
  std::vector<int> cores() const {
    std::vector<int> out;
    for (int c = 0; c < count_; ++c) {
      if (has(c)) out.push_back(c);
    }
    return out;
  }

 private:
  int count_;
  cpu_set_t* set_;
  std::size_t bytes_;
};

// pin: applies cores to thread, then reads the mask back: the kernel accepts
// a mask with at least one usable core and drops the rest without an error,
// so a core it dropped is reported here rather than ignored.
absl::Status pin(pthread_t thread, const std::string& role, const CpuSet& cores) {
  const auto& list = cores.cores();
  for (int c : list) {
    if (c < 0) {
      return absl::InvalidArgumentError(
          fmt::format("thread '{}': cores {}: core {} is negative", role, cores.to_string(), c));
    }
  }
  const int max_core = *std::max_element(list.begin(), list.end());
  CpuMask want(max_core);
  for (int c : list) want.set(c);
  if (const int rc = pthread_setaffinity_np(thread, want.bytes(), want.get()); rc != 0) {
    return absl::InvalidArgumentError(fmt::format(
        "thread '{}': pthread_setaffinity_np to cores {} failed: {}: no listed core exists here or is "
        "permitted to this process (cores: {})",
        role, cores.to_string(), errno_text(rc), online_cores()));
  }
  CpuMask got(max_core);
  if (const int rc = pthread_getaffinity_np(thread, got.bytes(), got.get()); rc != 0) {
    return absl::InternalError(fmt::format("thread '{}': pthread_getaffinity_np after pinning to cores {} failed: {}",
                                           role, cores.to_string(), errno_text(rc)));
  }
  for (int c : list) {
    if (!got.has(c)) {
      return absl::InvalidArgumentError(fmt::format(
          "thread '{}': core {} of cores {} was dropped by the kernel: it does not exist or is not permitted "
          "(cpuset/container); the thread may run only on {} (cores: {})",
          role, c, cores.to_string(), CpuSet::of(got.cores()).to_string(), online_cores()));
    }
  }
  return absl::OkStatus();
}

absl::Status set_realtime(pthread_t thread, const std::string& role, int priority) {
  const int lo = sched_get_priority_min(SCHED_FIFO);
  const int hi = sched_get_priority_max(SCHED_FIFO);
  if (priority < lo || priority > hi) {
    return absl::InvalidArgumentError(
        fmt::format("thread '{}': SCHED_FIFO priority {} is outside {}..{}", role, priority, lo, hi));
  }
  sched_param param{};
  param.sched_priority = priority;
  if (const int rc = pthread_setschedparam(thread, SCHED_FIFO, &param); rc != 0) {
    return absl::PermissionDeniedError(fmt::format(
        "thread '{}': SCHED_FIFO priority {} refused: {}{}", role, priority, errno_text(rc),
        rc == EPERM ? " (needs CAP_SYS_NICE or an RLIMIT_RTPRIO allowance)" : ""));
  }
  return absl::OkStatus();
}

}  // namespace

std::string CpuSet::to_string() const {
  if (is_any()) return "any";
  return fmt::format("[{}]", fmt::join(cores_, ", "));
}

absl::Status ThreadPool::start_thread(const std::string& role, const ThreadOptions& options,
                                      std::function<void()> body) {
  std::promise<bool> gate;
  std::thread thread([run = gate.get_future(), body = std::move(body)]() mutable {
    if (run.get()) body();
  });
  const pthread_t handle = thread.native_handle();
  // finish: lets the body run (or not) and keeps or joins the thread.
  auto finish = [&](bool run, absl::Status status) {
    gate.set_value(run);
    if (!run) {
      thread.join();
      return status;
    }
    const std::lock_guard lock(mu_);
    threads_.push_back(std::move(thread));
    return status;
  };

  const std::string name = role.substr(0, kMaxThreadName);
  if (const int rc = pthread_setname_np(handle, name.c_str()); rc != 0) {
    warn(fmt::format("thread '{}': pthread_setname_np('{}') failed: {}", role, name, errno_text(rc)));
  }
  if (!options.cores.is_any()) {
    if (absl::Status st = pin(handle, role, options.cores); !st.ok()) {
      if (options.on_affinity_failure == OnFailure::kError) return finish(false, std::move(st));
      warn(std::string(status_text(st)));
    }
  }
  if (options.realtime_priority != 0) {
    if (absl::Status st = set_realtime(handle, role, options.realtime_priority); !st.ok()) {
      if (options.on_priority_failure == OnFailure::kError) return finish(false, std::move(st));
      warn(std::string(status_text(st)));
    }
  }
  return finish(true, absl::OkStatus());
}

absl::Status ThreadPool::start_workers(const std::string& role, std::size_t count, const ThreadOptions& options,
                                       std::function<void(std::size_t)> body) {
  auto shared_body = std::make_shared<std::function<void(std::size_t)>>(std::move(body));
  for (std::size_t i = 0; i < count; ++i) {
    ThreadOptions mine = options;
    if (!options.cores.is_any()) {
      const auto& list = options.cores.cores();
      mine.cores = CpuSet::of({list[i % list.size()]});
    }
    absl::Status st = start_thread(fmt::format("{}-{}", role, i), mine, [shared_body, i] { (*shared_body)(i); });
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

void ThreadPool::join() {
  std::vector<std::thread> threads;
  {
    const std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

std::size_t ThreadPool::size() const {
  const std::lock_guard lock(mu_);
  return threads_.size();
}

std::vector<std::string> ThreadPool::warnings() const {
  const std::lock_guard lock(mu_);
  return warnings_;
}

void ThreadPool::warn(std::string message) {
  spdlog::warn("{}", message);
  const std::lock_guard lock(mu_);
  warnings_.push_back(std::move(message));
}

}  // namespace tickwire::middleware
