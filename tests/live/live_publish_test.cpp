// `tickwire run` publishing live, end to end: the real binary on its embedded
// simulator, publishing to shared memory and to a real nats-server (with
// user/password authentication); three book_watch consumer processes over shm
// (one SIGKILLed and restarted mid-run, one that stalls and is lapped) and a
// subscriber written with Node's `nats` package. The connector itself is
// restarted mid-run. Every consumer must end with exactly the journal's
// records (as `tickwire replay` prints them), in order, each once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/nats_server.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

namespace tickwire {
namespace {

using testing::NatsServer;
using testing::Subprocess;
using testing::TempDir;

constexpr auto kDeadline = std::chrono::seconds(120);
constexpr auto kPollPause = std::chrono::milliseconds(20);  // between checks of a condition, never a wait for one

// wait_until: true once pred() holds, false at the deadline.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::seconds limit = kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(kPollPause);
  }
  return true;
}

std::vector<std::uint64_t> sequences_in(const std::filesystem::path& file) {
  std::vector<std::uint64_t> out;
  for (const auto& line : testing::lines_of(testing::read_text(file))) {
    if (!line.empty()) out.push_back(std::stoull(line));
  }
  return out;
}

// journal_sequences: the "seq" of every record `tickwire replay` prints.
std::vector<std::uint64_t> journal_sequences(const std::filesystem::path& data) {
  auto r = testing::run_command({TICKWIRE_BINARY, "replay", data.string(), "--format", "jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.out.substr(0, 2000);
  std::vector<std::uint64_t> out;
  const std::regex seq("\"seq\":([0-9]+)");
  for (const auto& line : testing::lines_of(r.out)) {
    std::smatch m;
    if (std::regex_search(line, m, seq)) out.push_back(std::stoull(m[1]));
  }
  return out;
}

std::string config(const TempDir& dir, const std::string& nats_url, const std::string& password) {
  return "env = \"t\"\n"
         "[[feeds]]\n"
         "name = \"binance\"\n"
         "exchange = \"binance\"\n"
         "url = \"sim://\"\n"
         "symbols = [\"BTCUSDT\", \"ETHUSDT\", \"SOLUSDT\"]\n"
         "channels = [\"trade\", \"bookTicker\", \"depth@100ms\"]\n"
         "[simulator]\n"
         "rate = 4000\n"
         "seed = 7\n"
         "[journal]\n"
         "dir = \"" + (dir / "data").string() + "\"\n"
         "fsync = \"none\"\n"
         "[status]\n"
         "heartbeat_ms = 100\n"
         "[threads]\n"
         "affinity_required = false\n"
         "[publish]\n"
         "to = [\"shm:" + (dir / "ring").string() + "\", \"" + nats_url + "\"]\n"
         "[publish.shm]\n"
         "ring_bytes = \"64KiB\"\n"
         "[publish.nats]\n"
         "user = \"tw\"\n"
         "password = \"" + password + "\"\n";
}

std::filesystem::path write_config(const TempDir& dir, const std::string& text) {
  const auto path = dir / "run.toml";
  std::ofstream(path) << text;
  return path;
}

std::unique_ptr<Subprocess> run_connector(const TempDir& dir, const std::filesystem::path& cfg, int max_messages,
                                          const std::string& log) {
  return std::make_unique<Subprocess>(
      std::vector<std::string>{TICKWIRE_BINARY, "run", "-c", cfg.string(), "--max-messages",
                               std::to_string(max_messages), "--no-status"},
      (dir / log).string());
}

void expect_clean_exit(Subprocess& p, const std::filesystem::path& log) {
  const auto status = p.wait(std::chrono::seconds(120));
  ASSERT_TRUE(status.has_value()) << testing::read_text(log);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << testing::read_text(log);
}

// Consumer: one book_watch process writing its sequences to a file.
struct Consumer {
  std::filesystem::path out, log;
  std::unique_ptr<Subprocess> process;

  void start(const TempDir& dir, const std::string& name, std::vector<std::string> extra) {
    out = dir / (name + ".seq");
    log = dir / (name + ".log");
    std::vector<std::string> argv{TICKWIRE_BOOK_WATCH, "--name", (dir / "ring").string(), "--journal",
                                  (dir / "data").string(), "--env", "t", "--out", out.string(), "--quiet"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Subprocess>(argv, log.string() + (std::filesystem::exists(log) ? ".2" : ""));
  }
  void finish_at(std::uint64_t last) {
    EXPECT_TRUE(wait_until([&] {
      const auto got = sequences_in(out);
      return !got.empty() && got.back() >= last;
    })) << out << " stopped at " << (sequences_in(out).empty() ? 0 : sequences_in(out).back()) << "; log:\n"
        << testing::read_text(log);
    process->kill(SIGTERM);
    const auto status = process->wait(std::chrono::seconds(30));
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << testing::read_text(log);
  }
};

TEST(LivePublish, EveryConsumerGetsEveryJournaledRecordOnceInOrderThroughKillsLapsAndAConnectorRestart) {
  TempDir dir("tickwire-live");
  NatsServer nats(NatsServer::Options{}, NatsServer::Auth{"tw", "secret"});
  const auto cfg = write_config(dir, config(dir, nats.url(), "secret"));

  // The Node subscriber listens on NATS from before the first record.
  Subprocess node({"/usr/bin/env", "node", std::string(TICKWIRE_SOURCE_DIR) + "/tests/peers/nats_sub.mjs", "--server",
                   nats.url(), "--subject", "t.>", "--count", "0", "--user", "tw", "--pass", "secret"},
                  (dir / "node.log").string());
  ASSERT_EQ(node.read_line().value_or("<no output>"), "{\"ready\":true}") << testing::read_text(dir / "node.log");

  auto first = run_connector(dir, cfg, 4000, "run1.log");
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(dir / "ring"); })) << testing::read_text(dir / "run1.log");
  Consumer a, b, c;
  a.start(dir, "a", {"--from-seq", "1"});
  b.start(dir, "b", {"--from-seq", "1"});
  c.start(dir, "c", {"--from-seq", "1", "--stall-ms", "1500"});  // stalls once live: lapped on a 64 KiB ring

  // b is killed mid-run and resumes from the last sequence it wrote.
  ASSERT_TRUE(wait_until([&] { return sequences_in(b.out).size() >= 300; })) << testing::read_text(b.log);
  b.process->kill(SIGKILL);
  ASSERT_TRUE(b.process->wait(std::chrono::seconds(30)).has_value());
  b.process.reset();
  b.start(dir, "b", {"--resume", b.out.string()});

  expect_clean_exit(*first, dir / "run1.log");
  // The connector restarts on the same journal and ring: a new epoch, sequences continue.
  auto second = run_connector(dir, cfg, 2000, "run2.log");
  expect_clean_exit(*second, dir / "run2.log");

  const auto journal = journal_sequences(dir / "data");
  ASSERT_GE(journal.size(), 6000u);
  for (std::size_t i = 0; i < journal.size(); ++i) ASSERT_EQ(journal[i], i + 1) << "the journal reused or skipped";
  const std::uint64_t last = journal.back();

  for (Consumer* consumer : {&a, &b, &c}) {
    consumer->finish_at(last);
    EXPECT_EQ(sequences_in(consumer->out), journal) << consumer->out;
  }
  const std::string c_log = testing::read_text(c.log);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c_log, m, std::regex("([0-9]+) refills from the journal, ([0-9]+) epochs"))) << c_log;
  EXPECT_GE(std::stoull(m[1]), 1u) << "the stalled consumer was never lapped: " << c_log;
  const std::string a_log = testing::read_text(a.log);
  ASSERT_TRUE(std::regex_search(a_log, m, std::regex("([0-9]+) epochs"))) << a_log;
  EXPECT_EQ(m[1], "1") << a_log;

  // The Node subscriber: every record once, in order, with the Envelope's sequence.
  std::vector<std::uint64_t> node_seqs;
  const std::regex tseq("\"tseq\":\"([0-9]+)\"");
  while (node_seqs.empty() || node_seqs.back() < last) {
    auto line = node.read_line(std::chrono::seconds(30));
    ASSERT_TRUE(line.has_value()) << "node stopped after " << node_seqs.size() << " records";
    if (std::regex_search(*line, m, tseq)) node_seqs.push_back(std::stoull(m[1]));
  }
  EXPECT_EQ(node_seqs, journal);
}

