// Transport: publish bytes on a subject, subscribe to subject patterns. The
// connector publishes every encoded Envelope through one of these; consumers
// subscribe with NATS-style wildcards. Implementations: InProcessTransport
// (this process), SharedMemoryTransport (processes on this host), and NATS
// (other hosts); one conformance suite checks they behave alike.
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
  std::uint64_t sequence;  // the transport's sequence of this publish
};

// Handler: runs on the subscription's delivery thread (one thread per
// subscription, so calls for one subscription never overlap).
using Handler = std::function<void(const Message&)>;

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
  // subscribe: calls `handler` for every later message whose subject matches `pattern`.
  virtual absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler) = 0;
  // unsubscribe: once this returns, no handler call for `id` is running or
  // starts again (called from inside that handler, only the current call
  // finishes). The conformance suite checks this under subscriber churn.
  virtual void unsubscribe(SubscriptionId id) = 0;
  // stats: the counters of one subscription (zeros for an unknown id).
  virtual SubscriberStats stats(SubscriptionId id) const = 0;
};

}  // namespace tickwire::middleware
