// WsSession against small real websocket servers written here with Beast, on
// 127.0.0.1:0 and on the test's own io_context (one thread: the server and
// the session interleave deterministically). Each test runs the io_context
// until the condition it waits for holds; nothing sleeps, and nothing asserts
// on elapsed time (the 30 s limit in run_until only turns a hang into a
// failure).
#include "tickwire/connector/ws_session.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include <functional>
#include <map>
#include <random>
#include <set>

#include "support/subprocess.hpp"
#include "support/tcp_sockets.hpp"
#include "support/ws_frame_bytes.hpp"
#include "tickwire/connector/venue.hpp"
#include "support/temp_dir.hpp"

namespace tickwire::connector {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Ws = websocket::stream<beast::tcp_stream>;
constexpr auto kAwait = asio::use_awaitable;

// TestServer: accepts on 127.0.0.1:0 and runs `behavior(socket, n)` for the
// n-th connection (1-based) in its own coroutine.
class TestServer {
 public:
  using Behavior = std::function<asio::awaitable<void>(tcp::socket, int)>;
  TestServer(asio::io_context& io, Behavior behavior)
      : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), behavior_(std::move(behavior)) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  WsUrl url(std::string target = "/ws") const {
    return WsUrl{false, "127.0.0.1", std::to_string(acceptor_.local_endpoint().port()), std::move(target)};
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (int n = 1;; ++n) {
      beast::error_code ec;
      auto socket = co_await acceptor_.async_accept(asio::redirect_error(kAwait, ec));
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), behavior_(std::move(socket), n), asio::detached);
    }
  }
  tcp::acceptor acceptor_;
  Behavior behavior_;
};

// accept_ws: the server side of the websocket handshake.
asio::awaitable<std::shared_ptr<Ws>> accept_ws(tcp::socket socket) {
  auto ws = std::make_shared<Ws>(std::move(socket));
  beast::error_code ec;
  co_await ws->async_accept(asio::redirect_error(kAwait, ec));
  if (ec) co_return nullptr;
  co_return ws;
}

// send: one text frame; false once the peer is gone.
asio::awaitable<bool> send(Ws& ws, std::string text) {
  beast::error_code ec;
  ws.text(true);
  co_await ws.async_write(asio::buffer(text), asio::redirect_error(kAwait, ec));
  co_return !ec;
}

// read_text: one frame, or "" once the peer is gone.
asio::awaitable<std::string> read_text(Ws& ws) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  co_await ws.async_read(buffer, asio::redirect_error(kAwait, ec));
  if (ec) co_return std::string();
  co_return beast::buffers_to_string(buffer.data());
}

// refuse: answers the upgrade request with an HTTP status and headers.
asio::awaitable<void> refuse(tcp::socket socket, http::status status, std::string retry_after) {
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  beast::error_code ec;
  co_await http::async_read(socket, buffer, req, asio::redirect_error(kAwait, ec));
  if (ec) co_return;
  http::response<http::string_body> res{status, 11};
  if (!retry_after.empty()) res.set(http::field::retry_after, retry_after);
  res.body() = "refused";
  res.prepare_payload();
  co_await http::async_write(socket, res, asio::redirect_error(kAwait, ec));
  socket.close(ec);
}

// Recorder: every session event, in order, and a hook run after each.
struct Recorder final : SessionHandler {
  struct Frame {
    std::uint32_t generation;
    std::string text;
  };
  int connects = 0;
  std::vector<std::string> disconnects;
  std::vector<Frame> frames;
  std::vector<std::pair<milliseconds, std::string>> backoffs;
  std::vector<std::uint32_t> subscribed;  // generations acknowledged
  std::vector<std::pair<milliseconds, std::string>> rate_limits;
  std::vector<std::string> events;        // rollover events as text
  // on_rollover_candidate calls: the new generation, and how many of its frames had arrived by then.
  std::vector<std::pair<std::uint32_t, std::size_t>> candidates;
  std::function<void()> hook = [] {};

  void on_connected() override { ++connects, hook(); }
  void on_frame(const char* data, std::size_t size, std::uint64_t, std::uint32_t generation) override {
    frames.push_back({generation, std::string(data, size)});
    hook();
  }
  void on_disconnected(std::string_view reason) override { disconnects.emplace_back(reason), hook(); }
  void on_backoff(milliseconds delay, std::string_view cause) override { backoffs.emplace_back(delay, cause), hook(); }
  void on_subscribed(std::uint32_t generation, std::size_t, bool) override { subscribed.push_back(generation), hook(); }
  void on_rate_limited(milliseconds interval, std::string_view reason) override {
    rate_limits.emplace_back(interval, reason), hook();
  }
  void on_rollover_candidate(std::uint32_t, std::uint32_t next) override {
    candidates.emplace_back(next, frames_of(next));
    hook();
  }
  void on_rollover_started(std::uint32_t previous, std::uint32_t next, std::string_view reason) override {
    events.push_back(fmt::format("started {}->{} ({})", previous, next, reason));
    hook();
  }
  void on_rollover_finished(std::uint32_t previous, std::uint32_t current, bool overlapped) override {
    events.push_back(fmt::format("finished {}->{} overlapped={}", previous, current, overlapped));
    hook();
  }
  void on_rollover_failed(std::uint32_t generation, std::string_view reason) override {
    events.push_back(fmt::format("failed {}: {}", generation, reason));
    hook();
  }
  std::size_t frames_of(std::uint32_t generation) const {
    return static_cast<std::size_t>(std::count_if(frames.begin(), frames.end(),
                                                  [&](const Frame& f) { return f.generation == generation; }));
  }
};

