// WsFrameReader: server frames decoded from bytes however they arrive (whole,
// split at every byte, many in one read), fragmented messages gathered, and
// every frame RFC 6455 forbids a server to send refused with its reason.

#include "tickwire/connector/ws_frames.hpp"

#include "support/ws_frame_bytes.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tickwire::connector {
namespace {

using Kind = WsFrameReader::Kind;

std::string frame(std::uint8_t b0, const std::string& payload) { return testing::server_frame(b0, payload); }
std::string text(const std::string& s) { return frame(0x81, s); }

struct Seen {
  Kind kind;
  std::string data;
  std::uint16_t code = 0;
  bool text = false;
  bool operator==(const Seen&) const = default;
};

// drain: every event the reader has now; checks each message's padding is readable.
void drain(WsFrameReader& r, std::vector<Seen>& out, std::string* error = nullptr) {
  for (;;) {
    const auto ev = r.next();
    if (ev.kind == Kind::kNone) return;
    if (ev.kind == Kind::kError) {
      if (error != nullptr) *error = ev.what;
      out.push_back({Kind::kError, std::string(ev.what), 0, false});
      return;
    }
    if (ev.kind == Kind::kMessage) {
      volatile char last = ev.data[ev.size + simdjson::SIMDJSON_PADDING - 1];  // ASan: readable
      (void)last;
    }
    out.push_back({ev.kind, std::string(ev.data, ev.size), ev.close_code, ev.text});
  }
}

// feed: `bytes` through prepare/commit in chunks of `chunk` bytes, draining after each.
std::vector<Seen> feed(const std::string& bytes, std::size_t chunk, std::size_t max = 1 << 20,
                       std::size_t initial = 64) {
  WsFrameReader r(max, initial);
  std::vector<Seen> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    auto room = r.prepare();
    EXPECT_FALSE(room.empty());
    const std::size_t n = std::min({chunk, room.size(), bytes.size() - at});
    std::copy_n(bytes.data() + at, n, room.data());
    r.commit(n);
    at += n;
    drain(r, out);
    if (!out.empty() && out.back().kind == Kind::kError) break;
  }
  return out;
}

TEST(WsFrameReader, DecodesTheSameEventsWhateverTheReadsCarry) {
  const std::string big(70000, 'b');  // a 64-bit length, larger than the buffer it starts in
  const std::string mid(300, 'm');    // a 16-bit length
  const std::string bytes = text("{\"a\":1}") + frame(0x89, "pi") + frame(0x01, "hel") + frame(0x8a, "po") +
                            frame(0x00, "l") + frame(0x80, "o") + frame(0x82, std::string("\0\1", 2)) + text(mid) +
                            text(big) + frame(0x88, "\x03\xe9going") + text("");
  const std::vector<Seen> want = {
      {Kind::kMessage, "{\"a\":1}", 0, true}, {Kind::kPing, "pi"},           {Kind::kPong, "po"},
      {Kind::kMessage, "hello", 0, true},     {Kind::kMessage, std::string("\0\1", 2)},
      {Kind::kMessage, mid, 0, true},         {Kind::kMessage, big, 0, true}, {Kind::kClose, "going", 1001},
      {Kind::kMessage, "", 0, true},
  };
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{64},
                            std::size_t{4096}, bytes.size()}) {
    EXPECT_EQ(feed(bytes, chunk), want) << "chunk " << chunk;
  }
  // The same bytes copied in at once (the bytes read past the upgrade response).
  WsFrameReader r(1 << 20, 64);
  r.append(bytes.data(), bytes.size());
  std::vector<Seen> out;
  drain(r, out);
  EXPECT_EQ(out, want);
}

