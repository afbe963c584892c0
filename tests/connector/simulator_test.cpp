// The simulator seen from a client: a small synchronous Beast client connects
// over loopback, and every assertion is about what arrives on the wire and
// what the record (the truth) says.
#include "tickwire/connector/simulator.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <fmt/format.h>

#include <atomic>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "support/subprocess.hpp"
#include "support/tcp_sockets.hpp"
#include "support/temp_dir.hpp"

namespace tickwire::connector {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// Client: one blocking websocket connection.
class Client {
 public:
  explicit Client(std::uint16_t port) : port_(port) {}

  // connect: TCP connect and upgrade; the error (with the response) when refused.
  beast::error_code connect(const std::string& target) {
    beast::error_code ec;
    ws_.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    if (ec) return ec;
    ws_.read_message_max(64u << 20);
    ws_.control_callback([this](websocket::frame_type kind, std::string_view) {
      if (kind == websocket::frame_type::ping) ++pings;
      if (kind == websocket::frame_type::pong) ++pongs;
    });
    ws_.handshake(response, "127.0.0.1", target, ec);
    return ec;
  }

  // read: the next message, or nullopt with `error` set when the connection ends.
  std::optional<std::string> read() {
    beast::flat_buffer buffer;
    ws_.read(buffer, error);
    if (error) return std::nullopt;
    return beast::buffers_to_string(buffer.data());
  }

  // read_n: n messages; fails the test if the connection ends first.
  std::vector<std::string> read_n(std::size_t n) {
    std::vector<std::string> out;
    while (out.size() < n) {
      auto m = read();
      if (!m) {
        ADD_FAILURE() << "connection ended after " << out.size() << " messages: " << error.message();
        break;
      }
      out.push_back(std::move(*m));
    }
    return out;
  }

  // read_until_end: every message until the connection ends.
  std::vector<std::string> read_until_end() {
    std::vector<std::string> out;
    while (auto m = read()) out.push_back(std::move(*m));
    return out;
  }

  void send(const std::string& text) { ws_.write(asio::buffer(text)); }
  void ping() { ws_.ping({}); }
  // small_receive_buffer: before connect(); a small TCP window makes the
  // server's large writes complete in parts.
  void small_receive_buffer() {
    ws_.next_layer().open(tcp::v4());
    ws_.next_layer().set_option(asio::socket_base::receive_buffer_size(4096));
  }
  void close() { ws_.close(websocket::close_code::normal); }
  tcp::socket& socket() { return ws_.next_layer(); }
  websocket::close_reason reason() const { return ws_.reason(); }

  websocket::response_type response;
  beast::error_code error;
  int pings = 0;
  int pongs = 0;

 private:
  std::uint16_t port_;
  asio::io_context io_;
  websocket::stream<tcp::socket> ws_{io_};
};

http::response<http::string_body> http_get(std::uint16_t port, const std::string& target) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return res;
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool is_fault(const std::string& line) { return line.rfind(R"({"sim":)", 0) == 0; }

std::vector<std::string> market_lines(const std::vector<std::string>& record) {
  std::vector<std::string> out;
  for (const auto& l : record) {
    if (!is_fault(l)) out.push_back(l);
  }
  return out;
}

std::vector<std::string> fault_lines(const std::vector<std::string>& record) {
  std::vector<std::string> out;
  for (const auto& l : record) {
    if (is_fault(l)) out.push_back(l);
  }
  return out;
}

class SimulatorTest : public ::testing::Test {
 protected:
  SimulatorOptions options(std::uint64_t count) const {
    SimulatorOptions o;
    o.symbols = {"BTCUSDT", "ETHUSDT"};
    o.rate = 5000;
    o.seed = 3;
    o.count = count;
    o.ping_interval_ms = 0;
    o.record_path = (dir_ / "record.ndjson").string();
    return o;
  }

  std::uint16_t start(SimulatorOptions o) {
    sim_ = std::make_unique<Simulator>(std::move(o));
    auto port = sim_->start();
    EXPECT_TRUE(port.ok()) << port.status();
    sim_port_ = port.value_or(0);
    return sim_port_;
  }

  std::vector<std::string> record() {
    sim_->stop();
    return lines_of(dir_ / "record.ndjson");
  }

