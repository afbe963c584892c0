// Proves that the per-message path allocates nothing after warm-up: this
// binary replaces the global operator new/delete with versions that count the
// allocations made by a thread while it has counting switched on. Other
// threads (the journal's flusher, gtest) are not counted.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <random>

#include "support/temp_dir.hpp"
#include "tickwire/connector/book/book_sync.hpp"
#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/venues/binance/parser.hpp"
#include "tickwire/connector/sim_market.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace {

thread_local bool tl_counting = false;
std::atomic<std::uint64_t> g_allocations{0};

void* counted_alloc(std::size_t n, std::size_t align) {
  if (tl_counting) g_allocations.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter read after join
  if (n == 0) n = 1;
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                                : std::malloc(n);
  return p;
}

}  // namespace

// These replacements pair malloc/aligned_alloc with free, which is what they
// are for; g++ cannot see that and warns about every delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n, 0)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n, 0)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = counted_alloc(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = counted_alloc(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace tickwire::connector {
namespace {

constexpr std::size_t kWarmup = 10'000;
constexpr std::size_t kMeasured = 100'000;

// Frames as the websocket session hands them over: the text followed by
// simdjson's padding.
std::vector<std::string> make_frames(std::size_t n) {
  SimMarket market({"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"}, 1000, 11);
  std::vector<std::string> frames;
  frames.reserve(n);
  std::vector<SimMarket::Message> batch;
  while (frames.size() < n) {
    batch.clear();
    market.advance(batch);
    for (auto& m : batch) {
      // Trades only: the depth path needs a REST snapshot (tested in BookPath below).
      if (m.channel != SimChannel::kTrade || frames.size() == n) continue;
      m.text.append(simdjson::SIMDJSON_PADDING, ' ');
      frames.push_back(std::move(m.text));
    }
  }
  return frames;
}

TEST(HotPath, AllocatesNothingPerMessageAfterWarmup) {
  testing::TempDir dir("tickwire-alloc");
  journal::Options jo;
  jo.dir = dir.path() / "journal";
  jo.feed = "binance";
  jo.fsync = journal::FsyncPolicy::kNone;
  jo.ring_bytes = 64u << 20;  // the whole run fits: the producer never waits on the flusher
  jo.segment_bytes = 256u << 20;
  auto journal = journal::Journal::open(jo);
  ASSERT_TRUE(journal.ok()) << journal.status();

  config::FeedConfig feed;
  feed.name = "binance";
  feed.exchange = "binance";
  feed.url = "sim://";
  feed.symbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"};
  Sequencer sequencer((*journal)->next_seq());
  // No subscriber: delivery happens on the subscribers' threads; this test
  // is about the feed thread's path, publishing included.
  middleware::InProcessTransport transport;
  PipelineCounters counters;
  middleware::Profiler profiler;
  middleware::BufferPool buffers;
  FeedPipeline pipeline(feed, "test", {sequencer, transport, **journal, counters, profiler, buffers});
  ASSERT_TRUE(pipeline.ok().ok()) << pipeline.ok();
  middleware::TscClock::global();

  const auto frames = make_frames(kWarmup + kMeasured);
  const std::size_t padding = simdjson::SIMDJSON_PADDING;
  for (std::size_t i = 0; i < kWarmup; ++i) {
    pipeline.on_frame(frames[i].data(), frames[i].size() - padding, middleware::TscClock::now_ticks(), 0);
  }
  tl_counting = true;
  for (std::size_t i = kWarmup; i < frames.size(); ++i) {
    pipeline.on_frame(frames[i].data(), frames[i].size() - padding, middleware::TscClock::now_ticks(), 0);
  }
  tl_counting = false;

  EXPECT_EQ(g_allocations.load(std::memory_order_relaxed), 0u);  // relaxed: same thread
  EXPECT_EQ(counters.messages.load(std::memory_order_relaxed), kWarmup + kMeasured);
  EXPECT_EQ(counters.rejected.load(std::memory_order_relaxed), 0u);
  // The stages were really timed on the measured path: held in the
  // pipeline's batches until flushed (64 at a time, allocation-free).
  EXPECT_LT(kWarmup + kMeasured - profiler.report().stages.at(0).count, middleware::StageBatch::kCapacity);
  pipeline.flush_profile();
  EXPECT_EQ(profiler.report().stages.at(0).count, kWarmup + kMeasured);
  ASSERT_TRUE((*journal)->close().ok());
  EXPECT_EQ((*journal)->stats().flushed_records, kWarmup + kMeasured);
}

// depth_frames: contiguous diff-depth messages for one symbol, levels
// clustered near the top (bids 99.00-99.99, asks 100.01-101.00, so the book
// never crosses), with bookTicker messages in between.
std::vector<std::string> depth_frames(std::size_t n) {
  std::mt19937 rng(5);
  std::vector<std::string> frames;
  frames.reserve(n);
  std::uint64_t id = 1001;
  char buf[64];
  for (std::size_t i = 0; i < n; ++i) {
    std::string f;
    if (i % 4 == 3) {
      std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(id - 1));
      f = std::string(R"({"stream":"btcusdt@bookTicker","data":{"u":)") + buf +
          R"(,"s":"BTCUSDT","b":"99.99000000","B":"1.50000000","a":"100.01000000","A":"2.25000000"}})";
    } else {
      const std::uint64_t first = id;
      const std::uint64_t last = id + rng() % 3;
      id = last + 1;
      f = R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1700000000000,"s":"BTCUSDT","U":)";
      f += std::to_string(first) + ",\"u\":" + std::to_string(last) + ",\"b\":[";
      const auto levels = static_cast<unsigned>(1 + rng() % 12);
      for (unsigned k = 0; k < levels; ++k) {
        std::snprintf(buf, sizeof buf, "%s[\"99.%02u000000\",\"%u.00000000\"]", k ? "," : "", static_cast<unsigned>(99 - rng() % 30),
                      static_cast<unsigned>(rng() % 10));
        f += buf;
      }
      f += R"(],"a":[)";
      for (unsigned k = 0; k < levels; ++k) {
        const auto cents = static_cast<unsigned>(1 + rng() % 30);
        std::snprintf(buf, sizeof buf, "%s[\"%u.%02u000000\",\"%u.00000000\"]", k ? "," : "", 100 + cents / 100,
                      cents % 100, static_cast<unsigned>(rng() % 10));
        f += buf;
      }
      f += "]}}";
    }
    f.append(simdjson::SIMDJSON_PADDING, ' ');
    frames.push_back(std::move(f));
  }
  return frames;
}

