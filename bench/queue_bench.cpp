// Queue benchmarks: SpscRing and MpmcQueue beside their peers in one binary,
// so every ratio in bench/RESULTS.md comes from one run on one machine.
//   BM_SpscThroughput<Q>   items/s, producer on core 0, consumer on core 1
//   BM_SpscRoundTrip<Q>    one item there and back through two rings
//   BM_CacheLinePingPong   the floor: two threads bouncing one atomic
//   BM_MpmcThroughput<Q>   items/s with P producers and C consumers
//   BM_SpscSingleThread<Q> push+pop pairs on one thread (CPU time)
// The SPSC benchmarks also report the median and best chunk (see Samples),
// which is what to compare on a machine shared with other work.
// Threads are pinned with pthread_setaffinity_np; the "pinned" counter is 1
// only if every thread of the benchmark was pinned.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/spsc_queue.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <atomic_queue/atomic_queue.h>
#include <benchmark/benchmark.h>
#include <concurrentqueue/concurrentqueue.h>
#include <readerwriterqueue/readerwriterqueue.h>
#include <tbb/concurrent_queue.h>

#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/mpmc_queue.hpp"
#include "tickwire/middleware/spsc_ring.hpp"

namespace {

using tickwire::middleware::CachePadded;
using tickwire::middleware::cpu_relax;

constexpr std::size_t kCapacity = 16384;
constexpr std::uint64_t kItemsPerIteration = std::uint64_t{1} << 20;

// pin_to_core: pins the calling thread; reports a failure once on stderr.
bool pin_to_core(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<unsigned>(core) % static_cast<unsigned>(CPU_SETSIZE), &set);
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true, std::memory_order_relaxed)) {  // a once-flag for the message only
      std::fprintf(stderr, "queue_bench: pinning to core %d failed: %s (running unpinned)\n", core, std::strerror(rc));
    }
  }
  return rc == 0;
}

// Adapters: one try_push/try_pop shape over every queue. Values are never 0
// (atomic_queue reserves 0 as its empty marker).
struct TickwireSpscRing {
  tickwire::middleware::SpscRing<std::uint64_t, kCapacity> q;
  bool push(std::uint64_t v) { return q.try_push(v); }
  bool pop(std::uint64_t& v) { return q.try_pop(v); }
};
struct BoostSpscQueue {
  boost::lockfree::spsc_queue<std::uint64_t, boost::lockfree::capacity<kCapacity>> q;
  bool push(std::uint64_t v) { return q.push(v); }
  bool pop(std::uint64_t& v) { return q.pop(v); }
};
struct MoodycamelReaderWriterQueue {
  moodycamel::ReaderWriterQueue<std::uint64_t> q{kCapacity};
  bool push(std::uint64_t v) { return q.try_enqueue(v); }
  bool pop(std::uint64_t& v) { return q.try_dequeue(v); }
};
struct AtomicQueueSpsc {
  atomic_queue::AtomicQueue<std::uint64_t, kCapacity, 0, true, true, false, true> q;
  bool push(std::uint64_t v) { return q.try_push(v); }
  bool pop(std::uint64_t& v) { return q.try_pop(v); }
};
struct TickwireMpmcQueue {
  tickwire::middleware::MpmcQueue<std::uint64_t> q{kCapacity};
  bool push(std::uint64_t v) { return q.try_push(v); }
  bool pop(std::uint64_t& v) { return q.try_pop(v); }
};
struct MoodycamelConcurrentQueue {
  moodycamel::ConcurrentQueue<std::uint64_t> q{kCapacity};
  bool push(std::uint64_t v) { return q.try_enqueue(v); }
  bool pop(std::uint64_t& v) { return q.try_dequeue(v); }
};
struct TbbBoundedQueue {
  TbbBoundedQueue() { q.set_capacity(static_cast<std::ptrdiff_t>(kCapacity)); }
  tbb::concurrent_bounded_queue<std::uint64_t> q;
  bool push(std::uint64_t v) { return q.try_push(v); }
  bool pop(std::uint64_t& v) { return q.try_pop(v); }
};
struct BoostLockfreeQueue {
  boost::lockfree::queue<std::uint64_t, boost::lockfree::capacity<kCapacity - 1>> q;
  bool push(std::uint64_t v) { return q.bounded_push(v); }
  bool pop(std::uint64_t& v) { return q.pop(v); }
};

