// NATS publish throughput: NatsTransport::publish next to nats.c's own
// natsConnection_Publish, the same Envelope bytes on the same subject to a
// nats-server this binary starts on 127.0.0.1 (a free port) and stops by PID.
// Each benchmark times its publishes (nats.c writes to the socket when its
// buffer fills, so the server's pace shows); a flush after the timed loop
// checks that every byte reached the server. No subscriber: the server drops
// what nobody asked for. Run: build/release/bench/bench_nats --benchmark_repetitions=10
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/middleware/nats_transport.hpp"
#include "tickwire/middleware/status_text.hpp"

extern char** environ;

namespace {

constexpr const char* kSubject = "bench.binance.trade.BTCUSDT";

std::string g_url;                    // set by main before any benchmark runs
std::vector<std::byte> g_envelope;    // one encoded trade Envelope

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  // Safety: sockaddr_in is the documented argument type for AF_INET bind/getsockname.
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("bench_nats: free port");
    std::exit(1);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Server: nats-server on 127.0.0.1:port, up once a nats.c connection succeeds.
class Server {
 public:
  explicit Server(int port) {
    std::vector<std::string> argv{"/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", std::to_string(port)};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    // The server's log goes to /dev/null, not into the benchmark's report.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      std::perror("bench_nats: posix_spawn nats-server");
      std::exit(1);
    }
  }
  ~Server() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  pid_t pid_ = -1;
};

// wait_until_up: bounded connect retries (the server's accept is the signal).
bool wait_until_up(const std::string& url) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    natsConnection* nc = nullptr;
    if (natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK) {
      natsConnection_Destroy(nc);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<std::byte> encode_trade() {
  tickwire::middleware::BufferPool pool;
  tickwire::connector::EnvelopeEncoder encoder(pool);
  tickwire::connector::TradeEvent t;
  t.symbol = "BTCUSDT";
  t.trade_id = 3000000;
  t.price = {299946000000, -8};
  t.size = {180697, -8};
  t.aggressor = tickwire::connector::Side::kSell;
  t.event_ns = 1795359219671000000;
  t.trade_ns = t.event_ns;
  const auto bytes = encoder.encode_trade({1, 1578269832539, 1795359219671935465}, "binance", t);
  return {bytes.begin(), bytes.end()};
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * g_envelope.size()));
}

void BM_NatsTransportPublish(benchmark::State& state) {
  tickwire::middleware::NatsOptions o;
  o.url = g_url;
  o.sequence_header = state.range(0) != 0;
  auto t = tickwire::middleware::NatsTransport::connect(o);
  if (!t.ok()) {
    state.SkipWithError(std::string(tickwire::middleware::status_text(t.status())).c_str());
    return;
  }
  const std::span<const std::byte> payload(g_envelope);
  for (auto _ : state) benchmark::DoNotOptimize((*t)->publish(kSubject, payload));
  if (!(*t)->flush().ok() || (*t)->publish_failures() != 0) state.SkipWithError("publish failures");
  report(state);
}
BENCHMARK(BM_NatsTransportPublish)->Arg(0)->ArgName("seq_header")->UseRealTime();
BENCHMARK(BM_NatsTransportPublish)->Arg(1)->ArgName("seq_header")->UseRealTime();

// The peer: nats.c directly, default options, the same bytes and subject.
void BM_NatsCPublish(benchmark::State& state) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, g_url.c_str()) != NATS_OK) {
    state.SkipWithError("nats.c connect failed");
    return;
  }
  const int len = static_cast<int>(g_envelope.size());
  std::uint64_t failures = 0;
  for (auto _ : state) failures += natsConnection_Publish(nc, kSubject, g_envelope.data(), len) != NATS_OK;
  if (natsConnection_FlushTimeout(nc, 10000) != NATS_OK || failures != 0) state.SkipWithError("publish failures");
  natsConnection_Destroy(nc);
  report(state);
}
BENCHMARK(BM_NatsCPublish)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const int port = free_loopback_port();
  g_url = "nats://127.0.0.1:" + std::to_string(port);
  g_envelope = encode_trade();
  Server server(port);
  if (!wait_until_up(g_url)) {
    std::fprintf(stderr, "bench_nats: nats-server on %s did not accept connections\n", g_url.c_str());
    return 1;
  }
  benchmark::AddCustomContext("envelope_bytes", std::to_string(g_envelope.size()));
  benchmark::AddCustomContext("server", g_url);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
