// tickwire: the command-line entry point. Each subcommand lives in its own
// file under connector/src/commands/; main only parses and dispatches.
#include <CLI/CLI.hpp>

#include <exception>

#include "commands/commands.hpp"
#include "tickwire/connector/log.hpp"

int main(int argc, char** argv) {
  namespace cmd = tickwire::connector::commands;
  CLI::App app{"tickwire: low-latency market-data connector"};
  app.set_version_flag("--version", std::string("tickwire ") + TICKWIRE_VERSION);
  app.require_subcommand(1);
  std::vector<cmd::Command> commands = {cmd::add_run(app), cmd::add_sim(app), cmd::add_replay(app),
                                        cmd::add_config(app), cmd::add_health(app)};
  for (auto& c : cmd::add_journal_tools(app)) commands.push_back(std::move(c));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? cmd::kExitOk : cmd::kExitUsage;
  }
  try {
    for (auto& c : commands) {
      if (c.sub->parsed()) return c.run();
    }
  } catch (const std::exception& e) {
    TW_LOG_CRITICAL(tickwire::connector::log(), "{}", e.what());
    return cmd::kExitFailure;
  }
  return cmd::kExitUsage;
}
