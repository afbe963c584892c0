// The `tickwire` subcommands. Each add_* registers one or more subcommands on
// the CLI11 app and returns what main runs when that subcommand was chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace tickwire::connector::commands {

struct Command {
  CLI::App* sub;             // the registered subcommand
  std::function<int()> run;  // runs it after parsing; returns the exit code
};

// Exit codes shared by all subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // the command ran and failed (e.g. verify found damage)
inline constexpr int kExitUsage = 2;        // bad arguments or configuration
inline constexpr int kExitIo = 3;           // could not read or write what it needs

Command add_run(CLI::App& app);
Command add_sim(CLI::App& app);
Command add_replay(CLI::App& app);
// config check FILE, config print FILE.
Command add_config(CLI::App& app);
// health [URL]: GET a health endpoint (the image's HEALTHCHECK).
Command add_health(CLI::App& app);
// verify, recover, inspect (journal tools).
std::vector<Command> add_journal_tools(CLI::App& app);

}  // namespace tickwire::connector::commands
