// `tickwire run -c CONFIG`: the connector.
#include <fmt/format.h>

#include <memory>

#include "commands/commands.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/config/config.hpp"
#include "tickwire/connector/log.hpp"
#include "tickwire/connector/runner.hpp"

namespace tickwire::connector::commands {

Command add_run(CLI::App& app) {
  struct Options {
    std::string config = "config/default.toml";
    std::uint64_t max_messages = 0;
    bool no_status = false;
    std::string hgrm_dir;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("run", "Run the connector: feeds -> in-process transport + journal");
  sub->add_option("-c,--config", opts->config, "TOML configuration file")->capture_default_str();
  sub->add_option("--max-messages", opts->max_messages,
                  "Stop cleanly after this many market events (0: run until SIGINT/SIGTERM/SIGHUP)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--no-status", opts->no_status, "Do not print the live status line");
  sub->add_option("--hgrm-dir", opts->hgrm_dir,
                  "At shutdown, write one HdrHistogram .hgrm file per profiler stage into this directory");
  return {sub, [opts] {
            auto cfg = config::load_file(opts->config, config::environment_overrides());
            if (!cfg.ok()) {
              fmt::print(stderr, "tickwire run: {}\n", middleware::status_text(cfg.status()));
              return kExitUsage;
            }
            set_log_format(cfg->log.format);
            absl::Status st =
                run_connector(*cfg, {opts->max_messages, !opts->no_status, opts->hgrm_dir, TICKWIRE_VERSION});
            if (!st.ok()) {
              fmt::print(stderr, "tickwire run: {}\n", middleware::status_text(st));
              return absl::IsInvalidArgument(st) ? kExitUsage : kExitIo;
            }
            return kExitOk;
          }};
}

}  // namespace tickwire::connector::commands
