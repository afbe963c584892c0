// ControlProtocol: a venue's control messages on a websocket connection, as
// the session needs them: how a subscribe request is written, how its reply
// is recognized, and whether liveness uses websocket pings or an
// application-level ping text. The venue adapter owns one; WsSession only
// calls it. Called on the feed thread; classify() may keep scratch state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tickwire::connector {

// ReplyVerdict: what classify() made of a frame while replies are pending.
struct ReplyVerdict {
  enum Kind : std::uint8_t {
    kNotReply,  // market data (or anything else): goes to the handler
    kAck,       // the request `id` was accepted
    kRejected,  // the request `id` (or, without has_id, some request) was refused
    kOther,     // a reply that neither accepts nor refuses (e.g. a non-null result)
  };
  Kind kind = kNotReply;
  bool has_id = false;
  std::uint64_t id = 0;
  // oldest: a kAck without an id that acknowledges the oldest request not yet
  // acknowledged (a venue that answers every request in order, naming none:
  // Coinbase "subscriptions").
  bool oldest = false;
  // deliver: the frame also goes to the handler (it carries the connection's
  // message sequence, which the pipeline counts: Coinbase sequence_num).
  bool deliver = false;
  // rate_limited: a kRejected that refuses for the message rate (Kraken
  // "Exceeded msg rate"), not for its content: the session keeps the
  // connection, widens its control interval and sends the request again. The
  // frame also goes to the handler, which journals the refusal.
  bool rate_limited = false;
};

class ControlProtocol {
 public:
  virtual ~ControlProtocol() = default;
  // subscribe_message: one request subscribing `streams` (at most the
  // venue's streams-per-message), carrying request id `id`.
  virtual std::string subscribe_message(std::span<const std::string> streams, std::uint64_t id) const = 0;
  // unsubscribe_message: the request that ends `streams` (resync by
  // resubscribing one symbol uses it).
  virtual std::string unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const = 0;
  // classify: while subscribe replies are pending, whether `data` is one of
  // them. data[size .. size + SIMDJSON_PADDING) is readable.
  virtual ReplyVerdict classify(const char* data, std::size_t size) = 0;
  // ping_text: the application-level ping to send on silence ("ping",
  // {"op":"ping"}); empty: a websocket protocol ping.
  virtual std::string_view ping_text() const { return {}; }
  // is_pong: a text frame that answers ping_text() (consumed by the session).
  virtual bool is_pong(const char* data, std::size_t size) const {
    (void)data, (void)size;
    return false;
  }
};

}  // namespace tickwire::connector
