// Profiler benchmarks: what timing a stage costs the thread that runs it.
//   BM_ScopedTimer            two TscClock::now_ticks() + one Profiler::record()
//   BM_ProfilerRecord         one record() of a precomputed duration
//   BM_TwoTscReads            the floor: two now_ticks() and nothing recorded
//   BM_LatencyHistogramRecord the peer: a plain, unshareable histogram record()
//   BM_ProfilerReport         report() of one stage with 4 threads' recorders
#include <cstdint>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "tickwire/middleware/latency_histogram.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace {

using tickwire::middleware::LatencyHistogram;
using tickwire::middleware::Profiler;
using tickwire::middleware::ScopedTimer;
using tickwire::middleware::StageId;
using tickwire::middleware::TscClock;

void BM_ScopedTimer(benchmark::State& state) {
  Profiler p;
  const StageId s = p.stage("bench");
  p.register_thread();
  for (auto _ : state) {
    ScopedTimer t(p, s);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ScopedTimer);

void BM_ProfilerRecord(benchmark::State& state) {
  Profiler p;
  const StageId s = p.stage("bench");
  p.register_thread();
  std::uint64_t v = 100;
  for (auto _ : state) {
    p.record(s, v);
    v = (v * 7 + 13) & 0xffff;  // spread over buckets, as real durations are
  }
}
BENCHMARK(BM_ProfilerRecord);

void BM_TwoTscReads(benchmark::State& state) {
  TscClock::global();
  for (auto _ : state) {
    const std::uint64_t a = TscClock::now_ticks();
    benchmark::ClobberMemory();
    benchmark::DoNotOptimize(TscClock::now_ticks() - a);
  }
}
BENCHMARK(BM_TwoTscReads);

void BM_LatencyHistogramRecord(benchmark::State& state) {
  auto h = LatencyHistogram::create(1, 30'000'000'000ULL, 3);
  std::uint64_t v = 100;
  for (auto _ : state) {
    h->record(v);
    v = (v * 7 + 13) & 0xffff;
  }
  benchmark::DoNotOptimize(h->total_count());
}
BENCHMARK(BM_LatencyHistogramRecord);

void BM_ProfilerReport(benchmark::State& state) {
  Profiler p;
  const StageId s = p.stage("bench");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&p, s, t] {
      for (std::uint64_t i = 0; i < 100'000; ++i) p.record(s, (i * 7919 + static_cast<std::uint64_t>(t)) % 50'000);
    });
  }
  for (auto& th : threads) th.join();
  for (auto _ : state) benchmark::DoNotOptimize(p.report());
}
BENCHMARK(BM_ProfilerReport)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
