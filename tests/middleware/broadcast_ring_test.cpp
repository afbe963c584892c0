#include "tickwire/middleware/broadcast_ring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <new>
#include <thread>
#include <vector>

namespace tickwire::middleware {
namespace {

#if defined(TICKWIRE_TSAN)
constexpr std::uint64_t kStressRecords = 40'000;
#else
constexpr std::uint64_t kStressRecords = 1'000'000;
#endif

// Cache-line aligned memory standing in for a shared-memory mapping.
class Region {
 public:
  explicit Region(std::size_t capacity)
      : size_(BroadcastLayout::required_bytes(capacity)),
        bytes_(static_cast<std::byte*>(::operator new(size_, std::align_val_t{kCacheLineSize}))) {
    std::memset(bytes_.get(), 0, size_);
  }
  std::span<std::byte> span() { return {bytes_.get(), size_}; }

 private:
  struct Free {
    void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{kCacheLineSize}); }
  };
  std::size_t size_;
  std::unique_ptr<std::byte, Free> bytes_;
};

// Self-checking payloads: the first 8 bytes are the seq (when they fit), every
// other byte is a function of seq and index, and the type is the size.
std::size_t size_for(std::uint64_t seq, std::size_t max_payload) {
  return static_cast<std::size_t>((seq * 37) % (max_payload + 1));
}

std::byte pattern(std::uint64_t seq, std::size_t i) {
  return static_cast<std::byte>((seq * 131 + i * 7 + 11) & 0xFF);
}

void fill(std::vector<std::byte>& buf, std::uint64_t seq, std::size_t size) {
  buf.resize(size);
  for (std::size_t i = 0; i < size; ++i) buf[i] = pattern(seq, i);
  if (size >= 8) std::memcpy(buf.data(), &seq, 8);
}

bool publish_checked(BroadcastWriter& w, std::vector<std::byte>& buf) {
  const std::uint64_t seq = w.records_published();
  const std::size_t size = size_for(seq, w.max_payload());
  fill(buf, seq, size);
  return w.publish(static_cast<std::uint32_t>(size), buf);
}

// True if payload holds what fill() writes for seq.
bool verify_content(std::uint64_t seq, std::span<const std::byte> payload) {
  std::size_t i = 0;
  if (payload.size() >= 8) {
    std::uint64_t embedded;
    std::memcpy(&embedded, payload.data(), 8);
    if (embedded != seq) return false;
    i = 8;
  }
  for (; i < payload.size(); ++i) {
    if (payload[i] != pattern(seq, i)) return false;
  }
  return true;
}

// True if the record is exactly what publish_checked wrote for r.seq.
bool verify(const ReadResult& r, std::span<const std::byte> payload, std::size_t max_payload) {
  return r.status == ReadStatus::kRecord && r.length == size_for(r.seq, max_payload) && r.type == r.length &&
         payload.size() == r.length && verify_content(r.seq, payload);
}

BroadcastWriter make_writer(Region& region, std::uint64_t epoch = 1) {
  auto w = BroadcastWriter::create(region.span(), epoch);
  EXPECT_TRUE(w.ok()) << w.status();
  return *std::move(w);
}

BroadcastReader make_reader(Region& region, BroadcastReaderOptions options = {}) {
  auto r = BroadcastReader::attach(region.span(), options);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

TEST(BroadcastRing, RejectsMemoryThatIsMisalignedOrNotAPowerOfTwo) {
  Region region(4096);
  auto span = region.span();
  EXPECT_FALSE(BroadcastWriter::create(span.subspan(8), 1).ok());
  EXPECT_FALSE(BroadcastWriter::create(span.first(span.size() - 64), 1).ok());
  EXPECT_FALSE(BroadcastWriter::create(span.first(BroadcastLayout::required_bytes(512)), 1).ok());
  const auto status = BroadcastWriter::create(span.first(span.size() - 64), 1).status();
  EXPECT_NE(std::string(status.message()).find("power-of-two"), std::string::npos) << status;
}

TEST(BroadcastRing, AttachFailsOnMemoryNoWriterFormatted) {
  Region region(4096);
  const auto r = BroadcastReader::attach(region.span());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("magic"), std::string::npos) << r.status();
}

TEST(BroadcastRing, PublishRejectsOversizedPayloadsAndThePaddingType) {
  Region region(4096);
  BroadcastWriter w = make_writer(region);
  std::vector<std::byte> big(w.max_payload() + 1);
  EXPECT_FALSE(w.publish(1, big));
  EXPECT_FALSE(w.publish(BroadcastLayout::kPaddingType, std::span<const std::byte>(big).first(8)));
  EXPECT_TRUE(w.publish(1, std::span<const std::byte>(big).first(w.max_payload())));
  EXPECT_EQ(w.records_published(), 1u);
}

