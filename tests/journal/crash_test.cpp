// Crash tests with real processes: the test binary re-executes itself as a
// child (CrashChild.WritesUntilKilled, active only with TICKWIRE_CRASH_CHILD
// set) that appends at full speed and reports each append on stdout after it
// returns; the parent SIGKILLs it at a seeded random point, or the child's
// storage hook kills it at its Nth storage call, and then checks the journal.
// TICKWIRE_CRASH_ITERATIONS overrides the iteration count (scripts/crash-soak),
// TICKWIRE_CRASH_SEED the seed. The damage test flips a random byte of a
// random segment between two killed generations (scripts/crash-soak --damage).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "support/subprocess.hpp"
#include "test_util.hpp"
#include "tickwire/journal/examine.hpp"
#include "tickwire/journal/io.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/recovery.hpp"
#include "tickwire/journal/tailer.hpp"

namespace tickwire::journal {
namespace {

using testing::Subprocess;

constexpr char kChildEnv[] = "TICKWIRE_CRASH_CHILD";  // "<dir> <seed> <kill_at_io> <max_records>"

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::uint64_t default_iterations() {
#if defined(TICKWIRE_TSAN)
  return env_u64("TICKWIRE_CRASH_ITERATIONS", 20);
#else
  return env_u64("TICKWIRE_CRASH_ITERATIONS", 200);
#endif
}

// The child's options: small ring and segments so wraps, blocking and rolls happen constantly.
Options child_options(const std::filesystem::path& dir, std::uint64_t seed) {
  Options o = small_options(dir);
  o.ring_bytes = seed % 2 == 0 ? 8192 : 65536;
  o.segment_bytes = seed % 3 == 0 ? 8192 : 32768;
  o.fsync = static_cast<FsyncPolicy>(seed % 3);
  o.fsync_interval = std::chrono::milliseconds(1);
  o.batch_records = 1 + seed % 64;
  o.index_interval = 4;
  return o;
}

std::atomic<std::uint64_t> g_io_calls{0};
std::uint64_t g_kill_at_io = 0;

int kill_at_io_hook(std::string_view, const std::filesystem::path&) {
  // relaxed: a counter in a process that is about to die; no ordering needed.
  if (g_io_calls.fetch_add(1, std::memory_order_relaxed) + 1 == g_kill_at_io) ::raise(SIGKILL);
  return 0;
}

void write_line(const std::string& s) {
  std::string line = s + "\n";
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) std::abort();
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

TEST(CrashChild, WritesUntilKilled) {
  const char* spec = std::getenv(kChildEnv);
  if (spec == nullptr) GTEST_SKIP() << "runs only as the child of a crash test";
  char dir[4096];
  unsigned long long seed = 0, kill_at = 0, max_records = 0;
  ASSERT_EQ(std::sscanf(spec, "%4095s %llu %llu %llu", dir, &seed, &kill_at, &max_records), 4);
  g_kill_at_io = kill_at;
  if (kill_at != 0) io::set_fault_hook(kill_at_io_hook);
  auto j = Journal::open(child_options(dir, seed));
  ASSERT_TRUE(j.ok()) << j.status();
  std::uint64_t seq = (*j)->next_seq();
  write_line("READY " + std::to_string(seq));
  for (std::uint64_t n = 0; max_records == 0 || n < max_records; ++n, ++seq) {
    ASSERT_TRUE((*j)->append(seq, seq, 1, payload_for(seed, seq)));
    write_line("A " + std::to_string(seq));
  }
  ASSERT_TRUE((*j)->close().ok());
  write_line("CLOSED");
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buf, static_cast<std::size_t>(n));
}

// Runs one child generation; returns the highest seq it reported appended (0 if none).
// kill_after_lines < 0: let it run to completion (or to its kill_at_io).
std::uint64_t run_child(const std::filesystem::path& dir, std::uint64_t seed, std::uint64_t kill_at_io,
                        std::uint64_t max_records, long kill_after_lines) {
  ::setenv(kChildEnv,
           (dir.string() + " " + std::to_string(seed) + " " + std::to_string(kill_at_io) + " " +
            std::to_string(max_records))
               .c_str(),
           1);
  Subprocess child({self_exe(), "--gtest_filter=CrashChild.WritesUntilKilled", "--gtest_brief=1"});
  ::unsetenv(kChildEnv);
  std::uint64_t last = 0;
  long lines = 0;
  bool killed = false;
  if (kill_after_lines == 0) {
    child.kill(SIGKILL);
    killed = true;
  }
  while (auto line = child.read_line(std::chrono::seconds(60))) {
    if (line->rfind("A ", 0) == 0) {
      last = std::stoull(line->substr(2));
      if (!killed && kill_after_lines > 0 && ++lines >= kill_after_lines) {
        child.kill(SIGKILL);
        killed = true;
      }
    }
  }
  auto status = child.wait(std::chrono::seconds(60));
  EXPECT_TRUE(status.has_value());
  return last;
}

// Records recovered from ring files (not yet in a segment when the child died), for the log.
std::uint64_t g_drained_from_ring = 0;

// The journal must hold exactly seqs 1..N, each byte-identical, with N >= reported.
void check_journal(const std::filesystem::path& dir, std::uint64_t seed, std::uint64_t reported) {
  Options o = child_options(dir, seed);
  auto j = Journal::open(o);
  ASSERT_TRUE(j.ok()) << j.status();
  g_drained_from_ring += (*j)->stats().flushed_records;
  const std::uint64_t next = (*j)->next_seq();
  ASSERT_TRUE((*j)->close().ok());
  auto recs = read_all(dir);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_GE(recs->size(), reported) << "records the child appended before it died are missing";
  ASSERT_EQ(next, recs->size() + 1);
  for (std::size_t i = 0; i < recs->size(); ++i) {
    const OwnedRecord& r = (*recs)[i];
    ASSERT_EQ(r.seq, i + 1) << "not a contiguous prefix";
    ASSERT_EQ(r.type, 1);
    ASSERT_EQ(r.mono_ns, r.seq);
    ASSERT_EQ(r.payload, payload_for(seed, r.seq)) << "payload of seq " << r.seq << " differs";
  }
}

TEST(Crash, SigkillAtRandomInstantsLosesNothingAppended) {
  const std::uint64_t base = env_u64("TICKWIRE_CRASH_SEED", std::random_device{}());
  const std::uint64_t iterations = default_iterations();
  for (std::uint64_t it = 0; it < iterations; ++it) {
    const std::uint64_t seed = base + it;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with TICKWIRE_CRASH_SEED=" + std::to_string(seed) +
                 " TICKWIRE_CRASH_ITERATIONS=1)");
    std::mt19937_64 rng(seed);
    ScratchDir dir("tickwire-crash");
    std::uint64_t reported = 0;
    // Two generations: the second recovers what the first left, then dies too.
    for (int gen = 0; gen < 2; ++gen) {
      long kill_after = static_cast<long>(rng() % 800);
      reported = std::max(reported, run_child(dir.path(), seed, 0, 0, kill_after));
    }
    check_journal(dir.path(), seed, reported);
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) return;
  }
  std::fprintf(stderr, "crash test: %llu iterations from seed %llu; final reopens drained %llu records from rings\n",
               static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(base),
               static_cast<unsigned long long>(g_drained_from_ring));
}

