// MetricsSnapshot: every figure /metrics and the health checks report, copied
// at one moment from the counters the running parts already keep (pipeline
// counters, journal stats, feed probes, profiler, /proc). Filled on the HTTP
// thread by MetricsEndpoint; formatting and health verdicts read only this,
// so a change in where a counter lives touches only the code that fills it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tickwire/connector/events.hpp"
#include "tickwire/middleware/profiler.hpp"

namespace tickwire::connector::metrics {

// PipelineTotals: PipelineCounters, of one feed's connection or process-wide (their sum).
struct PipelineTotals {
  std::uint64_t messages = 0, rejected = 0, ignored = 0, dropped = 0, symbols = 0, connects = 0,
                disconnects = 0, duplicates = 0, gaps = 0, resyncs = 0, rollovers = 0;
  std::int64_t lag_ms = 0;  // exchange-time lag of the latest event that has an exchange time
  std::uint64_t lag_warnings = 0;
  std::array<std::uint64_t, kJournaledKinds> by_kind{};  // messages by JournaledKind
};

// StreamAge: one configured stream's last message (or, before the first,
// its last connect or resubscribe), sampled on the feed thread once a second.
struct StreamAge {
  std::string symbol, channel;
  double age_s = 0;
};

struct BookState {
  std::string symbol;
  bool synced = false;
};

// FeedSnapshot: one [[feeds]] entry, from its FeedProbe.
struct FeedSnapshot {
  std::string feed;
  bool connected = false;
  bool subscribed = false;                 // every stream subscribed (by URL, or every SUBSCRIBE acknowledged)
  std::uint64_t connects = 0, disconnects = 0;
  std::uint64_t frames = 0, bytes = 0;     // websocket data frames received and their payload bytes
  double last_frame_age_s = -1;            // seconds since the last frame; -1 before the first
  bool counted = false;                    // the pipeline figures below are known
  PipelineTotals pipeline;                 // its connection's pipeline counters
  std::vector<BookState> books;            // only for feeds with the depth channel
  std::vector<StreamAge> streams;          // every configured stream, once the feed has connected
};

// JournalFigures: journal::Stats plus the sequence side.
struct JournalFigures {
  std::uint64_t appended = 0, dropped = 0, flushed = 0, segment_bytes = 0, durable_seq = 0, segments = 0;
  std::uint64_t last_seq = 0;  // the last sequence stamped (0: none yet)
  std::uint64_t storage_errors = 0, ring_damaged = 0;
  std::uint64_t ring_used_bytes = 0, ring_bytes = 0;  // the ring's fill and capacity
  bool storage_failing = false;  // a full disk: the flusher retries (Stats::storage_failing)
  std::string failed;            // why the journal failed closed; empty while it works
  std::uint64_t durable_lag() const { return last_seq > durable_seq ? last_seq - durable_seq : 0; }
};

// PublishFigures: one [publish] target (PublishTargetStats).
struct PublishFigures {
  std::string target;  // as configured: "shm:NAME", "nats://HOST:PORT", "inproc"
  bool up = false;
  std::uint64_t published = 0, failed = 0, dropped = 0;
};

// ProcessFigures: from /proc/self (valid = false where it could not be read).
struct ProcessFigures {
  bool valid = false;
  double cpu_seconds = 0, start_time_seconds = 0;
  std::uint64_t resident_bytes = 0, virtual_bytes = 0, threads = 0, open_fds = 0, max_fds = 0;
};

// HttpFigures: the endpoint's own counters.
struct HttpFigures {
  std::uint64_t requests_ok = 0, requests_not_found = 0, requests_bad = 0, requests_unavailable = 0;
  std::uint64_t connections_rejected = 0, timeouts = 0;
};

struct MetricsSnapshot {
  PipelineTotals pipeline;
  JournalFigures journal;
  std::vector<FeedSnapshot> feeds;
  std::vector<PublishFigures> publish;
  middleware::ProfileReport stages;
  ProcessFigures process;
  HttpFigures http;
  double feed_thread_age_s = -1;   // since the feed thread last ran a liveness task (-1: never)
  double scheduler_age_s = -1;     // since the scheduler last ran one
  std::string version;
};

}  // namespace tickwire::connector::metrics
