// load_file/load_string: parse with toml++ (its exceptions stop here), then
// read the root table and each section through TableView, stopping at the
// first error.
#include "tickwire/config/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "sections.hpp"
#include "tickwire/config/cdp_key.hpp"

namespace tickwire::config {
namespace {

using detail::Presence;
using detail::TableView;

constexpr std::uint64_t kMinRingBytes = 64u << 10;
constexpr std::uint64_t kMinSegmentBytes = 1u << 20;
constexpr std::uint64_t kMaxJournalBytes = std::uint64_t{1} << 40;
constexpr std::uint32_t kMinStatusIntervalMs = 50;
constexpr std::uint32_t kMinBookSnapshotIntervalMs = 100;
constexpr std::uint32_t kMaxStageSample = 65536;

// Reads the optional table `key` of `root` with `read` when it is present.
template <typename Read>
absl::Status read_section(const TableView& root, std::string_view key, Read read) {
  auto table = root.subtable(key);
  if (!table.ok()) return table.status();
  if (*table == nullptr) return absl::OkStatus();
  return read(TableView(**table, std::string(key), root.source()));
}

absl::Status read_simulator(const TableView& t, SimulatorConfig& sim) {
  if (auto s = t.check_known({"rate", "seed", "count", "replay"}); !s.ok()) return s;
  if (auto s = t.read_positive("rate", sim.rate); !s.ok()) return s;
  const auto kMax = std::numeric_limits<std::uint64_t>::max();
  if (auto s = t.read_uint("seed", sim.seed, 0, kMax); !s.ok()) return s;
  if (auto s = t.read_uint("count", sim.count, 0, kMax); !s.ok()) return s;
  if (auto s = t.read_string("replay", sim.replay, Presence::kOptional); !s.ok()) return s;
  if (t.table().contains("replay") && sim.replay.empty()) {
    return t.invalid("replay", "expected a capture file path, got \"\" (leave the key out to generate a market)");
  }
  if (sim.replay.find('\0') != std::string::npos) {
    return t.invalid("replay", "expected a capture file path, got a string with a NUL byte");
  }
  return absl::OkStatus();
}

absl::Status read_journal_sizes(const TableView& t, JournalConfig& journal) {
  if (auto s = t.read_size("ring_bytes", journal.ring_bytes, kMinRingBytes, kMaxJournalBytes);
      !s.ok()) {
    return s;
  }
  if ((journal.ring_bytes & (journal.ring_bytes - 1)) != 0) {
    return t.invalid("ring_bytes", fmt::format("expected a power of two, got {} bytes",
                                               journal.ring_bytes));
  }
  return t.read_size("segment_bytes", journal.segment_bytes, kMinSegmentBytes, kMaxJournalBytes);
}

absl::Status read_journal(const TableView& t, JournalConfig& journal) {
  if (auto s = t.check_known({"dir", "ring_bytes", "segment_bytes", "roll_daily_utc", "fsync",
                              "fsync_interval_ms", "full_policy", "batch_records", "batch_us"});
      !s.ok()) {
    return s;
  }
  if (auto s = t.read_string("dir", journal.dir, Presence::kOptional); !s.ok()) return s;
  if (journal.dir.empty()) return t.invalid("dir", "expected a directory path, got \"\"");
  if (journal.dir.find('\0') != std::string::npos) {
    return t.invalid("dir", "expected a directory path, got a string with a NUL byte");
  }
  if (auto s = read_journal_sizes(t, journal); !s.ok()) return s;
  if (auto s = t.read_bool("roll_daily_utc", journal.roll_daily_utc); !s.ok()) return s;
  std::size_t fsync = static_cast<std::size_t>(journal.fsync);
  if (auto s = t.read_choice("fsync", {"none", "interval", "batch"}, fsync); !s.ok()) return s;
  journal.fsync = static_cast<FsyncPolicy>(fsync);
  if (auto s = t.read_uint32("fsync_interval_ms", journal.fsync_interval_ms, 1); !s.ok()) return s;
  std::size_t full = static_cast<std::size_t>(journal.full_policy);
  if (auto s = t.read_choice("full_policy", {"block", "drop"}, full); !s.ok()) return s;
  journal.full_policy = static_cast<FullPolicy>(full);
  if (auto s = t.read_uint32("batch_records", journal.batch_records, 1); !s.ok()) return s;
  return t.read_uint32("batch_us", journal.batch_us, 0);
}

absl::Status read_status(const TableView& t, StatusConfig& status) {
  if (auto s = t.check_known(
          {"interval_ms", "heartbeat_ms", "log_interval_ms", "book_snapshot_interval_ms", "stage_sample"});
      !s.ok()) {
    return s;
  }
  if (auto s = t.read_uint32("stage_sample", status.stage_sample, 1); !s.ok()) return s;
  if (status.stage_sample > kMaxStageSample) {
    return t.invalid("stage_sample",
                     fmt::format("expected 1 to {} (one frame in this many), got {}", kMaxStageSample,
                                 status.stage_sample));
  }
  if (auto s = t.read_uint32("interval_ms", status.interval_ms, kMinStatusIntervalMs); !s.ok()) return s;
  if (auto s = t.read_uint32("heartbeat_ms", status.heartbeat_ms, 0); !s.ok()) return s;
  if (auto s = t.read_uint32("book_snapshot_interval_ms", status.book_snapshot_interval_ms, 0); !s.ok()) return s;
  if (status.book_snapshot_interval_ms != 0 && status.book_snapshot_interval_ms < kMinBookSnapshotIntervalMs) {
    return t.invalid("book_snapshot_interval_ms",
                     fmt::format("expected 0 (off) or at least {} ms, got {}", kMinBookSnapshotIntervalMs,
                                 status.book_snapshot_interval_ms));
  }
  return t.read_uint32("log_interval_ms", status.log_interval_ms, 0);
}

// listen_error: why `listen` is not "" or "host:port" (IPv4, name or [IPv6]).
std::string listen_error(std::string_view listen) {
  if (listen.empty()) return {};
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return "expected \"host:port\" or \"\" (off)";
  const std::string_view host = listen.substr(0, colon);
  const std::string_view port = listen.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return "expected a port 0..65535 after the last ':'";
  }
  if (host.find(':') != std::string_view::npos && !(host.front() == '[' && host.back() == ']')) {
    return "an IPv6 host goes in brackets: \"[::1]:9464\"";
  }
  return {};
}

absl::Status read_metrics(const TableView& t, MetricsConfig& metrics) {
  if (auto s = t.check_known({"listen", "max_connections", "max_header_bytes", "request_timeout_ms",
                              "ready_max_durable_lag", "ready_max_silence_ms", "liveness_timeout_ms"});
      !s.ok()) {
    return s;
  }
  if (auto s = t.read_string("listen", metrics.listen, Presence::kOptional); !s.ok()) return s;
  if (const std::string why = listen_error(metrics.listen); !why.empty()) {
    return t.invalid("listen", fmt::format("{}, got {:?}", why, metrics.listen));
  }
  std::uint64_t connections = metrics.max_connections;
  if (auto s = t.read_uint("max_connections", connections, 1, 1024); !s.ok()) return s;
  metrics.max_connections = static_cast<std::uint32_t>(connections);
  std::uint64_t header = metrics.max_header_bytes;
  if (auto s = t.read_uint("max_header_bytes", header, 256, 1u << 20); !s.ok()) return s;
  metrics.max_header_bytes = static_cast<std::uint32_t>(header);
  if (auto s = t.read_uint32("request_timeout_ms", metrics.request_timeout_ms, 1); !s.ok()) return s;
  if (auto s = t.read_uint("ready_max_durable_lag", metrics.ready_max_durable_lag, 1,
                           std::numeric_limits<std::uint64_t>::max());
      !s.ok()) {
    return s;
  }
  if (auto s = t.read_uint32("ready_max_silence_ms", metrics.ready_max_silence_ms, 0); !s.ok()) return s;
  return t.read_uint32("liveness_timeout_ms", metrics.liveness_timeout_ms, 100);
}

absl::Status read_log(const TableView& t, LogConfig& log) {
  if (auto s = t.check_known({"format"}); !s.ok()) return s;
  std::size_t format = static_cast<std::size_t>(log.format);
  if (auto s = t.read_choice("format", {"text", "json"}, format); !s.ok()) return s;
  log.format = static_cast<LogFormat>(format);
  return absl::OkStatus();
}

absl::Status read_root(const TableView& root, Config& config) {
  if (auto s = root.check_known({"env", "feeds", "simulator", "journal", "status", "threads", "metrics", "log", "publish"});
      !s.ok()) {
    return s;
  }
  if (auto s = root.read_string("env", config.env, Presence::kOptional); !s.ok()) return s;
  if (!detail::is_subject_token(config.env)) {
    return root.invalid("env", fmt::format("expected a subject token ([a-z0-9_-]+), got {:?}",
                                           config.env));
  }
  if (auto s = detail::read_feeds(root, config.feeds); !s.ok()) return s;
  if (auto s = read_section(root, "simulator",
                            [&](const TableView& t) { return read_simulator(t, config.simulator); });
      !s.ok()) {
    return s;
  }
  if (auto s = read_section(root, "journal",
                            [&](const TableView& t) { return read_journal(t, config.journal); });
      !s.ok()) {
    return s;
  }
  if (auto s = read_section(root, "status",
                            [&](const TableView& t) { return read_status(t, config.status); });
      !s.ok()) {
    return s;
  }
  if (auto s = read_section(root, "metrics",
                            [&](const TableView& t) { return read_metrics(t, config.metrics); });
      !s.ok()) {
    return s;
  }
  if (auto s = read_section(root, "log", [&](const TableView& t) { return read_log(t, config.log); }); !s.ok()) {
    return s;
  }
  if (auto s = read_section(root, "threads",
                            [&](const TableView& t) { return detail::read_threads(t, config.threads); });
      !s.ok()) {
    return s;
  }
  return read_section(root, "publish", [&](const TableView& t) { return detail::read_publish(t, config.publish); });
}

// from_environment: whether the value at `node` came from a TICKWIRE_* variable.
bool from_environment(const toml::node* node) {
  return node != nullptr && node->source().path != nullptr && node->source().path->starts_with('$');
}

// resolve: a relative path from the file resolves against the file's
// directory; one from a variable (or a string config) against the working directory.
std::string resolve(const std::string& path, const toml::node* node, const std::filesystem::path* base_dir) {
  if (base_dir == nullptr || base_dir->empty() || from_environment(node) || path.empty() ||
      std::filesystem::path(path).is_absolute()) {
    return path;
  }
  return (*base_dir / path).lexically_normal().string();
}

// unreadable_file: why `path` cannot be read as a regular file, or "" if it can.
std::string unreadable_file(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || ::access(path.c_str(), R_OK) != 0) {
    return fmt::format("cannot read the {} {}: {}", what, path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return fmt::format("{} is not a file (expected the {})", path, what);
  return {};
}

// resolve_paths: journal.dir, simulator.replay and every feed's ca_file and
// key_file, then checks that each file can be read (a CA bundle that is
// missing fails every connection attempt for ever; it is a configuration
// error, and so is a capture that cannot be replayed or a key that cannot sign).
absl::Status resolve_paths(const toml::table& document, std::string_view source,
                           const std::filesystem::path* base_dir, Config& config) {
  config.journal.dir = resolve(config.journal.dir, document.at_path("journal.dir").node(), base_dir);
  const toml::table* sim = document.get_as<toml::table>("simulator");
  if (sim != nullptr && !config.simulator.replay.empty()) {
    config.simulator.replay = resolve(config.simulator.replay, sim->get("replay"), base_dir);
    if (const std::string why = unreadable_file(config.simulator.replay, "capture"); !why.empty()) {
      return TableView(*sim, "simulator", source).invalid("replay", why);
    }
  }
  const toml::array* feeds = document.get_as<toml::array>("feeds");
  for (std::size_t i = 0; i < config.feeds.size(); ++i) {
    FeedConfig& feed = config.feeds[i];
    if (feeds == nullptr || i >= feeds->size()) continue;
    const toml::table& table = *feeds->get(i)->as_table();
    const TableView view(table, fmt::format("feeds[{}]", i), source);
    if (!feed.key_file.empty()) {
      feed.key_file = resolve(feed.key_file, table.get("key_file"), base_dir);
      if (auto key = read_cdp_key(feed.key_file); !key.ok()) {
        const auto why = key.status().message();  // absl's string_view (Debian's abseil)
        return view.invalid("key_file", std::string_view(why.data(), why.size()));
      }
    }
    if (feed.ca_file.empty()) continue;
    feed.ca_file = resolve(feed.ca_file, table.get("ca_file"), base_dir);
    struct stat st {};
    if (::stat(feed.ca_file.c_str(), &st) != 0 || ::access(feed.ca_file.c_str(), R_OK) != 0) {
      return view.invalid("ca_file", fmt::format("cannot read the CA bundle {}: {}", feed.ca_file,
                                                 std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) {
      return view.invalid("ca_file", fmt::format("{} is not a file (expected a PEM CA bundle)", feed.ca_file));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> load_document(std::string_view toml, std::string_view source_name,
                                     const std::vector<EnvOverride>& overrides,
                                     const std::filesystem::path* base_dir) {
  Config config;
  config.source = std::string(source_name);
  toml::table document;
  try {
    document = toml::parse(toml, source_name);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(fmt::format("{}:{}:{}: TOML syntax error: {}", source_name,
                                                  e.source().begin.line, e.source().begin.column,
                                                  e.description()));
  }
  if (auto s = detail::apply_overrides(document, overrides); !s.ok()) return s;
  if (auto s = read_root(TableView(document, "", config.source), config); !s.ok()) return s;
  if (auto s = resolve_paths(document, config.source, base_dir, config); !s.ok()) return s;
  return config;
}

absl::Status read_error(const std::filesystem::path& path, int error) {
  const std::string message = fmt::format("{}: cannot read: {}", path.string(), std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
  return absl::UnknownError(message);
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

absl::StatusOr<Config> load_file(const std::filesystem::path& path) { return load_file(path, {}); }

absl::StatusOr<Config> load_file(const std::filesystem::path& path, const std::vector<EnvOverride>& overrides) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return read_error(path, errno);
  std::string text;
  char buffer[1 << 14];
  std::size_t n = 0;
  errno = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, n);
  if (std::ferror(file.get())) return read_error(path, errno != 0 ? errno : EIO);
  const std::filesystem::path base_dir = path.parent_path();
  return load_document(text, path.string(), overrides, &base_dir);
}

absl::StatusOr<Config> load_string(std::string_view toml, std::string_view source_name) {
  return load_document(toml, source_name, {}, nullptr);
}

std::string_view to_string(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kNone: return "none";
    case FsyncPolicy::kInterval: return "interval";
    case FsyncPolicy::kBatch: return "batch";
  }
  return "unknown";
}

std::string_view to_string(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

std::string_view to_string(FullPolicy policy) {
  switch (policy) {
    case FullPolicy::kBlock: return "block";
    case FullPolicy::kDrop: return "drop";
  }
  return "unknown";
}

}  // namespace tickwire::config
