// NatsTransport against a real nats-server (started here on 127.0.0.1 and a
// free port, stopped by PID), with Node's `nats` package as an independent
// subscriber and as a JetStream replayer.
#include "tickwire/middleware/nats_transport.hpp"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "support/nats_server.hpp"
#include "support/subprocess.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "transport_conformance.hpp"

namespace tickwire::middleware {
namespace {

using testing::NatsServer;
using testing::Subprocess;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// json_field: the value of "key":"..." in one of nats_sub.mjs's lines (its
// subjects and base64 never contain quotes or escapes), or of "key":<number>.
std::string json_field(const std::string& line, const std::string& key) {
  const std::string tag = "\"" + key + "\":";
  const auto at = line.find(tag);
  if (at == std::string::npos) return {};
  auto begin = at + tag.size();
  if (line[begin] == '"') {
    ++begin;
    return line.substr(begin, line.find('"', begin) - begin);
  }
  return line.substr(begin, line.find_first_of(",}", begin) - begin);
}

std::string unbase64(const std::string& s) {
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(s, &out)) << s;
  return out;
}

// NodeSubscriber: tests/peers/nats_sub.mjs; the constructor returns once it
// printed {"ready":true} (its subscription or consumer exists on the server).
class NodeSubscriber {
 public:
  NodeSubscriber(const std::string& url, const std::string& subject, int count, const std::string& stream = {}) {
    std::vector<std::string> argv{"/usr/bin/env", "node", std::string(TICKWIRE_SOURCE_DIR) + "/tests/peers/nats_sub.mjs",
                                  "--server", url, "--subject", subject, "--count", std::to_string(count)};
    if (!stream.empty()) argv.insert(argv.end(), {"--stream", stream});
    process_ = std::make_unique<Subprocess>(argv);
    auto ready = process_->read_line();
    EXPECT_EQ(ready.value_or("<no output>"), "{\"ready\":true}");
  }

  // lines: the message lines, then the exit status (0 when all arrived).
  std::vector<std::string> lines(int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
      auto line = process_->read_line();
      if (!line) break;
      out.push_back(*line);
    }
    auto status = process_->wait();
    EXPECT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    return out;
  }

 private:
  std::unique_ptr<Subprocess> process_;
};

// Collector: a handler that records messages and lets the test wait for them.
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> got;  // (subject, payload)
  std::vector<std::uint64_t> sequences;

  Handler handler() {
    return [this](const Message& m) {
      std::lock_guard lock(mu);
      got.emplace_back(std::string(m.subject),
                       std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()));
      sequences.push_back(m.sequence);
      cv.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return got.size() >= n; });
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

// wait_until: polls `pred` (a state change made by nats.c's threads) until
// it holds; false after 30 s.
template <typename Pred>
bool wait_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

NatsOptions options_for(const NatsServer& server) {
  NatsOptions o;
  o.url = server.url();
  o.name = "tickwire-test";
  return o;
}

TEST(NatsTransport, NodeSubscriberReceivesEveryMessageOnTheRightSubject) {
  NatsServer server;
  auto t = NatsTransport::connect(options_for(server));
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  constexpr int kTrades = 200;
  NodeSubscriber node(server.url(), "dev.binance.trade.*", kTrades);
  std::vector<std::pair<std::string, std::string>> sent;
  std::uint64_t expected_seq = 0;
  for (int i = 0; i < kTrades; ++i) {
    const std::string subject = std::string("dev.binance.trade.") + (i % 2 ? "BTCUSDT" : "ETHUSDT");
    const std::string payload = "trade-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 7), '\0');
    EXPECT_EQ((*t)->publish(subject, bytes(payload)), ++expected_seq);
    // A quote between trades: on the server, but not on the subscriber's subject.
    EXPECT_EQ((*t)->publish("dev.binance.quote.BTCUSDT", bytes("quote")), ++expected_seq);
    sent.emplace_back(subject, payload);
  }
  ASSERT_TRUE((*t)->flush().ok());
  const auto lines = node.lines(kTrades);
  ASSERT_EQ(lines.size(), sent.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(json_field(lines[i], "subject"), sent[i].first) << lines[i];
    EXPECT_EQ(unbase64(json_field(lines[i], "data")), sent[i].second) << lines[i];
  }
  const NatsStats stats = (*t)->transport_stats();
  EXPECT_EQ(stats.published, 2u * kTrades);
  EXPECT_EQ(stats.publish_failures, 0u);
  EXPECT_TRUE((*t)->last_error().ok());
}

