#include "tickwire/journal/progress_bar.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

namespace tickwire::journal {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
constexpr std::size_t kWidth = 40;

}  // namespace

ProgressBar::ProgressBar(std::string label, int fd) : label_(std::move(label)), fd_(fd), enabled_(::isatty(fd) == 1) {}

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_ || finished_) return;
  const bool complete = done >= total;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && !complete && now - last_ < kRedrawEvery) return;
  last_ = now;
  drawn_ = true;
  finished_ = complete;
  draw(done, total);
}

void ProgressBar::draw(std::uint64_t done, std::uint64_t total) {
  const double frac = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const auto filled = static_cast<std::size_t>(frac * static_cast<double>(kWidth));
  std::string line = fmt::format("\r{} [{:<{}}] {:5.1f}%  {} / {} MiB{}", label_, std::string(filled, '#'), kWidth,
                                 frac * 100.0, done >> 20, total >> 20, finished_ ? "\n" : "");
  // A progress bar is best effort: a failed or short write to the terminal is not an error.
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

Progress ProgressBar::progress() {
  if (!enabled_) return {};
  return [this](std::uint64_t done, std::uint64_t total) { update(done, total); };
}

}  // namespace tickwire::journal