// A connector started before its NATS server (a compose file without health
// checks): the target is down and refuses records while its publisher thread
// keeps trying; once the server is up, the connector connects and a NATS
// subscriber receives the records stamped from then on, in order.
TEST(LivePublish, ANatsServerThatStartsAfterTheConnectorIsPublishedToOnceItIsUp) {
  TempDir dir("tickwire-live-late");
  const int port = testing::free_loopback_port();
  const std::string url = "nats://127.0.0.1:" + std::to_string(port);
  const auto cfg = write_config(dir, config(dir, url, "secret"));
  auto run = run_connector(dir, cfg, 10'000'000, "run.log");  // stopped below with SIGTERM
  const auto log = [&] { return testing::read_text(dir / "run.log"); };
  ASSERT_TRUE(wait_until([&] { return log().find("not published there until it connects") != std::string::npos; }))
      << log();

  NatsServer nats(NatsServer::Options{.jetstream = false, .port = port}, NatsServer::Auth{"tw", "secret"});
  Subprocess node({"/usr/bin/env", "node", std::string(TICKWIRE_SOURCE_DIR) + "/tests/peers/nats_sub.mjs", "--server",
                   url, "--subject", "t.>", "--count", "0", "--user", "tw", "--pass", "secret"},
                  (dir / "node.log").string());
  ASSERT_EQ(node.read_line().value_or("<no output>"), "{\"ready\":true}") << testing::read_text(dir / "node.log");
  ASSERT_TRUE(wait_until([&] { return log().find("connected at attempt") != std::string::npos; })) << log();

  std::vector<std::uint64_t> seqs;
  const std::regex tseq("\"tseq\":\"([0-9]+)\"");
  while (seqs.size() < 200) {
    auto line = node.read_line(std::chrono::seconds(30));
    ASSERT_TRUE(line.has_value()) << "node stopped after " << seqs.size() << " records; connector log:\n" << log();
    std::smatch m;
    if (std::regex_search(*line, m, tseq)) seqs.push_back(std::stoull(m[1]));
  }
  run->kill(SIGTERM);
  expect_clean_exit(*run, dir / "run.log");
  // Records 1.. were stamped while the server was down: refused, never published.
  EXPECT_GT(seqs.front(), 1u);
  for (std::size_t i = 1; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], seqs[i - 1] + 1) << i;
  const auto journal = journal_sequences(dir / "data");
  ASSERT_FALSE(journal.empty());
  EXPECT_GE(journal.back(), seqs.back());
  std::smatch m;
  const std::string text = log();
  ASSERT_TRUE(std::regex_search(text, m, std::regex("connected at attempt ([0-9]+); ([0-9]+) records were refused")))
      << text;
  EXPECT_GE(std::stoi(m[1]), 2);
  EXPECT_GT(std::stoull(m[2]), 0u);
}

