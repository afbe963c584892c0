// The real FeedPipeline on Kraken v2 frames (handed in as the session would,
// without a connection): books under BookIntegrity::kStreamChecksum (held
// untrusted until the instrument channel gives the precisions, Kraken's
// documented book verified, a corrupted checksum journaled as a gap naming
// both values, the book cut to depth with the cut journaled as deletes),
// trade ids that step by one. Every record the pipeline publishes is decoded.
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <string>
#include <vector>

#include "tickwire/proto/market_data.capnp.h"
#include "support/temp_dir.hpp"
#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/venues/kraken/checksum.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {
namespace {

// Recorder: a Transport that keeps every published message.
class Recorder final : public middleware::Transport {
 public:
  struct Record {
    std::string subject;
    std::vector<capnp::word> words;
  };
  std::uint64_t publish(std::string_view, std::span<const std::byte>) override { return 0; }
  bool publish_at(std::uint64_t, std::string_view subject, std::span<const std::byte> payload) override {
    Record r{std::string(subject), std::vector<capnp::word>(payload.size() / sizeof(capnp::word))};
    std::memcpy(r.words.data(), payload.data(), r.words.size() * sizeof(capnp::word));
    records.push_back(std::move(r));
    return true;
  }
  absl::StatusOr<middleware::SubscriptionId> subscribe(std::string_view, middleware::Handler) override { return 0; }
  absl::StatusOr<middleware::SubscriptionId> subscribe(std::string_view, middleware::Handler,
                                                       middleware::GapHandler) override {
    return 0;
  }
  void unsubscribe(middleware::SubscriptionId) override {}
  middleware::SubscriberStats stats(middleware::SubscriptionId) const override { return {}; }

  std::vector<Record> records;
};

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "kraken" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string instrument(std::string_view symbol, int price_precision, int qty_precision) {
  return R"({"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":")" + std::string(symbol) +
         R"(","base":"X","quote":"USD","status":"online","qty_precision":)" + std::to_string(qty_precision) +
         R"(,"price_precision":)" + std::to_string(price_precision) + R"(,"price_increment":0.0001}]}})";
}

// Price `p` tenths, quantity `q` units.
PriceLevel lvl(std::int64_t p, std::int64_t q) { return {Decimal{p, -1}, Decimal{q, 0}}; }

std::string levels_json(const std::vector<PriceLevel>& levels) {
  std::string out = "[";
  for (const PriceLevel& l : levels) {
    if (out.size() > 1) out += ',';
    out += R"({"price":)" + middleware::to_string(l.price) + R"(,"qty":)" + middleware::to_string(l.size) + "}";
  }
  return out + "]";
}

std::string book_frame(std::string_view type, const std::vector<PriceLevel>& bids, const std::vector<PriceLevel>& asks,
                       std::uint32_t checksum) {
  return R"({"channel":"book","type":")" + std::string(type) + R"(","data":[{"symbol":"BTC/USD","bids":)" +
         levels_json(bids) + R"(,"asks":)" + levels_json(asks) + R"(,"checksum":)" + std::to_string(checksum) +
         R"(,"timestamp":"2023-10-06T17:35:55.440295Z"}]})";
}

// trade_frame: one BTC/USD trade update with this trade_id.
std::string trade_frame(std::uint64_t id) {
  return R"({"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":100.5,"qty":0.25,)"
         R"("ord_type":"market","trade_id":)" + std::to_string(id) + R"(,"timestamp":"2023-10-06T17:35:55.440295Z"}]})";
}

class KrakenPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    journal::Options jo;
    jo.dir = dir_.path() / "journal";
    jo.feed = "kr";
    jo.fsync = journal::FsyncPolicy::kNone;
    jo.ring_bytes = 16u << 20;
    jo.segment_bytes = 64u << 20;
    auto journal = journal::Journal::open(jo);
    ASSERT_TRUE(journal.ok()) << journal.status();
    journal_ = std::move(*journal);
    sequencer_ = std::make_unique<Sequencer>(journal_->next_seq());
  }
  void TearDown() override {
    if (journal_) {
      EXPECT_TRUE(journal_->close().ok());
    }
  }

  std::unique_ptr<FeedPipeline> make(std::vector<std::string> symbols, std::vector<std::string> channels) {
    config::FeedConfig feed;
    feed.name = "kr";
    feed.exchange = "kraken";
    feed.url = "wss://ws.kraken.com/v2";
    feed.symbols = std::move(symbols);
    feed.channels = std::move(channels);
    feed.subscribe = "message";
    auto p = std::make_unique<FeedPipeline>(
        feed, "test", PipelineContext{*sequencer_, recorder_, *journal_, counters_, profiler_, buffers_});
    EXPECT_TRUE(p->ok().ok()) << p->ok();
    return p;
  }
  void feed(FeedPipeline& p, std::string text, std::uint32_t generation = 1) {
    const std::size_t n = text.size();
    text.append(simdjson::SIMDJSON_PADDING, ' ');
    p.on_frame(text.data(), n, middleware::TscClock::now_ticks(), generation);
  }
  std::vector<Recorder::Record> taken() {
    std::vector<Recorder::Record> out = std::move(recorder_.records);
    recorder_.records.clear();
    return out;
  }

  testing::TempDir dir_{"tickwire-kraken-pipeline"};
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Sequencer> sequencer_;
  Recorder recorder_;
  PipelineCounters counters_;
  middleware::Profiler profiler_;
  middleware::BufferPool buffers_;
};

