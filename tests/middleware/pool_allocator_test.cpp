#include "tickwire/middleware/pool_allocator.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tickwire::middleware {
namespace {

TEST(PoolAllocator, ServesContainersFromThePoolAndReturnsTheBuffers) {
  BufferPool pool;
  PoolAllocatorState state(pool);
  {
    std::vector<int, PoolAllocator<int>> v{PoolAllocator<int>(state)};
    for (int i = 0; i < 1000; ++i) v.push_back(i);
    EXPECT_EQ(v[999], 999);
    std::size_t in_use = 0;
    for (const auto& c : pool.stats().classes) in_use += c.in_use;
    EXPECT_EQ(in_use, 1u);  // only the current buffer; grown-out ones went back
  }
  std::size_t in_use = 0;
  for (const auto& c : pool.stats().classes) in_use += c.in_use;
  EXPECT_EQ(in_use, 0u);
  EXPECT_EQ(state.fallbacks.load(), 0u);
}

TEST(PoolAllocator, CountsRequestsBeyondTheLargestClassAsFallbacks) {
  BufferPool pool;
  PoolAllocatorState state(pool);
  PoolAllocator<char> alloc(state);
  char* big = alloc.allocate(kMaxBufferSize + 1);
  big[kMaxBufferSize] = 'x';
  EXPECT_EQ(state.fallbacks.load(), 1u);
  alloc.deallocate(big, kMaxBufferSize + 1);
}

TEST(PoolAllocator, FallsBackWhenAClassIsExhausted) {
  BufferPoolConfig config;
  config.counts = {1, 1, 1, 1, 1, 1};
  BufferPool pool(config);
  PoolAllocatorState state(pool);
  PoolAllocator<char> alloc(state);
  char* a = alloc.allocate(100);  // 100 + 64 header bytes: the 256-byte class, which has one buffer
  char* b = alloc.allocate(100);  // that buffer is taken: operator new, counted
  EXPECT_NE(a, b);
  EXPECT_EQ(state.fallbacks.load(), 1u);
  EXPECT_EQ(pool.stats().classes[1].exhausted, 1u);
  alloc.deallocate(a, 100);
  alloc.deallocate(b, 100);
}

}  // namespace
}  // namespace tickwire::middleware
