// Helpers shared by the libFuzzer targets: a per-process scratch directory
// for the files a target writes (removed at exit), and check(), which turns a
// broken invariant into a crash libFuzzer reports.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace tickwire::fuzz {

// scratch_dir: this process's scratch directory, created on first call under
// $TMPDIR as "<prefix>-XXXXXX" (later calls return it, whatever their prefix)
// and removed with its contents at exit.
inline const std::filesystem::path& scratch_dir(std::string_view prefix) {
  static const std::filesystem::path dir = [prefix] {
    std::string templ = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    return std::filesystem::path(templ);
  }();
  // Registered once `dir` exists, so it runs before `dir` is destroyed.
  static const bool registered = std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir({}), ec);
  }) == 0;
  (void)registered;
  return dir;
}

// check: aborts (a finding) when an invariant does not hold.
inline void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace tickwire::fuzz
