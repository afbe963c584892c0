// Journal benchmarks: producer-side append throughput and latency for 64 B,
// 256 B and 1 KiB payloads against write(2) of the same record bytes and an
// spdlog basic file sink; read+CRC-verify throughput against memcpy of the
// same bytes (the floor). Files go to $TICKWIRE_BENCH_DIR, else $TMPDIR, else
// /tmp (ext4 here; /dev/shm is tmpfs): the page cache, with FsyncPolicy::kNone.
// BM_MmapRingWrite against BM_MemcpyRingRecord: the producer's cost of the
// ring record CRC.
// Pin with taskset to choose cores.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <benchmark/benchmark.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tickwire/journal/journal.hpp"
#include "tickwire/journal/mmap_ring.hpp"
#include "tickwire/journal/reader.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/segment_writer.hpp"

namespace {

namespace jr = tickwire::journal;

// A scratch directory for one benchmark, removed afterwards.
class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("TICKWIRE_BENCH_DIR");
    if (base == nullptr) base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/tickwire-bench-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

jr::Options bench_options(const std::filesystem::path& dir) {
  jr::Options o;
  o.dir = dir / "journal";
  o.feed = "bench";
  o.fsync = jr::FsyncPolicy::kNone;
  o.roll_daily_utc = false;
  return o;
}

std::uint64_t cpu_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// The CPU clock of this process's thread named `name` ("tw-flush"), or 0 if
// there is none: Linux's clock id for a thread by tid (what
// pthread_getcpuclockid returns, for threads the bench did not start).
clockid_t thread_clock(const std::string& name) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string line;
    if (!std::getline(comm, line) || line != name) continue;
    const auto tid = static_cast<clockid_t>(std::stol(e.path().filename().string()));
    return (~tid << 3) | 6;  // CPUCLOCK_SCHED of a single thread
  }
  return 0;
}

// Sustained append rate (the slower of producer and flusher). Counters, per
// record, from after open to before close (the last segment's truncation and
// sync not included): flush_cpu_ns, the flusher thread's CPU time; seg_cpu_ns,
// its helper's (spares, finishing rolled-out segments); drain_cpu_ns, every
// journal thread but the producer, to after close. Unlike the rate, these do not depend on what else the machine runs:
// 1e9 / flush_cpu_ns is the rate the flusher drains with a core to itself.
void BM_JournalAppend(benchmark::State& state) {
  BenchDir dir;
  auto j = jr::Journal::open(bench_options(dir.path())).value();
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x5a});
  std::uint64_t seq = 1;
  const clockid_t flush_clock = thread_clock("tw-flush");
  const clockid_t seg_clock = thread_clock("tw-seg");
  const std::uint64_t flush0 = flush_clock != 0 ? cpu_ns(flush_clock) : 0;
  const std::uint64_t seg0 = seg_clock != 0 ? cpu_ns(seg_clock) : 0;
  const std::uint64_t process0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
  const std::uint64_t producer0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  for (auto _ : state) {
    benchmark::DoNotOptimize(j->append(seq, seq, 1, payload));
    ++seq;
  }
  const auto iterations = static_cast<double>(state.iterations());
  if (flush_clock != 0) state.counters["flush_cpu_ns"] = static_cast<double>(cpu_ns(flush_clock) - flush0) / iterations;
  if (seg_clock != 0) state.counters["seg_cpu_ns"] = static_cast<double>(cpu_ns(seg_clock) - seg0) / iterations;
  if (!j->close().ok()) state.SkipWithError("journal close failed");
  const std::uint64_t others = (cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - process0) - (cpu_ns(CLOCK_THREAD_CPUTIME_ID) - producer0);
  state.counters["drain_cpu_ns"] = static_cast<double>(others) / iterations;
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_JournalAppend)->Arg(64)->Arg(256)->Arg(1024)->UseRealTime();