TEST(NatsTransport, OwnSubscribersMatchWildcardsAndCountDeliveries) {
  NatsServer server;
  auto t = NatsTransport::connect(options_for(server));
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  Collector trades, btc, all;
  auto a = (*t)->subscribe("dev.*.trade.*", trades.handler());
  auto b = (*t)->subscribe("dev.binance.trade.BTCUSDT", btc.handler());
  auto c = (*t)->subscribe("dev.>", all.handler());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE((*t)->flush().ok());  // the server has the subscriptions before the publishes
  (*t)->publish("dev.binance.trade.BTCUSDT", bytes("1"));
  (*t)->publish("dev.binance.trade.ETHUSDT", bytes("2"));
  (*t)->publish("dev.binance.quote.ETHUSDT", bytes("3"));
  (*t)->publish("dev.binance.trade.BTCUSDT", bytes("4"));
  (*t)->publish("prod.binance.trade.BTCUSDT", bytes("5"));
  ASSERT_TRUE(all.wait_for(4));
  ASSERT_TRUE(trades.wait_for(3));
  ASSERT_TRUE(btc.wait_for(2));
  EXPECT_EQ(trades.got, (std::vector<std::pair<std::string, std::string>>{
                            {"dev.binance.trade.BTCUSDT", "1"}, {"dev.binance.trade.ETHUSDT", "2"},
                            {"dev.binance.trade.BTCUSDT", "4"}}));
  EXPECT_EQ(trades.sequences, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(btc.got.size(), 2u);
  EXPECT_EQ((*t)->stats(*a).received, 3u);
  EXPECT_EQ((*t)->stats(*b).received, 2u);
  EXPECT_EQ((*t)->stats(*c).received, 4u);
  EXPECT_EQ((*t)->stats(*a).dropped, 0u);
}

TEST(NatsTransport, SendAsapPublishesEachMessageInOrderToAnotherConnection) {
  NatsServer server;
  NatsOptions o = options_for(server);
  auto sub = NatsTransport::connect(o);
  o.send_asap = true;
  o.sequence_header = true;
  auto pub = NatsTransport::connect(o);
  ASSERT_TRUE(sub.ok() && pub.ok());
  Collector all;
  auto id = (*sub)->subscribe("dev.>", all.handler());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE((*sub)->flush().ok());
  for (int i = 1; i <= 200; ++i) (*pub)->publish("dev.binance.trade.BTCUSDT", bytes(std::to_string(i)));
  ASSERT_TRUE(all.wait_for(200));
  for (int i = 0; i < 200; ++i) ASSERT_EQ(all.got[static_cast<std::size_t>(i)].second, std::to_string(i + 1));
  EXPECT_EQ(all.sequences.back(), 200u);
  EXPECT_EQ((*pub)->publish_failures(), 0u);
}

TEST(NatsTransport, NoHandlerRunsAfterUnsubscribeReturns) {
  NatsServer server;
  auto t = NatsTransport::connect(options_for(server));
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  Collector gone, barrier;
  auto id = (*t)->subscribe("x.>", gone.handler());
  auto bar = (*t)->subscribe("x.>", barrier.handler());
  ASSERT_TRUE(id.ok() && bar.ok());
  ASSERT_TRUE((*t)->flush().ok());
  (*t)->publish("x.y", bytes("a"));
  ASSERT_TRUE(gone.wait_for(1));
  (*t)->unsubscribe(*id);
  (*t)->publish("x.y", bytes("b"));
  (*t)->publish("x.y", bytes("c"));
  ASSERT_TRUE(barrier.wait_for(3));
  EXPECT_EQ(gone.size(), 1u);
  EXPECT_EQ((*t)->stats(*id).received, 0u);  // an unknown id reads as zeros
}

TEST(NatsTransport, AHandlerMayUnsubscribeItself) {
  NatsServer server;
  auto t = NatsTransport::connect(options_for(server));
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  Collector barrier;
  std::atomic<int> calls{0};
  std::atomic<SubscriptionId> self{0};
  std::atomic<bool> unsubscribed{false};
  auto id = (*t)->subscribe("x.y", [&](const Message&) {
    calls.fetch_add(1, std::memory_order_relaxed);
    (*t)->unsubscribe(self.load(std::memory_order_relaxed));
    unsubscribed.store(true, std::memory_order_release);  // after unsubscribe returned, not when the call began
  });
  ASSERT_TRUE(id.ok());
  self.store(*id, std::memory_order_relaxed);
  auto bar = (*t)->subscribe("x.y", barrier.handler());
  ASSERT_TRUE(bar.ok());
  ASSERT_TRUE((*t)->flush().ok());
  for (int i = 0; i < 5; ++i) (*t)->publish("x.y", bytes("m"));
  ASSERT_TRUE(barrier.wait_for(5));
  ASSERT_TRUE(wait_until([&] { return unsubscribed.load(std::memory_order_acquire); }));
  EXPECT_EQ((*t)->stats(*id).received, 0u);  // gone from the transport
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 1);
}

