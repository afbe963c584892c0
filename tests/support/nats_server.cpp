#include "support/nats_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tickwire::testing {

namespace {
constexpr const char* kNatsServer = "/usr/sbin/nats-server";
}  // namespace

bool accepts_nats_connection(int port, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  // Safety: sockaddr_in is the documented argument type for an AF_INET connect.
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  std::string greeting;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ok && greeting.size() < 5) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[256];
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got <= 0) break;
    greeting.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return greeting.rfind("INFO ", 0) == 0;
}

NatsServer::NatsServer(Options options, const Auth& auth) {
  port_ = options.port != 0 ? options.port : free_loopback_port();
  std::vector<std::string> argv{kNatsServer, "-a", "127.0.0.1", "-p", std::to_string(port_)};
  if (!auth.user.empty()) argv.insert(argv.end(), {"--user", auth.user, "--pass", auth.password});
  if (options.jetstream) {
    const auto store = dir_ / "jetstream";
    std::filesystem::create_directories(store);
    argv.insert(argv.end(), {"-js", "-sd", store.string()});
  }
  process_ = std::make_unique<Subprocess>(argv, (dir_ / "server.log").string());
  // Bounded retries with a growing pause between refused connects: the
  // readiness signal is the server's own INFO greeting, not elapsed time.
  std::chrono::milliseconds pause(5);
  for (int attempt = 0; attempt < 40; ++attempt) {
    if (accepts_nats_connection(port_, std::chrono::seconds(2))) return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(250));
  }
  const std::string log_text = log();
  stop();
  throw std::runtime_error("nats-server on 127.0.0.1:" + std::to_string(port_) +
                           " did not accept connections; its log:\n" + log_text);
}

NatsServer::~NatsServer() { stop(); }

std::string NatsServer::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

void NatsServer::stop() {
  if (!process_) return;
  process_->kill(SIGTERM);
  if (!process_->wait(std::chrono::seconds(10))) {
    process_->kill(SIGKILL);
    process_->wait(std::chrono::seconds(10));
  }
  process_.reset();
}

std::string NatsServer::log() const {
  std::ifstream in(dir_ / "server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tickwire::testing
