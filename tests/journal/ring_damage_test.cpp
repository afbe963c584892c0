// Ring records carry a CRC32C: a record changed while it sat in the ring after
// a crash is drained as a gap record with its exact seq, never as if true, and
// the records after it are still drained. A ring of the previous format (no
// CRC) is drained by its own rules and replaced.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>

#include "test_util.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/mmap_ring.hpp"

namespace tickwire::journal {
namespace {

constexpr std::uint64_t kRecords = 100;
constexpr std::size_t kRing = 64u << 10;

// crashed_ring: `dir/ring` as a process killed after appending seqs 1..kRecords
// leaves it (nothing flushed); returns each record's position in the ring.
std::map<std::uint64_t, std::uint64_t> crashed_ring(const std::filesystem::path& dir) {
  std::filesystem::create_directory(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  auto ring = MmapRing::open(dir / "ring", kRing);
  EXPECT_TRUE(ring.ok()) << ring.status();
  std::map<std::uint64_t, std::uint64_t> at;
  for (std::uint64_t s = 1; s <= kRecords; ++s) {
    EXPECT_TRUE(ring->try_write(s, s * 10, 1, payload_for(9, s)));
  }
  for (auto e = ring->read_at(0); e; e = ring->read_at(e->next)) {
    EXPECT_FALSE(e->damaged);
    at[e->seq] = e->position;
  }
  EXPECT_EQ(at.size(), kRecords);
  return at;
}

// flip: inverts bits of the ring file's byte at `data_offset` in the record area.
void flip(const std::filesystem::path& ring, std::uint64_t data_offset, std::uint8_t mask = 0x01) {
  std::fstream f(ring, std::ios::in | std::ios::out | std::ios::binary);
  const auto off = static_cast<std::streamoff>(kRingHeaderSize + data_offset);
  f.seekg(off);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ static_cast<char>(mask));
  f.seekp(off);
  f.write(&c, 1);
}

// expect_gap_at: the journal holds seqs 1..kRecords, `damaged` as a gap of
// exactly that seq, every other record as appended.
void expect_gap_at(const std::filesystem::path& dir, std::uint64_t damaged) {
  auto recs = read_all(dir);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    const OwnedRecord& r = (*recs)[i];
    ASSERT_EQ(r.seq, i + 1);
    if (r.seq == damaged) {
      ASSERT_EQ(r.type, kTypeGap) << "a damaged record was drained as if true";
      ASSERT_EQ(r.payload.size(), sizeof(GapPayload));
      GapPayload g;
      std::memcpy(&g, r.payload.data(), sizeof g);
      EXPECT_EQ(g.first_missing, damaged);
      EXPECT_EQ(g.last_missing, damaged);
      EXPECT_EQ(g.count, 1u);
    } else {
      ASSERT_EQ(r.type, 1);
      ASSERT_EQ(r.mono_ns, r.seq * 10);
      ASSERT_EQ(r.payload, payload_for(9, r.seq));
    }
  }
}

void reopen_and_close(const std::filesystem::path& dir, std::uint64_t damaged_records) {
  auto j = Journal::open(small_options(dir));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->stats().ring_damaged, damaged_records);
  EXPECT_EQ((*j)->next_seq(), kRecords + 1);
  ASSERT_TRUE((*j)->close().ok());
}

TEST(RingDamage, AChangedPayloadByteIsReadAsDamaged) {
  ScratchDir scratch;
  auto at = crashed_ring(scratch.path());
  flip(scratch.path() / "ring", at[7] + kRingRecordHeaderSize);
  auto ring = MmapRing::open(scratch.path() / "ring", kRing);
  ASSERT_TRUE(ring.ok()) << ring.status();
  std::uint64_t n = 0;
  for_each_ring_record(*ring, [&](const MmapRing::Entry& e) {
    ++n;
    EXPECT_EQ(e.damaged, e.position == at[7]) << "at " << e.position;
  });
  EXPECT_EQ(n, kRecords);
}

