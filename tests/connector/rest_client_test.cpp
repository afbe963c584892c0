// RestClient against small real HTTP(S) servers written here with Beast on
// 127.0.0.1:0, on the test's own io_context. The TLS test makes a self-signed
// certificate with the openssl CLI at test time.
#include "tickwire/connector/rest_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

#include <functional>
#include <optional>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace tickwire::connector {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Response = http::response<http::string_body>;
constexpr auto kAwait = asio::use_awaitable;

// HttpServer: answers every request with `respond(target)`, keeping the
// connection alive while the response allows it; counts connections and
// requests. With `tls` set, it speaks HTTPS.
class HttpServer {
 public:
  std::function<Response(const std::string& target)> respond;
  int connections = 0;
  int requests = 0;

  HttpServer(asio::io_context& io, ssl::context* tls = nullptr)
      : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), tls_(tls) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  std::string url(const std::string& target) const {
    return fmt::format("{}://127.0.0.1:{}{}", tls_ ? "https" : "http", acceptor_.local_endpoint().port(), target);
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      auto socket = co_await acceptor_.async_accept(asio::redirect_error(kAwait, ec));
      if (ec) co_return;
      ++connections;
      if (tls_) {
        asio::co_spawn(acceptor_.get_executor(), serve_tls(std::move(socket)), asio::detached);
      } else {
        asio::co_spawn(acceptor_.get_executor(), serve(beast::tcp_stream(std::move(socket))), asio::detached);
      }
    }
  }
  asio::awaitable<void> serve_tls(tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_);
    beast::error_code ec;
    co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(kAwait, ec));
    if (!ec) co_await serve(std::move(stream));
  }
  template <typename Stream>
  asio::awaitable<void> serve(Stream stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      beast::error_code ec;
      co_await http::async_read(stream, buffer, req, asio::redirect_error(kAwait, ec));
      if (ec) co_return;
      ++requests;
      Response res = respond(std::string(req.target()));
      res.version(11);
      if (res.keep_alive()) res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::redirect_error(kAwait, ec));
      if (ec || !res.keep_alive()) co_return;
    }
  }
  tcp::acceptor acceptor_;
  ssl::context* tls_;
};

Response reply(http::status status, std::string body, std::string retry_after = {}) {
  Response res{status, 11};
  res.body() = std::move(body);
  if (!retry_after.empty()) res.set(http::field::retry_after, retry_after);
  return res;
}

class RestClientTest : public ::testing::Test {
 protected:
  // get: one request, run to completion on the test's io_context.
  RestResponse get(RestClient& client, const std::string& url, std::uint64_t weight = 1) {
    std::optional<RestResponse> out;
    client.get(url, weight, [&](RestResponse r) { out = std::move(r); });
    const auto limit = std::chrono::steady_clock::now() + 30s;  // hang guard only
    while (!out && std::chrono::steady_clock::now() < limit) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(100ms);
    }
    EXPECT_TRUE(out.has_value()) << "no callback for " << url;
    return out.value_or(RestResponse{});
  }
  asio::io_context io_;
};

TEST_F(RestClientTest, Returns200BodiesOverOneKeptAliveConnection) {
  HttpServer server(io_);
  server.respond = [](const std::string& target) { return reply(http::status::ok, "body of " + target); };
  RestClient client(io_, {});
  auto a = get(client, server.url("/api/v3/depth?symbol=BTCUSDT&limit=1000"));
  ASSERT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.http_status, 200u);
  EXPECT_EQ(a.body, "body of /api/v3/depth?symbol=BTCUSDT&limit=1000");
  EXPECT_FALSE(a.reused_connection);
  auto b = get(client, server.url("/second"));
  ASSERT_TRUE(b.status.ok()) << b.status;
  EXPECT_EQ(b.body, "body of /second");
  EXPECT_TRUE(b.reused_connection);
  EXPECT_EQ(server.connections, 1);
  EXPECT_EQ(server.requests, 2);
}

TEST_F(RestClientTest, ReconnectsWhenTheServerDoesNotKeepTheConnection) {
  HttpServer server(io_);
  server.respond = [](const std::string&) {
    auto res = reply(http::status::ok, "x");
    res.keep_alive(false);
    return res;
  };
  RestClient client(io_, {});
  EXPECT_TRUE(get(client, server.url("/a")).status.ok());
  auto b = get(client, server.url("/b"));
  EXPECT_TRUE(b.status.ok()) << b.status;
  EXPECT_FALSE(b.reused_connection);
  EXPECT_EQ(server.connections, 2);
}