  testing::TempDir dir_{"tickwire-sim"};
  std::unique_ptr<Simulator> sim_;
  std::uint16_t sim_port_ = 0;
  simdjson::dom::parser parser_;
};

constexpr const char* kTrades = "/stream?streams=btcusdt@trade";

TEST_F(SimulatorTest, CombinedStreamsArriveAsRecordedByteForByte) {
  Client c(start(options(400)));
  ASSERT_FALSE(c.connect("/stream?streams=btcusdt@trade/btcusdt@depth@100ms/btcusdt@bookTicker/ethusdt@aggTrade"));
  const auto got = c.read_n(400);
  std::map<std::string, int> streams;
  for (const auto& m : got) ++streams[std::string(std::string_view(parser_.parse(m)["stream"]))];
  EXPECT_EQ(streams.size(), 4u);
  for (const auto& [s, n] : streams) {
    EXPECT_TRUE(s == "btcusdt@trade" || s == "btcusdt@depth@100ms" || s == "btcusdt@bookTicker" ||
                s == "ethusdt@aggTrade")
        << s;
  }
  EXPECT_EQ(market_lines(record()), got);
  EXPECT_EQ(sim_->sent(), 400u);
}

TEST_F(SimulatorTest, SendsWithoutNagleSoFramesAreNotHeldForTheClientsDelayedAck) {
  // With Nagle a small write waits for the ACK of the one before, which the
  // client delays up to 40 ms: the frames of those 40 ms then came in one read.
  const std::uint16_t port = start(options(1));
  Client c(port);
  ASSERT_FALSE(c.connect(kTrades));
  ASSERT_EQ(c.read_n(1).size(), 1u);
  const std::uint16_t client_port = c.socket().local_endpoint().port();
  EXPECT_EQ(testing::tcp_no_delay(port, client_port), std::optional<bool>(true))
      << "the simulator's side of the connection (port " << port << " to " << client_port << ")";
  EXPECT_EQ(testing::tcp_no_delay(client_port, port), std::optional<bool>(false)) << "the client's, left as it was";
}

TEST_F(SimulatorTest, SameSeedAndEpochGiveTheSameRecord) {
  std::vector<std::string> runs[2];
  for (auto& run : runs) {
    SimulatorOptions o = options(300);
    o.epoch_ms = 1'750'000'000'000;
    Client c(start(o));
    ASSERT_FALSE(c.connect("/stream?streams=btcusdt@trade/btcusdt@depth/ethusdt@bookTicker"));
    c.read_n(300);
    run = record();
  }
  EXPECT_EQ(runs[0].size(), 300u);
  EXPECT_EQ(runs[0], runs[1]);
}

TEST_F(SimulatorTest, RawStreamPathSendsBarePayloads) {
  Client c(start(options(50)));
  ASSERT_FALSE(c.connect("/ws/btcusdt@bookTicker"));
  const auto got = c.read_n(50);
  const auto truth = market_lines(record());
  ASSERT_EQ(truth.size(), got.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    simdjson::dom::element msg = parser_.parse(got[i]);
    EXPECT_EQ(msg["stream"].error(), simdjson::NO_SUCH_FIELD) << got[i];
    EXPECT_EQ(std::string_view(msg["s"]), "BTCUSDT");
    EXPECT_EQ(simdjson::minify(parser_.parse(truth[i])["data"]), got[i]);
  }
}

TEST_F(SimulatorTest, SubscribeRepliesAndListSubscriptionsTellsTheStreams) {
  Client c(start(options(0)));
  ASSERT_FALSE(c.connect("/ws"));
  c.send(R"({"method":"SUBSCRIBE","params":["btcusdt@trade","ethusdt@depth"],"id":7})");
  EXPECT_EQ(c.read(), R"({"result":null,"id":7})");
  auto data = c.read();
  ASSERT_TRUE(data.has_value());
  const std::string_view e = parser_.parse(*data)["e"];
  EXPECT_TRUE(e == "trade" || e == "depthUpdate") << *data;
  c.send(R"({"method":"UNSUBSCRIBE","params":["ethusdt@depth"],"id":8})");
  c.send(R"({"method":"LIST_SUBSCRIPTIONS","id":9})");
  std::vector<std::string> replies;
  while (replies.size() < 2) {
    auto m = c.read();
    ASSERT_TRUE(m.has_value()) << c.error.message();
    if (m->find(R"("id":)") != std::string::npos) replies.push_back(*m);
  }
  EXPECT_EQ(replies[0], R"({"result":null,"id":8})");
  EXPECT_EQ(replies[1], R"({"result":["btcusdt@trade"],"id":9})");
}

TEST_F(SimulatorTest, MoreThan1024StreamsGetAnErrorReply) {
  Client c(start(options(0)));
  ASSERT_FALSE(c.connect("/ws"));
  std::string params;
  for (int i = 0; i < 1025; ++i) params += (i == 0 ? "\"" : ",\"") + std::to_string(i) + "usdt@trade\"";
  c.send(R"({"method":"SUBSCRIBE","params":[)" + params + R"(],"id":3})");
  auto reply = c.read();
  ASSERT_TRUE(reply.has_value());
  simdjson::dom::element r = parser_.parse(*reply);
  EXPECT_EQ(std::uint64_t(r["id"]), 3u);
  EXPECT_NE(std::string_view(r["error"]["msg"]).find("too many streams (1025 > 1024)"), std::string_view::npos);

  std::string url = "/stream?streams=";
  for (int i = 0; i < 1025; ++i) url += (i == 0 ? "" : "/") + std::to_string(i) + "usdt@trade";
  Client too_many(sim_port_);
  EXPECT_EQ(too_many.connect(url), websocket::error::upgrade_declined);
  EXPECT_EQ(too_many.response.result(), http::status::bad_request);
}

TEST_F(SimulatorTest, MoreThanFiveIncomingMessagesASecondClose) {
  Client c(start(options(0)));
  ASSERT_FALSE(c.connect("/ws"));
  for (int i = 0; i < 10; ++i) c.send(R"({"method":"LIST_SUBSCRIPTIONS","id":1})");
  const auto got = c.read_until_end();
  EXPECT_EQ(got.size(), 5u);  // the first five are answered
  EXPECT_EQ(c.error, websocket::error::closed);
  EXPECT_EQ(c.reason().code, websocket::close_code::policy_error);
  const auto faults = fault_lines(record());
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_NE(faults[0].find(R"("sim":"limit","conn":1)"), std::string::npos) << faults[0];
}

TEST_F(SimulatorTest, RestDepthEqualsTheBookReplayedFromEveryDiff) {
  SimulatorOptions o = options(300);
  o.depth_interval_ms = 1;
  const auto port = start(o);
  Client c(port);
  ASSERT_FALSE(c.connect("/ws/btcusdt@depth@100ms"));
  std::map<std::string, std::string> bids, asks;  // price text -> qty text
  std::uint64_t last_u = 0;
  for (const auto& m : c.read_n(300)) {
    simdjson::dom::element d = parser_.parse(m);
    ASSERT_EQ(std::uint64_t(d["U"]), last_u + 1) << m;
    last_u = d["u"];
    for (auto [key, side] : {std::pair{"b", &bids}, std::pair{"a", &asks}}) {
      for (simdjson::dom::array level : simdjson::dom::array(d[key])) {
        const std::string price(std::string_view(level.at(0)));
        const std::string qty(std::string_view(level.at(1)));
        if (qty == "0.00000000") {
          side->erase(price);
        } else {
          (*side)[price] = qty;
        }
      }
    }
  }
  auto res = http_get(port, "/api/v3/depth?symbol=BTCUSDT&limit=5000");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  simdjson::dom::element snap = parser_.parse(res.body());
  EXPECT_EQ(std::uint64_t(snap["lastUpdateId"]), last_u);
  std::vector<std::pair<std::string, std::string>> snap_bids, want_bids(bids.rbegin(), bids.rend());
  for (simdjson::dom::array level : simdjson::dom::array(snap["bids"])) {
    snap_bids.emplace_back(std::string_view(level.at(0)), std::string_view(level.at(1)));
  }
  std::sort(want_bids.begin(), want_bids.end(), [](const auto& x, const auto& y) { return std::stod(x.first) > std::stod(y.first); });
  EXPECT_EQ(snap_bids, want_bids);
  EXPECT_EQ(simdjson::dom::array(snap["asks"]).size(), asks.size());

  auto book = sim_->book("BTCUSDT");
  ASSERT_TRUE(book.ok());
  EXPECT_EQ(book->last_update_id, last_u);
  ASSERT_EQ(book->bids.size(), bids.size());
  EXPECT_EQ(SimMarket::format_units(book->bids[0].price), want_bids[0].first);

  auto limited = http_get(port, "/api/v3/depth?symbol=BTCUSDT&limit=5");
  simdjson::dom::element small = parser_.parse(limited.body());
  EXPECT_EQ(simdjson::dom::array(small["bids"]).size(), 5u);
  EXPECT_EQ(simdjson::dom::array(small["asks"]).size(), 5u);
  EXPECT_EQ(http_get(port, "/api/v3/depth?symbol=NOPE").result(), http::status::bad_request);
  EXPECT_EQ(http_get(port, "/api/v3/depth?symbol=BTCUSDT&limit=abc").result(), http::status::bad_request);
}

TEST_F(SimulatorTest, BookCanBeReadFromAnotherThreadWhileTheMarketRuns) {
  SimulatorOptions o = options(200);
  o.depth_interval_ms = 1;
  Client c(start(o));
  ASSERT_FALSE(c.connect("/ws/ethusdt@depth"));
  std::uint64_t last_seen = 0;
  for (const auto& m : c.read_n(200)) {
    const std::uint64_t u = parser_.parse(m)["u"];
    auto book = sim_->book("ETHUSDT", 10);
    ASSERT_TRUE(book.ok());
    EXPECT_GE(book->last_update_id, u);  // the book is never behind a diff already received
    EXPECT_GE(book->last_update_id, last_seen);
    EXPECT_LE(book->bids.size(), 10u);
    last_seen = book->last_update_id;
  }
}

TEST_F(SimulatorTest, RefusedUpgradeCarriesRetryAfterThenAccepts) {
  SimulatorOptions o = options(5);
  o.faults.refuse_ws = {429, 1, 7};
  const auto port = start(o);
  Client refused(port);
  EXPECT_EQ(refused.connect(kTrades), websocket::error::upgrade_declined);
  EXPECT_EQ(refused.response.result_int(), 429u);
  EXPECT_EQ(refused.response[http::field::retry_after], "7");
  Client accepted(port);
  ASSERT_FALSE(accepted.connect(kTrades));
  accepted.read_n(5);
  const auto faults = fault_lines(record());
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0], R"({"sim":"fault","fault":"refuse_ws","status":429,"retry_after":7})");
}