// Producer-side latency of each append, in ns, from the TSC (calibrated
// against steady_clock over the run): p50, p99, p99.9, p99.99 and max as
// counters. The 16 M samples kept span several 256 MiB segment rolls at 64 B.
void BM_JournalAppendLatency(benchmark::State& state) {
  BenchDir dir;
  jr::Options o = bench_options(dir.path());
  if (state.range(1) != 0) o.segment_bytes = static_cast<std::size_t>(state.range(1)) << 20;
  auto j = jr::Journal::open(o).value();
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x5a});
  std::vector<std::uint64_t> ticks;
  ticks.reserve(1u << 24);
  std::uint64_t seq = 1;
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t c0 = __rdtsc();
  for (auto _ : state) {
    const std::uint64_t a = __rdtsc();
    benchmark::DoNotOptimize(j->append(seq, seq, 1, payload));
    const std::uint64_t b = __rdtsc();
    if (ticks.size() < ticks.capacity()) ticks.push_back(b - a);
    ++seq;
  }
  const std::uint64_t c1 = __rdtsc();
  const auto t1 = std::chrono::steady_clock::now();
  if (!j->close().ok()) state.SkipWithError("journal close failed");
  const double ns_per_tick =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()) /
      static_cast<double>(c1 - c0);
  std::sort(ticks.begin(), ticks.end());
  auto pct = [&](double p) {
    if (ticks.empty()) return 0.0;
    auto i = static_cast<std::size_t>(p * static_cast<double>(ticks.size() - 1));
    return static_cast<double>(ticks[i]) * ns_per_tick;
  };
  state.counters["p50_ns"] = pct(0.50);
  state.counters["p99_ns"] = pct(0.99);
  state.counters["p999_ns"] = pct(0.999);
  state.counters["p9999_ns"] = pct(0.9999);
  state.counters["max_ns"] = pct(1.0);
  state.SetItemsProcessed(state.iterations());
}
// Second argument: segment size in MiB (0: the default 256 MiB). 16 MiB
// segments roll every ~150 k records of 64 B, so the tail shows the roll.
BENCHMARK(BM_JournalAppendLatency)
    ->Args({64, 0})
    ->Args({256, 0})
    ->Args({1024, 0})
    ->Args({64, 16})
    ->UseRealTime();

// The flusher's per-record work alone, on one thread (CPU time is the
// figure; it moves less than the two-thread rate on a shared machine):
// SegmentWriter::append of 64 B records into 64 MiB segments, rolling to a
// new segment (untimed) when one is full. Files as the other benchmarks.
void BM_SegmentWriterAppend(benchmark::State& state) {
  BenchDir dir;
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x5a});
  constexpr std::size_t kCapacity = 64u << 20;
  std::uint64_t seq = 1, segment = 1;
  auto open_segment = [&] {
    jr::SegmentHeader h = jr::make_segment_header(segment++, seq, seq, "bench");
    h.index_interval = 1024;
    return jr::SegmentWriter::create(dir.path(), h, kCapacity).value();
  };
  auto w = open_segment();
  for (auto _ : state) {
    if (!w.fits(payload.size())) {
      state.PauseTiming();
      if (!w.finish(jr::EndReason::kRoll, seq).ok()) state.SkipWithError("finish failed");
      w = open_segment();
      state.ResumeTiming();
    }
    w.append(seq, seq, seq, 1, payload);
    ++seq;
  }
  if (!w.finish(jr::EndReason::kClose, seq).ok()) state.SkipWithError("finish failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SegmentWriterAppend)->Arg(64)->Arg(1024);

// What a roll of a full 256 MiB segment (64 B records, nothing synced
// before) costs the flusher: retire (end record) and create from the spare
// (header write + sync, two renames, one directory fsync). Untimed: filling
// the segment, and the helper's share (making the spare, syncing and
// truncating the retired segment).
void BM_SegmentRoll(benchmark::State& state) {
  BenchDir dir;
  constexpr std::size_t kCapacity = 256u << 20;
  std::vector<std::byte> payload(64, std::byte{0x5a});
  std::uint64_t seq = 1, segment = 1;
  auto header = [&] {
    jr::SegmentHeader h = jr::make_segment_header(segment++, seq, seq, "bench");
    h.index_interval = 1024;
    return h;
  };
  auto w = jr::SegmentWriter::create(dir.path(), header(), kCapacity).value();
  for (auto _ : state) {
    state.PauseTiming();
    while (w.fits(payload.size())) {
      w.append(seq, seq, seq, 1, payload);
      ++seq;
    }
    auto spare = jr::prepare_spare(dir.path(), segment, 1024, kCapacity).value();
    state.ResumeTiming();
    auto retired = w.retire(jr::EndReason::kRoll, seq).value();
    w = jr::SegmentWriter::create(dir.path(), header(), std::move(spare)).value();
    state.PauseTiming();
    if (!retired.finish().ok()) state.SkipWithError("finish failed");
    state.ResumeTiming();
  }
  if (!w.finish(jr::EndReason::kClose, seq).ok()) state.SkipWithError("finish failed");
}
BENCHMARK(BM_SegmentRoll)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// Peer: one write(2) per record of the same bytes a segment record holds.
void BM_WriteSyscall(benchmark::State& state) {
  BenchDir dir;
  const auto path = dir.path() / "write.bin";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<std::byte> record(jr::align_record(jr::kRecordHeaderSize + static_cast<std::size_t>(state.range(0))),
                                std::byte{0x5a});
  std::uint64_t written = 0;
  for (auto _ : state) {
    if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size())) {
      state.SkipWithError("write failed");
      break;
    }
    written += record.size();
    if (written >= (256u << 20)) {  // roll like a segment so the file stays bounded
      state.PauseTiming();
      if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) state.SkipWithError("truncate failed");
      written = 0;
      state.ResumeTiming();
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_WriteSyscall)->Arg(64)->Arg(256)->Arg(1024)->UseRealTime();

