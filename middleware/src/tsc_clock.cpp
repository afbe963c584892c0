#include "tickwire/middleware/tsc_clock.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace tickwire::middleware {
namespace {

// Calibration: kTrials back-to-back trials of kTrialNs each, ~10 ms in all.
constexpr int kTrials = 5;
constexpr std::uint64_t kTrialNs = 2'000'000;
// Pairs taken per sample; the one with the narrowest bracket wins.
constexpr int kSampleTries = 8;
// resync() re-measures the rate only over a baseline at least this long;
// shorter baselines would be less precise than the start-up median.
constexpr std::uint64_t kMinRateBaselineNs = 100'000'000;
// Largest relative slew resync() applies when the mapping runs ahead.
constexpr double kMaxSlew = 500e-6;
// Slewing removes the lead over at least this long.
constexpr double kMinSlewHorizonNs = 1e9;

std::uint64_t clock_ns(clockid_t id) noexcept {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Fixed point for ns_per_tick: the largest shift that keeps mult below 2^63,
// so that delta * mult fits the 128-bit product for any 64-bit delta.
void set_rate(TscCalibration& c, double ns_per_tick) noexcept {
  std::uint32_t shift = 62;
  while (shift > 0 && std::ldexp(ns_per_tick, static_cast<int>(shift)) >= std::ldexp(1.0, 63)) {
    --shift;
  }
  c.ns_per_tick = ns_per_tick;
  c.shift = shift;
  c.mult = static_cast<std::uint64_t>(std::llround(std::ldexp(ns_per_tick, static_cast<int>(shift))));
}

}  // namespace

bool TscClock::cpu_has_invariant_tsc() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  // __get_cpuid_max returns unsigned with gcc's cpuid.h and int with clang's.
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000U, nullptr)) < 0x80000007U) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0x80000007U, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1U << 8)) != 0;
#else
  return false;
#endif
}

std::uint64_t TscClock::read_steady_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

TscClock::Sample TscClock::sample(bool use_tsc) noexcept {
  Sample s{};
  std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
  if (use_tsc) {
    for (int i = 0; i < kSampleTries; ++i) {
      const std::uint64_t m1 = clock_ns(CLOCK_MONOTONIC);
      const std::uint64_t t = read_tsc<true>();
      const std::uint64_t m2 = clock_ns(CLOCK_MONOTONIC);
      if (m2 - m1 < best) {
        best = m2 - m1;
        s.tsc = t;
        s.mono_ns = m1 + (m2 - m1) / 2;
        s.half_width_ns = (m2 - m1 + 1) / 2;
      }
    }
  } else {
    // steady_clock is CLOCK_MONOTONIC on Linux: the ticks are the ns.
    s.tsc = read_steady_ns();
    s.mono_ns = s.tsc;
  }
  // The wall offset, from the narrowest CLOCK_MONOTONIC bracket around CLOCK_REALTIME.
  best = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t offset = 0;
  for (int i = 0; i < kSampleTries / 2; ++i) {
    const std::uint64_t m1 = clock_ns(CLOCK_MONOTONIC);
    const std::uint64_t w = clock_ns(CLOCK_REALTIME);
    const std::uint64_t m2 = clock_ns(CLOCK_MONOTONIC);
    if (m2 - m1 < best) {
      best = m2 - m1;
      offset = w - (m1 + (m2 - m1) / 2);
    }
  }
  s.wall_ns = s.mono_ns + offset;
  return s;
}

TscCalibration TscClock::calibrate(bool use_tsc, Sample& base) {
  TscCalibration c{};
  c.invariant_tsc = use_tsc;
  c.generation = 1;
  if (!use_tsc) {
    base = sample(false);
    c.tsc_anchor = base.tsc;
    c.mono_anchor_ns = base.mono_ns;
    c.wall_anchor_ns = base.wall_ns;
    set_rate(c, 1.0);
    return c;
  }
  std::array<Sample, kTrials + 1> points{};
  points[0] = sample(true);
  std::array<double, kTrials> rates{};
  double rate_error = 0.0;
  for (int i = 1; i <= kTrials; ++i) {
    const std::uint64_t start = points[static_cast<std::size_t>(i - 1)].mono_ns;
    while (clock_ns(CLOCK_MONOTONIC) - start < kTrialNs) cpu_relax();
    const Sample& a = points[static_cast<std::size_t>(i - 1)];
    Sample& b = points[static_cast<std::size_t>(i)];
    b = sample(true);
    const double span_ns = static_cast<double>(b.mono_ns - a.mono_ns);
    rates[static_cast<std::size_t>(i - 1)] = span_ns / static_cast<double>(b.tsc - a.tsc);
    // Each trial's rate is off by at most the two half brackets over its span;
    // the median of the trials is then within the largest of those bounds.
    rate_error = std::max(rate_error, static_cast<double>(a.half_width_ns + b.half_width_ns) / span_ns);
  }
  std::sort(rates.begin(), rates.end());
  base = points[0];
  const Sample& anchor = points[kTrials];
  c.tsc_anchor = anchor.tsc;
  c.mono_anchor_ns = anchor.mono_ns;
  c.wall_anchor_ns = anchor.wall_ns;
  set_rate(c, rates[kTrials / 2]);
  c.anchor_error_ns = anchor.half_width_ns;
  c.rate_error = rate_error;
  return c;
}