// Samples: wall time per chunk of work, for figures that survive a shared
// machine. A preemption stretches one chunk, not the run, so the median chunk
// is the undisturbed figure while the benchmark's own time is the average.
class Samples {
 public:
  explicit Samples(std::size_t reserve) { ns_.reserve(reserve); }
  static std::uint64_t now() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }
  void add(std::uint64_t ns) { ns_.push_back(ns); }
  // report: sets <name>_p50 and <name>_min to the chunk time divided by
  // per_chunk, or to per_chunk divided by the chunk time when as_rate.
  void report(benchmark::State& state, const char* name, double per_chunk, bool as_rate) {
    if (ns_.empty()) return;
    std::sort(ns_.begin(), ns_.end());
    const auto value = [&](std::uint64_t ns) {
      const double t = static_cast<double>(std::max<std::uint64_t>(ns, 1));
      return as_rate ? per_chunk * 1e9 / t : t / per_chunk;
    };
    state.counters[std::string(name) + "_p50"] = value(ns_[ns_.size() / 2]);
    state.counters[std::string(name) + "_best"] = value(ns_.front());
  }

 private:
  std::vector<std::uint64_t> ns_;
};

// Throughput chunks are timed by the consumer and span four ring capacities,
// so items buffered while it was descheduled inflate a chunk by 25% at most.
constexpr std::uint64_t kThroughputChunk = 4 * kCapacity;

template <typename Q>
void BM_SpscThroughput(benchmark::State& state) {
  auto q = std::make_unique<Q>();
  bool pinned = pin_to_core(0);
  std::atomic<bool> consumer_pinned{true};
  Samples samples(1 << 12);
  for (auto _ : state) {
    std::thread consumer([&q, &consumer_pinned, &samples] {
      if (!pin_to_core(1)) consumer_pinned.store(false, std::memory_order_relaxed);  // read after join
      std::uint64_t v = 0;
      std::uint64_t chunk_start = Samples::now();
      for (std::uint64_t n = 0; n < kItemsPerIteration;) {
        if (q->pop(v)) {
          benchmark::DoNotOptimize(v);
          if (++n % kThroughputChunk == 0) {
            const std::uint64_t t = Samples::now();
            samples.add(t - chunk_start);
            chunk_start = t;
          }
        } else {
          cpu_relax();
        }
      }
    });
    for (std::uint64_t i = 1; i <= kItemsPerIteration; ++i) {
      while (!q->push(i)) cpu_relax();
    }
    consumer.join();
  }
  pinned = pinned && consumer_pinned.load(std::memory_order_relaxed);  // threads joined
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItemsPerIteration));
  samples.report(state, "chunk_items_per_s", static_cast<double>(kThroughputChunk), true);
  state.counters["pinned"] = pinned ? 1 : 0;
}

// SpscRing with its batch calls: try_push_n in blocks of 64, consume_all.
void BM_SpscThroughputBatched(benchmark::State& state) {
  auto q = std::make_unique<TickwireSpscRing>();
  bool pinned = pin_to_core(0);
  std::atomic<bool> consumer_pinned{true};
  Samples samples(1 << 12);
  for (auto _ : state) {
    std::thread consumer([&q, &consumer_pinned, &samples] {
      if (!pin_to_core(1)) consumer_pinned.store(false, std::memory_order_relaxed);  // read after join
      std::uint64_t chunk_start = Samples::now();
      std::uint64_t next_chunk = kThroughputChunk;
      for (std::uint64_t n = 0; n < kItemsPerIteration;) {
        const std::size_t got = q->q.consume_all([](std::uint64_t&& v) { benchmark::DoNotOptimize(v); });
        if (got == 0) cpu_relax();
        n += got;
        if (n >= next_chunk) {
          const std::uint64_t t = Samples::now();
          samples.add(t - chunk_start);
          chunk_start = t;
          next_chunk += kThroughputChunk;
        }
      }
    });
    std::uint64_t block[64];
    for (std::uint64_t i = 1; i <= kItemsPerIteration; i += 64) {
      for (std::uint64_t j = 0; j < 64; ++j) block[j] = i + j;
      std::size_t offset = 0;
      while (offset < 64) {
        const std::size_t pushed = q->q.try_push_n(block + offset, 64 - offset);
        if (pushed == 0) cpu_relax();
        offset += pushed;
      }
    }
    consumer.join();
  }
  pinned = pinned && consumer_pinned.load(std::memory_order_relaxed);  // threads joined
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItemsPerIteration));
  samples.report(state, "chunk_items_per_s", static_cast<double>(kThroughputChunk), true);
  state.counters["pinned"] = pinned ? 1 : 0;
}

// Round trips are timed in groups of 16 (the clock read costs ~1 ns per
// round trip) and run a fixed count, so that a preempted run still yields
// thousands of samples.
constexpr std::uint64_t kRoundTripChunk = 16;
constexpr benchmark::IterationCount kRoundTripIterations = 64'000;

