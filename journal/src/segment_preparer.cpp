#include "segment_preparer.hpp"

#include <algorithm>
#include <utility>

namespace tickwire::journal {

SegmentPreparer::SegmentPreparer(std::filesystem::path dir, std::uint32_t index_interval, std::size_t capacity)
    : dir_(std::move(dir)), index_interval_(index_interval), capacity_(capacity) {}

void SegmentPreparer::record(absl::Status s) {
  if (error_.ok() && !s.ok()) error_ = std::move(s);
}

absl::Status SegmentPreparer::discard(SpareSegment& spare) {
  spare.map = io::Mapping();
  const std::filesystem::path path = spare.file.path();
  absl::Status s = spare.file.close();
  if (auto r = io::remove_file(path); s.ok()) s = r;
  if (auto r = io::remove_file(spare.index_tmp); s.ok()) s = r;
  return s;
}

absl::Status SegmentPreparer::prepare_now(std::uint64_t segment_index) {
  auto spare = prepare_spare(dir_, segment_index, index_interval_, capacity_, &leftovers_);
  if (!spare.ok()) return spare.status();
  std::lock_guard lock(mu_);
  spare_ = std::move(*spare);
  wanted_index_ = segment_index;
  return absl::OkStatus();
}

absl::StatusOr<SpareSegment> SegmentPreparer::take(std::uint64_t segment_index) {
  std::unique_lock lock(mu_);
  if (started_ && !exited_) {
    if (!spare_ && !preparing_) {
      wanted_index_ = segment_index;
      spare_error_ = absl::OkStatus();  // a new attempt (after a full disk, the flusher's retry)
    }
    cv_.notify_all();
    cv_.wait(lock, [&] { return !preparing_ && (spare_.has_value() || !error_.ok() || !spare_error_.ok() || exited_); });
    if (!error_.ok()) return error_;
    // Kept until the next take(): the helper does not retry on its own.
    if (!spare_ && !spare_error_.ok()) return spare_error_;
    if (spare_ && spare_->segment_index == segment_index) {
      SpareSegment s = std::move(*spare_);
      spare_.reset();
      wanted_index_ = segment_index + 1;
      cv_.notify_all();
      return s;
    }
    if (spare_) {
      // Made for another index (not expected: rolls number segments one by one): not usable.
      if (auto s = discard(*spare_); !s.ok()) return s;
      spare_.reset();
    }
  }
  if (spare_ && spare_->segment_index == segment_index) {
    // Made by prepare_now(), and the helper has not started (or has stopped).
    SpareSegment s = std::move(*spare_);
    spare_.reset();
    wanted_index_ = std::max(wanted_index_, segment_index + 1);
    cv_.notify_all();
    return s;
  }
  // Made here; a helper that starts meanwhile must not make the same file.
  wanted_index_ = std::max(wanted_index_, segment_index + 1);
  lock.unlock();
  return prepare_spare(dir_, segment_index, index_interval_, capacity_, &leftovers_);
}

absl::Status SegmentPreparer::retire(RetiredSegment segment) {
  std::unique_lock lock(mu_);
  if (started_ && !exited_) {
    ++retiring_;
    retired_.push_back(std::move(segment));
    cv_.notify_all();
    return error_;
  }
  lock.unlock();
  absl::Status s = segment.finish();
  if (!s.ok()) return s;
  absl::Status m = finished(segment.path(), segment.last_seq());
  lock.lock();
  // release: pairs with the acquire in durable_seq(); the segment is synced.
  durable_seq_.store(std::max(durable_seq_.load(std::memory_order_relaxed), segment.last_seq()),
                     std::memory_order_release);
  return m;
}

absl::Status SegmentPreparer::wait_retired() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return retiring_ == 0 || exited_; });
  return error_;
}

std::uint64_t SegmentPreparer::durable_seq() const {
  // acquire: pairs with the release stores in retire() and run(); the segment's sync happened before.
  return durable_seq_.load(std::memory_order_acquire);
}

