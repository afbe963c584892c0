// Transport conformance: one typed GoogleTest suite every Transport
// implementation must pass (ordering per subject, wildcards, sequences,
// unsubscribe, slow subscribers, concurrent (un)subscribe while publishing).
//
// Factory interface. Instantiate the suite with a type F that has
//
//   // A fresh transport: nothing published yet, no subscribers, isolated from
//   // every other transport F::make returned. buffer_bytes sizes the buffer a
//   // slow subscriber is lapped in (0: the implementation's default).
//   static std::unique_ptr<tickwire::middleware::Transport> make(std::size_t buffer_bytes);
//
// and, in the test's .cpp (the suite lives in an anonymous namespace, so each
// file gets its own copy and the prefixes keep the test names apart):
//
//   namespace tickwire::middleware::conformance {
//   namespace {
//   INSTANTIATE_TYPED_TEST_SUITE_P(Nats, TransportConformance, ::testing::Types<NatsFactory>);
//   }  // namespace
//   }  // namespace tickwire::middleware::conformance
//
// What the suite holds an implementation to: publish returns 1, 2, 3, ...;
// publish_at carries the caller's sequence to subscribers; a lapped
// subscriber is told each lost range before the message after it;
// a handler sees, per subscription, messages in publish order with the
// sequence publish returned; publishing never waits for a subscriber; a
// lapped subscriber's stats().dropped is exactly the number of messages
// published after it subscribed that it did not receive; once unsubscribe()
// returns, no call of that handler is running or starts (unsubscribe may
// also be called from inside the subscription's own handler, whose call then
// finishes).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tickwire/middleware/transport.hpp"

namespace tickwire::middleware::conformance {
namespace {

#if defined(TICKWIRE_TSAN)
inline constexpr std::uint64_t kScale = 10;
#else
inline constexpr std::uint64_t kScale = 1;
#endif

// Every wait in the suite is bounded by this; none of them is a sleep.
inline constexpr auto kWaitLimit = std::chrono::seconds(30);

inline std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

struct Received {
  std::string subject;
  std::string payload;
  std::uint64_t sequence;
  std::uint64_t gap_to = 0;  // non-zero: not a message but a gap [sequence, gap_to] told to the subscriber
};

// Collector: a handler that records every message and lets the test wait for
// a condition on what arrived.
class Collector {
 public:
  Handler handler() {
    return [this](const Message& m) {
      std::lock_guard lock(mu_);
      got_.push_back({std::string(m.subject),
                      std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()), m.sequence});
      cv_.notify_all();
    };
  }
  // gap_handler: records each gap, in order with the messages.
  GapHandler gap_handler() {
    return [this](std::uint64_t from, std::uint64_t to) {
      std::lock_guard lock(mu_);
      got_.push_back({"", "", from, to});
    };
  }
  // wait_for: true once pred(messages) holds, false after kWaitLimit.
  bool wait_for(const std::function<bool(const std::vector<Received>&)>& pred,
                std::chrono::milliseconds limit = kWaitLimit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return pred(got_); });
  }
  bool wait_for_payload(const std::string& payload) {
    return wait_for([&](const std::vector<Received>& got) {
      for (const auto& r : got) {
        if (r.payload == payload) return true;
      }
      return false;
    });
  }
  bool wait_for_count(std::size_t n) {
    return wait_for([n](const std::vector<Received>& got) { return got.size() >= n; });
  }
  std::vector<Received> snapshot() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> got_;
};

