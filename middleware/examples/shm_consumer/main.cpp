// shm_consumer: subscribes to a tickwire SharedMemoryTransport, prints every
// trade, and on exit reports each subscriber's latency: the consumer's
// CLOCK_MONOTONIC at delivery minus the Envelope's monoNs (the connector's
// TSC stamp, converted to CLOCK_MONOTONIC when the frame was read).
//
//   shm_consumer --name tickwire [--pattern 'dev.*.trade.>'] [--subscribers 1] [--count N] [--quiet]
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tickwire/middleware/decimal.hpp"
#include "tickwire/middleware/latency_histogram.hpp"
#include "tickwire/middleware/shm_transport.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/proto/market_data.capnp.h"

namespace {

namespace mw = tickwire::middleware;

struct Args {
  std::string name = "tickwire";
  std::string pattern = ">";
  int subscribers = 1;
  std::uint64_t count = 0;  // trades per subscriber before exiting; 0: until SIGINT/SIGTERM
  bool quiet = false;
};

constexpr const char* kUsage =
    "usage: shm_consumer [--name NAME] [--pattern SUBJECTS] [--subscribers N] [--count N] [--quiet]\n"
    "  --name         the transport's shared-memory file (/dev/shm/NAME), default tickwire\n"
    "  --pattern      NATS-style subject pattern, default '>'\n"
    "  --subscribers  independent subscriptions, each with its own latency report (default 1)\n"
    "  --count        exit after each subscriber saw N trades (default: run until Ctrl-C)\n"
    "  --quiet        do not print trades, only the latency report\n";

std::atomic<bool> g_stop{false};

std::uint64_t mono_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Subscriber: one subscription's histogram and trade count (touched only on
// its delivery thread until the main thread has unsubscribed it).
struct Subscriber {
  mw::LatencyHistogram latency;
  std::uint64_t trades = 0;
  std::vector<capnp::word> scratch;  // aligned copy of a payload
};

void on_message(Subscriber& s, int index, const mw::Message& m, const Args& args) {
  const std::uint64_t now = mono_now_ns();
  s.scratch.resize((m.payload.size() + sizeof(capnp::word) - 1) / sizeof(capnp::word));
  // Safety: scratch holds at least payload.size() bytes; capnp needs word alignment.
  std::memcpy(s.scratch.data(), m.payload.data(), m.payload.size());
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(s.scratch.data(), s.scratch.size()));
  const auto env = reader.getRoot<tickwire::proto::Envelope>();
  if (!env.isTrade()) return;
  s.latency.record(now > env.getMonoNs() ? now - env.getMonoNs() : 0);
  ++s.trades;
  if (!args.quiet) {
    const auto t = env.getTrade();
    const auto price = mw::to_string({t.getPrice().getMantissa(), t.getPrice().getExponent()});
    const auto size = mw::to_string({t.getSize().getMantissa(), t.getSize().getExponent()});
    fmt::print("[{}] seq {} {} {} {} @ {} id {}\n", index, env.getSequence(), env.getSymbol().cStr(),
               t.getAggressor() == tickwire::proto::Side::BUY ? "buy" : "sell", size, price, t.getTradeId());
  }
}

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view k = argv[i];
    if (k == "--help" || k == "-h") return false;
    if (k == "--quiet") {
      a.quiet = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (k == "--name") a.name = v;
    else if (k == "--pattern") a.pattern = v;
    else if (k == "--subscribers") a.subscribers = std::stoi(v);
    else if (k == "--count") a.count = std::stoull(v);
    else return false;
  }
  return a.subscribers > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    std::fputs(kUsage, argc > 1 && std::string_view(argv[1]) != "--help" ? stderr : stdout);
    return argc > 1 && std::string_view(argv[1]) == "--help" ? 0 : 2;
  }
  ::signal(SIGINT, [](int) { g_stop.store(true, std::memory_order_relaxed); });   // relaxed: a flag polled below
  ::signal(SIGTERM, [](int) { g_stop.store(true, std::memory_order_relaxed); });

  mw::ShmTransportOptions o;
  o.name = args.name;
  auto transport = mw::SharedMemoryTransport::attach(o);
  if (!transport.ok()) {
    fmt::print(stderr, "shm_consumer: {}\n", mw::status_text(transport.status()));
    return 3;
  }
  std::vector<std::unique_ptr<Subscriber>> subs;
  std::vector<mw::SubscriptionId> ids;
  std::atomic<int> done{0};
  for (int i = 0; i < args.subscribers; ++i) {
    auto h = mw::LatencyHistogram::create(1, 60'000'000'000, 3);
    if (!h.ok()) {
      fmt::print(stderr, "shm_consumer: {}\n", mw::status_text(h.status()));
      return 2;
    }
    subs.push_back(std::make_unique<Subscriber>(Subscriber{std::move(*h), 0, {}}));
    Subscriber* s = subs.back().get();
    auto id = (*transport)->subscribe(args.pattern, [s, i, &args, &done](const mw::Message& m) {
      on_message(*s, i, m, args);
      // relaxed: a count the main thread polls; the histogram is read after unsubscribe.
      if (args.count != 0 && s->trades == args.count) done.fetch_add(1, std::memory_order_relaxed);
    });
    if (!id.ok()) {
      fmt::print(stderr, "shm_consumer: {}\n", mw::status_text(id.status()));
      return 2;
    }
    ids.push_back(*id);
  }
  // relaxed (both): flags; nothing else is published through them.
  while (!g_stop.load(std::memory_order_relaxed) && done.load(std::memory_order_relaxed) < args.subscribers) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto st = (*transport)->stats(ids[i]);
    (*transport)->unsubscribe(ids[i]);  // no handler call starts after this: the histogram is ours to read
    const auto& h = subs[i]->latency;
    fmt::print(stderr, "subscriber {}: {} trades, dropped {}, latency ns p50 {} p99 {} p99.9 {} max {}\n", i,
               subs[i]->trades, st.dropped, h.value_at_percentile(50), h.value_at_percentile(99),
               h.value_at_percentile(99.9), h.max());
  }
  return 0;
}
