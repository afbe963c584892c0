// load_file/load_string: parse with toml++ (its exceptions stop here), then
// read the root table and each section through TableView, stopping at the
// first error.
#include "tickwire/config/config.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "sections.hpp"

namespace tickwire::config {
namespace {

using detail::Presence;
using detail::TableView;

constexpr std::uint64_t kMinRingBytes = 64u << 10;
constexpr std::uint64_t kMinSegmentBytes = 1u << 20;
constexpr std::uint64_t kMaxJournalBytes = std::uint64_t{1} << 40;
constexpr std::uint32_t kMinStatusIntervalMs = 50;

// Reads the optional table `key` of `root` with `read` when it is present.
template <typename Read>
absl::Status read_section(const TableView& root, std::string_view key, Read read) {
  auto table = root.subtable(key);
  if (!table.ok()) return table.status();
  if (*table == nullptr) return absl::OkStatus();
  return read(TableView(**table, std::string(key), root.source()));
}

absl::Status read_simulator(const TableView& t, SimulatorConfig& sim) {
  if (auto s = t.check_known({"rate", "seed", "count"}); !s.ok()) return s;
  if (auto s = t.read_positive("rate", sim.rate); !s.ok()) return s;
  const auto kMax = std::numeric_limits<std::uint64_t>::max();
  if (auto s = t.read_uint("seed", sim.seed, 0, kMax); !s.ok()) return s;
  return t.read_uint("count", sim.count, 0, kMax);
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
  if (auto s = t.check_known({"interval_ms", "heartbeat_ms"}); !s.ok()) return s;
  if (auto s = t.read_uint32("interval_ms", status.interval_ms, kMinStatusIntervalMs); !s.ok()) return s;
  return t.read_uint32("heartbeat_ms", status.heartbeat_ms, 0);
}

absl::Status read_root(const TableView& root, Config& config) {
  if (auto s = root.check_known({"env", "feeds", "simulator", "journal", "status", "threads", "publish"}); !s.ok()) {
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
  if (auto s = read_section(root, "threads",
                            [&](const TableView& t) { return detail::read_threads(t, config.threads); });
      !s.ok()) {
    return s;
  }
  return read_section(root, "publish", [&](const TableView& t) { return detail::read_publish(t, config.publish); });
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

absl::StatusOr<Config> load_file(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return read_error(path, errno);
  std::string text;
  char buffer[1 << 14];
  std::size_t n = 0;
  errno = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, n);
  if (std::ferror(file.get())) return read_error(path, errno != 0 ? errno : EIO);
  return load_string(text, path.string());
}

absl::StatusOr<Config> load_string(std::string_view toml, std::string_view source_name) {
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
  if (auto s = read_root(TableView(document, "", config.source), config); !s.ok()) return s;
  return config;
}

std::string_view to_string(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kNone: return "none";
    case FsyncPolicy::kInterval: return "interval";
    case FsyncPolicy::kBatch: return "batch";
  }
  return "unknown";
}

std::string_view to_string(FullPolicy policy) {
  switch (policy) {
    case FullPolicy::kBlock: return "block";
    case FullPolicy::kDrop: return "drop";
  }
  return "unknown";
}

}  // namespace tickwire::config
