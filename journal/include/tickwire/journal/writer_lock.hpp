// WriterLock: one writer per journal directory. Journal::open and `tickwire
// recover` hold an exclusive flock(2) on `DIR/lock` for as long as they
// write; a second writer (another connector, or `recover` on a journal that
// is being written) is refused with the holder's pid instead of truncating or
// interleaving what the first one writes. The kernel drops the lock when its
// holder dies, so a SIGKILLed writer never leaves a stale lock behind.
// Readers (verify, replay, tail) take no lock; examine asks writer() to tell
// a live journal's last segment (being written) from a crashed one's.
#pragma once

#include <absl/status/statusor.h>

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "tickwire/journal/io.hpp"

namespace tickwire::journal {

inline constexpr const char* kLockName = "lock";

class WriterLock {
 public:
  WriterLock() = default;

  // acquire: creates DIR/lock if absent (never through a link), takes the
  // exclusive lock without waiting and writes this process's pid into it.
  // An error naming the holder's pid when another process writes DIR.
  static absl::StatusOr<WriterLock> acquire(const std::filesystem::path& dir);

  // writer: the pid of the process holding DIR's lock (0 if it wrote none),
  // nullopt when no process writes DIR. Takes no lock and creates nothing.
  static std::optional<pid_t> writer(const std::filesystem::path& dir);

  bool held() const { return file_.is_open(); }

 private:
  explicit WriterLock(io::File file) : file_(std::move(file)) {}
  io::File file_;  // the lock lives as long as this descriptor
};

}  // namespace tickwire::journal