TEST_F(RestClientTest, Http429RetryAfterIsReportedAndHonoured) {
  HttpServer server(io_);
  server.respond = [](const std::string&) { return reply(http::status::too_many_requests, "slow down", "7"); };
  RestClient client(io_, {});
  auto a = get(client, server.url("/api/v3/depth"));
  EXPECT_EQ(a.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(a.http_status, 429u);
  EXPECT_EQ(a.retry_after, 7s);
  EXPECT_NE(a.status.message().find("HTTP 429, Retry-After 7 s"), std::string_view::npos) << a.status;
  // The next request within the wait is not sent at all.
  auto b = get(client, server.url("/api/v3/depth"));
  EXPECT_EQ(b.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_GT(b.retry_after, 0ms);
  EXPECT_LE(b.retry_after, 7s);
  EXPECT_NE(b.status.message().find("the server asked to wait (HTTP 429, Retry-After 7 s)"), std::string_view::npos)
      << b.status;
  EXPECT_EQ(server.requests, 1);
}

TEST_F(RestClientTest, Http418WithoutRetryAfterWaitsTheBanTime) {
  HttpServer server(io_);
  server.respond = [](const std::string&) { return reply(http::status{418}, "banned"); };
  RestOptions options;
  options.ban_wait = 2min;
  RestClient client(io_, options);
  auto a = get(client, server.url("/x"));
  EXPECT_EQ(a.http_status, 418u);
  EXPECT_EQ(a.retry_after, 2min);
  EXPECT_NE(a.status.message().find("HTTP 418 without Retry-After"), std::string_view::npos) << a.status;
}

TEST_F(RestClientTest, Http503IsRetryableWithItsRetryAfterAndBlocksNothingElse) {
  HttpServer server(io_);
  server.respond = [](const std::string& target) {
    if (target == "/ok") return reply(http::status::ok, "book");
    return reply(http::status::service_unavailable, R"({"code":-1001,"msg":"not yet"})", "3");
  };
  RestClient client(io_, {});
  auto a = get(client, server.url("/api/v3/depth"));
  EXPECT_EQ(a.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(a.http_status, 503u);
  EXPECT_EQ(a.retry_after, 3s);
  EXPECT_NE(a.status.message().find(R"(HTTP 503, Retry-After 3 s: {"code":-1001,"msg":"not yet"})"),
            std::string_view::npos)
      << a.status;
  // Unlike 429/418 the client is not blocked: the next request is sent.
  auto b = get(client, server.url("/ok"));
  EXPECT_TRUE(b.status.ok()) << b.status;
  EXPECT_EQ(server.requests, 2);
}

TEST_F(RestClientTest, ABodyOverTheLimitIsAnErrorNamingTheLimit) {
  HttpServer server(io_);
  server.respond = [](const std::string&) { return reply(http::status::ok, std::string(5000, 'x')); };
  RestOptions options;
  options.max_body_bytes = 1000;
  RestClient client(io_, options);
  auto a = get(client, server.url("/big"));
  EXPECT_EQ(a.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(a.status.message().find("body larger than max_body_bytes (1000)"), std::string_view::npos) << a.status;
  EXPECT_TRUE(a.body.empty());
}

TEST_F(RestClientTest, TheWeightLimiterRefusesBeforeSending) {
  HttpServer server(io_);
  server.respond = [](const std::string&) { return reply(http::status::ok, "{}"); };
  auto now = SlidingWindowLimiter::Clock::time_point(1h);
  RestOptions options;
  options.weight_limiter = SlidingWindowLimiter::binance_rest_weight([&] { return now; });
  RestClient client(io_, options);
  EXPECT_TRUE(get(client, server.url("/api/v3/depth?limit=5000"), binance_depth_weight(5000) * 23).status.ok());
  auto refused = get(client, server.url("/api/v3/depth?limit=1000"), binance_depth_weight(1000) * 20);
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.retry_after, 60s);
  EXPECT_NE(refused.status.message().find("REST request weight limit (6000 per 60 s)"), std::string_view::npos)
      << refused.status;
  EXPECT_EQ(server.requests, 1);
  now += 60s;
  EXPECT_TRUE(get(client, server.url("/api/v3/depth?limit=1000"), binance_depth_weight(1000) * 20).status.ok());
}

TEST(BinanceDepthWeight, FollowsTheDocumentedSteps) {
  EXPECT_EQ(binance_depth_weight(100), 5u);
  EXPECT_EQ(binance_depth_weight(101), 25u);
  EXPECT_EQ(binance_depth_weight(500), 25u);
  EXPECT_EQ(binance_depth_weight(1000), 50u);
  EXPECT_EQ(binance_depth_weight(5000), 250u);
}

TEST_F(RestClientTest, ABadUrlIsAnErrorNamingIt) {
  RestClient client(io_, {});
  auto a = get(client, "ftp://x/y");
  EXPECT_EQ(a.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(a.status.message().find("ftp://x/y"), std::string_view::npos);
}

TEST_F(RestClientTest, HttpsVerifiesTheServerCertificateAgainstTheCaFile) {
  testing::TempDir dir("tickwire-rest-tls");
  const auto cert = (dir / "cert.pem").string();
  const auto key = (dir / "key.pem").string();
  auto made = testing::run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                                    "subjectAltName=IP:127.0.0.1", "-batch"});
  ASSERT_EQ(made.exit_code, 0) << made.out;
  ssl::context server_tls(ssl::context::tls_server);
  server_tls.use_certificate_chain_file(cert);
  server_tls.use_private_key_file(key, ssl::context::pem);
  HttpServer server(io_, &server_tls);
  server.respond = [](const std::string&) { return reply(http::status::ok, R"({"lastUpdateId":1})"); };

  RestOptions trusted;
  trusted.ca_file = cert;
  RestClient client(io_, trusted);
  auto a = get(client, server.url("/api/v3/depth"));
  ASSERT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.body, R"({"lastUpdateId":1})");
  EXPECT_TRUE(get(client, server.url("/again")).reused_connection);

  // Without the CA the self-signed certificate is refused.
  RestClient untrusting(io_, {});
  auto b = get(untrusting, server.url("/api/v3/depth"));
  EXPECT_EQ(b.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(b.status.message().find("tls handshake"), std::string_view::npos) << b.status;
  EXPECT_NE(b.status.message().find("certificate verify failed"), std::string_view::npos) << b.status;
}

}  // namespace
}  // namespace tickwire::connector