TEST_F(SimulatorTest, RefusedRestRequestCarriesRetryAfter) {
  SimulatorOptions o = options(0);
  o.faults.refuse_rest = {418, 0, 120};
  const auto port = start(o);
  for (int i = 0; i < 2; ++i) {
    auto res = http_get(port, "/api/v3/depth?symbol=BTCUSDT");
    EXPECT_EQ(res.result_int(), 418u);
    EXPECT_EQ(res[http::field::retry_after], "120");
  }
  EXPECT_EQ(sim_->faults(), 2u);
}

TEST_F(SimulatorTest, ResetFaultYieldsEconnreset) {
  SimulatorOptions o = options(0);
  o.faults.reset = {true, 10, 0, 1};
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  EXPECT_EQ(c.read_until_end().size(), 9u);
  EXPECT_EQ(c.error, asio::error::connection_reset) << c.error.message();
  const auto faults = fault_lines(record());
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_NE(faults[0].find(R"("fault":"reset","conn":1,"at":10,"stream":"btcusdt@trade")"), std::string::npos);
}

TEST_F(SimulatorTest, CloseFaultsCloseWithAndWithoutACloseFrame) {
  SimulatorOptions o = options(0);
  o.faults.close_ws = {true, 4, 0, 1};
  o.faults.close_tcp = {true, 6, 0, 0};
  const auto port = start(o);
  Client first(port);
  ASSERT_FALSE(first.connect(kTrades));
  EXPECT_EQ(first.read_until_end().size(), 3u);
  EXPECT_EQ(first.error, websocket::error::closed);
  EXPECT_EQ(first.reason().code, websocket::close_code::going_away);
  Client second(port);  // close_ws fired once already; close_tcp fires on every connection
  ASSERT_FALSE(second.connect(kTrades));
  EXPECT_EQ(second.read_until_end().size(), 5u);
  EXPECT_NE(second.error, websocket::error::closed);
  EXPECT_NE(second.error, asio::error::connection_reset);
  EXPECT_TRUE(second.error) << "the connection must end";
}

