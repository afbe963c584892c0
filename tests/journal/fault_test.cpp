// Storage faults: an injected failure at every storage call (once, and from
// that call on), and a real full disk (a small tmpfs the test mounts, when it
// may). The journal must report the error, fail closed (a full disk: stall,
// retry, and fail closed at close() if it still fails), keep everything it
// acknowledged, and reopen cleanly.
#include <sys/mount.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "tickwire/journal/io.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/segment_writer.hpp"

namespace tickwire::journal {
namespace {

#if defined(TICKWIRE_TSAN)
constexpr std::uint64_t kRecords = 100;
#else
constexpr std::uint64_t kRecords = 300;
#endif

// The hook's plan, shared with the flusher thread.
std::atomic<std::uint64_t> g_calls{0};
std::atomic<std::uint64_t> g_fail_at{0};
std::atomic<bool> g_forever{false};
std::atomic<bool> g_fired{false};
std::atomic<int> g_errno{EIO};

int planned_fault(std::string_view, const std::filesystem::path&) {
  // relaxed (all): independent counters and flags; the test reads them after
  // joining the journal's threads (close), which orders everything.
  const std::uint64_t n = g_calls.fetch_add(1, std::memory_order_relaxed) + 1;
  const std::uint64_t at = g_fail_at.load(std::memory_order_relaxed);
  if (at != 0 && (n == at || (g_forever.load(std::memory_order_relaxed) && n > at))) {
    g_fired.store(true, std::memory_order_relaxed);
    return g_errno.load(std::memory_order_relaxed);
  }
  return 0;
}

void plan(std::uint64_t fail_at, bool forever, int err) {
  g_calls.store(0, std::memory_order_relaxed);
  g_fail_at.store(fail_at, std::memory_order_relaxed);
  g_forever.store(forever, std::memory_order_relaxed);
  g_fired.store(false, std::memory_order_relaxed);
  g_errno.store(err, std::memory_order_relaxed);
  io::set_fault_hook(planned_fault);
}

Options fault_options(const std::filesystem::path& dir) {
  Options o = small_options(dir);
  o.segment_bytes = 8192;
  o.ring_bytes = 8192;
  o.fsync = FsyncPolicy::kBatch;
  o.index_interval = 4;
  return o;
}

void expect_no_spare_left(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".spare-")) << "left behind: " << e.path();
  }
}

// Runs a journal to completion under the plan; returns what was acknowledged.
struct Outcome {
  bool reported;  // open failed or close() returned an error
  std::vector<std::uint64_t> acknowledged;
};

Outcome run_under_fault(const std::filesystem::path& dir, std::uint64_t first) {
  Outcome out{false, {}};
  auto j = Journal::open(fault_options(dir));
  if (!j.ok()) {
    out.reported = true;
    return out;
  }
  // A full disk stalls the flusher, and "block" would wait for room for ever:
  // the test's one thread is also the one that closes. Records dropped
  // meanwhile are covered by a gap record if there is room for one later.
  (*j)->stop_waiting();
  for (std::uint64_t s = first; s < first + kRecords; ++s) {
    if ((*j)->append(s, s, 1, payload_for(8, s))) out.acknowledged.push_back(s);
  }
  absl::Status closed = (*j)->close();
  out.reported = !closed.ok();
  if (!closed.ok()) {
    EXPECT_FALSE(std::string(closed.message()).empty());
    EXPECT_NE(std::string(closed.message()).find(dir.string()), std::string::npos) << closed;
  }
  return out;
}