void SegmentPreparer::run() {
  std::unique_lock lock(mu_);
  if (!stopping_) started_ = true;
  while (started_) {
    cv_.wait(lock, [&] {
      return stopping_ || !retired_.empty() || (wanted_index_ != 0 && !spare_ && error_.ok() && spare_error_.ok());
    });
    if (wanted_index_ != 0 && !spare_ && error_.ok() && spare_error_.ok() && !stopping_) {
      // The spare first: the flusher's next roll waits for it; retirements only delay durable_seq.
      const std::uint64_t index = wanted_index_;
      preparing_ = true;
      lock.unlock();
      auto spare = prepare_spare(dir_, index, index_interval_, capacity_, &leftovers_);
      lock.lock();
      preparing_ = false;
      if (spare.ok()) {
        spare_ = std::move(*spare);
      } else if (spare.status().code() == absl::StatusCode::kResourceExhausted) {
        spare_error_ = spare.status();  // a full disk: the flusher's next take() tries again
      } else {
        record(spare.status());  // anything else fails the journal
      }
      cv_.notify_all();
      continue;
    }
    if (!retired_.empty()) {
      RetiredSegment r = std::move(retired_.front());
      retired_.pop_front();
      lock.unlock();
      absl::Status s = r.finish();
      const std::uint64_t last = r.last_seq();
      absl::Status m = s.ok() ? finished(r.path(), last) : absl::OkStatus();
      r = RetiredSegment();
      lock.lock();
      if (s.ok()) {
        // release: pairs with the acquire in durable_seq(); the segment is synced.
        durable_seq_.store(std::max(durable_seq_.load(std::memory_order_relaxed), last), std::memory_order_release);
      }
      record(std::move(s));
      record(std::move(m));
      --retiring_;
      cv_.notify_all();
      continue;
    }
    if (stopping_) break;
  }
  if (spare_) {
    record(discard(*spare_));
    spare_.reset();
  } else if (!spare_error_.ok() && wanted_index_ != 0) {
    // The last spare could not be made (a full disk) and no take() came to
    // retry it. One more try, as the next roll would have made (retention may
    // have freed room since): if the disk is still full, the storage was
    // failing when the journal closed, and close() says so, though every
    // record is in a segment already.
    const std::uint64_t index = wanted_index_;
    lock.unlock();
    auto retry = prepare_spare(dir_, index, index_interval_, capacity_, &leftovers_);
    absl::Status cleaned = retry.ok() ? discard(*retry) : absl::OkStatus();
    lock.lock();
    record(retry.ok() ? std::move(cleaned) : retry.status());
  }
  // Files a failed attempt could not remove, and no later attempt did: the
  // journal closes with storage still failing, and close() says so.
  lock.unlock();
  absl::Status left = leftovers_.remove();
  lock.lock();
  record(std::move(left));
  exited_ = true;
  cv_.notify_all();
}

absl::Status SegmentPreparer::stop() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  if (started_) cv_.wait(lock, [&] { return exited_; });
  exited_ = true;
  if (spare_) {  // prepare_now() made it and the helper never ran
    record(discard(*spare_));
    spare_.reset();
  }
  return error_;
}

absl::Status SegmentPreparer::finished(const std::filesystem::path& segment, std::uint64_t last_seq) {
  if (!manifest_) return absl::OkStatus();
  const std::uint64_t index = parse_segment_index(segment.filename().string());
  manifest_->highest_seq = std::max(manifest_->highest_seq, last_seq);
  // The segment after it exists already (the roll made it before retiring this one).
  manifest_->next_segment_index = std::max(manifest_->next_segment_index, index + 2);
  absl::Status s = write_manifest(dir_, *manifest_);
  if (s.code() == absl::StatusCode::kResourceExhausted) {
    // A full disk: nothing is lost (the ring and the segments still say how far
    // the run got; the segments' own writes meet the same full disk, and are
    // counted and reported); the manifest trails further until the next segment retries.
    return absl::OkStatus();
  }
  return s;  // anything else (EIO) fails the journal, as for the segment itself
}

absl::Status SegmentPreparer::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

}  // namespace tickwire::journal