TEST(NatsTransport, RejectsAnInvalidPatternAndNamesIt) {
  NatsServer server;
  auto t = NatsTransport::connect(options_for(server));
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  auto id = (*t)->subscribe("a.>.b", [](const Message&) {});
  ASSERT_FALSE(id.ok());
  EXPECT_NE(std::string(status_text(id.status())).find("a.>.b"), std::string::npos);
}

TEST(NatsTransport, ConnectFailureNamesTheUrl) {
  NatsOptions o;
  o.url = "nats://127.0.0.1:" + std::to_string(testing::free_loopback_port());
  o.max_reconnect = 0;
  auto t = NatsTransport::connect(o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(std::string(status_text(t.status())).find(o.url + ": connect"), std::string::npos)
      << status_text(t.status());
}

TEST(NatsTransport, BuffersWhileDisconnectedAndDeliversAfterReconnecting) {
  auto server = std::make_unique<NatsServer>();
  const int port = server->port();
  NatsOptions o = options_for(*server);
  o.reconnect_wait = std::chrono::milliseconds(20);
  auto t = NatsTransport::connect(o);
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  Collector got;
  ASSERT_TRUE((*t)->subscribe("buf.>", got.handler()).ok());
  ASSERT_TRUE((*t)->flush().ok());

  server->stop();
  ASSERT_TRUE(wait_until([&] { return (*t)->transport_stats().disconnects == 1; }));
  for (int i = 0; i < 3; ++i) (*t)->publish("buf.x", bytes("held-" + std::to_string(i)));
  EXPECT_EQ((*t)->publish_failures(), 0u);  // held in nats.c's reconnect buffer

  server = std::make_unique<NatsServer>(NatsServer::Options{.jetstream = false, .port = port});
  ASSERT_TRUE(wait_until([&] { return (*t)->transport_stats().reconnects == 1; }));
  ASSERT_TRUE(got.wait_for(3));
  EXPECT_EQ(got.got[0].second, "held-0");
  EXPECT_EQ(got.got[2].second, "held-2");
}

// Unsubscribing while disconnected cannot wait for a round trip to the
// server (release_nats_subscription): nats.c's subscription is kept until the
// destructor, and the handler still never runs again.
TEST(NatsTransport, UnsubscribesWhileDisconnectedAndTheHandlerNeverRunsAgain) {
  auto server = std::make_unique<NatsServer>();
  const int port = server->port();
  NatsOptions o = options_for(*server);
  o.reconnect_wait = std::chrono::milliseconds(20);
  auto t = NatsTransport::connect(o);
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  Collector gone, kept;
  auto id = (*t)->subscribe("dis.>", gone.handler());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE((*t)->subscribe("dis.>", kept.handler()).ok());
  ASSERT_TRUE((*t)->flush().ok());
  (*t)->publish("dis.x", bytes("before"));
  ASSERT_TRUE(gone.wait_for(1));
  ASSERT_TRUE(kept.wait_for(1));

  server->stop();
  ASSERT_TRUE(wait_until([&] { return (*t)->transport_stats().disconnects == 1; }));
  (*t)->unsubscribe(*id);
  EXPECT_EQ((*t)->stats(*id).received, 0u);  // gone from the transport

  server = std::make_unique<NatsServer>(NatsServer::Options{.jetstream = false, .port = port});
  ASSERT_TRUE(wait_until([&] { return (*t)->transport_stats().reconnects == 1; }));
  (*t)->publish("dis.x", bytes("after"));
  ASSERT_TRUE(kept.wait_for(2));
  EXPECT_EQ(kept.got[1].second, "after");
  EXPECT_EQ(gone.size(), 1u);
}

TEST(NatsTransport, CountsAndReportsPublishFailuresWhenTheReconnectBufferIsFull) {
  auto server = std::make_unique<NatsServer>();
  NatsOptions o = options_for(*server);
  o.reconnect_buffer_bytes = 4096;
  o.reconnect_wait = std::chrono::seconds(30);  // stays disconnected for the test
  auto t = NatsTransport::connect(o);
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  server->stop();
  ASSERT_TRUE(wait_until([&] { return (*t)->transport_stats().disconnects == 1; }));

  const std::string payload(1024, 'p');
  std::uint64_t calls = 0;
  for (; calls < 16; ++calls) (*t)->publish("full.x", bytes(payload));
  const NatsStats stats = (*t)->transport_stats();
  EXPECT_GT(stats.publish_failures, 0u);
  EXPECT_EQ(stats.published + stats.publish_failures, calls);
  EXPECT_EQ((*t)->publish_failures(), stats.publish_failures);
  const absl::Status last = (*t)->last_error();
  ASSERT_FALSE(last.ok());
  EXPECT_NE(std::string(status_text(last)).find("publish on 'full.x'"), std::string::npos) << status_text(last);
}

TEST(NatsTransport, JetStreamCreatesTheStreamWithItsRetentionAndNodeReplaysIt) {
  NatsServer server(NatsServer::Options{.jetstream = true});
  NatsOptions o = options_for(server);
  o.jetstream = true;
  o.stream = "TICKWIRE_TEST";
  o.stream_subjects = {"dev.>"};
  o.retention = {std::chrono::hours(1), 64 * 1024 * 1024, 1000};
  constexpr int kMessages = 300;
  std::vector<std::string> sent;
  {
    auto t = NatsTransport::connect(o);
    ASSERT_TRUE(t.ok()) << status_text(t.status());
    for (int i = 0; i < kMessages; ++i) {
      sent.push_back("js-" + std::to_string(i));
      (*t)->publish(i % 3 ? "dev.binance.trade.BTCUSDT" : "dev.binance.status._feed", bytes(sent.back()));
    }
    ASSERT_TRUE((*t)->flush().ok());
    EXPECT_EQ((*t)->transport_stats().published, static_cast<std::uint64_t>(kMessages));
    EXPECT_EQ((*t)->publish_failures(), 0u);
  }

  // The stream's configuration as the server reports it, read with nats.c directly.
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server.url().c_str()), NATS_OK);
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, nc, nullptr), NATS_OK);
  jsStreamInfo* info = nullptr;
  ASSERT_EQ(js_GetStreamInfo(&info, js, "TICKWIRE_TEST", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(info->Config->MaxMsgs, 1000);
  EXPECT_EQ(info->Config->MaxBytes, 64 * 1024 * 1024);
  EXPECT_EQ(info->Config->MaxAge, std::chrono::nanoseconds(std::chrono::hours(1)).count());
  EXPECT_EQ(info->State.Msgs, static_cast<std::uint64_t>(kMessages));
  jsStreamInfo_Destroy(info);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);

  // A second transport finds the stream and keeps it.
  auto again = NatsTransport::connect(o);
  ASSERT_TRUE(again.ok()) << status_text(again.status());

  // A subscriber that arrives later replays everything from the stream.
  NodeSubscriber node(server.url(), "dev.>", kMessages, "TICKWIRE_TEST");
  const auto lines = node.lines(kMessages);
  ASSERT_EQ(lines.size(), sent.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(json_field(lines[i], "seq"), std::to_string(i + 1)) << lines[i];
    EXPECT_EQ(unbase64(json_field(lines[i], "data")), sent[i]) << lines[i];
  }
}

