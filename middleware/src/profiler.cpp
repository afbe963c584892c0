#include "tickwire/middleware/profiler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace tickwire::middleware {
namespace {

// next_profiler_id: 0 marks an empty thread-local cache entry.
std::atomic<std::uint64_t> next_profiler_id{1};

int floor_log2(std::uint64_t v) { return 63 - __builtin_clzll(v); }

std::string file_name_for(std::string_view stage) {
  std::string out(stage);
  for (char& c : out) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '-';
    if (!keep) c = '_';
  }
  if (out.empty() || out == "." || out == "..") out.insert(0, "stage");
  return out + ".hgrm";
}

absl::StatusOr<LatencyHistogram> make_layout(const ProfilerOptions& options) {
  const double ns_per_tick = TscClock::global().calibration().ns_per_tick;
  const double ticks = static_cast<double>(options.highest_trackable_ns) / ns_per_tick;
  const auto highest = ticks >= 9.0e18 ? std::uint64_t{9'000'000'000'000'000'000ULL}
                                       : static_cast<std::uint64_t>(std::max(ticks, 2.0));
  return LatencyHistogram::create(1, highest, options.significant_figures);
}

}  // namespace

namespace detail {

StageRecorder::StageRecorder(const LatencyHistogram& layout)
    : highest_trackable_(layout.highest_trackable()),
      unit_magnitude_(floor_log2(layout.lowest_discernible())),
      half_count_magnitude_(floor_log2(static_cast<std::uint64_t>(layout.sub_bucket_count())) - 1),
      half_count_(layout.sub_bucket_count() / 2),
      sub_bucket_mask_((static_cast<std::uint64_t>(layout.sub_bucket_count()) - 1) << unit_magnitude_),
      size_(layout.memory_bytes() / sizeof(std::uint64_t)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(size_)) {}

void StageRecorder::add_to(std::vector<std::uint64_t>& sums, std::uint64_t& clamped) const noexcept {
  for (std::size_t i = 0; i < size_; ++i) {
    // relaxed: a counter read racing the owner's store sees the old or the new value (class comment).
    sums[i] += counts_[i].load(std::memory_order_relaxed);
  }
  // relaxed: as above.
  clamped += clamped_.load(std::memory_order_relaxed);
}

std::uint64_t StageRecorder::value_at_index(std::size_t index) const noexcept {
  int bucket = static_cast<int>(index >> half_count_magnitude_) - 1;
  std::int64_t sub_bucket = static_cast<std::int64_t>(index & static_cast<std::size_t>(half_count_ - 1)) + half_count_;
  if (bucket < 0) {
    sub_bucket -= half_count_;
    bucket = 0;
  }
  return static_cast<std::uint64_t>(sub_bucket) << (bucket + unit_magnitude_);
}

}  // namespace detail

Profiler::Profiler(LatencyHistogram layout)
    // relaxed: the id only has to be unique; it publishes nothing.
    : id_(next_profiler_id.fetch_add(1, std::memory_order_relaxed)), layout_(std::move(layout)) {}

Profiler::Profiler() : Profiler([] {
    auto layout = make_layout(ProfilerOptions{});
    if (!layout.ok()) {
      std::fprintf(stderr, "Profiler: default layout rejected: %s\n", layout.status().ToString().c_str());
      std::abort();
    }
    return *std::move(layout);
  }()) {}

Profiler::~Profiler() = default;

absl::StatusOr<std::unique_ptr<Profiler>> Profiler::create(ProfilerOptions options) {
  auto layout = make_layout(options);
  if (!layout.ok()) {
    return absl::InvalidArgumentError(fmt::format("Profiler::create: {}", std::string(layout.status().message())));
  }
  return std::unique_ptr<Profiler>(new Profiler(*std::move(layout)));
}

StageId Profiler::stage(std::string_view name) {
  std::lock_guard lock(mu_);
  const auto it = std::find(names_.begin(), names_.end(), name);
  if (it != names_.end()) return static_cast<StageId>(it - names_.begin());
  names_.emplace_back(name);
  return static_cast<StageId>(names_.size() - 1);
}

std::vector<std::string> Profiler::stage_names() const {
  std::lock_guard lock(mu_);
  return names_;
}

Profiler::ThreadSlot* Profiler::thread_slot() {
  const std::thread::id self = std::this_thread::get_id();
  ThreadSlot* slot = nullptr;
  // A later thread may reuse an exited thread's id and with it its slot: the
  // exited thread no longer writes, so the slot still has one writer.
  for (const auto& s : slots_) {
    if (s->thread == self) slot = s.get();
  }
  if (slot == nullptr) {
    slots_.push_back(std::make_unique<ThreadSlot>());
    slot = slots_.back().get();
    slot->thread = self;
  }
  detail::ProfilerCacheEntry& e = detail::t_profiler_cache[detail::t_profiler_cache_next];
  detail::t_profiler_cache_next = (detail::t_profiler_cache_next + 1) % detail::kProfilerCacheEntries;
  e.profiler_id = id_;
  e.slot = slot;
  return slot;
}

detail::StageRecorder* Profiler::ensure_recorder(ThreadSlot& slot, std::uint32_t stage) {
  if (stage >= names_.size()) return nullptr;
  if (slot.by_stage.size() <= stage) slot.by_stage.resize(names_.size(), nullptr);
  if (slot.by_stage[stage] == nullptr) {
    recorders_.push_back({stage, std::make_unique<detail::StageRecorder>(layout_)});
    slot.by_stage[stage] = recorders_.back().recorder.get();
  }
  return slot.by_stage[stage];
}

