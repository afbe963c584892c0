// server_frame: the bytes of one websocket frame as a server writes it
// (unmasked), with the given first byte (FIN, RSV bits, opcode) and a 7-,
// 16- or 64-bit length as the payload needs. For the frame reader's tests,
// its fuzz target and the session tests' raw servers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tickwire::testing {

inline std::string server_frame(std::uint8_t b0, std::string_view payload) {
  std::string out(1, static_cast<char>(b0));
  const std::size_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(n);
  } else if (n < 65536) {
    out += static_cast<char>(126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff);
  }
  out += payload;
  return out;
}

}  // namespace tickwire::testing