TEST(BroadcastRing, DeliversRecordsOfEverySizeAcrossManyWrapArounds) {
  Region region(4096);
  BroadcastWriter w = make_writer(region);
  BroadcastReader r = make_reader(region);
  std::vector<std::byte> buf;
  std::vector<std::byte> out(w.max_payload());
  for (std::uint64_t i = 0; i < 20'000; ++i) {
    ASSERT_TRUE(publish_checked(w, buf));
    const ReadResult res = r.try_read(out);
    ASSERT_EQ(res.status, ReadStatus::kRecord);
    ASSERT_EQ(res.seq, i);
    ASSERT_TRUE(verify(res, std::span(out).first(res.length), w.max_payload())) << i;
    ASSERT_EQ(r.try_read(out).status, ReadStatus::kEmpty);
  }
  EXPECT_GT(w.position(), 100u * 4096u);  // wrapped around a hundred times and more
  EXPECT_EQ(r.lapped_count(), 0u);
  EXPECT_EQ(r.lost_records(), 0u);
  EXPECT_EQ(r.position(), w.position());
}

TEST(BroadcastRing, ReadersAtDifferentSpeedsEachSeeEveryRecordTheyKeepUpWith) {
  Region region(8192);
  BroadcastWriter w = make_writer(region);
  std::vector<BroadcastReader> readers;
  for (int i = 0; i < 3; ++i) readers.push_back(make_reader(region));
  const int every[3] = {1, 3, 7};  // reader i drains after every every[i] publishes
  std::vector<std::uint64_t> next_seq(3, 0);
  std::vector<std::byte> buf;
  for (std::uint64_t n = 1; n <= 5000; ++n) {
    // Records of at most 64 bytes: 7 of them never fill an 8 KiB ring.
    const std::uint64_t seq = w.records_published();
    const std::size_t size = size_for(seq, 64);
    fill(buf, seq, size);
    ASSERT_TRUE(w.publish(static_cast<std::uint32_t>(size), buf));
    for (std::size_t i = 0; i < 3; ++i) {
      if (n % static_cast<std::uint64_t>(every[i]) != 0) continue;
      readers[i].poll([&](std::uint32_t type, std::span<const std::byte> payload, std::uint64_t s) {
        EXPECT_EQ(s, next_seq[i]);
        EXPECT_TRUE(verify({ReadStatus::kRecord, type, static_cast<std::uint32_t>(payload.size()), s}, payload, 64));
        next_seq[i] = s + 1;
      }, 1000);
    }
  }
  for (std::size_t i = 0; i < 3; ++i) {
    readers[i].poll([&](std::uint32_t, std::span<const std::byte>, std::uint64_t s) { next_seq[i] = s + 1; }, 1000);
    EXPECT_EQ(next_seq[i], 5000u) << i;
    EXPECT_EQ(readers[i].lapped_count(), 0u) << i;
    EXPECT_EQ(readers[i].lost_records(), 0u) << i;
  }
}

TEST(BroadcastRing, ALappedReaderCountsTheLossAndResumesAtTheOldestIntactRecord) {
  constexpr std::size_t kCapacity = 4096;
  Region region(kCapacity);
  BroadcastWriter w = make_writer(region);
  BroadcastReader r = make_reader(region);
  std::vector<std::byte> out(w.max_payload());
  std::vector<std::byte> buf;

  // Every record is 64 payload bytes (80 in the ring); remember where each starts.
  std::vector<std::uint64_t> starts;
  auto publish64 = [&] {
    const std::uint64_t seq = w.records_published();
    fill(buf, seq, 64);
    const std::uint64_t before = w.position();
    const std::uint64_t room = kCapacity - (before % kCapacity);
    starts.push_back(room < 80 ? before + room : before);
    ASSERT_TRUE(w.publish(64, buf));
  };
  publish64();
  ReadResult res = r.try_read(out);
  ASSERT_EQ(res.status, ReadStatus::kRecord);
  EXPECT_EQ(res.seq, 0u);

  for (int i = 0; i < 200; ++i) publish64();  // 16,000 bytes: laps the reader ~4 times
  const std::uint64_t lowest = w.position() - kCapacity;
  std::uint64_t oldest = 0;
  while (starts[oldest] < lowest) ++oldest;

  res = r.try_read(out);
  ASSERT_EQ(res.status, ReadStatus::kRecord);
  EXPECT_EQ(r.lapped_count(), 1u);
  // Resumed at the oldest intact record, up to one checkpoint block later.
  const std::uint64_t block = kCapacity / BroadcastLayout::kCheckpoints;
  EXPECT_GE(res.seq, oldest);
  EXPECT_LT(starts[res.seq] - lowest, block + 80);
  EXPECT_EQ(r.lost_records(), res.seq - 1);
  EXPECT_EQ(r.lost_bytes(), starts[res.seq] - 80);
  EXPECT_EQ(res.length, 64u);
  EXPECT_TRUE(verify_content(res.seq, std::span(out).first(64)));

  // The rest is delivered in order with no further loss.
  const std::uint64_t first_after_lap = res.seq;
  std::uint64_t expected = res.seq + 1;
  while ((res = r.try_read(out)).status == ReadStatus::kRecord) {
    EXPECT_EQ(res.seq, expected++);
    EXPECT_TRUE(verify_content(res.seq, std::span(out).first(64)));
  }
  EXPECT_EQ(expected, 201u);
  EXPECT_EQ(r.lapped_count(), 1u);
  EXPECT_EQ(r.lost_records(), first_after_lap - 1);  // unchanged: records 1..200 delivered or lost
}

