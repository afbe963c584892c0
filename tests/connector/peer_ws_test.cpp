// The connector against peers nobody here wrote: Node's `ws` package as the
// exchange (tests/peers/ws_server.mjs), serving real Binance messages from the
// shared fixtures, in place; over TLS with a throwaway CA made by the openssl
// CLI. `tickwire run` runs as a real process with a temp config and stops by
// --max-messages (or, when nothing can arrive, by SIGTERM once it has logged
// the failure); `tickwire replay` reads the journal back. Every fixture trade
// must come out field by field, in order, with contiguous sequences, and every
// refused connection as a Status record naming the reason.
//
// To cover a new channel: add its fixture files to the server's sources, the
// channel to the config, and its expected records next to fixture_trades().
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/node_ws_server.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"
#include "support/text_file.hpp"

namespace tickwire {
namespace {

using testing::CommandResult;
using testing::NodeWsServer;
using testing::Subprocess;
using testing::TempDir;
using testing::TestCa;
using testing::lines_of;
using testing::read_text;
using testing::run_command;

// The fixture files the server replays: one raw trade event (exchange docs)
// and one combined-stream trade (nautilus_trader); plus events of streams the
// connector does not subscribe to, which the server must filter out.
const std::vector<std::string> kTradeFiles = {"binance/trade.docs.json", "binance/trade.nautilus.json"};
const std::vector<std::string> kUnsubscribedFiles = {"binance/aggTrade.docs.json", "binance/bookTicker.docs.json"};
// A control reply (ignored by the connector) and a truncated trade (rejected).
const std::string kControlFrame = R"({"result":null,"id":1})";
const std::string kTruncatedFrame = R"({"stream":"bnbbtc@trade","data":{"e":"trade","E":1672515782136)";

// FixtureTrade: a trade event as the fixture file holds it.
struct FixtureTrade {
  std::string symbol, price, size;
  std::uint64_t trade_id, event_ms, trade_ms;
  bool buyer_is_maker;
};

// fixture_trades: the trade events of the given fixture files (one JSON
// message per line, raw or combined-stream), in file order.
std::vector<FixtureTrade> fixture_trades(const std::vector<std::string>& files) {
  simdjson::dom::parser parser;
  std::vector<FixtureTrade> out;
  for (const auto& file : files) {
    for (const auto& line : lines_of(read_text(std::filesystem::path(TICKWIRE_FIXTURES_DIR) / file))) {
      simdjson::dom::element root = parser.parse(line);
      simdjson::dom::element data;
      if (root["data"].get(data) != simdjson::SUCCESS) data = root;
      std::string_view type;
      if (data["e"].get(type) != simdjson::SUCCESS || type != "trade") continue;
      out.push_back({std::string(std::string_view(data["s"])), std::string(std::string_view(data["p"])),
                     std::string(std::string_view(data["q"])), std::uint64_t(data["t"]), std::uint64_t(data["E"]),
                     std::uint64_t(data["T"]), bool(data["m"])});
    }
  }
  return out;
}

// Journaled: what the journal held, read back with `tickwire replay`.
struct Journaled {
  std::vector<std::string> kinds;  // "trade", or "status:<kind>" for Status records
  std::vector<std::string> disconnect_reasons;
  std::vector<std::string> reject_reasons;
};

// check_journal: replays `data_dir`, checks contiguous sequences from 1 and
// that the trades are exactly `expected`, field by field and in order.
Journaled check_journal(const std::filesystem::path& data_dir, const std::vector<FixtureTrade>& expected) {
  Journaled out;
  const CommandResult replay = run_command({TICKWIRE_BINARY, "replay", data_dir.string(), "--format", "jsonl"});
  EXPECT_EQ(replay.exit_code, 0) << replay.out;
  simdjson::dom::parser parser;
  std::uint64_t expected_seq = 1;
  std::size_t trades = 0;
  for (const auto& line : lines_of(replay.out)) {
    simdjson::dom::element rec = parser.parse(line);
    EXPECT_EQ(std::uint64_t(rec["seq"]), expected_seq++) << line;
    EXPECT_EQ(std::string_view(rec["feed"]), "binance") << line;
    const std::string_view kind = rec["kind"];
    if (kind == "status") {
      const std::string status{std::string_view(rec["status"])};
      out.kinds.push_back("status:" + status);
      if (status == "disconnected") out.disconnect_reasons.emplace_back(std::string_view(rec["detail"]));
      if (status == "rejected") out.reject_reasons.emplace_back(std::string_view(rec["detail"]));
      continue;
    }
    out.kinds.emplace_back(kind);
    EXPECT_EQ(kind, "trade") << line;
    if (kind != "trade" || trades >= expected.size()) {
      ADD_FAILURE() << "unexpected record: " << line;
      continue;
    }
    const FixtureTrade& t = expected[trades++];
    EXPECT_EQ(std::string_view(rec["symbol"]), t.symbol) << line;
    EXPECT_EQ(std::uint64_t(rec["trade_id"]), t.trade_id) << line;
    EXPECT_EQ(std::string_view(rec["price"]), t.price) << line;
    EXPECT_EQ(std::string_view(rec["size"]), t.size) << line;
    EXPECT_EQ(std::string_view(rec["aggressor"]), t.buyer_is_maker ? "sell" : "buy") << line;
    EXPECT_EQ(std::uint64_t(rec["exch_ns"]), t.event_ms * 1'000'000) << line;
    EXPECT_EQ(std::uint64_t(rec["trade_ns"]), t.trade_ms * 1'000'000) << line;
    EXPECT_GT(std::uint64_t(rec["mono_ns"]), 0u) << line;
    EXPECT_GT(std::uint64_t(rec["wall_ns"]), 0u) << line;
  }
  EXPECT_EQ(trades, expected.size()) << replay.out;
  return out;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// without_shutdown: `kinds` minus the trailing "disconnected" records a clean
// stop writes ("connector shutdown"), so the rest can be compared exactly.
std::vector<std::string> without_shutdown(const Journaled& j) {
  std::vector<std::string> kinds = j.kinds;
  std::size_t shutdowns = 0;
  for (const auto& r : j.disconnect_reasons) shutdowns += r == "connector shutdown" ? 1 : 0;
  while (shutdowns > 0 && !kinds.empty() && kinds.back() == "status:disconnected") {
    kinds.pop_back();
    --shutdowns;
  }
  return kinds;
}

// connector_command: `tickwire run -c CONFIG ARGS...` with its log (stderr)
// folded into stdout, so a test can read both in order.
std::vector<std::string> connector_command(const std::filesystem::path& config, std::vector<std::string> args) {
  std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", TICKWIRE_BINARY, "run", "-c",
                                config.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

class PeerWs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string missing = testing::node_ws_missing(); !missing.empty()) {
      GTEST_SKIP() << "Node's ws server cannot run: " << missing;
    }
  }

