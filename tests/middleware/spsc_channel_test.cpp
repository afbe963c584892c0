#include "tickwire/middleware/spsc_channel.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>

#include "middleware/queue_test_support.hpp"

namespace tickwire::middleware {
namespace {

using testing::kStressDivisor;
using testing::Tracked;

constexpr SpinPolicy kParkAtOnce{0, 0};

TEST(SpscChannel, DeliversItemsInOrder) {
  SpscChannel<int, 8> ch;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(ch.send(i), ChannelStatus::kOk);
  for (int i = 0; i < 5; ++i) {
    int v = -1;
    ASSERT_EQ(ch.recv(v), ChannelStatus::kOk);
    EXPECT_EQ(v, i);
  }
}

TEST(SpscChannel, TryRecvOnAnEmptyChannelWouldBlock) {
  SpscChannel<int, 4> ch;
  int v = 0;
  EXPECT_EQ(ch.try_recv(v), ChannelStatus::kWouldBlock);
}

TEST(SpscChannel, TrySendOnAFullChannelWouldBlockAndKeepsTheItem) {
  SpscChannel<std::unique_ptr<int>, 2> ch;
  ASSERT_EQ(ch.try_send(std::make_unique<int>(1)), ChannelStatus::kOk);
  ASSERT_EQ(ch.try_send(std::make_unique<int>(2)), ChannelStatus::kOk);
  auto third = std::make_unique<int>(3);
  EXPECT_EQ(ch.try_send(std::move(third)), ChannelStatus::kWouldBlock);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(*third, 3);
}

TEST(SpscChannel, RecvDrainsBufferedItemsAfterCloseThenReportsClosed) {
  SpscChannel<int, 8> ch;
  ASSERT_EQ(ch.send(1), ChannelStatus::kOk);
  ASSERT_EQ(ch.send(2), ChannelStatus::kOk);
  ch.close();
  EXPECT_TRUE(ch.is_closed());
  int v = 0;
  ASSERT_EQ(ch.recv(v), ChannelStatus::kOk);
  EXPECT_EQ(v, 1);
  ASSERT_EQ(ch.try_recv(v), ChannelStatus::kOk);
  EXPECT_EQ(v, 2);
  EXPECT_EQ(ch.recv(v), ChannelStatus::kClosed);
  EXPECT_EQ(ch.try_recv(v), ChannelStatus::kClosed);
  EXPECT_EQ(ch.recv_for(v, std::chrono::milliseconds(1)), ChannelStatus::kClosed);
}

TEST(SpscChannel, SendAfterCloseFailsAndLeavesTheItemIntact) {
  SpscChannel<std::unique_ptr<int>, 4> ch;
  ch.close();
  ch.close();
  auto item = std::make_unique<int>(7);
  EXPECT_EQ(ch.send(std::move(item)), ChannelStatus::kClosed);
  EXPECT_EQ(ch.try_send(std::move(item)), ChannelStatus::kClosed);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(*item, 7);
}

TEST(SpscChannel, TimedRecvOnAnEmptyChannelTimesOut) {
  SpscChannel<int, 4> ch;
  int v = 0;
  EXPECT_EQ(ch.recv_for(v, std::chrono::milliseconds(2)), ChannelStatus::kTimedOut);
  EXPECT_EQ(ch.recv_until(v, std::chrono::steady_clock::now()), ChannelStatus::kTimedOut);
}

TEST(SpscChannel, TimedSendOnAFullChannelTimesOut) {
  SpscChannel<int, 2> ch;
  ASSERT_EQ(ch.send(1), ChannelStatus::kOk);
  ASSERT_EQ(ch.send(2), ChannelStatus::kOk);
  EXPECT_EQ(ch.send_for(3, std::chrono::milliseconds(2)), ChannelStatus::kTimedOut);
}

TEST(SpscChannel, AParkedReceiverIsWokenBySend) {
  SpscChannel<int, 4> ch(kParkAtOnce);
  auto receiver = std::async(std::launch::async, [&ch] {
    int v = 0;
    const ChannelStatus status = ch.recv(v);
    return std::make_pair(status, v);
  });
  while (ch.parked_receivers() == 0) std::this_thread::yield();
  ASSERT_EQ(ch.send(42), ChannelStatus::kOk);
  const auto [status, v] = receiver.get();
  EXPECT_EQ(status, ChannelStatus::kOk);
  EXPECT_EQ(v, 42);
}

TEST(SpscChannel, AParkedReceiverIsWokenByClose) {
  SpscChannel<int, 4> ch(kParkAtOnce);
  auto receiver = std::async(std::launch::async, [&ch] {
    int v = 0;
    return ch.recv(v);
  });
  while (ch.parked_receivers() == 0) std::this_thread::yield();
  ch.close();
  EXPECT_EQ(receiver.get(), ChannelStatus::kClosed);
}

TEST(SpscChannel, AParkedSenderIsWokenByRecv) {
  SpscChannel<int, 2> ch(kParkAtOnce);
  ASSERT_EQ(ch.send(1), ChannelStatus::kOk);
  ASSERT_EQ(ch.send(2), ChannelStatus::kOk);
  auto sender = std::async(std::launch::async, [&ch] { return ch.send(3); });
  while (ch.parked_senders() == 0) std::this_thread::yield();
  int v = 0;
  ASSERT_EQ(ch.recv(v), ChannelStatus::kOk);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(sender.get(), ChannelStatus::kOk);
  ASSERT_EQ(ch.recv(v), ChannelStatus::kOk);
  EXPECT_EQ(v, 2);
  ASSERT_EQ(ch.recv(v), ChannelStatus::kOk);
  EXPECT_EQ(v, 3);
}

TEST(SpscChannel, DestroysItemsNeverReceived) {
  Tracked::reset();
  {
    SpscChannel<Tracked, 8> ch;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(ch.send(Tracked(i)), ChannelStatus::kOk);
    Tracked t(-1);
    ASSERT_EQ(ch.recv(t), ChannelStatus::kOk);
    EXPECT_EQ(t.value(), 0);
  }
  EXPECT_EQ(Tracked::live(), 0);
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

// A small channel forces both ends to wait (and often park) all the time; the
// receiver checks order and count and ends on close.
TEST(SpscChannel, BlockingEndsDeliverEveryItemInOrderThenClose) {
  constexpr std::uint64_t kItems = 400'000 / kStressDivisor;
  SpscChannel<std::uint64_t, 64> ch(SpinPolicy{64, 2});
  std::uint64_t send_failures = 0;
  std::thread sender([&ch, &send_failures] {
    for (std::uint64_t i = 0; i < kItems; ++i) send_failures += (ch.send(i) != ChannelStatus::kOk);
    ch.close();
  });
  std::uint64_t expected = 0;
  std::uint64_t errors = 0;
  std::uint64_t v = 0;
  while (ch.recv(v) == ChannelStatus::kOk) errors += (v != expected++);
  sender.join();
  EXPECT_EQ(send_failures, 0u);
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(expected, kItems);
}

}  // namespace
}  // namespace tickwire::middleware