TEST(BroadcastRing, BackpressureIsTheBacklogAsAFractionOfCapacity) {
  constexpr std::size_t kCapacity = 4096;
  Region region(kCapacity);
  BroadcastWriter w = make_writer(region);
  BroadcastReader r = make_reader(region);
  BroadcastReader eager = make_reader(region, {.pressure_threshold = 0.25, .throttle_threshold = 0.5});
  std::vector<std::byte> payload(112);  // 128 bytes in the ring
  EXPECT_EQ(r.backpressure(), 0.0);
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(w.publish(1, payload));
  EXPECT_DOUBLE_EQ(r.backpressure(), 0.5);
  EXPECT_FALSE(r.under_pressure());
  EXPECT_TRUE(eager.under_pressure());
  EXPECT_TRUE(eager.should_throttle());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(w.publish(1, payload));
  EXPECT_DOUBLE_EQ(r.backpressure(), 26.0 * 128.0 / 4096.0);  // 0.8125
  EXPECT_TRUE(r.under_pressure());
  EXPECT_FALSE(r.should_throttle());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(w.publish(1, payload));
  EXPECT_DOUBLE_EQ(r.backpressure(), 30.0 * 128.0 / 4096.0);  // 0.9375
  EXPECT_TRUE(r.should_throttle());
  EXPECT_EQ(r.poll([](std::uint32_t, std::span<const std::byte>, std::uint64_t) {}, 100), 30);
  EXPECT_EQ(r.backpressure(), 0.0);
  EXPECT_FALSE(r.under_pressure());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(w.publish(1, payload));  // the writer never waits
  EXPECT_EQ(eager.backpressure(), 1.0);
}

TEST(BroadcastRing, ATooSmallBufferReportsTheSizeAndConsumesNothing) {
  Region region(4096);
  BroadcastWriter w = make_writer(region);
  BroadcastReader r = make_reader(region);
  std::vector<std::byte> buf;
  fill(buf, 0, 100);
  ASSERT_TRUE(w.publish(100, buf));
  std::vector<std::byte> small(50);
  ReadResult res = r.try_read(small);
  EXPECT_EQ(res.status, ReadStatus::kBufferTooSmall);
  EXPECT_EQ(res.length, 100u);
  std::vector<std::byte> out(100);
  res = r.try_read(out);
  ASSERT_EQ(res.status, ReadStatus::kRecord);
  EXPECT_TRUE(verify_content(0, out));
  EXPECT_EQ(r.try_read(out).status, ReadStatus::kEmpty);
}

TEST(BroadcastRing, ReadersDetectAWriterThatRestartedWithANewEpoch) {
  Region region(4096);
  BroadcastWriter first = make_writer(region, 7);
  BroadcastReader r = make_reader(region);
  EXPECT_EQ(r.epoch(), 7u);
  std::vector<std::byte> buf(16);
  ASSERT_TRUE(first.publish(1, buf));
  BroadcastWriter second = make_writer(region, 8);
  ASSERT_TRUE(second.publish(2, buf));
  std::vector<std::byte> out(256);
  EXPECT_EQ(r.try_read(out).status, ReadStatus::kWriterRestarted);
  BroadcastReader again = make_reader(region, {.start_at_oldest = true});
  EXPECT_EQ(again.epoch(), 8u);
  const ReadResult res = again.try_read(out);
  ASSERT_EQ(res.status, ReadStatus::kRecord);
  EXPECT_EQ(res.type, 2u);
  EXPECT_EQ(res.seq, 0u);
}

