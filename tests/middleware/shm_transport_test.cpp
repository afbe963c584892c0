#include "tickwire/middleware/shm_transport.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/page_faults.hpp"
#include "support/subprocess.hpp"
#include "transport_conformance.hpp"

namespace tickwire::middleware {

static std::string unique_shm_name(const char* what) {
  static std::atomic<int> counter{0};
  // relaxed: only uniqueness matters.
  return fmt::format("tickwire-test-{}-{}-{}", ::getpid(), what, counter.fetch_add(1, std::memory_order_relaxed));
}

namespace conformance {
namespace {

struct ShmFactory {
  static std::unique_ptr<Transport> make(std::size_t buffer_bytes) {
    ShmTransportOptions options;
    options.name = unique_shm_name("conf");
    options.capacity = buffer_bytes != 0 ? buffer_bytes : std::size_t{1} << 22;
    options.unlink_on_close = true;
    auto t = SharedMemoryTransport::create(options);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::unique_ptr<Transport>(*std::move(t)) : nullptr;
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(SharedMemory, TransportConformance, ::testing::Types<ShmFactory>);

}  // namespace
}  // namespace conformance

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// ShmFile: a unique /dev/shm name, removed at the end of the test.
struct ShmFile {
  std::string name = unique_shm_name("unit");
  std::string path = "/dev/shm/" + name;
  ~ShmFile() { ::unlink(path.c_str()); }
};

ShmTransportOptions options_for(const ShmFile& f, std::size_t capacity = 64 * 1024) {
  ShmTransportOptions o;
  o.name = f.name;
  o.capacity = capacity;
  return o;
}

std::string message_of(const absl::Status& s) { return std::string(s.message().data(), s.message().size()); }

TEST(SharedMemoryTransport, CreatesTheFileWithTheConfiguredMode) {
  ShmFile a, b;
  auto ta = SharedMemoryTransport::create(options_for(a));
  ASSERT_TRUE(ta.ok()) << ta.status();
  struct stat st {};
  ASSERT_EQ(::stat(a.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  auto ob = options_for(b);
  ob.mode = 0600;
  auto tb = SharedMemoryTransport::create(ob);
  ASSERT_TRUE(tb.ok());
  ASSERT_EQ(::stat(b.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(SharedMemoryTransport, RefusesASecondWriterWhileTheFirstHoldsTheFile) {
  ShmFile f;
  auto first = SharedMemoryTransport::create(options_for(f));
  ASSERT_TRUE(first.ok());
  auto second = SharedMemoryTransport::create(options_for(f));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(message_of(second.status()).find(f.path), std::string::npos) << second.status();
}

TEST(SharedMemoryTransport, ReaderRejectsMissingTruncatedAndForeignFilesNamingThePath) {
  ShmFile f;
  auto missing = SharedMemoryTransport::attach(options_for(f));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(message_of(missing.status()).find(f.path), std::string::npos);

  { std::ofstream(f.path) << "not a ring"; }
  auto tiny = SharedMemoryTransport::attach(options_for(f));
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(message_of(tiny.status()).find(f.path), std::string::npos) << tiny.status();
  auto overwrite = SharedMemoryTransport::create(options_for(f));
  ASSERT_FALSE(overwrite.ok()) << "a foreign file must never be overwritten";
  EXPECT_NE(message_of(overwrite.status()).find("refusing"), std::string::npos) << overwrite.status();

  { std::ofstream(f.path) << std::string(ShmLayout::kHeaderBytes * 2, 'g'); }
  auto garbage = SharedMemoryTransport::attach(options_for(f));
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(message_of(garbage.status()).find("magic"), std::string::npos) << garbage.status();

  ASSERT_EQ(::unlink(f.path.c_str()), 0);
  { ASSERT_TRUE(SharedMemoryTransport::create(options_for(f)).ok()); }
  ASSERT_EQ(::truncate(f.path.c_str(), static_cast<off_t>(ShmLayout::kHeaderBytes + 100)), 0);
  auto truncated = SharedMemoryTransport::attach(options_for(f));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(message_of(truncated.status()).find("truncated"), std::string::npos) << truncated.status();
}

TEST(SharedMemoryTransport, ALateReaderStartsAtTheOldestRecordOrAtNowItsChoice) {
  ShmFile f;
  auto w = SharedMemoryTransport::create(options_for(f));
  ASSERT_TRUE(w.ok());
  for (int i = 1; i <= 5; ++i) (*w)->publish("a.b", bytes(std::to_string(i)));
  auto r = SharedMemoryTransport::attach(options_for(f));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->publish("a.b", bytes("x")), 0u) << "a reader cannot publish";
  auto oldest = (*r)->open_poller(">", StartAt::kOldest);
  auto now = (*r)->open_poller(">", StartAt::kNow);
  ASSERT_TRUE(oldest.ok());
  ASSERT_TRUE(now.ok());
  (*w)->publish("a.b", bytes("6"));
  std::vector<std::uint64_t> a, b;
  (*oldest)->poll([&](const Message& m) { a.push_back(m.sequence); });
  (*now)->poll([&](const Message& m) { b.push_back(m.sequence); });
  EXPECT_EQ(a, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(b, (std::vector<std::uint64_t>{6}));
}

TEST(SharedMemoryTransport, AReaderSeesAWriterRestartAsANewEpochAndCountsWhatItLost) {
  ShmFile f;
  auto w1 = SharedMemoryTransport::create(options_for(f));
  ASSERT_TRUE(w1.ok());
  const std::uint64_t epoch1 = (*w1)->epoch();
  auto r = SharedMemoryTransport::attach(options_for(f));
  ASSERT_TRUE(r.ok());
  auto poller = (*r)->open_poller(">", StartAt::kNow);
  ASSERT_TRUE(poller.ok());
  std::vector<std::string> got;
  const Handler record = [&](const Message& m) {
    got.emplace_back(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
  };
  for (int i = 1; i <= 3; ++i) (*w1)->publish("a.b", bytes(std::to_string(i)));
  EXPECT_EQ((*poller)->poll(record), 3);
  (*w1)->publish("a.b", bytes("4"));  // never read: the restart re-formats the ring
  (*w1)->publish("a.b", bytes("5"));
  w1->reset();
  auto w2 = SharedMemoryTransport::create(options_for(f));
  ASSERT_TRUE(w2.ok()) << w2.status();
  EXPECT_EQ((*w2)->epoch(), epoch1 + 1);
  EXPECT_EQ((*w2)->publish("a.b", bytes("6")), 6u) << "the sequence carries on across a restart";
  EXPECT_EQ((*poller)->poll(record), 1);
  EXPECT_EQ(got, (std::vector<std::string>{"1", "2", "3", "6"}));
  const SubscriberStats s = (*poller)->stats();
  EXPECT_EQ(s.restarts, 1u);
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_EQ(s.received, 4u);
}

TEST(SharedMemoryTransport, AWriterWithAnotherCapacityReplacesTheFileAndReadersFollow) {
  ShmFile f;
  auto w1 = SharedMemoryTransport::create(options_for(f, 64 * 1024));
  ASSERT_TRUE(w1.ok());
  auto r = SharedMemoryTransport::attach(options_for(f));
  ASSERT_TRUE(r.ok());
  auto poller = (*r)->open_poller(">", StartAt::kNow);
  ASSERT_TRUE(poller.ok());
  (*w1)->publish("a.b", bytes("1"));  // never read: retired with the old file
  w1->reset();
  auto w2 = SharedMemoryTransport::create(options_for(f, 128 * 1024));
  ASSERT_TRUE(w2.ok()) << w2.status();
  (*w2)->publish("a.b", bytes("2"));
  std::vector<std::uint64_t> seqs;
  (*poller)->poll([&](const Message& m) { seqs.push_back(m.sequence); });
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{2}));
  EXPECT_EQ((*poller)->stats().restarts, 1u);
  EXPECT_EQ((*poller)->stats().dropped, 1u);
}


// ---- Cross-process: the test binary re-executes itself in a child role. ----

constexpr const char* kChildEnv = "TICKWIRE_SHM_CHILD";

#if defined(TICKWIRE_TSAN)
constexpr std::uint64_t kAfterRestart = 2'000;
#else
constexpr std::uint64_t kAfterRestart = 50'000;
#endif

void say(const std::string& line) {
  std::cout << line << std::endl;  // one line per event, flushed: the parent reads them as they come
}

// writer NAME LIMIT: publishes seq-as-text on x.data, LIMIT records (0: until
// killed), then one x.end. Prints READY, AT <seq> every 1024, DONE <seq>.
void run_writer(const std::string& name, std::uint64_t limit) {
  ShmTransportOptions o;
  o.name = name;
  o.capacity = 256 * 1024;
  auto w = SharedMemoryTransport::create(o);
  ASSERT_TRUE(w.ok()) << w.status();
  say(fmt::format("READY {}", (*w)->epoch()));
  for (std::uint64_t n = 0; limit == 0 || n < limit; ++n) {
    const std::string payload = fmt::format("{}:{}", (*w)->epoch(), n);  // epoch:count, checked by readers
    const std::uint64_t seq = (*w)->publish("x.data", bytes(payload));
    ASSERT_NE(seq, 0u);
    if (seq % 1024 == 0) say(fmt::format("AT {}", seq));
    if (n % 64 == 0) std::this_thread::yield();
  }
  const std::uint64_t end = (*w)->publish("x.end", bytes("END"));
  say(fmt::format("DONE {}", end));
}

// reader NAME: subscribes to x.> from the oldest record, checks every payload,
// and on x.end prints RESULT first last received dropped restarts bad.
void run_reader(const std::string& name) {
  ShmTransportOptions o;
  o.name = name;
  o.start = StartAt::kOldest;
  auto r = SharedMemoryTransport::attach(o);
  ASSERT_TRUE(r.ok()) << r.status();
  std::promise<std::uint64_t> ended;
  std::uint64_t first = 0, last = 0, bad = 0;
  auto id = (*r)->subscribe("x.>", [&](const Message& m) {
    if (first == 0) first = m.sequence;
    if (m.sequence <= last) ++bad;  // sequences strictly increase, across restarts too
    last = m.sequence;
    const std::string_view payload(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
    if (m.subject == "x.end") {
      ended.set_value(m.sequence);
    } else if (m.subject != "x.data" || payload.find(':') == std::string_view::npos) {
      ++bad;  // garbage, or a torn record delivered as data
    }
  });
  ASSERT_TRUE(id.ok());
  say("READY");
  auto f = ended.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  const SubscriberStats s = (*r)->stats(*id);
  (*r)->unsubscribe(*id);
  say(fmt::format("RESULT {} {} {} {} {} {}", first, f.get(), s.received, s.dropped, s.restarts, bad));
}

TEST(ShmChild, Run) {
  const char* spec = std::getenv(kChildEnv);
  if (spec == nullptr) GTEST_SKIP() << "runs only as a child of the cross-process tests";
  std::istringstream in(spec);
  std::string role, name;
  std::uint64_t limit = 0;
  in >> role >> name >> limit;
  if (role == "writer") run_writer(name, limit);
  if (role == "reader") run_reader(name);
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n <= 0 ? "/proc/self/exe" : std::string(buf, static_cast<std::size_t>(n));
}

std::unique_ptr<tickwire::testing::Subprocess> spawn(const std::string& spec) {
  ::setenv(kChildEnv, spec.c_str(), 1);
  auto child = std::make_unique<tickwire::testing::Subprocess>(
      std::vector<std::string>{self_exe(), "--gtest_filter=ShmChild.Run", "--gtest_brief=1"});
  ::unsetenv(kChildEnv);
  return child;
}

// Reads lines until one starts with `prefix`; returns it, or "" at EOF/timeout.
std::string expect_line(tickwire::testing::Subprocess& p, const std::string& prefix) {
  while (auto line = p.read_line(std::chrono::seconds(60))) {
    if (line->rfind(prefix, 0) == 0) return *line;
  }
  return {};
}

TEST(SharedMemoryCrossProcess, ReadersSurviveAKilledReaderAndARestartedWriterAndReportExactlyWhatTheyLost) {
  ShmFile f;
  auto writer1 = spawn("writer " + f.name + " 0");
  ASSERT_FALSE(expect_line(*writer1, "READY").empty());
  std::vector<std::unique_ptr<tickwire::testing::Subprocess>> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(spawn("reader " + f.name));
    ASSERT_FALSE(expect_line(*readers.back(), "READY").empty());
  }
  // Mid-stream, with every reader attached: kill -9 one reader, then the writer.
  ASSERT_FALSE(expect_line(*writer1, "AT").empty());
  readers[0]->kill(SIGKILL);
  ASSERT_TRUE(readers[0]->wait().has_value());
  ASSERT_FALSE(expect_line(*writer1, "AT").empty());
  writer1->kill(SIGKILL);
  ASSERT_TRUE(writer1->wait().has_value());

  auto writer2 = spawn("writer " + f.name + " " + std::to_string(kAfterRestart));
  ASSERT_FALSE(expect_line(*writer2, "READY").empty());
  const std::string done = expect_line(*writer2, "DONE");
  ASSERT_FALSE(done.empty());
  const std::uint64_t end_seq = std::stoull(done.substr(5));
  ASSERT_GT(end_seq, kAfterRestart) << "the restarted writer carries the sequence on";
  for (int i = 1; i < 3; ++i) {
    const std::string result = expect_line(*readers[static_cast<std::size_t>(i)], "RESULT");
    ASSERT_FALSE(result.empty()) << "reader " << i << " did not finish";
    std::istringstream in(result.substr(7));
    std::uint64_t first = 0, last = 0, received = 0, dropped = 0, restarts = 0, bad = 0;
    in >> first >> last >> received >> dropped >> restarts >> bad;
    EXPECT_EQ(last, end_seq) << result;
    EXPECT_EQ(bad, 0u) << result;
    EXPECT_EQ(restarts, 1u) << result;
    EXPECT_EQ(received + dropped, last - first + 1) << "reader " << i << " must account for every sequence: " << result;
    const auto status = readers[static_cast<std::size_t>(i)]->wait();
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << result;
  }
}

TEST(SharedMemoryTransport, TheWriterAndAReaderGoTwoLapsOfTheRingWithoutAPageFault) {
  if (!testing::kFaultsCountable) GTEST_SKIP() << "a sanitizer's shadow memory faults on first touch too";
  // The writer touches every page of the file when it creates it and the
  // reader when it attaches: no publish and no poll is the first touch of a
  // page (a fault of up to tens of microseconds on a VM).
  ShmFile f;
  auto w = SharedMemoryTransport::create(options_for(f, std::size_t{1} << 22));  // 1024 pages
  ASSERT_TRUE(w.ok()) << w.status();
  auto r = SharedMemoryTransport::attach(options_for(f));
  ASSERT_TRUE(r.ok()) << r.status();
  auto poller = (*r)->open_poller(">", StartAt::kNow);
  ASSERT_TRUE(poller.ok()) << poller.status();
  const std::string payload(1000, 'p');
  std::uint64_t received = 0;
  const Handler count = [&](const Message&) { ++received; };
  const std::uint64_t before = testing::thread_page_faults();
  for (int i = 0; i < 8 * 1024; ++i) {
    (*w)->publish("a.b", bytes(payload));
    (*poller)->poll(count);
  }
  const std::uint64_t faults = testing::thread_page_faults() - before;
  EXPECT_EQ(received, 8u * 1024u);
  EXPECT_LT(faults, 16u) << "8 MiB through a 4 MiB ring, written and read, faulted " << faults << " pages in";
}

}  // namespace
}  // namespace tickwire::middleware
