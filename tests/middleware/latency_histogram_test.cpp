#include "tickwire/middleware/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace tickwire::middleware {
namespace {

LatencyHistogram make(std::uint64_t lowest, std::uint64_t highest, int sig) {
  auto h = LatencyHistogram::create(lowest, highest, sig);
  EXPECT_TRUE(h.ok()) << h.status();
  return *std::move(h);
}

std::vector<std::uint64_t> lognormal_sample(std::size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(9.0, 1.5);  // median ~8 us in ns, long tail
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = static_cast<std::uint64_t>(dist(rng)) % 3'000'000'000ULL;
  return v;
}

// The value HdrHistogram's value_at_percentile aims at: the
// round(p/100 * n)-th smallest value (at least the first).
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double p) {
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.5);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

TEST(LatencyHistogram, RejectsInvalidConfigurationWithAMessage) {
  EXPECT_FALSE(LatencyHistogram::create(0, 1000, 3).ok());
  EXPECT_FALSE(LatencyHistogram::create(1, 1000, 0).ok());
  EXPECT_FALSE(LatencyHistogram::create(1, 1000, 6).ok());
  EXPECT_FALSE(LatencyHistogram::create(600, 1000, 3).ok());
  const auto bad = LatencyHistogram::create(1, 1000, 7);
  EXPECT_NE(std::string(bad.status().message()).find("significant_figures = 7"), std::string::npos);
}

