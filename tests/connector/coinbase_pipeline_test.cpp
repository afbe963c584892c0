// The real FeedPipeline on Coinbase Advanced Trade frames (handed in as the
// session would, without a connection): level2 books kept whole by the
// connection's one sequence_num (a jump on any channel is a feed gap and a gap
// of every book, which is invalid until its next snapshot), heartbeats and
// subscriptions replies counted in that sequence, the market_trades snapshot
// of recent trades never journaled as new (also across reconnects), tickers
// as quotes. Every record the pipeline publishes is decoded.
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

class CoinbasePipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    journal::Options jo;
    jo.dir = dir_.path() / "journal";
    jo.feed = "cb";
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

  std::unique_ptr<FeedPipeline> make(std::vector<std::string> channels) {
    config::FeedConfig feed;
    feed.name = "cb";
    feed.exchange = "coinbase";
    feed.url = "wss://advanced-trade-ws.coinbase.com";
    feed.symbols = {"BTC-USD", "ETH-USD"};
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
  static proto::Envelope::Reader env(capnp::FlatArrayMessageReader& r) { return r.getRoot<proto::Envelope>(); }

  static std::string envelope(std::string_view channel, std::uint64_t seq, std::string_view events) {
    return R"({"channel":")" + std::string(channel) + R"(","client_id":"","timestamp":"2026-04-07T14:30:00.5Z","sequence_num":)" +
           std::to_string(seq) + R"(,"events":)" + std::string(events) + "}";
  }
  // l2: one l2_data event of `product`; levels as "bid:price:qty" / "offer:price:qty".
  static std::string l2(std::uint64_t seq, std::string_view type, std::string_view product,
                        std::vector<std::string> levels) {
    std::string updates;
    for (const auto& l : levels) {
      const auto a = l.find(':');
      const auto b = l.find(':', a + 1);
      if (!updates.empty()) updates += ',';
      updates += R"({"side":")" + l.substr(0, a) + R"(","event_time":"2026-04-07T14:30:00Z","price_level":")" +
                 l.substr(a + 1, b - a - 1) + R"(","new_quantity":")" + l.substr(b + 1) + R"("})";
    }
    return envelope("l2_data", seq,
                    R"([{"type":")" + std::string(type) + R"(","product_id":")" + std::string(product) +
                        R"(","updates":[)" + updates + "]}]");
  }
  static std::string heartbeat(std::uint64_t seq) {
    return envelope("heartbeats", seq, R"([{"current_time":"now","heartbeat_counter":"7"}])");
  }
  static std::string trades(std::uint64_t seq, std::string_view type, std::vector<std::uint64_t> ids) {
    std::string list;
    for (auto id : ids) {
      if (!list.empty()) list += ',';
      list += R"({"trade_id":")" + std::to_string(id) + R"(","product_id":"BTC-USD","price":"100.5","size":"0.25","side":"SELL","time":"2026-04-07T14:30:00Z"})";
    }
    return envelope("market_trades", seq, R"([{"type":")" + std::string(type) + R"(","trades":[)" + list + "]}]");
  }
  // trade_ids: the trade ids among `records`, in order.
  static std::vector<std::uint64_t> trade_ids(std::vector<Recorder::Record>& records) {
    std::vector<std::uint64_t> ids;
    for (auto& rec : records) {
      capnp::FlatArrayMessageReader r(kj::arrayPtr(rec.words.data(), rec.words.size()));
      if (env(r).which() == proto::Envelope::TRADE) ids.push_back(env(r).getTrade().getTradeId());
    }
    return ids;
  }

  testing::TempDir dir_{"tickwire-coinbase-pipeline"};
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Sequencer> sequencer_;
  Recorder recorder_;
  PipelineCounters counters_;
  middleware::Profiler profiler_;
  middleware::BufferPool buffers_;
};

