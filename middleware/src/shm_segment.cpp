#include "tickwire/middleware/shm_segment.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "absl/status/status.h"
#include "tickwire/middleware/parking.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace tickwire::middleware {
namespace {

using SL = ShmLayout;

// A read-only reader cannot announce itself in the waiters word, so the
// writer never wakes it: it re-checks at least this often instead.
constexpr auto kReadOnlyRecheck = std::chrono::milliseconds(1);

std::string errno_text(int err) { return std::strerror(err); }

absl::Status errno_status(const std::string& path, const char* what, int err) {
  return absl::UnavailableError(fmt::format("{}: {}: {}", path, what, errno_text(err)));
}

std::atomic_ref<std::uint64_t> word64(std::byte* base, std::size_t offset) noexcept {
  // Safety: offset is one of ShmLayout's 8-aligned header offsets, inside the
  // page-aligned mapping (at least kHeaderBytes, checked before any access).
  return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(base + offset));
}

std::atomic_ref<std::uint32_t> word32(std::byte* base, std::size_t offset) noexcept {
  // Safety: as word64, for the 4-aligned futex words at kNotifyOffset and kWaitersOffset.
  return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(base + offset));
}

static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free && std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "cross-process words must be lock-free");

// release_fence: orders the writer's "not ready" store before its re-format
// stores (the seqlock pattern with ready as the sequence). ThreadSanitizer
// rejects standalone fences; there every store involved is atomic and x86
// keeps stores in order, so a compiler barrier stands in.
inline void release_fence() noexcept {
#if defined(TICKWIRE_TSAN)
  std::atomic_signal_fence(std::memory_order_release);
#else
  std::atomic_thread_fence(std::memory_order_release);
#endif
}

bool valid_capacity(std::uint64_t capacity) {
  return std::has_single_bit(capacity) && capacity >= BroadcastLayout::kMinCapacity &&
         capacity <= BroadcastLayout::kMaxCapacity;
}

}  // namespace

