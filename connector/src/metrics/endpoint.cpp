#include "tickwire/connector/metrics/endpoint.hpp"

#include "tickwire/connector/metrics/exposition.hpp"
#include "tickwire/connector/metrics/health.hpp"

namespace tickwire::connector::metrics {

MetricsSnapshot snapshot_of(const MetricsSources& sources, bool full) {
  MetricsSnapshot s;
  // relaxed loads: independent statistics (see PipelineCounters).
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const auto totals_of = [&](const PipelineCounters& c) {
    PipelineTotals t{c.messages.load(kRelaxed),   c.rejected.load(kRelaxed),    c.ignored.load(kRelaxed),
                     c.dropped.load(kRelaxed),    c.symbols.load(kRelaxed),     c.connects.load(kRelaxed),
                     c.disconnects.load(kRelaxed), c.duplicates.load(kRelaxed), c.gaps.load(kRelaxed),
                     c.resyncs.load(kRelaxed),    c.rollovers.load(kRelaxed),   c.lag_ms.load(kRelaxed),
                     c.lag_warnings.load(kRelaxed), {}};
    for (std::size_t k = 0; k < kJournaledKinds; ++k) t.by_kind[k] = c.by_kind[k].load(kRelaxed);
    return t;
  };
  {
    // The process-wide figures: every connection's counters added up as the status line adds them.
    PipelineCounters sum;
    for (const PipelineCounters* c : sources.feed_counters) add_counters(sum, *c);
    s.pipeline = totals_of(sum);
  }
  if (sources.journal != nullptr) {
    const journal::Stats js = sources.journal->stats();
    s.journal.appended = js.appended;
    s.journal.dropped = js.dropped;
    s.journal.flushed = js.flushed_records;
    s.journal.segment_bytes = js.segment_bytes;
    s.journal.durable_seq = js.durable_seq;
    s.journal.segments = js.segments;
    s.journal.storage_errors = js.storage_errors;
    s.journal.ring_damaged = js.ring_damaged;
    s.journal.ring_used_bytes = js.ring_used_bytes;
    s.journal.ring_bytes = js.ring_bytes;
    s.journal.storage_failing = js.storage_failing;
    if (absl::Status st = sources.journal->status(); !st.ok()) s.journal.failed = std::string(st.message());
  }
  if (sources.publish != nullptr) {
    for (const PublishTargetStats& t : sources.publish->target_stats()) {
      s.publish.push_back({t.spec, t.up, t.published, t.failed, t.dropped});
    }
  }
  if (sources.sequencer != nullptr) {
    const std::uint64_t next = sources.sequencer->peek();
    s.journal.last_seq = next > 0 ? next - 1 : 0;
  }
  for (std::size_t i = 0; i < sources.feeds.size(); ++i) {
    FeedSnapshot& f = s.feeds.emplace_back(sources.feeds[i]->state());
    if (i < sources.feed_counters.size()) {
      f.counted = true;
      f.pipeline = totals_of(*sources.feed_counters[i]);
    }
  }
  if (full && sources.profiler != nullptr) s.stages = sources.profiler->report();
  if (sources.liveness != nullptr) {
    s.feed_thread_age_s = sources.liveness->feed_thread_age_s();
    s.scheduler_age_s = sources.liveness->scheduler_age_s();
  }
  if (full) s.process = read_process_figures();
  s.version = sources.version;
  return s;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(const config::MetricsConfig& config,
                                                                        MetricsSources sources) {
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint(config, std::move(sources)));
  HttpServerOptions options;
  options.listen = config.listen;
  options.max_connections = config.max_connections;
  options.max_header_bytes = config.max_header_bytes;
  options.timeout = std::chrono::milliseconds(config.request_timeout_ms);
  auto server = HttpServer::start(options, [e = endpoint.get()](std::string_view target) { return e->answer(target); });
  if (!server.ok()) return server.status();
  endpoint->server_ = std::move(*server);
  endpoint->http_.store(endpoint->server_.get(), std::memory_order_release);
  return endpoint;
}

HttpResponse MetricsEndpoint::answer(std::string_view target) const {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/metrics") {
    MetricsSnapshot s = snapshot_of(sources_);
    if (const HttpServer* http = http_.load(std::memory_order_acquire)) s.http = http->figures();
    return {200, std::string(kPrometheusContentType), format_prometheus(s)};
  }
  if (path == "/healthz" || path == "/readyz") {
    const MetricsSnapshot s = snapshot_of(sources_, false);
    const HealthVerdict v = path == "/healthz" ? liveness(s, config_) : readiness(s, config_);
    return {v.ok ? 200u : 503u, "application/json", v.json};
  }
  return {404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz or /readyz\n"};
}

}  // namespace tickwire::connector::metrics
