// Logger benchmarks: what one log call costs the calling thread, as a per-call
// latency distribution (each call stamped with two TSC reads, recorded into a
// LatencyHistogram), ours beside spdlog's async logger with the same line,
// the same null sink and a backend that keeps up (calls are paced 2 us apart;
// the pacing is not timed).
//   BM_TickwireLogger       TW_LOG_INFO: level test + binary copy into the thread's ring
//   BM_SpdlogAsyncLogger    spdlog::async_logger::info: formats on the caller, then enqueues
//   BM_TickwireLoggerFiltered / BM_SpdlogFiltered   a call below the level
// Counters: p50_ns, p99_ns, p999_ns per call.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include <benchmark/benchmark.h>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "tickwire/middleware/latency_histogram.hpp"
#include "tickwire/middleware/logger.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace {

using tickwire::middleware::LatencyHistogram;
using tickwire::middleware::Logger;
using tickwire::middleware::LoggerOptions;
using tickwire::middleware::TscClock;

constexpr std::uint64_t kPaceNs = 2'000;
constexpr int kCalls = 200'000;

// PerCall: per-call latency in ticks; reports percentiles in ns.
class PerCall {
 public:
  PerCall() : hist_(*LatencyHistogram::create(1, 1'000'000'000, 3)) {}
  void record(std::uint64_t ticks) { hist_.record(ticks); }
  void report(benchmark::State& state) const {
    const double ns_per_tick = TscClock::global().calibration().ns_per_tick;
    const auto ns = [&](double q) { return static_cast<double>(hist_.value_at_percentile(q)) * ns_per_tick; };
    state.counters["p50_ns"] = ns(50.0);
    state.counters["p99_ns"] = ns(99.0);
    state.counters["p999_ns"] = ns(99.9);
  }

 private:
  LatencyHistogram hist_;
};

// pace: spin until kPaceNs after `from`, so the backend keeps up.
void pace(std::uint64_t from, std::uint64_t pace_ticks) {
  while (TscClock::now_ticks() - from < pace_ticks) {
  }
}

std::uint64_t pace_ticks() {
  return static_cast<std::uint64_t>(static_cast<double>(kPaceNs) / TscClock::global().calibration().ns_per_tick);
}

template <typename Call>
void run_per_call(benchmark::State& state, Call&& call) {
  PerCall per_call;
  const std::uint64_t gap = pace_ticks();
  const double ns_per_tick = TscClock::global().calibration().ns_per_tick;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    const std::uint64_t start = TscClock::now_ticks();
    call(seq++);
    const std::uint64_t end = TscClock::now_ticks();
    per_call.record(end - start);
    state.SetIterationTime(static_cast<double>(end - start) * ns_per_tick * 1e-9);
    pace(end, gap);
  }
  per_call.report(state);
}

std::unique_ptr<Logger> make_logger() {
  LoggerOptions o;
  o.sinks = {std::make_shared<spdlog::sinks::null_sink_mt>()};
  o.ring_bytes = 1U << 22;
  o.on_full = tickwire::middleware::FullPolicy::kBlock;
  return *Logger::create(std::move(o));
}

std::shared_ptr<spdlog::async_logger> make_spdlog() {
  static auto pool = std::make_shared<spdlog::details::thread_pool>(1U << 16, 1);
  auto logger = std::make_shared<spdlog::async_logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>(), pool,
                                                       spdlog::async_overflow_policy::block);
  logger->set_level(spdlog::level::info);
  return logger;
}

constexpr std::string_view kSymbol = "BTCUSDT";

void BM_TickwireLogger(benchmark::State& state) {
  auto logger = make_logger();
  logger->register_thread();
  run_per_call(state, [&](std::uint64_t seq) {
    TW_LOG_INFO(*logger, "trade {} seq={} px={} qty={}", kSymbol, seq, 64123.5, 0.0125);
  });
  logger->shutdown();
}
BENCHMARK(BM_TickwireLogger)->Iterations(kCalls)->UseManualTime();

void BM_SpdlogAsyncLogger(benchmark::State& state) {
  auto logger = make_spdlog();
  run_per_call(state, [&](std::uint64_t seq) {
    logger->info("trade {} seq={} px={} qty={}", kSymbol, seq, 64123.5, 0.0125);
  });
  logger->flush();
}
BENCHMARK(BM_SpdlogAsyncLogger)->Iterations(kCalls)->UseManualTime();

void BM_TickwireLoggerFiltered(benchmark::State& state) {
  auto logger = make_logger();
  run_per_call(state, [&](std::uint64_t seq) { TW_LOG_DEBUG(*logger, "trade {} seq={}", kSymbol, seq); });
}
BENCHMARK(BM_TickwireLoggerFiltered)->Iterations(kCalls)->UseManualTime();

void BM_SpdlogFiltered(benchmark::State& state) {
  auto logger = make_spdlog();
  run_per_call(state, [&](std::uint64_t seq) { logger->debug("trade {} seq={}", kSymbol, seq); });
}
BENCHMARK(BM_SpdlogFiltered)->Iterations(kCalls)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
