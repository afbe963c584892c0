// NodeWsServer: tests/peers/ws_server.mjs, a websocket server written with
// Node's `ws` package, for one test. It replays exchange fixtures (read in
// place from TICKWIRE_FIXTURES_DIR) to every client, plain or over TLS. The
// constructor returns once the server printed its port; stop() or the
// destructor stops it by its PID (SIGTERM, then SIGKILL if it lingers).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace tickwire::testing {

class NodeWsServer {
 public:
  struct Options {
    // ws_server.mjs's SOURCE list, in order: fixture paths relative to
    // `fixtures_dir` ("binance/trade.docs.json") and "--raw", TEXT pairs
    // (TEXT is sent verbatim as one frame).
    std::vector<std::string> sources;
    std::filesystem::path fixtures_dir = TICKWIRE_FIXTURES_DIR;
    std::filesystem::path cert_file;  // both set: TLS
    std::filesystem::path key_file;
  };

  // Throws std::runtime_error, with the server's log, if no port is printed
  // within 30 s.
  explicit NodeWsServer(Options options);
  ~NodeWsServer();
  NodeWsServer(const NodeWsServer&) = delete;
  NodeWsServer& operator=(const NodeWsServer&) = delete;

  int port() const { return port_; }
  // next_event: reads the server's stdout up to the next line whose "event" is
  // `name` (lines for other events are skipped) and returns it; nullopt at
  // EOF or timeout.
  std::optional<std::string> next_event(const std::string& name,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // stop: SIGTERM by PID, wait (SIGKILL after 10 s), reap; returns the wait
  // status, or nullopt if it had to be killed. Idempotent (nullopt after the first).
  std::optional<int> stop();
  // log: what the server wrote to stderr so far (every frame sent and received).
  std::string log() const;

 private:
  TempDir dir_{"tickwire-ws-peer"};
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

// node_ws_missing: why NodeWsServer cannot run here ("node is not on PATH",
// "<dir>/node_modules/ws is absent", "<fixtures> is absent"), or "" if it can.
std::string node_ws_missing();

// find_on_path: the first executable `name` on $PATH, or "" if there is none.
std::string find_on_path(const std::string& name);

}  // namespace tickwire::testing
