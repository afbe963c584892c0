#include "tickwire/connector/status_line.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>

#include "tickwire/middleware/status_text.hpp"

namespace tickwire::connector {
namespace {

std::string bytes_text(std::uint64_t n) {
  if (n >= (1ull << 30)) return fmt::format("{:.2f} GiB", static_cast<double>(n) / (1ull << 30));
  if (n >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1ull << 20));
  if (n >= (1ull << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / (1ull << 10));
  return fmt::format("{} B", n);
}

// storage_text: what the journal's storage is doing, when it is not simply working.
std::string storage_text(const journal::Stats& js, const journal::Journal& journal) {
  std::string out;
  if (js.storage_failing) {
    out = fmt::format(" | STORAGE FAILING ({} errors): {}", js.storage_errors, middleware::status_text(journal.storage_error()));
  } else if (js.storage_errors != 0) {
    out = fmt::format(" | storage errors {}", js.storage_errors);
  }
  if (js.ring_damaged != 0) out += fmt::format(" | ring records damaged {}", js.ring_damaged);
  return out;
}

}  // namespace

StatusLine::StatusLine(bool enabled)
    : enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1), last_time_(std::chrono::steady_clock::now()) {}

std::string StatusLine::format(const PipelineCounters& c, const journal::Journal& journal) {
  // relaxed loads throughout: independent statistics.
  const auto messages = c.messages.load(std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(now - last_time_).count();
  const double rate = secs > 0 ? static_cast<double>(messages - last_messages_) / secs : 0.0;
  last_messages_ = messages;
  last_time_ = now;
  const journal::Stats js = journal.stats();
  return fmt::format(
      "{:>9.0f} msg/s | {} msgs | {} symbols | journal {} (durable seq {}) | drops {} | rejected {} | "
      "ignored {} | duplicates {} | gaps {} | resyncs {} | connects {} disconnects {} | rollovers {} | lag {} ms",
      rate, messages, c.symbols.load(std::memory_order_relaxed), bytes_text(js.segment_bytes), js.durable_seq,
      js.dropped + c.dropped.load(std::memory_order_relaxed), c.rejected.load(std::memory_order_relaxed),
      c.ignored.load(std::memory_order_relaxed), c.duplicates.load(std::memory_order_relaxed),
      c.gaps.load(std::memory_order_relaxed), c.resyncs.load(std::memory_order_relaxed),
      c.connects.load(std::memory_order_relaxed), c.disconnects.load(std::memory_order_relaxed),
      c.rollovers.load(std::memory_order_relaxed), c.lag_ms.load(std::memory_order_relaxed)) +
         storage_text(js, journal);
}

void StatusLine::print(const PipelineCounters& counters, const journal::Journal& journal,
                       std::string_view publish) {
  if (!enabled_) return;
  std::string line = format(counters, journal);
  if (!publish.empty()) line.append(" | ").append(publish);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void StatusLine::finish() {
  if (enabled_ && tty_) std::fputc('\n', stderr);
}

}  // namespace tickwire::connector