// FromLog: what a subscribe_from subscriber saw (nats.c's delivery thread writes it).
struct FromLog {
  std::mutex mu;
  std::vector<std::uint64_t> sequences;
  std::vector<std::string> payloads;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
  Handler handler() {
    return [this](const Message& m) {
      std::lock_guard lock(mu);
      sequences.push_back(m.sequence);
      payloads.emplace_back(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
    };
  }
  GapHandler on_gap() {
    return [this](std::uint64_t from, std::uint64_t to) {
      std::lock_guard lock(mu);
      gaps.emplace_back(from, to);
    };
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return sequences.size();
  }
};

TEST(NatsTransport, SubscribeFromASequenceReplaysTheStreamThenGoesLiveWithoutAGapOrADuplicate) {
  NatsServer server(NatsServer::Options{.jetstream = true});
  NatsOptions o = options_for(server);
  o.jetstream = true;
  o.stream = "TW_FROM";
  o.stream_subjects = {"dev.>"};
  o.sequence_header = true;
  auto pub = NatsTransport::connect(o);
  ASSERT_TRUE(pub.ok()) << status_text(pub.status());
  std::vector<std::string> payload_of(1200);
  const auto send = [&](std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t seq = from; seq <= to; ++seq) {
      payload_of[seq - 1000] = "m" + std::to_string(seq);
      ASSERT_TRUE((*pub)->publish_at(seq, seq % 2 ? "dev.b.trade.BTC" : "dev.b.quote.BTC",
                                     bytes(payload_of[seq - 1000])));
    }
    ASSERT_TRUE((*pub)->flush().ok());
  };
  send(1001, 1100);  // the stream holds 1001..1100: nothing before 1001 was ever published to it

