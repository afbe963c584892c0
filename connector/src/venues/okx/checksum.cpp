// OKX's legacy book checksum: CRC32 (IEEE) over the top levels' own text,
// bid and ask interleaved, read as a signed int32 (parser.hpp).
#include "tickwire/connector/venues/crc32.hpp"
#include "tickwire/connector/venues/okx/parser.hpp"

namespace tickwire::connector::venues {
namespace {

std::uint32_t crc_decimal(std::uint32_t crc, const Decimal& d) {
  char buf[middleware::kMaxFormattedSize];
  const std::size_t n = middleware::format_decimal(d, buf);
  return crc32_update(crc, std::string_view(buf, n));
}

}  // namespace

std::uint32_t crc32_ieee(std::string_view text) { return crc32_update(0, text); }

std::int32_t okx_checksum(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks, std::size_t levels) {
  std::uint32_t crc = 0;
  bool first = true;
  const auto add = [&](const PriceLevel& l) {
    if (!first) crc = crc32_update(crc, ":");
    first = false;
    crc = crc_decimal(crc, l.price);
    crc = crc32_update(crc, ":");
    crc = crc_decimal(crc, l.size);
  };
  for (std::size_t i = 0; i < levels; ++i) {
    if (i < bids.size()) add(bids[i]);
    if (i < asks.size()) add(asks[i]);
  }
  // Safety: the CRC's 32 bits read as two's complement, as OKX states it.
  return static_cast<std::int32_t>(crc);
}

}  // namespace tickwire::connector::venues
