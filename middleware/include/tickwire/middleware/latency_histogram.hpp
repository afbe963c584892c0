// LatencyHistogram: an HDR (log-linear) histogram of non-negative integers,
// e.g. latencies in ns. One thread records; merge() combines per-thread
// histograms off the hot path. create() allocates everything; record() is a
// clz, two shifts and an increment. Prints HdrHistogram's `.hgrm` text (as
// HdrHistogram_c's hdr_percentiles_print, CLASSIC format).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tickwire::middleware {

class LatencyHistogram {
 public:
  // create: values in [0, highest_trackable] are tracked with
  // `significant_figures` (1-5) decimal digits of precision; values below
  // lowest_discernible (>= 1) share one bucket of that width. Larger values
  // are clamped to highest_trackable and counted by clamped_count().
  static absl::StatusOr<LatencyHistogram> create(std::uint64_t lowest_discernible,
                                                 std::uint64_t highest_trackable,
                                                 int significant_figures);

  // record: count one value; never allocates, never fails.
  void record(std::uint64_t value) noexcept {
    if (value > highest_trackable_) [[unlikely]] {
      value = highest_trackable_;
      ++clamped_count_;
    }
    ++counts_[counts_index(value)];
    ++total_count_;
    if (value < min_) [[unlikely]] min_ = value;
    if (value > max_) [[unlikely]] max_ = value;
  }

  // record_corrected: record(value), then the values a stalled measurement
  // loop with period expected_interval missed (value - k * expected_interval
  // for each k >= 1 while that is >= expected_interval), as HdrHistogram's
  // recordValueWithExpectedInterval. Costs O(buckets), not O(value / interval).
  void record_corrected(std::uint64_t value, std::uint64_t expected_interval) noexcept;

  // value_at_percentile: the highest value equivalent to the value at or below
  // which `percentile` (0-100) % of the recorded values lie (0 when empty).
  std::uint64_t value_at_percentile(double percentile) const noexcept;

  std::uint64_t min() const noexcept;  // lowest equivalent of the smallest value (0 if empty)
  std::uint64_t max() const noexcept;  // highest equivalent of the largest value (0 if empty)
  double mean() const noexcept;        // from bucket midpoints, as HdrHistogram
  double stddev() const noexcept;      // from bucket midpoints, as HdrHistogram
  std::uint64_t total_count() const noexcept { return total_count_; }
  // clamped_count: how many recorded values were above highest_trackable.
  std::uint64_t clamped_count() const noexcept { return clamped_count_; }
  // count_at: the count in the bucket holding `value` (after clamping).
  std::uint64_t count_at(std::uint64_t value) const noexcept;

  // merge: add other's counts; equal layouts add bucket by bucket, others
  // re-record each bucket's lowest value (clamping as record() does).
  void merge(const LatencyHistogram& other) noexcept;
  // reset: forget every value; keeps the memory.
  void reset() noexcept;

  // percentile_distribution: the `.hgrm` text. Values are divided by
  // value_scale (1000.0 prints ns as us); ticks_per_half_distance rows are
  // printed per halving of the distance to 100 %.
  std::string percentile_distribution(int ticks_per_half_distance = 5,
                                      double value_scale = 1.0) const;

  // Equivalence ranges: every value in [lowest_equivalent(v), highest_equivalent(v)]
  // is counted in the same bucket.
  std::uint64_t lowest_equivalent(std::uint64_t value) const noexcept;
  std::uint64_t highest_equivalent(std::uint64_t value) const noexcept;

  std::uint64_t lowest_discernible() const noexcept { return lowest_discernible_; }
  std::uint64_t highest_trackable() const noexcept { return highest_trackable_; }
  int significant_figures() const noexcept { return significant_figures_; }
  int bucket_count() const noexcept { return bucket_count_; }
  int sub_bucket_count() const noexcept { return sub_bucket_count_; }
  // memory_bytes: the size of the counts array, fixed at create().
  std::size_t memory_bytes() const noexcept { return counts_.size() * sizeof(std::uint64_t); }

 private:
  LatencyHistogram() = default;

  std::size_t counts_index(std::uint64_t value) const noexcept {
    const int bucket = bucket_index(value);
    const auto sub_bucket = static_cast<std::int64_t>(value >> (bucket + unit_magnitude_));
    const std::int64_t base = static_cast<std::int64_t>(bucket + 1) << sub_bucket_half_count_magnitude_;
    return static_cast<std::size_t>(base + sub_bucket - sub_bucket_half_count_);
  }
  int bucket_index(std::uint64_t value) const noexcept {
    const int pow2_ceiling = 64 - __builtin_clzll(value | sub_bucket_mask_);
    return pow2_ceiling - unit_magnitude_ - (sub_bucket_half_count_magnitude_ + 1);
  }
  std::uint64_t value_at_index(std::size_t index) const noexcept;
  std::uint64_t range_size(std::uint64_t value) const noexcept;
  std::uint64_t median_equivalent(std::uint64_t value) const noexcept {
    return lowest_equivalent(value) + (range_size(value) >> 1);
  }
  void add(std::uint64_t value, std::uint64_t count) noexcept;

  std::uint64_t lowest_discernible_ = 1;
  std::uint64_t highest_trackable_ = 2;
  int significant_figures_ = 1;
  int unit_magnitude_ = 0;
  int sub_bucket_half_count_magnitude_ = 0;
  std::int64_t sub_bucket_half_count_ = 0;
  int sub_bucket_count_ = 0;
  std::uint64_t sub_bucket_mask_ = 0;
  int bucket_count_ = 0;

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_count_ = 0;
  std::uint64_t clamped_count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace tickwire::middleware
