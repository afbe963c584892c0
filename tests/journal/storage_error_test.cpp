// A full disk while the journal runs (injected ENOSPC on the spare segment's
// fallocate): reported at once with path and errno, counted, "block" blocks,
// "drop" drops and covers the loss with exact gap records, and the journal
// resumes by itself once there is room.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "tickwire/journal/io.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/journal.hpp"

namespace tickwire::journal {
namespace {

constexpr std::uint64_t kRecords = 2000;  // ~280 KB: far more than a 16 KiB ring and one 8 KiB segment hold
constexpr auto kDeadline = std::chrono::seconds(60);

// relaxed: a flag the test flips; the journal's threads see it on their next storage call.
std::atomic<bool> g_disk_full{false};

int full_disk(std::string_view op, const std::filesystem::path&) {
  return g_disk_full.load(std::memory_order_relaxed) && op == "fallocate" ? ENOSPC : 0;
}

// Events: what on_storage_event reported, in order; waited for by the test thread.
class Events {
 public:
  void add(const absl::Status& s) {
    std::lock_guard lock(mu_);
    events_.push_back(s);
    cv_.notify_all();
  }
  // wait_for: the event number `n` (0-based); fails the test after kDeadline.
  absl::Status wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, kDeadline, [&] { return events_.size() > n; })) {
      ADD_FAILURE() << "no storage event #" << n << " within the deadline";
      return absl::UnknownError("no event");
    }
    return events_[n];
  }
  std::size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<absl::Status> events_;
};

class StorageError : public ::testing::Test {
 protected:
  void SetUp() override {
    g_disk_full.store(false, std::memory_order_relaxed);
    io::set_fault_hook(full_disk);
  }
  void TearDown() override {
    g_disk_full.store(false, std::memory_order_relaxed);
    io::set_fault_hook(nullptr);
  }
  Options options(FullPolicy policy) {
    Options o = small_options(dir_.path() / "journal");
    o.segment_bytes = 8192;
    o.ring_bytes = 16384;  // more than a segment holds, so a roll comes before the ring is full
    o.full_policy = policy;
    o.on_storage_event = [this](const absl::Status& s) { events_.add(s); };
    return o;
  }
  void expect_names_the_full_disk(const absl::Status& s) {
    const std::string msg(io::message(s));
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_NE(msg.find((dir_.path() / "journal" / ".spare-").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("fallocate: No space left on device (ENOSPC)"), std::string::npos) << msg;
  }

  ScratchDir dir_;
  Events events_;
};

TEST_F(StorageError, BlockPolicyWaitsWhileTheDiskIsFullAndResumesByItselfLosingNothing) {
  auto j = Journal::open(options(FullPolicy::kBlock));
  ASSERT_TRUE(j.ok()) << j.status();
  Journal& journal = **j;
  // Open made segment 1's spare; segment 2's cannot be made.
  g_disk_full.store(true, std::memory_order_relaxed);
  std::thread producer([&] {
    for (std::uint64_t s = 1; s <= kRecords; ++s) EXPECT_TRUE(journal.append(s, s, 1, payload_for(5, s))) << s;
  });

  const absl::Status first = events_.wait_for(0);
  expect_names_the_full_disk(first);
  EXPECT_FALSE(journal.storage_error().ok());
  Stats st = journal.stats();
  EXPECT_TRUE(st.storage_failing);
  EXPECT_GE(st.storage_errors, 1u);
  EXPECT_EQ(st.dropped, 0u) << "block must not drop while storage fails";
  EXPECT_LT(st.appended, kRecords) << "the ring and one segment cannot hold every record";
  EXPECT_TRUE(journal.status().ok()) << "a full disk stalls the journal, it does not fail it";

  g_disk_full.store(false, std::memory_order_relaxed);
  producer.join();
  EXPECT_TRUE(events_.wait_for(1).ok()) << "the journal reports that storage works again";
  EXPECT_TRUE(journal.storage_error().ok());
  ASSERT_TRUE(journal.close().ok()) << journal.status();
  st = journal.stats();
  EXPECT_EQ(st.appended, kRecords);
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_FALSE(st.storage_failing);

  auto recs = read_all(dir_.path() / "journal");
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    ASSERT_EQ((*recs)[i].seq, i + 1);
    ASSERT_EQ((*recs)[i].type, 1);
    ASSERT_EQ((*recs)[i].payload, payload_for(5, i + 1));
  }
}