// After the fault is gone: everything acknowledged is there, each seq at most
// once (as its record or inside a gap), and the journal works.
void expect_reopens_with(const std::filesystem::path& dir, const std::vector<std::uint64_t>& acknowledged) {
  io::set_fault_hook(nullptr);
  auto j = Journal::open(fault_options(dir));
  ASSERT_TRUE(j.ok()) << j.status();
  const std::uint64_t next = (*j)->next_seq();
  if (!acknowledged.empty()) {
    ASSERT_GE(next, acknowledged.back() + 1) << "acknowledged records lost";
  }
  ASSERT_TRUE((*j)->append(next, next, 1, payload_for(8, next)));
  ASSERT_TRUE((*j)->close().ok());
  auto recs = read_all(dir);
  ASSERT_TRUE(recs.ok()) << recs.status();
  std::size_t acked = 0;
  std::uint64_t last = 0;
  for (const auto& r : *recs) {
    ASSERT_GT(r.seq, last) << "a seq repeated or out of order";
    if (r.type == kTypeGap) {
      GapPayload g;
      ASSERT_EQ(r.payload.size(), sizeof g);
      std::memcpy(&g, r.payload.data(), sizeof g);
      ASSERT_EQ(g.first_missing, r.seq);
      ASSERT_TRUE(acked == acknowledged.size() || acknowledged[acked] > g.last_missing)
          << "an acknowledged record is inside a gap";
      last = g.last_missing;
      continue;
    }
    ASSERT_EQ(r.payload, payload_for(8, r.seq));
    if (acked < acknowledged.size() && acknowledged[acked] == r.seq) {
      ++acked;
    } else {
      ASSERT_EQ(r.seq, next) << "a record that was not acknowledged";
    }
    last = r.seq;
  }
  ASSERT_EQ(acked, acknowledged.size()) << "acknowledged records lost";
  ASSERT_EQ(last, next);
}

std::uint64_t count_calls() {
  ScratchDir dir;
  plan(0, false, 0);
  Outcome o = run_under_fault(dir.path(), 1);
  EXPECT_FALSE(o.reported);
  EXPECT_EQ(o.acknowledged.size(), kRecords);
  io::set_fault_hook(nullptr);
  return g_calls.load(std::memory_order_relaxed);
}

