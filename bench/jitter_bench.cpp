// The machine's own stalls: a thread pinned to one core reads the TSC in a
// loop that does nothing else, and every gap between two consecutive reads
// longer than 2 us is time the core was taken from it (an interrupt, the
// kernel, or on a VM the host running something else on that CPU). No code
// of tickwire's can be faster than this at the tail: a message whose work
// overlaps a 20 us stall takes 20 us more. Like sysjitter and hwlatdetect,
// reduced to what a latency claim needs: how many stalls per second, how
// long, and the share of the core they take.
//
//   bench_jitter [--seconds S] [--cpu N]...   (default 5 s on every online core, one after another)
//
// One row per core: stalls per second in duration buckets, the longest, and
// the time lost. The TSC rate is TscClock's calibration.
#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tickwire/middleware/tsc_clock.hpp"

namespace {

namespace mw = tickwire::middleware;

// Bucket lower bounds, us.
constexpr std::array<double, 7> kBounds{2, 5, 10, 20, 50, 100, 1000};

struct Row {
  int cpu = 0;
  std::array<std::uint64_t, kBounds.size()> counts{};
  double longest_us = 0;
  double lost_us = 0;
  double seconds = 0;
};

Row measure(int cpu, double seconds, double ticks_per_us) {
  Row r;
  r.cpu = cpu;
  r.seconds = seconds;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::fprintf(stderr, "bench_jitter: cannot run on cpu %d: %s\n", cpu, std::strerror(errno));
    std::exit(2);
  }
  const auto threshold = static_cast<std::uint64_t>(kBounds[0] * ticks_per_us);
  std::uint64_t prev = mw::TscClock::now_ticks();
  const std::uint64_t end = prev + static_cast<std::uint64_t>(seconds * 1e6 * ticks_per_us);
  for (;;) {
    const std::uint64_t t = mw::TscClock::now_ticks();
    const std::uint64_t gap = t - prev;
    prev = t;
    if (gap >= threshold) [[unlikely]] {
      const double us = static_cast<double>(gap) / ticks_per_us;
      std::size_t b = 0;
      while (b + 1 < kBounds.size() && us >= kBounds[b + 1]) ++b;
      ++r.counts[b];
      r.lost_us += us;
      if (us > r.longest_us) r.longest_us = us;
    }
    if (t >= end) break;
  }
  return r;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  std::vector<int> cpus;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--cpu" && i + 1 < argc) {
      cpus.push_back(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: bench_jitter [--seconds S] [--cpu N]...\n");
      return 2;
    }
  }
  if (!(seconds > 0)) {
    std::fprintf(stderr, "bench_jitter: --seconds must be above 0\n");
    return 2;
  }
  if (cpus.empty()) {
    for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); ++c) cpus.push_back(static_cast<int>(c));
  }
  const double ticks_per_us = 1e3 / mw::TscClock::global().calibration().ns_per_tick;
  std::string load;
  std::getline(std::ifstream("/proc/loadavg"), load);
  fmt::print("# nproc {}, {}, TSC {:.1f} MHz, load {}\n", sysconf(_SC_NPROCESSORS_ONLN), cpu_model(), ticks_per_us,
             load);
  fmt::print("| cpu | stalls/s 2-5 us | 5-10 | 10-20 | 20-50 | 50-100 | 100-1000 | >= 1 ms | longest us | time lost |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const int cpu : cpus) {
    const Row r = measure(cpu, seconds, ticks_per_us);
    std::string row = fmt::format("| {} |", r.cpu);
    for (const std::uint64_t c : r.counts) row += fmt::format(" {:.1f} |", static_cast<double>(c) / r.seconds);
    row += fmt::format(" {:.1f} | {:.2f}% |", r.longest_us, 100.0 * r.lost_us / (r.seconds * 1e6));
    fmt::print("{}\n", row);
  }
  return 0;
}