TEST(LivePublish, AWrongNatsPasswordIsAClearErrorAndTheConnectorKeepsJournaling) {
  TempDir dir("tickwire-live-auth");
  NatsServer nats(NatsServer::Options{}, NatsServer::Auth{"tw", "secret"});
  const auto cfg = write_config(dir, config(dir, nats.url(), "wrong"));
  auto run = run_connector(dir, cfg, 500, "run.log");
  expect_clean_exit(*run, dir / "run.log");
  const std::string log = testing::read_text(dir / "run.log");
  EXPECT_NE(log.find("publish " + nats.url() + ": nats " + nats.url() + ": connect"), std::string::npos) << log;
  EXPECT_NE(log.find("Authorization Violation"), std::string::npos) << log;
  EXPECT_GE(journal_sequences(dir / "data").size(), 500u);
  // The records NATS never got are counted in the journal as Status `dropped`
  // records naming the target. The target is down, so every record is refused
  // on the feed thread as it is published: each such Status counts exactly
  // the records stamped since the previous one.
  auto r = testing::run_command({TICKWIRE_BINARY, "replay", (dir / "data").string(), "--format", "jsonl"});
  ASSERT_EQ(r.exit_code, 0);
  const std::regex dropped("^\\{\"seq\":([0-9]+),.*\"status\":\"dropped\",\"from_id\":0,\"to_id\":0,\"count\":([0-9]+),"
                           "\"detail\":\"publish " + nats.url() + ": ");
  std::uint64_t reports = 0, counted = 0, last = 0;
  for (const auto& line : testing::lines_of(r.out)) {
    std::smatch m;
    if (!std::regex_search(line, m, dropped)) continue;
    ++reports;
    counted += std::stoull(m[2]);
    last = std::stoull(m[1]);
    EXPECT_EQ(counted, last - 1) << line;  // records 1 .. seq-1 were all refused before this report
  }
  EXPECT_GE(reports, 1u) << r.out.substr(0, 2000);
  EXPECT_NE(log.find("records not published"), std::string::npos) << log;
}

