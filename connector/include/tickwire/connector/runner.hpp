// Runner: `tickwire run`. Builds the connector from a validated Config: opens
// the journal (recovering it and seeding the sequence), starts the embedded
// simulator for sim:// feeds, runs every feed session on one feed thread, and
// prints a one-line status on stderr (on a terminal; a periodic log line
// otherwise) until SIGINT/SIGTERM/SIGHUP, a message limit or an idle limit,
// then shuts down in order: sessions, feed thread, simulator, journal drain.
// The profiler's stage table goes to stderr on SIGUSR1 and at shutdown.
// [metrics] serves /metrics, /healthz and /readyz on a thread of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "tickwire/config/config.hpp"

namespace tickwire::connector {

struct RunOptions {
  std::uint64_t max_messages = 0;  // stop after this many market events; 0 = until a signal
  // Stop cleanly (as on SIGTERM) once no market event has arrived for this
  // long; 0 = never. Makes a replay a finite job.
  std::chrono::milliseconds exit_when_idle{0};
  bool status_line = true;
  std::string hgrm_dir;            // if set: one .hgrm per profiler stage written here at shutdown
  std::string version;             // the build's version, for tickwire_build_info
  // inproc_probe: subscribe one in-process handler to every record (needs
  // "inproc" in [publish] to) and report frame received -> handler latency
  // at shutdown (inproc_handler.hgrm too, with hgrm_dir).
  bool inproc_probe = false;
  bool inproc_probe_spin = false;  // with inproc_probe: a polling thread that never sleeps
};

// run_connector: blocks until done. Returns OK after a clean shutdown, or the
// error that prevented starting or draining (naming what and where).
absl::Status run_connector(const config::Config& config, const RunOptions& options);

}  // namespace tickwire::connector