void fail_every_call(bool forever, int err) {
  const std::uint64_t calls = count_calls();
  ASSERT_GT(calls, 30u);
  for (std::uint64_t at = 1; at <= calls; ++at) {
    SCOPED_TRACE("storage call " + std::to_string(at) + " of " + std::to_string(calls) + " fails" +
                 (forever ? " and every one after it" : " once"));
    ScratchDir dir;
    plan(at, forever, err);
    Outcome o = run_under_fault(dir.path(), 1);
    io::set_fault_hook(nullptr);
    if (g_fired.load(std::memory_order_relaxed)) {
      EXPECT_TRUE(o.reported) << "a storage error went unreported";
    }
    expect_reopens_with(dir.path(), o.acknowledged);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(Fault, EveryStorageCallFailingOnceIsReportedAndLosesNothingAcknowledged) { fail_every_call(false, EIO); }

TEST(Fault, EveryStorageCallFailingForeverIsReportedAndLosesNothingAcknowledged) {
  fail_every_call(true, ENOSPC);
}

// The helper thread makes the next segment's spare ahead of the roll that
// needs it. When the disk is full for that spare and the journal closes before
// any roll retries it, close() still reports the full disk, and nothing is lost.
std::mutex g_spare_mu;
std::condition_variable g_spare_cv;
bool g_spare_refused = false;  // guarded by g_spare_mu
bool g_spare_refuse_once = false;  // guarded by g_spare_mu: refuse the first call on it only

int refuse_second_spare(std::string_view, const std::filesystem::path& path) {
  if (!path.filename().string().starts_with(".spare-000002")) return 0;
  std::lock_guard lock(g_spare_mu);
  if (g_spare_refuse_once && g_spare_refused) return 0;
  g_spare_refused = true;
  g_spare_cv.notify_all();
  return ENOSPC;
}

// closed_after_spare_refused: opens a journal whose helper is refused segment
// 2's spare (always, or only the first time), appends one record (it makes
// segment 1 from its spare, and the helper starts on segment 2's), waits for
// the refusal, and returns what close() says.
absl::Status closed_after_spare_refused(const std::filesystem::path& dir, bool once) {
  {
    std::lock_guard lock(g_spare_mu);
    g_spare_refused = false;
    g_spare_refuse_once = once;
  }
  io::set_fault_hook(refuse_second_spare);
  auto j = Journal::open(fault_options(dir));
  if (!j.ok()) {
    io::set_fault_hook(nullptr);
    return j.status();
  }
  EXPECT_TRUE((*j)->append(1, 1, 1, payload_for(8, 1)));
  {
    std::unique_lock lock(g_spare_mu);
    EXPECT_TRUE(g_spare_cv.wait_for(lock, std::chrono::seconds(60), [] { return g_spare_refused; }));
  }
  absl::Status closed = (*j)->close();
  io::set_fault_hook(nullptr);
  return closed;
}

TEST(Fault, ASpareTheDiskHadNoRoomForIsReportedAtCloseThoughNoRollNeededIt) {
  ScratchDir dir;
  const absl::Status closed = closed_after_spare_refused(dir.path(), false);
  EXPECT_EQ(closed.code(), absl::StatusCode::kResourceExhausted) << closed;
  EXPECT_NE(std::string(closed.message()).find(dir.path().string()), std::string::npos) << closed;
  EXPECT_NE(std::string(closed.message()).find(".spare-000002"), std::string::npos) << closed;
  expect_reopens_with(dir.path(), {1});
}

// The disk was full for the helper's spare, then had room again (retention,
// an operator) before the journal closed: close() tries the spare once more
// and, with room, reports nothing.
TEST(Fault, ASpareRefusedOnceIsMadeAtCloseWhenThereIsRoomAgainAndNothingIsReported) {
  ScratchDir dir;
  const absl::Status closed = closed_after_spare_refused(dir.path(), true);
  EXPECT_TRUE(closed.ok()) << closed;
  expect_no_spare_left(dir.path());
  expect_reopens_with(dir.path(), {1});
}

// Refuses every storage call, and tells the test when one of them was an
// unlink: a failed attempt could not remove the files it had made.
std::mutex g_unlink_mu;
std::condition_variable g_unlink_cv;
bool g_unlink_refused = false;  // guarded by g_unlink_mu

int every_call_enospc(std::string_view op, const std::filesystem::path&) {
  if (op == "unlink") {
    std::lock_guard lock(g_unlink_mu);
    g_unlink_refused = true;
    g_unlink_cv.notify_all();
  }
  return ENOSPC;
}

void wait_for_a_refused_unlink() {
  std::unique_lock lock(g_unlink_mu);
  EXPECT_TRUE(g_unlink_cv.wait_for(lock, std::chrono::seconds(60), [] { return g_unlink_refused; }));
}

// The storage refuses everything while three records arrive: the flusher's
// roll fails on segment 1's header, and removing the spare's files fails
// too. Once the storage works again the retried roll removes them first
// (they are the journal's own; O_EXCL would refuse to make them anew), and
// every record reaches segment 1.
TEST(Fault, RingFillCountsWhatStorageHoldsBackAndIsZeroOnceDrained) {
  ScratchDir dir;
  auto j = Journal::open(fault_options(dir.path()));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)->stats().ring_bytes, fault_options(dir.path()).ring_bytes);
  EXPECT_EQ((*j)->stats().ring_used_bytes, 0u);
  {
    std::lock_guard lock(g_unlink_mu);
    g_unlink_refused = false;
  }
  // From here no storage call succeeds: the flusher cannot make its first
  // segment, so every record stays in the ring.
  io::set_fault_hook(every_call_enospc);
  std::uint64_t footprint = 0;  // header + payload, 8-aligned, per record (no wrap in 3 small records)
  for (std::uint64_t s = 1; s <= 3; ++s) {
    ASSERT_TRUE((*j)->append(s, s, 1, payload_for(8, s)));
    footprint += align_record(kRingRecordHeaderSize + payload_for(8, s).size());
  }
  EXPECT_EQ((*j)->stats().ring_used_bytes, footprint);
  wait_for_a_refused_unlink();
  io::set_fault_hook(nullptr);
  const absl::Status closed = (*j)->close();
  ASSERT_TRUE(closed.ok()) << closed;
  EXPECT_EQ((*j)->stats().ring_used_bytes, 0u);
  EXPECT_GE((*j)->stats().storage_errors, 1u);  // counted, though close() found the storage working
  expect_no_spare_left(dir.path());
  auto recs = read_all(dir.path());
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(recs->size(), 3u);
}

