#include "tickwire/middleware/latency_histogram.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "absl/status/status.h"

namespace tickwire::middleware {
namespace {

constexpr std::uint64_t kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

int floor_log2(std::uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

absl::StatusOr<LatencyHistogram> LatencyHistogram::create(std::uint64_t lowest_discernible,
                                                          std::uint64_t highest_trackable,
                                                          int significant_figures) {
  if (lowest_discernible < 1) {
    return absl::InvalidArgumentError("LatencyHistogram::create: lowest_discernible = 0: expected >= 1");
  }
  if (significant_figures < 1 || significant_figures > 5) {
    return absl::InvalidArgumentError(fmt::format(
        "LatencyHistogram::create: significant_figures = {}: expected 1 to 5", significant_figures));
  }
  if (highest_trackable > kInt64Max || lowest_discernible > highest_trackable / 2) {
    return absl::InvalidArgumentError(fmt::format(
        "LatencyHistogram::create: highest_trackable = {}: expected between 2 * lowest_discernible ({}) "
        "and 2^63 - 1",
        highest_trackable, lowest_discernible));
  }
  LatencyHistogram h;
  h.lowest_discernible_ = lowest_discernible;
  h.highest_trackable_ = highest_trackable;
  h.significant_figures_ = significant_figures;

  // Enough sub-buckets that the top half of each bucket resolves
  // 10^significant_figures distinct values: 2 * 10^sf rounded up to 2^m.
  std::uint64_t single_unit_range = 2;
  for (int i = 0; i < significant_figures; ++i) single_unit_range *= 10;
  int sub_bucket_count_magnitude = 0;
  while ((std::uint64_t{1} << sub_bucket_count_magnitude) < single_unit_range) ++sub_bucket_count_magnitude;
  h.sub_bucket_half_count_magnitude_ = std::max(sub_bucket_count_magnitude, 1) - 1;
  h.unit_magnitude_ = floor_log2(lowest_discernible);
  if (h.unit_magnitude_ + h.sub_bucket_half_count_magnitude_ > 61) {
    return absl::InvalidArgumentError(fmt::format(
        "LatencyHistogram::create: lowest_discernible = {} with significant_figures = {}: the "
        "bucket layout needs more than 62 bits",
        lowest_discernible, significant_figures));
  }
  h.sub_bucket_count_ = 1 << (h.sub_bucket_half_count_magnitude_ + 1);
  h.sub_bucket_half_count_ = h.sub_bucket_count_ / 2;
  h.sub_bucket_mask_ = (static_cast<std::uint64_t>(h.sub_bucket_count_) - 1) << h.unit_magnitude_;

  std::uint64_t smallest_untrackable = static_cast<std::uint64_t>(h.sub_bucket_count_) << h.unit_magnitude_;
  int buckets = 1;
  while (smallest_untrackable <= highest_trackable) {
    if (smallest_untrackable > kInt64Max / 2) {
      ++buckets;
      break;
    }
    smallest_untrackable <<= 1;
    ++buckets;
  }
  h.bucket_count_ = buckets;
  h.counts_.assign(static_cast<std::size_t>(buckets + 1) * static_cast<std::size_t>(h.sub_bucket_half_count_), 0);
  return h;
}

std::uint64_t LatencyHistogram::value_at_index(std::size_t index) const noexcept {
  int bucket = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
  std::int64_t sub_bucket = static_cast<std::int64_t>(index & static_cast<std::size_t>(sub_bucket_half_count_ - 1)) +
                            sub_bucket_half_count_;
  if (bucket < 0) {
    sub_bucket -= sub_bucket_half_count_;
    bucket = 0;
  }
  return static_cast<std::uint64_t>(sub_bucket) << (bucket + unit_magnitude_);
}

std::uint64_t LatencyHistogram::range_size(std::uint64_t value) const noexcept {
  const int bucket = bucket_index(value);
  const std::uint64_t sub_bucket = value >> (bucket + unit_magnitude_);
  const int adjusted = sub_bucket >= static_cast<std::uint64_t>(sub_bucket_count_) ? bucket + 1 : bucket;
  return std::uint64_t{1} << (unit_magnitude_ + adjusted);
}

std::uint64_t LatencyHistogram::lowest_equivalent(std::uint64_t value) const noexcept {
  value = std::min(value, highest_trackable_);
  const int bucket = bucket_index(value);
  return (value >> (bucket + unit_magnitude_)) << (bucket + unit_magnitude_);
}

std::uint64_t LatencyHistogram::highest_equivalent(std::uint64_t value) const noexcept {
  value = std::min(value, highest_trackable_);
  return lowest_equivalent(value) + range_size(value) - 1;
}

void LatencyHistogram::add(std::uint64_t value, std::uint64_t count) noexcept {
  if (value > highest_trackable_) {
    value = highest_trackable_;
    clamped_count_ += count;
  }
  counts_[counts_index(value)] += count;
  total_count_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void LatencyHistogram::record_corrected(std::uint64_t value, std::uint64_t expected_interval) noexcept {
  record(value);
  value = std::min(value, highest_trackable_);
  if (expected_interval == 0 || value <= expected_interval) return;
  // The missing values form a descending progression; count all the terms
  // that fall in one bucket at once.
  std::uint64_t missing = value - expected_interval;
  while (missing >= expected_interval) {
    const std::uint64_t floor = std::max(lowest_equivalent(missing), expected_interval);
    const std::uint64_t n = (missing - floor) / expected_interval + 1;
    counts_[counts_index(missing)] += n;
    total_count_ += n;
    const std::uint64_t smallest = missing - (n - 1) * expected_interval;
    min_ = std::min(min_, smallest);
    missing = smallest - expected_interval;
  }
}

std::uint64_t LatencyHistogram::value_at_percentile(double percentile) const noexcept {
  if (total_count_ == 0) return 0;
  const double requested = std::clamp(percentile, 0.0, 100.0);
  auto count_at = static_cast<std::uint64_t>(requested / 100.0 * static_cast<double>(total_count_) + 0.5);
  count_at = std::max<std::uint64_t>(count_at, 1);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i];
    if (cumulative >= count_at) {
      const std::uint64_t v = value_at_index(i);
      return requested == 0.0 ? lowest_equivalent(v) : highest_equivalent(v);
    }
  }
  return max();
}

std::uint64_t LatencyHistogram::min() const noexcept {
  return total_count_ == 0 ? 0 : lowest_equivalent(min_);
}

std::uint64_t LatencyHistogram::max() const noexcept {
  return max_ == 0 ? 0 : highest_equivalent(max_);
}

double LatencyHistogram::mean() const noexcept {
  if (total_count_ == 0) return 0.0;
  double total = 0.0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      total += static_cast<double>(counts_[i]) * static_cast<double>(median_equivalent(value_at_index(i)));
    }
  }
  return total / static_cast<double>(total_count_);
}