// flip_random_byte: changes one byte past the header of a random segment;
// returns the seq of the data record it landed in (0: padding, an end record,
// or the space after the data, which hold no seq).
std::uint64_t flip_random_byte(const std::filesystem::path& dir, std::mt19937_64& rng) {
  auto segs = list_segments(dir);
  if (!segs.ok() || segs->empty()) return 0;
  const auto& seg = (*segs)[rng() % segs->size()].path;
  std::vector<std::byte> image(std::filesystem::file_size(seg));
  if (image.size() <= kSegmentHeaderSize) return 0;
  {
    auto file = io::open_file(seg, O_RDONLY);
    if (!file.ok() || !file->read_at(0, image).ok()) return 0;
  }
  const std::size_t at = kSegmentHeaderSize + rng() % (image.size() - kSegmentHeaderSize);
  std::uint64_t hit = 0;
  for (std::size_t off = kSegmentHeaderSize;;) {
    DecodedRecord r = decode_record(image, off);
    if (r.status != DecodeStatus::kOk) break;
    if (off <= at && at < off + r.header.length && r.header.type != kTypeEndOfSegment) hit = r.header.seq;
    off = r.next;
  }
  image[at] ^= static_cast<std::byte>(1 + rng() % 255);
  auto file = io::open_file(seg, O_WRONLY);
  EXPECT_TRUE(file.ok() && file->write_at(at, std::span(image).subspan(at, 1)).ok());
  return hit;
}

