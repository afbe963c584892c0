// The journal's storage system calls, in one place so tests can fail any of
// them on demand (full disk, EIO) and so every error message has the same
// shape: "<path>: <operation>: <strerror> (<errno name>)". Thin wrappers: no cost but a
// relaxed load of the hook pointer per call, and never on the producer path.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace tickwire::journal::io {

// FaultHook: called before each storage operation with its name ("open",
// "fallocate", "ftruncate", "pwrite", "fdatasync", "fsync_dir", "rename",
// "unlink", "mmap") and the path; returns 0 to let it run or an errno value
// with which it fails instead. Tests only; one hook per process.
using FaultHook = int (*)(std::string_view op, const std::filesystem::path& path);
void set_fault_hook(FaultHook hook) noexcept;

// errno_status: "<path>: <op>: <strerror(err)> (<errno name>)", mapped to an absl code.
absl::Status errno_status(int err, std::string_view op, const std::filesystem::path& path);

// message: a status message as std::string_view (Debian's absl::string_view is its own type).
inline std::string_view message(const absl::Status& s) { return {s.message().data(), s.message().size()}; }

// An owned file descriptor.
class File {
 public:
  File() = default;
  explicit File(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }

  absl::StatusOr<std::uint64_t> size() const;
  absl::Status allocate(std::uint64_t bytes);  // fallocate: blocks reserved, no ENOSPC later
  absl::Status truncate(std::uint64_t bytes);
  absl::Status write_at(std::uint64_t offset, std::span<const std::byte> data);
  // Reads up to data.size() bytes; returns how many (fewer only at end of file).
  absl::StatusOr<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> data) const;
  absl::Status sync_data();  // fdatasync
  // drop_cache: asks the kernel to free the file's clean page-cache pages
  // (POSIX_FADV_DONTNEED); pages still mapped or dirty stay.
  void drop_cache() noexcept;
  absl::Status close();
  // set_path: the same descriptor under a new path (after rename(2)).
  void set_path(std::filesystem::path path) { path_ = std::move(path); }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// open(2) with O_CLOEXEC and O_NOFOLLOW added: a journal file is never opened
// through a symbolic link (one planted in the directory is refused, its target
// untouched). New files are made with O_CREAT | O_EXCL by the callers.
absl::StatusOr<File> open_file(const std::filesystem::path& path, int flags, mode_t mode = 0640);
// rename(2) alone: the caller fsyncs the directory (sync_directory) after a group of renames.
absl::Status rename_file(const std::filesystem::path& from, const std::filesystem::path& to);
// rename(2) then fsync of the directory, so the new name survives a power cut.
absl::Status rename_durable(const std::filesystem::path& from, const std::filesystem::path& to);
absl::Status sync_directory(const std::filesystem::path& dir);
absl::Status remove_file(const std::filesystem::path& path);
// make_journal_directory: creates `dir` (and missing parents) if absent, the
// directory itself with mode 0750 whatever the umask; then refuses a `dir`
// that is not a directory or that group or others may write to (they could
// plant files or links under the names the journal opens).
absl::Status make_journal_directory(const std::filesystem::path& dir);

// A shared memory mapping of a file, unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  // Maps [0, bytes) of the file; writable maps read-write, else read-only.
  static absl::StatusOr<Mapping> map(const File& file, std::size_t bytes, bool writable);

  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tickwire::journal::io
