#include "tickwire/middleware/tsc_clock.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

namespace tickwire::middleware {
namespace {

#if defined(TICKWIRE_TSAN)
constexpr int kScale = 10;
#else
constexpr int kScale = 1;
#endif

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t wall_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Checks that to_mono_ns(ticks taken between m1 and m2) lies in [m1, m2]
// widened by the clock's own error bound (doubled: the bound is an estimate
// from bracket widths, and CLOCK_MONOTONIC itself may be slewed by NTP).
void expect_agrees_with_clock_monotonic(const TscClock& clock) {
  const std::uint64_t m1 = mono_ns();
  const std::uint64_t t = clock.ticks_ordered();
  const std::uint64_t m2 = mono_ns();
  const std::uint64_t mapped = clock.to_mono_ns(t);
  const std::uint64_t bound = 2 * clock.error_bound_ns(t) + 100;
  EXPECT_GE(mapped + bound, m1) << "bound " << bound;
  EXPECT_LE(mapped, m2 + bound) << "bound " << bound;
}

TEST(TscClock, DetectsInvariantTscLikeTheKernelFlags) {
  const TscCalibration c = TscClock::global().calibration();
  EXPECT_EQ(c.invariant_tsc, TscClock::cpu_has_invariant_tsc());
  if (c.invariant_tsc) {
    EXPECT_GT(c.ns_per_tick, 0.0);
    EXPECT_LT(c.ns_per_tick, 10.0);  // a TSC between 100 MHz and anything faster
  } else {
    EXPECT_EQ(c.ns_per_tick, 1.0);
  }
}

TEST(TscClock, FixedPointRateMatchesNsPerTick) {
  const TscCalibration c = TscClock::global().calibration();
  const double rate = std::ldexp(static_cast<double>(c.mult), -static_cast<int>(c.shift));
  EXPECT_NEAR(rate, c.ns_per_tick, c.ns_per_tick * 1e-12);
  EXPECT_EQ(TscClock::map(c, c.tsc_anchor), c.mono_anchor_ns);
  EXPECT_EQ(TscClock::map(c, c.tsc_anchor + 1'000'000'000ULL),
            c.mono_anchor_ns + static_cast<std::uint64_t>(1e9 * c.ns_per_tick));
}

TEST(TscClock, NowTicksNeverDecreasesOnOneThread) {
  std::uint64_t prev = TscClock::now_ticks();
  std::uint64_t prev_ordered = TscClock::now_ticks_ordered();
  std::uint64_t prev_ns = TscClock::global().now_mono_ns();
  for (int i = 0; i < 1'000'000 / kScale; ++i) {
    const std::uint64_t t = TscClock::now_ticks();
    ASSERT_GE(t, prev);
    prev = t;
    const std::uint64_t o = TscClock::now_ticks_ordered();
    ASSERT_GE(o, prev_ordered);
    prev_ordered = o;
    const std::uint64_t ns = TscClock::global().now_mono_ns();
    ASSERT_GE(ns, prev_ns);
    prev_ns = ns;
  }
}

TEST(TscClock, StampsNeverDecreaseAcrossThreads) {
  // Each thread stamps after observing the latest stamp of any thread; with an
  // ordered rdtsc and a synchronised TSC it is never smaller than that stamp.
  std::atomic<std::uint64_t> latest{TscClock::now_ticks_ordered()};
  std::atomic<std::uint64_t> violations{0};
  auto body = [&] {
    for (int i = 0; i < 200'000 / kScale; ++i) {
      // acquire: pairs with the release CAS below on the other thread.
      std::uint64_t seen = latest.load(std::memory_order_acquire);
      const std::uint64_t t = TscClock::now_ticks_ordered();
      if (t < seen) violations.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter read after join
      // release: pairs with the acquire load above on the other thread.
      while (seen < t && !latest.compare_exchange_weak(seen, t, std::memory_order_release,
                                                       std::memory_order_acquire)) {
      }
    }
  };
  std::thread a(body), b(body);
  a.join();
  b.join();
  EXPECT_EQ(violations.load(std::memory_order_relaxed), 0u);  // relaxed: after join
}

TEST(TscClock, ToMonoNsAgreesWithClockMonotonicWithinCalibrationError) {
  TscClock clock;
  for (int i = 0; i < 1000; ++i) expect_agrees_with_clock_monotonic(clock);
}

TEST(TscClock, ResyncKeepsAgreementOverALongBaseline) {
  // Work (resync + check) until the baseline is long enough for resync() to
  // re-measure the rate, then check the refined bound is tighter.
  TscClock clock;
  const TscCalibration first = clock.calibration();
  const std::uint64_t start = mono_ns();
  int rounds = 0;
  while (mono_ns() - start < 250'000'000ULL || rounds < 10) {
    clock.resync();
    expect_agrees_with_clock_monotonic(clock);
    ++rounds;
  }
  const TscCalibration last = clock.calibration();
  EXPECT_EQ(last.generation, first.generation + static_cast<std::uint64_t>(rounds));
  if (last.invariant_tsc) {
    EXPECT_LE(last.rate_error, first.rate_error);
  }
}

TEST(TscClock, ResyncNeverMovesTheMappingBack) {
  // Ordered stamps: each is taken after resync() has sampled its anchor.
  TscClock clock;
  std::uint64_t prev = clock.to_mono_ns(clock.ticks_ordered());
  for (int i = 0; i < 2000 / kScale; ++i) {
    clock.resync();
    const std::uint64_t now = clock.to_mono_ns(clock.ticks_ordered());
    ASSERT_GE(now, prev);
    prev = now;
  }
}

TEST(TscClock, WallTimeTracksClockRealtime) {
  TscClock clock;
  const std::uint64_t w1 = wall_ns();
  const std::uint64_t t = clock.ticks();
  const std::uint64_t w2 = wall_ns();
  const std::uint64_t wall = clock.to_wall_ns(t);
  // Generous: the realtime offset is measured once per resync and NTP may
  // adjust CLOCK_REALTIME in between.
  const std::uint64_t bound = 2 * clock.error_bound_ns(t) + 10'000'000;
  EXPECT_GE(wall + bound, w1);
  EXPECT_LE(wall, w2 + bound);
  EXPECT_EQ(clock.to_wall_ns(t) - clock.to_mono_ns(t),
            clock.calibration().wall_anchor_ns - clock.calibration().mono_anchor_ns);
}

TEST(TscClock, MonoAndWallOfOneReadingMatchTheSeparateConversions) {
  TscClock clock;
  const std::uint64_t base = clock.ticks();
  // Readings on both sides of the anchor, and far from it.
  for (const std::uint64_t t : {base, base + 1, base + 123'456'789, base / 2, std::uint64_t{1}}) {
    const auto both = clock.to_mono_and_wall_ns(t);
    EXPECT_EQ(both.mono_ns, clock.to_mono_ns(t)) << t;
    EXPECT_EQ(both.wall_ns, clock.to_wall_ns(t)) << t;
  }
}

TEST(TscClock, FallbackModeTicksAreSteadyClockNanoseconds) {
  TscClock clock(TscClock::Mode::kForceSteady);
  const TscCalibration c = clock.calibration();
  EXPECT_FALSE(c.invariant_tsc);
  EXPECT_EQ(c.ns_per_tick, 1.0);
  const auto s1 = std::chrono::steady_clock::now().time_since_epoch();
  const std::uint64_t t = clock.ticks();
  const auto s2 = std::chrono::steady_clock::now().time_since_epoch();
  EXPECT_GE(t, static_cast<std::uint64_t>(std::chrono::nanoseconds(s1).count()));
  EXPECT_LE(t, static_cast<std::uint64_t>(std::chrono::nanoseconds(s2).count()));
  EXPECT_EQ(clock.to_mono_ns(t), t);
  clock.resync();
  EXPECT_EQ(clock.to_mono_ns(t), t);
  EXPECT_EQ(clock.to_mono_ns(t + 12345), t + 12345);
  expect_agrees_with_clock_monotonic(clock);
  std::uint64_t prev = clock.now_mono_ns();
  for (int i = 0; i < 10'000; ++i) {
    const std::uint64_t now = clock.now_mono_ns();
    ASSERT_GE(now, prev);
    prev = now;
  }
}

// Mapper: the clock's own conversion, before and after a resync (which it
// must notice), on both sides of the anchor.
TEST(TscClock, AMapperConvertsAsTheClockDoesAndFollowsAResync) {
  TscClock clock;
  TscClock::Mapper mapper(clock);
  const std::uint64_t base = clock.ticks();
  const std::uint64_t readings[] = {base, base + 123'456'789, base / 2, std::uint64_t{1}};
  for (const std::uint64_t t : readings) {
    const auto want = clock.to_mono_and_wall_ns(t);
    const auto got = mapper.to_mono_and_wall_ns(t);
    EXPECT_EQ(got.mono_ns, want.mono_ns) << t;
    EXPECT_EQ(got.wall_ns, want.wall_ns) << t;
  }
  // A resync re-anchors and re-measures the rate: the readings far from the
  // anchor map to other values (a Mapper that kept its copy fails below).
  const std::uint64_t before = clock.calibration().generation;
  clock.resync();
  ASSERT_EQ(clock.calibration().generation, before + 1);
  for (const std::uint64_t t : readings) {
    const auto want = clock.to_mono_and_wall_ns(t);
    const auto got = mapper.to_mono_and_wall_ns(t);
    EXPECT_EQ(got.mono_ns, want.mono_ns) << t;
    EXPECT_EQ(got.wall_ns, want.wall_ns) << t;
  }
}

// bad_conversions_during_resyncs: two threads each run a reader that
// make_reader() returns (one conversion per call, true when it is wrong)
// until 20 000 / kScale resyncs are done; how many were wrong.
template <typename MakeReader>
std::uint64_t bad_conversions_during_resyncs(TscClock& clock, MakeReader make_reader) {
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> bad{0};
  auto run = [&] {
    auto reader = make_reader();
    // acquire: pairs with the release store of done after the resync loop.
    while (!done.load(std::memory_order_acquire)) {
      if (reader()) bad.fetch_add(1, std::memory_order_relaxed);  // relaxed: read after join
    }
  };
  std::thread r1(run), r2(run);
  for (int i = 0; i < 20'000 / kScale; ++i) clock.resync();
  done.store(true, std::memory_order_release);  // release: pairs with the readers' acquire
  r1.join();
  r2.join();
  return bad.load(std::memory_order_relaxed);  // relaxed: after join
}

// Mappers on other threads while resync() runs: each conversion uses one
// whole calibration (wall - mono is one generation's anchor difference) and,
// for rising readings, never goes back (resync never moves the mapping back).
TEST(TscClock, MappersSeeOnlyWholeCalibrationsWhileResyncRuns) {
  TscClock clock;
  const std::uint64_t bad = bad_conversions_during_resyncs(clock, [&] {
    return [&clock, mapper = TscClock::Mapper(clock), last_mono = std::uint64_t{0}]() mutable {
      const TscCalibration before = clock.calibration();
      const auto got = mapper.to_mono_and_wall_ns(clock.ticks());
      const TscCalibration after = clock.calibration();
      const std::uint64_t offset = got.wall_ns - got.mono_ns;
      // The conversion's calibration is `before`'s, `after`'s or one published between them.
      const bool whole = offset == before.wall_anchor_ns - before.mono_anchor_ns ||
                         offset == after.wall_anchor_ns - after.mono_anchor_ns ||
                         after.generation > before.generation + 1;
      const bool went_back = got.mono_ns < last_mono;
      last_mono = got.mono_ns;
      return !whole || went_back;
    };
  });
  EXPECT_EQ(bad, 0u);
}

struct EightWords {
  std::uint64_t w[8];
};

TEST(Seqlock, ReadersNeverSeeATornValue) {
  detail::Seqlock<EightWords> cell(EightWords{});
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> torn{0};
  std::atomic<std::uint64_t> went_back{0};
  auto reader = [&] {
    std::uint64_t last = 0;
    // acquire: pairs with the release store of done after the writer's loop.
    while (!done.load(std::memory_order_acquire)) {
      const EightWords v = cell.load();
      for (std::uint64_t x : v.w) {
        if (x != v.w[0]) torn.fetch_add(1, std::memory_order_relaxed);  // relaxed: read after join
      }
      if (v.w[0] < last) went_back.fetch_add(1, std::memory_order_relaxed);  // relaxed: read after join
      last = v.w[0];
    }
  };
  std::thread r1(reader), r2(reader);
  for (std::uint64_t i = 1; i <= 200'000 / kScale; ++i) {
    EightWords v;
    for (auto& x : v.w) x = i;
    cell.store(v);
  }
  done.store(true, std::memory_order_release);  // release: pairs with the readers' acquire
  r1.join();
  r2.join();
  EXPECT_EQ(torn.load(std::memory_order_relaxed), 0u);       // relaxed: after join
  EXPECT_EQ(went_back.load(std::memory_order_relaxed), 0u);  // relaxed: after join
  EXPECT_EQ(cell.load().w[7], 200'000u / kScale);
}

TEST(TscClock, ConvertersSeeOnlyConsistentParametersWhileResyncRuns) {
  TscClock clock;
  const std::uint64_t bad = bad_conversions_during_resyncs(clock, [&] {
    return [&clock, last = clock.calibration()]() mutable {
      const TscCalibration c = clock.calibration();
      const bool same_gen_differs =
          c.generation == last.generation &&
          (c.tsc_anchor != last.tsc_anchor || c.mono_anchor_ns != last.mono_anchor_ns ||
           c.wall_anchor_ns != last.wall_anchor_ns || c.mult != last.mult || c.shift != last.shift ||
           c.ns_per_tick != last.ns_per_tick);
      const double rate = std::ldexp(static_cast<double>(c.mult), -static_cast<int>(c.shift));
      const bool rate_mismatch = std::fabs(rate - c.ns_per_tick) > c.ns_per_tick * 1e-12;
      const bool went_back = c.generation < last.generation;
      // Converting concurrently with resync() is the point; the value is checked elsewhere.
      const bool converts = clock.now_mono_ns() != 0 && clock.to_wall_ns(c.tsc_anchor) != 0;
      last = c;
      return same_gen_differs || rate_mismatch || went_back || !converts;
    };
  });
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(clock.calibration().generation, 1u + 20'000u / kScale);
}

}  // namespace
}  // namespace tickwire::middleware
