// PublishTargets: the fan-out Transport `tickwire run` publishes through,
// built from [publish]. The feed thread calls publish_at() with the Envelope's
// sequence; each target gets the record with that sequence. In-process and
// shared-memory targets are broadcast rings (a copy, never a wait); a NATS
// target is fed through its own broadcast ring to a publisher thread that
// calls nats.c, so a slow or disconnected server never reaches the feed
// thread: what that thread falls a whole ring behind on is counted as dropped,
// what nats.c refuses as failed. A target that cannot be opened at start
// (file held by another writer, server down, wrong password) is logged with
// its reason and counts every record as failed while it is down; a NATS
// target's publisher thread tries to connect again every second and the
// target is up from the first success. The journal is not
// affected by any of this.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "tickwire/config/config.hpp"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/transport.hpp"

namespace tickwire::connector {

// PublishTargetStats: one target's counters (relaxed reads: statistics).
struct PublishTargetStats {
  std::string spec;            // "shm:tickwire-dev", "nats://127.0.0.1:4222"
  bool up = false;             // open (NATS: connected once; nats.c reconnects after that)
  std::uint64_t published = 0; // records the target took
  std::uint64_t failed = 0;    // records it refused (down, too large, nats.c refusal)
  std::uint64_t dropped = 0;   // records its queue lost before they reached it (NATS only)
  std::string error;           // why it is down, or its last error
};

class PublishTargets final : public middleware::Transport {
 public:
  // open: every target of `config` (logged, never fatal: see above).
  static std::unique_ptr<PublishTargets> open(const config::PublishConfig& config);
  ~PublishTargets() override;  // close()
  // close: after the last publish: drains the NATS queues into nats.c and
  // flushes them (bounded); counters stay readable.
  void close();
  PublishTargets(const PublishTargets&) = delete;
  PublishTargets& operator=(const PublishTargets&) = delete;

  // publish: publish_at(the last sequence + 1).
  std::uint64_t publish(std::string_view subject, std::span<const std::byte> payload) override;
  // publish_at: one publishing thread; true if every target took the record.
  bool publish_at(std::uint64_t sequence, std::string_view subject, std::span<const std::byte> payload) override;
  // subscribe, unsubscribe, stats: through the first "inproc" target (FailedPrecondition without one).
  absl::StatusOr<middleware::SubscriptionId> subscribe(std::string_view pattern, middleware::Handler handler) override;
  absl::StatusOr<middleware::SubscriptionId> subscribe(std::string_view pattern, middleware::Handler handler,
                                                       middleware::GapHandler on_gap) override;
  void unsubscribe(middleware::SubscriptionId id) override;
  middleware::SubscriberStats stats(middleware::SubscriptionId id) const override;
  // open_poller: a subscription to the first "inproc" target without a
  // thread, which the caller polls (FailedPrecondition without one).
  absl::StatusOr<std::unique_ptr<middleware::TransportPoller>> open_poller(std::string_view pattern);

  std::vector<PublishTargetStats> target_stats() const;
  // problems: failed + dropped over every target.
  std::uint64_t problems() const;
  // report: one short text for the status line ("publish shm:x 120 | nats://h:p 118, 2 failed").
  std::string report() const;

  class Target;  // one configured target (publish_targets.cpp)

 private:
  PublishTargets() = default;
  std::vector<std::unique_ptr<Target>> targets_;
  middleware::InProcessTransport* inproc_ = nullptr;  // the first in-process target, for subscribers
  std::uint64_t last_sequence_ = 0;          // publishing thread only
};

}  // namespace tickwire::connector
