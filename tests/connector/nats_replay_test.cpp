// Envelopes over NATS, checked by tools nobody here wrote: a real nats-server
// (127.0.0.1, free port, stopped by PID), Node's `nats` package as the
// subscriber, and `capnp decode` on the payloads it received. Also `tickwire
// replay DIR --publish` (inproc, shm, nats, nats + JetStream) with the original
// sequences.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "support/nats_server.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/middleware/nats_transport.hpp"
#include "tickwire/middleware/shm_transport.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace tickwire {
namespace {

using testing::NatsServer;
using testing::Subprocess;
using testing::TempDir;
using testing::run_command;

const std::vector<std::string> kSymbols = {"BTCUSDT", "ETHUSDT"};

// A received message as nats_sub.mjs printed it.
struct Received {
  std::string subject;
  std::string payload;
  std::uint64_t sequence = 0;  // the transport's (shm: Message::sequence)
};

// NodeSubscriber: tests/peers/nats_sub.mjs; ready once it printed {"ready":true}.
class NodeSubscriber {
 public:
  NodeSubscriber(const std::string& url, const std::string& subject, std::size_t count,
                 const std::string& stream = {}) {
    std::vector<std::string> argv{"/usr/bin/env", "node",
                                  std::string(TICKWIRE_SOURCE_DIR) + "/tests/peers/nats_sub.mjs", "--server", url,
                                  "--subject", subject, "--count", std::to_string(count)};
    if (!stream.empty()) argv.insert(argv.end(), {"--stream", stream});
    process_ = std::make_unique<Subprocess>(argv);
    EXPECT_EQ(process_->read_line().value_or("<no output>"), "{\"ready\":true}");
    count_ = count;
  }

  std::vector<Received> messages() {
    simdjson::dom::parser parser;
    std::vector<Received> out;
    for (std::size_t i = 0; i < count_; ++i) {
      auto line = process_->read_line();
      if (!line) break;
      simdjson::dom::element e = parser.parse(*line);
      Received r{std::string(std::string_view(e["subject"])), {}};
      EXPECT_TRUE(absl::Base64Unescape(std::string(std::string_view(e["data"])), &r.payload)) << *line;
      out.push_back(std::move(r));
    }
    auto status = process_->wait();
    EXPECT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    return out;
  }

