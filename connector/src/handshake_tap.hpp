#pragma once
// HandshakeTap: the stream layer between Beast's websocket stream and the TCP
// (or TLS) stream, so that Beast does the upgrade handshake, TLS and the
// frames the client writes while tickwire's read loop decodes the frames the
// server sends (WsFrameReader) straight from the socket.
//
// Beast reads the upgrade response into a private buffer and would keep any
// bytes read past it (a server may send its first frames in the same
// segment as the 101). The tap reads the response itself and hands Beast the
// bytes only up to the end of its header ("\r\n\r\n"; a 101 has no body), so
// nothing is left in Beast's buffer; take_after_header() gives the rest to
// the read loop. A refused upgrade's body reaches Beast as usual.
//
// After take_after_header() the read loop owns the reads: a read Beast
// starts (its close handshake waits for the server's close) fails at once
// with operation_aborted, so Beast never reads the socket beside the loop;
// the loop sees the server's close frame itself. Writes pass straight through.

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace tickwire::connector::detail {

template <class Next>
class HandshakeTap {
 public:
  using next_layer_type = Next;
  using executor_type = typename Next::executor_type;

  template <class... Args>
  explicit HandshakeTap(Args&&... args) : next_(std::forward<Args>(args)...) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  const Next& next_layer() const noexcept { return next_; }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return next_.async_write_some(buffers, std::forward<Token>(token));
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::beast::error_code, std::size_t)>(
        ReadOp<MutableBuffers>{this, buffers}, token, next_);
  }

  // header_complete: the upgrade response's header has been handed to Beast
  // whole and nothing after it (the state in which Beast's handshake ends).
  bool header_complete() const { return header_end_ != std::string::npos && served_ == header_end_; }

  // take_after_header: the bytes read past the response's header; from now
  // on the caller reads the socket (next_layer()) and Beast's reads fail.
  std::string take_after_header() {
    std::string rest = header_end_ == std::string::npos ? std::string() : seen_.substr(header_end_);
    seen_.clear();
    seen_.shrink_to_fit();
    served_ = 0;
    header_end_ = std::string::npos;
    frames_ = true;
    return rest;
  }

 private:
  static constexpr std::size_t kChunk = 4096;

  template <class MutableBuffers>
  struct ReadOp {
    HandshakeTap* tap;
    MutableBuffers buffers;
    enum { kStart, kPosted, kReading } state = kStart;
    std::size_t old_size = 0;

    template <class Self>
    void operator()(Self& self, boost::beast::error_code ec = {}, std::size_t n = 0) {
      switch (state) {
        case kStart:
          // Never complete inside the initiating call: post first when the
          // answer is already known.
          if (tap->frames_ || boost::asio::buffer_size(buffers) == 0 || tap->served_ < tap->limit()) {
            state = kPosted;
            boost::asio::post(tap->get_executor(), std::move(self));
            return;
          }
          read_more(self);
          return;
        case kPosted:
          if (tap->frames_) return self.complete(boost::asio::error::operation_aborted, 0);
          if (boost::asio::buffer_size(buffers) == 0) return self.complete({}, 0);
          return self.complete({}, tap->serve(buffers));
        case kReading:
          tap->seen_.resize(old_size + n);
          tap->find_header_end(old_size);
          if (ec && n == 0) return self.complete(ec, 0);
          if (tap->served_ < tap->limit()) return self.complete({}, tap->serve(buffers));
          read_more(self);  // nothing new to hand over yet (cannot happen with n > 0)
          return;
      }
    }

    template <class Self>
    void read_more(Self& self) {
      state = kReading;
      old_size = tap->seen_.size();
      tap->seen_.resize(old_size + kChunk);
      tap->next_.async_read_some(boost::asio::buffer(tap->seen_.data() + old_size, kChunk), std::move(self));
    }
  };

  // limit: how far Beast may read: to the header's end until it has had it
  // whole, then everything (a refused upgrade's body).
  std::size_t limit() const {
    if (header_end_ == std::string::npos || served_ >= header_end_) return seen_.size();
    return header_end_;
  }

  template <class MutableBuffers>
  std::size_t serve(const MutableBuffers& buffers) {
    const std::size_t n = boost::asio::buffer_copy(buffers, boost::asio::buffer(seen_.data() + served_, limit() - served_));
    served_ += n;
    return n;
  }

  void find_header_end(std::size_t from) {
    if (header_end_ != std::string::npos) return;
    const std::size_t start = from >= 3 ? from - 3 : 0;
    const std::size_t at = std::string_view(seen_).find("\r\n\r\n", start);
    if (at != std::string_view::npos) header_end_ = at + 4;
  }

  Next next_;
  std::string seen_;  // every byte read during the handshake
  std::size_t served_ = 0;  // of seen_, handed to Beast
  std::size_t header_end_ = std::string::npos;
  bool frames_ = false;
};

// Beast's websocket stream closes its next layer through these (found by ADL).
template <class Next>
void teardown(boost::beast::role_type role, HandshakeTap<Next>& stream, boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

template <class Next, class Handler>
void async_teardown(boost::beast::role_type role, HandshakeTap<Next>& stream, Handler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<Handler>(handler));
}

}  // namespace tickwire::connector::detail
