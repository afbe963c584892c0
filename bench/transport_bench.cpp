// Transports: publish -> receive through InProcessTransport and
// SharedMemoryTransport with 1, 2 or 4 subscribers (delivery threads), next to
// the BroadcastRing alone (reader threads polling it), the floor both build on.
//   BM_<x>Latency/<subs>     one publish, then wait until every subscriber has
//     it: time per iteration = publish -> last subscriber's handler.
//   BM_<x>Throughput/<subs>  publishes as fast as the publisher can (it never
//     waits); items/s = publishes/s, delivered = messages each subscriber got/s.
//   BM_ShmCreate/<MiB>, BM_ShmAttach/<MiB>  what opening a ring of that size
//     costs the writer and a reader (every page reserved and touched at open);
//     BM_TouchAnonymous/<MiB> the peer: a memset of as many fresh bytes.
// 64-byte payloads on a 4-token subject. The machine has 2 cores: with more
// than one subscriber, threads share cores.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "tickwire/middleware/broadcast_ring.hpp"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/shm_transport.hpp"

namespace {

using namespace tickwire::middleware;

constexpr std::size_t kCapacity = 1 << 22;
constexpr std::size_t kPayload = 64;
constexpr std::string_view kSubject = "bench.binance.trade.BTCUSDT";

std::unique_ptr<Transport> make_in_process() { return std::make_unique<InProcessTransport>(InProcessOptions{kCapacity}); }

std::unique_ptr<Transport> make_shm() {
  ShmTransportOptions o;
  o.name = fmt::format("tickwire-bench-{}", ::getpid());
  o.capacity = kCapacity;
  o.unlink_on_close = true;
  return *SharedMemoryTransport::create(o);
}

struct Counters {
  std::vector<CachePadded<std::atomic<std::uint64_t>>> received;
  explicit Counters(int n) : received(static_cast<std::size_t>(n)) {}
  std::uint64_t min() const {
    std::uint64_t m = UINT64_MAX;
    // acquire: pairs with the subscriber's release increment.
    for (const auto& r : received) m = std::min(m, r->load(std::memory_order_acquire));
    return m;
  }
};

void transport_latency(benchmark::State& state, std::unique_ptr<Transport> (*make)()) {
  const int subs = static_cast<int>(state.range(0));
  Counters c(subs);  // before the transport, whose delivery threads write it until it goes
  auto t = make();
  for (int i = 0; i < subs; ++i) {
    auto& counter = *c.received[static_cast<std::size_t>(i)];
    // release: pairs with the publisher's acquire in min().
    (void)t->subscribe(">", [&counter](const Message&) { counter.fetch_add(1, std::memory_order_release); });
  }
  const std::vector<std::byte> payload(kPayload, std::byte{1});
  std::uint64_t sent = 0;
  for (auto _ : state) {
    t->publish(kSubject, payload);
    ++sent;
    while (c.min() < sent) cpu_relax();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(sent));
}

void transport_throughput(benchmark::State& state, std::unique_ptr<Transport> (*make)()) {
  const int subs = static_cast<int>(state.range(0));
  Counters c(subs);  // before the transport, whose delivery threads write it until it goes
  auto t = make();
  std::vector<SubscriptionId> ids;
  for (int i = 0; i < subs; ++i) {
    auto& counter = *c.received[static_cast<std::size_t>(i)];
    // relaxed: read after the timed loop, a statistic.
    ids.push_back(*t->subscribe(">", [&counter](const Message&) { counter.fetch_add(1, std::memory_order_relaxed); }));
  }
  const std::vector<std::byte> payload(kPayload, std::byte{1});
  std::uint64_t sent = 0;
  for (auto _ : state) {
    t->publish(kSubject, payload);
    ++sent;
  }
  std::uint64_t dropped = 0;
  for (auto id : ids) dropped += t->stats(id).dropped;
  state.SetItemsProcessed(static_cast<std::int64_t>(sent));
  double delivered = 0;
  for (const auto& r : c.received) delivered += static_cast<double>(r->load(std::memory_order_relaxed));  // relaxed: a statistic
  state.counters["delivered_per_sub"] = benchmark::Counter(delivered / subs, benchmark::Counter::kIsRate);
  state.counters["lost_share"] = static_cast<double>(dropped) / static_cast<double>(sent * static_cast<std::uint64_t>(subs));
}

// The floor: a BroadcastRing alone, readers spinning on poll(), no subject,
// no filter, no handler indirection.
struct AlignedFree {
  void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{kCacheLineSize}); }
};