// Fixture: an io_context and run_until.
class WsSessionTest : public ::testing::Test {
 protected:
  template <typename Pred>
  bool run_until(Pred pred) {
    const auto limit = std::chrono::steady_clock::now() + 30s;  // hang guard only
    while (!pred() && std::chrono::steady_clock::now() < limit) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(100ms);
    }
    return pred();
  }
  // finish: stops the session and lets its coroutines end.
  void finish(WsSession& session) {
    session.stop();
    io_.restart();
    io_.poll();
  }
  SessionOptions options(const TestServer& server, std::string target = "/ws", std::string_view venue = "binance") {
    SessionOptions o;
    o.url = server.url(std::move(target));
    o.backoff_initial = 1ms;
    o.backoff_max = 10ms;
    o.jitter_seed = 42;
    o.protocol = find_venue(venue)->make_control();
    return o;
  }
  // attempts_until_limited: runs a session whose every attempt the server
  // refuses (503), with the limiters `limit` sets, until a backoff names
  // `limit_name`; returns the attempts the server saw (the session counted
  // as many).
  int attempts_until_limited(const std::function<void(SessionOptions&)>& limit, std::string_view limit_name) {
    int accepted = 0;
    TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
      ++accepted;
      co_await refuse(std::move(s), http::status::service_unavailable, "");
    });
    auto o = options(server);
    limit(o);
    WsSession session(io_, o, handler_);
    session.start();
    EXPECT_TRUE(run_until([&] {
      return std::any_of(handler_.backoffs.begin(), handler_.backoffs.end(),
                         [&](const auto& b) { return b.second.find(limit_name) != std::string::npos; });
    }));
    EXPECT_EQ(session.stats().attempts, static_cast<std::uint64_t>(accepted));
    finish(session);
    return accepted;
  }
  // bybit_options: Bybit's control protocol subscribing a book and trades in one request.
  SessionOptions bybit_options(const TestServer& server) {
    SessionOptions o = options(server, "/ws", "bybit");
    o.subscribe = {"orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"};
    o.streams_per_message = 10;
    return o;
  }

  Recorder handler_;
  // Last, so destroyed first: the coroutine frames it still holds call into handler_.
  asio::io_context io_;
};

TEST_F(WsSessionTest, ConnectsWithoutNagleSoAPongIsNotHeldForTheServersAck) {
  std::uint16_t client_port = 0;
  std::uint16_t server_port = 0;
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    client_port = s.remote_endpoint().port();
    server_port = s.local_endpoint().port();
    auto ws = co_await accept_ws(std::move(s));
    co_await read_text(*ws);  // ends when the client goes
  });
  WsSession session(io_, options(server), handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.connects == 1; }));
  EXPECT_EQ(testing::tcp_no_delay(client_port, server_port), std::optional<bool>(true))
      << "the session's socket (port " << client_port << " to " << server_port << ")";
  EXPECT_EQ(testing::tcp_no_delay(server_port, client_port), std::optional<bool>(false)) << "the test server's";
  finish(session);
}

TEST_F(WsSessionTest, AnswersServerPingsWithTheSamePayload) {
  std::string pong;
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    auto ws = co_await accept_ws(std::move(s));
    ws->control_callback([&](websocket::frame_type kind, std::string_view payload) {
      if (kind == websocket::frame_type::pong) pong = payload;
    });
    beast::error_code ec;
    co_await ws->async_ping("tickwire-42", asio::redirect_error(kAwait, ec));
    co_await read_text(*ws);  // runs the control callback; ends when the client goes
  });
  WsSession session(io_, options(server), handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !pong.empty(); }));
  EXPECT_EQ(pong, "tickwire-42");
  EXPECT_TRUE(handler_.disconnects.empty());
  finish(session);
}


// read_client_frame: one (masked) client frame from a raw socket: opcode and
// unmasked payload; opcode -1 once the peer is gone.
asio::awaitable<std::pair<int, std::string>> read_client_frame(tcp::socket& s, std::string& buffered) {
  for (;;) {
    if (buffered.size() >= 6) {
      const auto b1 = static_cast<unsigned char>(buffered[1]);
      std::size_t len = b1 & 0x7f, at = 2;
      if (len == 126 && buffered.size() >= 4) {
        len = (static_cast<unsigned char>(buffered[2]) << 8) | static_cast<unsigned char>(buffered[3]);
        at = 4;
      }
      if (len != 126 && buffered.size() >= at + 4 + len) {
        std::string payload = buffered.substr(at + 4, len);
        for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(payload[i] ^ buffered[at + i % 4]);
        const int op = buffered[0] & 0x0f;
        buffered.erase(0, at + 4 + len);
        co_return std::pair<int, std::string>{op, std::move(payload)};
      }
    }
    char chunk[4096];
    beast::error_code ec;
    const std::size_t n = co_await s.async_read_some(asio::buffer(chunk), asio::redirect_error(kAwait, ec));
    if (ec) co_return std::pair<int, std::string>{-1, std::string()};
    buffered.append(chunk, n);
  }
}

TEST_F(WsSessionTest, FramesInTheSameWriteAsTheUpgradeResponseAreDeliveredAndTheirPingAnswered) {
  std::string pong;
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    beast::error_code ec;
    co_await http::async_read(s, buffer, req, asio::redirect_error(kAwait, ec));
    if (ec) co_return;
    websocket::detail::sec_ws_accept_type accept;
    websocket::detail::make_sec_ws_accept(accept, req[http::field::sec_websocket_key]);
    // The 101, then a message, a fragmented one with a ping inside, and a
    // third, all in one write: the client reads them with the response.
    const std::string all = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                            "Sec-WebSocket-Accept: " + std::string(accept.data(), accept.size()) + "\r\n\r\n" +
                            testing::server_frame(0x81, R"({"n":1})") + testing::server_frame(0x01, R"({"n")") +
                            testing::server_frame(0x89, "early") + testing::server_frame(0x80, ":2}") + testing::server_frame(0x81, R"({"n":3})");
    co_await asio::async_write(s, asio::buffer(all), asio::redirect_error(kAwait, ec));
    std::string buffered;
    for (;;) {
      auto [op, payload] = co_await read_client_frame(s, buffered);
      if (op < 0) co_return;
      if (op == 0x0a) pong = payload;
    }
  });
  WsSession session(io_, options(server), handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.frames.size() >= 3 && !pong.empty(); }));
  ASSERT_EQ(handler_.frames.size(), 3u);
  EXPECT_EQ(handler_.frames[0].text, R"({"n":1})");
  EXPECT_EQ(handler_.frames[1].text, R"({"n":2})");
  EXPECT_EQ(handler_.frames[2].text, R"({"n":3})");
  EXPECT_EQ(pong, "early");
  EXPECT_TRUE(handler_.disconnects.empty());
  finish(session);
}

