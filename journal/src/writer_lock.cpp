#include "tickwire/journal/writer_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <string>

namespace tickwire::journal {
namespace {

// holder_pid: the pid written in the lock file, 0 if none can be read.
pid_t holder_pid(int fd) {
  std::array<char, 32> text{};
  const ssize_t got = ::pread(fd, text.data(), text.size() - 1, 0);
  if (got <= 0) return 0;
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + got, pid);
  return ec == std::errc() && pid > 0 ? pid : 0;
}

std::string holder_text(pid_t pid) { return pid > 0 ? fmt::format("process {}", pid) : std::string("another process"); }

}  // namespace

absl::StatusOr<WriterLock> WriterLock::acquire(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / kLockName;
  // Not through io::open_file's fault hook: the lock is not storage of records,
  // and a test failing every "open" means the segment and ring files.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) {
      return absl::PermissionDeniedError(fmt::format(
          "{}: open: is a symbolic link; journal files are never opened through a link (remove it)", path.string()));
    }
    return io::errno_status(err, "open", path);
  }
  io::File file(fd, path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) return io::errno_status(err, "flock", path);
    return absl::FailedPreconditionError(fmt::format(
        "{}: the journal is being written by {} (it holds {}); a journal has one writer: stop it first",
        dir.string(), holder_text(holder_pid(fd)), path.string()));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (auto s = file.truncate(0); !s.ok()) return s;
  if (auto s = file.write_at(0, std::as_bytes(std::span(pid.data(), pid.size()))); !s.ok()) return s;
  return WriterLock(std::move(file));
}

std::optional<pid_t> WriterLock::writer(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / kLockName;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;  // no lock file: no writer since it was made
  io::File file(fd, path);
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) return std::nullopt;  // released with the descriptor
  if (errno != EWOULDBLOCK) return std::nullopt;
  return holder_pid(fd);
}

}  // namespace tickwire::journal
