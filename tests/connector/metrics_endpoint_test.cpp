// The metrics endpoint of a real `tickwire run`: /readyz before and after the
// books sync and when the simulator stalls or stops, /metrics values moving
// with the feed, and bad HTTP clients that must not disturb the feed.
#include "tickwire/connector/metrics/endpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "metrics_connector.hpp"

namespace tickwire::testing {
namespace {

using ::testing::HasSubstr;

bool has(const HttpResult& r, std::string_view text) { return r.body.find(text) != std::string::npos; }

// ok_check: the JSON check `name` passed.
bool ok_check(const HttpResult& r, std::string_view name) {
  return has(r, "{\"name\":\"" + std::string(name) + "\",\"ok\":true");
}

TEST(MetricsEndpoint, ReadyzIsNotReadyWhileTheBooksCannotSyncAndNamesThem) {
  auto sim = metrics_sim();
  sim.faults.refuse_rest = {429, 0, 1};  // every snapshot request refused
  MetricsRun run(sim);
  // Connected, subscribed and receiving: only the books are missing.
  const auto r = run.wait_for("/readyz", [](const HttpResult& x) {
    return ok_check(x, "feed sim connected") && ok_check(x, "feed sim subscribed") && ok_check(x, "feed sim receiving");
  });
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("\"failing\":[\"feed sim books synced\"]"));
  EXPECT_THAT(r.body, HasSubstr("not synced: BTCUSDT,ETHUSDT"));
  const auto metrics = run.get("/metrics");
  EXPECT_EQ(metric_value(metrics.body, "tickwire_book_synced", "{feed=\"sim\",symbol=\"BTCUSDT\"}"), 0.0);
  // /healthz turns healthy once the feed thread and the scheduler have each run their liveness task.
  const auto health = run.wait_for("/healthz", [](const HttpResult& x) { return x.status == 200; });
  EXPECT_EQ(health.status, 200) << health.body;
}

TEST(MetricsEndpoint, ReadyzTurnsReadyOnceSyncedAndNotReadyWhenTheSimulatorStops) {
  MetricsRun run(metrics_sim());
  const auto ready = run.wait_for("/readyz", [](const HttpResult& x) { return x.status == 200; });
  EXPECT_THAT(ready.body, HasSubstr("\"status\":\"ok\""));
  const auto metrics = run.get("/metrics");
  EXPECT_EQ(metric_value(metrics.body, "tickwire_book_synced", "{feed=\"sim\",symbol=\"ETHUSDT\"}"), 1.0);
  EXPECT_EQ(metric_value(metrics.body, "tickwire_feed_connected", "{feed=\"sim\"}"), 1.0);
  // Messages by kind: both books were journaled whole when they synced; no quote channel is subscribed.
  EXPECT_GE(metric_value(metrics.body, "tickwire_messages_total", "{feed=\"sim\",kind=\"book_snapshot\"}"), 2.0)
      << metrics.body;
  EXPECT_EQ(metric_value(metrics.body, "tickwire_messages_total", "{feed=\"sim\",kind=\"quote\"}"), 0.0);
  // Each configured stream has its age (sampled with the books that made /readyz ready).
  for (const char* stream : {"{feed=\"sim\",symbol=\"BTCUSDT\",channel=\"trade\"}",
                             "{feed=\"sim\",symbol=\"ETHUSDT\",channel=\"depth@100ms\"}"}) {
    const auto age = metric_value(metrics.body, "tickwire_stream_last_message_age_seconds", stream);
    ASSERT_TRUE(age.has_value()) << stream << "\n" << metrics.body;
    EXPECT_GE(*age, 0.0);
  }
  run.sim().stop();
  const auto gone = run.wait_for("/readyz", [](const HttpResult& x) { return x.status == 503; });
  EXPECT_THAT(gone.body, HasSubstr("\"failing\":[\"feed sim connected\""));
  const auto status = run.stop();
  ASSERT_TRUE(status.has_value()) << "no exit after SIGTERM; its log:\n" << run.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.log();
}

TEST(MetricsEndpoint, ReadyzIsNotReadyWhenTheSimulatorStallsTheStream) {
  auto sim = metrics_sim();
  sim.faults.stall = {true, 3000, 0, 1};  // after 3000 messages: silence, socket open
  MetricsRun run(sim, {"TICKWIRE_METRICS_READY_MAX_SILENCE_MS=300"});
  const auto stalled = run.wait_for("/readyz", [](const HttpResult& x) {
    // Books may or may not have synced before the stall: receiving is failing first.
    // Before the first message "receiving" fails too ("no message received yet"): wait for the silence.
    return x.status == 503 && has(x, "\"failing\":[\"feed sim receiving\"") && has(x, "(limit 0.300 s)");
  });
  EXPECT_THAT(stalled.body, HasSubstr("(limit 0.300 s)"));
  // Stalled upstream, but the process is alive.
  EXPECT_EQ(run.wait_for("/healthz", [](const HttpResult& x) { return x.status == 200; }).status, 200);
}

TEST(MetricsEndpoint, BadRequestsDoNotDisturbTheFeed) {
  MetricsRun run(metrics_sim());
  run.wait_for("/readyz", [](const HttpResult& x) { return x.status == 200; });
  const auto before = metric_sum(run.get("/metrics").body, "tickwire_messages_total", "feed=\"sim\"");
  ASSERT_TRUE(before.has_value());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(http_get(run.port(), "/unknown/" + std::to_string(i)).status, 404);
    RawClient big(run.port());
    big.send("GET /metrics HTTP/1.1\r\nX: " + std::string(100'000, 'x') + "\r\n\r\n");
    EXPECT_EQ(parse_response(big.read_all()).status, 431);
    RawClient garbage(run.port());
    garbage.send(std::string("\0\xff\r\n\r\n", 6));
    EXPECT_EQ(parse_response(garbage.read_all()).status, 400);
  }
  {
    // More connections than max_connections (16), each sending half a
    // request: the excess is closed at once, the rest at the timeout or when
    // they close here.
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 40; ++i) {
      idle.push_back(std::make_unique<RawClient>(run.port()));
      idle.back()->send("GET /metrics HTTP/1.1\r\n");
    }
  }
  // The feed kept going through it, and the endpoint still answers.
  const auto after = run.wait_for("/metrics", [&](const HttpResult& x) {
    const auto v = metric_sum(x.body, "tickwire_messages_total", "feed=\"sim\"");
    return x.status == 200 && v && *v > *before;
  });
  EXPECT_GT(metric_value(after.body, "tickwire_http_requests_total", "{code=\"4xx\"}").value_or(0), 0.0);
  EXPECT_EQ(run.get("/readyz").status, 200);
  const auto status = run.stop();
  ASSERT_TRUE(status.has_value()) << "no exit after SIGTERM; its log:\n" << run.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.log();
  const auto verify = run_command({TICKWIRE_BINARY, "verify", run.journal_dir().string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST(MetricsEndpoint, ListensOnLoopbackByDefault) {
  config::MetricsConfig defaults;
  EXPECT_EQ(defaults.listen, "127.0.0.1:9464");
}

}  // namespace
}  // namespace tickwire::testing

namespace tickwire::testing {
namespace {

TEST(RunSignals, SighupDrainsTheJournalAndExitsCleanly) {
  MetricsRun run(metrics_sim());
  run.wait_for("/readyz", [](const HttpResult& x) { return x.status == 200; });
  run.process().kill(SIGHUP);
  const auto status = run.process().wait();
  ASSERT_TRUE(status.has_value()) << "no exit after SIGHUP; its log:\n" << run.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.log();
  EXPECT_THAT(run.log(), HasSubstr("Hangup: shutting down"));
  const auto verify = run_command({TICKWIRE_BINARY, "verify", run.journal_dir().string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST(RunSignals, AShutdownHeldUpByAPeerThatNeverAnswersTheCloseSaysWhatItWaitsOnAndStillEnds) {
  auto sim = metrics_sim();
  // After 500 messages the simulator goes silent and stops reading: the
  // close frame the connector sends at shutdown is never answered.
  sim.faults.stall = {true, 500, 0, 1};
  MetricsRun run(sim);
  // One connection subscribed to every stream the simulator publishes: its
  // 500th message (the stall) is published before sent() counts it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (run.sim().sent() < 500) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the simulator never stalled; connector log:\n"
                                                          << run.log();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, deadline above
  }
  const auto status = run.stop();
  ASSERT_TRUE(status.has_value()) << "no exit after SIGTERM; its log:\n" << run.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.log();
  // The close handshake waits out its timeout (10 s); the log names the step meanwhile.
  EXPECT_THAT(run.log(), HasSubstr("shutdown: still waiting for the feed thread (websocket close handshakes"));
  const auto verify = run_command({TICKWIRE_BINARY, "verify", run.journal_dir().string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST(RunLogs, JsonLogsAreOneObjectPerLineAndNoStatusLineWithoutATerminal) {
  MetricsRun run(metrics_sim(), {"TICKWIRE_LOG_FORMAT=json", "TICKWIRE_STATUS_LOG_INTERVAL_MS=200"});
  run.wait_for("/readyz", [](const HttpResult& x) { return x.status == 200; });
  // The periodic structured status line, not the terminal's status line.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (run.log().find("\"message\":\"status: ") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition, deadline above
  }
  const auto status = run.stop();
  ASSERT_TRUE(status.has_value()) << "no exit after SIGTERM; its log:\n" << run.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.log();
  const std::string log = run.log();
  simdjson::dom::parser parser;
  std::istringstream lines(log);
  std::size_t objects = 0, statuses = 0;
  for (std::string line; std::getline(lines, line);) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << "not a JSON object: " << line;
    for (const char* key : {"time", "level", "thread", "message"}) {
      EXPECT_EQ(e[key].error(), simdjson::SUCCESS) << key << " missing in " << line;
    }
    std::string_view message;
    ASSERT_EQ(e["message"].get_string().get(message), simdjson::SUCCESS);
    statuses += message.starts_with("status: ") ? 1 : 0;
    ++objects;
  }
  EXPECT_GT(objects, 3u);
  EXPECT_GE(statuses, 2u);  // at least one periodic line and the one at shutdown
  EXPECT_THAT(log, HasSubstr("\"message\":\"Terminated: shutting down\""));
}

TEST(RunLogs, AStartThatFailsAfterTheConfigIsReadSaysSoInJsonToo) {
  testing::TempDir dir("tickwire-json-fail");
  std::ofstream(dir / "blocker") << "a file where the journal's parent directory should be";
  const auto config = dir / "c.toml";
  std::ofstream(config) << "[[feeds]]\nname = \"sim\"\nexchange = \"binance\"\nurl = \"sim://\"\n"
                           "symbols = [\"BTCUSDT\"]\n[journal]\ndir = \""
                        << (dir / "blocker" / "journal").string() << "\"\n[metrics]\nlisten = \"\"\n";
  const auto r = run_command({"/bin/sh", "-c",
                              std::string("TICKWIRE_LOG_FORMAT=json '") + TICKWIRE_BINARY + "' run --no-status -c '" +
                                  config.string() + "' 2>&1"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  simdjson::dom::parser parser;
  std::istringstream lines(r.out);
  bool named = false;
  for (std::string line; std::getline(lines, line);) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << "not a JSON object: " << line;
    std::string_view message, level;
    ASSERT_EQ(e["message"].get_string().get(message), simdjson::SUCCESS) << line;
    ASSERT_EQ(e["level"].get_string().get(level), simdjson::SUCCESS) << line;
    if (message.starts_with("tickwire run: ") && message.find((dir / "blocker").string()) != std::string_view::npos) {
      named = level == "error";
    }
  }
  EXPECT_TRUE(named) << "no error line naming the journal's path:\n" << r.out;
}

TEST(RunSignals, HealthCommandExitsZeroOnlyForAnHttp200) {
  MetricsRun run(metrics_sim());
  run.wait_for("/readyz", [](const HttpResult& x) { return x.status == 200; });
  const std::string base = "http://127.0.0.1:" + std::to_string(run.port());
  EXPECT_EQ(run_command({TICKWIRE_BINARY, "health", base + "/healthz"}).exit_code, 0);
  EXPECT_EQ(run_command({TICKWIRE_BINARY, "health", base + "/nothing"}).exit_code, 1);
  EXPECT_EQ(run_command({TICKWIRE_BINARY, "health", "http://127.0.0.1:" + std::to_string(free_loopback_port()) + "/healthz"})
                .exit_code,
            3);
}

}  // namespace
}  // namespace tickwire::testing
