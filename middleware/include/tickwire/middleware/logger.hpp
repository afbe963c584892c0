// Logger: non-blocking logging. A call site checks the level (one relaxed
// load), then copies a pointer to its static LogSite, one TSC stamp and its
// arguments in binary into the calling thread's SPSC byte ring: no formatting,
// no allocation, no syscall. A backend thread decodes, formats with {fmt} and
// writes through spdlog sinks. A thread's first log call allocates its ring.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <spdlog/common.h>
#include <spdlog/sinks/sink.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/parking.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::middleware {

// LogLevel: the same order and values as spdlog::level::level_enum.
enum class LogLevel : std::uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

// FullPolicy: what a log call does when its thread's ring is full.
enum class FullPolicy : std::uint8_t {
  kDrop,   // discard the message and count it; the backend logs the count
  kBlock,  // wait (spin, yield, park) until the backend frees space
};

// LogBuffer: where a record is formatted; lines up to 1 KiB stay inline.
using LogBuffer = fmt::basic_memory_buffer<char, 1024>;
// LogDecodeFn: decodes a record's arguments and formats them with `format`.
using LogDecodeFn = void (*)(const std::byte* args, std::string_view format, LogBuffer& out);

// LogSite: a call site's static description, one per TW_LOG_* expansion.
struct LogSite {
  LogLevel level;
  const char* file;
  int line;
  std::string_view format;
  LogDecodeFn decode;  // generated from the argument types
};

// LoggerOptions: sinks, filtering and ring sizing.
struct LoggerOptions {
  std::vector<spdlog::sink_ptr> sinks;  // empty: one stderr_color_sink_mt
  // pattern: applied to every sink; empty keeps the sinks' own formatters.
  std::string pattern = "[%Y-%m-%d %H:%M:%S.%f] [%l] [%t] %s:%# %v";
  std::string name = "tickwire";          // %n in the pattern
  LogLevel level = LogLevel::kInfo;       // initial level; set_level() changes it
  FullPolicy on_full = FullPolicy::kDrop;
  std::size_t ring_bytes = 1U << 20;      // per thread; a power of two >= 4096
  bool start_backend = true;              // false: the owner drains with poll()
  std::chrono::microseconds idle_park{200};  // backend park time once every ring is empty
};

namespace detail {

// RecordHeader: the start of every record in a ring. site == nullptr marks
// padding that skips to the end of the buffer.
struct RecordHeader {
  std::uint32_t size;  // whole record, header included, a multiple of 8
  std::uint32_t reserved;
  const LogSite* site;
  std::uint64_t tsc;   // TscClock::now_ticks() at the call
};
static_assert(sizeof(RecordHeader) == 24 && std::is_trivially_copyable_v<RecordHeader>);

// ByteRing: variable-length records for one producer and one consumer.
// Positions are byte counts that grow without bound, masked on access; a
// record never wraps (padding fills the end instead).
class ByteRing {
 public:
  explicit ByteRing(std::size_t capacity);
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  std::size_t capacity() const noexcept { return capacity_; }

  // try_reserve: producer only. Contiguous space for n bytes (a multiple of
  // 8, at most capacity / 2), or nullptr if the ring is too full. Nothing is
  // visible to the consumer until commit(n).
  std::byte* try_reserve(std::size_t n) noexcept {
    Producer& p = *producer_;
    std::uint64_t tail = p.tail_local;
    const std::size_t pos = static_cast<std::size_t>(tail) & mask_;
    const std::size_t to_end = capacity_ - pos;
    const std::size_t need = n <= to_end ? n : to_end + n;
    if (capacity_ - (tail - p.head_cache) < need) {
      p.head_cache = consumer_->head.load(std::memory_order_acquire);  // pairs with the consumer's release of head
      if (capacity_ - (tail - p.head_cache) < need) return nullptr;
    }
    if (n > to_end) {
      if (to_end >= sizeof(RecordHeader)) {
        const RecordHeader pad{static_cast<std::uint32_t>(to_end), 0, nullptr, 0};
        // Safety: a whole header fits before the end (checked); it is read
        // back with memcpy by consume().
        std::memcpy(buffer_.get() + pos, &pad, sizeof(pad));
      }
      // Fewer bytes than a header are skipped by consume() by position alone.
      tail += to_end;
      p.tail_local = tail;
      return buffer_.get();
    }
    return buffer_.get() + pos;
  }

