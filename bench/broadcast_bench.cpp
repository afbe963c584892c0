// BroadcastRing throughput: one writer publishing 64-byte records as fast as
// it can (it never waits) while 1, 2 or 4 reader threads copy them out.
//   BM_BroadcastThroughput/<readers>   items/s = records published per second;
//     delivered_per_reader = records each reader copied out, per second;
//     lost_share = fraction of records the readers lost to being lapped.
//   BM_BroadcastPaced/<readers>   the writer keeps within half a ring of the
//     slowest reader, so every record is delivered: the end-to-end rate.
//   BM_BroadcastPublishThenRead/<readers>   one thread publishes a record and
//     each of <readers> cursors copies it out: the CPU cost per record with
//     no scheduling in it (readers = 0 is the writer alone).
// The machine has 2 cores: with more than one reader, threads share cores.
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "tickwire/middleware/broadcast_ring.hpp"
#include "tickwire/middleware/cache_padded.hpp"

namespace {

using tickwire::middleware::BroadcastLayout;
using tickwire::middleware::BroadcastReader;
using tickwire::middleware::BroadcastWriter;
using tickwire::middleware::CachePadded;
using tickwire::middleware::kCacheLineSize;

constexpr std::size_t kCapacity = 1 << 20;
constexpr std::size_t kPayload = 64;

struct AlignedFree {
  void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{kCacheLineSize}); }
};

struct Harness {
  explicit Harness(int readers)
      : memory(static_cast<std::byte*>(
            ::operator new(BroadcastLayout::required_bytes(kCapacity), std::align_val_t{kCacheLineSize}))),
        span(memory.get(), BroadcastLayout::required_bytes(kCapacity)),
        writer(*BroadcastWriter::create(span, 1)),
        positions(static_cast<std::size_t>(readers)) {}

  std::unique_ptr<std::byte, AlignedFree> memory;
  std::span<std::byte> span;
  BroadcastWriter writer;
  std::vector<CachePadded<std::atomic<std::uint64_t>>> positions;
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> lost{0};
};

void run_reader(Harness& h, std::size_t index) {
  BroadcastReader r = *BroadcastReader::attach(h.span);
  // release: pairs with the writer's acquire wait on ready.
  h.ready.fetch_add(1, std::memory_order_release);
  std::uint64_t delivered = 0;
  std::uint64_t checksum = 0;
  // acquire: pairs with the release store of stop after the timed loop.
  while (!h.stop.load(std::memory_order_acquire)) {
    const int n = r.poll([&](std::uint32_t, std::span<const std::byte> payload, std::uint64_t) {
      checksum += static_cast<std::uint64_t>(payload[0]);
    }, 256);
    delivered += static_cast<std::uint64_t>(n);
    // relaxed: the writer's pacing only needs an eventually visible position.
    h.positions[index]->store(r.position(), std::memory_order_relaxed);
    if (n == 0) std::this_thread::yield();
  }
  benchmark::DoNotOptimize(checksum);
  // relaxed (both): read after join().
  h.delivered.fetch_add(delivered, std::memory_order_relaxed);
  h.lost.fetch_add(r.lost_records(), std::memory_order_relaxed);
}

void run(benchmark::State& state, bool paced) {
  const int readers = static_cast<int>(state.range(0));
  Harness h(readers);
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) threads.emplace_back(run_reader, std::ref(h), static_cast<std::size_t>(i));
  // acquire: pairs with the readers' release increments of ready.
  while (h.ready.load(std::memory_order_acquire) < readers) std::this_thread::yield();

  std::byte payload[kPayload] = {};
  std::uint64_t published = 0;
  for (auto _ : state) {
    if (paced && (published & 63) == 0) {
      for (auto& p : h.positions) {
        // relaxed: pacing only; no data is read on the strength of it.
        while (h.writer.position() - p->load(std::memory_order_relaxed) > kCapacity / 2) std::this_thread::yield();
      }
    }
    payload[0] = static_cast<std::byte>(published);
    h.writer.publish(1, payload);
    ++published;
  }
  h.stop.store(true, std::memory_order_release);  // release: pairs with the readers' acquire
  for (auto& t : threads) t.join();

  state.SetItemsProcessed(static_cast<std::int64_t>(published));
  // relaxed (both): after join().
  const auto delivered = static_cast<double>(h.delivered.load(std::memory_order_relaxed));
  const auto lost = static_cast<double>(h.lost.load(std::memory_order_relaxed));
  state.counters["delivered_per_reader"] = benchmark::Counter(delivered / readers, benchmark::Counter::kIsRate);
  state.counters["lost_share"] = (delivered + lost) > 0 ? lost / (delivered + lost) : 0.0;
}

void BM_BroadcastThroughput(benchmark::State& state) { run(state, false); }
BENCHMARK(BM_BroadcastThroughput)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();

void BM_BroadcastPaced(benchmark::State& state) { run(state, true); }
BENCHMARK(BM_BroadcastPaced)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();

void BM_BroadcastPublishThenRead(benchmark::State& state) {
  Harness h(0);
  std::vector<BroadcastReader> readers;
  for (int i = 0; i < state.range(0); ++i) readers.push_back(*BroadcastReader::attach(h.span));
  std::byte payload[kPayload] = {};
  std::byte out[kPayload];
  std::uint64_t n = 0;
  for (auto _ : state) {
    payload[0] = static_cast<std::byte>(n++);
    h.writer.publish(1, payload);
    for (auto& r : readers) benchmark::DoNotOptimize(r.try_read(out));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_BroadcastPublishThenRead)->Arg(0)->Arg(1)->Arg(2)->Arg(4);

}  // namespace

BENCHMARK_MAIN();