// One item to the echo thread through `there`, back through `back`. Both
// sides busy-poll without pause, as the ping-pong floor does.
template <typename Q>
void BM_SpscRoundTrip(benchmark::State& state) {
  auto there = std::make_unique<Q>();
  auto back = std::make_unique<Q>();
  bool pinned = pin_to_core(0);
  std::atomic<bool> stop{false};
  std::atomic<bool> echo_pinned{true};
  std::thread echo([&] {
    if (!pin_to_core(1)) echo_pinned.store(false, std::memory_order_relaxed);  // read after join
    std::uint64_t v = 0;
    while (!stop.load(std::memory_order_relaxed)) {  // a stop flag; no data rides on it
      if (there->pop(v)) {
        while (!back->push(v)) {
        }
      }
    }
  });
  Samples samples(static_cast<std::size_t>(kRoundTripIterations / kRoundTripChunk) + 1);
  std::uint64_t i = 1;
  std::uint64_t v = 0;
  std::uint64_t chunk_start = Samples::now();
  for (auto _ : state) {
    while (!there->push(i)) {
    }
    while (!back->pop(v)) {
    }
    benchmark::DoNotOptimize(v);
    if (i % kRoundTripChunk == 0) {
      const std::uint64_t t = Samples::now();
      samples.add(t - chunk_start);
      chunk_start = t;
    }
    ++i;
  }
  stop.store(true, std::memory_order_relaxed);  // a stop flag; no data rides on it
  echo.join();
  pinned = pinned && echo_pinned.load(std::memory_order_relaxed);  // thread joined
  samples.report(state, "round_trip_ns", static_cast<double>(kRoundTripChunk), false);
  state.counters["pinned"] = pinned ? 1 : 0;
}

// The floor for a round trip: one cache line, written alternately by two
// threads (odd values by the main thread, even values by the echo thread).
void BM_CacheLinePingPong(benchmark::State& state) {
  constexpr std::uint64_t kStop = ~std::uint64_t{0};
  auto line = std::make_unique<CachePadded<std::atomic<std::uint64_t>>>(std::in_place, 0);
  bool pinned = pin_to_core(0);
  std::atomic<bool> echo_pinned{true};
  std::thread echo([&line, &echo_pinned] {
    if (!pin_to_core(1)) echo_pinned.store(false, std::memory_order_relaxed);  // read after join
    for (std::uint64_t expect = 1;; expect += 2) {
      std::uint64_t v;
      while ((v = (*line)->load(std::memory_order_acquire)) != expect) {  // pairs with the main thread's release
        if (v == kStop) return;
      }
      (*line)->store(expect + 1, std::memory_order_release);  // pairs with the main thread's acquire
    }
  });
  Samples samples(static_cast<std::size_t>(kRoundTripIterations / kRoundTripChunk) + 1);
  std::uint64_t i = 1;
  std::uint64_t chunk_start = Samples::now();
  for (auto _ : state) {
    (*line)->store(i, std::memory_order_release);  // pairs with the echo thread's acquire
    while ((*line)->load(std::memory_order_acquire) != i + 1) {  // pairs with the echo thread's release
    }
    if ((i / 2 + 1) % kRoundTripChunk == 0) {
      const std::uint64_t t = Samples::now();
      samples.add(t - chunk_start);
      chunk_start = t;
    }
    i += 2;
  }
  (*line)->store(kStop, std::memory_order_release);  // pairs with the echo thread's acquire
  echo.join();
  pinned = pinned && echo_pinned.load(std::memory_order_relaxed);  // thread joined
  samples.report(state, "round_trip_ns", static_cast<double>(kRoundTripChunk), false);
  state.counters["pinned"] = pinned ? 1 : 0;
}

// One thread pushes 64 items and pops them back: the instruction cost of a
// push+pop pair with every line in this core's cache, and no coherence
// traffic. Timed in CPU time, so it is robust to a busy machine.
template <typename Q>
void BM_SpscSingleThread(benchmark::State& state) {
  auto q = std::make_unique<Q>();
  std::uint64_t v = 0;
  for (auto _ : state) {
    for (std::uint64_t i = 1; i <= 64; ++i) benchmark::DoNotOptimize(q->push(i));
    for (int i = 0; i < 64; ++i) benchmark::DoNotOptimize(q->pop(v));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 64));
}