TEST_F(StorageError, DropPolicyCountsWhatItDropsAndGapRecordsCoverExactlyThoseSeqs) {
  auto j = Journal::open(options(FullPolicy::kDrop));
  ASSERT_TRUE(j.ok()) << j.status();
  Journal& journal = **j;
  g_disk_full.store(true, std::memory_order_relaxed);
  std::vector<std::uint64_t> acknowledged;
  for (std::uint64_t s = 1; s <= kRecords; ++s) {
    if (journal.append(s, s, 1, payload_for(6, s))) acknowledged.push_back(s);
  }
  expect_names_the_full_disk(events_.wait_for(0));
  EXPECT_GT(journal.stats().dropped, 0u);

  g_disk_full.store(false, std::memory_order_relaxed);
  EXPECT_TRUE(events_.wait_for(1).ok());
  // Once the flusher drains again, an append fits; each one that does not yet is one more counted drop.
  std::uint64_t seq = kRecords;
  const auto give_up = std::chrono::steady_clock::now() + kDeadline;
  for (bool in = false; !in && std::chrono::steady_clock::now() < give_up;) {
    ++seq;
    in = journal.append(seq, seq, 1, payload_for(6, seq));
    if (in) acknowledged.push_back(seq);
  }
  ASSERT_EQ(acknowledged.back(), seq) << "no append fitted after the disk had room again";
  ASSERT_TRUE(journal.close().ok()) << journal.status();
  const Stats st = journal.stats();
  EXPECT_EQ(st.appended + st.dropped, seq);

  auto recs = read_all(dir_.path() / "journal");
  ASSERT_TRUE(recs.ok()) << recs.status();
  // Every seq 1..seq exactly once: as its record, or inside one gap record.
  std::uint64_t next = 1, gap_seqs = 0;
  std::size_t data = 0;
  for (const auto& r : *recs) {
    ASSERT_EQ(r.seq, next) << "a seq is missing or repeated";
    if (r.type == kTypeGap) {
      ASSERT_EQ(r.payload.size(), sizeof(GapPayload));
      GapPayload g;
      std::memcpy(&g, r.payload.data(), sizeof g);
      ASSERT_EQ(g.first_missing, r.seq);
      ASSERT_GE(g.last_missing, g.first_missing);
      ASSERT_EQ(g.count, g.last_missing - g.first_missing + 1);
      gap_seqs += g.count;
      next = g.last_missing + 1;
    } else {
      ASSERT_LT(data, acknowledged.size());
      ASSERT_EQ(r.seq, acknowledged[data]) << "a record that was dropped, or one acknowledged and lost";
      ASSERT_EQ(r.payload, payload_for(6, r.seq));
      ++data;
      ++next;
    }
  }
  EXPECT_EQ(next, seq + 1);
  EXPECT_EQ(data, acknowledged.size());
  EXPECT_EQ(gap_seqs, st.dropped);
}

TEST_F(StorageError, StopWaitingReleasesAProducerBlockedOnAFullDiskAndCloseReportsTheError) {
  Options o = options(FullPolicy::kBlock);
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  Journal& journal = **j;
  g_disk_full.store(true, std::memory_order_relaxed);
  std::uint64_t acknowledged = 0;
  std::thread producer([&] {
    for (std::uint64_t s = 1; s <= kRecords; ++s) {
      if (journal.append(s, s, 1, payload_for(7, s)) && acknowledged == s - 1) acknowledged = s;
    }
  });
  expect_names_the_full_disk(events_.wait_for(0));
  journal.stop_waiting();
  producer.join();
  EXPECT_GT(journal.stats().dropped, 0u);
  const absl::Status closed = journal.close();
  expect_names_the_full_disk(closed);
  EXPECT_EQ(journal.status(), closed);

  // Nothing acknowledged is lost: what the ring held is drained once there is room.
  g_disk_full.store(false, std::memory_order_relaxed);
  o.on_storage_event = nullptr;
  auto again = Journal::open(o);
  ASSERT_TRUE(again.ok()) << again.status();
  // Every seq was issued (appended or dropped): none is issued again, and the
  // gap record the closing journal could not write is written by this open.
  EXPECT_EQ((*again)->next_seq(), kRecords + 1);
  ASSERT_TRUE((*again)->close().ok());
  auto recs = read_all(o.dir);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_GE(recs->size(), acknowledged);
  for (std::uint64_t i = 0; i < acknowledged; ++i) {
    ASSERT_EQ((*recs)[i].seq, i + 1);
    ASSERT_EQ((*recs)[i].payload, payload_for(7, i + 1));
  }
  std::uint64_t next = 1;
  for (const auto& r : *recs) {
    ASSERT_EQ(r.seq, next) << "every seq journaled once, as a record or inside a gap";
    if (r.type == kTypeGap) {
      GapPayload g{};
      ASSERT_EQ(r.payload.size(), sizeof g);
      std::memcpy(&g, r.payload.data(), sizeof g);
      next = g.last_missing + 1;
    } else {
      ++next;
    }
  }
  EXPECT_EQ(next, kRecords + 1);
}

}  // namespace
}  // namespace tickwire::journal