// Gate: holds handlers until open(); OpenOnExit opens it on every way out
// of a test, so that a failed assertion never leaves a handler stuck.
class Gate {
 public:
  struct OpenOnExit {
    explicit OpenOnExit(Gate& g) : gate(g) {}
    ~OpenOnExit() { gate.open(); }
    OpenOnExit(const OpenOnExit&) = delete;
    OpenOnExit& operator=(const OpenOnExit&) = delete;
    Gate& gate;
  };
  std::shared_future<void> future() const { return future_; }
  void open() {
    std::call_once(once_, [this] { promise_.set_value(); });
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_ = promise_.get_future().share();
  std::once_flag once_;
};

template <typename Factory>
class TransportConformance : public ::testing::Test {
 protected:
  std::unique_ptr<Transport> make(std::size_t buffer_bytes = 0) { return Factory::make(buffer_bytes); }
};

TYPED_TEST_SUITE_P(TransportConformance);

TYPED_TEST_P(TransportConformance, PublishReturnsConsecutiveSequencesFromOne) {
  auto t = this->make();
  for (std::uint64_t i = 1; i <= 100; ++i) EXPECT_EQ(t->publish("t.a.trade.X", as_bytes("p")), i);
}

TYPED_TEST_P(TransportConformance, DeliversEachSubjectInPublishOrderWithItsSequence) {
  Collector all;  // declared before the transport, which stops its handlers first
  auto t = this->make();
  ASSERT_TRUE(t->subscribe(">", all.handler()).ok());
  const std::vector<std::string> subjects = {"t.a.trade.X", "t.a.trade.Y", "t.b.quote.Z"};
  const std::size_t n = 3000 / kScale;
  std::vector<std::uint64_t> published;
  for (std::size_t i = 0; i < n; ++i) {
    published.push_back(t->publish(subjects[i % subjects.size()], as_bytes(std::to_string(i))));
  }
  ASSERT_TRUE(all.wait_for_count(n));
  const auto got = all.snapshot();
  ASSERT_EQ(got.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(got[i].subject, subjects[i % subjects.size()]);
    EXPECT_EQ(got[i].payload, std::to_string(i));
    EXPECT_EQ(got[i].sequence, published[i]);
  }
}

TYPED_TEST_P(TransportConformance, CarriesEmptyAndBinaryPayloadsIntact) {
  Collector c;
  auto t = this->make();
  ASSERT_TRUE(t->subscribe("t.>", c.handler()).ok());
  std::string binary;
  for (int i = 0; i < 1000; ++i) binary.push_back(static_cast<char>(i * 7));
  t->publish("t.x", {});
  t->publish("t.y", as_bytes(binary));
  t->publish("t.z", as_bytes("END"));
  ASSERT_TRUE(c.wait_for_payload("END"));
  const auto got = c.snapshot();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].payload, "");
  EXPECT_EQ(got[1].payload, binary);
}

