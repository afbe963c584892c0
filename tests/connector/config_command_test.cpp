// `tickwire config check|print` and the run command's argument checks, as a
// user runs them: the real binary, real files, real environment variables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace tickwire::testing {
namespace {

using ::testing::HasSubstr;

std::string shell(const std::string& command) {
  return "cd / && " + command + " 2>&1";
}

class ConfigCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(file_) << "env = \"dev\"\n[[feeds]]\nname = \"binance\"\nexchange = \"binance\"\n"
                         << "url = \"sim://\"\nsymbols = [\"BTCUSDT\"]\n[journal]\ndir = \"data\"\n";
  }
  CommandResult run(const std::string& env, const std::string& args) {
    return run_command({"/bin/sh", "-c", shell(env + " '" + TICKWIRE_BINARY + "' " + args)});
  }
  TempDir dir_{"tickwire-config-cmd"};
  std::filesystem::path file_ = dir_ / "c.toml";
};

TEST_F(ConfigCommand, CheckAcceptsAValidFileAndPrintShowsTheEffectiveValues) {
  auto check = run("", "config check '" + file_.string() + "'");
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_THAT(check.out, HasSubstr(": ok"));
  auto print = run("TICKWIRE_JOURNAL_RING_BYTES=1MiB TICKWIRE_LOG_FORMAT=json", "config print '" + file_.string() + "'");
  EXPECT_EQ(print.exit_code, 0) << print.out;
  EXPECT_THAT(print.out, HasSubstr("ring_bytes = 1048576"));
  EXPECT_THAT(print.out, HasSubstr("format = 'json'"));
  // The relative dir resolved against the file's directory, wherever the command runs.
  EXPECT_THAT(print.out, HasSubstr("dir = '" + (dir_.path() / "data").string() + "'"));
  EXPECT_THAT(print.out, HasSubstr("listen = '127.0.0.1:9464'"));
}

TEST_F(ConfigCommand, CheckNamesTheBadVariableAndExitsTwo) {
  auto bad = run("TICKWIRE_JOURNAL_RING_BYTES=3MiB", "config check '" + file_.string() + "'");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.out, HasSubstr("$TICKWIRE_JOURNAL_RING_BYTES: journal.ring_bytes: expected a power of two"));
  auto unknown = run("TICKWIRE_METRICS_LISTN=x", "config check '" + file_.string() + "'");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.out, HasSubstr("$TICKWIRE_METRICS_LISTN: metrics.listn: unknown key"));
  auto run_bad = run("TICKWIRE_METRICS_LISTN=x", "run -c '" + file_.string() + "'");
  EXPECT_EQ(run_bad.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data"));
}

TEST_F(ConfigCommand, RunRejectsANegativeMessageLimit) {
  auto r = run("", "run -c '" + file_.string() + "' --max-messages -1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--max-messages"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data"));
}

TEST_F(ConfigCommand, RunRejectsAnExitWhenIdleThatIsNotABoundedDuration) {
  for (const char* bad : {"0s", "5", "5x", "1.5s", "25h", "99999999999999999999ms"}) {
    auto r = run("", "run -c '" + file_.string() + "' --exit-when-idle " + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out;
    EXPECT_THAT(r.out, HasSubstr("--exit-when-idle")) << bad;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data"));
}

TEST_F(ConfigCommand, SimExitAtEndNeedsAReplay) {
  auto r = run("", "sim --port 0 --exit-at-end");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--exit-at-end needs a replay"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("listening")));
}

}  // namespace
}  // namespace tickwire::testing