TEST_F(SimulatorTest, GapWithholdsExactlyTheRecordedTradeIds) {
  SimulatorOptions o = options(100);
  o.faults.gap = {true, 20, 0, 1};
  o.faults.gap_messages = 3;
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  const auto got = c.read_n(97);
  const auto rec = record();
  std::vector<std::uint64_t> truth_ids, got_ids, skipped;
  for (const auto& l : market_lines(rec)) truth_ids.push_back(std::uint64_t(parser_.parse(l)["data"]["t"]));
  for (const auto& m : got) got_ids.push_back(std::uint64_t(parser_.parse(m)["data"]["t"]));
  for (const auto& l : fault_lines(rec)) {
    simdjson::dom::element f = parser_.parse(l);
    EXPECT_EQ(std::string_view(f["fault"]), "gap");
    EXPECT_EQ(std::uint64_t(f["first_id"]), std::uint64_t(f["last_id"]));
    skipped.push_back(f["first_id"]);
  }
  ASSERT_EQ(truth_ids.size(), 100u);
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_EQ(skipped, std::vector<std::uint64_t>(truth_ids.begin() + 19, truth_ids.begin() + 22));
  std::vector<std::uint64_t> expected;
  for (auto id : truth_ids) {
    if (std::find(skipped.begin(), skipped.end(), id) == skipped.end()) expected.push_back(id);
  }
  EXPECT_EQ(got_ids, expected);
}

TEST_F(SimulatorTest, DuplicateIsTheSameBytesAndReorderSwapsNeighbours) {
  SimulatorOptions o = options(20);
  o.faults.duplicate = {true, 5, 0, 1};
  o.faults.reorder = {true, 10, 0, 1};
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  const auto got = c.read_n(21);
  const auto truth = market_lines(record());
  ASSERT_EQ(truth.size(), 20u);
  std::vector<std::string> expected(truth.begin(), truth.begin() + 5);
  expected.push_back(truth[4]);  // the duplicate
  expected.insert(expected.end(), truth.begin() + 5, truth.begin() + 9);
  expected.push_back(truth[10]);  // message 10 goes after message 11
  expected.push_back(truth[9]);
  expected.insert(expected.end(), truth.begin() + 11, truth.end());
  EXPECT_EQ(got, expected);
}

