// BookRebuilder: the rules `replay --books` rebuilds books by, record by
// record, on Envelopes the connector's own encoder makes.
#include "tickwire/connector/book/book_rebuilder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/middleware/buffer_pool.hpp"

namespace tickwire::connector::book {
namespace {

PriceLevel level(std::int64_t price, std::int64_t size) { return {Decimal{price, 0}, Decimal{size, 0}}; }

// Journal: records as the connector would journal them, fed to a rebuilder.
class Journal {
 public:
  explicit Journal(BookRebuilder& rebuilder) : rebuilder_(rebuilder), encoder_(pool_) {}

  absl::Status snapshot(std::string_view symbol, std::uint64_t id, std::vector<PriceLevel> bids,
                        std::vector<PriceLevel> asks, std::string_view feed = "binance") {
    return put(encoder_.encode_book_snapshot(next(), feed, BookSnapshotEvent{symbol, id, bids, asks}));
  }
  absl::Status delta(std::string_view symbol, std::uint64_t id, std::vector<PriceLevel> bids,
                     std::vector<PriceLevel> asks, std::string_view feed = "binance") {
    BookDeltaEvent d;
    d.symbol = symbol;
    d.first_update_id = id;
    d.last_update_id = id;
    d.bids = bids;
    d.asks = asks;
    return put(encoder_.encode_book_delta(next(), feed, d));
  }
  absl::Status status(StatusKind kind, std::string_view symbol, std::uint64_t count, std::string_view detail,
                      std::string_view feed = "binance") {
    return put(encoder_.encode_status(next(), feed, StatusEvent{kind, symbol, 0, 0, count, detail}));
  }
  absl::Status journal_gap() {
    const Stamp s = next();
    return rebuilder_.apply(journal::RecordView{s.sequence, s.mono_ns, s.wall_ns, journal::kTypeGap, {}, true});
  }
  std::uint64_t last_seq() const { return seq_; }

 private:
  Stamp next() {
    ++seq_;
    return Stamp{seq_, seq_ * 10, seq_ * 100};
  }
  absl::Status put(std::span<const std::byte> bytes) {
    return rebuilder_.apply(journal::RecordView{seq_, seq_ * 10, seq_ * 100, kEnvelopeRecordType, bytes});
  }