TYPED_TEST_P(TransportConformance, MatchesNatsWildcards) {
  Collector star, tail, exact, quotes;
  auto t = this->make();
  ASSERT_TRUE(t->subscribe("w.*.trade.*", star.handler()).ok());
  ASSERT_TRUE(t->subscribe("w.>", tail.handler()).ok());
  ASSERT_TRUE(t->subscribe("w.binance.trade.BTC", exact.handler()).ok());
  ASSERT_TRUE(t->subscribe("*.binance.quote.*", quotes.handler()).ok());
  for (const char* s : {"w.binance.trade.BTC", "w.okx.trade.ETH", "w.binance.quote.BTC", "w.binance.trade.BTC.x",
                        "w", "v.binance.quote.SOL", "w.binance.trade"}) {
    t->publish(s, as_bytes(s));
  }
  // Sentinels, each matching one or more patterns, published after everything
  // else: a collector that saw one has seen all it will ever get of the above.
  t->publish("w.binance.trade.BTC", as_bytes("END"));
  t->publish("z.binance.quote.END", as_bytes("END"));
  for (Collector* c : {&star, &tail, &exact, &quotes}) ASSERT_TRUE(c->wait_for_payload("END"));
  const auto subjects_before_end = [](Collector& c) {
    std::vector<std::string> out;
    for (const auto& r : c.snapshot()) {
      if (r.payload == "END") break;
      out.push_back(r.subject);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(subjects_before_end(star), (V{"w.binance.trade.BTC", "w.okx.trade.ETH"}));
  EXPECT_EQ(subjects_before_end(tail), (V{"w.binance.trade.BTC", "w.okx.trade.ETH", "w.binance.quote.BTC",
                                          "w.binance.trade.BTC.x", "w.binance.trade"}));
  EXPECT_EQ(subjects_before_end(exact), (V{"w.binance.trade.BTC"}));
  EXPECT_EQ(subjects_before_end(quotes), (V{"w.binance.quote.BTC", "v.binance.quote.SOL"}));
}

TYPED_TEST_P(TransportConformance, RejectsAnInvalidPatternNamingIt) {
  auto t = this->make();
  auto id = t->subscribe("a.>.b", [](const Message&) {});
  ASSERT_FALSE(id.ok());
  EXPECT_NE(std::string(id.status().message()).find("a.>.b"), std::string::npos);
}

TYPED_TEST_P(TransportConformance, StopsDeliveringAfterUnsubscribeReturns) {
  std::atomic<bool> unsubscribed{false};
  std::atomic<int> late_calls{0};
  Collector first, other;
  auto t = this->make();
  Handler record = first.handler();
  auto id = t->subscribe(">", [&](const Message& m) {
    // acquire: pairs with the release store after unsubscribe() returned.
    if (unsubscribed.load(std::memory_order_acquire)) late_calls.fetch_add(1, std::memory_order_relaxed);
    record(m);
  });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(t->subscribe(">", other.handler()).ok());
  t->publish("u.a", as_bytes("1"));
  ASSERT_TRUE(first.wait_for_count(1));
  EXPECT_EQ(t->stats(*id).received, 1u);
  t->unsubscribe(*id);
  unsubscribed.store(true, std::memory_order_release);  // release: pairs with the handler's acquire
  t->publish("u.a", as_bytes("2"));
  t->publish("u.a", as_bytes("END"));
  ASSERT_TRUE(other.wait_for_payload("END"));
  EXPECT_EQ(first.snapshot().size(), 1u);
  EXPECT_EQ(late_calls.load(std::memory_order_relaxed), 0);  // relaxed: the handler no longer runs
  EXPECT_EQ(t->stats(*id).received, 0u);  // an unknown id reads as zeros
}

TYPED_TEST_P(TransportConformance, UnsubscribesFromInsideItsOwnHandler) {
  std::atomic<int> calls{0};
  std::atomic<SubscriptionId> self{0};
  std::promise<void> subscribed;
  std::shared_future<void> ready = subscribed.get_future().share();
  std::promise<void> unsubscribed;
  std::future<void> done = unsubscribed.get_future();
  Collector other;
  auto t = this->make();
  Transport* raw = t.get();
  auto id = t->subscribe("s.>", [&, ready](const Message&) {
    ready.wait();
    // relaxed (both): a counter, and an id published by the promise above.
    if (calls.fetch_add(1, std::memory_order_relaxed) + 1 == 2) {
      raw->unsubscribe(self.load(std::memory_order_relaxed));
      unsubscribed.set_value();
    }
  });
  ASSERT_TRUE(id.ok());
  self.store(*id, std::memory_order_relaxed);  // relaxed: published by set_value() below
  subscribed.set_value();
  ASSERT_TRUE(t->subscribe("s.>", other.handler()).ok());
  for (int i = 0; i < 5; ++i) t->publish("s.a", as_bytes("x"));
  ASSERT_EQ(done.wait_for(kWaitLimit), std::future_status::ready);
  for (int i = 0; i < 5; ++i) t->publish("s.a", as_bytes("y"));
  t->publish("s.a", as_bytes("END"));
  ASSERT_TRUE(other.wait_for_payload("END"));
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 2);  // relaxed: ordered by the future above
  EXPECT_EQ(other.snapshot().size(), 11u);
}

TYPED_TEST_P(TransportConformance, SlowSubscriberNeverBlocksThePublisherAndCountsExactlyWhatItLost) {
  Gate gate;
  Collector slow_got, fast;
  auto t = this->make(64 * 1024);
  const Gate::OpenOnExit release_handler_on_failure(gate);
  std::shared_future<void> open = gate.future();
  auto slow = t->subscribe("slow.>", [open, record = slow_got.handler()](const Message& m) {
    open.wait();
    record(m);
  });
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE(t->subscribe("slow.>", fast.handler()).ok());
  // Far more than the buffer holds, while the slow handler is stuck on its
  // first message: every publish returns without waiting for it.
  const std::size_t n = 100'000 / kScale;
  const std::string payload(48, 'p');
  const std::uint64_t first = t->publish("slow.data", as_bytes(payload));
  std::uint64_t last = first;
  for (std::size_t i = 1; i < n; ++i) {
    const std::uint64_t seq = t->publish("slow.data", as_bytes(payload));
    ASSERT_EQ(seq, last + 1);
    last = seq;
  }
  gate.open();
  // The end marker, re-sent until the slow subscriber has it (a transport may
  // drop a marker that arrives while the subscriber is still behind).
  std::uint64_t end_seq = 0;
  for (int attempt = 0; attempt < 300 && end_seq == 0; ++attempt) {
    const std::uint64_t marker = t->publish("slow.end", as_bytes("END"));
    if (slow_got.wait_for(
            [marker](const std::vector<Received>& got) { return !got.empty() && got.back().sequence >= marker; },
            std::chrono::milliseconds(100))) {
      end_seq = slow_got.snapshot().back().sequence;
    }
  }
  ASSERT_NE(end_seq, 0u);
  std::vector<std::uint64_t> got;
  for (const auto& r : slow_got.snapshot()) got.push_back(r.sequence);
  for (std::size_t i = 1; i < got.size(); ++i) ASSERT_LT(got[i - 1], got[i]);
  const SubscriberStats s = t->stats(*slow);
  EXPECT_EQ(s.received, got.size());
  EXPECT_GT(s.dropped, 0u);
  EXPECT_EQ(s.received + s.dropped, end_seq - first + 1);
}

TYPED_TEST_P(TransportConformance, PublishAtCarriesTheCallersSequenceToSubscribers) {
  Collector all;
  auto t = this->make();
  ASSERT_TRUE(t->subscribe(">", all.handler()).ok());
  EXPECT_TRUE(t->publish_at(1000, "t.a.trade.X", as_bytes("a")));
  EXPECT_TRUE(t->publish_at(1001, "t.a.trade.X", as_bytes("b")));
  EXPECT_TRUE(t->publish_at(1005, "t.a.trade.Y", as_bytes("c")));
  EXPECT_EQ(t->publish("t.a.trade.Y", as_bytes("d")), 1006u);
  ASSERT_TRUE(all.wait_for_count(4));
  const auto got = all.snapshot();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].sequence, 1000u);
  EXPECT_EQ(got[1].sequence, 1001u);
  EXPECT_EQ(got[2].sequence, 1005u);
  EXPECT_EQ(got[2].payload, "c");
  EXPECT_EQ(got[3].sequence, 1006u);
}