TEST_F(SimulatorTest, MalformedAndOversizedFramesComeBeforeTheirMessage) {
  SimulatorOptions o = options(10);
  o.faults.malformed = {true, 3, 0, 1};
  o.faults.oversize = {true, 6, 0, 1};
  o.faults.oversize_bytes = 300'000;
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  const auto got = c.read_n(12);
  const auto truth = market_lines(record());
  ASSERT_EQ(truth.size(), 10u);
  EXPECT_NE(parser_.parse(got[2]).error(), simdjson::SUCCESS) << got[2];
  EXPECT_EQ(got[3], truth[2]);
  EXPECT_EQ(got[6].size(), 300'000u);
  EXPECT_EQ(parser_.parse(got[6]).error(), simdjson::SUCCESS);
  EXPECT_EQ(got[7], truth[5]);
  EXPECT_EQ(got.back(), truth.back());
}

TEST_F(SimulatorTest, PingStormSendsThePingsBeforeTheMessage) {
  SimulatorOptions o = options(3);
  o.faults.ping_storm = {true, 2, 0, 1};
  o.faults.ping_storm_count = 50;
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  c.read_n(1);
  EXPECT_EQ(c.pings, 0);
  c.read_n(1);
  EXPECT_EQ(c.pings, 50);
}

TEST_F(SimulatorTest, ServerPingsArriveAtTheConfiguredInterval) {
  SimulatorOptions o = options(0);
  o.ping_interval_ms = 5;
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  // Pings are seen while reads are pending; the answers (pongs) keep the connection open.
  while (c.pings < 3) ASSERT_TRUE(c.read().has_value()) << c.error.message();
}

TEST_F(SimulatorTest, UnansweredPingsCloseTheConnection) {
  SimulatorOptions o = options(0);
  o.ping_interval_ms = 2;
  o.pong_timeout_ms = 10;
  Client c(start(o));
  ASSERT_FALSE(c.connect("/ws"));
  // Not reading means not answering: wait for the simulator to give up.
  const auto path = dir_ / "record.ndjson";
  while (lines_of(path).empty()) std::this_thread::yield();
  EXPECT_EQ(lines_of(path)[0], R"({"sim":"limit","conn":1,"reason":"no pong to a server ping"})");
  EXPECT_TRUE(c.read_until_end().empty());
  EXPECT_EQ(c.error, websocket::error::closed);
  EXPECT_EQ(c.reason().code, websocket::close_code::policy_error);
}

TEST_F(SimulatorTest, SlowSenderStillDeliversEverythingInOrder) {
  SimulatorOptions o = options(10);
  o.faults.slow = {true, 2, 0, 1};
  o.faults.slow_delay_ms = 1;
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  const auto got = c.read_n(10);
  const auto rec = record();
  EXPECT_EQ(market_lines(rec), got);
  ASSERT_EQ(fault_lines(rec).size(), 1u);
  EXPECT_NE(fault_lines(rec)[0].find(R"("fault":"slow","conn":1,"at":2)"), std::string::npos);
}

TEST_F(SimulatorTest, RestServesTheLastDiffsBookOrTheLiveOne) {
  for (bool live : {false, true}) {
    SimulatorOptions o = options(30);
    o.rest_live_book = live;
    const auto port = start(o);
    Client c(port);
    ASSERT_FALSE(c.connect(kTrades));
    c.read_n(30);  // the market stops here
    auto res = http_get(port, "/api/v3/depth?symbol=ETHUSDT&limit=1000");
    ASSERT_EQ(res.result(), http::status::ok);
    const std::uint64_t id = parser_.parse(res.body())["lastUpdateId"];
    auto want = live ? sim_->live_book("ETHUSDT") : sim_->book("ETHUSDT");
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(id, want->last_update_id);
    EXPECT_EQ(res.body(), SimMarket::depth_json(*want));
    EXPECT_GE(sim_->live_book("ETHUSDT")->last_update_id, sim_->book("ETHUSDT")->last_update_id);
    sim_->stop();
  }
  EXPECT_FALSE(sim_->book("XRPUSDT").ok());
}

TEST_F(SimulatorTest, ShutdownNoticeIsFollowedByAClose) {
  SimulatorOptions o = options(0);
  o.faults.shutdown_notice = {true, 3, 0, 1};
  o.faults.shutdown_grace_ms = 10;
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  const auto got = c.read_until_end();
  ASSERT_GE(got.size(), 3u);
  EXPECT_EQ(got[2].rfind(R"({"stream":"!serverShutdown","data":{"e":"serverShutdown","E":)", 0), 0u) << got[2];
  EXPECT_EQ(c.error, websocket::error::closed);
}

TEST_F(SimulatorTest, ConnectionLifetimeEndsWithACloseFrame) {
  SimulatorOptions o = options(0);
  o.faults.lifetime_ms = 30;
  Client c(start(o));
  ASSERT_FALSE(c.connect(kTrades));
  c.read_until_end();
  EXPECT_EQ(c.error, websocket::error::closed);
  EXPECT_EQ(c.reason().code, websocket::close_code::going_away);
  const auto faults = fault_lines(record());
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_NE(faults[0].find(R"("fault":"lifetime","conn":1)"), std::string::npos);
}

TEST_F(SimulatorTest, StallKeepsTheSocketOpenAndSilent) {
  SimulatorOptions o = options(200);
  o.faults.stall = {true, 5, 0, 1};
  const auto port = start(o);
  Client stalled(port);
  ASSERT_FALSE(stalled.connect(kTrades));
  EXPECT_EQ(stalled.read_n(4).size(), 4u);
  Client other(port);
  ASSERT_FALSE(other.connect(kTrades));
  while (sim_->sent() < 200) other.read_n(1);  // the market went on
  stalled.socket().non_blocking(true);
  char byte;
  beast::error_code ec;
  stalled.socket().read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::would_block);  // open (no EOF) and nothing sent
}