  auto sub = NatsTransport::connect(o);
  ASSERT_TRUE(sub.ok()) << status_text(sub.status());
  FromLog mid, start;
  auto mid_id = (*sub)->subscribe_from("dev.>", 1050, mid.handler(), mid.on_gap());
  ASSERT_TRUE(mid_id.ok()) << status_text(mid_id.status());
  auto start_id = (*sub)->subscribe_from("dev.>", 1, start.handler(), start.on_gap());
  ASSERT_TRUE(start_id.ok()) << status_text(start_id.status());
  ASSERT_TRUE(wait_until([&] { return mid.size() == 51 && start.size() == 100; }));
  send(1101, 1110);  // live, after the stored ones
  ASSERT_TRUE(wait_until([&] { return mid.size() == 61 && start.size() == 110; }));
  // Unsubscribed before the logs are locked: unsubscribe waits for a running handler, which takes them.
  (*sub)->unsubscribe(*mid_id);
  (*sub)->unsubscribe(*start_id);

  std::lock_guard lock_mid(mid.mu);
  std::lock_guard lock_start(start.mu);
  for (std::size_t i = 0; i < mid.sequences.size(); ++i) {
    ASSERT_EQ(mid.sequences[i], 1050 + i);
    EXPECT_EQ(mid.payloads[i], payload_of[mid.sequences[i] - 1000]);
  }
  EXPECT_TRUE(mid.gaps.empty());
  for (std::size_t i = 0; i < start.sequences.size(); ++i) ASSERT_EQ(start.sequences[i], 1001 + i);
  // 1..1000 were never in the stream: told once, before 1001.
  EXPECT_EQ(start.gaps, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 1000}}));
}

TEST(NatsTransport, SubscribeFromNeedsJetStream) {
  NatsServer server;
  auto t = NatsTransport::connect(options_for(server));
  ASSERT_TRUE(t.ok()) << status_text(t.status());
  auto id = (*t)->subscribe_from("dev.>", 1, [](const Message&) {}, {});
  ASSERT_FALSE(id.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(id.status())) << status_text(id.status());
  EXPECT_NE(id.status().message().find("JetStream"), std::string_view::npos);
}

// ServedNatsTransport: a NatsTransport with its own nats-server, so every
// transport the conformance factory makes is isolated from the others. The
// publisher's sequence travels in the Tickwire-Seq header.
class ServedNatsTransport final : public Transport {
 public:
  explicit ServedNatsTransport(std::size_t buffer_bytes) {
    NatsOptions o = options_for(server_);
    o.sequence_header = true;
    o.subscriber_pending_bytes = static_cast<int>(buffer_bytes);
    auto t = NatsTransport::connect(o);
    if (!t.ok()) throw std::runtime_error(std::string(status_text(t.status())));
    transport_ = std::move(*t);
  }
  std::uint64_t publish(std::string_view subject, std::span<const std::byte> payload) override {
    return transport_->publish(subject, payload);
  }
  bool publish_at(std::uint64_t sequence, std::string_view subject, std::span<const std::byte> payload) override {
    return transport_->publish_at(sequence, subject, payload);
  }
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler) override {
    return transport_->subscribe(pattern, std::move(handler));
  }
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler, GapHandler on_gap) override {
    return transport_->subscribe(pattern, std::move(handler), std::move(on_gap));
  }
  void unsubscribe(SubscriptionId id) override { transport_->unsubscribe(id); }
  SubscriberStats stats(SubscriptionId id) const override { return transport_->stats(id); }

 private:
  NatsServer server_;
  std::unique_ptr<NatsTransport> transport_;  // destroyed before the server
};

struct NatsFactory {
  static std::unique_ptr<Transport> make(std::size_t buffer_bytes) {
    return std::make_unique<ServedNatsTransport>(buffer_bytes);
  }
};

}  // namespace
}  // namespace tickwire::middleware

namespace tickwire::middleware::conformance {
namespace {
INSTANTIATE_TYPED_TEST_SUITE_P(Nats, TransportConformance, ::testing::Types<NatsFactory>);
}  // namespace
}  // namespace tickwire::middleware::conformance