TEST_F(CoinbasePipeline, ASnapshotSyncsTheBookAndUpdatesApplyAcrossOtherChannelsMessages) {
  auto p = make({"level2", "market_trades"});
  feed(*p, envelope("subscriptions", 0, R"([{"subscriptions":{"level2":["BTC-USD"]}}])"));
  feed(*p, heartbeat(1));
  feed(*p, l2(2, "snapshot", "BTC-USD", {"bid:100.5:1", "bid:100:2", "offer:101:3", "offer:102:4"}));
  auto records = taken();
  ASSERT_EQ(records.size(), 2u);
  {
    capnp::FlatArrayMessageReader r(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
    ASSERT_EQ(env(r).which(), proto::Envelope::BOOK_SNAPSHOT);
    EXPECT_EQ(records[0].subject, "test.cb.book.BTC-USD");
    EXPECT_EQ(env(r).getBookSnapshot().getLastUpdateId(), 2u);
    EXPECT_EQ(env(r).getBookSnapshot().getBids().size(), 2u);
    capnp::FlatArrayMessageReader s(kj::arrayPtr(records[1].words.data(), records[1].words.size()));
    EXPECT_EQ(env(s).getStatus().getKind(), proto::Status::Kind::RESYNC);
  }
  feed(*p, heartbeat(3));
  feed(*p, trades(4, "update", {501}));
  // Sequence 5: the book's next update, 3 after its snapshot: no gap (the others were heartbeats and trades).
  feed(*p, l2(5, "update", "BTC-USD", {"bid:100.5:0", "bid:99.5:7", "offer:101:1.5"}));
  records = taken();
  ASSERT_EQ(records.size(), 2u);
  capnp::FlatArrayMessageReader r(kj::arrayPtr(records[1].words.data(), records[1].words.size()));
  ASSERT_EQ(env(r).which(), proto::Envelope::BOOK_DELTA);
  EXPECT_EQ(env(r).getBookDelta().getLastUpdateId(), 5u);
  const book::OrderBook* book = p->book("BTC-USD");
  ASSERT_NE(book, nullptr);
  EXPECT_EQ(book->levels(book::BookSide::kBid),
            (std::vector<PriceLevel>{{Decimal{100, 0}, Decimal{2, 0}}, {Decimal{995, -1}, Decimal{7, 0}}}));
  EXPECT_EQ(book->levels(book::BookSide::kAsk),
            (std::vector<PriceLevel>{{Decimal{101, 0}, Decimal{15, -1}}, {Decimal{102, 0}, Decimal{4, 0}}}));
  EXPECT_EQ(counters_.gaps.load(), 0u);
  EXPECT_EQ(counters_.rejected.load(), 0u);
}

TEST_F(CoinbasePipeline, AJumpInTheConnectionSequenceIsAGapForEveryBookOnIt) {
  auto p = make({"level2"});
  feed(*p, l2(0, "snapshot", "BTC-USD", {"bid:100:1", "offer:101:1"}));
  feed(*p, l2(1, "snapshot", "ETH-USD", {"bid:10:1", "offer:11:1"}));
  feed(*p, heartbeat(2));
  ASSERT_NE(p->book("BTC-USD"), nullptr);
  ASSERT_NE(p->book("ETH-USD"), nullptr);
  taken();
  // 3 and 4 are lost (a heartbeat's number is as good as a book's): both books are suspect.
  feed(*p, heartbeat(5));
  auto records = taken();
  ASSERT_EQ(records.size(), 3u);
  capnp::FlatArrayMessageReader f(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
  ASSERT_EQ(env(f).which(), proto::Envelope::STATUS);
  EXPECT_EQ(records[0].subject, "test.cb.status._feed");
  EXPECT_EQ(env(f).getStatus().getKind(), proto::Status::Kind::GAP);
  EXPECT_EQ(env(f).getStatus().getFromId(), 3u);
  EXPECT_EQ(env(f).getStatus().getToId(), 4u);
  EXPECT_EQ(env(f).getStatus().getCount(), 2u);
  EXPECT_STREQ(env(f).getStatus().getDetail().cStr(), "connection 1: sequence_num 3..4 missing (2 messages lost)");
  for (std::size_t i = 1; i < 3; ++i) {
    capnp::FlatArrayMessageReader b(kj::arrayPtr(records[i].words.data(), records[i].words.size()));
    EXPECT_EQ(env(b).getStatus().getKind(), proto::Status::Kind::GAP);
    EXPECT_STREQ(env(b).getStatus().getDetail().cStr(),
                 "book messages lost on connection 1 (sequence_num 3..4); resubscribing");
  }
  EXPECT_EQ(records[1].subject, "test.cb.status.BTC-USD");
  EXPECT_EQ(records[2].subject, "test.cb.status.ETH-USD");
  EXPECT_EQ(p->book("BTC-USD"), nullptr);
  EXPECT_EQ(p->book("ETH-USD"), nullptr);
  // An update before the resubscribed snapshot is not applied to a book that may have missed one.
  feed(*p, l2(6, "update", "BTC-USD", {"bid:100:5"}));
  EXPECT_TRUE(taken().empty());
  EXPECT_EQ(p->book("BTC-USD"), nullptr);
  // The resubscription's snapshot makes the book whole again.
  feed(*p, l2(7, "snapshot", "BTC-USD", {"bid:100:4", "offer:101:1"}));
  records = taken();
  ASSERT_EQ(records.size(), 2u);
  ASSERT_NE(p->book("BTC-USD"), nullptr);
  EXPECT_EQ(p->book("BTC-USD")->levels(book::BookSide::kBid), (std::vector<PriceLevel>{{Decimal{100, 0}, Decimal{4, 0}}}));
  EXPECT_EQ(counters_.gaps.load(), 1u);
}

// A frame rejected for its content still holds its place in the
// connection's count: the frame after it is not a jump, and no book is
// resubscribed for it.
TEST_F(CoinbasePipeline, ARejectedFrameStillCountsInTheConnectionSequence) {
  auto p = make({"level2", "ticker"});
  feed(*p, l2(0, "snapshot", "BTC-USD", {"bid:100:1", "offer:101:1"}));
  ASSERT_NE(p->book("BTC-USD"), nullptr);
  taken();
  // 1: a ticker without best_bid (as Coinbase has sent), rejected.
  feed(*p, envelope("ticker", 1, R"([{"type":"update","tickers":[{"type":"ticker","product_id":"BTC-USD","price":"100.5"}]}])"));
  EXPECT_EQ(counters_.rejected.load(), 1u);
  feed(*p, heartbeat(2));
  feed(*p, l2(3, "update", "BTC-USD", {"bid:100:2"}));
  EXPECT_EQ(counters_.gaps.load(), 0u);
  ASSERT_NE(p->book("BTC-USD"), nullptr);
  EXPECT_EQ(p->book("BTC-USD")->levels(book::BookSide::kBid), (std::vector<PriceLevel>{{Decimal{100, 0}, Decimal{2, 0}}}));
  // A rejected frame that jumps is still a jump: 4..5 are lost.
  feed(*p, envelope("ticker", 6, R"([{"type":"update","tickers":[{"type":"ticker","product_id":"BTC-USD"}]}])"));
  EXPECT_EQ(counters_.rejected.load(), 2u);
  EXPECT_EQ(counters_.gaps.load(), 1u);
  EXPECT_EQ(p->book("BTC-USD"), nullptr) << "its book is resubscribed";
}

TEST_F(CoinbasePipeline, ANewConnectionStartsItsOwnSequenceAndItsBooksFromItsSnapshots) {
  auto p = make({"level2"});
  feed(*p, l2(0, "snapshot", "BTC-USD", {"bid:100:1", "offer:101:1"}));
  feed(*p, l2(1, "update", "BTC-USD", {"bid:100:2"}));
  p->on_connected();  // a reconnect: generation 2 counts from 0 again
  EXPECT_EQ(p->book("BTC-USD"), nullptr) << "the book is the old connection's until its snapshot";
  taken();
  feed(*p, heartbeat(0), 2);
  feed(*p, l2(1, "snapshot", "BTC-USD", {"bid:100:3", "offer:101:1"}), 2);
  feed(*p, l2(2, "update", "BTC-USD", {"bid:100:4"}), 2);
  ASSERT_NE(p->book("BTC-USD"), nullptr);
  EXPECT_EQ(p->book("BTC-USD")->levels(book::BookSide::kBid), (std::vector<PriceLevel>{{Decimal{100, 0}, Decimal{4, 0}}}));
  EXPECT_EQ(counters_.gaps.load(), 0u) << "a new connection's count is not a jump of the old one's";
}

TEST_F(CoinbasePipeline, TheTradeSnapshotIsNeverJournaledAsNewAlsoAcrossReconnects) {
  auto p = make({"market_trades"});
  // The first connection's snapshot: trades from before the feed began, not journaled.
  feed(*p, trades(0, "snapshot", {105, 104, 103}));
  auto records = taken();
  EXPECT_TRUE(trade_ids(records).empty());
  feed(*p, trades(1, "update", {106, 107}));
  records = taken();
  EXPECT_EQ(trade_ids(records), (std::vector<std::uint64_t>{106, 107}));
  // Reconnect: the snapshot repeats 105..107 and holds 108 and 109, missed meanwhile.
  p->on_connected();
  taken();
  feed(*p, trades(0, "snapshot", {109, 108, 107, 106, 105}), 2);
  records = taken();
  EXPECT_EQ(trade_ids(records), (std::vector<std::uint64_t>{108, 109}));
  feed(*p, trades(1, "update", {109, 110}), 2);
  records = taken();
  EXPECT_EQ(trade_ids(records), (std::vector<std::uint64_t>{110}));
  // Another reconnect whose snapshot holds nothing new journals nothing.
  p->on_connected();
  taken();
  feed(*p, trades(0, "snapshot", {110, 109}), 3);
  records = taken();
  EXPECT_TRUE(trade_ids(records).empty());
}

TEST_F(CoinbasePipeline, TickersBecomeQuotesAndAnErrorMessageAStatus) {
  auto p = make({"ticker"});
  feed(*p, envelope("ticker", 0,
                    R"([{"type":"snapshot","tickers":[{"type":"ticker","product_id":"ETH-USD","price":"10.5","best_bid":"10.4","best_bid_quantity":"3","best_ask":"10.6","best_ask_quantity":"0.5"}]}])"));
  auto records = taken();
  ASSERT_EQ(records.size(), 1u);
  capnp::FlatArrayMessageReader q(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
  ASSERT_EQ(env(q).which(), proto::Envelope::QUOTE);
  EXPECT_EQ(records[0].subject, "test.cb.quote.ETH-USD");
  feed(*p, R"({"type":"error","message":"failure to subscribe"})");
  records = taken();
  ASSERT_EQ(records.size(), 1u);
  capnp::FlatArrayMessageReader e(kj::arrayPtr(records[0].words.data(), records[0].words.size()));
  EXPECT_EQ(env(e).getStatus().getKind(), proto::Status::Kind::REJECTED);
  EXPECT_NE(std::string(env(e).getStatus().getDetail().cStr()).find("failure to subscribe"), std::string::npos);
}

}  // namespace
}  // namespace tickwire::connector
