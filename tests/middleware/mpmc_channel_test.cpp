#include "tickwire/middleware/mpmc_channel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "middleware/queue_test_support.hpp"

namespace tickwire::middleware {
namespace {

using testing::encode_item;
using testing::item_producer;
using testing::item_seq;
using testing::kStressDivisor;
using testing::Tracked;

constexpr SpinPolicy kParkAtOnce{0, 0};

TEST(MpmcChannel, DeliversItemsInOrderFromOneSender) {
  MpmcChannel<int> ch(8);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(ch.send(i), ChannelStatus::kOk);
  EXPECT_EQ(ch.try_send(8), ChannelStatus::kWouldBlock);
  for (int i = 0; i < 8; ++i) {
    int v = -1;
    ASSERT_EQ(ch.try_recv(v), ChannelStatus::kOk);
    EXPECT_EQ(v, i);
  }
  int v = 0;
  EXPECT_EQ(ch.try_recv(v), ChannelStatus::kWouldBlock);
}

TEST(MpmcChannel, RecvDrainsBufferedItemsAfterCloseThenReportsClosed) {
  MpmcChannel<std::unique_ptr<int>> ch(4);
  ASSERT_EQ(ch.send(std::make_unique<int>(1)), ChannelStatus::kOk);
  ch.close();
  auto late = std::make_unique<int>(2);
  EXPECT_EQ(ch.send(std::move(late)), ChannelStatus::kClosed);
  EXPECT_EQ(ch.try_send(std::move(late)), ChannelStatus::kClosed);
  ASSERT_NE(late, nullptr);
  std::unique_ptr<int> out;
  ASSERT_EQ(ch.recv(out), ChannelStatus::kOk);
  EXPECT_EQ(*out, 1);
  EXPECT_EQ(ch.recv(out), ChannelStatus::kClosed);
  EXPECT_EQ(ch.try_recv(out), ChannelStatus::kClosed);
  EXPECT_TRUE(ch.is_closed());
}

TEST(MpmcChannel, TimedRecvOnAnEmptyChannelTimesOut) {
  MpmcChannel<int> ch(4);
  int v = 0;
  EXPECT_EQ(ch.recv_for(v, std::chrono::milliseconds(2)), ChannelStatus::kTimedOut);
}

TEST(MpmcChannel, TimedSendOnAFullChannelTimesOut) {
  MpmcChannel<int> ch(2);
  ASSERT_EQ(ch.send(1), ChannelStatus::kOk);
  ASSERT_EQ(ch.send(2), ChannelStatus::kOk);
  EXPECT_EQ(ch.send_for(3, std::chrono::milliseconds(2)), ChannelStatus::kTimedOut);
}

TEST(MpmcChannel, DestroysItemsNeverReceived) {
  Tracked::reset();
  {
    MpmcChannel<Tracked> ch(8);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(ch.send(Tracked(i)), ChannelStatus::kOk);
    Tracked t(-1);
    ASSERT_EQ(ch.recv(t), ChannelStatus::kOk);
  }
  EXPECT_EQ(Tracked::live(), 0);
  EXPECT_EQ(Tracked::double_destroys(), 0);
}

TEST(MpmcChannel, EveryParkedReceiverIsWokenBySendsAndClose) {
  MpmcChannel<int> ch(8, kParkAtOnce);
  std::vector<std::future<ChannelStatus>> receivers;
  for (int i = 0; i < 3; ++i) {
    receivers.push_back(std::async(std::launch::async, [&ch] {
      int v = 0;
      return ch.recv(v);
    }));
  }
  while (ch.parked_receivers() < 3) std::this_thread::yield();
  ASSERT_EQ(ch.send(1), ChannelStatus::kOk);
  ASSERT_EQ(ch.send(2), ChannelStatus::kOk);
  ch.close();
  int ok = 0;
  int closed = 0;
  for (auto& r : receivers) {
    const ChannelStatus s = r.get();
    ok += (s == ChannelStatus::kOk);
    closed += (s == ChannelStatus::kClosed);
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(closed, 1);
}

TEST(MpmcChannel, AParkedSenderIsWokenByRecv) {
  MpmcChannel<int> ch(2, kParkAtOnce);
  ASSERT_EQ(ch.send(1), ChannelStatus::kOk);
  ASSERT_EQ(ch.send(2), ChannelStatus::kOk);
  auto sender = std::async(std::launch::async, [&ch] { return ch.send(3); });
  while (ch.parked_senders() == 0) std::this_thread::yield();
  int v = 0;
  ASSERT_EQ(ch.recv(v), ChannelStatus::kOk);
  EXPECT_EQ(sender.get(), ChannelStatus::kOk);
}

// Blocking senders and receivers on a small channel (so both sides park);
// every item arrives exactly once, each receiver sees each sender's items in
// order, and receivers end on close.
void run_blocking_stress(int senders, int receivers, std::uint64_t per_sender) {
  MpmcChannel<std::uint64_t> ch(64, SpinPolicy{64, 2});
  std::vector<std::vector<std::atomic<std::uint8_t>>> seen;
  for (int p = 0; p < senders; ++p) seen.emplace_back(per_sender);
  std::atomic<std::uint64_t> order_errors{0};
  std::atomic<std::uint64_t> send_failures{0};

  std::vector<std::thread> sending;
  for (int p = 0; p < senders; ++p) {
    sending.emplace_back([&ch, &send_failures, p, per_sender] {
      std::uint64_t failures = 0;
      for (std::uint64_t i = 0; i < per_sender; ++i) {
        failures += (ch.send(encode_item(static_cast<std::uint64_t>(p), i)) != ChannelStatus::kOk);
      }
      send_failures.fetch_add(failures, std::memory_order_relaxed);  // read after join
    });
  }
  std::vector<std::thread> receiving;
  for (int c = 0; c < receivers; ++c) {
    receiving.emplace_back([&, senders] {
      std::vector<std::int64_t> last(static_cast<std::size_t>(senders), -1);
      std::uint64_t errors = 0;
      std::uint64_t v = 0;
      while (ch.recv(v) == ChannelStatus::kOk) {
        const auto producer = static_cast<std::size_t>(item_producer(v));
        const auto seq = static_cast<std::int64_t>(item_seq(v));
        errors += (seq <= last[producer]);
        last[producer] = seq;
        seen[producer][static_cast<std::size_t>(seq)].fetch_add(1, std::memory_order_relaxed);  // read after join
      }
      order_errors.fetch_add(errors, std::memory_order_relaxed);  // read after join
    });
  }
  for (auto& t : sending) t.join();
  ch.close();
  for (auto& t : receiving) t.join();

  EXPECT_EQ(send_failures.load(std::memory_order_relaxed), 0u);  // threads joined
  EXPECT_EQ(order_errors.load(std::memory_order_relaxed), 0u);   // threads joined
  std::uint64_t wrong = 0;
  for (auto& per : seen) {
    for (auto& count : per) wrong += (count.load(std::memory_order_relaxed) != 1);  // threads joined
  }
  EXPECT_EQ(wrong, 0u);
}

TEST(MpmcChannel, TwoBlockingSendersAndTwoReceiversDeliverEveryItemOnce) {
  run_blocking_stress(2, 2, 200'000 / kStressDivisor);
}

TEST(MpmcChannel, FourBlockingSendersAndFourReceiversDeliverEveryItemOnce) {
  run_blocking_stress(4, 4, 100'000 / kStressDivisor);
}

// Senders keep sending until the channel closes under them; a receiver
// closes it midway. Every send that reported kOk must be received.
TEST(MpmcChannel, SendsRacingWithCloseAreEitherReceivedOrRefused) {
  constexpr int kSenders = 3;
  const std::uint64_t close_after = 200'000 / kStressDivisor;
  MpmcChannel<std::uint64_t> ch(64);
  std::atomic<std::uint64_t> sent{0};
  std::vector<std::thread> senders;
  for (int p = 0; p < kSenders; ++p) {
    senders.emplace_back([&ch, &sent] {
      std::uint64_t ok = 0;
      while (ch.send(ok) == ChannelStatus::kOk) ++ok;
      sent.fetch_add(ok, std::memory_order_relaxed);  // read after join
    });
  }
  std::uint64_t received = 0;
  std::uint64_t v = 0;
  while (ch.recv(v) == ChannelStatus::kOk) {
    if (++received == close_after) ch.close();
  }
  for (auto& t : senders) t.join();
  EXPECT_GE(received, close_after);
  EXPECT_EQ(received, sent.load(std::memory_order_relaxed));  // threads joined
}

}  // namespace
}  // namespace tickwire::middleware