  // commit: producer only. Publishes the n bytes reserved (and any padding).
  void commit(std::size_t n) noexcept {
    Producer& p = *producer_;
    p.tail_local += n;
    p.tail.store(p.tail_local, std::memory_order_release);  // pairs with the consumer's acquire of tail
  }

  // consume: consumer only. Calls f(header, args) for every record published
  // so far, then frees them with one release store; returns how many.
  template <typename F>
  std::size_t consume(F&& f) {
    Consumer& c = *consumer_;
    const std::uint64_t tail = producer_->tail.load(std::memory_order_acquire);  // pairs with commit()'s release
    std::uint64_t head = c.head.load(std::memory_order_relaxed);  // only this thread writes head
    std::size_t records = 0;
    while (head != tail) {
      const std::size_t pos = static_cast<std::size_t>(head) & mask_;
      RecordHeader h{};
      if (capacity_ - pos < sizeof(RecordHeader)) {
        head += capacity_ - pos;  // too short for a record: padding (see try_reserve)
        continue;
      }
      // Safety: a full header lies at pos (checked above), written by the
      // producer before the release store of tail that we acquired.
      std::memcpy(&h, buffer_.get() + pos, sizeof(h));
      if (h.site != nullptr) {
        f(h, buffer_.get() + pos + sizeof(RecordHeader));
        ++records;
      }
      head += h.size;
    }
    c.head.store(head, std::memory_order_release);  // pairs with the producer's acquire of head
    return records;
  }

  // tail: the published end (any thread).
  std::uint64_t tail() const noexcept {
    return producer_->tail.load(std::memory_order_acquire);  // pairs with commit()'s release
  }
  // head: the consumed end (any thread).
  std::uint64_t head() const noexcept {
    return consumer_->head.load(std::memory_order_acquire);  // pairs with consume()'s release
  }
  // data: the buffer, for the crash drain.
  const std::byte* data() const noexcept { return buffer_.get(); }
  std::size_t mask() const noexcept { return mask_; }

 private:
  struct Producer {
    std::atomic<std::uint64_t> tail{0};
    std::uint64_t tail_local = 0;  // tail plus reserved padding, producer only
    std::uint64_t head_cache = 0;
  };
  struct Consumer {
    std::atomic<std::uint64_t> head{0};
  };

