// WsFrameReader under libFuzzer (ASan+UBSan). Two modes, by the first byte:
//  - raw: the rest is a server's byte stream; decoding it in one piece and
//    in reads of sizes the second byte seeds must give the same events, up
//    to and including the same error;
//  - built: the rest describes binary messages, each cut into fragments
//    with pings between them; their frames, read in seeded pieces (split
//    frames, many frames per read), must give back exactly those messages
//    and pings, and never an error.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../support/ws_frame_bytes.hpp"
#include "fuzz_support.hpp"
#include "tickwire/connector/ws_frames.hpp"

namespace {

using tickwire::connector::WsFrameReader;
using tickwire::fuzz::check;

struct Seen {
  int kind;
  std::string data;
  unsigned code;
  bool operator==(const Seen&) const = default;
};

// Small LCG: read sizes from a seed.
struct Sizes {
  std::uint32_t state;
  std::size_t next(std::size_t max) {
    state = state * 1103515245u + 12345u;
    return 1 + (state >> 8) % max;
  }
};

void drain(WsFrameReader& r, std::vector<Seen>& out, bool& failed) {
  for (;;) {
    const auto ev = r.next();
    if (ev.kind == WsFrameReader::Kind::kNone) return;
    if (ev.kind == WsFrameReader::Kind::kError) {
      out.push_back({5, ev.what, 0});
      failed = true;
      return;
    }
    if (ev.kind == WsFrameReader::Kind::kMessage && ev.size != 0) {
      volatile char edge = ev.data[ev.size + 63];  // the padding is readable (ASan checks)
      (void)edge;
    }
    out.push_back({static_cast<int>(ev.kind), std::string(ev.data, ev.size), ev.close_code});
  }
}

std::vector<Seen> in_pieces(const std::string& bytes, std::uint32_t seed, std::size_t max_message) {
  WsFrameReader r(max_message, 64);
  std::vector<Seen> out;
  bool failed = false;
  Sizes sizes{seed};
  std::size_t at = 0;
  while (at < bytes.size() && !failed) {
    auto room = r.prepare();
    check(!room.empty());
    std::size_t n = sizes.next(seed % 3 == 0 ? 8 : 700);
    n = std::min({n, room.size(), bytes.size() - at});
    std::copy_n(bytes.data() + at, n, room.data());
    r.commit(n);
    at += n;
    drain(r, out, failed);
  }
  return out;
}


}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint32_t seed = data[1];
  const std::string rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t max_message = 4096;
  if ((data[0] & 1) == 0) {
    WsFrameReader whole(max_message, 64);
    whole.append(rest.data(), rest.size());
    std::vector<Seen> want;
    bool failed = false;
    drain(whole, want, failed);
    const auto got = in_pieces(rest, seed, max_message);
    check(got == want);
    return 0;
  }
  // Built: each message is [length byte L][fragments byte F][L*16 bytes from the input, cycled].
  std::string bytes;
  std::vector<Seen> want;
  std::size_t at = 0;
  while (at + 2 <= rest.size()) {
    const std::size_t len = static_cast<std::uint8_t>(rest[at]) * 16u;  // at most 4080, under max_message
    const std::size_t fragments = 1 + static_cast<std::uint8_t>(rest[at + 1]) % 4;
    at += 2;
    std::string body(len, '\0');
    for (std::size_t i = 0; i < len; ++i) body[i] = rest.empty() ? 'x' : rest[(at + i) % rest.size()];
    std::size_t from = 0;
    for (std::size_t f = 0; f < fragments; ++f) {
      const bool last = f + 1 == fragments;
      const std::size_t to = last ? len : from + (len - from) / 2;
      const std::uint8_t b0 = static_cast<std::uint8_t>((last ? 0x80 : 0x00) | (f == 0 ? 0x02 : 0x00));
      bytes += tickwire::testing::server_frame(b0, body.substr(from, to - from));
      from = to;
      if (!last) {
        const std::string ping(f, 'p');
        bytes += tickwire::testing::server_frame(0x89, ping);
        want.push_back({static_cast<int>(WsFrameReader::Kind::kPing), ping, 0});
      }
    }
    want.push_back({static_cast<int>(WsFrameReader::Kind::kMessage), body, 0});
    at += 1;
  }
  const auto got = in_pieces(bytes, seed, max_message);
  check(got == want);
  return 0;
}