TEST_F(WsSessionTest, FramesSplitAndCoalescedAnyWayReachTheHandlerWholeAndInOrder) {
  std::vector<std::string> sent;
  std::mt19937 rng(11);
  std::string bytes;
  for (int i = 0; i < 400; ++i) {
    std::string body = fmt::format(R"({{"i":{},"pad":"{}"}})", i, std::string(rng() % 3000, 'p'));
    if (i % 5 == 2) {  // fragmented, a ping between the fragments
      const std::size_t k = body.size() / 2;
      bytes += testing::server_frame(0x01, body.substr(0, k)) + testing::server_frame(0x89, "x") + testing::server_frame(0x80, body.substr(k));
    } else {
      bytes += testing::server_frame(0x81, body);
    }
    sent.push_back(std::move(body));
  }
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    auto ws = co_await accept_ws(std::move(s));
    if (!ws) co_return;
    auto& raw = ws->next_layer();
    std::size_t at = 0;
    beast::error_code ec;
    while (at < bytes.size() && !ec) {  // chunks of 1 byte to 20 KB: frames split and many in one read
      const std::size_t n = std::min<std::size_t>(bytes.size() - at, rng() % 3 == 0 ? 1 + rng() % 7 : rng() % 20000);
      co_await asio::async_write(raw, asio::buffer(bytes.data() + at, n), asio::redirect_error(kAwait, ec));
      at += n;
    }
    co_await read_text(*ws);  // until the client goes
  });
  WsSession session(io_, options(server), handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.frames.size() >= sent.size() || !handler_.disconnects.empty(); }));
  ASSERT_TRUE(handler_.disconnects.empty()) << handler_.disconnects.front();
  ASSERT_EQ(handler_.frames.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(handler_.frames[i].text, sent[i]) << i;
  finish(session);
}

TEST_F(WsSessionTest, AMaskedServerFrameIsAProtocolErrorNamedAndCounted) {
  unsigned told = 0;  // the close code the first connection's server received
  TestServer server(io_, [&](tcp::socket s, int n) -> asio::awaitable<void> {
    auto ws = co_await accept_ws(std::move(s));
    if (!ws) co_return;
    beast::error_code ec;
    if (n == 1) {
      const std::string masked = std::string("\x81\x82\x01\x02\x03\x04", 6) + "ij";
      co_await asio::async_write(ws->next_layer(), asio::buffer(masked), asio::redirect_error(kAwait, ec));
      co_await read_text(*ws);
      told = ws->reason().code;
      co_return;
    }
    co_await send(*ws, R"({"e":"trade"})");
    co_await read_text(*ws);
  });
  WsSession session(io_, options(server), handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.frames.empty(); }));
  ASSERT_EQ(handler_.disconnects.size(), 1u);
  EXPECT_EQ(handler_.disconnects[0], "websocket protocol error: a masked frame from the server: connection reset");
  EXPECT_EQ(session.stats().protocol_errors, 1u);
  EXPECT_EQ(handler_.frames[0].generation, 2u);
  ASSERT_TRUE(run_until([&] { return told != 0; }));
  EXPECT_EQ(told, 1002u);  // told why, as Beast did
  finish(session);
}

TEST_F(WsSessionTest, CloseHandshakesComplete) {
  // The session's close on stop reaches the server as a close frame (1000);
  // a server's close is answered with one (Beast's async_close on the server
  // completes only when it reads the answer).
  bool server_saw_close = false;
  unsigned server_saw_code = 0;
  beast::error_code server_close_result = asio::error::would_block;
  TestServer server(io_, [&](tcp::socket s, int n) -> asio::awaitable<void> {
    auto ws = co_await accept_ws(std::move(s));
    if (!ws) co_return;
    co_await send(*ws, R"({"e":"trade"})");
    if (n == 1) {
      beast::error_code ec;
      co_await ws->async_close(websocket::close_code::going_away, asio::redirect_error(kAwait, ec));
      server_close_result = ec;
      co_return;
    }
    beast::flat_buffer buffer;
    beast::error_code ec;
    co_await ws->async_read(buffer, asio::redirect_error(kAwait, ec));
    server_saw_close = ec == websocket::error::closed;
    server_saw_code = ws->reason().code;
  });
  WsSession session(io_, options(server), handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.frames.size() >= 2; }));
  EXPECT_FALSE(server_close_result) << server_close_result.message();
  ASSERT_EQ(handler_.disconnects.size(), 1u);
  EXPECT_EQ(handler_.disconnects[0], "closed by server (code 1001, reason '')");
  session.stop();
  ASSERT_TRUE(run_until([&] { return server_saw_close; }));
  EXPECT_EQ(server_saw_code, 1000u);
  finish(session);
}

TEST_F(WsSessionTest, OurPingsKeepAnIdleConnectionAlive) {
  int pings = 0;
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    auto ws = co_await accept_ws(std::move(s));
    ws->control_callback([&](websocket::frame_type kind, std::string_view) {
      if (kind == websocket::frame_type::ping) ++pings;
    });
    co_await read_text(*ws);  // never sends data; answers pings while reading
  });
  auto o = options(server);
  o.idle_timeout = 400ms;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return pings >= 3; }));
  EXPECT_EQ(handler_.connects, 1);
  EXPECT_TRUE(handler_.disconnects.empty()) << handler_.disconnects.front();
  finish(session);
}

TEST_F(WsSessionTest, DetectsASilentServerThatNeverAnswersPings) {
  std::vector<std::shared_ptr<Ws>> held;
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    // The TCP connection stays open, but nothing is read, so no pong.
    held.push_back(co_await accept_ws(std::move(s)));
  });
  auto o = options(server);
  o.idle_timeout = 200ms;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.disconnects.empty(); }));
  EXPECT_NE(handler_.disconnects[0].find("no pong or frame for 200 ms"), std::string::npos)
      << handler_.disconnects[0];
  finish(session);
}

TEST_F(WsSessionTest, AnOversizedFrameResetsTheConnectionAndTheSessionReconnects) {
  TestServer server(io_, [&](tcp::socket s, int n) -> asio::awaitable<void> {
    auto ws = co_await accept_ws(std::move(s));
    if (!ws) co_return;
    // Not inside the co_await: g++ 12 frees ?: temporaries twice there.
    std::string frame = n == 1 ? std::string(4097, 'x') : std::string(R"({"e":"trade"})");
    co_await send(*ws, std::move(frame));
    co_await read_text(*ws);
  });
  auto o = options(server);
  o.max_frame_bytes = 4096;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.frames.empty(); }));
  ASSERT_EQ(handler_.disconnects.size(), 1u);
  EXPECT_NE(handler_.disconnects[0].find("frame larger than max_frame_bytes (4096)"), std::string::npos)
      << handler_.disconnects[0];
  EXPECT_EQ(session.stats().oversized_frames, 1u);
  EXPECT_EQ(handler_.connects, 2);
  EXPECT_EQ(handler_.frames[0].generation, 2u);
  EXPECT_EQ(handler_.frames[0].text, R"({"e":"trade"})");
  finish(session);
}