void ring_latency(benchmark::State& state) {
  const int readers = static_cast<int>(state.range(0));
  std::unique_ptr<std::byte, AlignedFree> memory(static_cast<std::byte*>(
      ::operator new(BroadcastLayout::required_bytes(kCapacity), std::align_val_t{kCacheLineSize})));
  const std::span<std::byte> span(memory.get(), BroadcastLayout::required_bytes(kCapacity));
  BroadcastWriter writer = *BroadcastWriter::create(span, 1);
  Counters c(readers);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) {
    // Attached here, before the first publish, so no reader misses it.
    threads.emplace_back([&, i, r = *BroadcastReader::attach(span)]() mutable {
      auto& counter = *c.received[static_cast<std::size_t>(i)];
      // acquire: pairs with the release store of stop below.
      while (!stop.load(std::memory_order_acquire)) {
        // release: pairs with the publisher's acquire in min().
        if (r.poll([&](std::uint32_t, std::span<const std::byte>, std::uint64_t) {
              counter.fetch_add(1, std::memory_order_release);
            }) == 0) {
          cpu_relax();
        }
      }
    });
  }
  const std::vector<std::byte> payload(kPayload + 8 + kSubject.size(), std::byte{1});
  std::uint64_t sent = 0;
  for (auto _ : state) {
    writer.publish(1, payload);
    ++sent;
    while (c.min() < sent) cpu_relax();
  }
  stop.store(true, std::memory_order_release);  // release: pairs with the readers' acquire
  for (auto& th : threads) th.join();
  state.SetItemsProcessed(static_cast<std::int64_t>(sent));
}

void BM_BroadcastRingLatency(benchmark::State& state) { ring_latency(state); }
void BM_InProcessLatency(benchmark::State& state) { transport_latency(state, make_in_process); }
void BM_ShmLatency(benchmark::State& state) { transport_latency(state, make_shm); }
void BM_InProcessThroughput(benchmark::State& state) { transport_throughput(state, make_in_process); }
void BM_ShmThroughput(benchmark::State& state) { transport_throughput(state, make_shm); }

// shm_options: a ring of `mib` MiB under a name of this process's.
ShmTransportOptions shm_options(std::int64_t mib) {
  ShmTransportOptions o;
  o.name = fmt::format("tickwire-bench-open-{}", ::getpid());
  o.capacity = static_cast<std::size_t>(mib) << 20;
  o.unlink_on_close = true;
  return o;
}

void BM_ShmCreate(benchmark::State& state) {
  for (auto _ : state) {
    auto w = SharedMemoryTransport::create(shm_options(state.range(0)));
    if (!w.ok()) state.SkipWithError("create failed");
    state.PauseTiming();
    w->reset();  // unlinks the file: the next create makes a new one
    state.ResumeTiming();
  }
}

void BM_ShmAttach(benchmark::State& state) {
  auto w = SharedMemoryTransport::create(shm_options(state.range(0)));
  if (!w.ok()) {
    state.SkipWithError("create failed");
    return;
  }
  for (auto _ : state) {
    auto r = SharedMemoryTransport::attach(shm_options(state.range(0)));
    if (!r.ok()) state.SkipWithError("attach failed");
    benchmark::DoNotOptimize(r);
  }
}

// The peer: faulting in the same bytes of fresh anonymous memory (a memset
// of a new anonymous mapping, as the in-process ring's constructor does).
void BM_TouchAnonymous(benchmark::State& state) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0)) << 20;
  for (auto _ : state) {
    // mmap, not new[]: glibc would hand back the heap pages of the last round.
    void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      state.SkipWithError("mmap failed");
      break;
    }
    std::memset(memory, 0, bytes);
    benchmark::DoNotOptimize(memory);
    state.PauseTiming();
    ::munmap(memory, bytes);
    state.ResumeTiming();
  }
}

BENCHMARK(BM_BroadcastRingLatency)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();
BENCHMARK(BM_InProcessLatency)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();
BENCHMARK(BM_ShmLatency)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();
BENCHMARK(BM_InProcessThroughput)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();
BENCHMARK(BM_ShmThroughput)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();
BENCHMARK(BM_ShmCreate)->Arg(16)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ShmAttach)->Arg(16)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TouchAnonymous)->Arg(16)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
