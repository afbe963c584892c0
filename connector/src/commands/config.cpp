// `tickwire config check FILE` and `tickwire config print FILE`: validate a
// configuration (with the TICKWIRE_* variables of the environment applied)
// without starting anything, or print the effective configuration as TOML.
#include <fmt/format.h>

#include <memory>

#include "commands/commands.hpp"
#include "tickwire/config/config.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace tickwire::connector::commands {

Command add_config(CLI::App& app) {
  struct Options {
    std::string check_file;
    std::string print_file;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "config", "Check a configuration, or print the effective one (TICKWIRE_* variables applied)");
  sub->require_subcommand(1);
  CLI::App* check = sub->add_subcommand("check", "Validate FILE (and the TICKWIRE_* variables); exit 0 if valid");
  check->add_option("file", opts->check_file, "TOML configuration file")->required();
  CLI::App* print = sub->add_subcommand("print", "Print the effective configuration of FILE as TOML");
  print->add_option("file", opts->print_file, "TOML configuration file")->required();
  return {sub, [opts, check] {
            const bool checking = check->parsed();
            const std::string& file = checking ? opts->check_file : opts->print_file;
            auto cfg = config::load_file(file, config::environment_overrides());
            if (!cfg.ok()) {
              fmt::print(stderr, "tickwire config {}: {}\n", checking ? "check" : "print",
                         middleware::status_text(cfg.status()));
              return absl::IsInvalidArgument(cfg.status()) ? kExitUsage : kExitIo;
            }
            if (checking) {
              fmt::print("{}: ok\n", file);
            } else {
              fmt::print("{}", config::to_toml(*cfg));
            }
            return kExitOk;
          }};
}

}  // namespace tickwire::connector::commands
