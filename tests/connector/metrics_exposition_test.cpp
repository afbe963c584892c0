// format_prometheus: the text a scrape returns, checked by Prometheus's own
// promtool (`check metrics`: syntax and naming conventions), and the
// readiness/liveness verdicts that name each failing condition.
#include "tickwire/connector/metrics/exposition.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "tickwire/connector/metrics/health.hpp"

namespace tickwire::connector::metrics {
namespace {

using ::testing::HasSubstr;

MetricsSnapshot sample_snapshot() {
  MetricsSnapshot s;
  s.pipeline.messages = 1000;
  s.pipeline.gaps = 2;
  FeedSnapshot feed;
  feed.feed = "binance";
  feed.connected = true;
  feed.subscribed = true;
  feed.frames = 1200;
  feed.bytes = 150000;
  feed.last_frame_age_s = 0.004;
  feed.books = {{"BTCUSDT", true}, {"ETH\"USDT", false}};  // a quote in a label is escaped
  feed.streams = {{"BTCUSDT", "trade", 0.25}, {"BTCUSDT", "depth@100ms", 1.5}};
  s.feeds.push_back(feed);
  s.journal.appended = 1000;
  s.journal.flushed = 990;
  s.journal.durable_seq = 980;
  s.journal.last_seq = 1000;
  s.journal.storage_errors = 3;
  s.journal.ring_used_bytes = 4096;
  s.journal.ring_bytes = 1u << 20;
  s.pipeline.lag_ms = -12;
  s.publish.push_back({"shm:tickwire-dev", true, 990, 0, 0});
  s.publish.push_back({"nats://127.0.0.1:4222", false, 0, 990, 0});
  middleware::StageReport stage;
  stage.name = "parse";
  stage.count = 1000;
  stage.p50_ns = 800;
  stage.p90_ns = 1200;
  stage.p99_ns = 4000;
  stage.p999_ns = 9000;
  stage.max_ns = 20000;
  s.stages.stages.push_back(stage);
  s.process = read_process_figures();
  s.feed_thread_age_s = 0.5;
  s.scheduler_age_s = 0.4;
  s.version = "0.1.0";
  return s;
}

TEST(MetricsExposition, OutputPassesPromtoolCheckMetrics) {
  const std::string text = format_prometheus(sample_snapshot());
  testing::TempDir dir("tickwire-metrics");
  std::ofstream(dir / "metrics.txt") << text;
  auto r = testing::run_command(
      {"/bin/sh", "-c", "promtool check metrics < '" + (dir / "metrics.txt").string() + "' 2>&1"});
  EXPECT_EQ(r.exit_code, 0) << r.out << "\n" << text;
}

TEST(MetricsExposition, NamesFollowPrometheusConventionsWithBoundedLabels) {
  const std::string text = format_prometheus(sample_snapshot());
  EXPECT_THAT(text, HasSubstr("# TYPE tickwire_messages_total counter\ntickwire_messages_total 1000\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_gaps_total 2\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_feed_connected{feed=\"binance\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_book_synced{feed=\"binance\",symbol=\"ETH\\\"USDT\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_journal_durable_lag_records 20\n"));
  EXPECT_THAT(text, HasSubstr(
      "tickwire_stream_last_message_age_seconds{feed=\"binance\",symbol=\"BTCUSDT\",channel=\"depth@100ms\"} 1.5\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_journal_ring_pending_records 10\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_stage_latency_seconds{stage=\"parse\",quantile=\"0.99\"} 4e-06\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_stage_latency_seconds_count{stage=\"parse\"} 1000\n"));
  EXPECT_THAT(text, HasSubstr("process_resident_memory_bytes "));
  EXPECT_THAT(text, HasSubstr("tickwire_exchange_lag_seconds -0.012\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_journal_storage_errors_total 3\n"));
  EXPECT_THAT(text, HasSubstr("\ntickwire_journal_ring_used_bytes 4096\n"));
  EXPECT_THAT(text, HasSubstr("\ntickwire_journal_ring_capacity_bytes 1048576\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_journal_storage_failing 0\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_journal_failed 0\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_publish_target_up{target=\"nats://127.0.0.1:4222\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_publish_records_total{target=\"shm:tickwire-dev\"} 990\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_publish_failed_records_total{target=\"nats://127.0.0.1:4222\"} 990\n"));
}

TEST(MetricsExposition, PipelineCountersAreLabelledByFeedWhenTheSnapshotHasThemPerFeed) {
  MetricsSnapshot s = sample_snapshot();
  s.feeds[0].counted = true;
  s.feeds[0].pipeline.messages = 700;
  s.feeds[0].pipeline.by_kind[static_cast<std::size_t>(JournaledKind::kTrade)] = 400;
  s.feeds[0].pipeline.by_kind[static_cast<std::size_t>(JournaledKind::kBookDelta)] = 300;
  s.feeds[0].pipeline.gaps = 2;
  s.feeds[0].pipeline.lag_ms = 5;
  FeedSnapshot okx;
  okx.feed = "okx";
  okx.counted = true;
  okx.pipeline.messages = 300;
  okx.pipeline.by_kind[static_cast<std::size_t>(JournaledKind::kQuote)] = 300;
  okx.pipeline.rejected = 4;
  s.feeds.push_back(okx);
  const std::string text = format_prometheus(s);
  EXPECT_THAT(text, HasSubstr("tickwire_messages_total{feed=\"binance\",kind=\"trade\"} 400\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_messages_total{feed=\"binance\",kind=\"book_delta\"} 300\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_messages_total{feed=\"binance\",kind=\"quote\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_messages_total{feed=\"okx\",kind=\"quote\"} 300\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_gaps_total{feed=\"binance\"} 2\ntickwire_gaps_total{feed=\"okx\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_rejected_frames_total{feed=\"okx\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("tickwire_exchange_lag_seconds{feed=\"binance\"} 0.005\n"));
  // No unlabelled total beside the per-feed samples (sum() would count it twice).
  EXPECT_EQ(text.find("\ntickwire_messages_total "), std::string::npos) << text;
  testing::TempDir dir("tickwire-metrics-feeds");
  std::ofstream(dir / "metrics.txt") << text;
  auto r = testing::run_command(
      {"/bin/sh", "-c", "promtool check metrics < '" + (dir / "metrics.txt").string() + "' 2>&1"});
  EXPECT_EQ(r.exit_code, 0) << r.out << "\n" << text;
}

TEST(Health, ReadyOnlyWhenEveryFeedIsConnectedSubscribedFreshAndSyncedAndTheJournalKeepsUp) {
  config::MetricsConfig config;
  config.ready_max_durable_lag = 100;
  config.ready_max_silence_ms = 1000;
  MetricsSnapshot s = sample_snapshot();
  s.feeds[0].books[1].synced = true;
  EXPECT_TRUE(readiness(s, config).ok) << readiness(s, config).json;

  s.feeds[0].books[1] = {"ETHUSDT", false};
  auto v = readiness(s, config);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.json, HasSubstr("\"failing\":[\"feed binance books synced\"]"));
  EXPECT_THAT(v.json, HasSubstr("not synced: ETHUSDT"));
  s.feeds[0].books[1].synced = true;

  s.feeds[0].connected = false;
  s.feeds[0].subscribed = false;
  EXPECT_THAT(readiness(s, config).json,
              HasSubstr("\"failing\":[\"feed binance connected\",\"feed binance subscribed\"]"));
  s.feeds[0].connected = s.feeds[0].subscribed = true;

  s.feeds[0].last_frame_age_s = 2.5;
  EXPECT_THAT(readiness(s, config).json, HasSubstr("\"failing\":[\"feed binance receiving\"]"));
  s.feeds[0].last_frame_age_s = 0.1;

  s.journal.durable_seq = 800;  // lag 200 > 100
  v = readiness(s, config);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.json, HasSubstr("\"failing\":[\"journal durable lag\"]"));
  EXPECT_THAT(v.json, HasSubstr("200 records stamped but not durable (limit 100)"));
  s.journal.durable_seq = 980;