TEST_F(WsSessionTest, Http429WithRetryAfterDelaysTheNextAttempt) {
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    co_await refuse(std::move(s), http::status::too_many_requests, "7");
  });
  WsSession session(io_, options(server), handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.backoffs.empty(); }));
  EXPECT_EQ(handler_.disconnects.at(0), "HTTP 429, Retry-After 7 s");
  EXPECT_EQ(handler_.backoffs[0].first, 7s) << "the jittered backoff is at most 10 ms";
  EXPECT_EQ(handler_.backoffs[0].second, "HTTP 429, Retry-After 7 s");
  finish(session);
}

TEST_F(WsSessionTest, Http418BanHonoursRetryAfterOrTheBanWait) {
  TestServer server(io_, [&](tcp::socket s, int n) -> asio::awaitable<void> {
    std::string retry_after = n == 1 ? "120" : "";
    co_await refuse(std::move(s), http::status{418}, std::move(retry_after));
  });
  auto o = options(server);
  o.ban_wait = 3min;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.backoffs.empty(); }));
  EXPECT_EQ(handler_.backoffs[0].first, 120s);
  finish(session);

  // Without Retry-After: the configured ban wait.
  Recorder second;
  WsSession again(io_, o, second);
  again.start();
  ASSERT_TRUE(run_until([&] { return !second.backoffs.empty(); }));
  EXPECT_EQ(second.disconnects.at(0).rfind("HTTP 418 on websocket upgrade", 0), 0u) << second.disconnects[0];
  EXPECT_EQ(second.backoffs[0].first, 3min);
  finish(again);
}

TEST_F(WsSessionTest, AConnectionClosedRightAfterOpeningStillBacksOff) {
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    auto ws = co_await accept_ws(std::move(s));
    beast::error_code ec;
    co_await ws->async_close(websocket::close_code::going_away, asio::redirect_error(kAwait, ec));
  });
  auto o = options(server);
  o.backoff_initial = 5ms;
  o.backoff_max = 40ms;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.backoffs.size() >= 5; }));
  for (const auto& [delay, cause] : handler_.backoffs) {
    EXPECT_GE(delay, 5ms) << "never under backoff_initial";
    EXPECT_LE(delay, 40ms);
    EXPECT_EQ(cause, "backoff");
  }
  EXPECT_NE(handler_.disconnects[0].find("closed by server (code 1001"), std::string::npos) << handler_.disconnects[0];
  finish(session);
}

TEST_F(WsSessionTest, TheAttemptLimiterHoldsBackAttemptsBeyondItsWindow) {
  auto clock_now = SlidingWindowLimiter::Clock::time_point(1h);
  EXPECT_EQ(attempts_until_limited([&](SessionOptions& o) {
              o.attempt_limiter =
                  std::make_shared<SlidingWindowLimiter>("connection attempts", 3, 5min, [&] { return clock_now; });
            }, "connection attempts limit"), 3);
  EXPECT_EQ(handler_.backoffs.back().first, 5min) << "the oldest attempt leaves the window after 5 min";
  EXPECT_EQ(handler_.backoffs.back().second, "connection attempts limit (3 per 300 s)");
}

// The venue's per-second attempt limit comes first: an attempt it refuses
// is not charged to the process's 5-minute limit.
TEST_F(WsSessionTest, TheVenueAttemptLimiterPerSecondHoldsAttemptsBeforeTheProcessLimit) {
  auto clock_now = SlidingWindowLimiter::Clock::time_point(1h);
  std::shared_ptr<SlidingWindowLimiter> process;
  EXPECT_EQ(attempts_until_limited([&](SessionOptions& o) {
              process = std::make_shared<SlidingWindowLimiter>("connection attempts", 100, 5min,
                                                               [&] { return clock_now; });
              o.attempt_limiter = process;
              o.venue_attempt_limiter = std::make_shared<SlidingWindowLimiter>("coinbase connection attempts", 2, 1s,
                                                                               [&] { return clock_now; });
            }, "coinbase connection attempts limit"), 2);
  EXPECT_EQ(process->used(), 2u);
  EXPECT_EQ(handler_.backoffs.back().first, 1s);
  EXPECT_EQ(handler_.backoffs.back().second, "coinbase connection attempts limit (2 per 1 s)");
}

// SubscribeServer: answers SUBSCRIBE messages and records their params per
// connection; `reply` builds the answer to each request id.
struct SubscribeServer {
  std::map<int, std::vector<std::vector<std::string>>> received;  // connection -> messages -> params
  std::function<std::string(int connection, std::uint64_t id)> reply = [](int, std::uint64_t id) {
    return fmt::format(R"({{"result":null,"id":{}}})", id);
  };

  asio::awaitable<void> serve(tcp::socket s, int n) {
    auto ws = co_await accept_ws(std::move(s));
    if (!ws) co_return;
    simdjson::dom::parser parser;
    for (;;) {
      auto text = co_await read_text(*ws);
      if (text.empty()) co_return;
      auto doc = parser.parse(text);
      std::vector<std::string> params;
      for (auto p : doc["params"].get_array()) params.emplace_back(std::string_view(p.get_string()));
      received[n].push_back(std::move(params));
      const auto id = std::uint64_t(doc["id"].get_uint64());
      if (!co_await send(*ws, reply(n, id))) co_return;
      if (!co_await send(*ws, fmt::format(R"({{"e":"trade","conn":{},"after":{}}})", n, id))) co_return;
    }
  }
};

// BybitServer: the Bybit v5 control dialect: acks {"op":"subscribe"|"unsubscribe"} requests by
// their req_id, answers {"op":"ping"} with the linear pong, and records every text it receives.
struct BybitServer {
  std::vector<std::string> received;
  int pings = 0;

  asio::awaitable<void> serve(tcp::socket s, int) {
    auto ws = co_await accept_ws(std::move(s));
    if (!ws) co_return;
    simdjson::dom::parser parser;
    for (;;) {
      auto text = co_await read_text(*ws);
      if (text.empty()) co_return;
      auto doc = parser.parse(text);
      const std::string op(std::string_view(doc["op"].get_string()));
      if (op == "ping") {
        ++pings;
        if (!co_await send(*ws, R"({"req_id":"","op":"pong","args":["1700000000000"],"conn_id":"c1"})")) co_return;
        continue;
      }
      received.push_back(text);
      const std::string req_id(std::string_view(doc["req_id"].get_string()));
      if (!co_await send(*ws, fmt::format(R"({{"success":true,"ret_msg":"","conn_id":"c1","req_id":"{}","op":"{}"}})",
                                          req_id, op))) {
        co_return;
      }
    }
  }
};