  CachePadded<Producer> producer_;
  CachePadded<Consumer> consumer_;
  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<std::byte[]> buffer_;
};

// ThreadRing: one thread's ring plus what the backend reports about it.
struct ThreadRing {
  ThreadRing(std::size_t bytes, std::size_t os_tid) : ring(bytes), tid(os_tid) {}
  ByteRing ring;
  const std::size_t tid;                      // OS thread id, %t in the pattern
  CachePadded<std::atomic<std::uint64_t>> dropped;  // written by the owner thread only
  std::uint64_t reported_dropped = 0;         // backend only
  ThreadRing* next = nullptr;                 // registry link, immutable once published
};

// Encodable argument types. Strings are copied as u32 length + bytes and
// decoded as std::string_view into the ring; other trivially copyable,
// formattable types are copied by value (so their formatter must not follow
// pointers they hold).
template <typename T>
inline constexpr bool kLogString = std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string> ||
                                   std::is_same_v<T, const char*> || std::is_same_v<T, char*> ||
                                   std::is_same_v<T, fmt::string_view>;
template <typename T>
inline constexpr bool kLogValue = !kLogString<T> && std::is_trivially_copyable_v<T> &&
                                  (!std::is_pointer_v<T> || std::is_void_v<std::remove_pointer_t<T>>) &&
                                  fmt::is_formattable<T>::value;

// LogArg: the stored type of an argument of type A (char arrays and char*
// become const char*).
template <typename A>
using LogArg = std::conditional_t<std::is_same_v<std::decay_t<A>, char*>, const char*, std::decay_t<A>>;
// LogDecoded: what the backend formats for a stored type.
template <typename T>
using LogDecoded = std::conditional_t<kLogString<T>, std::string_view, T>;

template <typename T>
std::string_view log_view_of(const T& v) noexcept {
  if constexpr (std::is_pointer_v<T>) {
    return v == nullptr ? std::string_view("(null)") : std::string_view(v);
  } else {
    return std::string_view(v.data(), v.size());
  }
}

// LogEncoded: an argument ready to copy (strings measured once).
template <typename T>
using LogEncoded = std::conditional_t<kLogString<T>, std::string_view, const T&>;

template <typename T>
LogEncoded<T> log_encoded(const T& v) noexcept {
  if constexpr (kLogString<T>) {
    return log_view_of(v);
  } else {
    return v;
  }
}

template <typename E>
std::size_t log_size(const E& v) noexcept {
  if constexpr (std::is_same_v<std::remove_cvref_t<E>, std::string_view>) {
    return sizeof(std::uint32_t) + v.size();
  } else {
    return sizeof(E);
  }
}

template <typename E>
std::byte* log_put(std::byte* p, const E& v) noexcept {
  if constexpr (std::is_same_v<std::remove_cvref_t<E>, std::string_view>) {
    const auto n = static_cast<std::uint32_t>(v.size());
    // Safety: the record was reserved with log_size() bytes for this argument.
    std::memcpy(p, &n, sizeof(n));
    std::memcpy(p + sizeof(n), v.data(), n);
    return p + sizeof(n) + n;
  } else {
    // Safety: E is trivially copyable (kLogValue); the bytes are copied back
    // into an E by log_get(), never used in place.
    std::memcpy(p, &v, sizeof(E));
    return p + sizeof(E);
  }
}

template <typename T>
LogDecoded<T> log_get(const std::byte*& p) noexcept {
  if constexpr (kLogString<T>) {
    std::uint32_t n = 0;
    // Safety: log_put wrote a u32 length then n bytes here.
    std::memcpy(&n, p, sizeof(n));
    const auto* chars = reinterpret_cast<const char*>(p + sizeof(n));  // Safety: bytes viewed as chars
    p += sizeof(n) + n;
    return std::string_view(chars, n);
  } else {
    T v;
    // Safety: log_put copied a T's bytes here; T is trivially copyable.
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
}

// log_decode: the LogDecodeFn for stored types Ts...
template <typename... Ts>
void log_decode([[maybe_unused]] const std::byte* p, std::string_view format, LogBuffer& out) {
  // A braced initializer evaluates left to right: arguments decode in order.
  const std::tuple<LogDecoded<Ts>...> values{log_get<Ts>(p)...};
  std::apply(
      [&](const auto&... v) {
        fmt::vformat_to(fmt::appender(out), fmt::string_view(format.data(), format.size()),
                        fmt::make_format_args(v...));
      },
      values);
}

// log_format_ok: a compile error unless Site's format string fits Ts.
template <typename Site, typename... Ts>
consteval bool log_format_ok() {
  [[maybe_unused]] const fmt::format_string<const LogDecoded<Ts>&...> checked(Site::format());
  return true;
}

// kLogSite: the static descriptor of one call site.
template <typename Site, typename... Ts>
inline constexpr LogSite kLogSite{Site::level(), Site::file(), Site::line(), Site::format(), &log_decode<Ts...>};

// LoggerCacheEntry: a thread's recent rings, keyed by the Logger's unique id.
struct LoggerCacheEntry {
  std::uint64_t logger_id = 0;
  ThreadRing* ring = nullptr;
};
inline constexpr std::size_t kLoggerCacheEntries = 4;
inline thread_local LoggerCacheEntry t_logger_cache[kLoggerCacheEntries];
inline thread_local std::size_t t_logger_cache_next = 0;

}  // namespace detail

// Logger: see the file comment. Use the TW_LOG_* macros to log.
class Logger {
 public:
  // create: validates options, applies the pattern, starts the backend.
  static absl::StatusOr<std::unique_ptr<Logger>> create(LoggerOptions options);
  // ~Logger: shutdown(), and removes the fatal-signal handlers if they point here.
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // should_log: the level test every macro makes before any other work.
  bool should_log(LogLevel level) const noexcept {
    // relaxed: a level is a self-contained value; a change applies "soon".
    return static_cast<std::uint8_t>(level) >= level_.load(std::memory_order_relaxed);
  }
  // set_level: messages below level are skipped at the call site.
  void set_level(LogLevel level) noexcept {
    level_.store(static_cast<std::uint8_t>(level), std::memory_order_relaxed);  // see should_log
  }
  LogLevel level() const noexcept {
    return static_cast<LogLevel>(level_.load(std::memory_order_relaxed));  // see should_log
  }

