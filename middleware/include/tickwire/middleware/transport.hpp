// Transport: publish bytes on a subject, subscribe to subject patterns. The
// connector publishes every encoded Envelope through one of these with the
// Envelope's own sequence (publish_at), so a record has one number on every
// transport and in the journal; consumers subscribe with NATS-style wildcards
// and are told of every sequence range they may have lost (GapHandler) before
// the next message. Implementations: InProcessTransport (this process),
// SharedMemoryTransport (processes on this host), and NATS (other hosts); one
// conformance suite checks they behave alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"

namespace tickwire::middleware {

// SubscriptionId: returned by subscribe(), passed to unsubscribe().
using SubscriptionId = std::uint64_t;

// Message: what a subscriber's handler sees. The views are valid only for the
// duration of the call.
struct Message {
  std::string_view subject;
  std::span<const std::byte> payload;
  std::uint64_t sequence;  // the publisher's sequence of this publish (the Envelope's, see publish_at)
};

// Handler: runs on the subscription's delivery thread (one thread per
// subscription, so calls for one subscription never overlap).
using Handler = std::function<void(const Message&)>;

// GapHandler: called on the same delivery thread, before the next message,
// with the inclusive sequence range [from_seq, to_seq] this subscription may
// have lost (lapped on a ring, dropped by NATS as a slow consumer, published
// while a restarting publisher's new ring was not yet read). Records in the
// range that do not match the pattern were never owed; a subscriber that must
// not lose data refills the range from the journal (CatchUpSubscriber).
using GapHandler = std::function<void(std::uint64_t from_seq, std::uint64_t to_seq)>;

// StartAt: where a new subscription's cursor begins.
enum class StartAt {
  kNow,     // messages published after subscribe() returns
  kOldest,  // the oldest message the transport still holds, then everything after it
};

// SubscriberStats: per-subscriber counters, readable from any thread.
struct SubscriberStats {
  std::uint64_t received = 0;  // messages delivered to the handler
  std::uint64_t dropped = 0;   // messages lost to this subscriber (lapped, publisher restart, malformed)
  std::uint64_t lapped = 0;    // times the publisher overtook this subscriber's cursor
  std::uint64_t restarts = 0;  // publisher restarts seen (a new epoch) and resynchronized from
  double backpressure = 0.0;   // backlog as a fraction of the transport's buffer (0 caught up, 1 lapped)
};

class Transport {
 public:
  virtual ~Transport() = default;
  // publish: sends `payload` on `subject`; returns the transport's sequence for it
  // (one atomic sequence per transport, strictly increasing, starting at 1), or
  // 0 if nothing was sent (payload too large, or an endpoint that cannot publish).
  // Never waits for subscribers.
  virtual std::uint64_t publish(std::string_view subject, std::span<const std::byte> payload) = 0;
  // publish_at: as publish, with the caller's sequence (the connector passes
  // the Envelope's). Sequences should increase; a lower one tells subscribers
  // the publisher started afresh. Returns false if the transport did not take
  // the message (too large, refused, buffer full); the transport counts it.
  virtual bool publish_at(std::uint64_t sequence, std::string_view subject, std::span<const std::byte> payload) = 0;
  // subscribe: calls `handler` for every later message whose subject matches `pattern`.
  virtual absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler) = 0;
  // subscribe: as above; `on_gap` (may be empty) hears of every lost range.
  virtual absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler, GapHandler on_gap) = 0;
  // unsubscribe: once this returns, no handler call for `id` is running or
  // starts again (called from inside that handler, only the current call
  // finishes). The conformance suite checks this under subscriber churn.
  virtual void unsubscribe(SubscriptionId id) = 0;
  // stats: the counters of one subscription (zeros for an unknown id).
  virtual SubscriberStats stats(SubscriptionId id) const = 0;
};

}  // namespace tickwire::middleware
