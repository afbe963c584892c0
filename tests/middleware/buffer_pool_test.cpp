#include "tickwire/middleware/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "middleware/queue_test_support.hpp"
#include "tickwire/middleware/mpmc_queue.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace tickwire::middleware {
namespace {

using testing::kStressDivisor;

BufferPoolConfig two_of_each() {
  BufferPoolConfig c;
  c.counts.fill(2);
  return c;
}

TEST(BufferPool, PicksTheSmallestClassThatFits) {
  EXPECT_EQ(buffer_class_for(0), 0u);
  EXPECT_EQ(buffer_class_for(64), 0u);
  EXPECT_EQ(buffer_class_for(65), 1u);
  EXPECT_EQ(buffer_class_for(1024), 2u);
  EXPECT_EQ(buffer_class_for(1500), 3u);
  EXPECT_EQ(buffer_class_for(65536), 5u);
  EXPECT_EQ(buffer_class_for(65537), kBufferClassCount);

  BufferPool pool(two_of_each());
  for (std::size_t size : {1u, 64u, 200u, 1000u, 4000u, 9000u, 65536u}) {
    auto h = pool.acquire(size);
    ASSERT_TRUE(h) << size;
    EXPECT_EQ(h.size(), size);
    EXPECT_EQ(h.capacity(), kBufferClassSizes[buffer_class_for(size)]);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(h.data()) % kCacheLineSize, 0u);
    std::memset(h.data(), 0xAB, h.capacity());  // the whole class capacity is writable
  }
}

TEST(BufferPool, ReportsTooLargeAsACountedErrorNamingTheSizes) {
  BufferPool pool(two_of_each());
  auto h = pool.acquire(70'000);
  EXPECT_FALSE(h);
  EXPECT_EQ(h.error(), BufferError::kTooLarge);
  EXPECT_EQ(pool.stats().too_large, 1u);
  const absl::Status st = pool.failure_status(h, "feed binance");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  const std::string msg(status_text(st));
  EXPECT_NE(msg.find("feed binance"), std::string::npos) << msg;
  EXPECT_NE(msg.find("70000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("65536"), std::string::npos) << msg;
}

TEST(BufferPool, ReportsClassExhaustionWithoutBorrowingFromALargerClass) {
  BufferPool pool(two_of_each());
  auto a = pool.acquire(100);
  auto b = pool.acquire(200);
  auto c = pool.acquire(256);
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(c);
  EXPECT_EQ(c.error(), BufferError::kExhausted);
  const BufferPoolStats s = pool.stats();
  EXPECT_EQ(s.classes[1].exhausted, 1u);
  EXPECT_EQ(s.classes[1].in_use, 2u);
  EXPECT_EQ(s.classes[2].in_use, 0u);
  EXPECT_EQ(s.exhausted(), 1u);
  const std::string msg(status_text(pool.failure_status(c, "ws session 3")));
  EXPECT_NE(msg.find("ws session 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no free 256-byte buffer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 of 2 in use"), std::string::npos) << msg;
  a.reset();
  EXPECT_TRUE(pool.acquire(256));
}

TEST(BufferPool, ResizeStaysWithinTheClassCapacity) {
  LocalBufferPool pool(two_of_each());
  auto h = pool.acquire(10);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h.resize(64));
  EXPECT_EQ(h.span().size(), 64u);
  EXPECT_FALSE(h.resize(65));
  EXPECT_EQ(h.size(), 64u);
}

TEST(BufferPool, ReturnsBuffersOnHandleDestructionAndTracksTheHighWaterMark) {
  LocalBufferPool pool(two_of_each());
  {
    auto a = pool.acquire(3000);
    auto b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is specified empty
    EXPECT_EQ(pool.stats().classes[3].in_use, 1u);
    auto c = pool.acquire(4096);
    EXPECT_EQ(pool.stats().classes[3].in_use, 2u);
  }
  const BufferPoolStats s = pool.stats();
  EXPECT_EQ(s.classes[3].in_use, 0u);
  EXPECT_EQ(s.classes[3].high_water, 2u);
  EXPECT_EQ(s.classes[3].capacity, 2u);
}

TEST(BufferPool, BuffersFilledOnOneThreadAreReadAndReleasedOnAnother) {
  BufferPool pool;
  MpmcQueue<BufferPool::Handle> handoff(64);
  const int kFrames = static_cast<int>(100'000 / kStressDivisor);
  std::atomic<int> corrupt{0};
  std::thread consumer([&] {
    int bad = 0;
    for (int got = 0; got < kFrames;) {
      BufferPool::Handle h;
      if (!handoff.try_pop(h)) {
        std::this_thread::yield();
        continue;
      }
      const auto fill = static_cast<std::uint8_t>(h.size());
      for (std::byte x : h.span()) bad += (x != std::byte{fill});
      ++got;
    }
    corrupt.store(bad, std::memory_order_relaxed);  // read after join
  });
  std::uint64_t refused = 0;
  for (int i = 0; i < kFrames; ++i) {
    const std::size_t size = 1 + static_cast<std::size_t>(i * 7919) % (20'000 / kStressDivisor);
    BufferPool::Handle h;
    while (!(h = pool.acquire(size))) {
      ++refused;
      std::this_thread::yield();
    }
    std::memset(h.data(), static_cast<int>(static_cast<std::uint8_t>(size)), size);
    while (!handoff.try_push(std::move(h))) std::this_thread::yield();
  }
  consumer.join();
  EXPECT_EQ(corrupt.load(std::memory_order_relaxed), 0);  // after join
  const BufferPoolStats s = pool.stats();
  EXPECT_EQ(s.exhausted(), refused);
  for (const auto& c : s.classes) EXPECT_EQ(c.in_use, 0u);
}

}  // namespace
}  // namespace tickwire::middleware
