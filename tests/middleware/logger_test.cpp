#include "tickwire/middleware/logger.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include <climits>
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

namespace tickwire::middleware {
namespace {

using tickwire::testing::read_text;

#if defined(TICKWIRE_TSAN)
constexpr int kStressThreads = 4;
constexpr int kStressPerThread = 2'000;
#else
constexpr int kStressThreads = 8;
constexpr int kStressPerThread = 20'000;
#endif

// VectorSink: keeps every formatted line (without its newline) and the
// message times, behind the sink's own mutex.
class VectorSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  std::vector<spdlog::log_clock::time_point> times() {
    std::lock_guard lock(mutex_);
    return times_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::string line(buf.data(), buf.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    lines_.push_back(std::move(line));
    times_.push_back(msg.time);
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
  std::vector<spdlog::log_clock::time_point> times_;
};

struct Fixture {
  std::shared_ptr<VectorSink> sink = std::make_shared<VectorSink>();
  std::unique_ptr<Logger> logger;

  // Fixture: a Logger writing "%l %v" lines to sink, after edit(options).
  template <typename Edit>
  explicit Fixture(Edit edit) {
    LoggerOptions o;
    o.sinks = {sink};
    o.pattern = "%l %v";
    edit(o);
    auto created = Logger::create(std::move(o));
    EXPECT_TRUE(created.ok()) << created.status();
    logger = *std::move(created);
  }
  Fixture() : Fixture([](LoggerOptions&) {}) {}
};

// The sum of N over "N messages dropped on thread X" lines.
std::uint64_t reported_drops(const std::vector<std::string>& lines) {
  std::uint64_t total = 0;
  for (const std::string& l : lines) {
    const auto at = l.find(" messages dropped on thread ");
    if (at == std::string::npos) continue;
    const auto start = l.rfind(' ', at - 1);
    total += std::stoull(l.substr(start + 1, at - start - 1));
  }
  return total;
}

TEST(Logger, WritesTheExactLineThroughTheSinks) {
  Fixture f;
  TW_LOG_INFO(*f.logger, "hello {} {}", 42, "world");
  TW_LOG_WARN(*f.logger, "no arguments");
  f.logger->flush();
  EXPECT_EQ(f.sink->lines(), (std::vector<std::string>{"info hello 42 world", "warning no arguments"}));
}

TEST(Logger, ArgumentsOfSeveralTypesRoundTrip) {
  Fixture f;
  const std::string owned = "owned string";
  const std::string_view view = std::string_view("a view, not terminated here", 6);
  const char* null_chars = nullptr;
  char mutable_chars[] = "mutable";
  const int x = 7;
  TW_LOG_INFO(*f.logger, "{} {} {} {}", std::int8_t{-8}, std::numeric_limits<std::uint64_t>::max(),
              std::numeric_limits<std::int64_t>::min(), static_cast<unsigned short>(65535));
  TW_LOG_INFO(*f.logger, "{:.3f} {} {} {} {}", 3.14159, 2.5F, true, 'c', 1e300);
  TW_LOG_INFO(*f.logger, "[{}] [{}] [{}] [{}] [{}]", owned, view, null_chars, mutable_chars, std::string());
  TW_LOG_INFO(*f.logger, "{:>6}|{:<4}|{:#x}|{:08.2f}", "ab", 1, 255, -1.5);
  TW_LOG_INFO(*f.logger, "{}", static_cast<const void*>(&x));
  f.logger->flush();
  const std::vector<std::string> lines = f.sink->lines();
  ASSERT_EQ(lines.size(), 5U);
  EXPECT_EQ(lines[0], "info -8 18446744073709551615 -9223372036854775808 65535");
  EXPECT_EQ(lines[1], "info 3.142 2.5 true c 1e+300");
  EXPECT_EQ(lines[2], "info [owned string] [a view] [(null)] [mutable] []");
  EXPECT_EQ(lines[3], "info     ab|1   |0xff|-0001.50");
  EXPECT_EQ(lines[4], "info " + fmt::format("{}", static_cast<const void*>(&x)));
}

int evaluations = 0;
int counted() { return ++evaluations; }

TEST(Logger, LevelsBelowTheThresholdAreFilteredBeforeAnyWork) {
  Fixture f([](LoggerOptions& o) { o.level = LogLevel::kInfo; });
  evaluations = 0;
  TW_LOG_DEBUG(*f.logger, "debug {}", counted());
  TW_LOG_TRACE(*f.logger, "trace {}", counted());
  EXPECT_EQ(evaluations, 0);
  f.logger->set_level(LogLevel::kDebug);
  TW_LOG_DEBUG(*f.logger, "debug {}", counted());
  TW_LOG_TRACE(*f.logger, "trace {}", counted());
  EXPECT_EQ(evaluations, 1);
  f.logger->flush();
  EXPECT_EQ(f.sink->lines(), (std::vector<std::string>{"debug debug 1"}));
}

TEST(Logger, KeepsTheCallSiteTimestampLevelFileAndLine) {
  Fixture f([](LoggerOptions& o) { o.pattern = "%l|%s|%#|%v"; });
  const TscClock& clock = TscClock::global();
  const std::uint64_t before = clock.to_wall_ns(TscClock::now_ticks());
  TW_LOG_ERROR(*f.logger, "stamped");
  const int line = __LINE__ - 1;
  const std::uint64_t after = clock.to_wall_ns(TscClock::now_ticks());
  f.logger->flush();
  ASSERT_EQ(f.sink->lines(), (std::vector<std::string>{fmt::format("error|logger_test.cpp|{}|stamped", line)}));
  const auto ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(f.sink->times()[0].time_since_epoch()).count());
  EXPECT_LE(before, ns);
  EXPECT_LE(ns, after);
}

TEST(Logger, RecordsWrapAroundTheRingIntact) {
  Fixture f([](LoggerOptions& o) { o.ring_bytes = 4096; o.start_backend = false; });
  std::mt19937 rng(3);
  std::vector<std::string> expected;
  for (int i = 0; i < 5'000; ++i) {
    const std::string payload(rng() % 700, static_cast<char>('a' + i % 26));
    TW_LOG_INFO(*f.logger, "{} {}", i, payload);
    expected.push_back(fmt::format("info {} {}", i, payload));
    // Two records of <= 740 bytes plus end padding always fit in 4 KiB.
    if (i % 2 == 1) f.logger->poll();
  }
  f.logger->poll();
  EXPECT_EQ(f.logger->dropped(), 0U);
  EXPECT_EQ(f.sink->lines(), expected);
}

TEST(Logger, AFullRingUnderDropCountsPerThreadAndReportsItInTheLog) {
  Fixture f([](LoggerOptions& o) { o.on_full = FullPolicy::kDrop; o.ring_bytes = 4096; o.start_backend = false; });
  constexpr int kThreads = 4;
  constexpr int kEach = 1'000;  // far more than a 4 KiB ring holds
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) TW_LOG_INFO(*f.logger, "t{} m{}", t, i);
    });
  }
  for (auto& th : threads) th.join();
  const std::uint64_t dropped = f.logger->dropped();
  f.logger->shutdown();
  const std::vector<std::string> lines = f.sink->lines();
  std::uint64_t messages = 0;
  for (const std::string& l : lines) messages += l.rfind("info t", 0) == 0 ? 1 : 0;
  EXPECT_GT(dropped, 0U);
  EXPECT_EQ(messages + dropped, static_cast<std::uint64_t>(kThreads) * kEach);
  EXPECT_EQ(reported_drops(lines), dropped);
  // One drop report per thread, after that thread's surviving messages.
  std::uint64_t drop_lines = 0;
  for (const std::string& l : lines) drop_lines += l.rfind("warning ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(drop_lines, static_cast<std::uint64_t>(kThreads));
}

