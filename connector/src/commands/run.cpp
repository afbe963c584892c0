// `tickwire run -c CONFIG`: the connector.
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <string_view>

#include "commands/commands.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/config/config.hpp"
#include "tickwire/connector/log.hpp"
#include "tickwire/connector/runner.hpp"

namespace tickwire::connector::commands {
namespace {

constexpr std::chrono::milliseconds kMaxIdle = std::chrono::hours(24);

// parse_idle: "<integer><ms|s|m|h>" as a duration in [1 ms, 24 h].
absl::StatusOr<std::chrono::milliseconds> parse_idle(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  const std::uint64_t scale = unit == "ms" ? 1
                              : unit == "s" ? 1000
                              : unit == "m" ? 60'000
                              : unit == "h" ? 3'600'000
                                            : 0;
  if (err != std::errc{} || end == text.data() || scale == 0) {
    return absl::InvalidArgumentError(
        fmt::format("--exit-when-idle: expected a whole number with a unit (ms, s, m, h), e.g. 5s, got '{}'", text));
  }
  if (n == 0 || n > static_cast<std::uint64_t>(kMaxIdle.count()) / scale) {
    return absl::InvalidArgumentError(fmt::format("--exit-when-idle: expected 1ms to 24h, got '{}'", text));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(n * scale));
}

}  // namespace

Command add_run(CLI::App& app) {
  struct Options {
    std::string config = "config/default.toml";
    std::uint64_t max_messages = 0;
    bool no_status = false;
    std::string hgrm_dir;
    std::string exit_when_idle;
    std::string inproc_probe;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("run", "Run the connector: feeds -> in-process transport + journal");
  sub->add_option("-c,--config", opts->config, "TOML configuration file")->capture_default_str();
  sub->add_option("--max-messages", opts->max_messages,
                  "Stop cleanly after this many market events (0: run until SIGINT/SIGTERM/SIGHUP)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--exit-when-idle", opts->exit_when_idle,
                  "Stop cleanly (as on SIGTERM: journal drained) once no market message has arrived for this long,\n"
                  "e.g. 5s, 500ms, 2m (1ms to 24h); for a replay (url = \"sim://\" with [simulator] replay)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            auto d = parse_idle(text);
            return d.ok() ? std::string() : std::string(d.status().message());
          },
          "DURATION"));
  sub->add_flag("--no-status", opts->no_status, "Do not print the live status line");
  sub->add_option("--hgrm-dir", opts->hgrm_dir,
                  "At shutdown, write one HdrHistogram .hgrm file per profiler stage into this directory");
  sub->add_option("--inproc-probe", opts->inproc_probe,
                  "Subscribe one in-process handler to every record (needs \"inproc\" in [publish] to) and log\n"
                  "the latency from frame received to that handler at exit (inproc_handler.hgrm with --hgrm-dir):\n"
                  "parked (the transport's delivery thread, asleep when idle) or spin (a thread polling, never asleep)")
      ->check(CLI::IsMember({"parked", "spin"}));
  return {sub, [opts] {
            auto cfg = config::load_file(opts->config, config::environment_overrides());
            if (!cfg.ok()) {
              fmt::print(stderr, "tickwire run: {}\n", middleware::status_text(cfg.status()));
              return kExitUsage;
            }
            set_log_format(cfg->log.format);
            RunOptions ro{opts->max_messages, {}, !opts->no_status, opts->hgrm_dir, TICKWIRE_VERSION};
            ro.inproc_probe = !opts->inproc_probe.empty();
            ro.inproc_probe_spin = opts->inproc_probe == "spin";
            if (!opts->exit_when_idle.empty()) ro.exit_when_idle = *parse_idle(opts->exit_when_idle);  // checked above
            absl::Status st = run_connector(*cfg, ro);
            if (!st.ok()) {
              if (cfg->log.format == config::LogFormat::kJson) {
                // One more JSON line where the logs go (the logger drains at exit), not plain text.
                TW_LOG_ERROR(log(), "tickwire run: {}", middleware::status_text(st));
              } else {
                fmt::print(stderr, "tickwire run: {}\n", middleware::status_text(st));
              }
              return absl::IsInvalidArgument(st) ? kExitUsage : kExitIo;
            }
            return kExitOk;
          }};
}

}  // namespace tickwire::connector::commands