// The same at the level of one spare: a full disk stops its fallocate, and
// its file cannot be removed either. Without the leftovers, the next attempt
// meets that file under O_EXCL; with them it removes it first.
TEST(Fault, ASpareItsFailedAttemptCouldNotRemoveIsRemovedByTheNextAttempt) {
  ScratchDir dir;
  const auto seg_tmp = dir.path() / ".spare-000007.seg.tmp";
  SpareLeftovers leftovers;
  io::set_fault_hook([](std::string_view op, const std::filesystem::path&) {
    return op == "fallocate" || op == "unlink" ? ENOSPC : 0;
  });
  auto failed = prepare_spare(dir.path(), 7, 16, 64u << 10, &leftovers);
  io::set_fault_hook(nullptr);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted) << failed.status();
  EXPECT_TRUE(std::filesystem::exists(seg_tmp));
  EXPECT_EQ(leftovers.size(), 1u);
  auto without = prepare_spare(dir.path(), 7, 16, 64u << 10);
  EXPECT_EQ(without.status().code(), absl::StatusCode::kAlreadyExists) << without.status();
  auto with = prepare_spare(dir.path(), 7, 16, 64u << 10, &leftovers);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(leftovers.size(), 0u);
  EXPECT_EQ(with->file.path(), seg_tmp);
}

TEST(Fault, AFullTmpfsStallsTheProducerUnderBlockAndTheJournalResumesWhenThereIsRoom) {
  ScratchDir base;
  const auto mnt = base.path() / "small";
  std::filesystem::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << "); the injected faults cover ENOSPC";
  }
  struct Unmount {
    std::filesystem::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const auto dir = mnt / "journal";
  Options o = fault_options(dir);
  o.segment_bytes = 64u << 10;
  o.ring_bytes = 64u << 10;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<absl::Status> events;
  o.on_storage_event = [&](const absl::Status& s) {
    std::lock_guard lock(mu);
    events.push_back(s);
    cv.notify_all();
  };
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  Journal& journal = **j;
  constexpr std::uint64_t kMany = 20000;  // ~2 MB: 256 KiB cannot hold them
  std::thread producer([&] {
    for (std::uint64_t s = 1; s <= kMany; ++s) ASSERT_TRUE(journal.append(s, s, 1, payload_for(8, s))) << s;
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return !events.empty(); }));
    const std::string msg(io::message(events.front()));
    EXPECT_EQ(events.front().code(), absl::StatusCode::kResourceExhausted) << msg;
    EXPECT_NE(msg.find(dir.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("No space left on device (ENOSPC)"), std::string::npos) << msg;
  }
  EXPECT_EQ(journal.stats().dropped, 0u);
  EXPECT_LT(journal.stats().appended, kMany);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=16m"), 0) << std::strerror(errno);
  producer.join();
  ASSERT_TRUE(journal.close().ok()) << journal.status();
  EXPECT_EQ(journal.stats().dropped, 0u);
  auto recs = read_all(dir);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), kMany);
  for (std::uint64_t i = 0; i < kMany; ++i) {
    ASSERT_EQ((*recs)[i].seq, i + 1);
    ASSERT_EQ((*recs)[i].payload, payload_for(8, i + 1));
  }
}

}  // namespace
}  // namespace tickwire::journal