TYPED_TEST_P(TransportConformance, LappedSubscriberIsToldEachGapBeforeTheNextMessage) {
  Gate gate;
  Collector slow_got;
  auto t = this->make(64 * 1024);
  const Gate::OpenOnExit release_handler_on_failure(gate);
  std::shared_future<void> open = gate.future();
  auto slow = t->subscribe(
      "lap.>",
      [open, record = slow_got.handler()](const Message& m) {
        open.wait();
        record(m);
      },
      slow_got.gap_handler());
  ASSERT_TRUE(slow.ok());
  const std::size_t n = 100'000 / kScale;
  const std::string payload(48, 'p');
  for (std::size_t i = 0; i < n; ++i) t->publish("lap.data", as_bytes(payload));
  gate.open();
  std::uint64_t end_seq = 0;
  for (int attempt = 0; attempt < 300 && end_seq == 0; ++attempt) {
    const std::uint64_t marker = t->publish("lap.end", as_bytes("END"));
    if (slow_got.wait_for(
            [marker](const std::vector<Received>& got) { return !got.empty() && got.back().sequence >= marker; },
            std::chrono::milliseconds(100))) {
      end_seq = slow_got.snapshot().back().sequence;
    }
  }
  ASSERT_NE(end_seq, 0u);
  // Walk the events: every jump between two delivered messages is announced
  // by exactly one gap naming the missing range, right before the second.
  const auto events = slow_got.snapshot();
  std::uint64_t last = 0, gaps = 0, gap_width = 0;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> pending;
  for (const auto& e : events) {
    if (e.gap_to != 0) {
      ASSERT_FALSE(pending) << "two gaps in a row";
      pending = {e.sequence, e.gap_to};
      continue;
    }
    if (e.sequence != last + 1) {  // the first publish is 1: a subscriber lapped before it read one is told too
      ASSERT_TRUE(pending) << "silent jump from " << last << " to " << e.sequence;
      EXPECT_EQ(pending->first, last + 1);
      EXPECT_EQ(pending->second, e.sequence - 1);
      ++gaps;
      gap_width += e.sequence - last - 1;
    } else {
      EXPECT_FALSE(pending) << "a gap before the in-order message " << e.sequence;
    }
    pending.reset();
    last = e.sequence;
  }
  EXPECT_GT(gaps, 0u);
  // >=: a NATS server also drops for a slow consumer, which the client's count never sees.
  EXPECT_GE(gap_width, t->stats(*slow).dropped);
}

