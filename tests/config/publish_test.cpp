// [publish]: targets, [publish.shm] and [publish.nats], and the errors that
// name file:line, key and what was expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "tickwire/config/config.hpp"

namespace tickwire::config {
namespace {

constexpr std::string_view kFeeds =
    "[[feeds]]\n"                 // 1
    "name = \"binance\"\n"        // 2
    "exchange = \"binance\"\n"    // 3
    "url = \"sim://\"\n"          // 4
    "symbols = [\"BTCUSDT\"]\n";  // 5; [publish] starts at line 6

absl::StatusOr<Config> load(std::string_view publish) {
  return load_string(std::string(kFeeds) + std::string(publish), "p.toml");
}

std::string error_of(std::string_view publish) {
  auto config = load(publish);
  EXPECT_FALSE(config.ok()) << publish;
  return config.ok() ? std::string() : std::string(config.status().message());
}

TEST(PublishConfig, PublishesNowhereWithoutTheSection) {
  auto config = load("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->publish.to.empty());
}

TEST(PublishConfig, ReadsEveryTargetKindAndTheirSettings) {
  auto config = load(
      "[publish]\n"
      "to = [\"inproc\", \"shm:tickwire-dev\", \"nats://127.0.0.1:4222\"]\n"
      "[publish.shm]\n"
      "ring_bytes = \"1MiB\"\n"
      "mode = \"0660\"\n"
      "group = \"market\"\n"
      "[publish.nats]\n"
      "jetstream = true\n"
      "stream = \"MD\"\n"
      "max_age_s = 3600\n"
      "user = \"u\"\n"
      "password = \"p\"\n"
      "tls_ca = \"/etc/ca.pem\"\n"
      "send_asap = true\n");
  ASSERT_TRUE(config.ok()) << config.status();
  const auto& p = config->publish;
  ASSERT_EQ(p.to.size(), 3u);
  EXPECT_EQ(p.to[0].kind, PublishKind::kInProcess);
  EXPECT_EQ(p.to[1].kind, PublishKind::kShm);
  EXPECT_EQ(p.to[1].name, "tickwire-dev");
  EXPECT_EQ(p.to[2].kind, PublishKind::kNats);
  EXPECT_EQ(p.to[2].name, "nats://127.0.0.1:4222");
  EXPECT_EQ(p.shm.ring_bytes, 1u << 20);
  EXPECT_EQ(p.shm.mode, 0660u);
  EXPECT_EQ(p.shm.group, "market");
  EXPECT_TRUE(p.nats.jetstream);
  EXPECT_EQ(p.nats.stream, "MD");
  EXPECT_EQ(p.nats.max_age_s, 3600u);
  EXPECT_EQ(p.nats.user, "u");
  EXPECT_EQ(p.nats.password, "p");
  EXPECT_EQ(p.nats.tls_ca, "/etc/ca.pem");
  EXPECT_TRUE(p.nats.send_asap);
}

TEST(PublishConfig, SendAsapIsOffByDefaultAndMustBeABoolean) {
  auto config = load("[publish.nats]\njetstream = false\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->publish.nats.send_asap);
  EXPECT_THAT(error_of("[publish.nats]\nsend_asap = \"yes\"\n"),
              ::testing::StartsWith("p.toml:7: publish.nats.send_asap: expected a boolean"));
}

TEST(PublishConfig, RejectsAnUnknownTargetNamingItsLineAndIndex) {
  EXPECT_THAT(error_of("[publish]\nto = [\"inproc\", \"kafka://h:1\"]\n"),
              ::testing::StartsWith("p.toml:7: publish.to[1]: expected \"inproc\", \"shm:NAME\" or "
                                    "\"nats://HOST:PORT\", got \"kafka://h:1\""));
}

TEST(PublishConfig, RejectsANatsUrlWithoutAValidPort) {
  EXPECT_THAT(error_of("[publish]\nto = [\"nats://127.0.0.1:99999\"]\n"),
              ::testing::HasSubstr("publish.to[0]: expected nats://HOST:PORT with a port in 1..65535"));
  EXPECT_THAT(error_of("[publish]\nto = [\"nats://host\"]\n"), ::testing::HasSubstr("with a host and a port"));
}

TEST(PublishConfig, RejectsAnEmptyOrBadShmNameAndDuplicates) {
  EXPECT_THAT(error_of("[publish]\nto = [\"shm:\"]\n"), ::testing::HasSubstr("publish.to[0]: expected shm:NAME"));
  EXPECT_THAT(error_of("[publish]\nto = [\"shm:a b\"]\n"), ::testing::HasSubstr("got \"shm:a b\""));
  EXPECT_THAT(error_of("[publish]\nto = [\"inproc\", \"inproc\"]\n"),
              ::testing::HasSubstr("publish.to[1]: \"inproc\" is listed twice"));
}

TEST(PublishConfig, RejectsARingThatIsNotAPowerOfTwoAndABadMode) {
  EXPECT_THAT(error_of("[publish]\n[publish.shm]\nring_bytes = 100000\n"),
              ::testing::StartsWith("p.toml:8: publish.shm.ring_bytes: expected a power of two"));
  EXPECT_THAT(error_of("[publish]\n[publish.shm]\nmode = \"0999\"\n"),
              ::testing::HasSubstr("publish.shm.mode: expected file permissions in octal"));
}

TEST(PublishConfig, RejectsAUserWithoutPasswordAndTokenWithUser) {
  EXPECT_THAT(error_of("[publish.nats]\nuser = \"u\"\n"),
              ::testing::HasSubstr("publish.nats.password: expected a password with publish.nats.user"));
  EXPECT_THAT(error_of("[publish.nats]\nuser = \"u\"\npassword = \"p\"\ntoken = \"t\"\n"),
              ::testing::HasSubstr("publish.nats.token: expected either a token or user/password"));
}

TEST(PublishConfig, RejectsUnknownKeysListingTheKnownOnes) {
  EXPECT_THAT(error_of("[publish.nats]\njetstrem = true\n"), ::testing::HasSubstr("publish.nats.jetstrem"));
}

}  // namespace
}  // namespace tickwire::config
