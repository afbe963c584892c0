// CRC32C (Castagnoli), the checksum of every journal record. Uses the SSE4.2
// `crc32` instruction when the CPU has it (checked once at startup), a table
// otherwise; about 8 bytes per cycle in hardware.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tickwire::journal {

// crc32c_extend: the CRC32C of (bytes that gave `crc`) followed by data[0, n).
// crc32c_extend(0, ...) starts a new checksum.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept;

inline std::uint32_t crc32c(const void* data, std::size_t n) noexcept { return crc32c_extend(0, data, n); }

// crc32c_hardware: true when the SSE4.2 path is in use.
bool crc32c_hardware() noexcept;

}  // namespace tickwire::journal
