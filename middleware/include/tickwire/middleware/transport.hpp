// Transport: publish bytes on a subject, subscribe to subject patterns. The
// connector publishes every encoded Envelope through one of these; consumers
// subscribe with NATS-style wildcards. Implementations: InProcessTransport
// (this process); shared-memory and NATS transports implement the same API.
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

using Handler = std::function<void(const Message&)>;

// SubscriberStats: per-subscriber counters.
struct SubscriberStats {
  std::uint64_t received = 0;  // messages delivered to the handler
  std::uint64_t dropped = 0;   // messages lost to this subscriber (lapped or failed)
};

class Transport {
 public:
  virtual ~Transport() = default;
  // publish: sends `payload` on `subject`; returns the transport's sequence for it
  // (one atomic sequence per transport, strictly increasing, starting at 1).
  virtual std::uint64_t publish(std::string_view subject, std::span<const std::byte> payload) = 0;
  // subscribe: calls `handler` for every later message whose subject matches `pattern`.
  virtual absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler) = 0;
  // unsubscribe: no handler call for `id` starts after this returns.
  virtual void unsubscribe(SubscriptionId id) = 0;
  // stats: the counters of one subscription (zeros for an unknown id).
  virtual SubscriberStats stats(SubscriptionId id) const = 0;
};

}  // namespace tickwire::middleware