TEST(WsFrameReader, SplitsAtRandomPointsGiveTheSameMessages) {
  std::mt19937 rng(7);
  std::string bytes;
  std::vector<Seen> want;
  for (int i = 0; i < 500; ++i) {
    std::string body(rng() % 600, 'x');
    for (auto& c : body) c = static_cast<char>('a' + rng() % 26);
    if (i % 7 == 3) {  // fragmented in three, a ping between the second and the third
      const std::size_t k1 = body.size() / 3;
      const std::size_t k2 = std::min(body.size(), k1 + 5);
      bytes += frame(0x01, body.substr(0, k1)) + frame(0x00, body.substr(k1, k2 - k1)) + frame(0x89, "p") +
               frame(0x80, body.substr(k2));
      want.push_back({Kind::kPing, "p"});
    } else {
      bytes += text(body);
    }
    want.push_back({Kind::kMessage, body, 0, true});
  }
  WsFrameReader r(1 << 20, 256);
  std::vector<Seen> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    auto room = r.prepare();
    const std::size_t n = std::min<std::size_t>({1 + rng() % 900, room.size(), bytes.size() - at});
    std::copy_n(bytes.data() + at, n, room.data());
    r.commit(n);
    at += n;
    drain(r, out);
  }
  EXPECT_EQ(out, want);
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(WsFrameReader, RefusesWhatAServerMayNotSendNamingIt) {
  struct Case {
    std::string bytes;
    const char* what;
  };
  const std::string masked = std::string("\x81\x82", 2) + std::string("\0\0\0\0", 4) + "hi";
  const std::vector<Case> cases = {
      {masked, "a masked frame from the server"},
      {frame(0xc1, "x"), "a reserved bit set (no extension was negotiated)"},
      {frame(0x83, "x"), "an unknown data opcode"},
      {frame(0x8b, ""), "an unknown control opcode"},
      {frame(0x09, ""), "a fragmented control frame"},
      {frame(0x89, std::string(126, 'p')), "a control frame longer than 125 bytes"},
      {frame(0x80, "x"), "a continuation frame outside a message"},
      {frame(0x01, "a") + text("b"), "a new message inside a fragmented one"},
      {frame(0x88, "\x03"), "a close frame with a 1-byte payload"},
      {frame(0x88, "\x03\xed"), "a close code a peer may not send"},  // 1005
      {frame(0x88, "\x03\xe8\xff"), "a close reason not UTF-8"},
      {text("\xc3\x28"), "a text message not UTF-8"},
      {frame(0x01, "\xc3") + frame(0x80, "\x28"), "a text message not UTF-8"},
      {std::string("\x81\x7f\x80\0\0\0\0\0\0\0", 10), "a 64-bit length with its high bit set"},
  };
  for (const auto& c : cases) {
    for (std::size_t chunk : {std::size_t{1}, c.bytes.size()}) {
      const auto out = feed(c.bytes, chunk);
      ASSERT_FALSE(out.empty()) << c.what;
      EXPECT_EQ(out.back().kind, Kind::kError) << c.what;
      EXPECT_EQ(out.back().data, c.what) << "chunk " << chunk;
    }
  }
  // A binary message need not be UTF-8; a close without a code is fine, and
  // so is any code from 3000 up (as Beast).
  EXPECT_EQ(feed(frame(0x82, "\xc3\x28") + frame(0x88, ""), 1),
            (std::vector<Seen>{{Kind::kMessage, "\xc3\x28"}, {Kind::kClose, ""}}));
  EXPECT_EQ(feed(frame(0x88, "\x13\x88"), 1), (std::vector<Seen>{{Kind::kClose, "", 5000}}));
}

TEST(WsFrameReader, AMessageOverTheLimitIsRefusedAtItsHeaderBeforeItsPayload) {
  WsFrameReader r(1000, 64);
  const std::string header = frame(0x81, std::string(1001, 'x')).substr(0, 4);
  r.append(header.data(), header.size());
  const auto ev = r.next();
  EXPECT_EQ(ev.kind, Kind::kError);
  EXPECT_EQ(ev.error, WsFrameReader::Error::kTooBig);
  EXPECT_EQ(r.next().kind, Kind::kError);  // stays failed
  // Fragments count together.
  const auto out = feed(frame(0x01, std::string(600, 'a')) + frame(0x80, std::string(401, 'b')), 5, 1000);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().data, "message too big");
  // At the limit exactly: delivered.
  EXPECT_EQ(feed(text(std::string(1000, 'c')), 5, 1000),
            (std::vector<Seen>{{Kind::kMessage, std::string(1000, 'c'), 0, true}}));
}

TEST(WsFrameReader, KeepsItsBufferWhenFramesFitAndGrowsOnlyForALargerOne) {
  WsFrameReader r(1 << 20, 1024);
  std::vector<Seen> out;
  const std::string f = text(std::string(100, 'q'));
  for (int i = 0; i < 1000; ++i) {
    auto room = r.prepare();
    const std::size_t n = std::min(room.size(), f.size());
    std::copy_n(f.data(), n, room.data());
    r.commit(n);
    if (n < f.size()) {
      room = r.prepare();
      std::copy_n(f.data() + n, f.size() - n, room.data());
      r.commit(f.size() - n);
    }
    drain(r, out);
  }
  EXPECT_EQ(out.size(), 1000u);
  EXPECT_EQ(r.capacity(), 1024u);
  const std::string large = text(std::string(5000, 'L'));
  r.append(large.data(), large.size());
  drain(r, out);
  EXPECT_EQ(out.back().data.size(), 5000u);
  EXPECT_GE(r.capacity(), 5000u);
  EXPECT_FALSE(r.prepare().empty());
  EXPECT_EQ(r.capacity(), 1024u);  // back to its size once the large frame is consumed
  // Growth stops at the largest frame the limit lets through (not the next power of two).
  WsFrameReader limited(100000, 1024);
  const std::string header = frame(0x82, std::string(100000, 'x')).substr(0, 10);
  limited.append(header.data(), header.size());
  EXPECT_EQ(limited.next().kind, Kind::kNone);
  EXPECT_FALSE(limited.prepare().empty());
  EXPECT_EQ(limited.capacity(), 100010u);
}

}  // namespace
}  // namespace tickwire::connector
