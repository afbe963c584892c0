// HttpServer against real sockets: answers, and every kind of bad client the
// endpoint must survive (unknown path, huge header, other methods, a body,
// idle and slow clients, more connections than allowed).
#include "tickwire/connector/metrics/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "metrics_http.hpp"

namespace tickwire::connector::metrics {
namespace {

using testing::http_get;
using testing::parse_response;
using testing::RawClient;

std::unique_ptr<HttpServer> start_server(HttpServerOptions options = {}) {
  auto server = HttpServer::start(std::move(options), [](std::string_view target) {
    if (target == "/hello") return HttpResponse{200, "text/plain", "hello\n"};
    return HttpResponse{404, "text/plain", "no\n"};
  });
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(HttpServer, AnswersAGetWithTheHandlersResponseAndClosesTheConnection) {
  auto server = start_server();
  ASSERT_NE(server, nullptr);
  const auto r = http_get(server->port(), "/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello\n");
  EXPECT_EQ(http_get(server->port(), "/nothing").status, 404);
  const HttpFigures f = server->figures();
  EXPECT_EQ(f.requests_ok, 1u);
  EXPECT_EQ(f.requests_not_found, 1u);
}

TEST(HttpServer, AHeaderOverTheLimitGets431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  auto server = start_server(options);
  ASSERT_NE(server, nullptr);
  const auto r = http_get(server->port(), "/hello", "X-Big: " + std::string(64 * 1024, 'a') + "\r\n");
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(http_get(server->port(), "/hello").status, 200);
}

TEST(HttpServer, OtherMethodsAndRequestBodiesAreRefused) {
  auto server = start_server();
  ASSERT_NE(server, nullptr);
  RawClient post(server->port());
  ASSERT_TRUE(post.send("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  EXPECT_EQ(parse_response(post.read_all()).status, 400);  // body_limit 0: the body is refused while reading
  RawClient del(server->port());
  ASSERT_TRUE(del.send("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(parse_response(del.read_all()).status, 405);
  RawClient garbage(server->port());
  ASSERT_TRUE(garbage.send("\x01\x02 not http\r\n\r\n"));
  EXPECT_EQ(parse_response(garbage.read_all()).status, 400);
}

TEST(HttpServer, AClientThatSendsHalfARequestIsClosedAtTheTimeout) {
  HttpServerOptions options;
  options.timeout = std::chrono::milliseconds(200);
  auto server = start_server(options);
  ASSERT_NE(server, nullptr);
  RawClient slow(server->port());
  ASSERT_TRUE(slow.send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finished
  EXPECT_EQ(slow.read_all(), "");                                 // returns when the server closes
  // Beast's timer closes the socket before the read's handler counts the
  // timeout on the server's thread: wait for the count (bounded deadline).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server->figures().timeouts == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(server->figures().timeouts, 1u);
  EXPECT_EQ(http_get(server->port(), "/hello").status, 200);
}

TEST(HttpServer, ConnectionsOverTheLimitAreClosedUnansweredAndCounted) {
  HttpServerOptions options;
  options.max_connections = 2;
  auto server = start_server(options);
  ASSERT_NE(server, nullptr);
  RawClient idle1(server->port());
  RawClient idle2(server->port());
  RawClient third(server->port());  // accepted after the two (the listen queue is FIFO)
  ASSERT_TRUE(idle1.connected() && idle2.connected() && third.connected());
  EXPECT_EQ(third.read_all(), "");
  EXPECT_EQ(server->figures().connections_rejected, 1u);
}

TEST(HttpServer, AnAddressThatCannotBeBoundIsAnErrorNamingIt) {
  auto first = start_server();
  ASSERT_NE(first, nullptr);
  HttpServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(first->port());
  auto second = HttpServer::start(options, [](std::string_view) { return HttpResponse{}; });
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(options.listen), std::string_view::npos) << second.status();
}

}  // namespace
}  // namespace tickwire::connector::metrics
