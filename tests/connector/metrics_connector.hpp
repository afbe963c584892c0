// MetricsRun: a real `tickwire run` process against an in-process exchange
// simulator, with its metrics endpoint on a free loopback port (set through
// TICKWIRE_METRICS_LISTEN), for the endpoint tests. Header-only, like
// fault_harness.hpp: the suites under tests/connector link the connector.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "metrics_http.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"
#include "tickwire/connector/simulator.hpp"

namespace tickwire::testing {

class MetricsRun {
 public:
  explicit MetricsRun(connector::SimulatorOptions sim, std::vector<std::string> env = {},
                      std::string channels = "\"trade\", \"depth@100ms\"")
      : sim_(std::make_unique<connector::Simulator>(std::move(sim))) {
    auto port = sim_->start();
    EXPECT_TRUE(port.ok()) << port.status();
    sim_port_ = port.ok() ? *port : 0;
    metrics_port_ = free_loopback_port();
    std::string symbols;
    for (const auto& s : sim_options_symbols()) symbols += (symbols.empty() ? "\"" : ", \"") + s + "\"";
    config_ = dir_ / "metrics.toml";
    std::ofstream(config_) << "env = \"test\"\n[[feeds]]\nname = \"sim\"\nexchange = \"binance\"\n"
                           << "url = \"ws://127.0.0.1:" << sim_port_ << "/stream\"\n"
                           << "rest_url = \"http://127.0.0.1:" << sim_port_ << "\"\n"
                           << "symbols = [" << symbols << "]\nchannels = [" << channels << "]\n"
                           << "backoff_initial_ms = 20\nbackoff_max_ms = 200\n"
                           << "[journal]\ndir = \"data\"\nfsync = \"none\"\nring_bytes = \"1MiB\"\n"
                           << "segment_bytes = \"4MiB\"\n[status]\nheartbeat_ms = 0\n";
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "TICKWIRE_METRICS_LISTEN=127.0.0.1:" + std::to_string(metrics_port_)};
    for (auto& e : env) argv.push_back(std::move(e));
    for (const char* a : {TICKWIRE_BINARY, "run", "-c"}) argv.emplace_back(a);
    argv.push_back(config_.string());
    process_ = std::make_unique<Subprocess>(argv, log_path().string());
  }

  connector::Simulator& sim() { return *sim_; }
  int port() const { return metrics_port_; }
  std::filesystem::path journal_dir() const { return dir_.path() / "data"; }
  std::filesystem::path log_path() const { return dir_.path() / "connector.log"; }
  std::string log() const { return read_text(log_path()); }
  Subprocess& process() { return *process_; }

  HttpResult get(std::string_view target) const { return http_get(metrics_port_, target); }

  // wait_for: polls `target` until `accept` holds (60 s deadline); the last answer.
  HttpResult wait_for(std::string_view target, const std::function<bool(const HttpResult&)>& accept) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    HttpResult last;
    for (;;) {
      last = get(target);
      if (accept(last)) return last;
      if (process_->wait(std::chrono::milliseconds(0)).has_value()) {
        ADD_FAILURE() << "the connector exited; its log:\n" << log();
        return last;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ADD_FAILURE() << target << " never matched; last answer " << last.status << ": " << last.body
                      << "\nconnector log:\n" << log();
        return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition, deadline above
    }
  }

  // stop: SIGTERM, then the exit status (nullopt if it did not exit).
  std::optional<int> stop() {
    process_->kill(SIGTERM);
    return process_->wait();
  }

 private:
  std::vector<std::string> sim_options_symbols() const { return {"BTCUSDT", "ETHUSDT"}; }

  TempDir dir_{"tickwire-metrics"};
  std::unique_ptr<connector::Simulator> sim_;
  std::uint16_t sim_port_ = 0;
  int metrics_port_ = 0;
  std::filesystem::path config_;
  std::unique_ptr<Subprocess> process_;
};

// metric_value: the value of the first sample of `name` (with `labels`, e.g.
// "{feed=\"sim\"}") in a scrape, or nullopt.
inline std::optional<double> metric_value(const std::string& scrape, const std::string& name,
                                          const std::string& labels = {}) {
  const std::string prefix = name + labels + " ";
  std::size_t at = 0;
  while ((at = scrape.find(prefix, at)) != std::string::npos) {
    if (at == 0 || scrape[at - 1] == '\n') {
      const auto end = scrape.find('\n', at);
      return std::stod(scrape.substr(at + prefix.size(), end - at - prefix.size()));
    }
    at += prefix.size();
  }
  return std::nullopt;
}

// metric_sum: the sum of every sample of `name` whose labels contain
// `labels_part` (e.g. feed="sim"), or nullopt if there is none.
inline std::optional<double> metric_sum(const std::string& scrape, const std::string& name,
                                        const std::string& labels_part) {
  std::optional<double> sum;
  std::size_t at = 0;
  while ((at = scrape.find(name + "{", at)) != std::string::npos) {
    const auto end = scrape.find('\n', at);
    const std::string line = scrape.substr(at, end - at);
    at = end;
    const auto close = line.find("} ");
    if (close == std::string::npos || line.substr(0, close).find(labels_part) == std::string::npos) continue;
    sum = sum.value_or(0) + std::stod(line.substr(close + 2));
  }
  return sum;
}

inline connector::SimulatorOptions metrics_sim() {
  connector::SimulatorOptions o;
  o.symbols = {"BTCUSDT", "ETHUSDT"};
  o.rate = 2000;
  o.seed = 5;
  o.depth_interval_ms = 20;
  return o;
}

}  // namespace tickwire::testing
