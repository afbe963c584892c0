// format_prometheus: a MetricsSnapshot in the Prometheus text exposition
// format (version 0.0.4): `tickwire_` names, `_total` counters, base units
// (seconds, bytes), labels bounded by the configuration (feed names and
// configured symbols, profiler stage names). docs/operations.md lists every
// series. Runs on the HTTP thread.
#pragma once

#include <string>

#include "tickwire/connector/metrics/snapshot.hpp"

namespace tickwire::connector::metrics {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string format_prometheus(const MetricsSnapshot& snapshot);

// read_process_figures: CPU, memory, threads and descriptors of this process
// from /proc/self.
ProcessFigures read_process_figures();

}  // namespace tickwire::connector::metrics
