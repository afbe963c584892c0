// Connector vs simulator, faults that end or replace the connection: close
// frame, TCP FIN, TCP reset, oversized frame, stall, the server's connection
// lifetime, a serverShutdown notice, our own lifetime rollover, and refused
// websocket upgrades and snapshots. Each run is checked by SimFault::verify()
// (trades exact except in declared gaps, books equal to the simulator's after
// every record) and then for the fault's own effect, against each simulator
// dialect (binance, binance-usdm).
#include <algorithm>
#include <cctype>
#include <regex>
#include <string>
#include <vector>

#include "support/fault_harness.hpp"

namespace tickwire {
namespace {

using testing::JournalRecord;
using testing::SimFault;
using testing::TruthFault;

constexpr auto npos = std::string::npos;

class SessionFaultBase : public SimFault {
 protected:
  // expect_reconnected: fault `name` was injected; a disconnect Status names
  // `reason`; the connector connected and resubscribed again; the message the
  // fault replaced is declared missing (a trade inside a gap; a depth diff
  // followed by a resync).
  void expect_reconnected(std::string_view name, const std::string& reason) {
    const auto faults = truth_.faults_named(name);
    ASSERT_FALSE(faults.empty()) << "the simulator did not inject " << name;
    const auto disconnects = statuses("disconnected");
    ASSERT_FALSE(disconnects.empty()) << "no disconnect journaled";
    EXPECT_TRUE(std::regex_search(disconnects.front()->detail, std::regex(reason)))
        << "disconnect reason: " << disconnects.front()->detail;
    // With URL subscription the streams are in the URL: connecting again is
    // resubscribing (the session journals `subscribed` only for SUBSCRIBE
    // messages), and verify() has seen every stream reach its last id.
    EXPECT_GE(statuses("connected").size(), 2u);
    const TruthFault& f = faults.front();
    if (f.stream.ends_with("@trade") || f.stream.ends_with("@aggTrade")) {
      const auto declared = gaps(f.stream);
      EXPECT_TRUE(std::any_of(declared.begin(), declared.end(), [&](const JournalRecord* g) {
        return g->from_id <= f.first_id && f.first_id <= g->to_id;
      })) << f.stream << " " << f.first_id << " (replaced by the fault) is not inside a declared gap";
    } else if (f.stream.ends_with("@depth@100ms")) {
      for (const auto& r : journal_) {
        EXPECT_FALSE(r.kind == "book_delta" && r.stream() == f.stream && r.id == f.last_id)
            << f.stream << " diff " << f.first_id << ".." << f.last_id << " was never sent";
      }
    }
  }

