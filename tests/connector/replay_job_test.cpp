// A capture replay as a finite job, through real processes: `tickwire run`
// with `url = "sim://"` and `[simulator] replay`, and the two-command
// workflow (`tickwire sim --replay FILE --exit-at-end` beside `tickwire run
// --exit-when-idle`). Each ends by itself with exit 0 and the journal holds
// the whole capture.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

namespace tickwire {
namespace {

using testing::lines_of;
using testing::run_command;
using testing::Subprocess;
using testing::TempDir;

constexpr std::uint64_t kTrades = 500;

// write_capture: a snapshot line (unless not `with_snapshot`), then kTrades
// trades with one depth diff after every tenth, all at one recorded time (so
// speed 1 sends at once).
void write_capture(const std::filesystem::path& path, bool with_snapshot = true) {
  std::ofstream out(path);
  if (with_snapshot) {
    out << R"({"sim":"snapshot","symbol":"BTCUSDT","lastUpdateId":99,"bids":[["1.5","2"]],"asks":[["1.6","3"]]})" << "\n";
  }
  std::uint64_t update = 100;
  for (std::uint64_t t = 1; t <= kTrades; ++t) {
    out << fmt::format(R"({{"stream":"btcusdt@trade","data":{{"e":"trade","E":1000,"s":"BTCUSDT","t":{},"p":"1.55","q":"0.1","T":1000,"m":true,"M":true}}}})",
                       t)
        << "\n";
    if (t % 10 != 0) continue;
    out << fmt::format(R"({{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1000,"s":"BTCUSDT","U":{},"u":{},"b":[["1.4","{}"]],"a":[]}}}})",
                       update, update, t)
        << "\n";
    ++update;
  }
}

// journal_kinds: how many records of each kind `tickwire replay DIR` prints.
std::map<std::string, std::uint64_t> journal_kinds(const std::filesystem::path& dir) {
  auto replay = run_command({TICKWIRE_BINARY, "replay", dir.string()});
  EXPECT_EQ(replay.exit_code, 0) << replay.out;
  simdjson::dom::parser parser;
  std::map<std::string, std::uint64_t> kinds;
  for (const auto& line : lines_of(replay.out)) ++kinds[std::string(std::string_view(parser.parse(line)["kind"]))];
  return kinds;
}

std::string config_text(const std::string& url, const std::string& channels, const std::string& extra) {
  return fmt::format("env = \"test\"\n[[feeds]]\nname = \"binance\"\nexchange = \"binance\"\nurl = \"{}\"\n"
                     "symbols = [\"BTCUSDT\"]\nchannels = [{}]\n{}[journal]\ndir = \"data\"\nfsync = \"none\"\n"
                     "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[metrics]\nlisten = \"\"\n",
                     url, channels, extra);
}

TEST(ReplayJob, RunReplaysTheConfiguredCaptureAndStopsCleanlyWhenIdle) {
  TempDir dir("tickwire-replay-job");
  std::filesystem::create_directories(dir / "conf");
  write_capture(dir / "conf" / "capture.ndjson");
  // Relative paths: both resolve against conf/, whatever the working directory.
  std::ofstream(dir / "conf" / "c.toml") << config_text("sim://", R"("trade", "depth@100ms")",
                                                        "[simulator]\nreplay = \"capture.ndjson\"\n");
  auto run = run_command({"/bin/sh", "-c",
                          fmt::format("cd / && '{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                      (dir / "conf" / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("replaying " + (dir / "conf" / "capture.ndjson").string()), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("(--exit-when-idle): shutting down"), std::string::npos) << run.out;
  // The journal was drained and closed: it verifies and holds the whole capture.
  EXPECT_EQ(run_command({TICKWIRE_BINARY, "verify", (dir / "conf" / "data").string()}).exit_code, 0);
  auto kinds = journal_kinds(dir / "conf" / "data");
  EXPECT_EQ(kinds["trade"], kTrades);
  EXPECT_GE(kinds["book_snapshot"], 1u);
}

TEST(ReplayJob, AUsdmCaptureWhoseIdsSkipBetweenDiffsReplaysIntoASyncedBook) {
  // As a real USD-M capture has them: each diff's U skips past the last u,
  // pu names it. The replayed REST book follows the pu chain (it used to
  // call the skipped ids missing and answer 503 for ever), and the
  // connector applies every diff after the book it fetched, with no gap.
  TempDir dir("tickwire-replay-usdm");
  {
    std::ofstream out(dir / "capture.ndjson");
    out << R"({"sim":"snapshot","symbol":"BTCUSDT","lastUpdateId":99,"bids":[["1.5","2"]],"asks":[["1.6","3"]]})"
        << "\n";
    std::uint64_t prev = 99, first = 100;
    for (std::uint64_t n = 1; n <= 200; ++n) {
      const std::uint64_t last = first + n % 3;
      out << fmt::format(R"({{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1000,"T":1000,"s":"BTCUSDT","U":{},"u":{},"pu":{},"b":[["1.4","{}"]],"a":[]}}}})",
                         first, last, prev, n)
          << "\n";
      prev = last;
      first = last + 1 + n % 4;  // the ids no diff of this stream names
    }
  }
  std::string config = config_text("sim://", R"("depth@100ms")", "[simulator]\nreplay = \"capture.ndjson\"\n");
  config.replace(config.find("exchange = \"binance\""), 20, "exchange = \"binance-usdm\"");
  std::ofstream(dir / "c.toml") << config;
  auto run = run_command({"/bin/sh", "-c",
                          fmt::format("cd '{}' && '{}' run -c c.toml --exit-when-idle 1s --no-status 2>&1",
                                      dir.path().string(), TICKWIRE_BINARY)});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  auto kinds = journal_kinds(dir / "data");
  EXPECT_GE(kinds["book_snapshot"], 1u) << run.out;
  auto replay = run_command({TICKWIRE_BINARY, "replay", (dir / "data").string()});
  EXPECT_EQ(replay.out.find("\"status\":\"gap\""), std::string::npos) << replay.out.substr(0, 4000);
  // The book reached the capture's last diff (800), by the REST book the
  // replay served then or by the deltas after an earlier one (which of the
  // two depends on when the connector's request arrived).
  std::uint64_t last_book_id = 0;
  simdjson::dom::parser parser;
  for (const auto& line : lines_of(replay.out)) {
    simdjson::dom::element r = parser.parse(line);
    const std::string_view kind = r["kind"];
    if (kind == "book_snapshot" || kind == "book_delta") last_book_id = std::uint64_t(r["last_update_id"]);
  }
  EXPECT_EQ(last_book_id, 800u) << replay.out.substr(replay.out.size() > 2000 ? replay.out.size() - 2000 : 0);
}

TEST(ReplayJob, WithoutASnapshotLineTheConnectorRetriesThe503AndJournalsNoBook) {
  // The diffs alone are not the book: the simulator answers 503 with
  // Retry-After 1, the connector waits that long and asks again, and never
  // journals a book (before, it took an empty book as the whole one).
  TempDir dir("tickwire-replay-job");
  write_capture(dir / "capture.ndjson", false);
  std::ofstream(dir / "c.toml") << config_text("sim://", R"("trade", "depth@100ms")",
                                               "[simulator]\nreplay = \"capture.ndjson\"\n");
  auto run = run_command({"/bin/sh", "-c",
                          fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                      (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("book snapshot failed (attempt 1): GET "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(": HTTP 503, Retry-After 1 s: {\"code\":-1001,\"msg\":\"sim: no consistent book: the capture "
                         "has no snapshot line for BTCUSDT: its book cannot be known\"}; retrying in 1000 ms"),
            std::string::npos)
      << run.out;
  auto kinds = journal_kinds(dir / "data");
  EXPECT_EQ(kinds["trade"], kTrades);
  EXPECT_EQ(kinds["book_snapshot"], 0u);
  EXPECT_EQ(kinds["book_delta"], 0u);
}

// two_commands: `tickwire sim SIM_ARGS --port 0 --speed 0 --exit-at-end`, and
// beside it `tickwire run --exit-when-idle 1s` on its port journaling into
// dir/data; both must exit 0 by themselves, the journal holding every trade.
void two_commands(const TempDir& dir, std::vector<std::string> sim_args) {
  std::vector<std::string> argv = {TICKWIRE_BINARY, "sim"};
  argv.insert(argv.end(), sim_args.begin(), sim_args.end());
  for (const char* a : {"--port", "0", "--speed", "0", "--exit-at-end"}) argv.emplace_back(a);
  Subprocess sim(argv);
  const std::string first = sim.read_line().value_or("");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first, m, std::regex(R"(ws://127\.0\.0\.1:(\d+)/stream)"))) << first;
  std::ofstream(dir / "c.toml") << config_text(fmt::format("ws://127.0.0.1:{}/stream", m[1].str()), R"("trade")", "");
  auto run = run_command({"/bin/sh", "-c",
                          fmt::format("'{}' run -c '{}' --exit-when-idle 1s --no-status 2>&1", TICKWIRE_BINARY,
                                      (dir / "c.toml").string())});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto status = sim.wait();
  ASSERT_TRUE(status.has_value()) << "the simulator did not exit at the end of the replay";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_EQ(journal_kinds(dir / "data")["trade"], kTrades);
}

TEST(ReplayJob, SimExitsOnceTheConnectorReadTheWholeCaptureAndRunExitsWhenIdle) {
  TempDir dir("tickwire-replay-job");
  write_capture(dir / "capture.ndjson");
  two_commands(dir, {"--replay", (dir / "capture.ndjson").string()});
}

TEST(ReplayJob, SimTakesTheReplayFromTheConfigsSimulatorSection) {
  TempDir dir("tickwire-replay-job");
  std::filesystem::create_directories(dir / "conf");
  write_capture(dir / "conf" / "capture.ndjson");
  std::ofstream(dir / "conf" / "c.toml") << config_text("sim://", R"("trade")",
                                                        "[simulator]\nreplay = \"capture.ndjson\"\n");
  two_commands(dir, {"-c", (dir / "conf" / "c.toml").string()});
}

}  // namespace
}  // namespace tickwire
