// StatusLine: the live one-line status `tickwire run` prints on stderr
// (messages/s, messages, symbols, journal bytes, durable sequence, drops,
// rejected frames, connections). On a terminal it rewrites one line in place;
// otherwise it prints one line per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "tickwire/connector/feed_pipeline.hpp"

namespace tickwire::connector {

class StatusLine {
 public:
  explicit StatusLine(bool enabled);

  // format: the status text for the counters since the previous call.
  std::string format(const PipelineCounters& counters, const journal::Journal& journal);
  // print: format() to stderr, then " | " and `publish` (the publish targets' report) if not empty.
  void print(const PipelineCounters& counters, const journal::Journal& journal, std::string_view publish = {});
  // finish: ends an in-place line with a newline.
  void finish();
  // on_terminal: stderr is a terminal (the line is rewritten in place).
  bool on_terminal() const { return tty_; }

 private:
  bool enabled_;
  bool tty_;
  std::uint64_t last_messages_ = 0;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace tickwire::connector