TscClock::TscClock(Mode mode)
    : invariant_tsc_(mode == Mode::kAuto && cpu_has_invariant_tsc()),
      params_(calibrate(invariant_tsc_, base_)) {}

TscClock& TscClock::global() {
  static TscClock* const clock = [] {
    const char* env = std::getenv("TICKWIRE_CLOCK");
    const bool steady = env != nullptr && std::string_view(env) == "steady";
    static TscClock instance(steady ? Mode::kForceSteady : Mode::kAuto);
    // relaxed: the mode is a self-contained value; a thread that has not seen
    // it yet takes the slow path through this guarded initialisation.
    g_mode_.store(instance.invariant_tsc_ ? kModeTsc : kModeSteady, std::memory_order_relaxed);
    return &instance;
  }();
  return *clock;
}

void TscClock::resync() {
  std::lock_guard<std::mutex> lock(resync_mu_);
  const TscCalibration old = params_.load();
  const Sample s = sample(invariant_tsc_);
  TscCalibration c = old;
  c.generation = old.generation + 1;
  if (!invariant_tsc_) {
    c.tsc_anchor = s.tsc;
    c.mono_anchor_ns = s.mono_ns;
    c.wall_anchor_ns = s.wall_ns;
    params_.store(c);
    return;
  }
  double rate = old.ns_per_tick;
  double rate_error = old.rate_error;
  const std::uint64_t baseline_ns = s.mono_ns - base_.mono_ns;
  if (baseline_ns >= kMinRateBaselineNs && s.tsc > base_.tsc) {
    rate = static_cast<double>(baseline_ns) / static_cast<double>(s.tsc - base_.tsc);
    rate_error = static_cast<double>(base_.half_width_ns + s.half_width_ns) /
                 static_cast<double>(baseline_ns);
  }
  // Never step the mapping back: if it is ahead of CLOCK_MONOTONIC, keep its
  // value at the new anchor and run slightly slow until the lead is gone.
  const std::uint64_t predicted = map(old, s.tsc);
  std::uint64_t lead_ns = 0;
  c.mono_anchor_ns = s.mono_ns;
  if (predicted > s.mono_ns) {
    lead_ns = predicted - s.mono_ns;
    c.mono_anchor_ns = predicted;
    const double horizon_ns =
        std::max(kMinSlewHorizonNs, static_cast<double>(s.mono_ns - std::min(s.mono_ns, old.mono_anchor_ns)));
    const double slew = std::min(kMaxSlew, static_cast<double>(lead_ns) / horizon_ns);
    rate *= 1.0 - slew;
    rate_error += slew;
  }
  c.tsc_anchor = s.tsc;
  c.wall_anchor_ns = c.mono_anchor_ns + (s.wall_ns - s.mono_ns);
  set_rate(c, rate);
  c.anchor_error_ns = lead_ns + s.half_width_ns;
  c.rate_error = rate_error;
  params_.store(c);
}

std::uint64_t TscClock::error_bound_ns(std::uint64_t ticks) const noexcept {
  const TscCalibration c = params_.load();
  const std::uint64_t delta = ticks >= c.tsc_anchor ? ticks - c.tsc_anchor : c.tsc_anchor - ticks;
  const double drift_ns = c.rate_error * static_cast<double>(delta) * c.ns_per_tick;
  return c.anchor_error_ns + static_cast<std::uint64_t>(std::ceil(drift_ns)) + 1;
}

}  // namespace tickwire::middleware
