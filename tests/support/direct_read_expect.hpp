// GoogleTest checks over BothPaths (direct_read_compare.hpp), shared by the
// venues' direct-read suites (tests/connector/<venue>_direct_read_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "support/direct_read_compare.hpp"

namespace tickwire::testing {

// replace: `text` with its first `from` replaced by `to` (a variant of a
// real frame); `from` must occur.
inline std::string replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string s(text);
  const auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// expect_both_ways: each frame gives the same events through both paths and
// was (want_direct) or was not read directly.
template <typename Parser>
void expect_both_ways(BothPaths<Parser>& both, const std::vector<std::string>& frames, bool want_direct) {
  for (const std::string& text : frames) {
    auto [a, b] = both.parse(text);
    EXPECT_TRUE(same_events(a, b)) << text << "\n" << a.error << " / " << b.error;
    EXPECT_EQ(a.direct, want_direct) << text << ": " << a.error;
  }
}

// expect_prefixes_generic: every proper prefix of each frame (cut short, so
// never read directly) gives the same events, an error, both ways.
template <typename Parser>
void expect_prefixes_generic(BothPaths<Parser>& both, std::initializer_list<std::string_view> frames) {
  std::vector<std::string> cut;
  for (std::string_view f : frames) {
    for (std::size_t n = 0; n < f.size(); ++n) cut.emplace_back(f.substr(0, n));
  }
  expect_both_ways(both, cut, false);
}

// expect_fixture_frames: every non-empty line of every file under `dir`
// gives the same events both ways, and exactly the lines `hot` names are
// read directly; skipped when the fixtures are absent.
template <typename Parser>
void expect_fixture_frames(BothPaths<Parser>& both, const std::filesystem::path& dir,
                           const std::function<bool(std::string_view)>& hot) {
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no fixtures under " << dir;
  std::size_t frames = 0, hot_frames = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto [a, b] = both.parse(line);
      EXPECT_TRUE(same_events(a, b)) << line << "\n" << a.error << " / " << b.error;
      EXPECT_EQ(a.direct, hot(line)) << line << ": " << a.error;
      ++frames;
      hot_frames += hot(line) ? 1 : 0;
    }
  }
  EXPECT_GT(frames, 0u);
  EXPECT_GT(hot_frames, 0u);
}

}  // namespace tickwire::testing
