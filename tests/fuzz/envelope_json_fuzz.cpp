// libFuzzer target: envelope_to_json, the decoder `tickwire replay` runs on
// journal payloads, over arbitrary bytes. Hostile framing, pointers and
// lengths must give an error, never a crash, a hang or unbounded memory.
#include <cstdint>
#include <span>

#include "tickwire/connector/envelope_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  (void)tickwire::connector::envelope_to_json(bytes);
  return 0;
}
