// deploy/ against the real connector and Prometheus's own tools: the alert
// rules pass `promtool check rules` and `promtool test rules`, the scrape
// config passes `promtool check config`, every metric the rules and the
// Grafana dashboard name exists in a live scrape, a live scrape passes
// `promtool check metrics`, and a real Prometheus server on 127.0.0.1 scrapes
// a running connector: messages increase, and the gaps it reports equal the
// gaps the simulator injected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <regex>
#include <set>

#include "metrics_connector.hpp"

namespace tickwire::testing {
namespace {

const std::string kDeploy = std::string(TICKWIRE_SOURCE_DIR) + "/deploy";

CommandResult sh(const std::string& command) { return run_command({"/bin/sh", "-c", command + " 2>&1"}); }

// metric_names: every tickwire_* / process_* name in `text` (PromQL or JSON).
std::set<std::string> metric_names(const std::string& text) {
  static const std::regex kName(R"(\b(tickwire|process)_[a-z_]+\b)");
  std::set<std::string> names;
  for (std::sregex_iterator it(text.begin(), text.end(), kName), end; it != end; ++it) names.insert(it->str());
  return names;
}

TEST(Deploy, AlertRulesPassPromtoolCheckAndTheirUnitTests) {
  auto check = sh("promtool check rules '" + kDeploy + "/prometheus/alerts.yml'");
  EXPECT_EQ(check.exit_code, 0) << check.out;
  auto test = sh("cd '" + kDeploy + "/prometheus' && promtool test rules alerts_test.yml");
  EXPECT_EQ(test.exit_code, 0) << test.out;
  auto config = sh("promtool check config '" + kDeploy + "/prometheus/prometheus.yml'");
  EXPECT_EQ(config.exit_code, 0) << config.out;
  // Every alert has a test case.
  const std::string rules = read_text(kDeploy + "/prometheus/alerts.yml");
  const std::string tests = read_text(kDeploy + "/prometheus/alerts_test.yml");
  static const std::regex kAlert(R"(alert: (\w+))");
  for (std::sregex_iterator it(rules.begin(), rules.end(), kAlert), end; it != end; ++it) {
    EXPECT_NE(tests.find("alertname: " + (*it)[1].str() + "\n"), std::string::npos) << (*it)[1] << " is not tested";
  }
}

TEST(Deploy, EveryMetricTheRulesAndTheDashboardNameExistsInALiveScrape) {
  MetricsRun run(metrics_sim());
  const auto scrape = run.wait_for("/metrics", [](const HttpResult& r) {
    // The age gauge appears with the first frame: wait for a feed that streams.
    return r.status == 200 && r.body.find("tickwire_feed_last_message_age_seconds{") != std::string::npos;
  });
  std::set<std::string> exported;
  std::istringstream lines(scrape.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) exported.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  ASSERT_FALSE(exported.empty());

  std::set<std::string> used = metric_names(read_text(kDeploy + "/prometheus/alerts.yml"));
  simdjson::dom::parser parser;
  simdjson::dom::element dashboard = parser.load(kDeploy + "/grafana/tickwire.json");
  std::size_t queries = 0;
  for (simdjson::dom::element panel : dashboard["panels"].get_array()) {
    for (simdjson::dom::element target : panel["targets"].get_array()) {
      const std::string expr(target["expr"].get_string().value());
      const auto names = metric_names(expr);
      EXPECT_FALSE(names.empty()) << "a dashboard query names no metric: " << expr;
      used.insert(names.begin(), names.end());
      ++queries;
    }
  }
  EXPECT_GT(queries, 10u);
  for (const auto& name : used) EXPECT_TRUE(exported.count(name)) << name << " is not exported";

  testing::TempDir dir("tickwire-scrape");
  std::ofstream(dir / "scrape.txt") << scrape.body;
  auto check = sh("promtool check metrics < '" + (dir / "scrape.txt").string() + "'");
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

// Prometheus: a real server on 127.0.0.1 scraping the connector.
class Prometheus {
 public:
  explicit Prometheus(int target_port) {
    port_ = free_loopback_port();
    std::ofstream(dir_ / "prometheus.yml") << "global:\n  scrape_interval: 200ms\n"
                                           << "scrape_configs:\n  - job_name: tickwire\n"
                                           << "    static_configs:\n      - targets: [\"127.0.0.1:" << target_port
                                           << "\"]\n";
    process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        (dir_ / "prometheus.log").string());
  }
  // query: the value of an instant query's first result, or nullopt.
  std::optional<double> query(const std::string& promql) {
    std::string encoded;
    for (const char c : promql) {
      encoded += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? std::string(1, c)
                                                                         : fmt_percent(static_cast<unsigned char>(c));
    }
    // Prometheus keeps an HTTP/1.1 connection open unless told otherwise, and
    // http_get reads to EOF: without this the first query blocked for ever.
    const auto r = http_get(port_, "/api/v1/query?query=" + encoded, "Connection: close\r\n");
    if (r.status != 200) return std::nullopt;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r.body).get(doc) != simdjson::SUCCESS) return std::nullopt;
    simdjson::dom::array results;
    if (doc["data"]["result"].get_array().get(results) != simdjson::SUCCESS || results.size() == 0) return std::nullopt;
    std::string_view value;
    if ((*results.begin())["value"].at(1).get_string().get(value) != simdjson::SUCCESS) return std::nullopt;
    return std::stod(std::string(value));
  }
  std::string log() const { return read_text(dir_ / "prometheus.log"); }

 private:
  static std::string fmt_percent(unsigned char c) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    return {'%', kHex[c >> 4], kHex[c & 15]};
  }
  TempDir dir_{"tickwire-prometheus"};
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

TEST(Deploy, APrometheusServerScrapesTheConnectorAndSeesTheInjectedGaps) {
  auto sim = metrics_sim();
  sim.faults.gap = {true, 200, 0.002, 3};  // three gaps, each withholding one trade
  MetricsRun run(sim, {}, "\"trade\"");
  Prometheus prometheus(run.port());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::optional<double> first_messages, later_messages, gaps;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto messages = prometheus.query("sum(tickwire_messages_total{feed=\"sim\"})");
    if (messages && !first_messages) first_messages = messages;
    if (messages && first_messages && *messages > *first_messages) later_messages = messages;
    gaps = prometheus.query("tickwire_gaps_total{feed=\"sim\"}");
    if (later_messages && gaps && *gaps >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a condition, deadline above
  }
  ASSERT_TRUE(first_messages.has_value()) << "Prometheus never had the series; its log:\n" << prometheus.log();
  ASSERT_TRUE(later_messages.has_value()) << "messages never increased";
  ASSERT_TRUE(gaps.has_value());
  EXPECT_EQ(*gaps, 3.0) << "the simulator injected 3 gaps";
  // The connector's own count agrees, and does not grow past what was injected.
  const auto scrape = run.get("/metrics");
  EXPECT_EQ(metric_value(scrape.body, "tickwire_gaps_total", "{feed=\"sim\"}"), 3.0);
  EXPECT_EQ(prometheus.query("tickwire_feed_connected{feed=\"sim\"}"), 1.0);
}

}  // namespace
}  // namespace tickwire::testing