TEST(Logger, ManyThreadsUnderDropConserveEveryMessageAsLoggedOrCounted) {
  Fixture f([](LoggerOptions& o) { o.on_full = FullPolicy::kDrop; o.ring_bytes = 4096; });
  std::vector<std::thread> threads;
  for (int t = 0; t < kStressThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kStressPerThread; ++i) TW_LOG_INFO(*f.logger, "t{} m{} {}", t, i, "padding the record");
    });
  }
  for (auto& th : threads) th.join();
  f.logger->shutdown();
  const std::vector<std::string> lines = f.sink->lines();
  std::uint64_t messages = 0;
  for (const std::string& l : lines) messages += l.rfind("info t", 0) == 0 ? 1 : 0;
  EXPECT_EQ(messages + f.logger->dropped(), static_cast<std::uint64_t>(kStressThreads) * kStressPerThread);
  EXPECT_EQ(reported_drops(lines), f.logger->dropped());
}

TEST(Logger, ManyThreadsUnderBlockLoseNothingAndKeepPerThreadOrder) {
  Fixture f([](LoggerOptions& o) { o.on_full = FullPolicy::kBlock; o.ring_bytes = 4096; });
  std::vector<std::thread> threads;
  for (int t = 0; t < kStressThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kStressPerThread; ++i) TW_LOG_INFO(*f.logger, "{} {}", t, i);
    });
  }
  for (auto& th : threads) th.join();
  f.logger->shutdown();
  EXPECT_EQ(f.logger->dropped(), 0U);
  const std::vector<std::string> lines = f.sink->lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kStressThreads) * kStressPerThread);
  std::map<int, int> next;
  for (const std::string& l : lines) {
    int t = -1;
    int i = -1;
    ASSERT_EQ(std::sscanf(l.c_str(), "info %d %d", &t, &i), 2) << l;
    ASSERT_EQ(i, next[t]) << "thread " << t;
    next[t] = i + 1;
  }
}