  BookRebuilder& rebuilder_;
  middleware::BufferPool pool_;
  EnvelopeEncoder encoder_;
  std::uint64_t seq_ = 0;
};

TEST(BookRebuilder, ASnapshotThenDeltasGiveTheBookStampedWithTheLastChange) {
  BookRebuilder r;
  Journal j(r);
  ASSERT_TRUE(j.snapshot("BTCUSDT", 100, {level(10, 1), level(9, 2)}, {level(11, 3), level(12, 4)}).ok());
  ASSERT_TRUE(j.delta("BTCUSDT", 101, {level(10, 0), level(8, 5)}, {level(11, 7)}).ok());
  ASSERT_TRUE(j.status(StatusKind::kHeartbeat, {}, 2, {}).ok());
  const auto books = r.books();
  ASSERT_EQ(books.size(), 1u);
  const auto& b = books[0];
  EXPECT_EQ(b.feed, "binance");
  EXPECT_EQ(b.symbol, "BTCUSDT");
  EXPECT_EQ(b.last_update_id, 101u);
  EXPECT_EQ(b.seq, 2u);  // the delta, not the heartbeat after it
  EXPECT_EQ(b.wall_ns, 200u);
  EXPECT_EQ(b.bids, (std::vector<PriceLevel>{level(9, 2), level(8, 5)}));
  EXPECT_EQ(b.asks, (std::vector<PriceLevel>{level(11, 7), level(12, 4)}));
  EXPECT_FALSE(r.needs_earlier_start());
}

TEST(BookRebuilder, ABookGapHidesTheBookUntilItsNextSnapshotButATradeGapDoesNot) {
  BookRebuilder r;
  Journal j(r);
  ASSERT_TRUE(j.snapshot("BTCUSDT", 100, {level(10, 1)}, {level(11, 1)}).ok());
  ASSERT_TRUE(j.snapshot("ETHUSDT", 500, {level(20, 1)}, {level(21, 1)}).ok());
  ASSERT_TRUE(j.status(StatusKind::kGap, "ETHUSDT", 3, "trade ids missing: 7..9 (3)").ok());
  ASSERT_TRUE(j.status(StatusKind::kRejected, "ETHUSDT", 1, "trade 5: price and size must be positive").ok());
  ASSERT_TRUE(j.status(StatusKind::kGap, "BTCUSDT", 5, "book update ids missing: 101..105; resyncing").ok());
  ASSERT_TRUE(j.delta("BTCUSDT", 106, {level(10, 9)}, {}).ok());  // not journaled by the connector; ignored
  auto books = r.books();
  ASSERT_EQ(books.size(), 1u);
  EXPECT_EQ(books[0].symbol, "ETHUSDT");
  EXPECT_FALSE(r.needs_earlier_start());  // the gap said what the BTC book is: gone
  ASSERT_TRUE(j.snapshot("BTCUSDT", 110, {level(10, 4)}, {level(11, 4)}).ok());
  books = r.books();
  ASSERT_EQ(books.size(), 2u);
  EXPECT_EQ(books[0].symbol, "BTCUSDT");
  EXPECT_EQ(books[0].last_update_id, 110u);
  EXPECT_EQ(books[0].bids, std::vector<PriceLevel>{level(10, 4)});
}

TEST(BookRebuilder, ARestartedConnectorsBooksStartOverButAReconnectKeepsThem) {
  BookRebuilder r;
  Journal j(r);
  ASSERT_TRUE(j.snapshot("BTCUSDT", 100, {level(10, 1)}, {level(11, 1)}).ok());
  ASSERT_TRUE(j.snapshot("BTCUSDT", 7, {level(1, 1)}, {level(2, 1)}, "other").ok());
  ASSERT_TRUE(j.status(StatusKind::kDisconnected, {}, 0, "connection reset").ok());
  ASSERT_TRUE(j.status(StatusKind::kConnected, {}, 2, "ws://127.0.0.1/stream").ok());  // a reconnect
  EXPECT_EQ(r.books().size(), 2u);
  ASSERT_TRUE(j.status(StatusKind::kConnected, {}, 1, "ws://127.0.0.1/stream").ok());  // a new process
  auto books = r.books();
  ASSERT_EQ(books.size(), 1u);
  EXPECT_EQ(books[0].feed, "other");
  // A journal written before the count existed says 0: also a start.
  ASSERT_TRUE(j.status(StatusKind::kConnected, {}, 0, "ws://127.0.0.1/stream", "other").ok());
  EXPECT_TRUE(r.books().empty());
  ASSERT_TRUE(j.delta("BTCUSDT", 101, {level(10, 2)}, {}).ok());
  EXPECT_FALSE(r.needs_earlier_start());
}

TEST(BookRebuilder, LostRecordsHideEveryBookAndUndecodableOnesAreNamed) {
  BookRebuilder r;
  Journal j(r);
  ASSERT_TRUE(j.snapshot("BTCUSDT", 100, {level(10, 1)}, {level(11, 1)}).ok());
  ASSERT_TRUE(j.journal_gap().ok());
  EXPECT_TRUE(r.books().empty());
  ASSERT_TRUE(j.snapshot("BTCUSDT", 120, {level(10, 1)}, {level(11, 1)}).ok());
  EXPECT_EQ(r.books().size(), 1u);
  const std::vector<std::byte> junk(24, std::byte{0xff});
  const auto bad = r.apply(journal::RecordView{99, 0, 0, kEnvelopeRecordType, junk});
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("seq 99"), std::string_view::npos) << bad;
  EXPECT_TRUE(r.books().empty());
}

TEST(BookRebuilder, ADeltaBeforeAnyOfItsBooksSnapshotsAsksForAnEarlierStart) {
  BookRebuilder r;
  Journal j(r);
  ASSERT_TRUE(j.delta("BTCUSDT", 101, {level(10, 2)}, {}).ok());
  EXPECT_TRUE(r.needs_earlier_start());
  EXPECT_TRUE(r.books().empty());
}

}  // namespace
}  // namespace tickwire::connector::book
