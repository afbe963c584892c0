// OKX's legacy book checksum: CRC32 (IEEE) over the top levels' own text,
// bid and ask interleaved, read as a signed int32 (parser.hpp).
#include <array>

#include "tickwire/connector/venues/okx/parser.hpp"

namespace tickwire::connector::venues {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

std::uint32_t crc_update(std::uint32_t crc, std::string_view text) {
  for (const char ch : text) crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (crc >> 8);
  return crc;
}

std::uint32_t crc_decimal(std::uint32_t crc, const Decimal& d) {
  char buf[middleware::kMaxFormattedSize];
  const std::size_t n = middleware::format_decimal(d, buf);
  return crc_update(crc, std::string_view(buf, n));
}

}  // namespace

std::uint32_t crc32_ieee(std::string_view text) { return ~crc_update(0xFFFFFFFFu, text); }

std::int32_t okx_checksum(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks, std::size_t levels) {
  std::uint32_t crc = 0xFFFFFFFFu;
  bool first = true;
  const auto add = [&](const PriceLevel& l) {
    if (!first) crc = crc_update(crc, ":");
    first = false;
    crc = crc_decimal(crc, l.price);
    crc = crc_update(crc, ":");
    crc = crc_decimal(crc, l.size);
  };
  for (std::size_t i = 0; i < levels; ++i) {
    if (i < bids.size()) add(bids[i]);
    if (i < asks.size()) add(asks[i]);
  }
  // Safety: the CRC's 32 bits read as two's complement, as OKX states it.
  return static_cast<std::int32_t>(~crc);
}

}  // namespace tickwire::connector::venues