TEST_F(WsSessionTest, ResubscribeSendsUnsubscribeThenSubscribeInTurnWithAppPings) {
  BybitServer bybit;
  TestServer server(io_, [&](tcp::socket s, int n) { return bybit.serve(std::move(s), n); });
  auto o = bybit_options(server);
  o.idle_timeout = 200ms;  // app pings every 100 ms of silence, beside the resubscribes
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.subscribed.size() == 1 && bybit.pings >= 1; }));
  for (int i = 0; i < 3; ++i) session.resubscribe({"orderbook.50.BTCUSDT"});
  // The requests go out one control interval apart: wait for the last ack too.
  ASSERT_TRUE(run_until([&] { return bybit.received.size() == 7 && bybit.pings >= 3 && handler_.frames.size() >= 6; }));
  ASSERT_EQ(bybit.received.size(), 7u);
  EXPECT_EQ(bybit.received[0],
            R"({"req_id":"1","op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT"]})");
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(bybit.received[1 + 2 * i],
              fmt::format(R"({{"req_id":"{}","op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}})", 2 + 2 * i));
    EXPECT_EQ(bybit.received[2 + 2 * i],
              fmt::format(R"({{"req_id":"{}","op":"subscribe","args":["orderbook.50.BTCUSDT"]}})", 3 + 2 * i));
  }
  // The pongs were the session's; the resubscribe acks came after the subscription, so they reach the handler.
  for (const auto& f : handler_.frames) EXPECT_EQ(f.text.find("pong"), std::string::npos) << f.text;
  EXPECT_EQ(handler_.frames.size(), 6u);
  EXPECT_TRUE(handler_.disconnects.empty());
  finish(session);
}

TEST_F(WsSessionTest, AResubscribePastTheHourlyRequestLimitRollsTheConnectionOverInstead) {
  BybitServer bybit;
  TestServer server(io_, [&](tcp::socket s, int n) { return bybit.serve(std::move(s), n); });
  auto o = bybit_options(server);
  o.control_ops_per_hour = 3;  // the subscribe, then one unsubscribe + subscribe pair
  o.rollover_overlap_timeout = 20ms;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.subscribed.size() == 1; }));
  session.resubscribe({"orderbook.50.BTCUSDT"});
  ASSERT_TRUE(run_until([&] { return bybit.received.size() == 3; }));
  session.resubscribe({"publicTrade.BTCUSDT"});  // 5 requests in the hour: over the limit
  ASSERT_TRUE(run_until([&] { return handler_.subscribed.size() == 2 && handler_.events.size() >= 2; }));
  ASSERT_GE(handler_.events.size(), 2u);
  EXPECT_EQ(handler_.events[0],
            "started 1->2 (3 subscribe and unsubscribe requests in the last hour on connection 1, the venue's limit 3: "
            "a new connection resubscribes every stream)");
  EXPECT_TRUE(handler_.events[1].starts_with("finished 1->2")) << handler_.events[1];
  // The refused pair was never sent; the new connection subscribed everything.
  ASSERT_EQ(bybit.received.size(), 4u);
  EXPECT_NE(bybit.received[2].find(R"("op":"subscribe")"), std::string::npos);
  EXPECT_EQ(bybit.received[3],
            R"({"req_id":"4","op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT"]})");
  EXPECT_TRUE(handler_.disconnects.empty()) << "a rollover is not a disconnect";
  finish(session);
}

std::vector<std::string> streams(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(fmt::format("sym{}usdt@trade", i));
  return out;
}

TEST_F(WsSessionTest, SubscribesInChunksAndResubscribesExactlyAfterAReconnect) {
  SubscribeServer subs;
  TestServer server(io_, [&](tcp::socket s, int n) { return subs.serve(std::move(s), n); });
  auto o = options(server);
  o.subscribe = streams(450);
  o.streams_per_message = 200;
  o.control_interval = 1ms;
  WsSession session(io_, o, handler_);
  bool restarted = false;
  handler_.hook = [&] {
    if (handler_.subscribed.size() == 1 && !restarted) {
      restarted = true;
      session.restart("test");
    }
  };
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.subscribed.size() == 2; }));
  ASSERT_EQ(subs.received.size(), 2u);
  for (int n : {1, 2}) {
    const auto& messages = subs.received[n];
    ASSERT_EQ(messages.size(), 3u) << "connection " << n;
    EXPECT_EQ(messages[0].size(), 200u);
    EXPECT_EQ(messages[1].size(), 200u);
    EXPECT_EQ(messages[2].size(), 50u);
    std::vector<std::string> all;
    for (const auto& m : messages) all.insert(all.end(), m.begin(), m.end());
    EXPECT_EQ(all, o.subscribe) << "connection " << n;
  }
  EXPECT_EQ(handler_.subscribed, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(handler_.disconnects.at(0), "restart: test");
  // The replies were consumed by the session; the data frames reached us.
  EXPECT_EQ(session.stats().control_replies, 6u);
  for (const auto& f : handler_.frames) EXPECT_EQ(f.text.find("result"), std::string::npos) << f.text;
  finish(session);
}

// A venue's per-IP limit on control messages (Coinbase: 8 a second) is one
// limiter shared by its sessions: while its (test) clock stands still no
// session sends past it, however often they retry; once the window moves on
// the held request goes out and both sessions end subscribed.
TEST_F(WsSessionTest, TheSharedControlLimiterHoldsEverySessionsRequestsToItsLimit) {
  SubscribeServer subs;
  TestServer server(io_, [&](tcp::socket s, int n) { return subs.serve(std::move(s), n); });
  auto clock_now = SlidingWindowLimiter::Clock::time_point(1h);
  const auto limiter =
      std::make_shared<SlidingWindowLimiter>("test control messages", 3, 50ms, [&] { return clock_now; });
  auto o = options(server);
  o.subscribe = streams(2);
  o.streams_per_message = 1;  // two SUBSCRIBE messages a session, four in all
  o.control_interval = 1ms;
  o.control_limiter = limiter;
  Recorder second_handler;
  WsSession first(io_, o, handler_);
  WsSession second(io_, o, second_handler);
  first.start();
  second.start();
  const auto sent = [&] {
    std::size_t n = 0;
    for (const auto& [connection, messages] : subs.received) n += messages.size();
    return n;
  };
  const auto throttled = [&] { return first.stats().controls_throttled + second.stats().controls_throttled; };
  // Three go out; the fourth is refused again at every retry (each 50 ms).
  ASSERT_TRUE(run_until([&] {
    return sent() == 3 && throttled() >= 3 && handler_.subscribed.size() + second_handler.subscribed.size() == 1;
  }));
  EXPECT_EQ(sent(), 3u);
  EXPECT_EQ(limiter->used(), 3u);
  EXPECT_EQ(handler_.subscribed.size() + second_handler.subscribed.size(), 1u);
  clock_now += 50ms;  // the window moves past the three
  ASSERT_TRUE(run_until([&] { return handler_.subscribed.size() == 1 && second_handler.subscribed.size() == 1; }));
  EXPECT_EQ(sent(), 4u);
  EXPECT_EQ(subs.received.size(), 2u);
  for (const auto& [connection, messages] : subs.received) EXPECT_EQ(messages.size(), 2u) << connection;
  first.stop();
  finish(second);
}