// Peer: spdlog's synchronous basic file sink, one message of the payload's size per record.
void BM_SpdlogBasicFile(benchmark::State& state) {
  BenchDir dir;
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_st>((dir.path() / "spdlog.log").string(), true);
  spdlog::logger logger("bench", sink);
  logger.set_pattern("%v");
  const std::string message(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) logger.info(std::string_view(message));
  logger.flush();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SpdlogBasicFile)->Arg(64)->Arg(256)->Arg(1024)->UseRealTime();

// A journal of 64-byte records for the read benchmarks, written once.
struct ReadFixture {
  static constexpr std::uint64_t kRecords = 2'000'000;
  BenchDir dir;
  std::vector<std::byte> image;  // the segments' bytes, concatenated, for the memcpy floor

  ReadFixture() {
    jr::Options o = bench_options(dir.path());
    auto j = jr::Journal::open(o).value();
    std::vector<std::byte> payload(64, std::byte{0x5a});
    for (std::uint64_t s = 1; s <= kRecords; ++s) j->append(s, s, 1, payload);
    if (!j->close().ok()) std::abort();
    for (const auto& e : std::filesystem::directory_iterator(o.dir)) {
      if (e.path().extension() != ".seg") continue;
      const auto size = std::filesystem::file_size(e.path());
      const auto at = image.size();
      image.resize(at + size);
      int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::pread(fd, image.data() + at, size, 0) != static_cast<ssize_t>(size)) std::abort();
      ::close(fd);
    }
  }
  static ReadFixture& get() {
    static ReadFixture f;
    return f;
  }
};

void BM_ReaderReadVerify(benchmark::State& state) {
  auto& f = ReadFixture::get();
  std::uint64_t records = 0;
  for (auto _ : state) {
    auto reader = jr::Reader::open(f.dir.path() / "journal").value();
    for (;;) {
      auto r = reader.next();
      if (!r.ok() || !*r) break;
      benchmark::DoNotOptimize((*r)->payload.data());
      ++records;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
  state.SetBytesProcessed(static_cast<std::int64_t>(f.image.size()) * state.iterations());
}
BENCHMARK(BM_ReaderReadVerify)->Unit(benchmark::kMillisecond)->UseRealTime();

// The floor: memcpy of the same bytes (already in memory, as the page cache holds the segments).
void BM_MemcpySameBytes(benchmark::State& state) {
  auto& f = ReadFixture::get();
  std::vector<std::byte> out(f.image.size());
  for (auto _ : state) {
    std::memcpy(out.data(), f.image.data(), f.image.size());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(ReadFixture::kRecords) * state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(f.image.size()) * state.iterations());
}
BENCHMARK(BM_MemcpySameBytes)->Unit(benchmark::kMillisecond)->UseRealTime();

// The producer's share of the ring record CRC alone: try_write into a ring
// whose consumer releases every record at once (no flusher, no file I/O), so
// the cost is the record copy plus its CRC32C. Peer: the same record bytes
// memcpy'd into a buffer of the ring's size (what try_write did before the CRC).
void BM_MmapRingWrite(benchmark::State& state) {
  BenchDir dir;
  auto ring = jr::MmapRing::open(dir.path() / "ring", 1u << 20).value();
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x5a});
  std::uint64_t seq = 1;
  for (auto _ : state) {
    if (!ring.try_write(seq, seq, 1, payload)) {
      std::uint64_t pos = ring.head();
      for (auto e = ring.read_at(pos); e; e = ring.read_at(pos)) pos = e->next;
      ring.release(pos);
      benchmark::DoNotOptimize(ring.try_write(seq, seq, 1, payload));
    }
    ++seq;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MmapRingWrite)->Arg(64)->Arg(256)->Arg(1024);

void BM_MemcpyRingRecord(benchmark::State& state) {
  std::vector<std::byte> area(1u << 20);
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x5a});
  const std::size_t step = jr::align_record(jr::kRingRecordHeaderSize + payload.size());
  std::size_t off = 0;
  std::uint64_t seq = 1;
  for (auto _ : state) {
    if (off + step > area.size()) off = 0;
    std::memcpy(area.data() + off + 16, &seq, 8);
    std::memcpy(area.data() + off + 24, &seq, 8);
    std::memcpy(area.data() + off + jr::kRingRecordHeaderSize, payload.data(), payload.size());
    benchmark::ClobberMemory();
    off += step;
    ++seq;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemcpyRingRecord)->Arg(64)->Arg(256)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