// The journal after damage and recovery: seqs 1..N in order, each record
// byte-identical, and nothing missing but the damaged record (a gap), which
// only the ring can have brought back; verify is clean after recover.
void check_damaged_journal(const std::filesystem::path& dir, std::uint64_t seed, std::uint64_t reported,
                           std::uint64_t damaged) {
  auto report = recover_journal(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  auto summary = examine(dir);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->clean()) << summary->problems.front();
  auto recs = read_all(dir);
  ASSERT_TRUE(recs.ok()) << recs.status();
  std::uint64_t expect = 1;
  for (const OwnedRecord& r : *recs) {
    ASSERT_EQ(r.seq, expect) << "seqs out of order or missing without a gap";
    if (r.type == kTypeGap) {
      ASSERT_EQ(r.seq, damaged) << "a gap where no record was damaged";
    } else {
      ASSERT_EQ(r.payload, payload_for(seed, r.seq)) << "payload of seq " << r.seq << " differs";
    }
    ++expect;
  }
  ASSERT_GE(expect - 1, reported) << "records the child appended before it died are missing";
  ASSERT_EQ(report->next_seq, expect) << "the next seq is not above the highest issued";
}

TEST(Crash, RandomByteDamageBetweenKillsLosesOnlyTheDamagedRecord) {
  const std::uint64_t base = env_u64("TICKWIRE_CRASH_SEED", std::random_device{}());
  // A quarter of the crash iterations (50 by default); scripts/crash-soak --damage N runs N.
  const std::uint64_t iterations = std::max<std::uint64_t>(1, default_iterations() / 4);
  for (std::uint64_t it = 0; it < iterations; ++it) {
    const std::uint64_t seed = base + it;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with scripts/crash-soak --damage 1 " +
                 std::to_string(seed) + ")");
    std::mt19937_64 rng(seed);
    ScratchDir dir("tickwire-crash");
    // TICKWIRE_CRASH_KEEP=DIR: the journal after each step is copied there and kept for a failing seed.
    const char* keep = std::getenv("TICKWIRE_CRASH_KEEP");
    const std::filesystem::path kept = keep != nullptr ? std::filesystem::path(keep) / std::to_string(seed) : "";
    auto snapshot = [&](const char* step) {
      if (keep == nullptr) return;
      std::filesystem::create_directories(kept);
      std::filesystem::copy(dir.path(), kept / step, std::filesystem::copy_options::recursive);
    };
    std::uint64_t reported = run_child(dir.path(), seed, 0, 0, static_cast<long>(100 + rng() % 700));
    snapshot("1-killed");
    const std::uint64_t damaged = flip_random_byte(dir.path(), rng);
    snapshot("2-flipped");
    reported = std::max(reported, run_child(dir.path(), seed, 0, 0, static_cast<long>(rng() % 800)));
    snapshot("3-killed-again");
    check_damaged_journal(dir.path(), seed, reported, damaged);
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) {
      if (keep != nullptr) std::fprintf(stderr, "journals of the failing iteration kept in %s\n", kept.c_str());
      return;
    }
    if (keep != nullptr) std::filesystem::remove_all(kept);
  }
}