TEST_F(SimulatorTest, ReplaysACaptureInOrderInBothWireForms) {
  const auto capture = dir_ / "capture.ndjson";
  const std::string combined_trade =
      R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1000,"s":"BTCUSDT","t":5,"p":"1.0","q":"2.0","T":1000,"m":true,"M":true}})";
  const std::string raw_agg =
      R"({"e":"aggTrade","E":1003,"s":"BTCUSDT","a":9,"p":"1.0","q":"2.0","f":5,"l":5,"T":1003,"m":true,"M":true})";
  const std::string raw_ticker = R"({"u":400900217,"s":"BTCUSDT","b":"1.0","B":"3.0","a":"1.1","A":"4.0"})";
  const std::string raw_depth = R"({"e":"depthUpdate","E":1010,"s":"BTCUSDT","U":157,"u":160,"b":[["0.9","10"]],"a":[]})";
  std::ofstream(capture) << combined_trade << "\n" << raw_agg << "\n"
                         << R"({"sim":"fault","fault":"gap","conn":1,"at":1,"stream":"x","first_id":1,"last_id":1})"
                         << "\n\n" << raw_ticker << "\n" << raw_depth << "\n";
  SimulatorOptions o = options(0);
  o.replay_path = capture.string();
  o.replay_speed = 0;
  const auto port = start(o);
  Client combined(port);
  ASSERT_FALSE(combined.connect("/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker/btcusdt@depth"));
  const auto got = combined.read_n(4);
  EXPECT_EQ(got[0], combined_trade);
  EXPECT_EQ(got[1], R"({"stream":"btcusdt@aggTrade","data":)" + raw_agg + "}");
  EXPECT_EQ(got[2], R"({"stream":"btcusdt@bookTicker","data":)" + raw_ticker + "}");
  EXPECT_EQ(got[3], R"({"stream":"btcusdt@depth@100ms","data":)" + raw_depth + "}");
  // No snapshot line: the diff alone is not the book, so there is none to serve.
  auto depth = http_get(port, "/api/v3/depth?symbol=BTCUSDT");
  ASSERT_EQ(depth.result(), http::status::service_unavailable) << depth.body();
  EXPECT_NE(depth.body().find("the capture has no snapshot line for BTCUSDT"), std::string::npos) << depth.body();
  EXPECT_EQ(http_get(port, "/api/v3/depth?symbol=ETHUSDT").result(), http::status::bad_request);

  std::ofstream(dir_ / "bad.ndjson") << combined_trade << "\nnot json\n";
  SimulatorOptions bad = options(0);
  bad.replay_path = (dir_ / "bad.ndjson").string();
  Simulator broken(bad);
  auto st = broken.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("bad.ndjson:2:"), std::string_view::npos) << st.status();

  std::ofstream(dir_ / "badsnap.ndjson") << R"({"sim":"snapshot","symbol":"BTCUSDT","lastUpdateId":3,"bids":[["1.0"]],"asks":[]})"
                                         << "\n";
  bad.replay_path = (dir_ / "badsnap.ndjson").string();
  Simulator broken_snapshot(bad);
  st = broken_snapshot.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("badsnap.ndjson:1: snapshot: \"bids\""), std::string_view::npos) << st.status();
}

