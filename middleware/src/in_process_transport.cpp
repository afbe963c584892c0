#include "tickwire/middleware/in_process_transport.hpp"

#include <algorithm>

#include "absl/status/status.h"
#include "tickwire/middleware/subject.hpp"

namespace tickwire::middleware {

std::uint64_t InProcessTransport::publish(std::string_view subject,
                                          std::span<const std::byte> payload) {
  std::lock_guard lock(mu_);
  const std::uint64_t seq = ++sequence_;
  const Message msg{subject, payload, seq};
  for (Subscription* sub : route_for(subject)) {
    sub->handler(msg);
    ++sub->received;
  }
  return seq;
}

const InProcessTransport::Route& InProcessTransport::route_for(std::string_view subject) {
  if (auto it = routes_.find(subject); it != routes_.end()) return it->second;
  Route route;
  for (const auto& sub : subscriptions_) {
    if (subject_matches(sub->pattern, subject)) route.push_back(sub.get());
  }
  const std::string& key = subjects_.emplace_back(subject);
  return routes_.emplace(std::string_view(key), std::move(route)).first->second;
}

absl::StatusOr<SubscriptionId> InProcessTransport::subscribe(std::string_view pattern,
                                                             Handler handler) {
  if (!is_valid_pattern(pattern)) {
    return absl::InvalidArgumentError("subscribe: invalid subject pattern '" + std::string(pattern) +
                                      "' (dot-separated tokens; '*' for one token, '>' last)");
  }
  std::lock_guard lock(mu_);
  auto sub = std::make_unique<Subscription>();
  sub->id = next_id_++;
  sub->pattern = std::string(pattern);
  sub->handler = std::move(handler);
  const SubscriptionId id = sub->id;
  subscriptions_.push_back(std::move(sub));
  routes_.clear();
  subjects_.clear();
  return id;
}

void InProcessTransport::unsubscribe(SubscriptionId id) {
  std::lock_guard lock(mu_);
  std::erase_if(subscriptions_, [id](const auto& s) { return s->id == id; });
  routes_.clear();
  subjects_.clear();
}

SubscriberStats InProcessTransport::stats(SubscriptionId id) const {
  std::lock_guard lock(mu_);
  for (const auto& sub : subscriptions_) {
    if (sub->id == id) {
      return {sub->received, 0};
    }
  }
  return {};
}

}  // namespace tickwire::middleware
