#include "tickwire/middleware/in_process_transport.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "tickwire/middleware/status_text.hpp"

namespace tickwire::middleware {
namespace {

BroadcastWriter make_writer(std::span<std::byte> span) {
  // Every page touched now, before any reader: a page first written by a
  // publish costs it a page fault (tens of microseconds on a VM).
  std::memset(span.data(), 0, span.size());
  auto writer = BroadcastWriter::create(span, 1);
  if (!writer.ok()) {
    std::fprintf(stderr, "InProcessTransport: %.*s\n", static_cast<int>(status_text(writer.status()).size()),
                 status_text(writer.status()).data());
    std::abort();
  }
  return *std::move(writer);
}

}  // namespace

void InProcessTransport::AlignedFree::operator()(std::byte* p) const noexcept {
  ::operator delete(p, std::align_val_t{kCacheLineSize});
}

InProcessTransport::InProcessTransport() : InProcessTransport(InProcessOptions{}) {}

InProcessTransport::InProcessTransport(InProcessOptions options)
    : memory_(static_cast<std::byte*>(::operator new(BroadcastLayout::required_bytes(options.capacity),
                                                     std::align_val_t{kCacheLineSize}))),
      span_(memory_.get(), BroadcastLayout::required_bytes(options.capacity)),
      writer_(make_writer(span_)),
      scratch_(writer_.max_payload()),
      subscribers_(*this) {}

InProcessTransport::~InProcessTransport() { subscribers_.close(); }

std::size_t InProcessTransport::max_message_bytes() const noexcept {
  return writer_.max_payload() - transport_record::kSequenceBytes;
}

std::uint64_t InProcessTransport::publish(std::string_view subject, std::span<const std::byte> payload) {
  // relaxed: single publisher; the sequence is only read by this thread and open_reader.
  const std::uint64_t seq = sequence_->load(std::memory_order_relaxed) + 1;
  return publish_at(seq, subject, payload) ? seq : 0;
}

bool InProcessTransport::publish_at(std::uint64_t sequence, std::string_view subject,
                                    std::span<const std::byte> payload) {
  const std::size_t size = transport_record::encoded_size(subject.size(), payload.size());
  if (size > scratch_.size() || subject.size() > transport_record::kMaxSubjectBytes) return false;
  // relaxed: a lower bound for readers attaching "now"; the ring's release stores publish the record.
  sequence_->store(sequence, std::memory_order_relaxed);
  transport_record::encode(scratch_, sequence, subject, payload);
  writer_.publish(static_cast<std::uint32_t>(subject.size()), std::span<const std::byte>(scratch_.data(), size));
  published_.notify_all();
  return true;
}

absl::StatusOr<SubscriptionId> InProcessTransport::subscribe(std::string_view pattern, Handler handler) {
  return subscribers_.subscribe(pattern, std::move(handler), StartAt::kNow);
}

absl::StatusOr<SubscriptionId> InProcessTransport::subscribe(std::string_view pattern, Handler handler,
                                                             GapHandler on_gap) {
  return subscribers_.subscribe(pattern, std::move(handler), StartAt::kNow, std::move(on_gap));
}

absl::StatusOr<SubscriptionId> InProcessTransport::subscribe(std::string_view pattern, Handler handler,
                                                             StartAt start, GapHandler on_gap) {
  return subscribers_.subscribe(pattern, std::move(handler), start, std::move(on_gap));
}

void InProcessTransport::unsubscribe(SubscriptionId id) { subscribers_.unsubscribe(id); }

SubscriberStats InProcessTransport::stats(SubscriptionId id) const { return subscribers_.stats(id); }

absl::StatusOr<std::unique_ptr<TransportPoller>> InProcessTransport::open_poller(std::string_view pattern,
                                                                                 StartAt start) {
  return TransportPoller::open(*this, pattern, start);
}

absl::StatusOr<RingReader> InProcessTransport::open_reader(StartAt start) {
  BroadcastReaderOptions options;
  options.start_at_oldest = start == StartAt::kOldest;
  auto reader = BroadcastReader::attach(span_, options);
  if (!reader.ok()) return reader.status();
  // relaxed: after attach's acquire load of the tail (which pairs with the
  // writer's release), so at least the sequence of every record before the cursor.
  std::optional<std::uint64_t> last;
  if (start == StartAt::kNow) last = sequence_->load(std::memory_order_relaxed);
  return RingReader{*std::move(reader), nullptr, last};
}

}  // namespace tickwire::middleware
