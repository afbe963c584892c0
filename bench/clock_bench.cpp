// Clock and histogram benchmarks: the TSC stamp beside the system clocks it
// replaces, the cost of converting a stamp, and the histogram's record().
//   BM_TscNowTicks / BM_ClockGettimeMonotonic / BM_SteadyClockNow   one stamp
//   BM_TscNowTicksOrdered / BM_Rdtscp   the ordered stamp and its alternative
//   BM_TscToMonoNs / BM_TscNowMonoNs   conversion (seqlock read + mul/shift)
//   BM_HistogramRecord / BM_HistogramRecordCorrected   one value recorded
#include <time.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "tickwire/middleware/latency_histogram.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace {

using tickwire::middleware::LatencyHistogram;
using tickwire::middleware::TscClock;

void BM_TscNowTicks(benchmark::State& state) {
  TscClock::global();  // calibrate outside the timed loop
  for (auto _ : state) benchmark::DoNotOptimize(TscClock::now_ticks());
}
BENCHMARK(BM_TscNowTicks);

void BM_ClockGettimeMonotonic(benchmark::State& state) {
  timespec ts{};
  for (auto _ : state) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    benchmark::DoNotOptimize(ts);
  }
}
BENCHMARK(BM_ClockGettimeMonotonic);

void BM_SteadyClockNow(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}
BENCHMARK(BM_SteadyClockNow);

void BM_TscNowTicksOrdered(benchmark::State& state) {
  TscClock::global();
  for (auto _ : state) benchmark::DoNotOptimize(TscClock::now_ticks_ordered());
}
BENCHMARK(BM_TscNowTicksOrdered);

void BM_Rdtscp(benchmark::State& state) {
  unsigned aux = 0;
  for (auto _ : state) benchmark::DoNotOptimize(__builtin_ia32_rdtscp(&aux));
}
BENCHMARK(BM_Rdtscp);

void BM_TscToMonoNs(benchmark::State& state) {
  const TscClock& clock = TscClock::global();
  std::uint64_t ticks = TscClock::now_ticks();
  for (auto _ : state) {
    benchmark::DoNotOptimize(clock.to_mono_ns(ticks));
    ticks += 977;  // a different stamp each time, so nothing is hoisted
  }
}
BENCHMARK(BM_TscToMonoNs);

// The Envelope's stamp: mono and wall of one reading, through the clock's
// seqlock (a copy of the whole calibration) and through a Mapper (one load
// of the sequence; what FeedPipeline uses).
void BM_TscToMonoAndWall(benchmark::State& state) {
  const TscClock& clock = TscClock::global();
  std::uint64_t ticks = TscClock::now_ticks();
  for (auto _ : state) {
    benchmark::DoNotOptimize(clock.to_mono_and_wall_ns(ticks));
    ticks += 977;
  }
}
BENCHMARK(BM_TscToMonoAndWall);

void BM_TscMapperToMonoAndWall(benchmark::State& state) {
  TscClock::Mapper mapper(TscClock::global());
  std::uint64_t ticks = TscClock::now_ticks();
  for (auto _ : state) {
    benchmark::DoNotOptimize(mapper.to_mono_and_wall_ns(ticks));
    ticks += 977;
  }
}
BENCHMARK(BM_TscMapperToMonoAndWall);

void BM_TscNowMonoNs(benchmark::State& state) {
  const TscClock& clock = TscClock::global();
  for (auto _ : state) benchmark::DoNotOptimize(clock.now_mono_ns());
}
BENCHMARK(BM_TscNowMonoNs);

// Latency-like values (log-normal around 8 us in ns), cycled from a table so
// that the bucket index varies as it does in real use.
std::vector<std::uint64_t> latency_values() {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(9.0, 1.0);
  std::vector<std::uint64_t> v(4096);
  for (auto& x : v) x = static_cast<std::uint64_t>(dist(rng));
  return v;
}

void BM_HistogramRecord(benchmark::State& state) {
  LatencyHistogram h = *LatencyHistogram::create(1, 60'000'000'000ULL, static_cast<int>(state.range(0)));
  const std::vector<std::uint64_t> values = latency_values();
  std::size_t i = 0;
  for (auto _ : state) {
    h.record(values[i]);
    i = (i + 1) & (values.size() - 1);
  }
  benchmark::DoNotOptimize(h.total_count());
  state.counters["memory_KiB"] = static_cast<double>(h.memory_bytes()) / 1024.0;
}
BENCHMARK(BM_HistogramRecord)->Arg(2)->Arg(3)->Arg(5);

void BM_HistogramRecordCorrected(benchmark::State& state) {
  LatencyHistogram h = *LatencyHistogram::create(1, 60'000'000'000ULL, 3);
  const std::vector<std::uint64_t> values = latency_values();
  std::size_t i = 0;
  for (auto _ : state) {
    h.record_corrected(values[i], 10'000);  // ~40 % of values exceed the interval
    i = (i + 1) & (values.size() - 1);
  }
  benchmark::DoNotOptimize(h.total_count());
}
BENCHMARK(BM_HistogramRecordCorrected);

}  // namespace

BENCHMARK_MAIN();