  // write_config: one Binance feed at `url`; `feed_extra` is appended to the
  // [[feeds]] table (e.g. ca_file). Heartbeats are off, so the journal holds
  // only what the connection produced.
  std::filesystem::path write_config(const std::string& url, const std::vector<std::string>& symbols,
                                     const std::string& feed_extra = {}) {
    std::string list;
    for (const auto& s : symbols) list += (list.empty() ? "\"" : ", \"") + s + "\"";
    const auto path = dir_ / "test.toml";
    std::ofstream(path) << "env = \"test\"\n"
                        << "[[feeds]]\nname = \"binance\"\nexchange = \"binance\"\n"
                        << "url = \"" << url << "\"\nsymbols = [" << list << "]\nchannels = [\"trade\"]\n"
                        << feed_extra << "[journal]\ndir = \"" << data_dir().string() << "\"\nfsync = \"none\"\n"
                        << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[status]\nheartbeat_ms = 0\n";
    return path;
  }

  std::filesystem::path data_dir() const { return dir_ / "data"; }

  // serving: plain-websocket server options for these sources.
  static NodeWsServer::Options serving(std::vector<std::string> sources) {
    NodeWsServer::Options options;
    options.sources = std::move(sources);
    return options;
  }

  // The server's sources for the trade tests: the control frame first, the
  // truncated frame between the two trades (so it arrives before the limit).
  static std::vector<std::string> trade_sources() {
    std::vector<std::string> sources{"--raw", kControlFrame, kTradeFiles[0], "--raw", kTruncatedFrame};
    sources.insert(sources.end(), kTradeFiles.begin() + 1, kTradeFiles.end());
    sources.insert(sources.end(), kUnsubscribedFiles.begin(), kUnsubscribedFiles.end());
    return sources;
  }

  // expect_trades_journaled: the journal of a run that stopped at its
  // --max-messages limit holds connected, the trades with the rejected frame
  // between them, and nothing for the control frame.
  void expect_trades_journaled(const CommandResult& run) {
    ASSERT_EQ(run.exit_code, 0) << run.out;
    const auto expected = fixture_trades(kTradeFiles);
    ASSERT_EQ(expected.size(), 2u) << "the fixtures changed: " << TICKWIRE_FIXTURES_DIR;
    const Journaled journaled = check_journal(data_dir(), expected);
    EXPECT_EQ(without_shutdown(journaled),
              (std::vector<std::string>{"status:connected", "status:subscribed", "trade", "status:rejected", "trade"}));
    ASSERT_EQ(journaled.reject_reasons.size(), 1u);
    EXPECT_NE(journaled.reject_reasons[0].find("truncated JSON"), std::string::npos) << journaled.reject_reasons[0];
    // The final status line counts the same rejection.
    EXPECT_NE(run.out.find("| rejected 1 |"), std::string::npos) << run.out;
  }