// which: the kind of a published record, and for a Status its detail.
struct Seen {
  proto::Envelope::Which which;
  std::string detail;
  proto::Status::Kind status = proto::Status::Kind::HEARTBEAT;
};

std::vector<Seen> seen(const std::vector<Recorder::Record>& records) {
  std::vector<Seen> out;
  for (const auto& rec : records) {
    capnp::FlatArrayMessageReader r(kj::arrayPtr(rec.words.data(), rec.words.size()));
    const auto e = r.getRoot<proto::Envelope>();
    Seen s{e.which(), {}};
    if (e.which() == proto::Envelope::STATUS) {
      s.detail = e.getStatus().getDetail().cStr();
      s.status = e.getStatus().getKind();
    }
    out.push_back(std::move(s));
  }
  return out;
}

TEST_F(KrakenPipeline, TheDocumentedBookIsTrustedOnceTheInstrumentGivesItsPrecisionThenEachUpdateIsChecked) {
  auto lines = fixture_lines("v2_book.docs.json");
  if (lines.empty()) GTEST_SKIP() << "fixture kraken/v2_book.docs.json not found under " << TICKWIRE_FIXTURES_DIR;
  auto p = make({"MATIC/USD"}, {"instrument", "book.10"});
  feed(*p, lines[0]);  // before the instrument channel: held, not trusted
  EXPECT_TRUE(taken().empty());
  EXPECT_EQ(p->book("MATIC/USD"), nullptr);
  feed(*p, instrument("MATIC/USD", 4, 8));
  feed(*p, lines[0]);
  auto records = seen(taken());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].which, proto::Envelope::BOOK_SNAPSHOT);
  EXPECT_EQ(records[1].status, proto::Status::Kind::RESYNC);
  EXPECT_EQ(records[1].detail, "book synced from the stream's snapshot at message 2 (checksum 2439117997)");
  feed(*p, lines[1]);
  records = seen(taken());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].which, proto::Envelope::BOOK_DELTA);
  ASSERT_NE(p->book("MATIC/USD"), nullptr);
  EXPECT_EQ(p->book("MATIC/USD")->depth(book::BookSide::kBid), 10u);
  EXPECT_EQ(counters_.gaps.load(), 0u);
}

TEST_F(KrakenPipeline, ACorruptedChecksumIsAGapNamingBothValuesAndTheBookIsDropped) {
  auto p = make({"BTC/USD"}, {"instrument", "book.10"});
  feed(*p, instrument("BTC/USD", 1, 8));
  const std::vector<PriceLevel> bids = {lvl(1000, 1), lvl(999, 2)};
  const std::vector<PriceLevel> asks = {lvl(1010, 1), lvl(1011, 2)};
  feed(*p, book_frame("snapshot", bids, asks, venues::kraken::book_checksum(asks, bids, 1, 8)));
  ASSERT_NE(p->book("BTC/USD"), nullptr);
  (void)taken();
  const std::vector<PriceLevel> after = {lvl(1000, 3), lvl(999, 2)};
  const std::uint32_t right = venues::kraken::book_checksum(asks, after, 1, 8);
  feed(*p, book_frame("update", {lvl(1000, 3)}, {}, right ^ 1u));
  const auto records = seen(taken());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, proto::Status::Kind::GAP);
  EXPECT_EQ(records[0].detail, "book checksum mismatch at message 2: expected " + std::to_string(right ^ 1u) +
                                   ", computed " + std::to_string(right) + "; resubscribing");
  EXPECT_EQ(p->book("BTC/USD"), nullptr);
  EXPECT_EQ(counters_.gaps.load(), 1u);
  // Updates without a book are dropped until the resubscription's snapshot.
  feed(*p, book_frame("update", {lvl(1000, 4)}, {}, 0));
  EXPECT_TRUE(taken().empty());
  feed(*p, book_frame("snapshot", bids, asks, venues::kraken::book_checksum(asks, bids, 1, 8)));
  EXPECT_NE(p->book("BTC/USD"), nullptr);
}