TEST(RingDamage, AChangedPayloadByteInTheRingAfterACrashBecomesAGapOfItsSeqAndTheRestIsDrained) {
  ScratchDir scratch;
  auto at = crashed_ring(scratch.path());
  flip(scratch.path() / "ring", at[50] + kRingRecordHeaderSize + 1, 0x40);
  reopen_and_close(scratch.path(), 1);
  expect_gap_at(scratch.path(), 50);
}

TEST(RingDamage, AChangedSeqInTheRingBecomesAGapOfTheSeqThatWasThere) {
  ScratchDir scratch;
  auto at = crashed_ring(scratch.path());
  flip(scratch.path() / "ring", at[30] + 16 + 5, 0x10);  // seq's 6th byte: seq 30 reads as ~2^44
  reopen_and_close(scratch.path(), 1);
  expect_gap_at(scratch.path(), 30);
}

TEST(RingDamage, AChangedLengthInTheRingLosesOnlyThatRecord) {
  ScratchDir scratch;
  auto at = crashed_ring(scratch.path());
  flip(scratch.path() / "ring", at[40], 0x08);  // the length: `next` points into the wrong place
  reopen_and_close(scratch.path(), 1);
  expect_gap_at(scratch.path(), 40);
}

TEST(RingDamage, ADamagedLastRecordBecomesAGapAndItsSeqIsNeverReused) {
  ScratchDir scratch;
  auto at = crashed_ring(scratch.path());
  flip(scratch.path() / "ring", at[kRecords] + kRingRecordHeaderSize);
  reopen_and_close(scratch.path(), 1);
  expect_gap_at(scratch.path(), kRecords);
}

// The previous ring format, as an older tickwire left it: magic TWJRING1,
// version 1, records `commit, seq, mono_ns, type (64 bits), payload`, no CRC.
TEST(RingDamage, ARingOfTheFormatBeforeChecksumsIsDrainedByItsRulesAndReplaced) {
  ScratchDir scratch;
  const auto ring_path = scratch.path() / "ring";
  constexpr std::size_t kCap = 4096;
  std::vector<std::byte> file(kRingHeaderSize + kCap);
  const char magic[8] = {'T', 'W', 'J', 'R', 'I', 'N', 'G', '1'};
  const std::uint32_t version = 1;
  const std::uint64_t cap = kCap;
  std::memcpy(file.data(), magic, 8);
  std::memcpy(file.data() + 8, &version, 4);
  std::memcpy(file.data() + 16, &cap, 8);
  std::size_t pos = 0;
  for (std::uint64_t s = 1; s <= 5; ++s) {
    const auto p = payload_for(4, s);
    const std::uint64_t length = kRingRecordHeaderSize + p.size();
    const std::uint64_t commit = length;  // lap 0
    const std::uint64_t mono = s, type = 1;
    std::byte* rec = file.data() + kRingHeaderSize + pos;
    std::memcpy(rec, &commit, 8);
    std::memcpy(rec + 8, &s, 8);
    std::memcpy(rec + 16, &mono, 8);
    std::memcpy(rec + 24, &type, 8);
    std::memcpy(rec + 32, p.data(), p.size());
    pos += align_record(length);
  }
  std::ofstream(ring_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  {
    auto legacy = MmapRing::open(ring_path, kCap);
    ASSERT_TRUE(legacy.ok()) << legacy.status();
    EXPECT_TRUE(legacy->legacy());
    EXPECT_FALSE(legacy->try_write(6, 6, 1, payload_for(4, 6))) << "a legacy ring is never written";
  }
  Options o = small_options(scratch.path());
  o.ring_bytes = kCap;
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->next_seq(), 6u);
  ASSERT_TRUE((*j)->append(6, 6, 1, payload_for(4, 6)));
  ASSERT_TRUE((*j)->close().ok());
  auto recs = read_all(scratch.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 6u);
  for (std::uint64_t i = 0; i < 6; ++i) ASSERT_EQ((*recs)[i].payload, payload_for(4, i + 1));
  auto ring = MmapRing::open(ring_path, kCap);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_FALSE(ring->legacy()) << "the drained legacy ring is replaced by one of the current format";
}

}  // namespace
}  // namespace tickwire::journal