// --inproc-probe: an in-process subscriber inside `tickwire run` that
// histograms frame received -> handler. The spinning one is handed every
// record the journal holds (or told it was lapped past it); the parked one,
// on the transport's own delivery thread, reports too; without an "inproc"
// target the run refuses to start, naming what to add.
std::string inproc_config(const TempDir& dir, const std::string& to) {
  return "env = \"t\"\n"
         "[[feeds]]\n"
         "name = \"binance\"\n"
         "exchange = \"binance\"\n"
         "url = \"sim://\"\n"
         "symbols = [\"BTCUSDT\", \"ETHUSDT\"]\n"
         "channels = [\"trade\", \"bookTicker\", \"depth@100ms\"]\n"
         "[simulator]\n"
         "rate = 4000\n"
         "seed = 7\n"
         "[journal]\n"
         "dir = \"" + (dir / "data").string() + "\"\n"
         "fsync = \"none\"\n"
         "[threads]\n"
         "affinity_required = false\n"
         "[publish]\n"
         "to = [" + to + "]\n";
}

// probe_records: the records and lapped counts of the probe's log line; false if absent.
bool probe_records(const std::string& log, std::uint64_t& records, std::uint64_t& lapped) {
  std::smatch m;
  const std::regex line("inproc probe: ([0-9]+) records, frame received -> in-process handler p50 [0-9.]+ us, "
                        "p99 [0-9.]+ us, p99.9 [0-9.]+ us, max [0-9.]+ us \\(([0-9]+) lapped past, 0 undecodable\\)");
  if (!std::regex_search(log, m, line)) return false;
  records = std::stoull(m[1]);
  lapped = std::stoull(m[2]);
  return true;
}