  s.journal.storage_failing = true;
  v = readiness(s, config);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.json, HasSubstr("\"failing\":[\"journal storage\"]"));
  EXPECT_THAT(v.json, HasSubstr("failing (3 storage errors), retrying"));
  s.journal.storage_failing = false;
  s.journal.failed = "/data/x.seg: fdatasync: Input/output error (EIO)";
  v = readiness(s, config);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.json, HasSubstr("failed closed: /data/x.seg: fdatasync"));
  s.journal.failed.clear();
  EXPECT_TRUE(readiness(s, config).ok) << readiness(s, config).json;
}

TEST(Health, AliveOnlyWhileTheFeedThreadAndTheSchedulerTurn) {
  config::MetricsConfig config;
  config.liveness_timeout_ms = 1000;
  MetricsSnapshot s = sample_snapshot();
  EXPECT_TRUE(liveness(s, config).ok);
  s.feed_thread_age_s = 3;
  EXPECT_THAT(liveness(s, config).json, HasSubstr("\"failing\":[\"feed_thread\"]"));
  s.feed_thread_age_s = -1;
  s.scheduler_age_s = -1;
  EXPECT_THAT(liveness(s, config).json, HasSubstr("\"failing\":[\"feed_thread\",\"scheduler\"]"));
}

}  // namespace
}  // namespace tickwire::connector::metrics
