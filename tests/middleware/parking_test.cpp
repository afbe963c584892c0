#include "tickwire/middleware/parking.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <thread>

#include "middleware/queue_test_support.hpp"

namespace tickwire::middleware {
namespace {

using testing::kStressDivisor;

constexpr SpinPolicy kParkAtOnce{0, 0};

TEST(EventCount, CancelledWaitLeavesNoWaiterBehind) {
  EventCount ec;
  EventCount::Key key = ec.prepare_wait();
  (void)key;
  EXPECT_EQ(ec.waiters(), 1u);
  ec.cancel_wait();
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(EventCount, WaitReturnsAtOnceWhenNotifiedAfterPrepare) {
  EventCount ec;
  const EventCount::Key key = ec.prepare_wait();
  ec.notify_one();
  EXPECT_TRUE(ec.wait(key));
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(EventCount, WaitReportsAPassedDeadline) {
  EventCount ec;
  const EventCount::Key key = ec.prepare_wait();
  EXPECT_FALSE(ec.wait(key, std::chrono::steady_clock::now() + std::chrono::milliseconds(1)));
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(WaitUntil, ReturnsFalseWhenTheAttemptNeverSucceedsBeforeTheDeadline) {
  EventCount ec;
  const bool done =
      wait_until(ec, [] { return false; }, std::chrono::steady_clock::now() + std::chrono::milliseconds(2));
  EXPECT_FALSE(done);
}

TEST(WaitUntil, AParkedWaiterIsWokenByNotify) {
  EventCount ec;
  std::atomic<bool> flag{false};
  auto waiter = std::async(std::launch::async, [&] {
    return wait_until(
        ec, [&] { return flag.load(std::memory_order_acquire); }, kNoDeadline,  // pairs with the release below
        kParkAtOnce);
  });
  while (ec.waiters() == 0) std::this_thread::yield();
  flag.store(true, std::memory_order_release);  // pairs with the waiter's acquire
  ec.notify_one();
  EXPECT_TRUE(waiter.get());
}

// Two threads hand a token back and forth, each parking on every turn: a
// single lost wake-up would hang the test.
TEST(WaitUntil, PingPongWithParkingOnEveryTurnLosesNoWakeUp) {
  constexpr std::uint64_t kRounds = 10'000 / kStressDivisor;
  EventCount ping_ec;
  EventCount pong_ec;
  std::atomic<std::uint64_t> ping{0};
  std::atomic<std::uint64_t> pong{0};
  std::thread peer([&] {
    for (std::uint64_t i = 1; i <= kRounds; ++i) {
      wait_until(ping_ec, [&] { return ping.load(std::memory_order_acquire) == i; },  // pairs with main's release
                 kNoDeadline, kParkAtOnce);
      pong.store(i, std::memory_order_release);  // pairs with main's acquire
      pong_ec.notify_one();
    }
  });
  for (std::uint64_t i = 1; i <= kRounds; ++i) {
    ping.store(i, std::memory_order_release);  // pairs with the peer's acquire
    ping_ec.notify_one();
    wait_until(pong_ec, [&] { return pong.load(std::memory_order_acquire) == i; },  // pairs with the peer's release
               kNoDeadline, kParkAtOnce);
  }
  peer.join();
  EXPECT_EQ(pong.load(std::memory_order_relaxed), kRounds);  // the peer has joined
}

}  // namespace
}  // namespace tickwire::middleware