 private:
  std::unique_ptr<Subprocess> process_;
  std::size_t count_ = 0;
};

connector::TradeEvent trade(std::size_t i) {
  connector::TradeEvent t;
  t.symbol = kSymbols[i % kSymbols.size()];
  t.trade_id = 5000 + i;
  t.price = {static_cast<std::int64_t>(2999460 + i), -3};
  t.size = {180697, -8};
  t.aggressor = i % 2 ? connector::Side::kBuy : connector::Side::kSell;
  t.event_ns = 1795359219671000000 + i;
  t.trade_ns = t.event_ns;
  return t;
}

// capnp_decode: `capnp decode --short` over the concatenated payloads (each a
// framed message, so the file is a message stream); one line per message.
std::vector<std::string> capnp_decode(const TempDir& dir, const std::vector<Received>& messages) {
  const auto path = dir / "payloads.bin";
  {
    std::ofstream out(path, std::ios::binary);
    for (const auto& m : messages) out << m.payload;
  }
  const std::string schema = std::string(TICKWIRE_SOURCE_DIR) + "/proto/market_data.capnp";
  auto r = run_command({"/bin/sh", "-c", "capnp decode '" + schema + "' Envelope --short < '" + path.string() + "'"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(NatsEnvelopes, NodeSubscriberReceivesEnvelopesThatCapnpDecodes) {
  NatsServer server;
  middleware::NatsOptions o;
  o.url = server.url();
  auto t = middleware::NatsTransport::connect(o);
  ASSERT_TRUE(t.ok()) << middleware::status_text(t.status());
  constexpr std::size_t kCount = 40;
  NodeSubscriber node(server.url(), "dev.binance.trade.*", kCount);
  middleware::BufferPool pool;
  connector::EnvelopeEncoder encoder(pool);
  for (std::size_t i = 0; i < kCount; ++i) {
    const auto ev = trade(i);
    const connector::Stamp stamp{i + 1, 1000 + i, 2000 + i};
    (*t)->publish("dev.binance.trade." + std::string(ev.symbol), encoder.encode_trade(stamp, "binance", ev));
  }
  ASSERT_TRUE((*t)->flush().ok());
  TempDir dir("tickwire-nats-env");
  const auto got = node.messages();
  ASSERT_EQ(got.size(), kCount);
  const auto decoded = capnp_decode(dir, got);
  ASSERT_EQ(decoded.size(), kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(got[i].subject, "dev.binance.trade." + kSymbols[i % kSymbols.size()]);
    EXPECT_TRUE(contains(decoded[i], "sequence = " + std::to_string(i + 1) + ",")) << decoded[i];
    EXPECT_TRUE(contains(decoded[i], "symbol = \"" + kSymbols[i % kSymbols.size()] + "\"")) << decoded[i];
    EXPECT_TRUE(contains(decoded[i], "tradeId = " + std::to_string(5000 + i))) << decoded[i];
  }
  EXPECT_EQ((*t)->publish_failures(), 0u);
}

// A journal of trades with sequences from kFirstSeq, then an aggregate trade,
// a book snapshot and a book delta, then one feed-wide status.
class ReplayPublish : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kFirstSeq = 101;
  static constexpr std::size_t kTrades = 30;
  static constexpr std::size_t kRecords = kTrades + 4;

  void SetUp() override {
    journal::Options o;
    o.dir = dir_ / "data";
    o.feed = "binance";
    o.fsync = journal::FsyncPolicy::kNone;
    o.ring_bytes = 1u << 20;
    auto j = journal::Journal::open(o);
    ASSERT_TRUE(j.ok()) << middleware::status_text(j.status());
    middleware::BufferPool pool;
    connector::EnvelopeEncoder encoder(pool);
    std::uint64_t seq = kFirstSeq;
    for (std::size_t i = 0; i < kTrades; ++i, ++seq) {
      const connector::Stamp stamp{seq, 1'000'000 * (i + 1), 2000 + i};
      ASSERT_TRUE((*j)->append(seq, stamp.mono_ns, connector::kEnvelopeRecordType,
                               encoder.encode_trade(stamp, "binance", trade(i))));
    }
    // The other kinds, on the subjects the live connector uses (agg_trade, book).
    connector::TradeEvent agg = trade(0);
    agg.aggregate = true;
    const connector::PriceLevel bid{{100, 0}, {2, 0}}, ask{{101, 0}, {3, 0}};
    connector::BookSnapshotEvent snap;
    snap.symbol = kSymbols[1];
    snap.last_update_id = 7;
    snap.bids = std::span(&bid, 1);
    snap.asks = std::span(&ask, 1);
    connector::BookDeltaEvent delta;
    delta.symbol = kSymbols[1];
    delta.first_update_id = delta.last_update_id = 8;
    delta.bids = std::span(&bid, 1);
    for (std::uint64_t k = 0; k < 3; ++k, ++seq) {
      const connector::Stamp s{seq, 1'000'000 * (kTrades + 1 + k), 3000 + k};
      const auto bytes = k == 0 ? encoder.encode_trade(s, "binance", agg)
                         : k == 1 ? encoder.encode_book_snapshot(s, "binance", snap)
                                  : encoder.encode_book_delta(s, "binance", delta);
      ASSERT_TRUE((*j)->append(seq, s.mono_ns, connector::kEnvelopeRecordType, bytes));
    }
    const connector::Stamp stamp{seq, 1'000'000 * (kTrades + 4), 9000};
    ASSERT_TRUE((*j)->append(seq, stamp.mono_ns, connector::kEnvelopeRecordType,
                             encoder.encode_status(stamp, "binance",
                                                   {connector::StatusKind::kHeartbeat, {}, 0, 0, 0, "alive"})));
    ASSERT_TRUE((*j)->close().ok());
  }

  testing::CommandResult replay(const std::vector<std::string>& args) {
    std::vector<std::string> argv{TICKWIRE_BINARY, "replay", (dir_ / "data").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }

  // check_envelopes: every journal record arrived, in order, on its subject,
  // and decodes (with capnp) to its original sequence.
  void check_envelopes(const std::vector<Received>& got) {
    ASSERT_EQ(got.size(), kRecords);
    const auto decoded = capnp_decode(dir_, got);
    ASSERT_EQ(decoded.size(), kRecords);
    for (std::size_t i = 0; i < kTrades; ++i) {
      EXPECT_EQ(got[i].subject, "dev.binance.trade." + kSymbols[i % kSymbols.size()]);
      EXPECT_TRUE(contains(decoded[i], "sequence = " + std::to_string(kFirstSeq + i) + ",")) << decoded[i];
      EXPECT_TRUE(contains(decoded[i], "tradeId = " + std::to_string(5000 + i))) << decoded[i];
    }
    EXPECT_EQ(got[kTrades].subject, "dev.binance.agg_trade." + kSymbols[0]);
    EXPECT_EQ(got[kTrades + 1].subject, "dev.binance.book." + kSymbols[1]);
    EXPECT_EQ(got[kTrades + 2].subject, "dev.binance.book." + kSymbols[1]);
    EXPECT_EQ(got.back().subject, "dev.binance.status._feed");
    EXPECT_TRUE(contains(decoded.back(), "sequence = " + std::to_string(kFirstSeq + kTrades + 3) + ","));
    EXPECT_TRUE(contains(decoded.back(), "detail = \"alive\""));
  }

  TempDir dir_{"tickwire-replay-publish"};
};

TEST_F(ReplayPublish, RepublishesTheJournalToNatsWithTheOriginalSequences) {
  NatsServer server;
  NodeSubscriber node(server.url(), "dev.>", kRecords);
  auto r = replay({"--publish", server.url(), "--speed", "max"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "{\"target\":\"" + server.url() + "\",\"published\":" + std::to_string(kRecords) +
                       ",\"failures\":0,\"skipped\":0,\"undecodable\":0,\"damage\":0}\n");
  check_envelopes(node.messages());
}

TEST_F(ReplayPublish, RepublishesIntoAJetStreamStreamThatALaterSubscriberReplays) {
  NatsServer server(NatsServer::Options{.jetstream = true});
  auto r = replay({"--publish", server.url(), "--speed", "max", "--env", "prod", "--stream", "REPLAYED"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  NodeSubscriber node(server.url(), "prod.binance.>", kRecords, "REPLAYED");
  auto got = node.messages();
  for (auto& m : got) m.subject.replace(0, 4, "dev");  // the same check as for env "dev"
  check_envelopes(got);
}

TEST_F(ReplayPublish, PacedReplayDeliversEveryEnvelope) {
  NatsServer server;
  NodeSubscriber node(server.url(), "dev.>", kRecords);
  // The records are 1 ms apart; at 10x the replay paces them 100 us apart.
  auto r = replay({"--publish", server.url(), "--speed", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  check_envelopes(node.messages());
}

TEST_F(ReplayPublish, InprocSubscriberCountsEveryEnvelope) {
  auto r = replay({"--publish", "inproc", "--speed", "max"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "{\"target\":\"inproc\",\"published\":" + std::to_string(kRecords) +
                       ",\"failures\":0,\"skipped\":0,\"undecodable\":0,\"damage\":0,\"received\":" +
                       std::to_string(kRecords) + ",\"dropped\":0}\n");
}

TEST_F(ReplayPublish, RepublishesIntoASharedMemoryTransportThatAReaderReplaysFromTheOldest) {
  const std::string name = (dir_ / "shm-replay").string();  // a name with a '/' is a path
  auto r = replay({"--publish", "shm:" + name, "--speed", "max"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  middleware::ShmTransportOptions o;
  o.name = name;
  auto reader = middleware::SharedMemoryTransport::attach(o);
  ASSERT_TRUE(reader.ok()) << middleware::status_text(reader.status());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Received> got;
  auto id = (*reader)->subscribe(
      ">",
      [&](const middleware::Message& m) {
        std::lock_guard lock(mu);
        got.push_back({std::string(m.subject),
                       std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()), m.sequence});
        cv.notify_all();
      },
      middleware::StartAt::kOldest);
  ASSERT_TRUE(id.ok()) << middleware::status_text(id.status());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return got.size() >= kRecords; }));
  }
  (*reader)->unsubscribe(*id);
  check_envelopes(got);
  // One sequence: the transport's is the Envelope's (the journal starts at kFirstSeq), not a count from 1.
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].sequence, kFirstSeq + i) << got[i].subject;
}

TEST_F(ReplayPublish, RejectsABadTargetOrSpeedAndReportsAnUnreachableServer) {
  EXPECT_EQ(replay({"--publish", "carrier-pigeon"}).exit_code, 2);
  EXPECT_EQ(replay({"--publish", "inproc", "--speed", "fast"}).exit_code, 2);
  EXPECT_EQ(replay({"--publish", "inproc", "--speed", "-1"}).exit_code, 2);
  const std::string url = "nats://127.0.0.1:" + std::to_string(testing::free_loopback_port());
  auto r = run_command({"/bin/sh", "-c",
                        std::string("'") + TICKWIRE_BINARY + "' replay '" + (dir_ / "data").string() +
                            "' --publish " + url + " 2>&1"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.out, url + ": connect")) << r.out;
}

}  // namespace
}  // namespace tickwire
