// TransportPoller and SubscriberSet: the subscriber side shared by the
// BroadcastRing transports (in-process and shared memory). A poller is one
// cursor over the ring plus a subject filter cached per distinct subject; a
// SubscriberSet runs one delivery thread per subscription that parks when
// idle. A publish is one ring record: [sequence:u64][subject][payload], with
// the subject's length in the record type; reading one copies it out once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "tickwire/middleware/broadcast_ring.hpp"
#include "tickwire/middleware/transport.hpp"

namespace tickwire::middleware {

// transport_record: how a publish is laid out in a BroadcastRing record.
namespace transport_record {
inline constexpr std::size_t kSequenceBytes = 8;
inline constexpr std::size_t kMaxSubjectBytes = 1024;
// encoded_size: the ring payload bytes for one publish.
constexpr std::size_t encoded_size(std::size_t subject, std::size_t payload) {
  return kSequenceBytes + subject + payload;
}
// encode: writes the record into `out` (at least encoded_size bytes).
void encode(std::span<std::byte> out, std::uint64_t sequence, std::string_view subject,
            std::span<const std::byte> payload) noexcept;
}  // namespace transport_record

// RingReader: a BroadcastReader plus whatever keeps its memory mapped.
struct RingReader {
  BroadcastReader reader;
  std::shared_ptr<void> keepalive;  // the memory the reader points into (and parks on)
  // At least the transport sequence of the last record before the cursor
  // (read after attaching; 0 if none was ever published); losses are counted
  // from here. Empty when unknown (a cursor at the oldest record).
  std::optional<std::uint64_t> last_sequence;
};

// RingSource: what a transport gives its subscribers. Called off the hot path
// (attach, re-attach after a publisher restart, parking).
class RingSource {
 public:
  virtual ~RingSource() = default;
  // open_reader: a cursor over the ring as it is now (the current epoch).
  virtual absl::StatusOr<RingReader> open_reader(StartAt start) = 0;
  // prepare_wait / cancel_wait / wait: an EventCount over the publications
  // of the ring `reader` reads (see parking.hpp); wait returns by `deadline`
  // at the latest.
  virtual std::uint32_t prepare_wait(const RingReader& reader) noexcept = 0;
  virtual void cancel_wait(const RingReader& reader) noexcept = 0;
  virtual void wait(const RingReader& reader, std::uint32_t key,
                    std::chrono::steady_clock::time_point deadline) noexcept = 0;
  // wake_all: wakes every parked subscriber of the current ring.
  virtual void wake_all() noexcept = 0;
};

// TransportPoller: one subscription driven by its owner's thread: poll() reads
// the ring and calls the handler for matching records. stats() is safe from
// any thread; everything else belongs to the polling thread.
class TransportPoller {
 public:
  static absl::StatusOr<std::unique_ptr<TransportPoller>> open(RingSource& source, std::string_view pattern,
                                                               StartAt start);

  // poll: reads up to `limit` records, delivering the matching ones; returns
  // how many records it consumed (matching or not), 0 when there is nothing new.
  // With `stop`, returns before the next record once *stop is true. A jump in
  // the publisher's sequence (lapped, or records of a previous epoch never
  // read) calls `on_gap` with the missing range before the record after it.
  int poll(const Handler& handler, int limit = 64, const std::atomic<bool>* stop = nullptr,
           const GapHandler& on_gap = {});

  SubscriberStats stats() const noexcept;
  const std::string& pattern() const noexcept { return pattern_; }

  // prepare_wait / cancel_wait / wait: park until the publisher publishes
  // (EventCount protocol: key = prepare_wait(); if (poll(...) > 0) cancel_wait(); else wait(key, deadline)).
  std::uint32_t prepare_wait() noexcept { return source_.prepare_wait(ring_); }
  void cancel_wait() noexcept { source_.cancel_wait(ring_); }
  void wait(std::uint32_t key, std::chrono::steady_clock::time_point deadline) noexcept {
    source_.wait(ring_, key, deadline);
  }

 private:
  TransportPoller(RingSource& source, std::string pattern, RingReader reader);
  bool matches(std::string_view subject);
  void account_sequence(std::uint64_t sequence, const GapHandler& on_gap);
  bool reattach() noexcept;
  void publish_stats() noexcept;

  RingSource& source_;
  std::string pattern_;
  RingReader ring_;
  std::vector<std::byte> buffer_;
  // Match cache keyed by views into subjects_ (a deque never moves elements).
  std::deque<std::string> subjects_;
  absl::flat_hash_map<std::string_view, bool> matches_;
  std::optional<std::uint64_t> last_sequence_;  // empty: no baseline yet
  std::uint64_t lapped_base_ = 0;    // lapped counts of readers before the last re-attach
  std::uint64_t restarts_ = 0;
  std::uint64_t received_local_ = 0;
  std::uint64_t dropped_local_ = 0;
  // Published for stats() on other threads; relaxed everywhere: statistics only.
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> lapped_{0};
  std::atomic<std::uint64_t> restarts_shared_{0};
  std::atomic<double> backpressure_{0.0};
};

// SubscriberSet: the subscriptions of one transport, each a TransportPoller
// on its own delivery thread. Delivery threads spin briefly, then park on the
// source; unsubscribe() stops and joins the thread (from inside the handler it
// stops it and the join happens later, at the next (un)subscribe or at close).
// close() (and so the destructor) must not run on a delivery thread.
class SubscriberSet {
 public:
  explicit SubscriberSet(RingSource& source);
  ~SubscriberSet();  // close()
  SubscriberSet(const SubscriberSet&) = delete;
  SubscriberSet& operator=(const SubscriberSet&) = delete;

  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler, StartAt start,
                                           GapHandler on_gap = {});
  void unsubscribe(SubscriptionId id);
  SubscriberStats stats(SubscriptionId id) const;
  // close: stops and joins every delivery thread.
  void close();

 private:
  struct Subscription;
  static void run(Subscription& sub);
  void join_retired();  // joins threads stopped from their own handler

  RingSource& source_;
  mutable std::mutex mu_;  // guards the maps below; never taken by publish or delivery
  SubscriptionId next_id_ = 1;
  absl::flat_hash_map<SubscriptionId, std::unique_ptr<Subscription>> subscriptions_;
  std::vector<std::unique_ptr<Subscription>> retired_;  // stopped from their own handler, not yet joined
};

}  // namespace tickwire::middleware