TEST_F(WsSessionTest, ARejectedSubscribeDropsTheConnectionNamingTheReply) {
  SubscribeServer subs;
  subs.reply = [](int, std::uint64_t id) {
    return fmt::format(R"({{"error":{{"code":2,"msg":"Invalid request"}},"id":{}}})", id);
  };
  TestServer server(io_, [&](tcp::socket s, int n) { return subs.serve(std::move(s), n); });
  auto o = options(server);
  o.subscribe = streams(2);
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.disconnects.empty(); }));
  EXPECT_EQ(handler_.disconnects[0].rfind("SUBSCRIBE id 1 rejected: {\"error\"", 0), 0u) << handler_.disconnects[0];
  EXPECT_TRUE(handler_.subscribed.empty());
  finish(session);
}

// KrakenServer: the Kraken v2 control dialect: records the req_id of every
// subscribe per connection in arrival order and answers each in order, with
// an ack or, when `refuse` says so, the bare {"error":"Exceeded msg rate"}
// (which names no request). `hold` keeps a request's answer back until the
// next request has arrived (both are then in flight); app pings get pongs.
struct KrakenServer {
  static constexpr std::string_view kRateError = R"({"error":"Exceeded msg rate"})";
  std::map<int, std::vector<std::uint64_t>> received;  // connection -> req_ids
  std::function<bool(int connection, std::uint64_t id, std::string_view symbol, int seen)> refuse =
      [](int, std::uint64_t, std::string_view, int) { return false; };
  std::function<bool(int connection, std::uint64_t id)> hold = [](int, std::uint64_t) { return false; };

  asio::awaitable<void> serve(tcp::socket s, int n) {
    auto ws = co_await accept_ws(std::move(s));
    if (!ws) co_return;
    simdjson::dom::parser parser;
    std::vector<std::string> held;
    for (;;) {
      auto text = co_await read_text(*ws);
      if (text.empty()) co_return;
      auto doc = parser.parse(text);
      const std::string method(std::string_view(doc["method"].get_string()));
      if (method == "ping") {
        if (!co_await send(*ws, R"({"method":"pong","time_in":"t","time_out":"t"})")) co_return;
        continue;
      }
      const auto id = std::uint64_t(doc["req_id"].get_uint64());
      const std::string symbol(std::string_view(doc["params"]["symbol"].at(0).get_string()));
      auto& ids = received[n];
      const int seen = static_cast<int>(std::count(ids.begin(), ids.end(), id));
      ids.push_back(id);
      std::string answer = refuse(n, id, symbol, seen)
                               ? std::string(kRateError)
                               : fmt::format(R"({{"method":"subscribe","result":{{"channel":"trade","symbol":"{}"}},)"
                                             R"("success":true,"req_id":{}}})",
                                             symbol, id);
      held.push_back(std::move(answer));
      if (hold(n, id) && seen == 0) continue;
      for (auto& a : held) {
        if (!co_await send(*ws, std::move(a))) co_return;
      }
      held.clear();
    }
  }
};

std::vector<std::string> kraken_trades(std::initializer_list<std::string_view> pairs) {
  std::vector<std::string> out;
  for (auto pair : pairs) out.push_back(find_venue("kraken")->stream_name(pair, "trade"));
  return out;
}

TEST_F(WsSessionTest, ARateLimitedSubscribeIsSentAgainOnTheSameConnectionWithWiderSpacing) {
  KrakenServer kraken;
  // Request 1 is answered only once request 2 is in flight too: the bare
  // refusal names neither, and in reply order it is the oldest's. Request 3
  // is refused the first time as well.
  kraken.hold = [](int, std::uint64_t id) { return id == 1; };
  kraken.refuse = [](int, std::uint64_t id, std::string_view, int seen) { return (id == 1 || id == 3) && seen == 0; };
  TestServer server(io_, [&](tcp::socket s, int n) { return kraken.serve(std::move(s), n); });
  auto o = options(server, "/ws", "kraken");
  o.subscribe = kraken_trades({"A/USD", "B/USD", "C/USD"});
  o.streams_per_message = 1;
  o.control_interval = 1ms;
  o.control_interval_max = 64ms;
  o.control_relax_after = 1h;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.subscribed.size() == 1; }));
  EXPECT_EQ(handler_.connects, 1) << "the connection stays";
  EXPECT_TRUE(handler_.disconnects.empty()) << handler_.disconnects.front();
  const auto& ids = kraken.received[1];
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(std::vector<std::uint64_t>(ids.begin(), ids.begin() + 2), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1u), 2) << "the oldest request in flight is sent again";
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2u), 1) << "the acknowledged one is not";
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 3u), 2);
  // The spacing doubled per refusal, and every refusal reached the handler (which journals it).
  ASSERT_EQ(handler_.rate_limits.size(), 2u);
  EXPECT_EQ(handler_.rate_limits[0].first, 2ms);
  EXPECT_EQ(handler_.rate_limits[0].second,
            R"(SUBSCRIBE id 1 refused for the message rate ({"error":"Exceeded msg rate"}): control messages now 2 ms )"
            "apart, sending it again (refusal 1 of at most 3)");
  EXPECT_EQ(handler_.rate_limits[1].first, 4ms);
  EXPECT_EQ(session.control_interval(), 4ms);
  std::size_t refusals_seen = 0;
  for (const auto& f : handler_.frames) refusals_seen += f.text == KrakenServer::kRateError;
  EXPECT_EQ(refusals_seen, 2u);
  EXPECT_EQ(session.stats().rate_limited, 2u);
  EXPECT_EQ(session.stats().resent, 2u);
  finish(session);
}

