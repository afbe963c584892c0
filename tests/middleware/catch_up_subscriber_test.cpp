// CatchUpSubscriber against a real journal and real rings: a "connector" in
// the test journals each Envelope and publishes it with the same sequence,
// as tickwire run does; the subscriber must end with exactly the journal's
// records, in order, once each.
#include "tickwire/middleware/catch_up_subscriber.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/shm_transport.hpp"
#include "tickwire/proto/market_data.capnp.h"

namespace tickwire::middleware {
namespace {

using testing::TempDir;

constexpr auto kDeadline = std::chrono::seconds(30);

std::vector<std::byte> envelope(std::uint64_t seq, const std::string& symbol) {
  capnp::MallocMessageBuilder message;
  auto e = message.initRoot<proto::Envelope>();
  e.setSequence(seq);
  e.setFeed("binance");
  e.setSymbol(symbol);
  e.initTrade().setTradeId(seq);
  const auto words = capnp::messageToFlatArray(message);
  const auto bytes = words.asBytes();
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.begin(), bytes.size());
  return out;
}

// Connector: journals and publishes records with one sequence.
class Connector {
 public:
  Connector(const std::filesystem::path& dir, Transport& transport) : transport_(transport) {
    journal::Options o;
    o.dir = dir;
    o.ring_bytes = 1u << 20;
    o.segment_bytes = 1u << 20;
    o.flusher_affinity_required = false;
    auto j = journal::Journal::open(o);
    if (!j.ok()) throw std::runtime_error(std::string(j.status().message()));
    journal_ = std::move(*j);
    next_ = journal_->next_seq();
  }
  ~Connector() { (void)journal_->close(); }
  // emit: n records; the symbol alternates so a pattern can filter.
  // Without `journal`, the records exist on the ring only.
  void emit(int n, bool publish = true, bool journal = true) {
    for (int i = 0; i < n; ++i, ++next_) {
      const auto bytes = envelope(next_, next_ % 2 == 0 ? "BTCUSDT" : "ETHUSDT");
      if (journal) {
        ASSERT_TRUE(journal_->append(next_, next_, 1, bytes));
      }
      if (publish) {
        transport_.publish_at(next_, next_ % 2 == 0 ? "t.binance.trade.BTCUSDT" : "t.binance.trade.ETHUSDT", bytes);
      }
    }
  }
  std::uint64_t last() const { return next_ - 1; }

 private:
  Transport& transport_;
  std::unique_ptr<journal::Journal> journal_;
  std::uint64_t next_ = 1;
};

// Received: what the subscriber delivered, checked against the journal.
struct Received {
  std::vector<std::uint64_t> sequences;
  std::vector<std::string> subjects;
  std::uint64_t lost = 0;
  Handler handler() {
    return [this](const Message& m) {
      sequences.push_back(m.sequence);
      subjects.emplace_back(m.subject);
    };
  }
  GapHandler on_lost() {
    return [this](std::uint64_t from, std::uint64_t to) { lost += to - from + 1; };
  }
};

// poll_until: polls until `last` was delivered or the deadline passes.
void poll_until(CatchUpSubscriber& sub, Received& got, std::uint64_t last) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while ((got.sequences.empty() || got.sequences.back() < last) && std::chrono::steady_clock::now() < deadline) {
    auto n = sub.poll(got.handler(), got.on_lost());
    ASSERT_TRUE(n.ok()) << n.status();
  }
}

ShmTransportOptions shm_options(const std::string& path) {
  ShmTransportOptions o;
  o.name = path;
  o.capacity = 1u << 16;
  return o;
}

void expect_exactly(const Received& got, std::uint64_t first, std::uint64_t last) {
  ASSERT_EQ(got.sequences.size(), last - first + 1);
  for (std::size_t i = 0; i < got.sequences.size(); ++i) ASSERT_EQ(got.sequences[i], first + i);
  EXPECT_EQ(got.lost, 0u);
}

TEST(CatchUpSubscriber, StartsFromASequenceInTheJournalAndMergesIntoLiveWithoutGapOrDuplicate) {
  TempDir dir;
  InProcessTransport ring;
  Connector connector(dir.path(), ring);
  connector.emit(500);  // before the subscriber: only the journal has these
  CatchUpOptions o;
  o.journal_dir = dir.path();
  o.env = "t";
  o.from_seq = 100;
  auto sub = CatchUpSubscriber::open(ring, o);
  ASSERT_TRUE(sub.ok()) << sub.status();
  Received got;
  // Records arrive while it catches up: some reach it from the journal, the rest live.
  for (int round = 0; round < 20; ++round) {
    connector.emit(50);
    auto n = (*sub)->poll(got.handler(), got.on_lost(), 20);
    ASSERT_TRUE(n.ok()) << n.status();
  }
  poll_until(**sub, got, connector.last());
  // Records only the ring has: delivered only once it has merged into live.
  connector.emit(5, true, false);
  poll_until(**sub, got, connector.last());
  expect_exactly(got, 100, connector.last());
  EXPECT_TRUE((*sub)->live());
  EXPECT_GT((*sub)->stats().from_journal, 0u);
  EXPECT_GE((*sub)->stats().from_live, 5u);
  EXPECT_EQ(got.subjects.front(), "t.binance.trade.BTCUSDT");  // seq 100: even
}

