// Subprocess: a child process started with posix_spawn, its stdout captured
// through a pipe (line by line), stopped by signal and reaped by the owner.
// Tests use it to run the real `tickwire` binary and real servers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tickwire::testing {

class Subprocess {
 public:
  // Starts argv[0] (a path) with the given arguments. stdout is captured;
  // stderr goes to the test's stderr unless stderr_path is set.
  explicit Subprocess(std::vector<std::string> argv, std::string stderr_path = {});
  ~Subprocess();  // SIGKILLs and reaps a child still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads one line of the child's stdout; nullopt at EOF or after timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Sends a signal.
  void kill(int signo);
  // Waits for exit; returns the exit status as from waitpid, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
};

// Runs a command to completion, returning (exit code, stdout). Throws if it
// cannot be started or does not finish within the timeout.
struct CommandResult {
  int exit_code;
  std::string out;
};
CommandResult run_command(std::vector<std::string> argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120));

// A free TCP port on 127.0.0.1 at the moment of the call (bind to 0, read, close).
int free_loopback_port();

}  // namespace tickwire::testing