TEST_F(WsSessionTest, ARequestRefusedForTheRateTooOftenClosesTheConnectionAndTheReconnectBacksOff) {
  KrakenServer kraken;
  kraken.refuse = [](int connection, std::uint64_t, std::string_view symbol, int) {
    return connection == 1 && symbol == "BAD/USD";
  };
  TestServer server(io_, [&](tcp::socket s, int n) { return kraken.serve(std::move(s), n); });
  auto o = options(server, "/ws", "kraken");
  o.subscribe = kraken_trades({"A/USD", "BAD/USD"});
  o.streams_per_message = 1;
  o.control_interval = 1ms;
  o.control_interval_max = 64ms;
  o.control_relax_after = 1h;
  o.rate_limit_retries = 2;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.subscribed.size() == 1; }));
  ASSERT_EQ(handler_.disconnects.size(), 1u);
  EXPECT_EQ(handler_.disconnects[0],
            R"(SUBSCRIBE id 2 refused 3 times for the message rate ({"error":"Exceeded msg rate"}), control )"
            "messages 8 ms apart: giving up on the connection");
  EXPECT_EQ(kraken.received[1], (std::vector<std::uint64_t>{1, 2, 2, 2})) << "sent again twice, then given up";
  EXPECT_EQ(handler_.rate_limits.size(), 2u);
  EXPECT_FALSE(handler_.backoffs.empty()) << "the reconnect backs off";
  EXPECT_EQ(handler_.subscribed, (std::vector<std::uint32_t>{2}));
  EXPECT_EQ(kraken.received[2], (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(session.control_interval(), 8ms) << "the widened spacing outlives the connection";
  finish(session);
}

TEST_F(WsSessionTest, TheWidenedControlIntervalHalvesBackToTheBaseAfterQuietPeriods) {
  KrakenServer kraken;
  kraken.refuse = [](int, std::uint64_t, std::string_view, int seen) { return seen < 2; };
  TestServer server(io_, [&](tcp::socket s, int n) { return kraken.serve(std::move(s), n); });
  auto o = options(server, "/ws", "kraken");
  o.subscribe = kraken_trades({"A/USD"});
  o.control_interval = 2ms;
  o.control_interval_max = 64ms;
  o.control_relax_after = 1ms;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.subscribed.size() == 1; }));
  ASSERT_EQ(handler_.rate_limits.size(), 2u);
  for (const auto& [interval, reason] : handler_.rate_limits) EXPECT_GT(interval, 2ms) << reason;
  EXPECT_TRUE(run_until([&] { return session.control_interval() == 2ms; }));
  EXPECT_EQ(session.control_interval(), 2ms) << "never under the venue's interval";
  finish(session);
}

TEST_F(WsSessionTest, NoSubscribeReplyWithinTheTimeoutDropsTheConnection) {
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    auto ws = co_await accept_ws(std::move(s));
    while (!(co_await read_text(*ws)).empty()) {}  // reads, never replies
  });
  auto o = options(server);
  o.subscribe = streams(1);
  o.subscribe_timeout = 50ms;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.disconnects.empty(); }));
  EXPECT_EQ(handler_.disconnects[0], "no reply to SUBSCRIBE (0 of 1 acknowledged) within 50 ms");
  finish(session);
}

TEST_F(WsSessionTest, MoreStreamsThanAConnectionAllowsFailEveryAttemptWithAReason) {
  SubscribeServer subs;
  TestServer server(io_, [&](tcp::socket s, int n) { return subs.serve(std::move(s), n); });
  auto o = options(server);
  o.subscribe = streams(1025);
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.disconnects.empty(); }));
  EXPECT_EQ(handler_.disconnects[0], "1025 streams to subscribe exceed max_streams 1024 per connection");
  EXPECT_TRUE(subs.received.empty());
  finish(session);
}

// MarketServer: sends {"conn":n,"i":0} on each new connection n and
// {"conn":n,"i":1} on every open one at each tick(); records which
// connections are open and which the client closed.
struct MarketServer {
  std::map<int, std::shared_ptr<Ws>> open;
  std::set<int> closed;
  std::set<int> refused;  // connection numbers answered with HTTP 503

  asio::awaitable<void> serve(tcp::socket s, int n) {
    if (refused.count(n)) {
      co_await refuse(std::move(s), http::status::service_unavailable, "");
      co_return;
    }
    auto ws = co_await accept_ws(std::move(s));
    if (!ws) co_return;
    open[n] = ws;
    co_await send(*ws, fmt::format(R"({{"conn":{},"i":0}})", n));
    co_await read_text(*ws);  // until the client closes
    open.erase(n);
    closed.insert(n);
  }
  // tick: one frame on every open connection.
  void tick(asio::io_context& io) {
    for (auto& [n, ws] : open) {
      asio::co_spawn(io, send(*ws, fmt::format(R"({{"conn":{},"i":1}})", n)), asio::detached);
    }
  }
};

TEST_F(WsSessionTest, RolloverOverlapsBothConnectionsAndClosesTheOldOneWhenConfirmed) {
  MarketServer market;
  TestServer server(io_, [&](tcp::socket s, int n) { return market.serve(std::move(s), n); });
  auto o = options(server);
  o.rollover_overlap_timeout = 10min;  // only finish_rollover() ends this overlap
  WsSession session(io_, o, handler_);
  bool asked = false, confirmed = false;
  handler_.hook = [&] {
    if (!asked && handler_.frames_of(1) == 1) {
      asked = true;
      session.rollover("serverShutdown");
    }
    // The overlap is proven once both generations delivered after the start.
    if (!confirmed && handler_.frames_of(1) >= 2 && handler_.frames_of(2) >= 2) {
      confirmed = true;
      session.finish_rollover();
    }
  };
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.events.size() == 1; }));
  EXPECT_EQ(handler_.events[0], "started 1->2 (serverShutdown)");
  // The handler heard of the new connection before any frame of it.
  ASSERT_EQ(handler_.candidates.size(), 1u);
  EXPECT_EQ(handler_.candidates[0], (std::pair<std::uint32_t, std::size_t>{2, 0}));
  EXPECT_EQ(market.open.size(), 2u) << "make before break: both connections open";
  market.tick(io_);
  ASSERT_TRUE(run_until([&] { return market.closed.count(1) == 1; }));
  EXPECT_EQ(handler_.events.at(1), "finished 1->2 overlapped=true");
  EXPECT_EQ(session.generation(), 2u);
  EXPECT_EQ(session.stats().rollovers, 1u);
  EXPECT_TRUE(handler_.disconnects.empty()) << "a rollover is not a disconnect";
  EXPECT_EQ(handler_.connects, 1);
  // Frames are tagged with the generation of the connection that carried them.
  for (const auto& f : handler_.frames) {
    EXPECT_NE(f.text.find(fmt::format(R"("conn":{})", f.generation)), std::string::npos) << f.text;
  }
  market.tick(io_);
  ASSERT_TRUE(run_until([&] { return handler_.frames_of(2) == 3; }));
  EXPECT_EQ(market.open.size(), 1u);
  finish(session);
}

