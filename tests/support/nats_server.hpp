// NatsServer: a real nats-server (/usr/sbin/nats-server) for one test, on
// 127.0.0.1 and a free port, optionally with JetStream on a temp store. The
// constructor returns once the server accepts a TCP connection and sends its
// INFO line (bounded connect retries); stop() or the destructor stops it by
// its PID (SIGTERM, then SIGKILL if it lingers) and reaps it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace tickwire::testing {

class NatsServer {
 public:
  struct Options {
    bool jetstream = false;  // -js with -sd <a fresh temp dir>
    int port = 0;            // 0: a free loopback port
  };

  // Throws std::runtime_error, naming the port and the server's log, if it
  // does not accept connections within 10 s.
  // Auth: with a user, clients must authenticate with user/password (--user/--pass).
  struct Auth {
    std::string user;
    std::string password;
  };
  explicit NatsServer(Options options, const Auth& auth = {});
  NatsServer() : NatsServer(Options{}) {}
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  int port() const { return port_; }
  // url: "nats://127.0.0.1:<port>".
  std::string url() const;
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  // stop: SIGTERM by PID, wait (SIGKILL after 10 s), reap. Idempotent.
  void stop();
  // log: what the server wrote to stderr so far.
  std::string log() const;

 private:
  TempDir dir_{"tickwire-nats"};
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

// accepts_nats_connection: connects to 127.0.0.1:port and reads the server's
// "INFO " greeting within `timeout`.
bool accepts_nats_connection(int port, std::chrono::milliseconds timeout);

}  // namespace tickwire::testing
