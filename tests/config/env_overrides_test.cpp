// TICKWIRE_<SECTION>_<KEY> overrides: every value type, precedence over the
// file, errors naming the variable, unknown variables; and the relative
// journal.dir / ca_file resolution that depends on where a value came from.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <string>

#include "support/temp_dir.hpp"
#include "tickwire/config/config.hpp"

namespace tickwire::config {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kFile =
    "env = \"test\"\n"
    "[[feeds]]\n"
    "name = \"binance\"\n"
    "exchange = \"binance\"\n"
    "url = \"sim://\"\n"
    "symbols = [\"BTCUSDT\"]\n"
    "[journal]\n"
    "dir = \"journal\"\n"
    "ring_bytes = \"1MiB\"\n";

class EnvOverrides : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(file_) << kFile; }

  absl::StatusOr<Config> load(std::vector<EnvOverride> overrides) { return load_file(file_, overrides); }
  std::string error(std::vector<EnvOverride> overrides) {
    auto config = load(std::move(overrides));
    EXPECT_FALSE(config.ok());
    if (config.ok()) return {};
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(config.status().message());
  }

  testing::TempDir dir_{"tickwire-env"};
  std::filesystem::path file_ = dir_ / "c.toml";
};

TEST_F(EnvOverrides, EachValueTypeReplacesTheFileValue) {
  auto config = load({{"TICKWIRE_ENV", "prod"},                       // string, bare
                      {"TICKWIRE_SIMULATOR_RATE", "2.5"},             // float
                      {"TICKWIRE_SIMULATOR_SEED", "7"},               // integer
                      {"TICKWIRE_JOURNAL_ROLL_DAILY_UTC", "false"},   // boolean
                      {"TICKWIRE_JOURNAL_RING_BYTES", "64KiB"},       // size as a string
                      {"TICKWIRE_JOURNAL_FSYNC", "batch"},            // choice
                      {"TICKWIRE_THREADS_FEED_CORES", "[0]"},         // list
                      {"TICKWIRE_FEEDS_0_SYMBOLS", "[\"ETHUSDT\", \"SOLUSDT\"]"},
                      {"TICKWIRE_FEEDS_0_MAX_FRAME_BYTES", "4096"},
                      {"TICKWIRE_METRICS_LISTEN", ""},                // empty string
                      {"TICKWIRE_LOG_FORMAT", "json"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->env, "prod");
  EXPECT_EQ(config->simulator.rate, 2.5);
  EXPECT_EQ(config->simulator.seed, 7u);
  EXPECT_FALSE(config->journal.roll_daily_utc);
  EXPECT_EQ(config->journal.ring_bytes, 64u << 10);
  EXPECT_EQ(config->journal.fsync, FsyncPolicy::kBatch);
  EXPECT_EQ(config->threads.feed_cores, std::vector<int>{0});
  EXPECT_THAT(config->feeds[0].symbols, ::testing::ElementsAre("ETHUSDT", "SOLUSDT"));
  EXPECT_EQ(config->feeds[0].max_frame_bytes, 4096u);
  EXPECT_EQ(config->metrics.listen, "");
  EXPECT_EQ(config->log.format, LogFormat::kJson);
}

TEST_F(EnvOverrides, AVariableWinsOverTheFileAndTheLastVariableWinsOverAnEarlierOne) {
  auto config = load({{"TICKWIRE_JOURNAL_RING_BYTES", "2MiB"}, {"TICKWIRE_JOURNAL_RING_BYTES", "4MiB"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->journal.ring_bytes, 4u << 20);
  auto plain = load({});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->journal.ring_bytes, 1u << 20);
}

TEST_F(EnvOverrides, AKeyTheFileHoldsAsAStringStaysAStringWhateverItLooksLike) {
  auto config = load({{"TICKWIRE_FEEDS_0_NAME", "123"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->feeds[0].name, "123");
  auto bracket = load({{"TICKWIRE_JOURNAL_DIR", "[data"}});  // not a TOML array: a string
  ASSERT_TRUE(bracket.ok()) << bracket.status();
  EXPECT_EQ(std::filesystem::path(bracket->journal.dir).filename(), "[data");
}

// A core list is "any" or an array: config/default.toml holds "any", and a
// variable must still pin the thread (the container's way to change a key).
TEST_F(EnvOverrides, AnArrayReplacesAKeyTheFileHoldsAsAString) {
  std::ofstream(file_) << kFile << "[threads]\nfeed_cores = \"any\"\nflusher_cores = [1]\n";
  auto config = load({{"TICKWIRE_THREADS_FEED_CORES", "[0]"}, {"TICKWIRE_THREADS_FLUSHER_CORES", "any"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->threads.feed_cores, std::vector<int>{0});
  EXPECT_TRUE(config->threads.flusher_cores.empty());  // "any"
  auto name = load({{"TICKWIRE_FEEDS_0_NAME", "[1]"}});  // an array where a string is expected: refused
  EXPECT_FALSE(name.ok());
}

TEST_F(EnvOverrides, ABadValueIsValidatedLikeTheFileAndTheErrorNamesTheVariable) {
  EXPECT_EQ(error({{"TICKWIRE_JOURNAL_RING_BYTES", "3MiB"}}),
            "$TICKWIRE_JOURNAL_RING_BYTES: journal.ring_bytes: expected a power of two, got 3145728 bytes");
  EXPECT_EQ(error({{"TICKWIRE_SIMULATOR_RATE", "-1"}}),
            "$TICKWIRE_SIMULATOR_RATE: simulator.rate: expected a positive number, got -1");
  EXPECT_EQ(error({{"TICKWIRE_JOURNAL_ROLL_DAILY_UTC", "yes"}}),
            "$TICKWIRE_JOURNAL_ROLL_DAILY_UTC: journal.roll_daily_utc: expected a boolean (true or false), got string");
  EXPECT_EQ(error({{"TICKWIRE_METRICS_LISTEN", "localhost"}}),
            "$TICKWIRE_METRICS_LISTEN: metrics.listen: expected \"host:port\" or \"\" (off), got \"localhost\"");
}

TEST_F(EnvOverrides, AnUnknownVariableWithThePrefixIsAnErrorNamingIt) {
  EXPECT_THAT(error({{"TICKWIRE_JOURNAL_RING_BYTS", "1MiB"}}),
              HasSubstr("$TICKWIRE_JOURNAL_RING_BYTS: journal.ring_byts: unknown key (known: dir, ring_bytes"));
  EXPECT_THAT(error({{"TICKWIRE_JOURNL_DIR", "/x"}}),
              HasSubstr("$TICKWIRE_JOURNL_DIR: journl: unknown key (known: env, feeds"));
  EXPECT_THAT(error({{"TICKWIRE_FEEDS_3_URL", "sim://"}}),
              HasSubstr("$TICKWIRE_FEEDS_3_URL: feeds[3]: no such feed (1 [[feeds]] in the file"));
  EXPECT_THAT(error({{"TICKWIRE_FEEDS_URL", "sim://"}}),
              HasSubstr("$TICKWIRE_FEEDS_URL: expected TICKWIRE_FEEDS_<N>_<KEY>"));
  EXPECT_THAT(error({{"TICKWIRE_ENV_NAME", "x"}}), HasSubstr("$TICKWIRE_ENV_NAME: env: not a section"));
  EXPECT_THAT(error({{"TICKWIRE_", "x"}}), HasSubstr("$TICKWIRE_: expected TICKWIRE_<SECTION>_<KEY>"));
}

TEST_F(EnvOverrides, PublishSubTableKeysAreReachedWithTheTableInTheName) {
  // The file has no [publish] at all: the variables make publish, publish.nats and publish.shm.
  auto config = load({{"TICKWIRE_PUBLISH_TO", "[\"shm:tw-env\", \"nats://127.0.0.1:4222\"]"},
                      {"TICKWIRE_PUBLISH_NATS_USER", "tw"},
                      {"TICKWIRE_PUBLISH_NATS_PASSWORD", "s3cret"},
                      {"TICKWIRE_PUBLISH_NATS_SEND_ASAP", "true"},
                      {"TICKWIRE_PUBLISH_NATS_MAX_MSGS", "1000"},
                      {"TICKWIRE_PUBLISH_SHM_RING_BYTES", "1MiB"},
                      {"TICKWIRE_PUBLISH_SHM_MODE", "0660"}});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->publish.to.size(), 2u);
  EXPECT_EQ(config->publish.to[0].spec, "shm:tw-env");
  EXPECT_EQ(config->publish.nats.user, "tw");
  EXPECT_EQ(config->publish.nats.password, "s3cret");
  EXPECT_TRUE(config->publish.nats.send_asap);
  EXPECT_EQ(config->publish.nats.max_msgs, 1000u);
  EXPECT_EQ(config->publish.shm.ring_bytes, 1u << 20);
  EXPECT_EQ(config->publish.shm.mode, 0660u);
  // Validated like the file, the error naming the variable and the full key.
  const std::string bad = error({{"TICKWIRE_PUBLISH_NATS_SEND_ASAP", "maybe"}});
  EXPECT_THAT(bad, HasSubstr("$TICKWIRE_PUBLISH_NATS_SEND_ASAP")) << bad;
  const std::string unknown = error({{"TICKWIRE_PUBLISH_NATS_PASWORD", "x"}});
  EXPECT_THAT(unknown, HasSubstr("$TICKWIRE_PUBLISH_NATS_PASWORD")) << unknown;
  EXPECT_THAT(unknown, HasSubstr("pasword")) << unknown;
}

TEST_F(EnvOverrides, AValueCannotSmuggleASecondKey) {
  auto config = load({{"TICKWIRE_ENV", "prod\nfoo = 1"}});
  // Not one TOML value: the whole text is the string, which env rejects.
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("$TICKWIRE_ENV: env: expected a subject token"));
}

TEST_F(EnvOverrides, TheEnvironmentListSkipsTheScriptsOwnVariables) {
  ::setenv("TICKWIRE_JOURNAL_BATCH_US", "5", 1);
  ::setenv("TICKWIRE_FUZZ_SECONDS", "30", 1);
  ::setenv("TICKWIRE_SETUP_SKIP_NPM", "1", 1);
  const auto overrides = environment_overrides();
  ::unsetenv("TICKWIRE_JOURNAL_BATCH_US");
  ::unsetenv("TICKWIRE_FUZZ_SECONDS");
  ::unsetenv("TICKWIRE_SETUP_SKIP_NPM");
  bool batch = false;
  for (const auto& o : overrides) {
    EXPECT_FALSE(o.name.starts_with("TICKWIRE_FUZZ_") || o.name.starts_with("TICKWIRE_SETUP_")) << o.name;
    batch = batch || (o.name == "TICKWIRE_JOURNAL_BATCH_US" && o.value == "5");
  }
  EXPECT_TRUE(batch);
}

TEST_F(EnvOverrides, ARelativeJournalDirFromTheFileResolvesAgainstTheFilesDirectory) {
  auto config = load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->journal.dir, (dir_.path() / "journal").lexically_normal().string());
}

TEST_F(EnvOverrides, ARelativeJournalDirFromAVariableStaysRelativeToTheWorkingDirectory) {
  auto config = load({{"TICKWIRE_JOURNAL_DIR", "here/data"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->journal.dir, "here/data");
}

TEST_F(EnvOverrides, ConfigPrintOutputReadsBackToTheSameConfiguration) {
  auto config = load({{"TICKWIRE_THREADS_FEED_CORES", "[0]"}, {"TICKWIRE_METRICS_LISTEN", "127.0.0.1:0"}});
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string printed = to_toml(*config);
  auto again = load_string(printed, "printed.toml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << printed;
  const auto body = [](const std::string& text) { return text.substr(text.find('\n')); };  // after the header line
  EXPECT_EQ(body(to_toml(*again)), body(printed));
  EXPECT_EQ(again->journal.dir, config->journal.dir);
  EXPECT_EQ(again->threads.feed_cores, std::vector<int>{0});
  EXPECT_EQ(again->metrics.listen, "127.0.0.1:0");
  EXPECT_THAT(printed, HasSubstr("max_connects_per_5min = 300"));  // defaults are printed too
}

TEST_F(EnvOverrides, ConfigPrintShowsPublishTargetsButNeverASecret) {
  auto config = load_string(
      "env = \"dev\"\n[[feeds]]\nname = \"b\"\nexchange = \"binance\"\nurl = \"sim://\"\nsymbols = [\"BTCUSDT\"]\n"
      "[publish]\nto = [\"shm:tw-print\", \"nats://127.0.0.1:4222\"]\n[publish.shm]\nring_bytes = \"1MiB\"\n"
      "mode = \"0660\"\n[publish.nats]\njetstream = true\nstream = \"MD\"\nuser = \"tw\"\npassword = \"hunter2\"\n",
      "pub.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string printed = to_toml(*config);
  EXPECT_THAT(printed, HasSubstr("to = [ 'shm:tw-print', 'nats://127.0.0.1:4222' ]")) << printed;
  EXPECT_THAT(printed, HasSubstr("ring_bytes = 1048576")) << printed;
  EXPECT_THAT(printed, HasSubstr("mode = '0660'")) << printed;
  EXPECT_THAT(printed, HasSubstr("stream = 'MD'")) << printed;
  EXPECT_THAT(printed, HasSubstr("user = 'tw'")) << printed;
  EXPECT_THAT(printed, HasSubstr("password = '<redacted>'")) << printed;
  EXPECT_EQ(printed.find("hunter2"), std::string::npos) << printed;
  auto again = load_string(printed, "printed.toml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << printed;
  ASSERT_EQ(again->publish.to.size(), 2u);
  EXPECT_EQ(again->publish.to[1].spec, "nats://127.0.0.1:4222");
  EXPECT_EQ(again->publish.shm.mode, 0660u);
  EXPECT_TRUE(again->publish.nats.jetstream);
}

}  // namespace
}  // namespace tickwire::config
