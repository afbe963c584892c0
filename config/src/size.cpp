#include "size.hpp"

#include <array>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace tickwire::config::detail {
namespace {

// Largest unit first, so format_size picks the most readable exact one.
constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> kUnits = {{
    {"TiB", std::uint64_t{1} << 40},
    {"GiB", std::uint64_t{1} << 30},
    {"MiB", std::uint64_t{1} << 20},
    {"KiB", std::uint64_t{1} << 10},
    {"B", 1},
}};

std::optional<std::uint64_t> unit_multiplier(std::string_view unit) {
  if (unit.empty()) return 1;
  for (const auto& [name, multiplier] : kUnits) {
    if (unit == name) return multiplier;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::size_t i = 0;
  std::uint64_t number = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (number > (kMax - digit) / 10) return std::nullopt;
    number = number * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  while (i < text.size() && text[i] == ' ') ++i;
  const auto multiplier = unit_multiplier(text.substr(i));
  if (!multiplier || number > kMax / *multiplier) return std::nullopt;
  return number * *multiplier;
}

std::string format_size(std::uint64_t bytes) {
  for (const auto& [name, multiplier] : kUnits) {
    if (multiplier > 1 && bytes != 0 && bytes % multiplier == 0) {
      return fmt::format("{}{}", bytes / multiplier, name);
    }
  }
  return fmt::format("{} bytes", bytes);
}

}  // namespace tickwire::config::detail