TEST(Logger, AnOversizedRecordIsDroppedEvenUnderBlock) {
  Fixture f([](LoggerOptions& o) { o.on_full = FullPolicy::kBlock; o.ring_bytes = 4096; });
  const std::string big(f.logger->max_record_bytes(), 'x');
  TW_LOG_INFO(*f.logger, "{}", big);
  TW_LOG_INFO(*f.logger, "small");
  f.logger->shutdown();
  EXPECT_EQ(f.logger->dropped(), 1U);
  EXPECT_EQ(f.sink->lines(), (std::vector<std::string>{"info small", "warning 1 messages dropped on thread " +
                                                                          std::to_string(::gettid())}));
}

TEST(Logger, ShutdownFlushesARotatingFileAndLaterCallsAreSkipped) {
  tickwire::testing::TempDir dir;
  auto file = Logger::rotating_file_sink(dir / "tickwire.log", 1 << 20, 3);
  ASSERT_TRUE(file.ok()) << file.status();
  LoggerOptions o;
  o.sinks = {*file};
  o.pattern = "%l %v";
  auto created = Logger::create(std::move(o));
  ASSERT_TRUE(created.ok()) << created.status();
  Logger& logger = **created;
  for (int i = 0; i < 100; ++i) TW_LOG_INFO(logger, "line {}", i);
  logger.shutdown();
  evaluations = 0;
  TW_LOG_CRITICAL(logger, "after {}", counted());
  EXPECT_EQ(evaluations, 0);
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += fmt::format("info line {}\n", i);
  EXPECT_EQ(read_text(dir / "tickwire.log"), expected);
}

TEST(Logger, CreateRejectsARingThatIsNotAPowerOfTwo) {
  LoggerOptions o;
  o.ring_bytes = 5000;
  auto created = Logger::create(std::move(o));
  ASSERT_FALSE(created.ok());
  EXPECT_NE(std::string(created.status().message()).find("ring_bytes = 5000"), std::string::npos);
}

TEST(Logger, ARotatingFileThatCannotBeCreatedIsAnError) {
  tickwire::testing::TempDir dir;
  std::ofstream(dir / "plain-file") << "not a directory";
  const std::string path = (dir / "plain-file" / "x.log").string();
  auto file = Logger::rotating_file_sink(path, 1024, 1);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(std::string(file.status().message()).find(path), std::string::npos) << file.status();
}

TEST(LoggerDeathTest, AFatalSignalWritesTheRecordsStillInTheRings) {
  GTEST_FLAG_SET(death_test_style, "fast");
  tickwire::testing::TempDir dir;
  const std::string crash_path = (dir / "crash.log").string();
  EXPECT_EXIT(
      {
        LoggerOptions o;
        o.sinks = {std::make_shared<VectorSink>()};
        o.start_backend = false;
        auto created = Logger::create(std::move(o));
        if (!created.ok()) std::_Exit(3);
        Logger& logger = **created;
        const int fd = ::open(crash_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || !logger.install_fatal_signal_handlers(fd).ok()) std::_Exit(4);
        TW_LOG_INFO(logger, "before the crash {}", 1);
        TW_LOG_ERROR(logger, "before the crash {}", "two");
        std::abort();
      },
      ::testing::KilledBySignal(SIGABRT), "");
  const std::string text = read_text(crash_path);
  EXPECT_NE(text.find("fatal signal"), std::string::npos) << text;
  EXPECT_NE(text.find("[info] "), std::string::npos) << text;
  EXPECT_NE(text.find("before the crash 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("[error] "), std::string::npos) << text;
  EXPECT_NE(text.find("before the crash two\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace tickwire::middleware