TEST_F(WsSessionTest, RolloverFinishesAfterTheOverlapTimeoutWithoutConfirmation) {
  MarketServer market;
  TestServer server(io_, [&](tcp::socket s, int n) { return market.serve(std::move(s), n); });
  auto o = options(server);
  o.max_lifetime = 50ms;  // the lifetime starts the rollover
  o.rollover_overlap_timeout = 20ms;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return market.closed.count(1) == 1; }));
  ASSERT_GE(handler_.events.size(), 2u);
  EXPECT_EQ(handler_.events[0], "started 1->2 (connection lifetime 50 ms reached)");
  EXPECT_EQ(handler_.events[1], "finished 1->2 overlapped=false");
  EXPECT_TRUE(handler_.disconnects.empty());
  finish(session);
}

TEST_F(WsSessionTest, AFailedRolloverKeepsTheOldConnectionAndRetries) {
  MarketServer market;
  market.refused = {2};
  TestServer server(io_, [&](tcp::socket s, int n) { return market.serve(std::move(s), n); });
  auto o = options(server);
  o.rollover_overlap_timeout = 10min;
  WsSession session(io_, o, handler_);
  handler_.hook = [&] {
    if (handler_.frames_of(1) == 1 && handler_.events.empty()) session.rollover("serverShutdown");
    if (handler_.frames_of(3) == 1 && handler_.events.size() == 2) session.finish_rollover();
  };
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.events.size() == 1; }));
  EXPECT_EQ(handler_.events[0], "failed 2: HTTP 503 on websocket upgrade of 127.0.0.1/ws");
  EXPECT_EQ(market.open.count(1), 1u) << "the old connection stays";
  market.tick(io_);
  ASSERT_TRUE(run_until([&] { return handler_.frames_of(1) == 2; }));
  ASSERT_TRUE(run_until([&] { return market.closed.count(1) == 1; }));
  EXPECT_EQ(handler_.events.at(1), "started 1->3 (serverShutdown)");
  EXPECT_EQ(handler_.events.at(2), "finished 1->3 overlapped=true");
  EXPECT_TRUE(handler_.disconnects.empty());
  finish(session);
}

TEST_F(WsSessionTest, TheOldConnectionsEndDuringTheOverlapSwitchesAtOnce) {
  MarketServer market;
  TestServer server(io_, [&](tcp::socket s, int n) { return market.serve(std::move(s), n); });
  auto o = options(server);
  o.rollover_overlap_timeout = 10min;
  WsSession session(io_, o, handler_);
  handler_.hook = [&] {
    if (handler_.frames_of(1) == 1 && handler_.events.empty()) session.rollover("serverShutdown");
  };
  session.start();
  ASSERT_TRUE(run_until([&] { return handler_.events.size() == 1; }));
  // The server closes the old connection (as after serverShutdown).
  asio::co_spawn(io_, market.open.at(1)->async_close(websocket::close_code::going_away, kAwait), asio::detached);
  ASSERT_TRUE(run_until([&] { return handler_.events.size() == 2; }));
  EXPECT_EQ(handler_.events[1], "finished 1->2 overlapped=false");
  EXPECT_TRUE(handler_.disconnects.empty());
  EXPECT_EQ(session.generation(), 2u);
  finish(session);
}

TEST_F(WsSessionTest, WssVerifiesTheServerCertificateAgainstTheCaFile) {
  testing::TempDir dir("tickwire-wss");
  const auto cert = (dir / "cert.pem").string();
  const auto key = (dir / "key.pem").string();
  auto made = testing::run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
                                    "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-batch"});
  ASSERT_EQ(made.exit_code, 0) << made.out;
  ssl::context server_tls(ssl::context::tls_server);
  server_tls.use_certificate_chain_file(cert);
  server_tls.use_private_key_file(key, ssl::context::pem);
  using Wss = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
  TestServer server(io_, [&](tcp::socket s, int) -> asio::awaitable<void> {
    auto ws = std::make_shared<Wss>(std::move(s), server_tls);
    beast::error_code ec;
    co_await ws->next_layer().async_handshake(ssl::stream_base::server, asio::redirect_error(kAwait, ec));
    if (ec) co_return;
    co_await ws->async_accept(asio::redirect_error(kAwait, ec));
    if (ec) co_return;
    ws->text(true);
    co_await ws->async_write(asio::buffer(std::string_view(R"({"e":"trade"})")), asio::redirect_error(kAwait, ec));
    beast::flat_buffer buffer;
    co_await ws->async_read(buffer, asio::redirect_error(kAwait, ec));  // until the client goes
  });
  auto o = options(server);
  o.url.tls = true;
  o.ca_file = cert;
  WsSession session(io_, o, handler_);
  session.start();
  ASSERT_TRUE(run_until([&] { return !handler_.frames.empty() || !handler_.disconnects.empty(); }));
  ASSERT_EQ(handler_.frames.size(), 1u) << handler_.disconnects.at(0);
  EXPECT_EQ(handler_.frames[0].text, R"({"e":"trade"})");
  finish(session);

  // Without the CA file the self-signed certificate is refused.
  Recorder refused;
  o.ca_file.clear();
  WsSession untrusting(io_, o, refused);
  untrusting.start();
  ASSERT_TRUE(run_until([&] { return !refused.disconnects.empty(); }));
  EXPECT_EQ(refused.disconnects[0].rfind("tls handshake 127.0.0.1: certificate verify failed", 0), 0u)
      << refused.disconnects[0];
  EXPECT_TRUE(refused.frames.empty());
  finish(untrusting);
}

}  // namespace
}  // namespace tickwire::connector
