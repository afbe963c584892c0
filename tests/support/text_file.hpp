// Small text helpers shared by the tests: a whole file as a string, and the
// non-empty lines of a text.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tickwire::testing {

// read_text: the whole file (empty if it cannot be read).
std::string read_text(const std::filesystem::path& path);

// lines_of: the non-empty lines of `text`, in order.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace tickwire::testing