namespace tickwire::connector {
namespace {

// A server that accepts and then never answers: the request stays in flight
// for as long as the client's timeout (an hour here) allows.
TEST_F(RestClientTest, ShutdownCancelsTheRequestInFlightAndTheQueuedOnesSoTheLoopEnds) {
  tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  std::optional<tcp::socket> accepted;
  silent.async_accept([&](beast::error_code ec, tcp::socket s) {
    if (!ec) accepted = std::move(s);
  });
  RestOptions options;
  options.timeout = std::chrono::hours(1);
  RestClient client(io_, options);
  const std::string url = fmt::format("http://127.0.0.1:{}/api/v3/depth", silent.local_endpoint().port());
  std::vector<RestResponse> done;
  for (int i = 0; i < 3; ++i) client.get(url, 1, [&](RestResponse r) { done.push_back(std::move(r)); });
  const auto limit = std::chrono::steady_clock::now() + 30s;  // hang guard only
  while (!accepted && std::chrono::steady_clock::now() < limit) io_.run_one_for(100ms);
  ASSERT_TRUE(accepted.has_value()) << "the client never connected";
  EXPECT_TRUE(done.empty());  // the first request is in flight, two are queued

  client.shutdown(20ms);
  io_.run();  // returns only once the client has no work left
  ASSERT_EQ(done.size(), 3u);
  for (const auto& r : done) {
    EXPECT_EQ(r.status.code(), absl::StatusCode::kCancelled) << r.status;
    EXPECT_NE(r.status.message().find("shutting down"), std::string_view::npos) << r.status;
  }
  // A request after shutdown is refused at once.
  io_.restart();
  std::optional<RestResponse> late;
  client.get(url, 1, [&](RestResponse r) { late = std::move(r); });
  io_.run();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->status.code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace tickwire::connector