  // log: the macros' target. Encodes one record into this thread's ring.
  template <typename Site, typename... Args>
  void log(const Args&... args) noexcept {
    static_assert((... && (detail::kLogString<detail::LogArg<Args>> || detail::kLogValue<detail::LogArg<Args>>)),
                  "TW_LOG: an argument is neither a string (std::string_view, std::string, const char*) nor a "
                  "trivially copyable type with a fmt formatter; convert it first");
    static_assert(detail::log_format_ok<Site, detail::LogArg<Args>...>());
    const std::uint64_t tsc = TscClock::now_ticks();
    detail::ThreadRing* ring = cached_ring();
    if (ring == nullptr) [[unlikely]] {
      ring = attach_thread();
      if (ring == nullptr) return;
    }
    write_record(*ring, &detail::kLogSite<Site, detail::LogArg<Args>...>, tsc,
                 detail::log_encoded<detail::LogArg<Args>>(args)...);
  }

  // register_thread: creates the calling thread's ring now, so that its
  // first log call does not allocate.
  void register_thread();

  // flush: returns once every record logged before the call (by any thread
  // that happens-before it) is in the sinks, and the sinks are flushed.
  void flush();

  // shutdown: drains every ring, flushes the sinks and stops the backend.
  // Sets the level to kOff: later calls are skipped. Idempotent.
  void shutdown();

  // poll: start_backend == false only, from one thread at a time: drains
  // every ring once on the calling thread. Returns the records written.
  std::size_t poll();

  // dropped: messages discarded so far (full ring under kDrop, oversized,
  // or waiting under kBlock when shutdown() ran), all threads.
  std::uint64_t dropped() const noexcept;

  // max_record_bytes: the largest record a call can write (ring_bytes / 2);
  // a larger one is dropped and counted under either policy.
  std::size_t max_record_bytes() const noexcept { return options_.ring_bytes / 2; }

  // install_fatal_signal_handlers: on SIGSEGV, SIGABRT, SIGBUS, SIGFPE or
  // SIGILL, writes the records still in the rings to fd with write(2), then
  // re-raises with the default action. One Logger at a time. Limits: the
  // drain formats with {fmt} into a stack buffer (no lock, no allocation for
  // lines under 1 KiB, but not formally async-signal-safe); it runs on the
  // faulting thread's stack (no sigaltstack: a stack overflow is not
  // drained); records the backend already handed to a buffered sink but that
  // were not yet flushed are lost (the backend flushes whenever it goes idle).
  absl::Status install_fatal_signal_handlers(int fd = STDERR_FILENO);

  // stderr_sink / rotating_file_sink: the sinks the connector uses.
  static spdlog::sink_ptr stderr_sink();
  static absl::StatusOr<spdlog::sink_ptr> rotating_file_sink(const std::filesystem::path& path,
                                                             std::size_t max_bytes, std::size_t max_files);

 private:
  explicit Logger(LoggerOptions options);

  detail::ThreadRing* cached_ring() const noexcept {
    for (const detail::LoggerCacheEntry& e : detail::t_logger_cache) {
      if (e.logger_id == id_) return e.ring;
    }
    return nullptr;
  }
  detail::ThreadRing* attach_thread() noexcept;  // find or create this thread's ring; may allocate

