#include "tickwire/connector/ws_frames.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace tickwire::connector {

namespace {

constexpr std::size_t kPadding = simdjson::SIMDJSON_PADDING;
constexpr std::size_t kMaxHeader = 10;  // 2 + an 8-byte length (a server frame has no mask)

enum Opcode : std::uint8_t { kCont = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

// A close code a peer may send (RFC 6455 7.4; as Beast's is_valid_close_code,
// which takes every code from 3000 up).
bool valid_close_code(std::uint16_t c) {
  if (c < 1000) return false;
  if (c <= 1003) return true;
  if (c >= 1007 && c <= 1013) return true;
  return c >= 3000;  // 1004-1006, 1014-1015 and 1016-2999 are reserved
}

}  // namespace

WsFrameReader::WsFrameReader(std::size_t max_message, std::size_t initial_capacity)
    : max_message_(max_message),
      initial_capacity_(initial_capacity),
      buf_(new char[initial_capacity + kPadding]),
      cap_(initial_capacity) {
  std::memset(buf_.get() + cap_, 0, kPadding);
}

bool WsFrameReader::reserve(std::size_t frame_bytes) {
  if (frame_bytes <= cap_) return true;
  std::size_t cap = cap_;
  while (cap < frame_bytes) cap *= 2;
  // Doubling, but never past the largest frame the limit lets through.
  cap = std::max(frame_bytes, std::min(cap, max_message_ + kMaxHeader));
  std::unique_ptr<char[]> grown(new (std::nothrow) char[cap + kPadding]);
  if (!grown) return false;
  std::memcpy(grown.get(), buf_.get() + pos_, end_ - pos_);
  std::memset(grown.get() + cap, 0, kPadding);
  end_ -= pos_;
  pos_ = 0;
  buf_ = std::move(grown);
  cap_ = cap;
  return true;
}

std::span<char> WsFrameReader::prepare() {
  if (failed_) return {};
  if (pos_ == end_) {
    pos_ = end_ = 0;
    if (cap_ > initial_capacity_) {
      // Back to the usual size after a large frame.
      std::unique_ptr<char[]> usual(new (std::nothrow) char[initial_capacity_ + kPadding]);
      if (usual) {
        std::memset(usual.get() + initial_capacity_, 0, kPadding);
        buf_ = std::move(usual);
        cap_ = initial_capacity_;
      }
    }
  } else if (pos_ != 0 && (need_ > cap_ - pos_ || cap_ - end_ < cap_ / 4)) {
    // The frame at pos_ does not fit where it is, or little room is left:
    // move what is left of it to the front.
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (!reserve(std::max(need_, end_ - pos_ + 1))) {
    fail(Error::kNoMemory, "no memory for the frame's buffer");
    return {};
  }
  return {buf_.get() + end_, cap_ - end_};
}

void WsFrameReader::append(const char* data, std::size_t n) {
  need_ = std::max(need_, end_ - pos_ + n);
  while (n != 0) {
    const auto room = prepare();
    if (room.empty()) return;  // failed: next() says why
    const std::size_t take = std::min(n, room.size());
    std::memcpy(room.data(), data, take);
    commit(take);
    data += take;
    n -= take;
  }
  need_ = 0;
}

WsFrameReader::Event WsFrameReader::fail(Error e, const char* what) {
  failed_ = true;
  error_ = e;
  what_ = what;
  Event ev;
  ev.kind = Kind::kError;
  ev.error = e;
  ev.what = what;
  return ev;
}

WsFrameReader::Event WsFrameReader::next() {
  if (failed_) return fail(error_, what_);  // the first error, again
  for (;;) {
    const std::size_t avail = end_ - pos_;
    if (avail < 2) {
      need_ = 0;
      return {};
    }
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.get() + pos_);
    const bool fin = (p[0] & 0x80) != 0;
    const unsigned rsv = p[0] & 0x70;
    const std::uint8_t op = p[0] & 0x0f;
    const bool masked = (p[1] & 0x80) != 0;
    std::uint64_t len = p[1] & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      header = 4;
    } else if (len == 127) {
      header = 10;
    }
    if (avail < header) {
      need_ = header;
      return {};
    }
    if (header == 4) {
      len = (std::uint64_t{p[2]} << 8) | p[3];
    } else if (header == 10) {
      len = 0;
      for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
      if ((len >> 63) != 0) return fail(Error::kProtocol, "a 64-bit length with its high bit set");
    }
    if (rsv != 0) return fail(Error::kProtocol, "a reserved bit set (no extension was negotiated)");
    if (masked) return fail(Error::kProtocol, "a masked frame from the server");
    const bool control = (op & 0x08) != 0;
    if (control) {
      if (op != kClose && op != kPing && op != kPong) return fail(Error::kProtocol, "an unknown control opcode");
      if (!fin) return fail(Error::kProtocol, "a fragmented control frame");
      if (len > 125) return fail(Error::kProtocol, "a control frame longer than 125 bytes");
    } else {
      if (op != kCont && op != kText && op != kBinary) return fail(Error::kProtocol, "an unknown data opcode");
      if (op == kCont && !in_message_) return fail(Error::kProtocol, "a continuation frame outside a message");
      if (op != kCont && in_message_) return fail(Error::kProtocol, "a new message inside a fragmented one");
      const std::uint64_t before = in_message_ ? gathered_.size() : 0;
      if (len > max_message_ || before + len > max_message_) return fail(Error::kTooBig, "message too big");
    }
    const std::size_t frame = header + static_cast<std::size_t>(len);
    if (avail < frame) {
      need_ = frame;
      return {};
    }
    need_ = 0;
    const char* payload = buf_.get() + pos_ + header;
    const auto size = static_cast<std::size_t>(len);
    pos_ += frame;

    Event ev;
    ev.data = payload;
    ev.size = size;
    if (control) {
      if (op == kPing) {
        ev.kind = Kind::kPing;
      } else if (op == kPong) {
        ev.kind = Kind::kPong;
      } else {
        if (size == 1) return fail(Error::kProtocol, "a close frame with a 1-byte payload");
        ev.kind = Kind::kClose;
        if (size >= 2) {
          const auto* q = reinterpret_cast<const unsigned char*>(payload);
          ev.close_code = static_cast<std::uint16_t>((q[0] << 8) | q[1]);
          if (!valid_close_code(ev.close_code)) return fail(Error::kProtocol, "a close code a peer may not send");
          ev.data = payload + 2;
          ev.size = size - 2;
          if (!simdjson::validate_utf8(ev.data, ev.size)) return fail(Error::kProtocol, "a close reason not UTF-8");
        } else {
          ev.data = payload;
          ev.size = 0;
        }
      }
      return ev;
    }
    if (fin && op != kCont) {
      // A whole message in one frame, read where it lies.
      ev.kind = Kind::kMessage;
      ev.text = op == kText;
      if (ev.text && !simdjson::validate_utf8(payload, size)) return fail(Error::kProtocol, "a text message not UTF-8");
      return ev;
    }
    if (op != kCont) {
      gathered_.clear();
      gathered_text_ = op == kText;
      in_message_ = true;
    }
    gathered_.insert(gathered_.end(), payload, payload + size);
    if (!fin) continue;
    in_message_ = false;
    const std::size_t n = gathered_.size();
    gathered_.resize(n + kPadding, '\0');  // readable padding after the message
    ev.kind = Kind::kMessage;
    ev.text = gathered_text_;
    ev.data = gathered_.data();
    ev.size = n;
    if (ev.text && !simdjson::validate_utf8(ev.data, n)) return fail(Error::kProtocol, "a text message not UTF-8");
    return ev;
  }
}

}  // namespace tickwire::connector