ShmSegment::~ShmSegment() {
  if (base_ != nullptr) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::shared_ptr<ShmSegment>> ShmSegment::map(const std::string& path, int fd, bool writable,
                                                            std::size_t size) {
  // On success the segment owns fd; on failure the caller still does.
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_status(path, "fstat", errno);
  void* p = ::mmap(nullptr, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return errno_status(path, "mmap", errno);
  std::shared_ptr<ShmSegment> seg(new ShmSegment());
  seg->path_ = path;
  seg->writable_ = writable;
  seg->dev_ = st.st_dev;
  seg->ino_ = st.st_ino;
  seg->base_ = static_cast<std::byte*>(p);
  seg->size_ = size;
  seg->fd_ = fd;
  return seg;
}

absl::Status ShmSegment::reserve_and_prefault() {
  // After format(): a reader that opens the file meanwhile finds a valid,
  // empty ring, not a file of zeros (reserving and touching a large ring
  // takes a while: 50 ms for 16 MiB on a VM). The pages reserved first: a
  // /dev/shm too small for the ring (a container's is 64 MiB by default) is
  // this error, not a SIGBUS in prefault() or a later publish.
  if (const int err = ::posix_fallocate(fd_, 0, static_cast<off_t>(size_)); err != 0) {
    return errno_status(path_, "fallocate", err);
  }
  prefault(true);
  return absl::OkStatus();
}

void ShmSegment::prefault(bool write) noexcept {
  // Each page touched by the CPU now, not on the ring's first lap: a first
  // touch costs a page fault (tens of microseconds on a VM), and on a VM the
  // hypervisor may take a fault of its own at the CPU's first access even to
  // a page the guest has mapped, so MAP_POPULATE alone is not enough. The
  // writer's access is a write (an atomic add of 0: readers may be reading
  // the page), a reader's a read.
  for (std::size_t off = 0; off + sizeof(std::uint64_t) <= size_; off += 4096) {
    // Safety: off is page-aligned inside the mapping, so 8-aligned and in bounds.
    auto word = std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(base_ + off));
    // relaxed (both): no ordering, only the access.
    if (write) {
      word.fetch_add(0, std::memory_order_relaxed);
    } else {
      (void)word.load(std::memory_order_relaxed);
    }
  }
}

absl::Status ShmSegment::validate() const {
  // acquire: pairs with the release store of the magic in format().
  const std::uint64_t magic = word64(base_, SL::kMagicOffset).load(std::memory_order_acquire);
  if (magic != SL::kMagic) {
    return absl::FailedPreconditionError(
        fmt::format("{}: magic {:#x}: not a tickwire shared-memory transport file (expected {:#x})", path_, magic,
                    SL::kMagic));
  }
  // relaxed (both): ordered after the magic by its acquire load.
  const std::uint64_t version = word64(base_, SL::kVersionOffset).load(std::memory_order_relaxed);
  if (version != SL::kVersion) {
    return absl::FailedPreconditionError(
        fmt::format("{}: format version {}: this build reads version {}", path_, version, SL::kVersion));
  }
  const std::uint64_t capacity = word64(base_, SL::kCapacityOffset).load(std::memory_order_relaxed);
  if (!valid_capacity(capacity) || SL::file_bytes(capacity) != size_) {
    return absl::FailedPreconditionError(fmt::format(
        "{}: header says a ring of {} bytes, but the file has {} bytes (truncated or corrupt)", path_, capacity,
        size_));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<ShmSegment>> ShmSegment::open_reader(const std::string& path) {
  bool writable = true;
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) {
    writable = false;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError(fmt::format("{}: no such file (has the writer started?)", path));
    return errno_status(path, "open", err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_status(path, "fstat", err);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < SL::kHeaderBytes) {
    ::close(fd);
    return absl::FailedPreconditionError(fmt::format(
        "{}: {} bytes: too small for a tickwire shared-memory transport header ({} bytes)", path, size,
        SL::kHeaderBytes));
  }
  auto seg = map(path, fd, writable, size);
  if (!seg.ok()) {
    ::close(fd);
    return seg.status();
  }
  if (auto valid = (*seg)->validate(); !valid.ok()) return valid;
  (*seg)->capacity_ = static_cast<std::size_t>(word64((*seg)->base_, SL::kCapacityOffset).load(std::memory_order_relaxed));  // relaxed: validated above, after the magic's acquire
  (*seg)->ring_ = std::span<std::byte>((*seg)->base_ + SL::kHeaderBytes, BroadcastLayout::required_bytes((*seg)->capacity_));
  (*seg)->prefault(false);
  return seg;
}

absl::StatusOr<std::shared_ptr<ShmSegment>> ShmSegment::open_writer(const std::string& path, WriterOptions options) {
  if (!valid_capacity(options.capacity)) {
    return absl::InvalidArgumentError(fmt::format("{}: capacity {}: expected a power of two in [{}, {}]", path,
                                                  options.capacity, BroadcastLayout::kMinCapacity,
                                                  BroadcastLayout::kMaxCapacity));
  }
  // Carried over from a retired file of another capacity into its replacement.
  std::uint64_t epoch = 0;
  std::uint64_t last_sequence = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool created = true;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
    if (fd < 0 && errno == EEXIST) {
      created = false;
      fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    }
    if (fd < 0) return errno_status(path, "open for writing", errno);
    if (created && ::fchmod(fd, options.mode) != 0) {  // the umask must not narrow the configured mode
      const int err = errno;
      ::close(fd);
      return errno_status(path, "fchmod", err);
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            fmt::format("{}: another writer holds this transport file (one writer per file)", path));
      }
      return errno_status(path, "flock", err);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return errno_status(path, "fstat", err);
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    const std::size_t want = SL::file_bytes(options.capacity);
    if (size != 0) {
      if (size < SL::kHeaderBytes) {
        ::close(fd);
        return absl::FailedPreconditionError(fmt::format(
            "{}: {} bytes, not a tickwire shared-memory transport file; refusing to overwrite it", path, size));
      }
      auto old = map(path, fd, true, size);
      if (!old.ok()) {
        ::close(fd);
        return old.status();
      }
      if (auto valid = (*old)->validate(); !valid.ok()) {
        return absl::FailedPreconditionError(
            fmt::format("{}; refusing to overwrite it", status_text(valid)));
      }
      // relaxed (both): this process holds the writer lock; no writer runs.
      epoch = word64((*old)->base_, SL::kEpochOffset).load(std::memory_order_relaxed);
      last_sequence = word64((*old)->base_, SL::kLastSequenceOffset).load(std::memory_order_relaxed);
      if (size == want) {
        (*old)->capacity_ = options.capacity;
        (*old)->ring_ = std::span<std::byte>((*old)->base_ + SL::kHeaderBytes,
                                             BroadcastLayout::required_bytes(options.capacity));
        (*old)->format(epoch + 1, last_sequence);
        if (auto reserved = (*old)->reserve_and_prefault(); !reserved.ok()) return reserved;
        return old;
      }
      // Another capacity: retire this file (its readers see a new epoch and
      // re-open the path), then replace it with a fresh one.
      (*old)->capacity_ = static_cast<std::size_t>(size - SL::kHeaderBytes - BroadcastLayout::kTrailerBytes);
      (*old)->ring_ = std::span<std::byte>((*old)->base_ + SL::kHeaderBytes, size - SL::kHeaderBytes);
      (*old)->format(++epoch, last_sequence);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_status(path, "unlink", errno);
      continue;  // the retired mapping closes as `old` goes
    }
    if (::ftruncate(fd, static_cast<off_t>(want)) != 0) {
      const int err = errno;
      ::close(fd);
      return errno_status(path, "ftruncate", err);
    }
    auto seg = map(path, fd, true, want);
    if (!seg.ok()) {
      ::close(fd);
      return seg.status();
    }
    (*seg)->capacity_ = options.capacity;
    (*seg)->ring_ = std::span<std::byte>((*seg)->base_ + SL::kHeaderBytes, BroadcastLayout::required_bytes(options.capacity));
    (*seg)->format(epoch + 1, last_sequence);
    if (auto reserved = (*seg)->reserve_and_prefault(); !reserved.ok()) return reserved;
    return seg;
  }
  return absl::UnavailableError(fmt::format("{}: replaced concurrently while opening for writing", path));
}

void ShmSegment::format(std::uint64_t epoch, std::uint64_t last_sequence) {
  // relaxed: "not ready" first; the fence orders it before the re-format below
  // for a reader that reads any re-formatted word (then re-checks ready).
  word64(base_, SL::kReadyOffset).store(0, std::memory_order_relaxed);
  release_fence();
  // relaxed (all below): published by the release stores of the magic and of ready.
  word64(base_, SL::kVersionOffset).store(SL::kVersion, std::memory_order_relaxed);
  word64(base_, SL::kCapacityOffset).store(capacity_, std::memory_order_relaxed);
  word64(base_, SL::kEpochOffset).store(epoch, std::memory_order_relaxed);
  word64(base_, SL::kWriterPidOffset).store(static_cast<std::uint64_t>(::getpid()), std::memory_order_relaxed);
  word64(base_, SL::kLastSequenceOffset).store(last_sequence, std::memory_order_relaxed);
  word32(base_, SL::kWaitersOffset).store(0, std::memory_order_relaxed);  // readers parked on the old epoch re-announce
  // BroadcastWriter::create stores the ring's epoch first, so a reader of the
  // old epoch stops delivering from it.
  auto writer = BroadcastWriter::create(ring_, epoch);  // cannot fail: ring_ is aligned and sized by construction
  if (writer.ok()) writer_.emplace(*std::move(writer));
  // release: pairs with the acquire load of the magic in validate().
  word64(base_, SL::kMagicOffset).store(SL::kMagic, std::memory_order_release);
  // release: pairs with the acquire loads of ready in ready_epoch().
  word64(base_, SL::kReadyOffset).store(epoch, std::memory_order_release);
  wake_all();
}

bool ShmSegment::same_file() const noexcept {
  struct stat st {};
  return ::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_;
}

std::uint64_t ShmSegment::ready_epoch() const noexcept {
  // acquire: pairs with the release store of ready in format().
  return word64(base_, SL::kReadyOffset).load(std::memory_order_acquire);
}

std::uint64_t ShmSegment::writer_pid() const noexcept {
  return word64(base_, SL::kWriterPidOffset).load(std::memory_order_relaxed);  // relaxed: informational
}

std::uint64_t ShmSegment::last_sequence() const noexcept {
  // relaxed: read after attaching, whose acquire load of the ring's tail pairs
  // with the writer's release; the writer stores this before each record.
  return word64(base_, SL::kLastSequenceOffset).load(std::memory_order_relaxed);
}

void ShmSegment::store_last_sequence(std::uint64_t sequence) noexcept {
  // relaxed: published by the ring's release stores of the record that follows.
  word64(base_, SL::kLastSequenceOffset).store(sequence, std::memory_order_relaxed);
}

std::uint32_t ShmSegment::prepare_wait() noexcept {
  if (writable_) {
    // relaxed: ordered before the caller's re-check by the fence below.
    word32(base_, SL::kWaitersOffset).fetch_add(1, std::memory_order_relaxed);
  }
  detail::store_load_fence();
  // acquire: pairs with the release bump in notify()/wake_all().
  return word32(base_, SL::kNotifyOffset).load(std::memory_order_acquire);
}

void ShmSegment::cancel_wait() noexcept {
  if (!writable_) return;
  // relaxed: a hint. Saturating, since the writer may have reset a count that
  // a dead reader left behind (see notify()).
  auto waiters = word32(base_, SL::kWaitersOffset);
  std::uint32_t n = waiters.load(std::memory_order_relaxed);
  while (n != 0 && !waiters.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
  }
}

void ShmSegment::wait(std::uint32_t key, std::chrono::steady_clock::time_point deadline) noexcept {
  if (!writable_) deadline = std::min(deadline, std::chrono::steady_clock::now() + kReadOnlyRecheck);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  if (ns > 0) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    // Shared (not _PRIVATE): the word is in a file mapping other processes share.
    // Safety: the futex word is the 4-aligned uint32 at kNotifyOffset in the mapping.
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(base_ + SL::kNotifyOffset), FUTEX_WAIT_BITSET, key, &ts,
            nullptr, FUTEX_BITSET_MATCH_ANY);
  }
  cancel_wait();
}

