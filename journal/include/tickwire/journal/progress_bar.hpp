// ProgressBar: `verify [########            ]  40.0%  96 / 240 MiB`, redrawn
// in place on a terminal at most ten times a second, for the journal tools'
// long passes (examine, recover). On anything but a terminal it writes
// nothing, so piped or logged output carries no control characters.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "tickwire/journal/examine.hpp"

namespace tickwire::journal {

class ProgressBar {
 public:
  // ProgressBar: draws on `fd` (stderr by default) if it is a terminal.
  explicit ProgressBar(std::string label, int fd = 2);

  // enabled: whether `fd` is a terminal (isatty), so that anything is drawn.
  bool enabled() const { return enabled_; }
  // update: redraws if 100 ms passed since the last draw; always draws the
  // first call and the completed bar (done >= total, then a newline, once).
  void update(std::uint64_t done, std::uint64_t total);
  // progress: a Progress callback that calls update() on this bar (which must outlive it).
  Progress progress();

 private:
  void draw(std::uint64_t done, std::uint64_t total);

  std::string label_;
  int fd_;
  bool enabled_;
  bool finished_ = false;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace tickwire::journal
