// tickwire: the command-line entry point. Each subcommand lives in its own
// file under connector/src/commands/; main only parses and dispatches.
#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{"tickwire: low-latency market-data connector"};
  app.set_version_flag("--version", std::string("tickwire ") + TICKWIRE_VERSION);
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