TEST_F(KrakenPipeline, TheBookIsCutToItsDepthAndTheCutIsJournaledAsADelete) {
  auto p = make({"BTC/USD"}, {"instrument", "book.10"});
  feed(*p, instrument("BTC/USD", 1, 8));
  std::vector<PriceLevel> bids, asks;
  for (int i = 0; i < 10; ++i) {
    bids.push_back(lvl(1000 - i, 1 + i));
    asks.push_back(lvl(1010 + i, 1 + i));
  }
  feed(*p, book_frame("snapshot", bids, asks, venues::kraken::book_checksum(asks, bids, 1, 8)));
  (void)taken();
  // A better bid: Kraken's book of 10 drops 99.1 and sends no delete for it.
  std::vector<PriceLevel> after = bids;
  after.insert(after.begin(), lvl(1005, 7));
  after.pop_back();
  feed(*p, book_frame("update", {lvl(1005, 7)}, {}, venues::kraken::book_checksum(asks, after, 1, 8)));
  const auto records = taken();
  ASSERT_EQ(records.size(), 1u) << "no mismatch: the book was cut before the checksum";
  capnp::FlatArrayMessageReader r(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
  const auto delta = r.getRoot<proto::Envelope>().getBookDelta();
  ASSERT_EQ(delta.getBids().size(), 2u);
  EXPECT_EQ(delta.getBids()[1].getPrice().getMantissa(), 991);
  EXPECT_EQ(delta.getBids()[1].getPrice().getExponent(), -1);
  EXPECT_EQ(delta.getBids()[1].getSize().getMantissa(), 0) << "a delete";
  ASSERT_NE(p->book("BTC/USD"), nullptr);
  EXPECT_EQ(p->book("BTC/USD")->levels(book::BookSide::kBid), after);
}

TEST_F(KrakenPipeline, TradeIdsStepByOneAndAJumpIsJournaledAsAGap) {
  auto p = make({"BTC/USD"}, {"trade"});
  feed(*p, trade_frame(10));
  feed(*p, trade_frame(11));
  feed(*p, trade_frame(11));
  feed(*p, trade_frame(14));
  const auto records = seen(taken());
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].which, proto::Envelope::TRADE);
  EXPECT_EQ(records[1].which, proto::Envelope::TRADE);
  EXPECT_EQ(records[2].status, proto::Status::Kind::GAP);
  EXPECT_EQ(records[3].which, proto::Envelope::TRADE);
  EXPECT_EQ(counters_.duplicates.load(), 1u);
  EXPECT_EQ(counters_.gaps.load(), 1u);
}

// A rollover's new connection delivers data before its subscription is
// complete (Kraken: its trade snapshot and updates, before the last ack). Seen
// on a loaded host: it was ahead of the old connection, its trade was taken
// for a jump in the old one's ids (a gap), and the old one's delivery of the
// trades between was then dropped as a repeat: lost. From its first frame the
// candidate's trades ahead are held back; the old connection delivers them.
TEST_F(KrakenPipeline, ANewConnectionsTradesAheadBeforeItsRolloverStartsAreHeldForTheOldOne) {
  auto p = make({"BTC/USD"}, {"trade"});
  feed(*p, trade_frame(10));
  p->on_rollover_candidate(1, 2);
  feed(*p, trade_frame(12), 2);  // the new connection, ahead: held
  feed(*p, trade_frame(13), 2);
  feed(*p, trade_frame(11));     // the old one catches up
  feed(*p, trade_frame(12));
  feed(*p, trade_frame(13));
  feed(*p, trade_frame(14), 2);  // the new one is next: it has overlapped
  p->on_rollover_started(1, 2, "test");
  feed(*p, trade_frame(14));     // the old one repeats: dropped
  feed(*p, trade_frame(15), 2);
  p->on_rollover_finished(1, 2, true);
  std::vector<std::uint64_t> ids;
  for (const auto& rec : taken()) {
    capnp::FlatArrayMessageReader r(kj::arrayPtr(rec.words.data(), rec.words.size()));
    const auto e = r.getRoot<proto::Envelope>();
    if (e.which() == proto::Envelope::TRADE) ids.push_back(e.getTrade().getTradeId());
    if (e.which() == proto::Envelope::STATUS) {
      EXPECT_NE(e.getStatus().getKind(), proto::Status::Kind::GAP) << e.getStatus().getDetail().cStr();
    }
  }
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(counters_.gaps.load(), 0u);
}

// A candidate that never got subscribed: the old connection stays the only
// one, and a later connection's ids are judged as the primary's again.
TEST_F(KrakenPipeline, AFailedRolloverCandidateLeavesTheOldConnectionAlone) {
  auto p = make({"BTC/USD"}, {"trade"});
  feed(*p, trade_frame(10));
  p->on_rollover_candidate(1, 2);
  feed(*p, trade_frame(12), 2);  // held
  p->on_rollover_failed(2, "test");
  feed(*p, trade_frame(11));
  feed(*p, trade_frame(13));  // after the failure a jump on the old connection is a gap again
  const auto records = seen(taken());
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].which, proto::Envelope::TRADE);
  EXPECT_EQ(records[1].which, proto::Envelope::TRADE);
  EXPECT_EQ(records[2].status, proto::Status::Kind::GAP);
  EXPECT_EQ(records[3].which, proto::Envelope::TRADE);
}

}  // namespace
}  // namespace tickwire::connector