  template <typename... Es>
  void write_record(detail::ThreadRing& r, const LogSite* site, std::uint64_t tsc, const Es&... encoded) noexcept {
    const std::size_t bytes = sizeof(detail::RecordHeader) + (std::size_t{0} + ... + detail::log_size(encoded));
    const std::size_t size = (bytes + 7) & ~std::size_t{7};
    if (size > max_record_bytes()) [[unlikely]] {
      count_drop(r);
      return;
    }
    std::byte* p = r.ring.try_reserve(size);
    if (p == nullptr) [[unlikely]] {
      p = reserve_slow(r, size);
      if (p == nullptr) return;
    }
    const detail::RecordHeader h{static_cast<std::uint32_t>(size), 0, site, tsc};
    // Safety: p has `size` reserved bytes, header first; RecordHeader is
    // trivially copyable and read back with memcpy.
    std::memcpy(p, &h, sizeof(h));
    [[maybe_unused]] std::byte* q = p + sizeof(h);
    ((q = detail::log_put(q, encoded)), ...);
    r.ring.commit(size);
  }
  // reserve_slow: the full-ring policy (and oversized records); nullptr = dropped.
  std::byte* reserve_slow(detail::ThreadRing& r, std::size_t size) noexcept;
  static void count_drop(detail::ThreadRing& r) noexcept {
    // relaxed: owner-only writer; the backend reads it without ordering.
    r.dropped->store(r.dropped->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  void backend_main();
  std::size_t drain_all();  // one pass over every ring; the consumer side
  void emit(const detail::ThreadRing& r, const detail::RecordHeader& h, const std::byte* args);
  void emit_drops(detail::ThreadRing& r);
  void flush_sinks();

  friend void logger_crash_drain(Logger& logger, int fd) noexcept;
  void crash_drain(int fd) noexcept;

  const std::uint64_t id_;
  LoggerOptions options_;
  std::atomic<std::uint8_t> level_;
  std::atomic<detail::ThreadRing*> rings_{nullptr};  // newest first; links never change once published
  std::mutex attach_mu_;                             // serialises attach_thread
  std::vector<std::unique_ptr<detail::ThreadRing>> owned_;  // guarded by attach_mu_
  LogBuffer line_;                                   // consumer only
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> crashing_{false};
  std::atomic<bool> consumer_busy_{false};
  EventCount work_;      // the backend parks here when idle
  EventCount progress_;  // notified after every drain pass that consumed records
  EventCount space_;     // kBlock producers park here
  std::mutex shutdown_mu_;
  std::thread backend_;
};

}  // namespace tickwire::middleware

// TW_LOG(logger, level, format, args...): logs at a LogLevel; the level is
// tested first, and the format string is checked against the arguments at
// compile time. `logger` is a Logger& (pass *ptr for a pointer).
#define TW_LOG(logger, lvl, fmtstr, ...)                                                 \
  do {                                                                                    \
    auto& tw_log_logger_ = (logger);                                                      \
    if (tw_log_logger_.should_log(lvl)) {                                                 \
      struct TwLogSite_ {                                                                 \
        static constexpr ::tickwire::middleware::LogLevel level() { return lvl; }         \
        static constexpr const char* file() { return __FILE__; }                          \
        static constexpr int line() { return __LINE__; }                                  \
        static constexpr std::string_view format() { return std::string_view(fmtstr); }  \
      };                                                                                  \
      tw_log_logger_.template log<TwLogSite_>(__VA_ARGS__);                               \
    }                                                                                     \
  } while (false)

#define TW_LOG_TRACE(logger, ...) TW_LOG(logger, ::tickwire::middleware::LogLevel::kTrace, __VA_ARGS__)
#define TW_LOG_DEBUG(logger, ...) TW_LOG(logger, ::tickwire::middleware::LogLevel::kDebug, __VA_ARGS__)
#define TW_LOG_INFO(logger, ...) TW_LOG(logger, ::tickwire::middleware::LogLevel::kInfo, __VA_ARGS__)
#define TW_LOG_WARN(logger, ...) TW_LOG(logger, ::tickwire::middleware::LogLevel::kWarn, __VA_ARGS__)
#define TW_LOG_ERROR(logger, ...) TW_LOG(logger, ::tickwire::middleware::LogLevel::kError, __VA_ARGS__)
#define TW_LOG_CRITICAL(logger, ...) TW_LOG(logger, ::tickwire::middleware::LogLevel::kCritical, __VA_ARGS__)
