#include "tickwire/connector/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "tickwire/middleware/status_text.hpp"

namespace tickwire::connector {

middleware::Logger& log() {
  static const std::unique_ptr<middleware::Logger> logger = [] {
    middleware::LoggerOptions options;
    options.pattern = "%Y-%m-%dT%H:%M:%S.%f%z %^%l%$ %v";
    // A full ring drops and counts (the backend reports the count in the
    // log): a burst of log lines must never stall a feed thread.
    options.on_full = middleware::FullPolicy::kDrop;
    auto created = middleware::Logger::create(std::move(options));
    if (!created.ok()) {
      const auto text = middleware::status_text(created.status());
      std::fprintf(stderr, "tickwire: cannot start the logger: %.*s\n", static_cast<int>(text.size()), text.data());
      std::abort();
    }
    // On a crash, what is still in the rings is written to stderr before
    // the process dies (see Logger::install_fatal_signal_handlers for limits).
    if (auto installed = (*created)->install_fatal_signal_handlers(STDERR_FILENO); !installed.ok()) {
      const auto text = middleware::status_text(installed);
      std::fprintf(stderr, "tickwire: fatal-signal log drain not installed: %.*s\n", static_cast<int>(text.size()),
                   text.data());
    }
    return std::move(*created);
  }();
  return *logger;
}

}  // namespace tickwire::connector
