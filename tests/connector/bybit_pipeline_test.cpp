// The real FeedPipeline on Bybit frames (handed in as the session would,
// without a connection): in-stream books under BookIntegrity::kStreamSequence
// (snapshot, deltas by u, a repeated level-1 snapshot, a u = 1 restart, a u
// jump), trade batches whose seq repeats, merged linear tickers. Every record
// the pipeline publishes is decoded (the journal gets the same bytes).
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>

#include <string>
#include <vector>

#include "tickwire/proto/market_data.capnp.h"
#include "support/temp_dir.hpp"
#include "tickwire/connector/feed_pipeline.hpp"
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

class BybitPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    journal::Options jo;
    jo.dir = dir_.path() / "journal";
    jo.feed = "by";
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

  std::unique_ptr<FeedPipeline> make(const std::string& category, std::vector<std::string> channels) {
    config::FeedConfig feed;
    feed.name = "by";
    feed.exchange = "bybit";
    feed.category = category;
    feed.url = "wss://stream.bybit.com/v5/public/" + category;
    feed.symbols = {"BTCUSDT", "ETHUSDT"};
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
  // taken: the records published since the last call, as readers.
  std::vector<Recorder::Record> taken() {
    std::vector<Recorder::Record> out = std::move(recorder_.records);
    recorder_.records.clear();
    return out;
  }
  static proto::Envelope::Reader env(capnp::FlatArrayMessageReader& r) { return r.getRoot<proto::Envelope>(); }

  static std::string book_frame(std::string_view type, std::uint64_t u, std::string_view bids, std::string_view asks,
                                std::uint64_t seq = 0, std::string_view depth = "50") {
    return R"({"topic":"orderbook.)" + std::string(depth) + R"(.BTCUSDT","type":")" + std::string(type) +
           R"(","ts":1700000000000,"data":{"s":"BTCUSDT","b":)" +
           std::string(bids) + R"(,"a":)" + std::string(asks) + R"(,"u":)" + std::to_string(u) + R"(,"seq":)" +
           std::to_string(seq) + R"(},"cts":1700000000000})";
  }

  testing::TempDir dir_{"tickwire-bybit-pipeline"};
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Sequencer> sequencer_;
  Recorder recorder_;
  PipelineCounters counters_;
  middleware::Profiler profiler_;
  middleware::BufferPool buffers_;
};