TEST(LatencyHistogram, LayoutMatchesHdrHistogramForTheUsualConfiguration) {
  // HdrHistogram: (1, 3600000000, 3) -> 2048 sub-buckets, 22 buckets.
  const LatencyHistogram h = make(1, 3'600'000'000ULL, 3);
  EXPECT_EQ(h.sub_bucket_count(), 2048);
  EXPECT_EQ(h.bucket_count(), 22);
  EXPECT_EQ(h.memory_bytes(), (22u + 1u) * 1024u * 8u);
}

TEST(LatencyHistogram, PercentilesMatchASortedSampleWithinTheConfiguredPrecision) {
  for (int sig = 1; sig <= 5; ++sig) {
    LatencyHistogram h = make(1, 3'600'000'000ULL, sig);
    std::vector<std::uint64_t> sample = lognormal_sample(100'000, 42u + static_cast<std::uint32_t>(sig));
    for (std::uint64_t v : sample) h.record(v);
    std::sort(sample.begin(), sample.end());
    const double resolution = std::pow(10.0, -sig);
    for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
      const std::uint64_t exact = exact_percentile(sample, p);
      const std::uint64_t got = h.value_at_percentile(p);
      SCOPED_TRACE(testing::Message() << "sig " << sig << " p " << p << " exact " << exact << " got " << got);
      // The result is the same bucket's bound, so within one bucket width of
      // the exact value: at most exact * 10^-sig (or 1 for tiny values).
      EXPECT_EQ(h.lowest_equivalent(got), h.lowest_equivalent(exact));
      EXPECT_LE(static_cast<double>(got > exact ? got - exact : exact - got),
                std::max(1.0, static_cast<double>(exact) * resolution));
    }
    EXPECT_EQ(h.total_count(), sample.size());
    EXPECT_EQ(h.min(), h.lowest_equivalent(sample.front()));
    EXPECT_EQ(h.max(), h.highest_equivalent(sample.back()));
    double sum = 0.0;
    for (std::uint64_t v : sample) sum += static_cast<double>(v);
    const double exact_mean = sum / static_cast<double>(sample.size());
    EXPECT_NEAR(h.mean(), exact_mean, exact_mean * resolution);
    double sq = 0.0;
    for (std::uint64_t v : sample) sq += (static_cast<double>(v) - exact_mean) * (static_cast<double>(v) - exact_mean);
    const double exact_stddev = std::sqrt(sq / static_cast<double>(sample.size()));
    EXPECT_NEAR(h.stddev(), exact_stddev, exact_stddev * 2 * resolution);
  }
}

TEST(LatencyHistogram, ClampsOutOfRangeValuesAndCountsThem) {
  LatencyHistogram h = make(1, 1'000'000, 3);
  h.record(5);
  h.record(2'000'000);
  h.record(UINT64_MAX);
  EXPECT_EQ(h.total_count(), 3u);
  EXPECT_EQ(h.clamped_count(), 2u);
  EXPECT_EQ(h.count_at(1'000'000), 2u);
  EXPECT_EQ(h.value_at_percentile(100.0), h.highest_equivalent(1'000'000));
  EXPECT_EQ(h.count_at(UINT64_MAX), 2u);
  h.record_corrected(UINT64_MAX, 1);  // clamped first: at most 10^6 missing values
  EXPECT_EQ(h.clamped_count(), 3u);
  EXPECT_EQ(h.total_count(), 3u + 1'000'000u);
}

TEST(LatencyHistogram, ValuesBelowLowestDiscernibleShareTheFirstBucket) {
  LatencyHistogram h = make(1000, 1'000'000'000, 2);
  h.record(0);
  h.record(1);
  h.record(511);
  EXPECT_EQ(h.count_at(0), 3u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(LatencyHistogram, CorrectedRecordingMatchesHdrHistogramOnTheClassicExample) {
  // HdrHistogram_c's test_get_stats: 10,000 results of 1 ms and one stall of
  // 100 s, recorded in us with an expected interval of 10 ms.
  LatencyHistogram raw = make(1, 3'600'000'000ULL, 3);
  LatencyHistogram cor = make(1, 3'600'000'000ULL, 3);
  for (int i = 0; i < 10'000; ++i) {
    raw.record(1000);
    cor.record_corrected(1000, 10'000);
  }
  raw.record(100'000'000);
  cor.record_corrected(100'000'000, 10'000);

  EXPECT_EQ(raw.total_count(), 10'001u);
  EXPECT_EQ(cor.total_count(), 20'000u);
  auto near = [](std::uint64_t got, double expected) {
    return std::fabs(static_cast<double>(got) - expected) <= expected * 0.001;
  };
  EXPECT_TRUE(near(raw.value_at_percentile(30.0), 1000.0));
  EXPECT_TRUE(near(raw.value_at_percentile(99.0), 1000.0));
  EXPECT_TRUE(near(raw.value_at_percentile(99.99), 1000.0));
  EXPECT_TRUE(near(raw.value_at_percentile(99.999), 100'000'000.0));
  EXPECT_TRUE(near(cor.value_at_percentile(30.0), 1000.0));
  EXPECT_TRUE(near(cor.value_at_percentile(50.0), 1000.0));
  EXPECT_TRUE(near(cor.value_at_percentile(75.0), 50'000'000.0));
  EXPECT_TRUE(near(cor.value_at_percentile(90.0), 80'000'000.0));
  EXPECT_TRUE(near(cor.value_at_percentile(99.0), 98'000'000.0));
  EXPECT_TRUE(near(cor.value_at_percentile(99.999), 100'000'000.0));
  EXPECT_TRUE(near(cor.value_at_percentile(100.0), 100'000'000.0));
  EXPECT_EQ(cor.min(), 1000u);
}

TEST(LatencyHistogram, CorrectedRecordingAddsOneValuePerMissedInterval) {
  // HdrHistogram's testRecordValueWithExpectedInterval.
  LatencyHistogram h = make(1, 3'600'000'000ULL, 3);
  h.record_corrected(4, 1);
  EXPECT_EQ(h.count_at(1), 1u);
  EXPECT_EQ(h.count_at(2), 1u);
  EXPECT_EQ(h.count_at(3), 1u);
  EXPECT_EQ(h.count_at(4), 1u);
  EXPECT_EQ(h.total_count(), 4u);

  // Against a plain loop over the missing values, across many buckets.
  LatencyHistogram fast = make(1, 3'600'000'000ULL, 2);
  LatencyHistogram slow = make(1, 3'600'000'000ULL, 2);
  fast.record_corrected(12'345'678, 777);
  slow.record(12'345'678);
  for (std::uint64_t m = 12'345'678 - 777; m >= 777; m -= 777) slow.record(m);
  EXPECT_EQ(fast.total_count(), slow.total_count());
  EXPECT_EQ(fast.min(), slow.min());
  EXPECT_EQ(fast.percentile_distribution(), slow.percentile_distribution());
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a = make(1, 3'600'000'000ULL, 3);
  LatencyHistogram b = make(1, 3'600'000'000ULL, 3);
  LatencyHistogram all = make(1, 3'600'000'000ULL, 3);
  const auto sa = lognormal_sample(20'000, 1);
  const auto sb = lognormal_sample(30'000, 2);
  for (auto v : sa) {
    a.record(v);
    all.record(v);
  }
  for (auto v : sb) {
    b.record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.total_count(), 50'000u);
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.percentile_distribution(), all.percentile_distribution());

  // A different layout: values re-recorded, within the coarser precision.
  LatencyHistogram coarse = make(1, 3'600'000'000ULL, 2);
  coarse.merge(all);
  EXPECT_EQ(coarse.total_count(), all.total_count());
  for (double p : {50.0, 99.0, 99.9}) {
    EXPECT_EQ(coarse.lowest_equivalent(coarse.value_at_percentile(p)),
              coarse.lowest_equivalent(all.value_at_percentile(p)));
  }
}

TEST(LatencyHistogram, ResetForgetsEverythingAndKeepsWorking) {
  LatencyHistogram h = make(1, 1'000'000, 3);
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
  h.record(5'000'000);
  h.reset();
  EXPECT_EQ(h.total_count(), 0u);
  EXPECT_EQ(h.clamped_count(), 0u);
  EXPECT_EQ(h.value_at_percentile(50.0), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.count_at(500), 0u);
  h.record(42);
  EXPECT_EQ(h.value_at_percentile(50.0), 42u);
  EXPECT_EQ(h.min(), 42u);
  EXPECT_EQ(h.max(), 42u);
}

struct Row {
  double value;
  double percentile;
  std::uint64_t total;
  std::string inverse;
};

struct Parsed {
  std::string header;
  std::vector<Row> rows;
  double mean = 0, stddev = 0, max = 0;
  std::uint64_t total = 0;
  int buckets = 0, sub_buckets = 0;
};

Parsed parse_hgrm(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line;
  std::getline(in, p.header);
  std::getline(in, line);
  EXPECT_EQ(line, "");
  while (std::getline(in, line)) {
    if (line.rfind("#[Mean", 0) == 0) {
      EXPECT_EQ(std::sscanf(line.c_str(), "#[Mean    = %lf, StdDeviation   = %lf]", &p.mean, &p.stddev), 2);
    } else if (line.rfind("#[Max", 0) == 0) {
      unsigned long long total = 0;
      EXPECT_EQ(std::sscanf(line.c_str(), "#[Max     = %lf, Total count    = %llu]", &p.max, &total), 2);
      p.total = total;
    } else if (line.rfind("#[Buckets", 0) == 0) {
      EXPECT_EQ(std::sscanf(line.c_str(), "#[Buckets = %d, SubBuckets     = %d]", &p.buckets, &p.sub_buckets), 2);
    } else {
      EXPECT_EQ(line.size(), 51u) << line;  // four %12 columns and three spaces
      std::istringstream cols(line);
      Row r;
      cols >> r.value >> r.percentile >> r.total >> r.inverse;
      EXPECT_FALSE(cols.fail()) << line;
      p.rows.push_back(r);
    }
  }
  return p;
}

TEST(LatencyHistogram, PercentileDistributionHasTheHgrmStructureAndValues) {
  // 1..1000 once each: every value has its own bucket, so each row's value
  // equals its total count and the footer is exact.
  LatencyHistogram h = make(1, 3'600'000'000ULL, 3);
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
  const std::string text = h.percentile_distribution(5, 1.0);
  const Parsed p = parse_hgrm(text);

  EXPECT_EQ(p.header, "       Value   Percentile   TotalCount 1/(1-Percentile)");
  ASSERT_GE(p.rows.size(), 3u);
  EXPECT_EQ(p.rows.front().percentile, 0.0);
  EXPECT_EQ(p.rows.front().value, 1.0);
  EXPECT_EQ(p.rows.front().inverse, "1.00");
  EXPECT_EQ(p.rows.back().percentile, 1.0);
  EXPECT_EQ(p.rows.back().total, 1000u);
  EXPECT_EQ(p.rows.back().inverse, "inf");
  for (std::size_t i = 0; i < p.rows.size(); ++i) {
    const Row& r = p.rows[i];
    EXPECT_EQ(r.value, static_cast<double>(r.total)) << i;
    // The row is the first value whose cumulative share reaches its percentile.
    EXPECT_GE(static_cast<double>(r.total) * 1e-3 + 1e-6, r.percentile) << i;
    EXPECT_LT(static_cast<double>(r.total - 1) * 1e-3, r.percentile + 1e-6) << i;
    if (i > 0) {
      EXPECT_GE(r.percentile, p.rows[i - 1].percentile);
      EXPECT_GE(r.value, p.rows[i - 1].value);
    }
    if (r.percentile < 1.0) {
      EXPECT_NEAR(std::stod(r.inverse), 1.0 / (1.0 - r.percentile), 0.01 + 1e-3 / (1.0 - r.percentile));
    }
  }
  // 5 ticks per half distance: 0, 10, ..., 50, then 55, 60, ..., 75, 77.5, ...
  EXPECT_NEAR(p.rows[1].percentile, 0.1, 1e-9);
  EXPECT_NEAR(p.rows[5].percentile, 0.5, 1e-9);
  EXPECT_NEAR(p.rows[6].percentile, 0.55, 1e-9);
  EXPECT_NEAR(p.rows[11].percentile, 0.775, 1e-9);
  EXPECT_DOUBLE_EQ(p.mean, 500.5);
  EXPECT_NEAR(p.stddev, std::sqrt((1000.0 * 1000.0 - 1.0) / 12.0), 5e-4);
  EXPECT_EQ(p.max, 1000.0);
  EXPECT_EQ(p.total, 1000u);
  EXPECT_EQ(p.buckets, h.bucket_count());
  EXPECT_EQ(p.sub_buckets, 2048);
  EXPECT_NE(text.find("    1000.000     1.000000         1000          inf\n#[Mean"), std::string::npos)
      << "the 100 % row is right-aligned like printf's %12.2f";
  EXPECT_NE(text.find("#[Mean    =      500.500, StdDeviation   =      288.675]\n"), std::string::npos);
  EXPECT_NE(text.find("#[Max     =     1000.000, Total count    =         1000]\n"), std::string::npos);
  EXPECT_NE(text.find("#[Buckets =           22, SubBuckets     =         2048]\n"), std::string::npos);
}

TEST(LatencyHistogram, PercentileDistributionScalesValues) {
  LatencyHistogram h = make(1, 3'600'000'000ULL, 3);
  for (auto v : lognormal_sample(10'000, 7)) h.record(v);
  const Parsed p = parse_hgrm(h.percentile_distribution(5, 1000.0));
  ASSERT_FALSE(p.rows.empty());
  EXPECT_NEAR(p.max, static_cast<double>(h.max()) / 1000.0, 0.0005);
  EXPECT_NEAR(p.mean, h.mean() / 1000.0, 0.0005);
  EXPECT_EQ(p.total, 10'000u);
  for (const Row& r : p.rows) {
    // Each printed value is a bucket's highest value, in us with 3 decimals.
    const auto ns = static_cast<std::uint64_t>(std::llround(r.value * 1000.0));
    EXPECT_LE(h.highest_equivalent(ns) - ns, 1u) << r.value;
  }
  EXPECT_EQ(p.rows.back().total, 10'000u);
  EXPECT_EQ(p.rows[p.rows.size() - 2].total, 10'000u);
}

}  // namespace
}  // namespace tickwire::middleware
