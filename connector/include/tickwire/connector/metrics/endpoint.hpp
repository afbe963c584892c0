// MetricsEndpoint: the connector's /metrics, /healthz and /readyz, served by
// an HttpServer on its own thread. Each request copies a MetricsSnapshot out
// of the running parts' own counters (relaxed atomic loads, Journal::stats(),
// Profiler::report(), /proc), so the feed thread does no work for a scrape
// and allocates nothing for it. The runner owns the sources and must stop
// the endpoint (destroy it) before destroying any of them.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tickwire/config/config.hpp"
#include "tickwire/connector/feed_pipeline.hpp"
#include "tickwire/connector/metrics/feed_probe.hpp"
#include "tickwire/connector/metrics/http_server.hpp"
#include "tickwire/connector/metrics/snapshot.hpp"
#include "tickwire/connector/publish_targets.hpp"

namespace tickwire::connector::metrics {

// MetricsSources: where a snapshot's figures come from (all outlive the endpoint).
struct MetricsSources {
  const journal::Journal* journal = nullptr;
  const Sequencer* sequencer = nullptr;
  const middleware::Profiler* profiler = nullptr;
  std::vector<const FeedProbe*> feeds;
  // feed_counters[i]: the pipeline counters of feeds[i]'s connection (the
  // process-wide figures are their sum); may be shorter than feeds (tests).
  std::vector<const PipelineCounters*> feed_counters;
  const Liveness* liveness = nullptr;
  std::string version;
  const PublishTargets* publish = nullptr;
};

// snapshot_of: the figures of `sources` now (any thread). `full` = false
// leaves out the profiler stages and /proc (what the health checks skip).
MetricsSnapshot snapshot_of(const MetricsSources& sources, bool full = true);

class MetricsEndpoint {
 public:
  // start: serves `config.listen` (which must not be empty).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> start(const config::MetricsConfig& config,
                                                                MetricsSources sources);
  std::uint16_t port() const { return server_->port(); }

 private:
  MetricsEndpoint(const config::MetricsConfig& config, MetricsSources sources)
      : config_(config), sources_(std::move(sources)) {}
  HttpResponse answer(std::string_view target) const;

  config::MetricsConfig config_;
  MetricsSources sources_;
  // http_: server_ as the HTTP thread sees it. The server thread may answer
  // before start() has stored server_, so answer() reads this (released
  // once server_ is set; null until then, and the request's figures leave
  // the HTTP counters at zero).
  std::atomic<const HttpServer*> http_{nullptr};
  std::unique_ptr<HttpServer> server_;  // last: stopped first
};

}  // namespace tickwire::connector::metrics
