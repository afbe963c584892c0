// InProcessTransport: subscribers in the same process. Delivery is
// synchronous: publish() runs every matching handler on the publishing thread
// before it returns, so a slow handler slows the publisher. Routes are
// resolved once per distinct subject and cached; (un)subscribe invalidates the
// cache. Handlers must not call back into the same transport.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "tickwire/middleware/transport.hpp"

namespace tickwire::middleware {

class InProcessTransport final : public Transport {
 public:
  InProcessTransport() = default;

  std::uint64_t publish(std::string_view subject, std::span<const std::byte> payload) override;
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler) override;
  void unsubscribe(SubscriptionId id) override;
  SubscriberStats stats(SubscriptionId id) const override;

 private:
  struct Subscription {
    SubscriptionId id;
    std::string pattern;
    Handler handler;
    std::uint64_t received = 0;
  };
  using Route = std::vector<Subscription*>;

  const Route& route_for(std::string_view subject);  // requires mu_

  mutable std::mutex mu_;  // guards everything below; held while handlers run
  std::uint64_t sequence_ = 0;
  SubscriptionId next_id_ = 1;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  // Route cache keyed by views into subjects_ (a deque never moves elements).
  std::deque<std::string> subjects_;
  absl::flat_hash_map<std::string_view, Route> routes_;
};

}  // namespace tickwire::middleware
