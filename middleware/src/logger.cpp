#include "tickwire/middleware/logger.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <array>
#include <cerrno>
#include <exception>
#include <iterator>

namespace tickwire::middleware {
namespace {

// next_logger_id: 0 marks an empty thread-local cache entry.
std::atomic<std::uint64_t> next_logger_id{1};

constexpr std::array<int, 5> kFatalSignals{SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};

// The fatal-signal state: one Logger at a time.
std::atomic<Logger*> g_crash_logger{nullptr};
std::atomic<int> g_crash_fd{STDERR_FILENO};
std::mutex g_crash_mu;  // serialises install/uninstall (never taken in the handler)
std::array<struct sigaction, kFatalSignals.size()> g_previous_actions{};

spdlog::level::level_enum to_spdlog(LogLevel level) {
  return static_cast<spdlog::level::level_enum>(static_cast<int>(level));
}

// write_all: write(2) until done or an error; async-signal-safe.
void write_all(int fd, const char* data, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

void fatal_signal_handler(int sig) {
  // acquire: pairs with the release store in install_fatal_signal_handlers.
  Logger* logger = g_crash_logger.load(std::memory_order_acquire);
  // relaxed: written before the logger pointer's release store.
  const int fd = g_crash_fd.load(std::memory_order_relaxed);
  if (logger != nullptr) logger_crash_drain(*logger, fd);
  // SA_RESETHAND restored the default action; the signal is blocked until
  // this handler returns, then it terminates the process as it would have.
  ::raise(sig);
}

}  // namespace

void logger_crash_drain(Logger& logger, int fd) noexcept { logger.crash_drain(fd); }

namespace detail {

ByteRing::ByteRing(std::size_t capacity)
    : capacity_(capacity), mask_(capacity - 1), buffer_(std::make_unique<std::byte[]>(capacity)) {}

}  // namespace detail

Logger::Logger(LoggerOptions options)
    // relaxed: the id only has to be unique; it publishes nothing.
    : id_(next_logger_id.fetch_add(1, std::memory_order_relaxed)),
      options_(std::move(options)),
      level_(static_cast<std::uint8_t>(options_.level)) {}

absl::StatusOr<std::unique_ptr<Logger>> Logger::create(LoggerOptions options) {
  const std::size_t bytes = options.ring_bytes;
  if (bytes < 4096 || (bytes & (bytes - 1)) != 0 || bytes > (std::size_t{1} << 31)) {
    return absl::InvalidArgumentError(fmt::format(
        "Logger::create: ring_bytes = {}: expected a power of two between 4096 and 2^31", bytes));
  }
  if (options.level > LogLevel::kOff) {
    return absl::InvalidArgumentError(
        fmt::format("Logger::create: level = {}: expected kTrace..kOff", static_cast<int>(options.level)));
  }
  if (options.sinks.empty()) options.sinks.push_back(stderr_sink());
  for (const spdlog::sink_ptr& s : options.sinks) {
    if (s == nullptr) return absl::InvalidArgumentError("Logger::create: sinks: a sink is null");
    if (!options.pattern.empty()) s->set_pattern(options.pattern);
  }
  std::unique_ptr<Logger> logger(new Logger(std::move(options)));
  if (logger->options_.start_backend) {
    logger->backend_ = std::thread([l = logger.get()] { l->backend_main(); });
  }
  return logger;
}

Logger::~Logger() {
  shutdown();
  std::lock_guard lock(g_crash_mu);
  // relaxed: g_crash_mu orders this with install_fatal_signal_handlers.
  if (g_crash_logger.load(std::memory_order_relaxed) == this) {
    for (std::size_t i = 0; i < kFatalSignals.size(); ++i) ::sigaction(kFatalSignals[i], &g_previous_actions[i], nullptr);
    g_crash_logger.store(nullptr, std::memory_order_release);  // pairs with the handler's acquire
  }
}

spdlog::sink_ptr Logger::stderr_sink() { return std::make_shared<spdlog::sinks::stderr_color_sink_mt>(); }

absl::StatusOr<spdlog::sink_ptr> Logger::rotating_file_sink(const std::filesystem::path& path, std::size_t max_bytes,
                                                            std::size_t max_files) {
  try {
    return std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path.string(), max_bytes, max_files);
  } catch (const spdlog::spdlog_ex& e) {
    return absl::UnavailableError(fmt::format("Logger::rotating_file_sink: {}: {}", path.string(), e.what()));
  }
}

detail::ThreadRing* Logger::attach_thread() noexcept {
  try {
    std::lock_guard lock(attach_mu_);
    detail::ThreadRing* ring = cached_ring();
    if (ring == nullptr) {
      owned_.push_back(std::make_unique<detail::ThreadRing>(options_.ring_bytes,
                                                            static_cast<std::size_t>(::syscall(SYS_gettid))));
      ring = owned_.back().get();
      // relaxed: attach_mu_ serialises the writers of rings_.
      ring->next = rings_.load(std::memory_order_relaxed);
      rings_.store(ring, std::memory_order_release);  // pairs with the consumers' acquire loads of rings_
      detail::LoggerCacheEntry& e = detail::t_logger_cache[detail::t_logger_cache_next];
      detail::t_logger_cache_next = (detail::t_logger_cache_next + 1) % detail::kLoggerCacheEntries;
      e.logger_id = id_;
      e.ring = ring;
    }
    return ring;
  } catch (const std::exception&) {
    return nullptr;  // out of memory: the message is lost, as it would be to a full ring
  }
}

void Logger::register_thread() { attach_thread(); }

std::byte* Logger::reserve_slow(detail::ThreadRing& r, std::size_t size) noexcept {
  if (options_.on_full == FullPolicy::kDrop) {
    count_drop(r);
    return nullptr;
  }
  std::byte* p = nullptr;
  work_.notify_one();  // a full ring is work: wake the backend if it parked
  wait_until(space_, [&] {
    p = r.ring.try_reserve(size);
    // acquire: pairs with the release store in shutdown(); nothing will drain any more.
    return p != nullptr || stopped_.load(std::memory_order_acquire);
  });
  if (p == nullptr) count_drop(r);
  return p;
}

std::uint64_t Logger::dropped() const noexcept {
  std::uint64_t total = 0;
  // acquire: pairs with the release store in attach_thread.
  for (const detail::ThreadRing* r = rings_.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    total += r->dropped->load(std::memory_order_relaxed);  // a statistic: pairs with nothing
  }
  return total;
}

void Logger::emit(const detail::ThreadRing& r, const detail::RecordHeader& h, const std::byte* args) {
  line_.clear();
  try {
    h.site->decode(args, h.site->format, line_);
  } catch (const std::exception& e) {
    line_.clear();
    fmt::format_to(fmt::appender(line_), "[format error: {}] {}", e.what(), h.site->format);
  }
  const std::uint64_t wall_ns = TscClock::global().to_wall_ns(h.tsc);
  const spdlog::log_clock::time_point when(
      std::chrono::duration_cast<spdlog::log_clock::duration>(std::chrono::nanoseconds(wall_ns)));
  spdlog::details::log_msg msg(when, spdlog::source_loc{h.site->file, h.site->line, ""}, options_.name,
                               to_spdlog(h.site->level), spdlog::string_view_t(line_.data(), line_.size()));
  msg.thread_id = r.tid;
  for (const spdlog::sink_ptr& s : options_.sinks) {
    if (s->should_log(msg.level)) s->log(msg);
  }
}

void Logger::emit_drops(detail::ThreadRing& r) {
  const std::uint64_t dropped = r.dropped->load(std::memory_order_relaxed);  // a statistic: pairs with nothing
  if (dropped == r.reported_dropped) return;
  line_.clear();
  fmt::format_to(fmt::appender(line_), "{} messages dropped on thread {}", dropped - r.reported_dropped, r.tid);
  r.reported_dropped = dropped;
  spdlog::details::log_msg msg(spdlog::source_loc{__FILE__, __LINE__, ""}, options_.name, spdlog::level::warn,
                               spdlog::string_view_t(line_.data(), line_.size()));
  msg.thread_id = r.tid;
  for (const spdlog::sink_ptr& s : options_.sinks) {
    if (s->should_log(msg.level)) s->log(msg);
  }
}

std::size_t Logger::drain_all() {
  std::size_t records = 0;
  // acquire: pairs with the release store in attach_thread.
  for (detail::ThreadRing* r = rings_.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    // seq_cst, both: the Dekker handshake with crash_drain (crashing_ store,
    // then consumer_busy_ load): either it sees us busy and waits, or we see
    // it crashing and stop touching the rings.
    consumer_busy_.store(true, std::memory_order_seq_cst);
    if (crashing_.load(std::memory_order_seq_cst)) {
      consumer_busy_.store(false, std::memory_order_seq_cst);
      return records;
    }
    records += r->ring.consume([&](const detail::RecordHeader& h, const std::byte* args) { emit(*r, h, args); });
    emit_drops(*r);
    consumer_busy_.store(false, std::memory_order_seq_cst);  // see above
  }
  if (records != 0) {
    space_.notify_all();     // kBlock producers may have room now
    progress_.notify_all();  // flush() waits for this
  }
  return records;
}

void Logger::flush_sinks() {
  for (const spdlog::sink_ptr& s : options_.sinks) s->flush();
}

void Logger::backend_main() {
  bool wrote_since_flush = false;
  for (;;) {
    if (drain_all() != 0) {
      wrote_since_flush = true;
      continue;
    }
    // Idle: make what was written durable before parking (see the crash notes).
    if (wrote_since_flush) {
      flush_sinks();
      wrote_since_flush = false;
    }
    // acquire: pairs with the release store in shutdown(), so every record
    // committed before shutdown() was called is visible to the last pass.
    if (stopping_.load(std::memory_order_acquire)) {
      drain_all();
      flush_sinks();
      return;
    }
    const EventCount::Key key = work_.prepare_wait();
    // acquire: as above; re-checked after announcing the wait (EventCount protocol).
    if (stopping_.load(std::memory_order_acquire)) {
      work_.cancel_wait();
      continue;
    }
    work_.wait(key, std::chrono::steady_clock::now() + options_.idle_park);
  }
}

std::size_t Logger::poll() {
  const std::size_t records = drain_all();
  if (records != 0) flush_sinks();
  return records;
}

void Logger::flush() {
  if (!options_.start_backend || !backend_.joinable()) {
    poll();
    flush_sinks();
    return;
  }
  // Everything committed so far, ring by ring: done once each head reaches it.
  std::vector<std::pair<const detail::ThreadRing*, std::uint64_t>> targets;
  // acquire: pairs with the release store in attach_thread.
  for (const detail::ThreadRing* r = rings_.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    targets.emplace_back(r, r->ring.tail());
  }
  work_.notify_one();
  wait_until(progress_, [&] {
    // acquire: pairs with the release store at the end of backend_main's final drain.
    if (stopped_.load(std::memory_order_acquire)) return true;
    for (const auto& [r, tail] : targets) {
      if (r->ring.head() < tail) {
        work_.notify_one();
        return false;
      }
    }
    return true;
  });
  flush_sinks();
}

void Logger::shutdown() {
  std::lock_guard lock(shutdown_mu_);
  // relaxed: shutdown_mu_ orders repeated calls.
  if (stopped_.load(std::memory_order_relaxed)) return;
  set_level(LogLevel::kOff);
  stopping_.store(true, std::memory_order_release);  // pairs with the backend's acquire loads
  work_.notify_all();
  if (backend_.joinable()) {
    backend_.join();
  } else {
    drain_all();
    flush_sinks();
  }
  stopped_.store(true, std::memory_order_release);  // pairs with the acquire loads in reserve_slow and flush
  space_.notify_all();
  progress_.notify_all();
}

absl::Status Logger::install_fatal_signal_handlers(int fd) {
  std::lock_guard lock(g_crash_mu);
  // relaxed: g_crash_mu orders installers.
  Logger* current = g_crash_logger.load(std::memory_order_relaxed);
  if (current != nullptr && current != this) {
    return absl::FailedPreconditionError(
        "Logger::install_fatal_signal_handlers: another Logger's handlers are installed");
  }
  g_crash_fd.store(fd, std::memory_order_relaxed);  // published by the release store below
  g_crash_logger.store(this, std::memory_order_release);  // pairs with the handler's acquire
  if (current == this) return absl::OkStatus();
  struct sigaction sa {};
  sa.sa_handler = fatal_signal_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = static_cast<int>(SA_RESETHAND);
  for (std::size_t i = 0; i < kFatalSignals.size(); ++i) {
    if (::sigaction(kFatalSignals[i], &sa, &g_previous_actions[i]) != 0) {
      const int err = errno;
      for (std::size_t j = 0; j < i; ++j) ::sigaction(kFatalSignals[j], &g_previous_actions[j], nullptr);
      g_crash_logger.store(nullptr, std::memory_order_release);  // pairs with the handler's acquire
      return absl::InternalError(fmt::format("Logger::install_fatal_signal_handlers: sigaction({}): {}",
                                             kFatalSignals[i], std::strerror(err)));
    }
  }
  return absl::OkStatus();
}

void Logger::crash_drain(int fd) noexcept {
  // seq_cst: the Dekker handshake with drain_all (see there).
  crashing_.store(true, std::memory_order_seq_cst);
  // Wait, boundedly, for the backend to finish the ring it is in; if the
  // backend itself crashed it never will, so give up after a while.
  for (int spins = 0; spins < 10'000'000 && consumer_busy_.load(std::memory_order_seq_cst); ++spins) cpu_relax();
  static constexpr char kBanner[] = "tickwire: fatal signal: records not yet written by the logger follow\n";
  write_all(fd, kBanner, sizeof(kBanner) - 1);
  LogBuffer line;
  // acquire: pairs with the release store in attach_thread.
  for (detail::ThreadRing* r = rings_.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    // Read [head, tail) without consuming: producers only append past tail.
    const std::uint64_t tail = r->ring.tail();
    std::uint64_t head = r->ring.head();
    const std::size_t cap = r->ring.capacity();
    while (head < tail) {
      const std::size_t pos = static_cast<std::size_t>(head) & r->ring.mask();
      if (cap - pos < sizeof(detail::RecordHeader)) {
        head += cap - pos;
        continue;
      }
      detail::RecordHeader h{};
      // Safety: a committed header lies at pos (as in ByteRing::consume).
      std::memcpy(&h, r->ring.data() + pos, sizeof(h));
      if (h.size == 0) break;  // not a record we can trust: stop this ring
      if (h.site != nullptr) {
        line.clear();
        try {
          fmt::format_to(fmt::appender(line), "[{}] [tid {}] {}:{} ",
                         spdlog::level::to_string_view(to_spdlog(h.site->level)), r->tid, h.site->file,
                         h.site->line);
          h.site->decode(r->ring.data() + pos + sizeof(detail::RecordHeader), h.site->format, line);
        } catch (...) {
          line.clear();
          fmt::format_to(fmt::appender(line), "[unformattable] {}", h.site->format);
        }
        line.push_back('\n');
        write_all(fd, line.data(), line.size());
      }
      head += h.size;
    }
    const std::uint64_t dropped = r->dropped->load(std::memory_order_relaxed);  // a statistic: pairs with nothing
    if (dropped != r->reported_dropped) {
      line.clear();
      fmt::format_to(fmt::appender(line), "{} messages dropped on thread {}\n", dropped - r->reported_dropped, r->tid);
      write_all(fd, line.data(), line.size());
    }
  }
}

}  // namespace tickwire::middleware
