#include "tickwire/connector/journal_volume.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace tickwire::connector {
namespace {

std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1u << 20)); }

std::string what_to_do() {
  return fmt::format(
      "make it writable for uid {} gid {} (for a bind-mounted host directory: chown {}:{} on the host "
      "directory), or set journal.dir / TICKWIRE_JOURNAL_DIR to a directory it can write",
      ::getuid(), ::getgid(), ::getuid(), ::getgid());
}

}  // namespace

std::uint64_t journal_reservation(const config::JournalConfig& journal, const std::filesystem::path& dir) {
  std::error_code ec;
  bool has_ring = std::filesystem::exists(dir / "ring", ec);
  bool has_segment = false, has_spare = false;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    has_spare = has_spare || name.starts_with(".spare-");
    has_segment = has_segment || it->path().extension() == ".seg";
  }
  return (has_ring ? 0 : journal.ring_bytes) + (has_segment ? 0 : journal.segment_bytes) +
         (has_spare ? 0 : journal.segment_bytes);
}

absl::Status check_journal_volume(const config::JournalConfig& journal) {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::absolute(journal.dir, ec).lexically_normal();
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    const auto message = fmt::format("journal directory {}: cannot create it: {}; {}", dir.string(), ec.message(),
                                     what_to_do());
    return ec == std::errc::permission_denied ? absl::PermissionDeniedError(message)
                                              : absl::FailedPreconditionError(message);
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::PermissionDeniedError(fmt::format("journal directory {}: not writable: {}; {}", dir.string(),
                                                   std::strerror(errno), what_to_do()));
  }
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return absl::OkStatus();  // unknown: the journal reports what fails
  const std::uint64_t available = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  const std::uint64_t needed = journal_reservation(journal, dir);
  if (available < needed) {
    return absl::FailedPreconditionError(fmt::format(
        "journal directory {}: {} free, but the configuration reserves {} more (ring_bytes {}, segment_bytes {} "
        "for the segment written and again for the spare prepared beside it); free space, use a larger volume, "
        "or lower journal.ring_bytes / journal.segment_bytes",
        dir.string(), mib(available), mib(needed), mib(journal.ring_bytes), mib(journal.segment_bytes)));
  }
  return absl::OkStatus();
}

}  // namespace tickwire::connector