TEST_F(SimulatorTest, ReplayAnswers503UntilASnapshotLineThenServesItWithTheNewerDiffsAlreadySent) {
  // As a recorder writes it: the REST answer (lastUpdateId 102) arrives
  // after a newer diff (103..105) was already sent.
  const auto capture = dir_ / "capture.ndjson";
  const std::string a = R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":100,"u":102,"b":[["1.0","5"]],"a":[]}})";
  const std::string b = R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":2,"s":"BTCUSDT","U":103,"u":105,"b":[["0.9","7"]],"a":[["1.2","3"]]}})";
  const std::string c = R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":3,"s":"BTCUSDT","U":106,"u":106,"b":[],"a":[["1.1","0"]]}})";
  const std::string gap = R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":4,"s":"BTCUSDT","U":110,"u":111,"b":[],"a":[]}})";
  const std::string trade = R"({"stream":"btcusdt@trade","data":{"e":"trade","E":5,"s":"BTCUSDT","t":1,"p":"1.0","q":"1.0","T":5,"m":true,"M":true}})";
  const std::string snapshot =
      R"({"sim":"snapshot","symbol":"BTCUSDT","lastUpdateId":102,"bids":[["1.0","5"],["0.8","1"]],"asks":[["1.1","2"]]})";
  std::ofstream(capture) << a << "\n" << b << "\n" << snapshot << "\n" << c << "\n" << trade << "\n";
  SimulatorOptions o = options(0);
  o.replay_path = capture.string();
  o.replay_speed = 0;
  const auto port = start(o);
  // Before the replay starts (no websocket yet) no book is known: 503, never an empty book.
  auto early = http_get(port, "/api/v3/depth?symbol=BTCUSDT");
  ASSERT_EQ(early.result(), http::status::service_unavailable) << early.body();
  EXPECT_EQ(early[http::field::retry_after], "1");
  EXPECT_EQ(early[http::field::content_type], "application/json;charset=UTF-8");
  EXPECT_EQ(early.body(),
            R"({"code":-1001,"msg":"sim: no consistent book: the replay has not reached BTCUSDT's first snapshot line yet"})");
  EXPECT_FALSE(sim_->book("BTCUSDT").ok());

  Client client(port);
  ASSERT_FALSE(client.connect("/stream?streams=btcusdt@depth/btcusdt@trade"));
  ASSERT_EQ(client.read_n(4).back(), trade);  // a, b, c and the trade, the capture's last line
  // The snapshot, then b (u > 102) again, then c: what a client that applied them holds.
  auto depth = http_get(port, "/api/v3/depth?symbol=BTCUSDT");
  ASSERT_EQ(depth.result(), http::status::ok) << depth.body();
  EXPECT_EQ(depth.body(),
            R"({"lastUpdateId":106,"bids":[["1.00000000","5.00000000"],["0.90000000","7.00000000"],["0.80000000","1.00000000"]],)"
            R"("asks":[["1.20000000","3.00000000"]]})");

  // Ids 107..109 missing from the capture after a snapshot line: unknown again.
  const auto gapped = dir_ / "gapped.ndjson";
  std::ofstream(gapped) << a << "\n" << snapshot << "\n" << b << "\n" << c << "\n" << gap << "\n" << trade << "\n";
  o.replay_path = gapped.string();
  Simulator second(o);
  auto second_port = second.start();
  ASSERT_TRUE(second_port.ok()) << second_port.status();
  Client reader(*second_port);
  ASSERT_FALSE(reader.connect("/stream?streams=btcusdt@depth/btcusdt@trade"));
  ASSERT_EQ(reader.read_n(5).back(), trade);
  auto after_gap = http_get(*second_port, "/api/v3/depth?symbol=BTCUSDT");
  ASSERT_EQ(after_gap.result(), http::status::service_unavailable) << after_gap.body();
  EXPECT_NE(after_gap.body().find("the capture misses BTCUSDT's update ids 107..109: its book is unknown until its "
                                  "next snapshot line"),
            std::string::npos)
      << after_gap.body();
}

TEST_F(SimulatorTest, AtTheEndOfAReplayEveryClientIsClosedAndDrainedIsToldOnceTheyAnswered) {
  const auto capture = dir_ / "capture.ndjson";
  {
    std::ofstream out(capture);
    for (int t = 1; t <= 3; ++t) {
      out << fmt::format(R"({{"stream":"btcusdt@trade","data":{{"e":"trade","E":1,"s":"BTCUSDT","t":{},"p":"1.0","q":"1.0","T":1,"m":true,"M":true}}}})",
                         t)
          << "\n";
    }
  }
  std::atomic<int> drained{0};
  SimulatorOptions o = options(0);
  o.replay_path = capture.string();
  o.replay_speed = 0;
  o.on_replay_drained = [&drained] {
    drained.fetch_add(1, std::memory_order_release);  // release: pairs with the acquire loads below
    drained.notify_all();
  };
  const auto port = start(o);
  Client c(port);
  ASSERT_FALSE(c.connect("/stream?streams=btcusdt@trade"));
  EXPECT_EQ(c.read_until_end().size(), 3u);  // every message, then the close (which Beast answers)
  EXPECT_EQ(c.reason().code, websocket::close_code::normal);
  while (drained.load(std::memory_order_acquire) == 0) drained.wait(0, std::memory_order_acquire);
  // A client that connects after the end is closed at once; told only once.
  Client late(port);
  ASSERT_FALSE(late.connect("/stream?streams=btcusdt@trade"));
  EXPECT_TRUE(late.read_until_end().empty());
  EXPECT_EQ(late.reason().code, websocket::close_code::normal);
  sim_->stop();
  EXPECT_EQ(drained.load(std::memory_order_acquire), 1);
}

TEST_F(SimulatorTest, BeastsPongsNeverSplitABatchOfFrames) {
  // The client pings while a full-speed replay streams batches: every pong
  // Beast sends from inside its read must land between whole frames.
  const auto capture = dir_ / "capture.ndjson";
  {
    std::ofstream out(capture);
    for (int i = 0; i < 20'000; ++i) {
      out << fmt::format(R"({{"stream":"btcusdt@trade","data":{{"e":"trade","E":{},"s":"BTCUSDT","t":{},"p":"1.0","q":"{}","T":1,"m":true,"M":true}}}})",
                         1000 + i, i + 1, std::string(static_cast<std::size_t>(i % 200), '2'))
          << "\n";
    }
  }
  SimulatorOptions o = options(0);
  o.replay_path = capture.string();
  o.replay_speed = 0;
  o.max_incoming_per_s = 0;  // the pings below are not a limit test
  const auto port = start(o);
  Client c(port);
  c.small_receive_buffer();
  ASSERT_FALSE(c.connect("/stream?streams=btcusdt@trade"));
  const auto lines = lines_of(capture);
  int pinged = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto m = c.read();
    ASSERT_TRUE(m.has_value()) << "message " << i << ": " << c.error.message();
    ASSERT_EQ(*m, lines[i]) << "message " << i;
    if (i % 50 == 0) {
      c.ping();
      ++pinged;
    }
  }
  // The server answers each ping (Beast's pong write) before it reads the
  // next frame, so this request's reply follows every pong on the wire.
  c.send(R"({"method":"LIST_SUBSCRIPTIONS","id":7})");
  auto reply = c.read();
  ASSERT_TRUE(reply.has_value()) << c.error.message();
  EXPECT_EQ(*reply, R"({"result":["btcusdt@trade"],"id":7})");
  EXPECT_EQ(c.pongs, pinged);
  c.close();
  EXPECT_EQ(c.reason().code, websocket::close_code::normal);
}

