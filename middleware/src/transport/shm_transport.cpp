#include "tickwire/middleware/shm_transport.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "absl/status/status.h"

namespace tickwire::middleware {
namespace {

std::string path_for(const std::string& name) {
  return name.find('/') == std::string::npos ? "/dev/shm/" + name : name;
}

ShmSegment& segment_of(const RingReader& reader) noexcept {
  // Safety: every RingReader this transport hands out keeps its ShmSegment alive in keepalive.
  return *static_cast<ShmSegment*>(reader.keepalive.get());
}

}  // namespace

SharedMemoryTransport::SharedMemoryTransport(ShmTransportOptions options, std::string path,
                                             std::shared_ptr<ShmSegment> segment)
    : options_(std::move(options)), path_(std::move(path)), segment_(std::move(segment)), subscribers_(*this) {
  writer_ = segment_->writer();
  if (writer_ != nullptr) {
    scratch_.resize(writer_->max_payload());
    // relaxed: set before any other thread can reach this transport.
    sequence_->store(segment_->last_sequence(), std::memory_order_relaxed);
  }
}

absl::StatusOr<std::unique_ptr<SharedMemoryTransport>> SharedMemoryTransport::create(ShmTransportOptions options) {
  if (options.name.empty()) return absl::InvalidArgumentError("SharedMemoryTransport: empty name");
  std::string path = path_for(options.name);
  auto segment = ShmSegment::open_writer(path, {options.capacity, options.mode});
  if (!segment.ok()) return segment.status();
  return std::unique_ptr<SharedMemoryTransport>(
      new SharedMemoryTransport(std::move(options), std::move(path), *std::move(segment)));
}

absl::StatusOr<std::unique_ptr<SharedMemoryTransport>> SharedMemoryTransport::attach(ShmTransportOptions options) {
  if (options.name.empty()) return absl::InvalidArgumentError("SharedMemoryTransport: empty name");
  std::string path = path_for(options.name);
  auto segment = ShmSegment::open_reader(path);
  if (!segment.ok()) return segment.status();
  return std::unique_ptr<SharedMemoryTransport>(
      new SharedMemoryTransport(std::move(options), std::move(path), *std::move(segment)));
}

SharedMemoryTransport::~SharedMemoryTransport() {
  subscribers_.close();
  if (writer_ != nullptr && options_.unlink_on_close && segment_->same_file()) ::unlink(path_.c_str());
}

std::size_t SharedMemoryTransport::max_message_bytes() const noexcept {
  return writer_ == nullptr ? 0 : writer_->max_payload() - transport_record::kSequenceBytes;
}

std::uint64_t SharedMemoryTransport::publish(std::string_view subject, std::span<const std::byte> payload) {
  // relaxed: single publisher; the sequence is only read by this thread.
  const std::uint64_t seq = sequence_->load(std::memory_order_relaxed) + 1;
  return publish_at(seq, subject, payload) ? seq : 0;
}

bool SharedMemoryTransport::publish_at(std::uint64_t sequence, std::string_view subject,
                                       std::span<const std::byte> payload) {
  if (writer_ == nullptr) return false;
  const std::size_t size = transport_record::encoded_size(subject.size(), payload.size());
  if (size > scratch_.size() || subject.size() > transport_record::kMaxSubjectBytes) return false;
  // relaxed: only this (the publishing) thread reads it back.
  sequence_->store(sequence, std::memory_order_relaxed);
  // Before the record: a reader attaching "now" reads it as a lower bound, and
  // a restarted writer carries on after it.
  segment_->store_last_sequence(sequence);
  transport_record::encode(scratch_, sequence, subject, payload);
  writer_->publish(static_cast<std::uint32_t>(subject.size()), std::span<const std::byte>(scratch_.data(), size));
  segment_->notify();
  return true;
}

absl::StatusOr<SubscriptionId> SharedMemoryTransport::subscribe(std::string_view pattern, Handler handler) {
  return subscribers_.subscribe(pattern, std::move(handler), options_.start);
}

absl::StatusOr<SubscriptionId> SharedMemoryTransport::subscribe(std::string_view pattern, Handler handler,
                                                                GapHandler on_gap) {
  return subscribers_.subscribe(pattern, std::move(handler), options_.start, std::move(on_gap));
}

absl::StatusOr<SubscriptionId> SharedMemoryTransport::subscribe(std::string_view pattern, Handler handler,
                                                                StartAt start, GapHandler on_gap) {
  return subscribers_.subscribe(pattern, std::move(handler), start, std::move(on_gap));
}

void SharedMemoryTransport::unsubscribe(SubscriptionId id) { subscribers_.unsubscribe(id); }

SubscriberStats SharedMemoryTransport::stats(SubscriptionId id) const { return subscribers_.stats(id); }

absl::StatusOr<std::unique_ptr<TransportPoller>> SharedMemoryTransport::open_poller(std::string_view pattern,
                                                                                    StartAt start) {
  return TransportPoller::open(*this, pattern, start);
}

std::uint64_t SharedMemoryTransport::epoch() const { return current_segment()->ready_epoch(); }

std::shared_ptr<ShmSegment> SharedMemoryTransport::current_segment() const {
  std::lock_guard lock(mu_);
  return segment_;
}

absl::StatusOr<RingReader> SharedMemoryTransport::open_reader(StartAt start) {
  std::shared_ptr<ShmSegment> segment;
  {
    std::lock_guard lock(mu_);
    if (writer_ == nullptr && !segment_->same_file()) {
      // The writer replaced the file (another capacity): map the new one.
      auto fresh = ShmSegment::open_reader(path_);
      if (!fresh.ok()) return fresh.status();
      segment_ = *std::move(fresh);
    }
    segment = segment_;
  }
  // ready works as a sequence lock around the attach: equal and non-zero
  // before and after means no re-format overlapped it.
  const std::uint64_t ready = segment->ready_epoch();
  if (ready == 0) {
    return absl::UnavailableError(fmt::format("{}: the writer is formatting a new epoch", path_));
  }
  BroadcastReaderOptions options;
  options.start_at_oldest = start == StartAt::kOldest;
  auto reader = BroadcastReader::attach(segment->ring(), options);
  if (!reader.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("{}: {}", path_, std::string_view(reader.status().message().data(), reader.status().message().size())));
  }
  if (reader->epoch() != ready || segment->ready_epoch() != ready) {
    return absl::UnavailableError(fmt::format("{}: the writer re-formatted while attaching", path_));
  }
  std::optional<std::uint64_t> last;
  if (start == StartAt::kNow) last = segment->last_sequence();
  return RingReader{*std::move(reader), std::move(segment), last};
}

std::uint32_t SharedMemoryTransport::prepare_wait(const RingReader& reader) noexcept {
  return segment_of(reader).prepare_wait();
}

void SharedMemoryTransport::cancel_wait(const RingReader& reader) noexcept { segment_of(reader).cancel_wait(); }

void SharedMemoryTransport::wait(const RingReader& reader, std::uint32_t key,
                                 std::chrono::steady_clock::time_point deadline) noexcept {
  segment_of(reader).wait(key, deadline);
}

void SharedMemoryTransport::wake_all() noexcept { current_segment()->wake_all(); }

}  // namespace tickwire::middleware
