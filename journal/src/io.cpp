#include "tickwire/journal/io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

namespace tickwire::journal::io {
namespace {

// Set by a test before the journal runs; read on every storage call.
std::atomic<FaultHook> g_hook{nullptr};

// Returns the errno the hook injects for this call, or 0.
int injected(std::string_view op, const std::filesystem::path& path) {
  // relaxed: the hook is installed before the threads that call it start.
  FaultHook hook = g_hook.load(std::memory_order_relaxed);
  return hook != nullptr ? hook(op, path) : 0;
}

}  // namespace

void set_fault_hook(FaultHook hook) noexcept {
  // relaxed: see injected().
  g_hook.store(hook, std::memory_order_relaxed);
}

absl::Status errno_status(int err, std::string_view op, const std::filesystem::path& path) {
  const char* name = ::strerrorname_np(err);  // "ENOSPC": what a reader greps for
  std::string msg = name != nullptr ? fmt::format("{}: {}: {} ({})", path.string(), op, std::strerror(err), name)
                                    : fmt::format("{}: {}: {}", path.string(), op, std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

File::File(File&& other) noexcept : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::uint64_t> File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return errno_status(errno, "fstat", path_);
  return static_cast<std::uint64_t>(st.st_size);
}

absl::Status File::allocate(std::uint64_t bytes) {
  if (int e = injected("fallocate", path_)) return errno_status(e, "fallocate", path_);
  int rc = ::posix_fallocate(fd_, 0, static_cast<off_t>(bytes));
  if (rc != 0) return errno_status(rc, "fallocate", path_);
  return absl::OkStatus();
}

absl::Status File::truncate(std::uint64_t bytes) {
  if (int e = injected("ftruncate", path_)) return errno_status(e, "ftruncate", path_);
  if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) return errno_status(errno, "ftruncate", path_);
  return absl::OkStatus();
}

absl::Status File::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  if (int e = injected("pwrite", path_)) return errno_status(e, "pwrite", path_);
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, "pwrite", path_);
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::size_t> File::read_at(std::uint64_t offset, std::span<std::byte> data) const {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, "pread", path_);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

absl::Status File::sync_data() {
  if (int e = injected("fdatasync", path_)) return errno_status(e, "fdatasync", path_);
  if (::fdatasync(fd_) != 0) return errno_status(errno, "fdatasync", path_);
  return absl::OkStatus();
}

void File::drop_cache() noexcept {
  // Advice only: the pages are clean (synced) and the bytes stay on disk, so a
  // failure costs nothing but the memory; no hook, no error.
  (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
}

absl::Status File::close() {
  if (fd_ < 0) return absl::OkStatus();
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return errno_status(errno, "close", path_);
  return absl::OkStatus();
}

absl::StatusOr<File> open_file(const std::filesystem::path& path, int flags, mode_t mode) {
  if (int e = injected("open", path)) return errno_status(e, "open", path);
  int fd = ::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) {
      return absl::PermissionDeniedError(fmt::format(
          "{}: open: is a symbolic link; journal files are never opened through a link (remove it)", path.string()));
    }
    if (err == EEXIST && (flags & O_EXCL) != 0) {
      return absl::AlreadyExistsError(fmt::format(
          "{}: open: a file of this name already exists where the journal creates a new one; the journal never "
          "writes through a file it did not create (remove it)",
          path.string()));
    }
    return errno_status(err, "open", path);
  }
  return File(fd, path);
}

absl::Status sync_directory(const std::filesystem::path& dir) {
  if (int e = injected("fsync_dir", dir)) return errno_status(e, "fsync", dir);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, "open", dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return errno_status(err, "fsync", dir);
  return absl::OkStatus();
}

absl::Status rename_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (int e = injected("rename", to)) return errno_status(e, "rename", to);
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_status(errno, "rename", to);
  return absl::OkStatus();
}

absl::Status rename_durable(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (auto s = rename_file(from, to); !s.ok()) return s;
  return sync_directory(to.parent_path());
}

absl::Status remove_file(const std::filesystem::path& path) {
  if (int e = injected("unlink", path)) return errno_status(e, "unlink", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_status(errno, "unlink", path);
  return absl::OkStatus();
}

absl::Status make_journal_directory(const std::filesystem::path& dir) {
  constexpr mode_t kMode = 0750;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_status(errno, "stat", dir);
    std::error_code ec;
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) return errno_status(ec.value(), "create directory", dir.parent_path());
    if (::mkdir(dir.c_str(), kMode) == 0) {
      // mkdir's mode passes through the umask (0777 under umask 000): set it outright.
      if (::chmod(dir.c_str(), kMode) != 0) return errno_status(errno, "chmod", dir);
    } else if (errno != EEXIST) {
      return errno_status(errno, "mkdir", dir);
    }
    if (::stat(dir.c_str(), &st) != 0) return errno_status(errno, "stat", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(fmt::format("{}: the journal directory is not a directory", dir.string()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::PermissionDeniedError(fmt::format(
        "{}: the journal directory is writable by {} (mode {:04o}); whoever can write there can plant links or "
        "files under the names the journal opens. Run `chmod go-w {}` (the journal creates its directory 0750)",
        dir.string(), (st.st_mode & S_IWOTH) != 0 ? "others" : "its group", st.st_mode & 07777, dir.string()));
  }
  return absl::OkStatus();
}

Mapping::Mapping(Mapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Mapping::~Mapping() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

absl::StatusOr<Mapping> Mapping::map(const File& file, std::size_t bytes, bool writable) {
  Mapping m;
  if (bytes == 0) return m;
  if (int e = injected("mmap", file.path())) return errno_status(e, "mmap", file.path());
  int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  void* p = ::mmap(nullptr, bytes, prot, MAP_SHARED, file.fd(), 0);
  if (p == MAP_FAILED) return errno_status(errno, "mmap", file.path());
  m.data_ = static_cast<std::byte*>(p);
  m.size_ = bytes;
  return m;
}

}  // namespace tickwire::journal::io
