#include "tickwire/journal/mmap_ring.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "test_util.hpp"

namespace tickwire::journal {
namespace {

TEST(MmapRing, RecordsWrapWithAPaddingRecordAndReadBackIntact) {
  ScratchDir dir;
  auto ring = MmapRing::open(dir.path() / "ring", 4096);
  ASSERT_TRUE(ring.ok()) << ring.status();
  std::uint64_t pos = 0;
  bool saw_padding = false;
  for (std::uint64_t seq = 1; seq <= 500; ++seq) {
    auto p = payload_for(5, seq);
    ASSERT_TRUE(ring->try_write(seq, seq, 1, p));
    auto e = ring->read_at(pos);
    ASSERT_TRUE(e.has_value());
    if (e->padding) {
      saw_padding = true;
      pos = e->next;
      e = ring->read_at(pos);
      ASSERT_TRUE(e.has_value());
    }
    ASSERT_EQ(e->seq, seq);
    ASSERT_EQ(std::vector<std::byte>(e->payload.begin(), e->payload.end()), p);
    pos = e->next;
    ring->release(pos);
    EXPECT_FALSE(ring->read_at(pos).has_value());
  }
  EXPECT_TRUE(saw_padding);
}

// lap_word: what a commit word of a `length`-byte record in lap `lap` looks like.
std::vector<std::byte> words_like_commits(std::size_t bytes, std::uint64_t lap, std::uint64_t length) {
  std::vector<std::byte> out(bytes);
  const std::uint64_t w = (lap << 32) | length;
  for (std::size_t i = 0; i + 8 <= bytes; i += 8) std::memcpy(out.data() + i, &w, 8);
  return out;
}

TEST(MmapRing, LastLapsBytesAreNeverReadAsARecord) {
  // Lap 0 fills the ring with payloads whose every word looks like a lap-1
  // commit word of a 40-byte record. In lap 1, records fall on other
  // boundaries, so the word after each one is last lap's payload: a reader
  // must see "nothing yet" there, not a record.
  ScratchDir dir;
  auto ring = MmapRing::open(dir.path() / "ring", 4096);
  ASSERT_TRUE(ring.ok()) << ring.status();
  const auto bait = words_like_commits(96, 1, 40);
  std::uint64_t pos = 0;
  std::uint64_t seq = 1;
  while (pos < 4096) {
    ASSERT_TRUE(ring->try_write(seq++, 0, 1, bait));
    auto e = ring->read_at(pos);
    ASSERT_TRUE(e.has_value());
    pos = e->next;
    ring->release(pos);
  }
  // Lap 1: small records, each followed by a look at the next position.
  const std::vector<std::byte> small(8, std::byte{0x5A});
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(ring->try_write(seq, 0, 1, small));
    auto e = ring->read_at(pos);
    ASSERT_TRUE(e.has_value());
    if (e->padding) {
      pos = e->next;
      e = ring->read_at(pos);
      ASSERT_TRUE(e.has_value());
    }
    ASSERT_EQ(e->seq, seq) << "at position " << pos;
    pos = e->next;
    ring->release(pos);
    EXPECT_FALSE(ring->read_at(pos).has_value()) << "stale bytes read as a record at position " << pos;
    ++seq;
  }
}

TEST(MmapRing, AFullRingRefusesUntilTheConsumerReleases) {
  ScratchDir dir;
  auto ring = MmapRing::open(dir.path() / "ring", 4096);
  ASSERT_TRUE(ring.ok());
  std::vector<std::byte> p(100);
  int written = 0;
  while (ring->try_write(static_cast<std::uint64_t>(written + 1), 0, 1, p)) ++written;
  EXPECT_EQ(written, 4096 / 136);
  // The next record needs a 16-byte filler to the end, its 136 bytes and the
  // 8-byte word after it cleared: 160. Releasing one record frees 152 with
  // the 16 left over, not enough; releasing a second is.
  auto e = ring->read_at(0);
  ASSERT_TRUE(e.has_value());
  ring->release(e->next);
  EXPECT_FALSE(ring->try_write(1000, 0, 1, p));
  e = ring->read_at(e->next);
  ASSERT_TRUE(e.has_value());
  ring->release(e->next);
  EXPECT_TRUE(ring->try_write(1000, 0, 1, p));
}

TEST(MmapRing, FreeBytesCountsWhatTheConsumerHasReleased) {
  ScratchDir dir;
  auto ring = MmapRing::open(dir.path() / "ring", 4096);
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(ring->free_bytes(), 4096u);
  std::vector<std::byte> p(100);  // 132 bytes with the header, 136 aligned
  ASSERT_TRUE(ring->try_write(1, 0, 1, p));
  ASSERT_TRUE(ring->try_write(2, 0, 1, p));
  EXPECT_EQ(ring->free_bytes(), 4096u - 2 * 136);
  auto e = ring->read_at(0);
  ASSERT_TRUE(e.has_value());
  ring->release(e->next);
  EXPECT_EQ(ring->free_bytes(), 4096u - 136);
}

TEST(MmapRing, CommittedRecordsSurviveReopeningTheFile) {
  ScratchDir dir;
  {
    auto ring = MmapRing::open(dir.path() / "ring", 8192);
    ASSERT_TRUE(ring.ok());
    for (std::uint64_t s = 1; s <= 10; ++s) ASSERT_TRUE(ring->try_write(s, s, 1, payload_for(1, s)));
  }
  auto ring = MmapRing::open(dir.path() / "ring", 4096);  // an existing ring keeps its capacity
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(ring->capacity(), 8192u);
  std::uint64_t n = 0;
  for_each_ring_record(*ring, [&](const MmapRing::Entry& e) {
    ++n;
    EXPECT_EQ(e.seq, n);
    EXPECT_EQ(std::vector<std::byte>(e.payload.begin(), e.payload.end()), payload_for(1, n));
  });
  EXPECT_EQ(n, 10u);
}

TEST(MmapRing, AProducerAndAConsumerThreadAgreeOnEveryRecord) {
  ScratchDir dir;
  auto ring = MmapRing::open(dir.path() / "ring", 4096);
  ASSERT_TRUE(ring.ok());
#if defined(TICKWIRE_TSAN)
  constexpr std::uint64_t kRecords = 20'000;
#else
  constexpr std::uint64_t kRecords = 200'000;
#endif
  std::thread consumer([&] {
    std::uint64_t pos = 0, expect = 1;
    while (expect <= kRecords) {
      auto e = ring->read_at(pos);
      if (!e) continue;
      if (!e->padding) {
        ASSERT_EQ(e->seq, expect);
        ASSERT_EQ(e->payload.size(), expect % 97);
        for (std::byte b : e->payload) ASSERT_EQ(b, static_cast<std::byte>(expect & 0xFF));
        ++expect;
      }
      pos = e->next;
      ring->release(pos);
    }
  });
  std::vector<std::byte> p(97);
  for (std::uint64_t s = 1; s <= kRecords; ++s) {
    std::fill(p.begin(), p.end(), static_cast<std::byte>(s & 0xFF));
    while (!ring->try_write(s, 0, 1, std::span(p).first(s % 97))) {
    }
  }
  consumer.join();
}

TEST(MmapRing, AFileThatIsNotARingIsRejectedWithItsPath) {
  ScratchDir dir;
  std::filesystem::path p = dir.path() / "ring";
  { std::ofstream(p) << "hello, I am not a ring file"; }
  auto ring = MmapRing::open(p, 4096);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(std::string(ring.status().message()).find(p.string()), std::string::npos);
}

}  // namespace
}  // namespace tickwire::journal
