#include "tickwire/connector/ws_url.hpp"

#include <gtest/gtest.h>

namespace tickwire::connector {
namespace {

TEST(WsUrl, ParsesSchemesHostsPortsAndTargets) {
  auto a = parse_ws_url("wss://stream.binance.com:9443/stream");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "stream.binance.com");
  EXPECT_EQ(a->port, "9443");
  EXPECT_EQ(a->target, "/stream");
  auto b = parse_ws_url("ws://127.0.0.1");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->port, "80");
  EXPECT_EQ(b->target, "/");
  EXPECT_EQ(parse_ws_url("wss://h/ws/btcusdt@trade")->port, "443");
}

TEST(WsUrl, RejectsBadUrlsNamingTheProblem) {
  EXPECT_NE(std::string(parse_ws_url("http://x").status().message()).find("scheme"), std::string::npos);
  EXPECT_NE(std::string(parse_ws_url("ws://:80/").status().message()).find("missing host"), std::string::npos);
  EXPECT_NE(std::string(parse_ws_url("ws://h:99999/").status().message()).find("bad port"), std::string::npos);
  EXPECT_NE(std::string(parse_ws_url("ws://h:x/").status().message()).find("bad port"), std::string::npos);
}

TEST(WsUrl, ParsesHttpUrlsForTheRestClient) {
  auto a = parse_http_url("https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "api.binance.com");
  EXPECT_EQ(a->port, "443");
  EXPECT_EQ(a->target, "/api/v3/depth?symbol=BTCUSDT&limit=1000");
  auto b = parse_http_url("http://127.0.0.1:8080");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->port, "8080");
  EXPECT_EQ(b->target, "/");
  EXPECT_NE(std::string(parse_http_url("wss://x").status().message()).find("scheme must be http://"),
            std::string::npos);
}

TEST(WsUrl, BuildsCombinedStreamTargets) {
  EXPECT_EQ(with_streams("/stream", {"BTCUSDT", "ETHUSDT"}, {"trade"}), "/stream?streams=btcusdt@trade/ethusdt@trade");
  EXPECT_EQ(with_streams("/stream?streams=x@trade", {"BTCUSDT"}, {"trade"}), "/stream?streams=x@trade");
  EXPECT_EQ(with_streams("/ws/btcusdt@trade", {"BTCUSDT"}, {"trade"}), "/ws/btcusdt@trade");
}

TEST(WsUrl, AppendsAQueryParameterToEitherForm) {
  EXPECT_EQ(with_query_param("/ws/btcusdt@trade", "timeUnit=MICROSECOND"), "/ws/btcusdt@trade?timeUnit=MICROSECOND");
  EXPECT_EQ(with_query_param("/stream?streams=btcusdt@trade", "timeUnit=MICROSECOND"),
            "/stream?streams=btcusdt@trade&timeUnit=MICROSECOND");
}

}  // namespace
}  // namespace tickwire::connector
