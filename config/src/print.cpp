// to_toml: the effective Config as TOML, every key present (defaults
// included), for `tickwire config print`. Reading the output back with
// load_string() gives the same Config.
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "tickwire/config/config.hpp"

namespace tickwire::config {
namespace {

toml::array strings(const std::vector<std::string>& list) {
  toml::array out;
  for (const auto& s : list) out.push_back(s);
  return out;
}

// cores: "any" for an empty list, else the list.
void put_cores(toml::table& t, std::string_view key, const std::vector<int>& cores) {
  if (cores.empty()) {
    t.insert(key, "any");
    return;
  }
  toml::array list;
  for (int c : cores) list.push_back(c);
  t.insert(key, std::move(list));
}

// u64: an unsigned value as a TOML integer (int64). Every value was read
// from a TOML integer or is a default below 2^63, so it fits.
std::int64_t u64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

toml::table feed_table(const FeedConfig& f) {
  toml::table t;
  t.insert("name", f.name);
  t.insert("exchange", f.exchange);
  if (!f.category.empty()) t.insert("category", f.category);
  t.insert("url", f.url);
  t.insert("symbols", strings(f.symbols));
  t.insert("channels", strings(f.channels));
  t.insert("ca_file", f.ca_file);
  t.insert("verify_tls", f.verify_tls);
  t.insert("max_frame_bytes", u64(f.max_frame_bytes));
  t.insert("subscribe", f.subscribe);
  t.insert("rest_url", f.rest_url);
  t.insert("depth_limit", std::int64_t{f.depth_limit});
  t.insert("snapshot_on_reconnect", f.snapshot_on_reconnect);
  t.insert("time_unit", f.time_unit);
  t.insert("ping_interval_ms", std::int64_t{f.ping_interval_ms});
  t.insert("pong_timeout_ms", std::int64_t{f.pong_timeout_ms});
  t.insert("stale_after_ms", std::int64_t{f.stale_after_ms});
  t.insert("resubscribe_timeout_ms", std::int64_t{f.resubscribe_timeout_ms});
  t.insert("max_lifetime_s", u64(f.max_lifetime_s));
  t.insert("rollover_overlap_ms", std::int64_t{f.rollover_overlap_ms});
  t.insert("backoff_initial_ms", std::int64_t{f.backoff_initial_ms});
  t.insert("backoff_max_ms", std::int64_t{f.backoff_max_ms});
  t.insert("max_connects_per_5min", std::int64_t{f.max_connects_per_5min});
  if (f.exchange == "coinbase") t.insert("level2_products_per_connection", std::int64_t{f.level2_products_per_connection});
  if (!f.key_file.empty()) t.insert("key_file", f.key_file);
  return t;
}

// secret: what `config print` shows of a password or token: never the value.
std::string secret(const std::string& value) { return value.empty() ? std::string() : std::string(kRedacted); }

toml::table publish_table(const PublishConfig& p) {
  toml::array to;
  for (const auto& target : p.to) to.push_back(target.spec);
  toml::table shm;
  shm.insert("ring_bytes", u64(p.shm.ring_bytes));
  shm.insert("mode", fmt::format("{:04o}", p.shm.mode));
  shm.insert("group", p.shm.group);
  const NatsPublishConfig& n = p.nats;
  toml::table nats;
  nats.insert("jetstream", n.jetstream);
  nats.insert("stream", n.stream);
  nats.insert("max_age_s", u64(n.max_age_s));
  nats.insert("max_bytes", u64(n.max_bytes));
  nats.insert("max_msgs", u64(n.max_msgs));
  nats.insert("file_storage", n.file_storage);
  nats.insert("user", n.user);
  nats.insert("password", secret(n.password));
  nats.insert("token", secret(n.token));
  nats.insert("credentials_file", n.credentials_file);
  nats.insert("tls_ca", n.tls_ca);
  nats.insert("reconnect_buffer_bytes", u64(n.reconnect_buffer_bytes));
  nats.insert("queue_bytes", u64(n.queue_bytes));
  nats.insert("send_asap", n.send_asap);
  toml::table t;
  t.insert("to", std::move(to));
  t.insert("shm", std::move(shm));
  t.insert("nats", std::move(nats));
  return t;
}

}  // namespace

std::string to_toml(const Config& config) {
  toml::table root;
  root.insert("env", config.env);
  toml::array feeds;
  for (const auto& f : config.feeds) feeds.push_back(feed_table(f));
  root.insert("feeds", std::move(feeds));

  toml::table sim;
  sim.insert("rate", config.simulator.rate);
  sim.insert("seed", u64(config.simulator.seed));
  sim.insert("count", u64(config.simulator.count));
  if (!config.simulator.replay.empty()) sim.insert("replay", config.simulator.replay);
  root.insert("simulator", std::move(sim));

  const JournalConfig& j = config.journal;
  toml::table journal;
  journal.insert("dir", j.dir);
  journal.insert("ring_bytes", u64(j.ring_bytes));
  journal.insert("segment_bytes", u64(j.segment_bytes));
  journal.insert("roll_daily_utc", j.roll_daily_utc);
  journal.insert("fsync", std::string(to_string(j.fsync)));
  journal.insert("fsync_interval_ms", std::int64_t{j.fsync_interval_ms});
  journal.insert("full_policy", std::string(to_string(j.full_policy)));
  journal.insert("batch_records", std::int64_t{j.batch_records});
  journal.insert("batch_us", std::int64_t{j.batch_us});
  root.insert("journal", std::move(journal));

  toml::table status;
  status.insert("interval_ms", std::int64_t{config.status.interval_ms});
  status.insert("heartbeat_ms", std::int64_t{config.status.heartbeat_ms});
  status.insert("log_interval_ms", std::int64_t{config.status.log_interval_ms});
  status.insert("book_snapshot_interval_ms", std::int64_t{config.status.book_snapshot_interval_ms});
  status.insert("stage_sample", std::int64_t{config.status.stage_sample});
  root.insert("status", std::move(status));

  const MetricsConfig& m = config.metrics;
  toml::table metrics;
  metrics.insert("listen", m.listen);
  metrics.insert("max_connections", std::int64_t{m.max_connections});
  metrics.insert("max_header_bytes", std::int64_t{m.max_header_bytes});
  metrics.insert("request_timeout_ms", std::int64_t{m.request_timeout_ms});
  metrics.insert("ready_max_durable_lag", u64(m.ready_max_durable_lag));
  metrics.insert("ready_max_silence_ms", std::int64_t{m.ready_max_silence_ms});
  metrics.insert("liveness_timeout_ms", std::int64_t{m.liveness_timeout_ms});
  root.insert("metrics", std::move(metrics));

  toml::table log;
  log.insert("format", std::string(to_string(config.log.format)));
  root.insert("log", std::move(log));

  const ThreadsConfig& th = config.threads;
  toml::table threads;
  put_cores(threads, "feed_cores", th.feed_cores);
  put_cores(threads, "flusher_cores", th.flusher_cores);
  put_cores(threads, "scheduler_cores", th.scheduler_cores);
  threads.insert("scheduler_workers", std::int64_t{th.scheduler_workers});
  threads.insert("affinity_required", th.affinity_required);
  threads.insert("realtime_priority", std::int64_t{th.realtime_priority});
  threads.insert("feed_spin", th.feed_spin);
  root.insert("threads", std::move(threads));
  root.insert("publish", publish_table(config.publish));

  std::ostringstream out;
  out << fmt::format("# effective configuration of {} (defaults and TICKWIRE_* variables applied)\n",
                     config.source);
  out << toml::toml_formatter(root) << '\n';
  return out.str();
}

}  // namespace tickwire::config