TYPED_TEST_P(TransportConformance, SubscribersComeAndGoWhileAnotherThreadPublishes) {
  auto t = this->make();
  std::atomic<bool> stop{false};
  // (Each round's collector outlives its subscription: unsubscribe joins the handler.)
  std::thread publisher([&] {
    // acquire: pairs with the release store below.
    while (!stop.load(std::memory_order_acquire)) {
      t->publish("c.a.trade.X", as_bytes("x"));
      std::this_thread::yield();  // leaves the subscribers (2 cores) room to run
    }
  });
  for (int round = 0; round < 20; ++round) {
    Collector c;
    auto id = t->subscribe("c.*.trade.X", c.handler());
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(c.wait_for_count(3));
    t->unsubscribe(*id);
    const auto got = c.snapshot();
    for (std::size_t i = 1; i < got.size(); ++i) ASSERT_LT(got[i - 1].sequence, got[i].sequence);
  }
  stop.store(true, std::memory_order_release);  // release: pairs with the publisher's acquire
  publisher.join();
}

// Unsubscribe's guarantee under churn: once unsubscribe() returns (on another
// thread than the handler's), that handler is neither running nor starts
// again. The handler checks on entry and again on exit, so a call that
// overlaps the return is caught as well as one that starts later; its state
// is shared, so such a call would be counted rather than touch a dead frame.
TYPED_TEST_P(TransportConformance, NoHandlerRunsAfterUnsubscribeReturnsWhileSubscribersChurn) {
  struct Round {
    std::atomic<bool> unsubscribed{false};
    std::atomic<int> late{0};
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;  // guarded by mu
  };
  constexpr int kRounds = 40;
  Collector last;  // outlives the transport, whose destructor ends its subscription
  auto t = this->make();
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    // acquire: pairs with the release store in StopOnExit.
    while (!stop.load(std::memory_order_acquire)) {
      t->publish("churn.a", as_bytes("x"));
      std::this_thread::yield();  // leaves the subscribers (2 cores) room to run
    }
  });
  // Stops and joins the publisher on every way out, a failed assertion included.
  struct StopOnExit {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~StopOnExit() {
      stop.store(true, std::memory_order_release);  // release: pairs with the publisher's acquire
      thread.join();
    }
  } stop_on_exit{stop, publisher};
  std::vector<std::shared_ptr<Round>> rounds;
  for (int i = 0; i < kRounds; ++i) {
    auto round = std::make_shared<Round>();
    rounds.push_back(round);
    auto id = t->subscribe("churn.>", [round](const Message&) {
      // acquire (both): pair with the release store after unsubscribe() returned.
      if (round->unsubscribed.load(std::memory_order_acquire)) round->late.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(round->mu);
        ++round->calls;
      }
      round->cv.notify_all();
      std::this_thread::yield();  // widens the window in which unsubscribe() overlaps a call
      if (round->unsubscribed.load(std::memory_order_acquire)) round->late.fetch_add(1, std::memory_order_relaxed);
    });
    ASSERT_TRUE(id.ok());
    {
      // Unsubscribe while messages are flowing to it: after its second call.
      std::unique_lock lock(round->mu);
      ASSERT_TRUE(round->cv.wait_for(lock, kWaitLimit, [&] { return round->calls >= 2; }));
    }
    t->unsubscribe(*id);
    round->unsubscribed.store(true, std::memory_order_release);  // release: pairs with the handler's acquires
  }
  // A late call of any round has had every later round to show up; the last
  // one gets a fresh subscriber that sees a message published after it.
  ASSERT_TRUE(t->subscribe("churn.>", last.handler()).ok());
  ASSERT_TRUE(last.wait_for_count(2));
  for (int i = 0; i < kRounds; ++i) {
    // relaxed: a counter; the handler no longer runs (or this test has already failed).
    EXPECT_EQ(rounds[static_cast<std::size_t>(i)]->late.load(std::memory_order_relaxed), 0) << "round " << i;
  }
}

REGISTER_TYPED_TEST_SUITE_P(TransportConformance, PublishReturnsConsecutiveSequencesFromOne,
                            DeliversEachSubjectInPublishOrderWithItsSequence, CarriesEmptyAndBinaryPayloadsIntact,
                            MatchesNatsWildcards, RejectsAnInvalidPatternNamingIt,
                            StopsDeliveringAfterUnsubscribeReturns, UnsubscribesFromInsideItsOwnHandler,
                            SlowSubscriberNeverBlocksThePublisherAndCountsExactlyWhatItLost,
                            SubscribersComeAndGoWhileAnotherThreadPublishes,
                            PublishAtCarriesTheCallersSequenceToSubscribers,
                            LappedSubscriberIsToldEachGapBeforeTheNextMessage,
                            NoHandlerRunsAfterUnsubscribeReturnsWhileSubscribersChurn);

}  // namespace
}  // namespace tickwire::middleware::conformance