TEST(CatchUpSubscriber, DeliversOnlyTheMatchingSubjectsFromBothSources) {
  TempDir dir;
  InProcessTransport ring;
  Connector connector(dir.path(), ring);
  connector.emit(100);
  CatchUpOptions o;
  o.journal_dir = dir.path();
  o.env = "t";
  o.pattern = "t.binance.trade.ETHUSDT";
  o.from_seq = 1;
  auto sub = CatchUpSubscriber::open(ring, o);
  ASSERT_TRUE(sub.ok()) << sub.status();
  Received got;
  connector.emit(101);
  poll_until(**sub, got, connector.last());
  ASSERT_EQ(got.sequences.size(), 101u);  // the odd sequences of 1..201
  for (std::size_t i = 0; i < got.sequences.size(); ++i) {
    EXPECT_EQ(got.sequences[i], 2 * i + 1);
    EXPECT_EQ(got.subjects[i], "t.binance.trade.ETHUSDT");
  }
}

TEST(CatchUpSubscriber, LappedSubscriberRefillsItsGapFromTheJournal) {
  TempDir dir;
  InProcessTransport ring(InProcessOptions{BroadcastLayout::kMinCapacity * 16});
  Connector connector(dir.path(), ring);
  CatchUpOptions o;
  o.journal_dir = dir.path();
  o.env = "t";
  auto sub = CatchUpSubscriber::open(ring, o);  // live from now
  ASSERT_TRUE(sub.ok()) << sub.status();
  Received got;
  connector.emit(10);
  poll_until(**sub, got, connector.last());
  // Far more than the ring holds while the subscriber does not read: lapped.
  connector.emit(5000);
  connector.emit(10);
  poll_until(**sub, got, connector.last());
  expect_exactly(got, 1, connector.last());
  EXPECT_GE((*sub)->stats().refills, 1u);
  EXPECT_GT((*sub)->stats().from_journal, 0u);
  EXPECT_TRUE((*sub)->live());
}

TEST(CatchUpSubscriber, SeesAPublisherRestartAsANewEpochAndContinuesWithoutGap) {
  TempDir dir;
  const std::string shm = (dir.path() / "shm-ring").string();  // "ring" is the journal's own file
  std::uint64_t last = 0;
  Received got;
  std::unique_ptr<CatchUpSubscriber> sub;
  std::unique_ptr<SharedMemoryTransport> reader;
  {
    auto writer = SharedMemoryTransport::create(shm_options(shm));
    ASSERT_TRUE(writer.ok()) << writer.status();
    auto r = SharedMemoryTransport::attach(shm_options(shm));
    ASSERT_TRUE(r.ok()) << r.status();
    reader = *std::move(r);
    CatchUpOptions o;
    o.journal_dir = dir.path();
    o.env = "t";
    o.from_seq = 1;
    auto s = CatchUpSubscriber::open(*reader, o);
    ASSERT_TRUE(s.ok()) << s.status();
    sub = *std::move(s);
    Connector first(dir.path(), **writer);
    first.emit(200);
    poll_until(*sub, got, first.last());
    first.emit(300);  // not read before the restart
    last = first.last();
  }
  // The restarted connector continues from the journal, on a new ring epoch.
  auto writer = SharedMemoryTransport::create(shm_options(shm));
  ASSERT_TRUE(writer.ok()) << writer.status();
  Connector second(dir.path(), **writer);
  second.emit(100);
  EXPECT_EQ(second.last(), last + 100);
  poll_until(*sub, got, second.last());
  expect_exactly(got, 1, second.last());
  EXPECT_EQ(sub->stats().epochs, 1u);
}

TEST(CatchUpSubscriber, RejectsAnInvalidPattern) {
  TempDir dir;
  InProcessTransport ring;
  CatchUpOptions o;
  o.journal_dir = dir.path();
  o.pattern = "a..b";
  auto sub = CatchUpSubscriber::open(ring, o);
  ASSERT_FALSE(sub.ok());
  EXPECT_NE(std::string(sub.status().message()).find("a..b"), std::string::npos);
}

}  // namespace
}  // namespace tickwire::middleware