void ShmSegment::notify() noexcept {
  detail::store_load_fence();
  auto waiters = word32(base_, SL::kWaitersOffset);
  // relaxed: ordered after the record by the fence above.
  std::uint32_t n = waiters.load(std::memory_order_relaxed);
  if (n == 0) return;
  // release: pairs with the acquire load in prepare_wait().
  word32(base_, SL::kNotifyOffset).fetch_add(1, std::memory_order_release);
  // Safety: as in wait().
  const long woken = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(base_ + SL::kNotifyOffset), FUTEX_WAKE,
                             INT_MAX, nullptr, nullptr, 0);
  if (woken == 0) {
    // Nobody slept although n announced themselves: readers killed while
    // parked left their count behind (or are about to sleep, and will see the
    // notify word changed). Reset it so a dead reader does not cost every
    // later publish a syscall; a live reader re-announces on its next park,
    // and parks with a timeout, so a lost count delays it, never strands it.
    // relaxed: a hint, as above.
    waiters.compare_exchange_strong(n, 0, std::memory_order_relaxed);
  }
}

void ShmSegment::wake_all() noexcept {
  // release: pairs with the acquire load in prepare_wait().
  word32(base_, SL::kNotifyOffset).fetch_add(1, std::memory_order_release);
  // Safety: as in wait().
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(base_ + SL::kNotifyOffset), FUTEX_WAKE, INT_MAX, nullptr,
          nullptr, 0);
}

}  // namespace tickwire::middleware