TEST(BroadcastRing, TheSpanIsPositionIndependent) {
  // Copy the formatted span to another address (as a second process mapping
  // the same file would see it) and read it there.
  Region region(4096);
  BroadcastWriter w = make_writer(region);
  std::vector<std::byte> buf;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(publish_checked(w, buf));
  Region copy(4096);
  std::memcpy(copy.span().data(), region.span().data(), region.span().size());
  BroadcastReader r = make_reader(copy, {.start_at_oldest = true});
  std::vector<std::byte> out(w.max_payload());
  ReadResult res = r.try_read(out);
  ASSERT_EQ(res.status, ReadStatus::kRecord);
  std::uint64_t expected = res.seq;
  int delivered = 0;
  do {
    ASSERT_EQ(res.seq, expected++);
    ASSERT_TRUE(verify(res, std::span(out).first(res.length), w.max_payload()));
    ++delivered;
  } while ((res = r.try_read(out)).status == ReadStatus::kRecord);
  EXPECT_EQ(expected, 100u);
  EXPECT_GT(delivered, 10);
  EXPECT_EQ(r.lapped_count(), 0u);
}

// Reader 0 is fast and the writer keeps within half a ring of it, so reader 0
// sees everything; readers 1 and 2 re-verify every record 4 and 8 more times,
// fall behind and get lapped. Every delivered record is checked byte by byte.
TEST(BroadcastRing, OneWriterAndThreeReadersUnderStressDeliverOnlyIntactRecords) {
  constexpr std::size_t kCapacity = 64 * 1024;
  Region region(kCapacity);
  BroadcastWriter w = make_writer(region);
  const std::size_t max_payload = 200;  // small records: a few hundred per lap
  struct Outcome {
    std::uint64_t delivered = 0, bad = 0, out_of_order = 0, lapped = 0, lost = 0, last_seq = 0;
  };
  std::vector<Outcome> outcomes(3);
  std::atomic<bool> done{false};
  std::atomic<int> attached{0};
  std::atomic<std::uint64_t> fast_position{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      BroadcastReader r = make_reader(region);
      // release: pairs with the writer's acquire wait below.
      attached.fetch_add(1, std::memory_order_release);
      Outcome& o = outcomes[static_cast<std::size_t>(i)];
      std::vector<std::byte> out(w.max_payload());
      bool have_last = false;
      for (;;) {
        // acquire: pairs with the writer's release store of done.
        const bool finished = done.load(std::memory_order_acquire);
        const ReadResult res = r.try_read(out);
        if (res.status == ReadStatus::kEmpty) {
          if (finished) break;
          std::this_thread::yield();  // two cores, four threads: let the writer run
          continue;
        }
        if (res.status != ReadStatus::kRecord) {
          ++o.bad;
          break;
        }
        if (!verify(res, std::span(out).first(res.length), max_payload)) ++o.bad;
        if (have_last && res.seq <= o.last_seq) ++o.out_of_order;
        o.last_seq = res.seq;
        have_last = true;
        ++o.delivered;
        for (int k = 0; k < i * 4; ++k) {
          if (!verify(res, std::span(out).first(res.length), max_payload)) ++o.bad;
        }
        // release: pairs with the writer's acquire load of fast_position.
        if (i == 0) fast_position.store(r.position(), std::memory_order_release);
      }
      o.lapped = r.lapped_count();
      o.lost = r.lost_records();
    });
  }
  // acquire: pairs with the readers' release increments.
  while (attached.load(std::memory_order_acquire) < 3) std::this_thread::yield();
  std::vector<std::byte> buf;
  for (std::uint64_t seq = 0; seq < kStressRecords; ++seq) {
    // Pacing, not synchronisation: every 16 records (< 4 KiB) wait until the
    // fast reader is within half a ring, so it can never be lapped.
    // acquire: pairs with reader 0's release store of its position.
    while (seq % 16 == 0 && w.position() - fast_position.load(std::memory_order_acquire) > kCapacity / 2) {
      std::this_thread::yield();
    }
    const std::size_t size = size_for(seq, max_payload);
    fill(buf, seq, size);
    ASSERT_TRUE(w.publish(static_cast<std::uint32_t>(size), buf));
  }
  done.store(true, std::memory_order_release);  // release: pairs with the readers' acquire
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < 3; ++i) {
    const Outcome& o = outcomes[i];
    SCOPED_TRACE(testing::Message() << "reader " << i << " delivered " << o.delivered << " lapped " << o.lapped
                                    << " lost " << o.lost);
    EXPECT_EQ(o.bad, 0u);
    EXPECT_EQ(o.out_of_order, 0u);
    EXPECT_EQ(o.last_seq, kStressRecords - 1);
    // Every record is either delivered or counted as lost.
    EXPECT_EQ(o.delivered + o.lost, kStressRecords);
    EXPECT_EQ(o.lost == 0, o.lapped == 0);
    RecordProperty("reader" + std::to_string(i) + "_lapped", std::to_string(o.lapped));
    RecordProperty("reader" + std::to_string(i) + "_lost", std::to_string(o.lost));
  }
  EXPECT_EQ(outcomes[0].lost, 0u);
  EXPECT_EQ(outcomes[0].delivered, kStressRecords);
}

}  // namespace
}  // namespace tickwire::middleware