double LatencyHistogram::stddev() const noexcept {
  if (total_count_ == 0) return 0.0;
  const double m = mean();
  double total = 0.0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      const double dev = static_cast<double>(median_equivalent(value_at_index(i))) - m;
      total += dev * dev * static_cast<double>(counts_[i]);
    }
  }
  return std::sqrt(total / static_cast<double>(total_count_));
}

std::uint64_t LatencyHistogram::count_at(std::uint64_t value) const noexcept {
  return counts_[counts_index(std::min(value, highest_trackable_))];
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  if (other.lowest_discernible_ == lowest_discernible_ && other.highest_trackable_ == highest_trackable_ &&
      other.significant_figures_ == significant_figures_) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_count_ += other.total_count_;
    clamped_count_ += other.clamped_count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    return;
  }
  for (std::size_t i = 0; i < other.counts_.size(); ++i) {
    if (other.counts_[i] != 0) add(other.value_at_index(i), other.counts_[i]);
  }
  clamped_count_ += other.clamped_count_;
}

void LatencyHistogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_count_ = 0;
  clamped_count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

namespace {

// The percentile iteration of HdrHistogram_c (hdr_iter_percentile_init /
// percentile_iter_next), step for step, so that the rows match it exactly.
class PercentileRows {
 public:
  PercentileRows(const std::vector<std::uint64_t>& counts, std::uint64_t total, int ticks_per_half_distance)
      : counts_(counts), total_(total), ticks_per_half_distance_(std::max(ticks_per_half_distance, 1)) {}

