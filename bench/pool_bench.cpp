// Pool and arena benchmarks, each beside its peers in one binary:
//   BM_ObjectPool / BM_LocalObjectPool / BM_NewDelete / BM_PmrSynchronizedPool /
//   BM_PmrUnsynchronizedPool   one 64-byte object acquired and released
//                              (the shared variants also with 2 threads)
//   BM_BufferPool1500 / BM_Malloc1500 / BM_PmrSynchronizedPool1500
//                              a 1500-byte frame buffer, written once
//   BM_Arena / BM_PmrMonotonic 256 small allocations then an O(1) reset / release
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory_resource>
#include <new>

#include <benchmark/benchmark.h>

#include "tickwire/middleware/arena.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/middleware/object_pool.hpp"

namespace {

using tickwire::middleware::Arena;
using tickwire::middleware::BufferPool;
using tickwire::middleware::LocalObjectPool;
using tickwire::middleware::ObjectPool;

// Message: a 64-byte object, the size of a normalized event.
struct Message {
  std::uint64_t words[8];
};

constexpr std::uint32_t kPoolSlots = 1024;
constexpr std::size_t kFrameBytes = 1500;
constexpr int kArenaAllocs = 256;

ObjectPool<Message>& shared_pool() {
  static ObjectPool<Message> pool(kPoolSlots);
  return pool;
}

std::pmr::synchronized_pool_resource& shared_pmr_pool() {
  static std::pmr::synchronized_pool_resource pool;
  return pool;
}

void BM_ObjectPool(benchmark::State& state) {
  auto& pool = shared_pool();
  for (auto _ : state) {
    auto h = pool.try_acquire();
    benchmark::DoNotOptimize(h.get());
  }
  state.counters["exhausted"] = static_cast<double>(pool.stats().exhausted);
}

void BM_LocalObjectPool(benchmark::State& state) {
  LocalObjectPool<Message> pool(kPoolSlots);
  for (auto _ : state) {
    auto h = pool.try_acquire();
    benchmark::DoNotOptimize(h.get());
  }
}

void BM_NewDelete(benchmark::State& state) {
  for (auto _ : state) {
    auto* m = new Message{};
    benchmark::DoNotOptimize(m);
    benchmark::ClobberMemory();
    delete m;
  }
}

void BM_PmrSynchronizedPool(benchmark::State& state) {
  auto& pool = shared_pmr_pool();
  for (auto _ : state) {
    void* p = pool.allocate(sizeof(Message), alignof(Message));
    benchmark::DoNotOptimize(p);
    pool.deallocate(p, sizeof(Message), alignof(Message));
  }
}

void BM_PmrUnsynchronizedPool(benchmark::State& state) {
  std::pmr::unsynchronized_pool_resource pool;
  for (auto _ : state) {
    void* p = pool.allocate(sizeof(Message), alignof(Message));
    benchmark::DoNotOptimize(p);
    pool.deallocate(p, sizeof(Message), alignof(Message));
  }
}

void BM_BufferPool1500(benchmark::State& state) {
  static BufferPool pool;
  for (auto _ : state) {
    auto h = pool.acquire(kFrameBytes);
    std::memset(h.data(), 1, kFrameBytes);
    benchmark::DoNotOptimize(h.data());
  }
  state.counters["exhausted"] = static_cast<double>(pool.stats().exhausted());
}

void BM_Malloc1500(benchmark::State& state) {
  for (auto _ : state) {
    void* p = std::malloc(kFrameBytes);
    std::memset(p, 1, kFrameBytes);
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
    std::free(p);
  }
}

void BM_PmrSynchronizedPool1500(benchmark::State& state) {
  auto& pool = shared_pmr_pool();
  for (auto _ : state) {
    void* p = pool.allocate(kFrameBytes, 64);
    std::memset(p, 1, kFrameBytes);
    benchmark::DoNotOptimize(p);
    pool.deallocate(p, kFrameBytes, 64);
  }
}

// Allocation sizes cycle through 8..64 bytes, as a message decoder's scratch would.
constexpr std::size_t alloc_size(int i) { return 8 + static_cast<std::size_t>(i % 8) * 8; }

void BM_Arena(benchmark::State& state) {
  Arena arena(64 * 1024, "bench");
  for (auto _ : state) {
    for (int i = 0; i < kArenaAllocs; ++i) benchmark::DoNotOptimize(arena.allocate(alloc_size(i), 8));
    arena.reset();
  }
  state.SetItemsProcessed(state.iterations() * kArenaAllocs);
}

void BM_PmrMonotonic(benchmark::State& state) {
  alignas(64) static std::array<std::byte, 64 * 1024> buffer;
  std::pmr::monotonic_buffer_resource mono(buffer.data(), buffer.size(), std::pmr::null_memory_resource());
  for (auto _ : state) {
    for (int i = 0; i < kArenaAllocs; ++i) benchmark::DoNotOptimize(mono.allocate(alloc_size(i), 8));
    mono.release();
  }
  state.SetItemsProcessed(state.iterations() * kArenaAllocs);
}

BENCHMARK(BM_ObjectPool)->Threads(1)->Threads(2);
BENCHMARK(BM_LocalObjectPool);
BENCHMARK(BM_NewDelete)->Threads(1)->Threads(2);
BENCHMARK(BM_PmrSynchronizedPool)->Threads(1)->Threads(2);
BENCHMARK(BM_PmrUnsynchronizedPool);
BENCHMARK(BM_BufferPool1500)->Threads(1)->Threads(2);
BENCHMARK(BM_Malloc1500)->Threads(1)->Threads(2);
BENCHMARK(BM_PmrSynchronizedPool1500)->Threads(1)->Threads(2);
BENCHMARK(BM_Arena);
BENCHMARK(BM_PmrMonotonic);

}  // namespace

BENCHMARK_MAIN();