  // expect_clean_rollover: rollover Status records, every one that finished
  // with the overlap proven; nothing lost, nothing journaled twice (verify()),
  // the overlap's repeats counted as duplicates.
  void expect_clean_rollover() {
    std::size_t finished = 0;
    for (const JournalRecord* r : statuses("rollover")) {
      if (!r->detail.starts_with("rollover finished")) continue;
      ++finished;
      EXPECT_EQ(r->count, 1u) << r->detail;
      EXPECT_NE(r->detail.find("overlap proven"), npos) << r->detail;
    }
    EXPECT_GE(finished, 1u) << "no rollover finished";
    EXPECT_GT(counter("duplicates"), 0u) << "the overlap should have repeated messages";
    EXPECT_TRUE(statuses("gap").empty());
  }
};

// SessionFault: every test against each simulator dialect. USD-M's `trade`
// ids only increase, so trades missed while disconnected cannot be told by
// id there: its runs use aggTrade (contiguous ids) where spot uses trade.
class SessionFault : public SessionFaultBase, public ::testing::WithParamInterface<const char*> {
 protected:
  SessionFault() {
    exchange_ = GetParam();
    if (usdm()) channels_ = {"aggTrade", "depth@100ms"};
  }
  bool usdm() const { return exchange_ == "binance-usdm"; }
  // all_channels: every channel both dialects share the checks of.
  std::vector<std::string> all_channels() const {
    if (usdm()) return {"aggTrade", "bookTicker", "depth@100ms"};
    return {"trade", "aggTrade", "bookTicker", "depth@100ms"};
  }
};

TEST_P(SessionFault, CloseFrameReconnectsAndDeclaresExactGaps) {
  ASSERT_TRUE(connector::parse_fault("close_ws:600", sim_.faults).ok());
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  expect_reconnected("close_ws", R"(closed by server \(code 1001)");
}

TEST_P(SessionFault, TcpCloseWithoutCloseFrameReconnectsAndDeclaresExactGaps) {
  ASSERT_TRUE(connector::parse_fault("close_tcp:600", sim_.faults).ok());
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  expect_reconnected("close_tcp", "read: ");
}

TEST_P(SessionFault, TcpResetReconnectsAndDeclaresExactGaps) {
  ASSERT_TRUE(connector::parse_fault("reset:600", sim_.faults).ok());
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  expect_reconnected("reset", "read: ");
}

TEST_P(SessionFault, OversizedFrameResetsTheConnectionNotTheProcess) {
  ASSERT_TRUE(connector::parse_fault("oversize:600", sim_.faults).ok());
  sim_.faults.oversize_bytes = 100'000;
  feed_toml_ = "max_frame_bytes = \"64KiB\"\n";
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  expect_reconnected("oversize", R"(frame larger than max_frame_bytes \(65536\))");
}

TEST_P(SessionFault, StallIsDetectedByThePongTimeout) {
  ASSERT_TRUE(connector::parse_fault("stall:600", sim_.faults).ok());
  feed_toml_ = "ping_interval_ms = 200\npong_timeout_ms = 400\n";
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  expect_reconnected("stall", R"(no pong or frame for \d+ ms)");
}

TEST_P(SessionFault, MessageSubscriptionIsRestoredExactlyAfterReconnect) {
  ASSERT_TRUE(connector::parse_fault("close_tcp:600", sim_.faults).ok());
  feed_toml_ = "subscribe = \"message\"\n";
  run();
  ASSERT_FALSE(HasFatalFailure());
  forget_before_subscription();
  verify();
  expect_reconnected("close_tcp", "read: ");
  // One SUBSCRIBE round per connection, each acknowledged for every stream;
  // verify() has seen every stream deliver up to its last id afterwards.
  const auto subscribed = statuses("subscribed");
  ASSERT_GE(subscribed.size(), 2u);
  EXPECT_TRUE(std::regex_search(subscribed.front()->detail, std::regex("^subscribed 4 streams on connection 1$")))
      << subscribed.front()->detail;
  EXPECT_TRUE(std::regex_search(subscribed[1]->detail, std::regex("^resubscribed 4 streams on connection \\d+$")))
      << subscribed[1]->detail;
  for (const JournalRecord* r : subscribed) EXPECT_EQ(r->count, 4u) << r->detail;
}

TEST_P(SessionFault, SilentStreamIsRestartedByTheStaleWatchdog) {
  // From message 600 on, the first connection never again delivers that
  // message's stream; the socket and every other stream stay alive, so only
  // the per-stream watchdog can notice.
  ASSERT_TRUE(connector::parse_fault("gap:600", sim_.faults).ok());
  sim_.faults.gap_messages = 1'000'000;
  feed_toml_ = "stale_after_ms = 300\n";
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  const auto faults = truth_.faults_named("gap");
  ASSERT_FALSE(faults.empty());
  const std::string silenced = faults.front().stream;
  const auto disconnects = statuses("disconnected");
  ASSERT_FALSE(disconnects.empty()) << "the watchdog never restarted the connection";
  // The simulator names the stream `btcusdt@trade`; the pipeline names it
  // venue-neutrally as `BTCUSDT/trade` (symbol as sent, channel).
  const auto at = silenced.find('@');
  ASSERT_NE(at, std::string::npos) << silenced;
  std::string symbol = silenced.substr(0, at);
  for (char& c : symbol) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string stream = symbol + "/" + silenced.substr(at + 1);
  EXPECT_TRUE(std::regex_search(disconnects.front()->detail, std::regex("restart: no data for 300 ms on " + stream)))
      << disconnects.front()->detail << " (silenced: " << silenced << ")";
  EXPECT_GE(statuses("connected").size(), 2u);
}

TEST_P(SessionFault, BookThatChangedWhileDisconnectedIsReplacedAfterReconnect) {
  // Only depth, and the connection closes on the run's last message: no diff
  // follows the reconnect, so nothing but a snapshot can show that the book
  // moved while the connector was away.
  channels_ = {"depth@100ms"};
  sim_.depth_interval_ms = 5;
  sim_.count = 300;
  ASSERT_TRUE(connector::parse_fault("close_ws:300", sim_.faults).ok());
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  const auto faults = truth_.faults_named("close_ws");
  ASSERT_EQ(faults.size(), 1u);
  const TruthFault& f = faults.front();
  ASSERT_TRUE(f.stream.ends_with("@depth@100ms")) << f.stream;
  EXPECT_EQ(f.last_id, truth_.last_id(f.stream)) << "the lost diff should be the stream's last";
  const auto declared = gaps(f.stream);
  ASSERT_EQ(declared.size(), 1u) << "the missed diff must be declared";
  EXPECT_LE(declared.front()->from_id, f.first_id) << declared.front()->detail;
  EXPECT_EQ(declared.front()->to_id, f.last_id) << declared.front()->detail;
  EXPECT_NE(declared.front()->detail.find("changed while disconnected"), npos) << declared.front()->detail;
  // The other symbol's book did not move: checked, not replaced.
  for (const JournalRecord* r : gaps(f.stream == "btcusdt@depth@100ms" ? "ethusdt@depth@100ms"
                                                                       : "btcusdt@depth@100ms")) {
    ADD_FAILURE() << "unexpected gap on the quiet book: " << r->detail;
  }
}

TEST_P(SessionFault, ServerLifetimeShorterThanOursReconnectsWithExactGaps) {
  // One forced close, at 1 s: the run (about 1.5 s) ends well before the
  // second, so every stream has traffic after the reconnect.
  sim_.faults.lifetime_ms = 1000;
  sim_.count = 3500;
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  expect_reconnected("lifetime", R"(closed by server \(code 1001)");
}

TEST_P(SessionFault, ServerShutdownNoticeRollsOverWithoutGapOrDuplicate) {
  ASSERT_TRUE(connector::parse_fault("shutdown_notice:600", sim_.faults).ok());
  sim_.faults.shutdown_grace_ms = 3000;
  channels_ = all_channels();
  sim_.count = 4000;
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  ASSERT_EQ(truth_.faults_named("shutdown_notice").size(), 1u);
  expect_no_loss();
  expect_clean_rollover();
  EXPECT_EQ(counter("rollovers"), 1u);
}

TEST_P(SessionFault, OurLifetimeRollsOverMakeBeforeBreakWithoutGap) {
  feed_toml_ = "max_lifetime_s = 1\nrollover_overlap_ms = 5000\n";
  sim_.count = 8000;
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  expect_no_loss();
  expect_clean_rollover();
  for (const JournalRecord* r : statuses("disconnected")) EXPECT_EQ(r->detail, "connector shutdown");
}

// RefusedUpgrade: 429 and 418 with Retry-After 1 s on the first upgrade.
class RefusedUpgrade : public SessionFaultBase, public ::testing::WithParamInterface<unsigned> {};

TEST_P(RefusedUpgrade, BacksOffAtLeastRetryAfterThenConnects) {
  sim_.faults.refuse_ws = {GetParam(), 1, 1};
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  const auto refusals = truth_.faults_named("refuse_ws");
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals.front().status, GetParam());
  EXPECT_EQ(refusals.front().retry_after, 1u);
  std::smatch m;
  const std::regex backoff("next connection attempt in (\\d+) ms \\(HTTP " + std::to_string(GetParam()) +
                           ", Retry-After 1 s\\)");
  ASSERT_TRUE(std::regex_search(log_, m, backoff)) << log_;
  EXPECT_GE(std::stoull(m[1]), 1000u) << m[0];
  EXPECT_EQ(statuses("connected").size(), 1u);
  expect_no_loss();
}

INSTANTIATE_TEST_SUITE_P(Status, RefusedUpgrade, ::testing::Values(429u, 418u));

TEST_P(SessionFault, RefusedSnapshotIsRetriedAndTheBookStillSyncs) {
  sim_.faults.refuse_rest = {429, 1, 1};
  run();
  ASSERT_FALSE(HasFatalFailure());
  verify();
  ASSERT_EQ(truth_.faults_named("refuse_rest").size(), 1u);
  EXPECT_NE(log_.find("book snapshot failed (attempt 1)"), npos) << log_;
  EXPECT_EQ(statuses("resync").size(), sim_.symbols.size());
  expect_no_loss();
}

INSTANTIATE_TEST_SUITE_P(Venues, SessionFault, ::testing::Values("binance", "binance-usdm"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace tickwire