  // next: advances to the next row; false after the 100 % row.
  bool next() {
    if (cumulative_ >= total_) {
      if (seen_last_) return false;
      seen_last_ = true;
      percentile_ = 100.0;
      return true;
    }
    if (index_ == -1 && !basic_next()) return false;
    do {
      const double current = 100.0 * static_cast<double>(cumulative_) / static_cast<double>(total_);
      if (count_ != 0 && to_iterate_to_ <= current) {
        percentile_ = to_iterate_to_;
        advance_level();
        return true;
      }
    } while (basic_next());
    return true;
  }

  std::int64_t index() const { return index_; }
  std::uint64_t cumulative() const { return cumulative_; }
  double percentile() const { return percentile_; }

 private:
  void advance_level() {
    if (to_iterate_to_ >= 100.0) {
      to_iterate_to_ = std::numeric_limits<double>::infinity();
      return;
    }
    const auto half_distance_exponent =
        static_cast<std::int64_t>(std::log(100.0 / (100.0 - to_iterate_to_)) / std::log(2.0)) + 1;
    const auto half_distance = static_cast<std::int64_t>(std::pow(2.0, static_cast<double>(half_distance_exponent)));
    const std::int64_t reporting_ticks = ticks_per_half_distance_ * half_distance;
    to_iterate_to_ += 100.0 / static_cast<double>(reporting_ticks);
  }

  bool basic_next() {
    if (cumulative_ >= total_ || index_ >= static_cast<std::int64_t>(counts_.size())) return false;
    ++index_;
    if (index_ < static_cast<std::int64_t>(counts_.size())) {
      count_ = counts_[static_cast<std::size_t>(index_)];
      cumulative_ += count_;
    }
    return true;
  }

  const std::vector<std::uint64_t>& counts_;
  const std::uint64_t total_;
  const std::int64_t ticks_per_half_distance_;
  std::int64_t index_ = -1;
  std::uint64_t count_ = 0;
  std::uint64_t cumulative_ = 0;
  double to_iterate_to_ = 0.0;
  double percentile_ = 0.0;
  bool seen_last_ = false;
};

}  // namespace

std::string LatencyHistogram::percentile_distribution(int ticks_per_half_distance, double value_scale) const {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{:>12} {:>12} {:>12} {:>12}\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
  PercentileRows rows(counts_, total_count_, ticks_per_half_distance);
  while (rows.next()) {
    const std::uint64_t highest =
        rows.index() < 0 ? 0 : highest_equivalent(value_at_index(static_cast<std::size_t>(rows.index())));
    const double percentile = rows.percentile() / 100.0;
    fmt::format_to(it, "{:>12.{}f} {:>12.6f} {:>12d} {:>12.2f}\n", static_cast<double>(highest) / value_scale,
                   significant_figures_, percentile, rows.cumulative(), 1.0 / (1.0 - percentile));
  }
  fmt::format_to(it,
                 "#[Mean    = {:>12.3f}, StdDeviation   = {:>12.3f}]\n"
                 "#[Max     = {:>12.3f}, Total count    = {:>12d}]\n"
                 "#[Buckets = {:>12d}, SubBuckets     = {:>12d}]\n",
                 mean() / value_scale, stddev() / value_scale, static_cast<double>(max()) / value_scale,
                 total_count_, bucket_count_, sub_bucket_count_);
  return out;
}

}  // namespace tickwire::middleware