void Profiler::register_thread() {
  std::lock_guard lock(mu_);
  ThreadSlot* slot = cached_slot();
  if (slot == nullptr) slot = thread_slot();
  for (std::uint32_t s = 0; s < names_.size(); ++s) ensure_recorder(*slot, s);
}

void Profiler::record_slow(StageId stage, std::uint64_t ticks) {
  detail::StageRecorder* recorder = nullptr;
  {
    std::lock_guard lock(mu_);
    ThreadSlot* slot = cached_slot();
    if (slot == nullptr) slot = thread_slot();
    recorder = ensure_recorder(*slot, static_cast<std::uint32_t>(stage));
  }
  // An unregistered StageId records nothing (it names no stage to report).
  if (recorder != nullptr) recorder->record(ticks);
}

LatencyHistogram Profiler::merged_locked(std::uint32_t stage, std::uint64_t& clamped, std::size_t& threads) const {
  const detail::StageRecorder* any = nullptr;
  std::vector<std::uint64_t> sums;
  clamped = 0;
  threads = 0;
  for (const OwnedRecorder& r : recorders_) {
    if (r.stage != stage) continue;
    if (any == nullptr) sums.assign(r.recorder->size(), 0);
    any = r.recorder.get();
    r.recorder->add_to(sums, clamped);
    ++threads;
  }
  LatencyHistogram out = layout_;
  out.reset();
  if (any == nullptr) return out;
  // LatencyHistogram has no public "add count to a bucket", so build the sum
  // by binary doubling (Horner): for each bit from the top, double what is
  // there (merge a copy of itself), then record one value per bucket whose
  // count has that bit. O(log2(max count) * buckets), exact.
  std::uint64_t top_bits = 0;
  for (const std::uint64_t c : sums) top_bits |= c;
  if (top_bits == 0) return out;
  LatencyHistogram doubled = out;
  for (int bit = floor_log2(top_bits); bit >= 0; --bit) {
    if (out.total_count() != 0) {
      doubled = out;
      out.merge(doubled);
    }
    for (std::size_t i = 0; i < sums.size(); ++i) {
      if ((sums[i] >> bit) & 1U) out.record(any->value_at_index(i));
    }
  }
  return out;
}

absl::StatusOr<LatencyHistogram> Profiler::merged(StageId stage) const {
  std::lock_guard lock(mu_);
  const auto s = static_cast<std::uint32_t>(stage);
  if (s >= names_.size()) {
    return absl::NotFoundError(fmt::format("Profiler::merged: stage id {} is not registered ({} stages)", s,
                                           names_.size()));
  }
  std::uint64_t clamped = 0;
  std::size_t threads = 0;
  return merged_locked(s, clamped, threads);
}

ProfileReport Profiler::report() const {
  ProfileReport out;
  out.ns_per_tick = TscClock::global().calibration().ns_per_tick;
  std::lock_guard lock(mu_);
  for (std::uint32_t s = 0; s < names_.size(); ++s) {
    StageReport r;
    r.name = names_[s];
    const LatencyHistogram h = merged_locked(s, r.clamped, r.threads);
    const auto ns = [&](std::uint64_t ticks) { return static_cast<double>(ticks) * out.ns_per_tick; };
    r.count = h.total_count();
    r.p50_ns = ns(h.value_at_percentile(50.0));
    r.p90_ns = ns(h.value_at_percentile(90.0));
    r.p99_ns = ns(h.value_at_percentile(99.0));
    r.p999_ns = ns(h.value_at_percentile(99.9));
    r.p9999_ns = ns(h.value_at_percentile(99.99));
    r.max_ns = ns(h.max());
    out.stages.push_back(std::move(r));
  }
  return out;
}

std::string ProfileReport::format_text() const {
  std::size_t width = 5;
  for (const StageReport& s : stages) width = std::max(width, s.name.size());
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{:<{}} {:>12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}\n", "stage", width,
                 "count", "p50_us", "p90_us", "p99_us", "p99.9_us", "p99.99_us", "max_us", "threads", "clamped");
  for (const StageReport& s : stages) {
    fmt::format_to(it, "{:<{}} {:>12} {:>10.3f} {:>10.3f} {:>10.3f} {:>10.3f} {:>10.3f} {:>10.3f} {:>8} {:>8}\n",
                   s.name, width, s.count, s.p50_ns / 1e3, s.p90_ns / 1e3, s.p99_ns / 1e3, s.p999_ns / 1e3,
                   s.p9999_ns / 1e3, s.max_ns / 1e3, s.threads, s.clamped);
  }
  return out;
}

absl::Status Profiler::write_hgrm(const std::filesystem::path& dir) const {
  const double ns_per_tick = TscClock::global().calibration().ns_per_tick;
  std::vector<std::pair<std::string, std::string>> files;
  {
    std::lock_guard lock(mu_);
    for (std::uint32_t s = 0; s < names_.size(); ++s) {
      std::uint64_t clamped = 0;
      std::size_t threads = 0;
      const LatencyHistogram h = merged_locked(s, clamped, threads);
      // value_scale divides tick values: ticks / (1000 / ns_per_tick) = microseconds.
      files.emplace_back(file_name_for(names_[s]), h.percentile_distribution(5, 1000.0 / ns_per_tick));
    }
  }
  for (const auto& [name, text] : files) {
    const std::filesystem::path path = dir / name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
      return absl::UnavailableError(
          fmt::format("Profiler::write_hgrm: {}: cannot open for writing: {}", path.string(), std::strerror(errno)));
    }
    const std::size_t written = std::fwrite(text.data(), 1, text.size(), f);
    const bool closed = std::fclose(f) == 0;
    if (written != text.size() || !closed) {
      return absl::UnavailableError(
          fmt::format("Profiler::write_hgrm: {}: write failed: {}", path.string(), std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace tickwire::middleware
