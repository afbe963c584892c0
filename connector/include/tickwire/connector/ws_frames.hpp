#pragma once
// WsFrameReader: the websocket frames a server sends (RFC 6455, section 5),
// decoded from the bytes of a connection's receive buffer, every complete
// frame of one read in turn. The session's read loop reads the socket into
// prepare(), commits the bytes, then takes next() until it says kNone: one
// wake-up delivers every frame the kernel had, instead of one asynchronous
// round trip through Beast per frame. Beast keeps the upgrade handshake, TLS
// and the frames the client writes.
//
// Checked as Beast checked them (a failure is kError and ends the
// connection): no mask on a server frame, no reserved bit (no extension is
// negotiated), a known opcode, control frames whole and at most 125 bytes, a
// continuation only inside a fragmented message and a new message only
// outside one, a message no larger than the limit (refused at the header,
// before its payload arrives), a text message valid UTF-8, a close payload
// of 0 or 2+ bytes with a code a peer may send and a UTF-8 reason.
//
// After an error every next() repeats it.
//
// A message's bytes stay valid, followed by at least SIMDJSON_PADDING
// readable bytes, until the next call to next() or prepare().

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tickwire::connector {

class WsFrameReader {
 public:
  enum class Kind : std::uint8_t { kNone, kMessage, kPing, kPong, kClose, kError };
  enum class Error : std::uint8_t { kNone, kTooBig, kProtocol, kNoMemory };

  struct Event {
    Kind kind = Kind::kNone;
    const char* data = nullptr;  // the message, ping/pong payload or close reason
    std::size_t size = 0;
    bool text = false;           // kMessage: a text message (else binary)
    std::uint16_t close_code = 0;  // kClose: 0 when the frame had no code (1005)
    Error error = Error::kNone;
    const char* what = "";       // kError: what was wrong, for the log
  };

  // max_message: the largest message (all fragments) accepted, in bytes.
  explicit WsFrameReader(std::size_t max_message, std::size_t initial_capacity = 64 * 1024);

  // prepare: room to read into: moves the bytes of an incomplete frame to the
  // front, grows the buffer to hold a frame larger than it (never past the
  // largest frame max_message allows) and shrinks it back once a large frame
  // is consumed. Empty only when the reader failed (the buffer could not be
  // allocated, or next() returned kError): next() then says why.
  std::span<char> prepare();
  // commit: `n` bytes were read into the span prepare() gave.
  void commit(std::size_t n) { end_ += n; }
  // append: copies bytes in (the bytes read past the upgrade response; tests).
  void append(const char* data, std::size_t n);

  // next: the next complete frame's event, kNone when more bytes are needed.
  // After kError the reader stays failed.
  Event next();

  std::size_t buffered() const { return end_ - pos_; }
  std::size_t capacity() const { return cap_; }

 private:
  Event fail(Error e, const char* what);
  bool reserve(std::size_t frame_bytes);

  std::size_t max_message_;
  std::size_t initial_capacity_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;  // usable bytes; kPadding more are allocated after them
  std::size_t pos_ = 0;  // the first byte not yet decoded
  std::size_t end_ = 0;  // one past the last byte read
  std::size_t need_ = 0;  // the size of the incomplete frame at pos_ (header and payload), when known
  // A fragmented message, gathered.
  std::vector<char> gathered_;
  bool in_message_ = false;
  bool gathered_text_ = false;
  bool failed_ = false;
  Error error_ = Error::kNone;  // the first error, repeated by every later next()
  const char* what_ = "";
};

}  // namespace tickwire::connector