// The book path as the pipeline will run it: parse -> BookSync (synced) ->
// encode the delta or quote. Nothing allocates once the parser's level
// vectors, the book and the encoder are warm.
TEST(HotPath, BookPathAllocatesNothingPerMessageAfterWarmup) {
  venues::BinanceParser parser;
  book::BookSync sync;
  middleware::BufferPool buffers;
  EnvelopeEncoder encoder(buffers);
  ASSERT_TRUE(encoder.ok());
  std::string snapshot = R"({"lastUpdateId":1000,"bids":[["99.50000000","3.00000000"]],"asks":[["100.50000000","4.00000000"]]})";
  snapshot.append(simdjson::SIMDJSON_PADDING, ' ');
  auto snap = parser.parse_depth_snapshot(snapshot.data(), snapshot.size() - simdjson::SIMDJSON_PADDING);
  ASSERT_EQ(snap.event, EventKind::kBookSnapshot) << parser.error();
  ASSERT_EQ(sync.on_snapshot(snap.snapshot).outcome, book::SyncOutcome::kSynced);

  const auto frames = depth_frames(kWarmup + kMeasured);
  const std::size_t padding = simdjson::SIMDJSON_PADDING;
  std::uint64_t applied = 0, quotes = 0, encoded_bytes = 0;
  auto run = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      auto m = parser.parse(frames[i].data(), frames[i].size() - padding);
      std::span<const std::byte> bytes;
      if (m.event == EventKind::kBookDelta) {
        applied += sync.on_delta(m.delta).outcome == book::SyncOutcome::kApplied;
        bytes = encoder.encode_book_delta({i, 0, 0}, "binance", m.delta, 0);  // from its template, as the pipeline does
      } else if (m.event == EventKind::kQuote) {
        ++quotes;
        bytes = encoder.encode_quote({i, 0, 0}, "binance", m.quote, 0);
      }
      encoded_bytes += bytes.size();
    }
  };
  run(0, kWarmup);
  tl_counting = true;
  run(kWarmup, frames.size());
  tl_counting = false;

  EXPECT_EQ(g_allocations.load(std::memory_order_relaxed), 0u);  // relaxed: same thread
  EXPECT_EQ(applied + quotes, kWarmup + kMeasured);  // every delta applied: no gap, no crossing
  EXPECT_EQ(sync.counters().gaps, 0u);
  EXPECT_GT(encoded_bytes, 0u);
  EXPECT_GT(sync.book().depth(book::BookSide::kBid), 10u);
}

TEST(HotPath, CountingReallySeesAllocations) {
  tl_counting = true;
  auto* p = new std::string(100, 'x');
  tl_counting = false;
  delete p;
  EXPECT_GE(g_allocations.exchange(0), 1u);
}

}  // namespace
}  // namespace tickwire::connector