TEST(InprocProbe, ASpinningProbeIsHandedEveryJournaledRecordAndWritesItsHistogram) {
  TempDir dir("inproc-probe");
  const auto cfg = write_config(dir, inproc_config(dir, "\"inproc\""));
  Subprocess run({TICKWIRE_BINARY, "run", "-c", cfg.string(), "--max-messages", "1500", "--no-status",
                  "--inproc-probe", "spin", "--hgrm-dir", (dir / "hgrm").string()},
                 (dir / "run.log").string());
  expect_clean_exit(run, dir / "run.log");
  const std::string log = testing::read_text(dir / "run.log");
  std::uint64_t records = 0, lapped = 0;
  ASSERT_TRUE(probe_records(log, records, lapped)) << log;
  const auto journaled = journal_sequences(dir / "data");
  ASSERT_GE(journaled.size(), 1500u);
  EXPECT_EQ(records + lapped, journaled.size()) << log;
  const std::string hgrm = testing::read_text(dir / "hgrm" / "inproc_handler.hgrm");
  EXPECT_NE(hgrm.find("#[Max"), std::string::npos) << hgrm;
}

// [threads] feed_spin: the feed thread polls instead of sleeping; it still
// journals and hands over every record, and stops when the run ends.
TEST(InprocProbe, ASpinningFeedThreadHandsOverEveryJournaledRecordAndStops) {
  TempDir dir("feed-spin");
  std::string text = inproc_config(dir, "\"inproc\"");
  const std::string threads = "[threads]\naffinity_required = false\n";
  ASSERT_NE(text.find(threads), std::string::npos);
  text.replace(text.find(threads), threads.size(), threads + "feed_spin = true\n");
  const auto cfg = write_config(dir, text);
  // The spinning probe: it reads what its thread had not reached when the
  // run stops, so it counts every record (a parked probe's delivery thread
  // may still hold the last ones when it is unsubscribed).
  Subprocess run({TICKWIRE_BINARY, "run", "-c", cfg.string(), "--max-messages", "1500", "--no-status",
                  "--inproc-probe", "spin"},
                 (dir / "run.log").string());
  expect_clean_exit(run, dir / "run.log");
  const std::string log = testing::read_text(dir / "run.log");
  EXPECT_NE(log.find("feed thread spins (threads.feed_spin = true)"), std::string::npos) << log;
  std::uint64_t records = 0, lapped = 0;
  ASSERT_TRUE(probe_records(log, records, lapped)) << log;
  const auto journaled = journal_sequences(dir / "data");
  ASSERT_GE(journaled.size(), 1500u);
  for (std::size_t i = 1; i < journaled.size(); ++i) ASSERT_EQ(journaled[i], journaled[i - 1] + 1) << i;
  EXPECT_EQ(records + lapped, journaled.size()) << log;
}

TEST(InprocProbe, AParkedProbeReportsAndWithoutAnInprocTargetTheRunRefusesToStart) {
  TempDir dir("inproc-probe-parked");
  const auto cfg = write_config(dir, inproc_config(dir, "\"inproc\""));
  Subprocess run({TICKWIRE_BINARY, "run", "-c", cfg.string(), "--max-messages", "500", "--no-status",
                  "--inproc-probe", "parked"},
                 (dir / "run.log").string());
  expect_clean_exit(run, dir / "run.log");
  std::uint64_t records = 0, lapped = 0;
  const std::string log = testing::read_text(dir / "run.log");
  ASSERT_TRUE(probe_records(log, records, lapped)) << log;
  EXPECT_GT(records, 0u);

  const auto shm_only = write_config(dir, inproc_config(dir, "\"shm:" + (dir / "ring").string() + "\""));
  Subprocess refused({TICKWIRE_BINARY, "run", "-c", shm_only.string(), "--max-messages", "10", "--no-status",
                      "--inproc-probe", "spin"},
                     (dir / "refused.log").string());
  const auto status = refused.wait(std::chrono::seconds(120));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
  const std::string why = testing::read_text(dir / "refused.log");
  EXPECT_NE(why.find("--inproc-probe: [publish] to has no \"inproc\" target"), std::string::npos) << why;
  auto bad = testing::run_command({TICKWIRE_BINARY, "run", "-c", cfg.string(), "--inproc-probe", "sometimes"});
  EXPECT_NE(bad.exit_code, 0);
}

}  // namespace
}  // namespace tickwire