TEST_F(SimulatorTest, FullSpeedReplayBatchesFramesOfEverySizeAndKeepsTheBook) {
  // 7-, 16- and 64-bit payload lengths, many more messages than the replay's
  // high-water mark (so it waits for the socket), and a snapshot line.
  const auto capture = dir_ / "capture.ndjson";
  {
    std::ofstream out(capture);
    out << R"({"sim":"snapshot","symbol":"BTCUSDT","lastUpdateId":99,"bids":[["1.5","2"]],"asks":[["1.6","3"]]})" << "\n";
    for (int i = 0; i < 10'000; ++i) {
      const std::size_t pad = i % 1000 == 999 ? 70'000 : i % 2 == 1 ? 300 : 0;
      out << fmt::format(R"({{"stream":"btcusdt@trade","data":{{"e":"trade","E":{},"s":"BTCUSDT","t":{},"p":"1.0","q":"{}","T":1,"m":true,"M":true}}}})",
                         1000 + i, i + 1, std::string(pad, '1'))
          << "\n";
    }
    out << R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":9,"s":"BTCUSDT","U":100,"u":101,"b":[["1.5","0"],["1.4","7"]],"a":[]}})"
        << "\n";
  }
  SimulatorOptions o = options(0);
  o.replay_path = capture.string();
  o.replay_speed = 0;
  const auto port = start(o);
  Client c(port);
  ASSERT_FALSE(c.connect("/stream?streams=btcusdt@trade/btcusdt@depth"));
  const auto got = c.read_n(10'001);
  ASSERT_EQ(got.size(), 10'001u);
  const auto lines = lines_of(capture);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], lines[i + 1]) << "message " << i;
  auto depth = http_get(port, "/api/v3/depth?symbol=BTCUSDT");
  EXPECT_EQ(depth.body(), R"({"lastUpdateId":101,"bids":[["1.40000000","7.00000000"]],"asks":[["1.60000000","3.00000000"]]})");
  auto book = sim_->book("BTCUSDT");
  ASSERT_TRUE(book.ok()) << book.status();
  EXPECT_EQ(book->last_update_id, 101u);
}

TEST(SimFaultSpec, ParsesTriggersAndRefusalsAndNamesWhatIsWrong) {
  SimFaults f;
  ASSERT_TRUE(parse_fault("gap:10:0.25:3", f).ok());
  EXPECT_TRUE(f.gap.enabled);
  EXPECT_EQ(f.gap.after, 10u);
  EXPECT_EQ(f.gap.probability, 0.25);
  EXPECT_EQ(f.gap.max_times, 3u);
  ASSERT_TRUE(parse_fault("reset", f).ok());
  EXPECT_TRUE(f.reset.enabled);
  EXPECT_EQ(f.reset.max_times, 1u);
  const auto unknown = parse_fault("explode:1", f);
  EXPECT_NE(unknown.message().find("unknown fault 'explode'"), std::string_view::npos) << unknown;
  const auto bad = parse_fault("stall:soon", f);
  EXPECT_NE(bad.message().find("AFTER must be a number, got 'soon'"), std::string_view::npos) << bad;
  EXPECT_FALSE(parse_fault("slow:1:2", f).ok());
  SimRefusal r;
  ASSERT_TRUE(parse_refusal("418:2:60", r).ok());
  EXPECT_EQ(r.status, 418u);
  EXPECT_EQ(r.count, 2u);
  EXPECT_EQ(r.retry_after_s, 60u);
  EXPECT_FALSE(parse_refusal("500", r).ok());
}

TEST(SimCli, HelpDocumentsEveryFlag) {
  auto help = testing::run_command({TICKWIRE_BINARY, "sim", "--help"});
  ASSERT_EQ(help.exit_code, 0);
  for (const char* flag : {"--symbols", "--rate", "--seed", "--count", "--record", "--record-all", "--epoch-ms",
                           "--depth-interval-ms", "--rest-live-book", "--ping-interval-ms", "--pong-timeout-ms",
                           "--max-incoming", "--max-streams", "--replay", "--speed", "--exit-at-end", "--fault", "--gap-messages",
                           "--slow-delay-ms", "--oversize-bytes", "--ping-storm-count", "--shutdown-grace-ms",
                           "--lifetime-ms", "--refuse-ws", "--refuse-rest"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  auto bad = testing::run_command({"/bin/sh", "-c", std::string("'") + TICKWIRE_BINARY + "' sim --fault nope 2>&1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("unknown fault 'nope'"), std::string::npos) << bad.out;
}

TEST(SimCli, ANonPositiveOrNonFiniteRateIsRejectedByName) {
  // Rejected before the simulator starts: exit 2 and the flag named. "nan"
  // and "inf" pass CLI11's own PositiveNumber check. (`timeout` only ends a
  // simulator that wrongly started, which then fails with exit 124.)
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--rate", "0"},    {"--rate", "-5"},     {"--rate", "nan"}, {"--rate", "inf"},
      {"--speed", "nan"}, {"--speed", "-1"},    {"--speed", "inf"}, {"--depth-interval-ms", "0"}};
  for (const auto& [flag, value] : bad) {
    auto r = testing::run_command(
        {"/bin/sh", "-c", std::string("timeout 60 '") + TICKWIRE_BINARY + "' sim --port 0 " + flag + " " + value + " 2>&1"});
    EXPECT_EQ(r.exit_code, 2) << flag << " " << value << ": " << r.out;
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << " " << value << ": " << r.out;
    EXPECT_EQ(r.out.find("listening"), std::string::npos) << flag << " " << value << ": " << r.out;
  }
}

}  // namespace
}  // namespace tickwire::connector
