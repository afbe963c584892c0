#include "support/node_ws_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tickwire::testing {

namespace {

std::filesystem::path script_path() { return std::filesystem::path(TICKWIRE_SOURCE_DIR) / "tests/peers/ws_server.mjs"; }

}  // namespace

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const auto candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

std::string node_ws_missing() {
  if (find_on_path("node").empty()) return "node is not on PATH";
  const auto ws = std::filesystem::path(TICKWIRE_SOURCE_DIR) / "node_modules/ws/package.json";
  if (!std::filesystem::exists(ws)) return ws.parent_path().string() + " is absent (npm ci installs it)";
  const std::filesystem::path fixtures(TICKWIRE_FIXTURES_DIR);
  if (!std::filesystem::exists(fixtures / "binance")) return (fixtures / "binance").string() + " is absent";
  return {};
}

NodeWsServer::NodeWsServer(Options options) {
  std::vector<std::string> argv{find_on_path("node"), script_path().string(), "--fixtures",
                                options.fixtures_dir.string()};
  if (!options.cert_file.empty()) {
    argv.insert(argv.end(), {"--cert", options.cert_file.string(), "--key", options.key_file.string()});
  }
  argv.insert(argv.end(), options.sources.begin(), options.sources.end());
  process_ = std::make_unique<Subprocess>(argv, (dir_ / "server.log").string());
  const std::string line = process_->read_line().value_or("");
  int port = 0;
  const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), port);
  if (ec != std::errc{} || end != line.data() + line.size() || port <= 0) {
    stop();
    throw std::runtime_error("ws_server.mjs printed '" + line + "' instead of its port; its log:\n" + log());
  }
  port_ = port;
}

NodeWsServer::~NodeWsServer() { stop(); }

std::optional<std::string> NodeWsServer::next_event(const std::string& name, std::chrono::milliseconds timeout) {
  if (!process_) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string tag = "{\"event\":\"" + name + "\"";
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = process_->read_line(left);
    if (!line) return std::nullopt;
    if (line->rfind(tag, 0) == 0) return line;
  }
}

std::optional<int> NodeWsServer::stop() {
  if (!process_) return std::nullopt;
  process_->kill(SIGTERM);
  auto status = process_->wait(std::chrono::seconds(10));
  if (!status) {
    process_->kill(SIGKILL);
    process_->wait(std::chrono::seconds(10));
  }
  process_.reset();
  return status;
}

std::string NodeWsServer::log() const {
  std::ifstream in(dir_ / "server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tickwire::testing
