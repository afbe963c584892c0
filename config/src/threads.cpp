// [threads]: core lists ("any" or a list of core numbers), scheduler size,
// what an unusable core does, and the feed thread's real-time priority.
#include <sched.h>

#include <fmt/format.h>

#include "sections.hpp"

namespace tickwire::config::detail {
namespace {

// kMaxCore: the largest core number accepted (CPU_SETSIZE is 1024).
constexpr std::int64_t kMaxCore = 1023;

absl::Status read_cores(const TableView& t, std::string_view key, std::vector<int>& out) {
  const toml::node* node = t.table().get(key);
  if (node == nullptr) return absl::OkStatus();
  constexpr std::string_view kExpected = "expected \"any\" or a list of core numbers";
  if (const auto* text = node->as_string()) {
    if (text->get() == "any") {
      out.clear();
      return absl::OkStatus();
    }
    return t.invalid(key, fmt::format("{}, got {:?}", kExpected, text->get()));
  }
  const auto* list = node->as_array();
  if (list == nullptr) return t.invalid(key, fmt::format("{}, got {}", kExpected, type_name(*node)));
  if (list->empty()) return t.invalid(key, "expected at least one core (or \"any\")");
  std::vector<int> cores;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto* value = list->get(i)->as_integer();
    if (value == nullptr) {
      return t.invalid_element(key, i, fmt::format("expected a core number, got {}", type_name(*list->get(i))));
    }
    if (value->get() < 0 || value->get() > kMaxCore) {
      return t.invalid_element(key, i, fmt::format("expected a core number in 0..{}, got {}", kMaxCore, value->get()));
    }
    cores.push_back(static_cast<int>(value->get()));
  }
  out = std::move(cores);
  return absl::OkStatus();
}

// usable_cores_text: the cores in `set` as "0-3,6".
std::string usable_cores_text(const cpu_set_t& set) {
  std::string out;
  for (int core = 0; core < CPU_SETSIZE; ++core) {
    if (!CPU_ISSET(core, &set)) continue;
    int last = core;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    out += fmt::format("{}{}", out.empty() ? "" : ",", core == last ? fmt::format("{}", core)
                                                                   : fmt::format("{}-{}", core, last));
    core = last;
  }
  return out;
}

absl::Status check_list(const TableView& t, std::string_view key, const std::vector<int>& cores,
                        const cpu_set_t& usable) {
  for (std::size_t i = 0; i < cores.size(); ++i) {
    if (!CPU_ISSET(cores[i], &usable)) {
      return t.invalid_element(key, i, fmt::format("core {} is not available to this process (usable: {}); "
                                                   "use one of those, \"any\", or affinity_required = false",
                                                   cores[i], usable_cores_text(usable)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status check_cores_usable(const TableView& t, const ThreadsConfig& threads) {
  if (!threads.affinity_required) return absl::OkStatus();  // the threads warn and run unpinned
  cpu_set_t usable;
  CPU_ZERO(&usable);
  if (::sched_getaffinity(0, sizeof usable, &usable) != 0) return absl::OkStatus();  // unknown: the start decides
  if (auto s = check_list(t, "feed_cores", threads.feed_cores, usable); !s.ok()) return s;
  if (auto s = check_list(t, "flusher_cores", threads.flusher_cores, usable); !s.ok()) return s;
  return check_list(t, "scheduler_cores", threads.scheduler_cores, usable);
}

absl::Status read_threads(const TableView& t, ThreadsConfig& threads) {
  if (auto s = t.check_known({"feed_cores", "flusher_cores", "scheduler_cores", "scheduler_workers",
                              "affinity_required", "realtime_priority", "feed_spin"});
      !s.ok()) {
    return s;
  }
  if (auto s = read_cores(t, "feed_cores", threads.feed_cores); !s.ok()) return s;
  if (auto s = read_cores(t, "flusher_cores", threads.flusher_cores); !s.ok()) return s;
  if (auto s = read_cores(t, "scheduler_cores", threads.scheduler_cores); !s.ok()) return s;
  std::uint64_t workers = threads.scheduler_workers;
  if (auto s = t.read_uint("scheduler_workers", workers, 1, 64); !s.ok()) return s;
  threads.scheduler_workers = static_cast<std::uint32_t>(workers);
  if (auto s = t.read_bool("affinity_required", threads.affinity_required); !s.ok()) return s;
  std::uint64_t priority = threads.realtime_priority;
  if (auto s = t.read_uint("realtime_priority", priority, 0, 99); !s.ok()) return s;
  threads.realtime_priority = static_cast<std::uint32_t>(priority);
  if (auto s = t.read_bool("feed_spin", threads.feed_spin); !s.ok()) return s;
  return check_cores_usable(t, threads);
}

}  // namespace tickwire::config::detail