TEST_F(BybitPipeline, ASnapshotSyncsTheBookAndDeltasByUApplyWithTheirSeq) {
  auto p = make("linear", {"orderbook.50"});
  EXPECT_EQ(p->book("BTCUSDT"), nullptr);
  feed(*p, book_frame("snapshot", 100, R"([["10.0","1"],["9.5","2"]])", R"([["11","3"]])", 5000));
  auto records = taken();
  ASSERT_EQ(records.size(), 2u);
  {
    capnp::FlatArrayMessageReader r(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
    ASSERT_EQ(env(r).which(), proto::Envelope::BOOK_SNAPSHOT);
    EXPECT_EQ(records[0].subject, "test.by.book.BTC-USDT-PERP");
    EXPECT_EQ(env(r).getBookSnapshot().getLastUpdateId(), 100u);
    EXPECT_EQ(env(r).getBookSnapshot().getCrossSequence(), 5000u);
    EXPECT_EQ(env(r).getBookSnapshot().getBids().size(), 2u);
    capnp::FlatArrayMessageReader s(kj::arrayPtr(records[1].words.data(), records[1].words.size()));
    ASSERT_EQ(env(s).which(), proto::Envelope::STATUS);
    EXPECT_EQ(env(s).getStatus().getKind(), proto::Status::Kind::RESYNC);
    EXPECT_STREQ(env(s).getStatus().getDetail().cStr(), "book synced from the stream's snapshot at update id 100");
  }
  // u 101: a new level, a deleted one, and a deletion of a level that is not there (not an error).
  feed(*p, book_frame("delta", 101, R"([["9.8","4"],["9.5","0"]])", R"([["12","0"]])", 5001));
  records = taken();
  ASSERT_EQ(records.size(), 1u);
  capnp::FlatArrayMessageReader r(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
  ASSERT_EQ(env(r).which(), proto::Envelope::BOOK_DELTA);
  EXPECT_EQ(env(r).getBookDelta().getLastUpdateId(), 101u);
  EXPECT_EQ(env(r).getBookDelta().getCrossSequence(), 5001u);
  const book::OrderBook* book = p->book("BTCUSDT");
  ASSERT_NE(book, nullptr);
  EXPECT_EQ(book->levels(book::BookSide::kBid),
            (std::vector<PriceLevel>{{Decimal{100, -1}, Decimal{1, 0}}, {Decimal{98, -1}, Decimal{4, 0}}}));
  EXPECT_EQ(book->levels(book::BookSide::kAsk), (std::vector<PriceLevel>{{Decimal{11, 0}, Decimal{3, 0}}}));
  EXPECT_EQ(counters_.rejected.load(), 0u);
}

TEST_F(BybitPipeline, ARepeatedLevelOneSnapshotIsNotNewData) {
  auto p = make("linear", {"orderbook.50"});
  feed(*p, book_frame("snapshot", 7, R"([["10","1"]])", R"([["11","1"]])"));
  ASSERT_EQ(taken().size(), 2u);
  const auto duplicates = counters_.duplicates.load();
  feed(*p, book_frame("snapshot", 7, R"([["10","1"]])", R"([["11","1"]])"));
  EXPECT_TRUE(taken().empty()) << "the same u again journals nothing";
  EXPECT_EQ(counters_.duplicates.load(), duplicates + 1);
  // A snapshot with another u while the book is valid resets it, and says so.
  feed(*p, book_frame("snapshot", 9, R"([["10","2"]])", R"([["11","1"]])"));
  auto records = taken();
  ASSERT_EQ(records.size(), 2u);
  capnp::FlatArrayMessageReader s(kj::arrayPtr(records[1].words.data(), records[1].words.size()));
  EXPECT_STREQ(env(s).getStatus().getDetail().cStr(),
               "book replaced by a new snapshot in the stream (the venue reset the book) at update id 9");
}

// orderbook.1 is snapshots only: each one with a new u is the top of the
// book as it now stands, journaled as a BookSnapshot without a resync
// Status, and the resync count stays at the first sync's.
TEST_F(BybitPipeline, LevelOneSnapshotsAreRoutineImagesNotVenueResets) {
  auto p = make("linear", {"orderbook.1"});
  feed(*p, book_frame("snapshot", 7, R"([["10","1"]])", R"([["11","1"]])", 0, "1"));
  ASSERT_EQ(taken().size(), 2u) << "the first sync: the book and its resync Status";
  const auto resyncs = counters_.resyncs.load();
  for (std::uint64_t u = 8; u < 12; ++u) {
    feed(*p, book_frame("snapshot", u, R"([[")" + std::to_string(u) + R"(","1"]])", R"([["20","2"]])", 0, "1"));
    auto records = taken();
    ASSERT_EQ(records.size(), 1u) << "u " << u << ": the book alone";
    capnp::FlatArrayMessageReader r(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
    ASSERT_EQ(env(r).which(), proto::Envelope::BOOK_SNAPSHOT);
    EXPECT_EQ(env(r).getBookSnapshot().getLastUpdateId(), u);
  }
  EXPECT_EQ(counters_.resyncs.load(), resyncs);
  EXPECT_EQ(counters_.gaps.load(), 0u);
  EXPECT_EQ(p->book("BTCUSDT")->levels(book::BookSide::kBid), (std::vector<PriceLevel>{{Decimal{11, 0}, Decimal{1, 0}}}));
}

TEST_F(BybitPipeline, AJumpInUIsAGapAndTheBookWaitsForTheResubscribedSnapshot) {
  auto p = make("linear", {"orderbook.50"});
  feed(*p, book_frame("snapshot", 100, R"([["10","1"]])", R"([["11","1"]])"));
  feed(*p, book_frame("delta", 101, R"([["10","2"]])", "[]"));
  taken();
  feed(*p, book_frame("delta", 105, R"([["10","3"]])", "[]"));
  auto records = taken();
  ASSERT_EQ(records.size(), 1u);
  capnp::FlatArrayMessageReader r(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
  ASSERT_EQ(env(r).which(), proto::Envelope::STATUS);
  EXPECT_EQ(env(r).getStatus().getKind(), proto::Status::Kind::GAP);
  EXPECT_EQ(env(r).getStatus().getFromId(), 102u);
  EXPECT_EQ(env(r).getStatus().getToId(), 104u);
  EXPECT_STREQ(env(r).getStatus().getDetail().cStr(), "book update ids missing: 102..104; resubscribing");
  EXPECT_EQ(counters_.gaps.load(), 1u);
  EXPECT_EQ(p->book("BTCUSDT"), nullptr);
  // Deltas before the new snapshot build nothing and journal nothing.
  feed(*p, book_frame("delta", 106, R"([["10","4"]])", "[]"));
  EXPECT_TRUE(taken().empty());
  feed(*p, book_frame("snapshot", 200, R"([["10","5"]])", R"([["11","1"]])"));
  EXPECT_EQ(taken().size(), 2u);
  ASSERT_NE(p->book("BTCUSDT"), nullptr);
  feed(*p, book_frame("delta", 201, R"([["10","6"]])", "[]"));
  EXPECT_EQ(taken().size(), 1u);
  EXPECT_EQ(p->book("BTCUSDT")->levels(book::BookSide::kBid)[0].size, (Decimal{6, 0}));
}

// A rollover's new connection whose subscription snapshot is older than the
// book (its frames waited behind the old connection's; seen on OKX under CPU
// starvation as a gap right after the candidate's snapshot): the snapshot is
// stale and dropped, the old connection's next update applies, and the new
// connection's updates continue the book once past it.
TEST_F(BybitPipeline, ARolloverSnapshotOlderThanTheBookIsStaleNotAReset) {
  auto p = make("linear", {"orderbook.50"});
  feed(*p, book_frame("snapshot", 100, R"([["10","1"]])", R"([["11","1"]])"));
  feed(*p, book_frame("delta", 101, R"([["10","2"]])", "[]"));
  feed(*p, book_frame("delta", 102, R"([["10","3"]])", "[]"));
  taken();
  p->on_rollover_candidate(1, 2);
  feed(*p, book_frame("snapshot", 101, R"([["10","2"]])", R"([["11","1"]])"), 2);  // stale
  EXPECT_TRUE(taken().empty());
  EXPECT_EQ(counters_.duplicates.load(), 1u);
  feed(*p, book_frame("delta", 102, R"([["10","3"]])", "[]"), 2);  // already applied
  feed(*p, book_frame("delta", 103, R"([["10","4"]])", "[]"));     // the old connection goes on
  feed(*p, book_frame("delta", 103, R"([["10","4"]])", "[]"), 2);
  feed(*p, book_frame("delta", 104, R"([["10","5"]])", "[]"), 2);  // the new one continues it
  p->on_rollover_started(1, 2, "test");
  p->on_rollover_finished(1, 2, true);
  std::vector<std::uint64_t> deltas;
  for (const auto& rec : taken()) {
    capnp::FlatArrayMessageReader r(kj::arrayPtr(rec.words.data(), rec.words.size()));
    if (env(r).which() == proto::Envelope::BOOK_DELTA) deltas.push_back(env(r).getBookDelta().getLastUpdateId());
    if (env(r).which() == proto::Envelope::STATUS) {
      EXPECT_NE(env(r).getStatus().getKind(), proto::Status::Kind::GAP) << env(r).getStatus().getDetail().cStr();
    }
  }
  EXPECT_EQ(deltas, (std::vector<std::uint64_t>{103, 104}));
  EXPECT_EQ(counters_.gaps.load(), 0u);
  ASSERT_NE(p->book("BTCUSDT"), nullptr);
  EXPECT_EQ(p->book("BTCUSDT")->levels(book::BookSide::kBid)[0].size, (Decimal{5, 0}));
}

TEST_F(BybitPipeline, ADeltaWithUOneRestartsTheBook) {
  auto p = make("spot", {"orderbook.50"});
  feed(*p, book_frame("snapshot", 500, R"([["10","1"]])", R"([["11","1"]])"));
  taken();
  feed(*p, book_frame("delta", 1, R"([["20","1"],["19","0"]])", R"([["21","2"]])"));
  auto records = taken();
  ASSERT_EQ(records.size(), 2u);
  capnp::FlatArrayMessageReader r(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
  ASSERT_EQ(env(r).which(), proto::Envelope::BOOK_SNAPSHOT);
  EXPECT_EQ(env(r).getBookSnapshot().getLastUpdateId(), 1u);
  EXPECT_EQ(env(r).getBookSnapshot().getBids().size(), 1u) << "the deletion in the restart is not a level";
  capnp::FlatArrayMessageReader s(kj::arrayPtr(records[1].words.data(), records[1].words.size()));
  EXPECT_STREQ(env(s).getStatus().getDetail().cStr(),
               "book replaced: the venue restarted its update ids (u = 1) at update id 1");
  feed(*p, book_frame("delta", 2, R"([["20","3"]])", "[]"));
  EXPECT_EQ(taken().size(), 1u);
  EXPECT_EQ(p->book("BTCUSDT")->levels(book::BookSide::kBid)[0].size, (Decimal{3, 0}));
}

TEST_F(BybitPipeline, TradesSharingASeqAreAllJournaledAndAnOlderSeqIsARepeat) {
  auto p = make("spot", {"publicTrade"});
  const auto trade = [](const char* id, int seq) {
    return std::string(R"({"i":")") + id + R"(","T":1700000000000,"p":"100","v":"1","S":"Buy","s":"BTCUSDT","BT":false,"seq":)" +
           std::to_string(seq) + "}";
  };
  feed(*p, R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1700000000001,"data":[)" + trade("a", 7) + "," +
               trade("b", 7) + "," + trade("c", 8) + "]}");
  feed(*p, R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1700000000002,"data":[)" + trade("d", 8) + "]}");
  const auto records = taken();
  ASSERT_EQ(records.size(), 4u);
  // Each record keeps the trade's own id as sent beside the shared seq.
  const std::vector<std::pair<std::uint64_t, std::string>> expected{{7, "a"}, {7, "b"}, {8, "c"}, {8, "d"}};
  for (std::size_t k = 0; k < records.size(); ++k) {
    capnp::FlatArrayMessageReader r(kj::arrayPtr(records[k].words.data(), records[k].words.size()));
    ASSERT_EQ(env(r).which(), proto::Envelope::TRADE);
    EXPECT_EQ(env(r).getTrade().getTradeId(), expected[k].first) << k;
    EXPECT_EQ(std::string(env(r).getTrade().getTradeIdText().cStr()), expected[k].second) << k;
  }
  EXPECT_EQ(counters_.gaps.load(), 0u);
  feed(*p, R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1700000000003,"data":[)" + trade("e", 6) + "]}");
  EXPECT_TRUE(taken().empty());
  EXPECT_EQ(counters_.duplicates.load(), 1u);
  // A trade for a symbol not configured is rejected, the frame's others still count as its frame's.
  feed(*p, R"({"topic":"publicTrade.XRPUSDT","type":"snapshot","ts":1,"data":[{"i":"x","T":1,"p":"1","v":"1","S":"Buy",)"
           R"("s":"XRPUSDT","seq":1}]})");
  EXPECT_EQ(counters_.unsubscribed.load(), 1u);
}

// received_to_ring: one duration per market record, each from its frame's
// receipt stamp (shared by the trades of one frame) to its journal append;
// none for status records, which no frame brought.
TEST_F(BybitPipeline, EveryMarketRecordOfABatchFrameHasItsReceivedToRingDuration) {
  auto p = make("spot", {"publicTrade"});
  const auto trade = [](const char* id, int seq) {
    return std::string(R"({"i":")") + id + R"(","T":1700000000000,"p":"100","v":"1","S":"Buy","s":"BTCUSDT","BT":false,"seq":)" +
           std::to_string(seq) + "}";
  };
  p->on_connected();
  feed(*p, R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1700000000001,"data":[)" + trade("a", 7) + "," +
               trade("b", 7) + "," + trade("c", 8) + "]}");
  p->flush_profile();
  const auto records = taken();
  const auto report = profiler_.report();
  const auto count = [&](std::string_view name) {
    for (const auto& stage : report.stages) {
      if (stage.name == name) return stage.count;
    }
    return std::uint64_t{0};
  };
  ASSERT_EQ(counters_.messages.load(), 3u);
  EXPECT_GT(records.size(), 3u);  // the trades and the connection's status record
  EXPECT_EQ(count("ring_write"), records.size());
  EXPECT_EQ(count("received_to_ring"), 3u);
}

// stage_sample: stage durations on one frame in N; every record of the
// frames between is still journaled and published.
TEST_F(BybitPipeline, StageDurationsAreTakenOnOneFrameInTheSample) {
  auto p = make("spot", {"publicTrade"});
  p->set_stage_sample(3);
  for (int k = 0; k < 7; ++k) {
    const std::string id = std::to_string(10 + k);
    feed(*p, R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1700000000001,"data":[{"i":")" + id +
                 R"(","T":1700000000000,"p":"100","v":"1","S":"Buy","s":"BTCUSDT","BT":false,"seq":)" + id + "}]}");
  }
  p->flush_profile();
  EXPECT_EQ(taken().size(), 7u);
  EXPECT_EQ(counters_.messages.load(), 7u);
  const auto report = profiler_.report();
  std::size_t checked = 0;
  for (const auto& stage : report.stages) {
    // Frames 1, 4 and 7 of 7.
    if (stage.name == "parse" || stage.name == "encode" || stage.name == "ring_write" ||
        stage.name == "publish" || stage.name == "received_to_ring") {
      EXPECT_EQ(stage.count, 3u) << stage.name;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 5u);
}

TEST_F(BybitPipeline, TheMessageLimitStopsInsideABatch) {
  auto p = make("spot", {"publicTrade"});
  int limited = 0;
  p->set_limit(2, [&] { ++limited; });
  std::string frame = R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1700000000001,"data":[)";
  for (int i = 0; i < 5; ++i) {
    frame += std::string(i ? "," : "") + R"({"i":"t)" + std::to_string(i) +
             R"(","T":1700000000000,"p":"100","v":"1","S":"Buy","s":"BTCUSDT","seq":)" + std::to_string(10 + i) + "}";
  }
  feed(*p, frame + "]}");
  EXPECT_EQ(taken().size(), 2u);
  EXPECT_EQ(counters_.messages.load(), 2u);
  EXPECT_EQ(limited, 1);
}

TEST_F(BybitPipeline, LinearTickersArePublishedAsWholeQuoteFundingAndOpenInterest) {
  auto p = make("linear", {"tickers"});
  feed(*p, R"({"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","markPrice":"100.5",)"
           R"("indexPrice":"100.4","openInterest":"12","nextFundingTime":"1700003600000","fundingRate":"0.0001",)"
           R"("bid1Price":"100","bid1Size":"1","ask1Price":"101","ask1Size":"2"},"cs":1,"ts":1700000000000})");
  auto records = taken();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].subject, "test.by.quote.BTC-USDT-PERP");
  EXPECT_EQ(records[1].subject, "test.by.funding.BTC-USDT-PERP");
  EXPECT_EQ(records[2].subject, "test.by.open_interest.BTC-USDT-PERP");
  feed(*p, R"({"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","ask1Price":"100.9"},)"
           R"("cs":2,"ts":1700000000100})");
  records = taken();
  ASSERT_EQ(records.size(), 1u);
  capnp::FlatArrayMessageReader r(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
  ASSERT_EQ(env(r).which(), proto::Envelope::QUOTE);
  EXPECT_EQ(env(r).getQuote().getBidPrice().getMantissa(), 100);
  EXPECT_EQ(env(r).getQuote().getAskPrice().getMantissa(), 1009);
  EXPECT_EQ(env(r).getQuote().getAskSize().getMantissa(), 2);
}

// A quote whose update id goes back while the exchange's time moves on is the
// venue starting its ids over (OKX's seqId after maintenance; here Bybit's
// cs), accepted and tracked from there; a repeat, which carries its old time,
// is still a duplicate.
TEST_F(BybitPipeline, AQuoteIdThatStartsOverWithANewerTimeIsNotARepeat) {
  auto p = make("linear", {"tickers"});
  const auto ask = [&](const char* price, int cs, std::uint64_t ts) {
    feed(*p, std::string(R"({"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","ask1Price":")") +
                 price + R"("},"cs":)" + std::to_string(cs) + R"(,"ts":)" + std::to_string(ts) + "}");
    return taken().size();
  };
  feed(*p, R"({"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","bid1Price":"100","bid1Size":"1",)"
           R"("ask1Price":"101","ask1Size":"2"},"cs":500,"ts":1700000000000})");
  ASSERT_EQ(taken().size(), 1u);
  EXPECT_EQ(ask("100.9", 501, 1700000000100), 1u);
  // The ids start over at 3, the time moves on: a quote.
  EXPECT_EQ(ask("100.8", 3, 1700000000200), 1u);
  EXPECT_EQ(counters_.duplicates.load(), 0u);
  EXPECT_EQ(ask("100.7", 4, 1700000000300), 1u);
  // A lower id with an older time is a repeat, as before.
  EXPECT_EQ(ask("100.6", 2, 1700000000150), 0u);
  EXPECT_EQ(counters_.duplicates.load(), 1u);
  // So is the same id at the same time.
  EXPECT_EQ(ask("100.5", 4, 1700000000300), 0u);
  EXPECT_EQ(counters_.duplicates.load(), 2u);
}

}  // namespace
}  // namespace tickwire::connector
