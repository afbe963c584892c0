// `tickwire sim`: the exchange simulator as a standalone server.
#include <signal.h>

#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands/commands.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/config/config.hpp"
#include "tickwire/connector/simulator.hpp"

namespace tickwire::connector::commands {

Command add_sim(CLI::App& app) {
  struct Options {
    SimulatorOptions sim;
    std::string config;
  };
  auto opts = std::make_shared<Options>();
  opts->sim.symbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"};
  CLI::App* sub = app.add_subcommand(
      "sim", "Run the exchange simulator (Binance combined-stream trades, Poisson arrivals) on loopback");
  sub->add_option("-c,--config", opts->config,
                  "Take symbols, rate and seed from this config's [simulator] and sim:// feeds");
  sub->add_option("--host", opts->sim.host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", opts->sim.port, "Port to listen on (0: any free port)")->capture_default_str();
  sub->add_option("--symbols", opts->sim.symbols, "Symbols to simulate")->delimiter(',')->capture_default_str();
  sub->add_option("--rate", opts->sim.rate, "Mean messages per second over all symbols")
      ->check(CLI::PositiveNumber)->capture_default_str();
  sub->add_option("--seed", opts->sim.seed, "Random seed (same seed, same market)")->capture_default_str();
  sub->add_option("--count", opts->sim.count, "Stop generating after this many messages (0: never)");
  sub->add_option("--record", opts->sim.record_path, "Write every message sent to this file, one per line");
  return {sub, [opts, sub] {
            SimulatorOptions so = opts->sim;
            if (!opts->config.empty()) {
              auto cfg = config::load_file(opts->config);
              if (!cfg.ok()) {
                fmt::print(stderr, "tickwire sim: {}\n", middleware::status_text(cfg.status()));
                return kExitUsage;
              }
              if (sub->count("--rate") == 0) so.rate = cfg->simulator.rate;
              if (sub->count("--seed") == 0) so.seed = cfg->simulator.seed;
              if (sub->count("--count") == 0) so.count = cfg->simulator.count;
              if (sub->count("--symbols") == 0) {
                so.symbols.clear();
                for (const auto& f : cfg->feeds) {
                  if (f.url == "sim://") so.symbols.insert(so.symbols.end(), f.symbols.begin(), f.symbols.end());
                }
              }
            }
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGINT);
            sigaddset(&set, SIGTERM);
            pthread_sigmask(SIG_BLOCK, &set, nullptr);
            Simulator sim(so);
            auto port = sim.start();
            if (!port.ok()) {
              fmt::print(stderr, "tickwire sim: {}\n", middleware::status_text(port.status()));
              return absl::IsInvalidArgument(port.status()) ? kExitUsage : kExitIo;
            }
            std::printf("tickwire sim: listening on ws://%s:%u/stream\n", so.host.c_str(), static_cast<unsigned>(*port));
            std::fflush(stdout);
            int sig = 0;
            sigwait(&set, &sig);
            sim.stop();
            fmt::print(stderr, "tickwire sim: {} messages sent to {} connections\n", sim.sent(), sim.connections());
            return kExitOk;
          }};
}

}  // namespace tickwire::connector::commands
