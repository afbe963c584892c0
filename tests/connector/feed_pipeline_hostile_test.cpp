// FeedPipeline against a flood of symbols it never subscribed to (issue 12,
// item 8): every frame is rejected and counted, and no per-symbol state is
// created (symbol states, streams and the interner stay at the configured
// symbols), checked through the pipeline's own sizes and counters.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "support/temp_dir.hpp"
#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {
namespace {

class HostilePipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    journal::Options jo;
    jo.dir = dir_.path() / "journal";
    jo.feed = "f";
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

  std::unique_ptr<FeedPipeline> make(const std::string& exchange) {
    config::FeedConfig feed;
    feed.name = "f";
    feed.exchange = exchange;
    feed.url = "sim://";
    feed.symbols = {"BTCUSDT", "ETHUSDT"};
    feed.channels = {"trade"};
    return std::make_unique<FeedPipeline>(
        feed, "test", PipelineContext{*sequencer_, transport_, *journal_, counters_, profiler_, buffers_});
  }
  void feed(FeedPipeline& p, std::string text) {
    const std::size_t n = text.size();
    text.append(simdjson::SIMDJSON_PADDING, ' ');
    p.on_frame(text.data(), n, middleware::TscClock::now_ticks(), 0);
  }

  testing::TempDir dir_{"tickwire-hostile-pipeline"};
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Sequencer> sequencer_;
  middleware::InProcessTransport transport_;
  PipelineCounters counters_;
  middleware::Profiler profiler_;
  middleware::BufferPool buffers_;
};

TEST_F(HostilePipeline, ManyUnsubscribedSymbolsAreRejectedWithoutCreatingState) {
  auto p = make("binance");
  ASSERT_TRUE(p->ok().ok()) << p->ok();
  const std::size_t states = p->symbol_states();
  const std::size_t streams = p->streams();
  ASSERT_EQ(states, 2u);
  constexpr std::size_t kSymbols = 20'000;
  for (std::size_t i = 0; i < kSymbols; ++i) {
    const std::string symbol = "S" + std::to_string(i) + "USDT";
    feed(*p, R"({"e":"trade","E":1,"s":")" + symbol + R"(","t":1,"p":"1","q":"1","T":1,"m":true})");
  }
  // 1 KiB symbols: rejected by length before any lookup.
  for (std::size_t i = 0; i < 100; ++i) {
    feed(*p, R"({"e":"trade","E":1,"s":")" + std::string(1024, static_cast<char>('A' + i % 26)) +
                 R"(","t":1,"p":"1","q":"1","T":1,"m":true})");
  }
  EXPECT_EQ(counters_.rejected.load(), kSymbols + 100);
  EXPECT_EQ(counters_.unsubscribed.load(), kSymbols);
  EXPECT_EQ(counters_.messages.load(), 0u);
  EXPECT_EQ(counters_.symbols.load(), 2u);
  EXPECT_EQ(p->symbol_states(), states);
  EXPECT_EQ(p->streams(), streams);
  // The subscribed symbols still flow.
  feed(*p, R"({"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true})");
  EXPECT_EQ(counters_.messages.load(), 1u);
}

TEST_F(HostilePipeline, AnUnknownExchangeIsAClearError) {
  auto p = make("deribit");
  ASSERT_FALSE(p->ok().ok());
  EXPECT_NE(p->ok().message().find("\"deribit\""), std::string::npos) << p->ok();
}

TEST_F(HostilePipeline, TheExchangeTimeLagIsAGauge) {
  auto p = make("binance");
  ASSERT_TRUE(p->ok().ok());
  // An event stamped 1970 + 1 ms: the lag is about "now" and over any threshold.
  feed(*p, R"({"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true})");
  EXPECT_GT(counters_.lag_ms.load(), 1'000'000'000);
  EXPECT_EQ(counters_.lag_warnings.load(), 1u);
  // Still lagging: no second warning.
  feed(*p, R"({"e":"trade","E":2,"s":"BTCUSDT","t":2,"p":"1","q":"1","T":2,"m":true})");
  EXPECT_EQ(counters_.lag_warnings.load(), 1u);
}

}  // namespace
}  // namespace tickwire::connector