TEST(Crash, SigkillAtEveryStorageCallIncludingMidRollRecovers) {
  // Counts the storage calls of an uninterrupted run, then kills a child at each one.
  const std::uint64_t seed = 3;  // 8 KiB segments: a roll every few dozen records
  constexpr std::uint64_t kRecords = 200;
  std::uint64_t calls = 0;
  {
    ScratchDir dir("tickwire-crash");
    static std::atomic<std::uint64_t> counted{0};
    counted.store(0, std::memory_order_relaxed);
    io::set_fault_hook([](std::string_view, const std::filesystem::path&) {
      // relaxed: a counter read after the journal's threads are joined.
      counted.fetch_add(1, std::memory_order_relaxed);
      return 0;
    });
    auto j = Journal::open(child_options(dir.path(), seed));
    ASSERT_TRUE(j.ok()) << j.status();
    for (std::uint64_t s = 1; s <= kRecords; ++s) ASSERT_TRUE((*j)->append(s, s, 1, payload_for(seed, s)));
    ASSERT_TRUE((*j)->close().ok());
    io::set_fault_hook(nullptr);
    calls = counted.load(std::memory_order_relaxed);
  }
  ASSERT_GT(calls, 20u);
  const std::uint64_t step = env_u64("TICKWIRE_CRASH_IO_STEP", calls > 300 ? calls / 300 : 1);
  for (std::uint64_t at = 1; at <= calls; at += step) {
    SCOPED_TRACE("killed at storage call " + std::to_string(at) + " of " + std::to_string(calls));
    ScratchDir dir("tickwire-crash");
    std::uint64_t reported = run_child(dir.path(), seed, at, kRecords, -1);
    check_journal(dir.path(), seed, reported);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(Crash, ATailerInAnotherProcessSeesEveryRecordOnceAcrossAWriterCrash) {
  const std::uint64_t seed = 6;  // 8 KiB ring, 8 KiB segments: constant rolls
  ScratchDir dir("tickwire-tail");
  auto tailer = Tailer::open(dir.path());
  ASSERT_TRUE(tailer.ok());
  std::uint64_t expect = 1;
  auto drain = [&] {
    for (;;) {
      auto r = tailer->poll();
      ASSERT_TRUE(r.ok()) << r.status();
      if (!*r) return;
      ASSERT_EQ((*r)->seq, expect) << "a record seen twice, out of order, or skipped";
      ASSERT_EQ(std::vector<std::byte>((*r)->payload.begin(), (*r)->payload.end()), payload_for(seed, expect));
      ++expect;
    }
  };
  std::uint64_t last = 0;
  // First writer: SIGKILLed mid-stream; second: recovers, writes 2000 more, closes.
  for (int gen = 0; gen < 2; ++gen) {
    ::setenv(kChildEnv, (dir.path().string() + " " + std::to_string(seed) + " 0 " + (gen == 0 ? "0" : "2000")).c_str(),
             1);
    Subprocess child({self_exe(), "--gtest_filter=CrashChild.WritesUntilKilled", "--gtest_brief=1"});
    ::unsetenv(kChildEnv);
    long lines = 0;
    while (auto line = child.read_line(std::chrono::seconds(60))) {
      if (line->rfind("A ", 0) != 0) continue;
      last = std::stoull(line->substr(2));
      if (gen == 0 && ++lines == 3000) child.kill(SIGKILL);
      drain();
      if (::testing::Test::HasFatalFailure()) return;
    }
    ASSERT_TRUE(child.wait(std::chrono::seconds(60)).has_value());
  }
  while (expect <= last && !::testing::Test::HasFatalFailure()) drain();
  EXPECT_EQ(expect, last + 1);
}

}  // namespace
}  // namespace tickwire::journal