  TempDir dir_{"tickwire-peer-ws"};
};

TEST_F(PeerWs, JournalsEveryFixtureTradeFromACombinedStreamFieldByField) {
  NodeWsServer server(serving(trade_sources()));
  const auto symbols = std::vector<std::string>{"BNBBTC", "ETHUSDT"};
  const auto config = write_config("ws://127.0.0.1:" + std::to_string(server.port()) + "/stream", symbols);
  const CommandResult run = run_command(connector_command(config, {"--max-messages", "2"}));
  expect_trades_journaled(run);

  // The connector asked for exactly its streams; the server sent the control
  // frame, both trades and the truncated frame, and held back the others.
  const auto connection = server.next_event("connection").value_or("<none>");
  EXPECT_NE(connection.find(R"("path":"/stream?streams=bnbbtc@trade/ethusdt@trade")"), std::string::npos)
      << connection;
  EXPECT_EQ(server.next_event("sent").value_or("<none>"), R"({"event":"sent","frames":4,"skipped":2})")
      << server.log();
  server.stop();
  EXPECT_EQ(count_of(server.log(), "connection from"), 1u) << server.log();
}

TEST_F(PeerWs, JournalsTradesFromARawStreamUrl) {
  NodeWsServer server(serving(kTradeFiles));
  const auto config = write_config("ws://127.0.0.1:" + std::to_string(server.port()) + "/ws/ethusdt@trade",
                                   {"ETHUSDT"});
  const CommandResult run = run_command(connector_command(config, {"--max-messages", "1"}));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto expected = fixture_trades({kTradeFiles[1]});
  const Journaled journaled = check_journal(data_dir(), expected);
  EXPECT_EQ(without_shutdown(journaled), (std::vector<std::string>{"status:connected", "status:subscribed", "trade"}));
  EXPECT_EQ(server.next_event("sent").value_or("<none>"), R"({"event":"sent","frames":1,"skipped":1})")
      << server.log();
}

TEST_F(PeerWs, MicrosecondTimeUnitIsRequestedAndKept) {
  // Binance sends 16-digit E/T when the URL asks for timeUnit=MICROSECOND.
  NodeWsServer server(serving({"--raw", R"({"stream":"ethusdt@trade","data":{"e":"trade","E":1700000000123456,)"
                                        R"("s":"ETHUSDT","t":5,"p":"1.5","q":"2","T":1700000000120789,)"
                                        R"("m":false,"M":true}})"}));
  const auto config = write_config("ws://127.0.0.1:" + std::to_string(server.port()) + "/stream", {"ETHUSDT"},
                                   "time_unit = \"us\"\n");
  const CommandResult run = run_command(connector_command(config, {"--max-messages", "1"}));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto connection = server.next_event("connection").value_or("<none>");
  EXPECT_NE(connection.find(R"("path":"/stream?streams=ethusdt@trade&timeUnit=MICROSECOND")"), std::string::npos)
      << connection;
  const CommandResult replay = run_command({TICKWIRE_BINARY, "replay", data_dir().string(), "--format", "jsonl"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  simdjson::dom::parser parser;
  std::size_t trades = 0;
  for (const auto& line : lines_of(replay.out)) {
    simdjson::dom::element rec = parser.parse(line);
    if (std::string_view(rec["kind"]) != "trade") continue;
    ++trades;
    EXPECT_EQ(std::uint64_t(rec["exch_ns"]), 1700000000123456000u) << line;
    EXPECT_EQ(std::uint64_t(rec["trade_ns"]), 1700000000120789000u) << line;
  }
  EXPECT_EQ(trades, 1u) << replay.out;
}

TEST_F(PeerWs, AnswersTheServersPingWithTheSamePayload) {
  // The second trade waits for the pong: the run reaches its limit only if
  // the connector answered.
  NodeWsServer server(serving({kTradeFiles[0], "--ping", "tickwire-ping-7", kTradeFiles[1]}));
  const auto config = write_config("ws://127.0.0.1:" + std::to_string(server.port()) + "/stream",
                                   {"BNBBTC", "ETHUSDT"});
  const CommandResult run = run_command(connector_command(config, {"--max-messages", "2"}));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(server.next_event("pong").value_or("<none>"), R"({"event":"pong","data":"tickwire-ping-7"})")
      << server.log();
  const Journaled journaled = check_journal(data_dir(), fixture_trades(kTradeFiles));
  EXPECT_EQ(without_shutdown(journaled), (std::vector<std::string>{"status:connected", "status:subscribed", "trade", "trade"}));
}

// TLS: the same server behind https with certificates from a throwaway CA.
class Tls : public PeerWs {
 protected:
  void SetUp() override {
    PeerWs::SetUp();
    if (IsSkipped()) return;
    if (const std::string missing = testing::openssl_missing(); !missing.empty()) {
      GTEST_SKIP() << "cannot make test certificates: " << missing;
    }
    std::filesystem::create_directories(dir_ / "pki");
    ca_ = std::make_unique<TestCa>(dir_ / "pki");
  }

  // serve: the trade sources over TLS with a certificate for `host`.
  std::unique_ptr<NodeWsServer> serve(const std::string& host, const std::vector<std::string>& sans) {
    const TestCa::Issued issued = ca_->issue(host, sans);
    NodeWsServer::Options options = serving(trade_sources());
    options.cert_file = issued.cert;
    options.key_file = issued.key;
    return std::make_unique<NodeWsServer>(std::move(options));
  }

  std::string wss_url(const NodeWsServer& server) const {
    return "wss://localhost:" + std::to_string(server.port()) + "/stream";
  }

  // expect_refused: runs the connector until it logs its first disconnect,
  // stops it by SIGTERM, and checks that the failure names certificate
  // verification in the log and in the journal, and that nothing connected.
  void expect_refused(NodeWsServer& server, const std::filesystem::path& config) {
    Subprocess connector(connector_command(config, {"--no-status"}));
    std::string output;
    std::string disconnect_line;
    while (auto line = connector.read_line()) {
      output += *line + "\n";
      if (line->find("binance: disconnected:") != std::string::npos) {
        disconnect_line = *line;
        break;
      }
    }
    ASSERT_FALSE(disconnect_line.empty()) << "no disconnect logged:\n" << output;
    EXPECT_NE(disconnect_line.find("certificate verify failed"), std::string::npos) << disconnect_line;
    // The server saw the handshake fail on its side too.
    EXPECT_TRUE(server.next_event("tls_error").has_value()) << server.log();
    connector.kill(SIGTERM);
    const auto status = connector.wait();
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;

    const Journaled journaled = check_journal(data_dir(), {});
    ASSERT_FALSE(journaled.disconnect_reasons.empty());
    for (const auto& kind : journaled.kinds) EXPECT_EQ(kind, "status:disconnected");
    for (const auto& reason : journaled.disconnect_reasons) {
      EXPECT_NE(reason.find("tls handshake localhost"), std::string::npos) << reason;
      EXPECT_NE(reason.find("certificate verify failed"), std::string::npos) << reason;
    }
    server.stop();
    EXPECT_EQ(count_of(server.log(), "connection from"), 0u) << server.log();
  }

  std::unique_ptr<TestCa> ca_;
};

TEST_F(Tls, JournalsTradesWhenTheCaFileTrustsTheServer) {
  auto server = serve("localhost", {"DNS:localhost", "IP:127.0.0.1"});
  const auto config =
      write_config(wss_url(*server), {"BNBBTC", "ETHUSDT"}, "ca_file = \"" + ca_->cert().string() + "\"\n");
  expect_trades_journaled(run_command(connector_command(config, {"--max-messages", "2"})));
  EXPECT_NE(server->next_event("connection").value_or("<none>").find("/stream?streams=bnbbtc@trade/ethusdt@trade"),
            std::string::npos);
}

TEST_F(Tls, RefusesAServerTheSystemStoreDoesNotTrust) {
  auto server = serve("localhost", {"DNS:localhost", "IP:127.0.0.1"});
  expect_refused(*server, write_config(wss_url(*server), {"BNBBTC", "ETHUSDT"}));
}

TEST_F(Tls, RefusesACertificateForAnotherHostName) {
  auto server = serve("other.example", {"DNS:other.example"});
  expect_refused(*server, write_config(wss_url(*server), {"BNBBTC", "ETHUSDT"},
                                       "ca_file = \"" + ca_->cert().string() + "\"\n"));
}

TEST_F(Tls, ConnectsWithoutVerificationWhenVerifyTlsIsOff) {
  // Neither the CA nor the host name would pass verification.
  auto server = serve("other.example", {"DNS:other.example"});
  const auto config = write_config(wss_url(*server), {"BNBBTC", "ETHUSDT"}, "verify_tls = false\n");
  expect_trades_journaled(run_command(connector_command(config, {"--max-messages", "2"})));
}

}  // namespace
}  // namespace tickwire
