#include "tickwire/connector/log.hpp"

#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>
#include <cstdlib>

#include "tickwire/middleware/status_text.hpp"

namespace tickwire::connector {
namespace {

constexpr std::string_view kTextPattern = "%Y-%m-%dT%H:%M:%S.%f%z %^%l%$ %v";
constexpr std::string_view kJsonPattern =
    R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l","thread":%t,"logger":"%n","message":"%*"})";

// JsonMessage: the %* flag, the message as the inside of a JSON string.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (const char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (c == '\n') {
        dest.push_back('\\');
        dest.push_back('n');
      } else if (u < 0x20) {
        const char escape[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
        dest.append(escape, escape + sizeof escape);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

std::unique_ptr<spdlog::formatter> formatter_for(config::LogFormat format) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == config::LogFormat::kJson) {
    formatter->add_flag<JsonMessage>('*').set_pattern(std::string(kJsonPattern));
  } else {
    formatter->set_pattern(std::string(kTextPattern));
  }
  return formatter;
}

// The one stderr sink; its formatter is swapped by set_log_format (spdlog's
// _mt sinks take their mutex for set_formatter and for every write).
spdlog::sink_ptr& stderr_sink() {
  static spdlog::sink_ptr sink = middleware::Logger::stderr_sink();
  return sink;
}

}  // namespace

middleware::Logger& log() {
  static const std::unique_ptr<middleware::Logger> logger = [] {
    middleware::LoggerOptions options;
    options.sinks = {stderr_sink()};
    options.pattern = std::string(kTextPattern);
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

void set_log_format(config::LogFormat format) {
  (void)log();  // the sink gets the logger's pattern when the logger is created: set ours after
  stderr_sink()->set_formatter(formatter_for(format));
}

}  // namespace tickwire::connector
