// book_watch: a service that imports tickwire. It subscribes to the running
// connector's shared-memory transport, rebuilds every order book from
// BookSnapshot/BookDelta records, prints the top of book per symbol, and at
// exit reports the latency from the Envelope's TSC stamp (monoNs, taken when
// the connector read the frame) to this handler: p50/p99/p99.9.
//
// With --journal it is lossless (CatchUpSubscriber): it can start from a
// sequence or a time, catches up from the journal, merges into the live ring,
// and refills from the journal whatever the ring laps it on. Without it, gaps
// are reported (on_gap) and counted.
//
//   book_watch --name tickwire-dev [--journal DIR] [--from-seq N | --from-time NS | --resume FILE]
//              [--out FILE] [--books-out FILE] [--env dev] [--pattern '>'] [--print-ms 1000] [--slow-us N]
//              [--stall-ms N] [--spin] [--quiet]
#include <capnp/serialize.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "tickwire/middleware/catch_up_subscriber.hpp"
#include "tickwire/middleware/decimal.hpp"
#include "tickwire/middleware/latency_histogram.hpp"
#include "tickwire/middleware/shm_transport.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/proto/market_data.capnp.h"

namespace {

namespace mw = tickwire::middleware;
namespace proto = tickwire::proto;

constexpr const char* kUsage =
    "usage: book_watch --name NAME [--journal DIR] [--from-seq N | --from-time WALL_NS | --resume FILE]\n"
    "                  [--out FILE] [--books-out FILE] [--env ENV] [--pattern SUBJECTS] [--print-ms MS]\n"
    "                  [--slow-us US] [--stall-ms MS] [--spin] [--quiet]\n"
    "  --name       the connector's shared-memory transport (/dev/shm/NAME), e.g. tickwire-dev\n"
    "  --journal    the connector's journal dir: lossless (catch-up and gap refill from it)\n"
    "  --from-seq   start at this sequence (needs --journal); --from-time: at this wall time (ns)\n"
    "  --resume     start after the last sequence written to FILE by --out (needs --journal)\n"
    "  --out        append each delivered record's sequence to FILE (one per line)\n"
    "  --books-out  at exit, write every book to FILE: 'SYMBOL book UPDATE_ID synced|unsynced', then one\n"
    "               'SYMBOL bid|ask PRICE SIZE' line per level, best first\n"
    "  --env        first subject token of the connector's subjects (default dev)\n"
    "  --pattern    NATS-style subject pattern (default '>')\n"
    "  --print-ms   top of book every MS milliseconds (default 1000; 0: only at exit)\n"
    "  --slow-us    spend US microseconds per record (a deliberately slow consumer)\n"
    "  --stall-ms   once live, stop reading for MS milliseconds, once (a consumer that falls behind)\n"
    "  --spin       never sleep or yield when idle (a core of its own: latency measurement)\n"
    "  --quiet      no top-of-book lines, only the report at exit\n";

std::atomic<bool> g_stop{false};

std::uint64_t mono_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Price: a decimal with its trailing zeros removed, ordered by value.
struct Price {
  std::int64_t mantissa;
  std::int8_t exponent;
  static Price of(proto::Decimal::Reader d) {
    Price p{d.getMantissa(), d.getExponent()};
    while (p.mantissa != 0 && p.mantissa % 10 == 0) {
      p.mantissa /= 10;
      ++p.exponent;
    }
    return p;
  }
  long double value() const {
    long double v = static_cast<long double>(mantissa);
    for (int e = exponent; e > 0; --e) v *= 10;
    for (int e = exponent; e < 0; ++e) v /= 10;
    return v;
  }
  bool operator<(const Price& o) const {
    if (mantissa == o.mantissa && exponent == o.exponent) return false;
    const long double a = value(), b = o.value();
    return a != b ? a < b : (exponent != o.exponent ? exponent < o.exponent : mantissa < o.mantissa);
  }
  std::string text() const { return mw::to_string({mantissa, exponent}); }
};

struct Book {
  std::map<Price, mw::Decimal> bids, asks;
  std::uint64_t last_update_id = 0;
  bool synced = false;
};

void apply(std::map<Price, mw::Decimal>& side, capnp::List<proto::Level>::Reader levels) {
  for (auto level : levels) {
    const Price p = Price::of(level.getPrice());
    if (level.getSize().getMantissa() == 0) {
      side.erase(p);
    } else {
      side[p] = mw::Decimal{level.getSize().getMantissa(), level.getSize().getExponent()};
    }
  }
}

struct Args {
  std::string name;
  std::string journal;
  std::string env = "dev";
  std::string pattern = ">";
  std::string out;
  std::string books_out;
  std::string resume;
  std::uint64_t from_seq = 0, from_time = 0, print_ms = 1000, slow_us = 0, stall_ms = 0;
  bool quiet = false;
  bool spin = false;
};

// Watcher: books, counts and latency; touched only by the polling (main) thread.
class Watcher {
 public:
  explicit Watcher(const Args& args) : args_(args), latency_(*mw::LatencyHistogram::create(1, 60'000'000'000, 3)) {}

  bool open_out() {
    if (args_.out.empty()) return true;
    out_fd_ = ::open(args_.out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd_ < 0) std::fprintf(stderr, "book_watch: %s: %s\n", args_.out.c_str(), std::strerror(errno));
    return out_fd_ >= 0;
  }

  void on_record(const mw::Message& m, bool live) {
    const std::uint64_t now = mono_now_ns();
    words_.resize((m.payload.size() + sizeof(capnp::word) - 1) / sizeof(capnp::word));
    // Safety: words_ holds at least payload.size() bytes; capnp needs word alignment.
    std::memcpy(words_.data(), m.payload.data(), m.payload.size());
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words_.data(), words_.size()));
    const auto e = reader.getRoot<proto::Envelope>();
    if (live) latency_.record(now > e.getMonoNs() ? now - e.getMonoNs() : 0);
    ++records_;
    Book& book = books_[e.getSymbol().cStr()];
    if (e.isBookSnapshot()) {
      book.bids.clear();
      book.asks.clear();
      apply(book.bids, e.getBookSnapshot().getBids());
      apply(book.asks, e.getBookSnapshot().getAsks());
      book.last_update_id = e.getBookSnapshot().getLastUpdateId();
      book.synced = true;
    } else if (e.isBookDelta() && book.synced) {
      apply(book.bids, e.getBookDelta().getBids());
      apply(book.asks, e.getBookDelta().getAsks());
      book.last_update_id = e.getBookDelta().getLastUpdateId();
    } else if (e.isStatus() && e.getStatus().getKind() == proto::Status::Kind::GAP && e.getSymbol().size() != 0 &&
               std::string_view(e.getStatus().getDetail().cStr()).starts_with("book ")) {
      book.synced = false;  // a book gap (a trade gap leaves the book alone): wait for the resync snapshot
    }
    if (out_fd_ >= 0) {
      const std::string line = fmt::format("{}\n", m.sequence);
      // One write per line: a consumer killed mid-run leaves whole lines only.
      if (::write(out_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        std::fprintf(stderr, "book_watch: %s: %s\n", args_.out.c_str(), std::strerror(errno));
      }
    }
    if (args_.slow_us != 0) std::this_thread::sleep_for(std::chrono::microseconds(args_.slow_us));
  }

  void on_gap(std::uint64_t from, std::uint64_t to) {
    gaps_ += to - from + 1;
    std::fprintf(stderr, "book_watch: gap: sequences %llu..%llu were not received\n",
                 static_cast<unsigned long long>(from), static_cast<unsigned long long>(to));
  }

  void print_books() const {
    for (const auto& [symbol, book] : books_) {
      if (book.bids.empty() && book.asks.empty()) continue;
      const std::string bid = book.bids.empty() ? "-" : fmt::format("{} x {}", mw::to_string(book.bids.rbegin()->second),
                                                                    book.bids.rbegin()->first.text());
      const std::string ask = book.asks.empty() ? "-" : fmt::format("{} x {}", book.asks.begin()->first.text(),
                                                                    mw::to_string(book.asks.begin()->second));
      fmt::print("{:<10} bid {:>28} | ask {:<28} ({} bids, {} asks, update {})\n", symbol, bid, ask,
                 book.bids.size(), book.asks.size(), book.last_update_id);
    }
    std::fflush(stdout);
  }

  // write_books: every book, level by level (--books-out); false on a write error.
  bool write_books(const std::string& path) const {
    std::ofstream out(path, std::ios::trunc);
    for (const auto& [symbol, book] : books_) {
      out << symbol << " book " << book.last_update_id << (book.synced ? " synced" : " unsynced") << "\n";
      for (auto it = book.bids.rbegin(); it != book.bids.rend(); ++it) {
        out << symbol << " bid " << it->first.text() << " " << mw::to_string(it->second) << "\n";
      }
      for (const auto& [price, size] : book.asks) {
        out << symbol << " ask " << price.text() << " " << mw::to_string(size) << "\n";
      }
    }
    out.flush();
    if (!out) std::fprintf(stderr, "book_watch: %s: cannot write the books\n", path.c_str());
    return static_cast<bool>(out);
  }

  static double us(std::uint64_t ns) { return static_cast<double>(ns) / 1e3; }

  void report(const mw::CatchUpStats& s) const {
    fmt::print(stderr,
               "book_watch: {} records ({} from the journal), {} lost, {} refills from the journal, {} epochs; "
               "latency TSC stamp -> handler (live): p50 {:.1f} us, p99 {:.1f} us, p99.9 {:.1f} us, max {:.1f} us "
               "over {}\n",
               records_, s.from_journal, gaps_, s.refills, s.epochs, us(latency_.value_at_percentile(50)),
               us(latency_.value_at_percentile(99)), us(latency_.value_at_percentile(99.9)), us(latency_.max()),
               latency_.total_count());
  }

 private:
  const Args& args_;
  mw::LatencyHistogram latency_;
  std::map<std::string, Book> books_;
  std::vector<capnp::word> words_;
  std::uint64_t records_ = 0, gaps_ = 0;
  int out_fd_ = -1;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--help") return false;
    if (k == "--quiet") {
      a.quiet = true;
      continue;
    }
    if (k == "--spin") {
      a.spin = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (k == "--name") a.name = v;
    else if (k == "--journal") a.journal = v;
    else if (k == "--env") a.env = v;
    else if (k == "--pattern") a.pattern = v;
    else if (k == "--out") a.out = v;
    else if (k == "--books-out") a.books_out = v;
    else if (k == "--resume") a.resume = v;
    else if (k == "--from-seq") a.from_seq = std::stoull(v);
    else if (k == "--from-time") a.from_time = std::stoull(v);
    else if (k == "--print-ms") a.print_ms = std::stoull(v);
    else if (k == "--slow-us") a.slow_us = std::stoull(v);
    else if (k == "--stall-ms") a.stall_ms = std::stoull(v);
    else return false;
  }
  return !a.name.empty() && (a.journal.empty() ? a.from_seq == 0 && a.from_time == 0 && a.resume.empty() : true);
}

// last_sequence_in: the last whole line of a --out file (0 if none).
std::uint64_t last_sequence_in(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last.empty() ? 0 : std::stoull(last);
}

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }  // relaxed: a flag polled by main

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  mw::ShmTransportOptions shm_options;
  shm_options.name = args.name;
  auto shm = mw::SharedMemoryTransport::attach(shm_options);
  if (!shm.ok()) {
    std::fprintf(stderr, "book_watch: %s\n", std::string(mw::status_text(shm.status())).c_str());
    return 3;
  }
  Watcher watcher(args);
  if (!watcher.open_out()) return 3;
  std::unique_ptr<mw::CatchUpSubscriber> lossless;
  std::unique_ptr<mw::TransportPoller> live;
  if (!args.journal.empty()) {
    mw::CatchUpOptions o;
    o.journal_dir = args.journal;
    o.env = args.env;
    o.pattern = args.pattern;
    if (!args.resume.empty()) o.from_seq = last_sequence_in(args.resume) + 1;
    if (args.from_seq != 0) o.from_seq = args.from_seq;
    if (args.from_time != 0) o.from_wall_ns = args.from_time;
    auto sub = mw::CatchUpSubscriber::open(**shm, o);
    // A connector that is just starting formats its ring: try again, briefly.
    for (int attempt = 0; attempt < 500 && !sub.ok() && absl::IsUnavailable(sub.status()); ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      sub = mw::CatchUpSubscriber::open(**shm, o);
    }
    if (!sub.ok()) {
      std::fprintf(stderr, "book_watch: %s\n", std::string(mw::status_text(sub.status())).c_str());
      return 3;
    }
    lossless = *std::move(sub);
  } else {
    auto poller = (*shm)->open_poller(args.pattern, mw::StartAt::kNow);
    if (!poller.ok()) {
      std::fprintf(stderr, "book_watch: %s\n", std::string(mw::status_text(poller.status())).c_str());
      return 2;
    }
    live = *std::move(poller);
  }
  const mw::GapHandler on_gap = [&](std::uint64_t from, std::uint64_t to) { watcher.on_gap(from, to); };
  const mw::Handler on_live = [&](const mw::Message& m) { watcher.on_record(m, true); };
  const mw::Handler on_any = [&](const mw::Message& m) { watcher.on_record(m, lossless->live()); };
  auto next_print = std::chrono::steady_clock::now();
  int idle = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {  // relaxed: see on_signal
    int n = 0;
    if (lossless) {
      auto polled = lossless->poll(on_any, on_gap);
      if (!polled.ok()) {
        std::fprintf(stderr, "book_watch: %s\n", std::string(mw::status_text(polled.status())).c_str());
        return 1;
      }
      n = *polled;
    } else {
      n = live->poll(on_live, 256, nullptr, on_gap);
    }
    if (args.stall_ms != 0 && n > 0 && (!lossless || lossless->live())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(args.stall_ms));
      args.stall_ms = 0;
    }
    if (!args.quiet && args.print_ms != 0 && std::chrono::steady_clock::now() >= next_print) {
      watcher.print_books();
      next_print = std::chrono::steady_clock::now() + std::chrono::milliseconds(args.print_ms);
    }
    if (n > 0 || args.spin) {
      idle = 0;
    } else if (++idle > 1000) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    } else {
      std::this_thread::yield();
    }
  }
  if (!args.quiet) watcher.print_books();
  watcher.report(lossless ? lossless->stats() : mw::CatchUpStats{});
  if (!args.books_out.empty() && !watcher.write_books(args.books_out)) return 1;
  return 0;
}
