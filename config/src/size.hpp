// Byte sizes as the config spells them: an integer, or a string with a binary
// unit ("64KiB", "256 MiB", "1GiB"). Decimal units (MB) are rejected on purpose:
// they are ambiguous for buffers that must be powers of two.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tickwire::config::detail {

// parse_size: digits, optional spaces, then an optional unit B, KiB, MiB, GiB
// or TiB. nullopt on anything else or on overflow.
std::optional<std::uint64_t> parse_size(std::string_view text);

// format_size: the largest exact unit, "64KiB", "16MiB"; otherwise "N bytes".
std::string format_size(std::uint64_t bytes);

}  // namespace tickwire::config::detail
