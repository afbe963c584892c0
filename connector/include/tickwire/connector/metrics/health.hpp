// Liveness (/healthz) and readiness (/readyz) verdicts from a MetricsSnapshot,
// each with a JSON body that names every failing condition:
//   {"status":"ok","checks":[{"name":"feed_thread","ok":true,...},...]}
// Liveness: the feed thread and the scheduler have each run a task within
// liveness_timeout_ms. Readiness: every feed connected and subscribed and not
// silent for ready_max_silence_ms, every configured book synced, and the
// journal's durable lag at most ready_max_durable_lag records.
#pragma once

#include <string>

#include "tickwire/config/config.hpp"
#include "tickwire/connector/metrics/snapshot.hpp"

namespace tickwire::connector::metrics {

struct HealthVerdict {
  bool ok = false;
  std::string json;  // the response body
};

HealthVerdict liveness(const MetricsSnapshot& snapshot, const config::MetricsConfig& config);
HealthVerdict readiness(const MetricsSnapshot& snapshot, const config::MetricsConfig& config);

}  // namespace tickwire::connector::metrics
