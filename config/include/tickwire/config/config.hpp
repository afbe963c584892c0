// The connector's configuration: plain structs filled from a TOML file by
// load_file()/load_string(), fully validated, with defaults for every optional
// key. Loading happens once at startup; nothing here is on the hot path.
//
//   auto config = tickwire::config::load_file("config/default.toml");
//   if (!config.ok()) { /* config.status().message() names file:line: key */ }
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tickwire::config {

// When the journal flusher calls fsync on the segment it writes.
enum class FsyncPolicy { kNone, kInterval, kBatch };
// What the feed thread does when the journal ring is full.
enum class FullPolicy { kBlock, kDrop };

// One [[feeds]] entry: a websocket connection (or the embedded simulator).
struct FeedConfig {
  std::string name;                     // unique; a subject token, e.g. "binance" ([a-z0-9_-]+)
  std::string exchange = "binance";     // the venue adapter: "binance" (spot) | "binance-usdm" (USD-M futures) | "bybit" | "coinbase"
  std::string category;                 // bybit only, required there: "spot" | "linear" (USDT/USDC perpetuals)
  std::string url;                      // "sim://" (embedded simulator) | "ws://host:port/path" | "wss://..."
  std::vector<std::string> symbols;     // exchange symbols, upper case, e.g. "BTCUSDT" (non-empty, unique)
  std::vector<std::string> channels = {"trade"};  // as the venue names them (docs/venues.md)
  std::string ca_file;                  // optional CA bundle for wss; empty = system store
  bool verify_tls = true;
  std::size_t max_frame_bytes = 1u << 20;  // larger websocket frames are rejected
  // Subscription: "url" puts the streams in the URL (/stream?streams=..);
  // "message" connects to /stream and sends SUBSCRIBE messages.
  std::string subscribe = "url";
  // REST base for order-book snapshots (depth@100ms): "http(s)://host[:port]";
  // empty = derived (the simulator's for sim://, https://api.binance.com otherwise).
  std::string rest_url;
  std::uint32_t depth_limit = 1000;     // snapshot levels: 100, 500, 1000 or 5000
  // After a reconnect, fetch a snapshot of every synced book to check it (a
  // book that changed while disconnected is replaced and the gap journaled,
  // even if no further diff arrives). Costs one REST request per symbol.
  bool snapshot_on_reconnect = true;
  // Exchange timestamp unit: "ms" (Binance's default) or "us" (the URL gets
  // timeUnit=MICROSECOND and event/trade times keep their microseconds).
  std::string time_unit = "ms";
  std::uint32_t ping_interval_ms = 20'000;   // we ping after this long without a frame; 0 = pong_timeout/2
  std::uint32_t pong_timeout_ms = 60'000;    // dead after min(this, 2 x ping_interval) with nothing received
  std::uint32_t stale_after_ms = 0;          // a stream silent this long is restarted; 0 = off
  std::uint32_t resubscribe_timeout_ms = 10'000;  // a book resubscribed without its snapshot this long: again
  std::uint64_t max_lifetime_s = 85'800;     // make-before-break rollover after this (23 h 50 min)
  std::uint32_t rollover_overlap_ms = 10'000;  // longest wait for both connections to overlap
  std::uint32_t backoff_initial_ms = 100;
  std::uint32_t backoff_max_ms = 30'000;
  std::uint32_t max_connects_per_5min = 300;  // connection attempts per process, per 5 minutes
  // Warn (once per crossing) when data arrives more than this many ms after
  // the exchange's event time; 0 = never.
  std::uint32_t lag_warn_ms = 5'000;
  // coinbase: at most this many products with `level2` on one feed (one
  // connection; Coinbase refuses "too many L2 streams" above about 16).
  std::uint32_t level2_products_per_connection = 10;
  // coinbase: a CDP API key file (cdp_key.hpp); every subscribe and
  // unsubscribe then carries a fresh ES256 JWT signed with it. Empty = public
  // (no JWT). A relative path resolves like ca_file.
  std::string key_file;
};

// [simulator]: used when a feed url is "sim://".
struct SimulatorConfig {
  double rate = 1000.0;                 // mean messages per second (Poisson), > 0
  std::uint64_t seed = 1;
  std::uint64_t count = 0;              // stop after this many messages; 0 = unlimited
  // A capture file (docs/feeds.md, "Replay") to send instead of a generated
  // market; "" = generate. A relative path resolves like journal.dir.
  std::string replay;
};

// [journal]: the mmap ring and the segment files behind it.
struct JournalConfig {
  std::string dir = "./data";
  std::size_t ring_bytes = 16u << 20;      // power of two, >= 64 KiB
  std::size_t segment_bytes = 256u << 20;  // >= 1 MiB
  bool roll_daily_utc = true;
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  std::uint32_t fsync_interval_ms = 100;   // >= 1
  FullPolicy full_policy = FullPolicy::kBlock;
  std::uint32_t batch_records = 64;        // >= 1
  std::uint32_t batch_us = 100;
};

// [status]: the periodic status line.
struct StatusConfig {
  std::uint32_t interval_ms = 1000;   // status line period on a terminal, >= 50
  std::uint32_t heartbeat_ms = 1000;  // Status heartbeat record per feed; 0 = none
  // The feed thread's stage durations (the stage table, /metrics, --hgrm-dir)
  // are taken on one market frame in this many, 1..65536; 1 = every frame.
  // 16: the stamps cost 1.4-2.5% of the feed thread's CPU at full rate, where
  // every frame cost 10-15% (bench/RESULTS.md, "The profiler at one frame in 16").
  std::uint32_t stage_sample = 16;
  // A BookSnapshot record of every synced book this often (journaled and
  // published), so a late reader rebuilds books from the nearest one
  // (`replay --from T --books`); 0 = only after each (re)sync. 0 or >= 100.
  std::uint32_t book_snapshot_interval_ms = 60'000;
  // Without a terminal on stderr there is no status line; instead one
  // structured "status" log line every log_interval_ms (0 = none).
  std::uint32_t log_interval_ms = 60'000;
};

// [metrics]: the HTTP endpoint serving /metrics, /healthz and /readyz on its
// own thread.
struct MetricsConfig {
  std::string listen = "127.0.0.1:9464";       // "host:port" (IPv4 or [IPv6]); "" = no endpoint
  std::uint32_t max_connections = 16;          // more at once are closed unanswered, >= 1
  std::uint32_t max_header_bytes = 8192;       // larger request headers get 431, >= 256
  std::uint32_t request_timeout_ms = 5000;     // a request not read and answered by then is dropped, >= 1
  std::uint64_t ready_max_durable_lag = 100'000;  // /readyz: records stamped but not yet durable, >= 1
  std::uint32_t ready_max_silence_ms = 15'000;    // /readyz: a feed silent this long is not ready; 0 = off
  std::uint32_t liveness_timeout_ms = 10'000;  // /healthz: a thread silent this long is stuck, >= 100
};

// [log]: the process log on stderr.
enum class LogFormat { kText, kJson };
struct LogConfig {
  LogFormat format = LogFormat::kText;  // "text" (one readable line) | "json" (one object per line)
};

// [threads]: where the connector's threads run. A core list pins the thread
// (feed, flusher) or each scheduler worker in turn; an empty list is "any".
struct ThreadsConfig {
  std::vector<int> feed_cores;
  std::vector<int> flusher_cores;
  std::vector<int> scheduler_cores;
  std::uint32_t scheduler_workers = 1;  // background work: status, heartbeats, clock re-sync
  bool affinity_required = true;        // a core that cannot be used stops the start (false: warn, run unpinned)
  std::uint32_t realtime_priority = 0;  // 1..99: SCHED_FIFO for the feed thread where permitted (warned if not)
  // The feed thread polls its sockets without sleeping (one core busy all the
  // time) instead of waiting in epoll_wait: no wake-up between frames.
  bool feed_spin = false;
};

// [publish]: where `tickwire run` publishes every record, live. Each target
// gets every record with the Envelope's sequence; a target that cannot keep
// up is counted, never waited for.
enum class PublishKind { kInProcess, kShm, kNats };
struct PublishTarget {
  PublishKind kind = PublishKind::kInProcess;
  std::string spec;  // as written: "inproc", "shm:NAME", "nats://HOST:PORT"
  std::string name;  // shm: the file /dev/shm/NAME (a NAME with a '/' is a path); nats: the URL
};
struct ShmPublishConfig {
  std::size_t ring_bytes = 16u << 20;  // ring data bytes, a power of two, 64 KiB..4 GiB
  std::uint32_t mode = 0640;           // permissions of the file ("0640")
  std::string group;                   // group owner of the file (name); empty = the process's
};
struct NatsPublishConfig {
  bool jetstream = false;               // publish into a JetStream stream (created if absent)
  std::string stream = "TICKWIRE";      // its name
  std::uint64_t max_age_s = 0;          // its retention limits (0 = unlimited)
  std::uint64_t max_bytes = 0;
  std::uint64_t max_msgs = 0;
  bool file_storage = true;             // false: memory storage
  std::string user, password;           // user/password authentication (both or neither)
  std::string token;                    // token authentication
  std::string credentials_file;         // a .creds file (JWT + NKey seed)
  std::string tls_ca;                   // CA bundle: connect with TLS and verify the server against it
  std::size_t reconnect_buffer_bytes = 8u << 20;  // held by nats.c while disconnected
  bool send_asap = false;               // write each record to the socket at once (lower latency, a write each)
  std::size_t queue_bytes = 16u << 20;  // feed thread -> NATS publisher thread ring, a power of two
};
struct PublishConfig {
  std::vector<PublishTarget> to;  // empty: publish nowhere (the journal still gets everything)
  ShmPublishConfig shm;
  NatsPublishConfig nats;
};

struct Config {
  std::string env = "dev";              // first subject token ([a-z0-9_-]+)
  std::vector<FeedConfig> feeds;        // at least one
  SimulatorConfig simulator;
  JournalConfig journal;
  StatusConfig status;
  ThreadsConfig threads;
  MetricsConfig metrics;
  LogConfig log;
  PublishConfig publish;
  std::string source;                   // the file name (or "<string>") the config came from
};

// kRedacted: what to_toml prints for a set password or token.
inline constexpr std::string_view kRedacted = "<redacted>";

// load_file: reads and validates a TOML file. Bad content is InvalidArgument,
// "<file>:<line>: <key path>: expected ..., got ..." (a syntax error adds the
// column); an unreadable file is NotFound, PermissionDenied or Unknown,
// "<file>: cannot read: <strerror>". A relative journal.dir (or ca_file, or
// key_file) resolves against the file's directory.
absl::StatusOr<Config> load_file(const std::filesystem::path& path);

// EnvOverride: one TICKWIRE_<SECTION>_<KEY>=value variable.
struct EnvOverride {
  std::string name;   // "TICKWIRE_JOURNAL_DIR"
  std::string value;
};

// environment_overrides: the process environment's TICKWIRE_* variables,
// except the ones the project's scripts and tests use for themselves
// (TICKWIRE_SETUP_*, TICKWIRE_FUZZ_*, TICKWIRE_CRASH_*, TICKWIRE_SHM_*,
// TICKWIRE_TEST_*), in environment order.
std::vector<EnvOverride> environment_overrides();

// load_file with overrides: each variable replaces (or adds) one key, typed
// and validated like the file: TICKWIRE_ENV, TICKWIRE_<SECTION>_<KEY>
// (TICKWIRE_JOURNAL_RING_BYTES -> journal.ring_bytes) and
// TICKWIRE_FEEDS_<N>_<KEY> (feeds[N].key). The value is read as a TOML value
// (42, true, "text", [1, 2]); anything that is not one is a string, and so is
// any value for a key the file holds as a string. An error names the
// variable: "$TICKWIRE_JOURNAL_RING_BYTES: journal.ring_bytes: expected ...";
// an unknown variable with the prefix is an error. A relative journal.dir
// from the file resolves against the file's directory; from a variable,
// against the working directory.
absl::StatusOr<Config> load_file(const std::filesystem::path& path,
                                 const std::vector<EnvOverride>& overrides);

// to_toml: the effective configuration, every key with its value (defaults
// included), as a TOML document that load_string() reads back to the same
// Config, except that a set publish.nats password or token prints as
// kRedacted (a printed configuration is shared; its secrets are not).
std::string to_toml(const Config& config);

// load_string: as load_file, with `source_name` standing in for the file name
// in errors and in Config::source.
absl::StatusOr<Config> load_string(std::string_view toml, std::string_view source_name);

// to_string: the TOML spelling of a policy ("none", "interval", "block", ...).
std::string_view to_string(FsyncPolicy policy);
std::string_view to_string(FullPolicy policy);
std::string_view to_string(LogFormat format);

}  // namespace tickwire::config
