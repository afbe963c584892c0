// InprocProbe: `tickwire run --inproc-probe[=spin]`: one in-process
// subscriber to every record, as a service linking the connector would
// subscribe, that histograms the time from the frame's receipt (the
// Envelope's monoNs, the feed thread's TSC stamp of the frame, in
// CLOCK_MONOTONIC) to its handler's entry. Parked: the transport's own
// delivery thread, which sleeps when idle (the figure includes its
// wake-up, and the feed thread pays for waking it); spin: a thread of the
// probe's that polls the ring without ever sleeping (a core of its own, as
// book_watch --spin over shared memory). Internal to the runner.
#pragma once

#include <capnp/common.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "tickwire/connector/publish_targets.hpp"
#include "tickwire/middleware/latency_histogram.hpp"

namespace tickwire::connector {

class InprocProbe {
 public:
  // start: subscribes to every subject of `targets`' first "inproc" target
  // (FailedPrecondition, naming the key to set, without one).
  static absl::StatusOr<std::unique_ptr<InprocProbe>> start(PublishTargets& targets, bool spin);
  ~InprocProbe();
  InprocProbe(const InprocProbe&) = delete;
  InprocProbe& operator=(const InprocProbe&) = delete;

  // stop: after the last publish: unsubscribes (joining the delivery or
  // polling thread; a spin probe then reads what its thread had not
  // reached); the figures are final after it.
  void stop();
  // report: "N records ...: p50 .. p99 .. p99.9 .. max" (after stop()).
  std::string report() const;
  // write_hgrm: `inproc_handler.hgrm` in `dir`, values in microseconds (after stop()).
  absl::Status write_hgrm(const std::filesystem::path& dir) const;

 private:
  explicit InprocProbe(PublishTargets& targets);
  void on_record(std::span<const std::byte> payload);

  PublishTargets& targets_;
  middleware::SubscriptionId id_{};
  bool subscribed_ = false;
  std::unique_ptr<middleware::TransportPoller> poller_;  // spin
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // Touched only by the delivery thread until stop() joins it.
  middleware::LatencyHistogram latency_;
  std::vector<capnp::word> words_;  // the payload copied to word alignment
  std::uint64_t records_ = 0;
  std::uint64_t undecodable_ = 0;
  std::uint64_t gaps_ = 0;  // records the subscription was lapped past
};

}  // namespace tickwire::connector
