// NATS publish throughput: NatsTransport::publish next to nats.c's own
// natsConnection_Publish, the same Envelope bytes on the same subject to a
// nats-server this binary starts on 127.0.0.1 (a free port) and stops by PID.
// Each benchmark times its publishes (nats.c writes to the socket when its
// buffer fills, so the server's pace shows); a flush after the timed loop
// checks that every byte reached the server. No subscriber: the server drops
// what nobody asked for. The *Latency benchmarks add a subscriber (see
// below). Run: build/release/bench/bench_nats --benchmark_repetitions=10
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
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

// Loopback latency, publish -> subscriber handler, one message in flight: a
// subscriber connection (its own nats.c delivery thread) counts deliveries,
// the publisher waits for each before the next. NatsTransport on both ends
// against nats.c's own Publish and async subscription with default options
// (both let nats.c's flusher thread write the PUB, as the live connector does).
void wait_for(const std::atomic<std::uint64_t>& received, std::uint64_t sent, benchmark::State& state) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // acquire: pairs with the handler's release increment.
  while (received.load(std::memory_order_acquire) < sent) {
    if (std::chrono::steady_clock::now() > deadline) {
      state.SkipWithError("a message never arrived");
      return;
    }
  }
}

void BM_NatsTransportLatency(benchmark::State& state) {
  tickwire::middleware::NatsOptions o;
  o.url = g_url;
  o.sequence_header = true;  // as `tickwire run` publishes
  auto sub = tickwire::middleware::NatsTransport::connect(o);
  o.send_asap = state.range(0) != 0;  // [publish.nats] send_asap
  auto pub = tickwire::middleware::NatsTransport::connect(o);
  if (!pub.ok() || !sub.ok()) {
    state.SkipWithError("connect failed");
    return;
  }
  std::atomic<std::uint64_t> received{0};
  // release: pairs with wait_for's acquire.
  auto id = (*sub)->subscribe(kSubject, [&](const tickwire::middleware::Message&) {
    received.fetch_add(1, std::memory_order_release);
  });
  if (!id.ok() || !(*sub)->flush().ok()) {
    state.SkipWithError("subscribe failed");
    return;
  }
  const std::span<const std::byte> payload(g_envelope);
  std::uint64_t sent = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*pub)->publish(kSubject, payload));
    wait_for(received, ++sent, state);
  }
  (*sub)->unsubscribe(*id);
  report(state);
}
BENCHMARK(BM_NatsTransportLatency)->Arg(0)->Arg(1)->ArgName("send_asap")->UseRealTime();

void on_nats_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  // release: pairs with wait_for's acquire.
  static_cast<std::atomic<std::uint64_t>*>(closure)->fetch_add(1, std::memory_order_release);
  natsMsg_Destroy(msg);
}

// Arg 1: the publisher with natsOptions_SetSendAsap (a write per publish, no flusher delay).
void BM_NatsCLatency(benchmark::State& state) {
  natsConnection* pub = nullptr;
  natsConnection* sub = nullptr;
  natsSubscription* subscription = nullptr;
  natsOptions* options = nullptr;
  std::atomic<std::uint64_t> received{0};
  const bool asap = state.range(0) != 0;
  if (natsOptions_Create(&options) != NATS_OK || natsOptions_SetURL(options, g_url.c_str()) != NATS_OK ||
      natsOptions_SetSendAsap(options, asap) != NATS_OK || natsConnection_Connect(&pub, options) != NATS_OK ||
      natsConnection_ConnectTo(&sub, g_url.c_str()) != NATS_OK ||
      natsConnection_Subscribe(&subscription, sub, kSubject, on_nats_msg, &received) != NATS_OK ||
      natsConnection_FlushTimeout(sub, 10000) != NATS_OK) {
    state.SkipWithError("nats.c connect or subscribe failed");
  } else {
    const int len = static_cast<int>(g_envelope.size());
    std::uint64_t sent = 0;
    for (auto _ : state) {
      (void)natsConnection_Publish(pub, kSubject, g_envelope.data(), len);
      wait_for(received, ++sent, state);
    }
    report(state);
  }
  if (subscription != nullptr) {
    natsSubscription_Unsubscribe(subscription);
    natsSubscription_Destroy(subscription);
  }
  natsConnection_Destroy(sub);
  natsConnection_Destroy(pub);
  natsOptions_Destroy(options);
}
BENCHMARK(BM_NatsCLatency)->Arg(0)->Arg(1)->ArgName("send_asap")->UseRealTime();

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
