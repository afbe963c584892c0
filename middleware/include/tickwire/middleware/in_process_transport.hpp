// InProcessTransport: subscribers in the same process, the connector's
// default. publish() takes no lock: it appends one record to a BroadcastRing
// on the heap and wakes parked subscribers (a fence and a load when none is
// parked). Each subscriber reads the ring on its own delivery thread (or on
// the caller's, through open_poller()); a slow one is lapped and counts what
// it lost, it never slows the publisher. One thread publishes at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "tickwire/middleware/broadcast_ring.hpp"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/parking.hpp"
#include "tickwire/middleware/transport.hpp"
#include "tickwire/middleware/transport_subscriber.hpp"

namespace tickwire::middleware {

struct InProcessOptions {
  std::size_t capacity = std::size_t{1} << 22;  // ring data bytes, a power of two (4 MiB)
};

class InProcessTransport final : public Transport, private RingSource {
 public:
  InProcessTransport();
  // Aborts if options.capacity is not a power of two in BroadcastLayout's range.
  explicit InProcessTransport(InProcessOptions options);
  ~InProcessTransport() override;  // stops and joins every delivery thread
  InProcessTransport(const InProcessTransport&) = delete;
  InProcessTransport& operator=(const InProcessTransport&) = delete;

  // publish: single publisher; returns 0 if subject + payload exceed max_message_bytes().
  std::uint64_t publish(std::string_view subject, std::span<const std::byte> payload) override;
  // publish_at: as publish, with the caller's sequence; false if too large (or not the writer).
  bool publish_at(std::uint64_t sequence, std::string_view subject, std::span<const std::byte> payload) override;
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler) override;
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler, GapHandler on_gap) override;
  // subscribe: as above, starting at `start` (kOldest replays what the ring still holds).
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler, StartAt start,
                                           GapHandler on_gap = {});
  void unsubscribe(SubscriptionId id) override;
  SubscriberStats stats(SubscriptionId id) const override;

  // open_poller: a subscription without a thread; the caller polls it (on one thread).
  absl::StatusOr<std::unique_ptr<TransportPoller>> open_poller(std::string_view pattern,
                                                               StartAt start = StartAt::kNow);
  // max_message_bytes: the largest subject + payload one publish may carry.
  std::size_t max_message_bytes() const noexcept;

 private:
  absl::StatusOr<RingReader> open_reader(StartAt start) override;
  std::uint32_t prepare_wait(const RingReader&) noexcept override { return published_.prepare_wait(); }
  void cancel_wait(const RingReader&) noexcept override { published_.cancel_wait(); }
  void wait(const RingReader&, std::uint32_t key, std::chrono::steady_clock::time_point deadline) noexcept override {
    published_.wait(key, deadline);
  }
  void wake_all() noexcept override { published_.notify_all(); }

  struct AlignedFree {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte, AlignedFree> memory_;
  std::span<std::byte> span_;
  BroadcastWriter writer_;
  std::vector<std::byte> scratch_;            // one record assembled before it is published
  CachePadded<std::atomic<std::uint64_t>> sequence_;
  EventCount published_;                     // subscribers park here; publish() notifies
  SubscriberSet subscribers_;                // last: its threads stop before the ring goes
};

}  // namespace tickwire::middleware