// P producers and C consumers move kItemsPerIteration items. Thread k runs on
// core k % 2 for producers and (k + 1) % 2 for consumers. With more threads
// than cores a failed call yields, otherwise it spins with pause.
template <typename Q>
void BM_MpmcThroughput(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  const int consumers = static_cast<int>(state.range(1));
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const bool oversubscribed = static_cast<unsigned>(producers + consumers) > cores;
  const auto backoff = [oversubscribed] {
    if (oversubscribed) {
      std::this_thread::yield();
    } else {
      cpu_relax();
    }
  };
  const std::uint64_t per_producer = kItemsPerIteration / static_cast<std::uint64_t>(producers);
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  auto q = std::make_unique<Q>();
  std::atomic<bool> all_pinned{true};
  for (auto _ : state) {
    // Consumers add their counts here only when a pop fails, so the counter
    // is not a contended line on the hot path.
    CachePadded<std::atomic<std::uint64_t>> consumed(std::in_place, 0);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        if (!pin_to_core(p % 2)) all_pinned.store(false, std::memory_order_relaxed);  // read after join
        for (std::uint64_t i = 1; i <= per_producer; ++i) {
          while (!q->push(i)) backoff();
        }
      });
    }
    for (int c = 0; c < consumers; ++c) {
      threads.emplace_back([&, c] {
        if (!pin_to_core((c + 1) % 2)) all_pinned.store(false, std::memory_order_relaxed);  // read after join
        std::uint64_t local = 0;
        std::uint64_t v = 0;
        for (;;) {
          if (q->pop(v)) {
            benchmark::DoNotOptimize(v);
            ++local;
            continue;
          }
          if (local != 0) {
            consumed->fetch_add(local, std::memory_order_relaxed);  // a count; the join orders the results
            local = 0;
          }
          if (consumed->load(std::memory_order_relaxed) == total) break;  // a count; the join orders the results
          backoff();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
  state.counters["pinned"] = all_pinned.load(std::memory_order_relaxed) ? 1 : 0;  // threads joined
}

// min beside the median: on a shared machine the fastest repetition is the
// one least disturbed by other processes.
double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

#define TICKWIRE_QUEUE_BENCH(...) __VA_ARGS__->UseRealTime()->ComputeStatistics("min", min_of)

TICKWIRE_QUEUE_BENCH(BENCHMARK_TEMPLATE(BM_SpscThroughput, TickwireSpscRing));
TICKWIRE_QUEUE_BENCH(BENCHMARK_TEMPLATE(BM_SpscThroughput, BoostSpscQueue));
TICKWIRE_QUEUE_BENCH(BENCHMARK_TEMPLATE(BM_SpscThroughput, MoodycamelReaderWriterQueue));
TICKWIRE_QUEUE_BENCH(BENCHMARK_TEMPLATE(BM_SpscThroughput, AtomicQueueSpsc));
TICKWIRE_QUEUE_BENCH(BENCHMARK(BM_SpscThroughputBatched));

TICKWIRE_QUEUE_BENCH(BENCHMARK(BM_CacheLinePingPong)->Iterations(kRoundTripIterations));
TICKWIRE_QUEUE_BENCH(BENCHMARK_TEMPLATE(BM_SpscRoundTrip, TickwireSpscRing)->Iterations(kRoundTripIterations));
TICKWIRE_QUEUE_BENCH(BENCHMARK_TEMPLATE(BM_SpscRoundTrip, BoostSpscQueue)->Iterations(kRoundTripIterations));
TICKWIRE_QUEUE_BENCH(
    BENCHMARK_TEMPLATE(BM_SpscRoundTrip, MoodycamelReaderWriterQueue)->Iterations(kRoundTripIterations));
TICKWIRE_QUEUE_BENCH(BENCHMARK_TEMPLATE(BM_SpscRoundTrip, AtomicQueueSpsc)->Iterations(kRoundTripIterations));

BENCHMARK_TEMPLATE(BM_SpscSingleThread, TickwireSpscRing)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_SpscSingleThread, BoostSpscQueue)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_SpscSingleThread, MoodycamelReaderWriterQueue)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_SpscSingleThread, AtomicQueueSpsc)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_SpscSingleThread, TickwireMpmcQueue)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_SpscSingleThread, MoodycamelConcurrentQueue)->ComputeStatistics("min", min_of);

#define TICKWIRE_MPMC_BENCH(Q) TICKWIRE_QUEUE_BENCH(BENCHMARK_TEMPLATE(BM_MpmcThroughput, Q)->Args({1, 1})->Args({2, 2}))
TICKWIRE_MPMC_BENCH(TickwireMpmcQueue);
TICKWIRE_MPMC_BENCH(MoodycamelConcurrentQueue);
TICKWIRE_MPMC_BENCH(TbbBoundedQueue);
TICKWIRE_MPMC_BENCH(BoostLockfreeQueue);

}  // namespace

BENCHMARK_MAIN();
