#include "tickwire/middleware/in_process_transport.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/page_faults.hpp"
#include "tickwire/middleware/subject.hpp"
#include "transport_conformance.hpp"

namespace tickwire::middleware {

namespace conformance {
namespace {

struct InProcessFactory {
  static std::unique_ptr<Transport> make(std::size_t buffer_bytes) {
    InProcessOptions options;
    if (buffer_bytes != 0) options.capacity = buffer_bytes;
    return std::make_unique<InProcessTransport>(options);
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(InProcess, TransportConformance, ::testing::Types<InProcessFactory>);

}  // namespace
}  // namespace conformance

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

TEST(Subject, MatchesNatsWildcards) {
  EXPECT_TRUE(subject_matches("prod.binance.trade.BTCUSDT", "prod.binance.trade.BTCUSDT"));
  EXPECT_TRUE(subject_matches("prod.*.trade.*", "prod.binance.trade.BTCUSDT"));
  EXPECT_TRUE(subject_matches("prod.>", "prod.binance.trade.BTCUSDT"));
  EXPECT_FALSE(subject_matches("prod.>", "prod"));
  EXPECT_FALSE(subject_matches("prod.*", "prod.binance.trade"));
  EXPECT_FALSE(subject_matches("prod.binance.trade", "prod.binance.trade.BTCUSDT"));
  EXPECT_FALSE(subject_matches("prod.binance.trade.BTCUSDT.x", "prod.binance.trade.BTCUSDT"));
  EXPECT_FALSE(subject_matches("*.binance.quote.*", "prod.binance.trade.BTCUSDT"));
}

TEST(Subject, ValidatesSubjectsAndPatterns) {
  EXPECT_EQ(make_subject("prod", "binance", "trade", "BTCUSDT"), "prod.binance.trade.BTCUSDT");
  EXPECT_TRUE(is_valid_subject("a.b.c"));
  EXPECT_FALSE(is_valid_subject("a..c"));
  EXPECT_FALSE(is_valid_subject("a.*.c"));
  EXPECT_FALSE(is_valid_subject("a b.c"));
  EXPECT_FALSE(is_valid_subject(""));
  EXPECT_TRUE(is_valid_pattern("a.*.>"));
  EXPECT_FALSE(is_valid_pattern("a.>.c"));
  EXPECT_FALSE(is_valid_pattern("a.b*.c"));
}

TEST(InProcessTransport, PollerDeliversOnTheCallersThreadOnlyMatchingSubjects) {
  InProcessTransport t;
  auto poller = t.open_poller("dev.*.trade.BTC");
  ASSERT_TRUE(poller.ok()) << poller.status();
  t.publish("dev.binance.trade.BTC", bytes("1"));
  t.publish("dev.binance.trade.ETH", bytes("2"));
  t.publish("dev.okx.trade.BTC", bytes("3"));
  std::vector<std::string> got;
  std::vector<std::uint64_t> seqs;
  const int consumed = (*poller)->poll([&](const Message& m) {
    got.emplace_back(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
    seqs.push_back(m.sequence);
  });
  EXPECT_EQ(consumed, 3);
  EXPECT_EQ(got, (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ((*poller)->poll([](const Message&) {}), 0);
  EXPECT_EQ((*poller)->stats().received, 2u);
}

TEST(InProcessTransport, LappedPollerCountsExactlyTheMessagesItLost) {
  InProcessTransport t(InProcessOptions{64 * 1024});
  auto poller = t.open_poller(">");
  ASSERT_TRUE(poller.ok());
  const std::string payload(40, 'x');
  const std::uint64_t n = 10'000;
  for (std::uint64_t i = 0; i < n; ++i) t.publish("dev.binance.trade.BTC", bytes(payload));
  std::uint64_t received = 0;
  std::uint64_t last = 0;
  while ((*poller)->poll([&](const Message& m) {
    EXPECT_GT(m.sequence, last);
    last = m.sequence;
    ++received;
  }) > 0) {
  }
  const SubscriberStats s = (*poller)->stats();
  EXPECT_EQ(last, n);
  EXPECT_EQ(s.received, received);
  EXPECT_GT(s.lapped, 0u);
  EXPECT_EQ(s.received + s.dropped, n);
  EXPECT_LT(received, n);
}

TEST(InProcessTransport, StartAtOldestReplaysWhatTheRingHolds) {
  InProcessTransport t;
  for (int i = 0; i < 5; ++i) t.publish("a.b", bytes(std::to_string(i)));
  auto oldest = t.open_poller(">", StartAt::kOldest);
  auto now = t.open_poller(">", StartAt::kNow);
  ASSERT_TRUE(oldest.ok());
  ASSERT_TRUE(now.ok());
  t.publish("a.b", bytes("5"));
  std::vector<std::uint64_t> from_oldest, from_now;
  (*oldest)->poll([&](const Message& m) { from_oldest.push_back(m.sequence); });
  (*now)->poll([&](const Message& m) { from_now.push_back(m.sequence); });
  EXPECT_EQ(from_oldest, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(from_now, (std::vector<std::uint64_t>{6}));
  EXPECT_EQ((*now)->stats().dropped, 0u);
}

TEST(InProcessTransport, RefusesAMessageLargerThanTheRingAllowsWithoutUsingASequence) {
  InProcessTransport t(InProcessOptions{64 * 1024});
  const std::string big(t.max_message_bytes() + 1, 'x');
  EXPECT_EQ(t.publish("a", bytes(big)), 0u);
  const std::string fits(t.max_message_bytes() - 1, 'x');
  EXPECT_EQ(t.publish("a", bytes(fits)), 1u);
}

TEST(InProcessTransport, PublishesTwoLapsOfItsRingWithoutAPageFault) {
  if (!testing::kFaultsCountable) GTEST_SKIP() << "a sanitizer's shadow memory faults on first touch too";
  // The ring is touched when the transport is made: a publish that reached a
  // page for the first time paid a page fault (tens of microseconds on a VM).
  InProcessOptions options;
  options.capacity = std::size_t{1} << 22;  // 1024 pages
  InProcessTransport t(options);
  const std::string payload(1000, 'p');
  const std::uint64_t before = testing::thread_page_faults();
  std::uint64_t published = 0;
  for (int i = 0; i < 8 * 1024; ++i) published += t.publish("a.b", bytes(payload)) != 0 ? 1 : 0;
  const std::uint64_t faults = testing::thread_page_faults() - before;
  EXPECT_EQ(published, 8u * 1024u);
  EXPECT_LT(faults, 16u) << "publishing 8 MiB through a 4 MiB ring faulted " << faults << " pages in";
}

}  // namespace
}  // namespace tickwire::middleware
