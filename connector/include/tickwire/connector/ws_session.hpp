// WsSession: one logical websocket feed to an exchange, kept alive on the feed
// thread's io_context: connect (TCP or TLS with certificate and host-name
// verification and SNI), handshake, subscribe (by URL and/or by SUBSCRIBE
// messages), read frames into one reused buffer with simdjson padding after
// the data; on any failure report it, wait a capped, fully jittered
// exponential backoff (at least the server's Retry-After), and reconnect and
// resubscribe until stop(). Before the connection's lifetime ends, or when
// asked (serverShutdown), it rolls over make-before-break: a second connection
// overlaps the first until the handler has proven the overlap.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tickwire/connector/control_protocol.hpp"
#include "tickwire/connector/rate_limit.hpp"
#include "tickwire/connector/ws_url.hpp"

namespace tickwire::connector {

// SessionHandler: what the session reports, all on the feed thread. Every
// connection has a generation (1, 2, ...: +1 per connection attempt); during
// a rollover frames of two generations interleave. Only on_connected,
// on_frame and on_disconnected must be implemented.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // on_connected: the session's (primary) connection is up after a connect
  // or reconnect; not called for a rollover's second connection.
  virtual void on_connected() = 0;
  // on_frame: one complete message; data[size .. size + SIMDJSON_PADDING) is
  // readable. rx_ticks: TscClock ticks taken right after the read completed;
  // generation: the connection it came on (tells a rollover's two apart).
  virtual void on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks, std::uint32_t generation) = 0;
  // on_disconnected: the primary connection is gone (or never came up); the
  // reason names the cause ("HTTP 429, Retry-After 7 s", "no pong or frame
  // for 20 s", "restart: stream btcusdt@trade stale", ...).
  virtual void on_disconnected(std::string_view reason) = 0;
  // on_protocol_error: a frame was refused before it reached on_frame (over
  // max_frame_bytes, or a websocket protocol violation); the connection is
  // reset after this (and on_disconnected follows if it was the primary).
  virtual void on_protocol_error(std::string_view reason) { (void)reason; }
  // on_backoff: the next connection attempt (or rollover retry) waits `delay`;
  // `cause` says why it is that long.
  virtual void on_backoff(std::chrono::milliseconds delay, std::string_view cause) {
    (void)delay, (void)cause;
  }
  // on_subscribe_sent: all SUBSCRIBE messages of generation `generation` are
  // written (`streams` streams); `resubscribe` after a reconnect or rollover.
  virtual void on_subscribe_sent(std::uint32_t generation, std::size_t streams, bool resubscribe) {
    (void)generation, (void)streams, (void)resubscribe;
  }
  // on_subscribed: every SUBSCRIBE of `generation` was acknowledged
  // ({"result":null,"id":N}); data of all subscribed streams may now flow.
  virtual void on_subscribed(std::uint32_t generation, std::size_t streams, bool resubscribe) {
    (void)generation, (void)streams, (void)resubscribe;
  }
  // on_rate_limited: a request was refused for the message rate
  // (ReplyVerdict::rate_limited); control messages are now `interval` apart
  // and `reason` names the reply and the request sent again.
  virtual void on_rate_limited(std::chrono::milliseconds interval, std::string_view reason) {
    (void)interval, (void)reason;
  }
  // on_rollover_candidate: connection `next` is being opened beside
  // `previous` for a rollover. Called before any frame of `next` can arrive:
  // its data may flow before its subscription completes (before
  // on_rollover_started), and must be told from the old connection's from
  // the first frame. If it never gets subscribed, on_rollover_failed follows.
  virtual void on_rollover_candidate(std::uint32_t previous, std::uint32_t next) { (void)previous, (void)next; }
  // on_rollover_started: connection `next` is up and subscribed beside
  // `previous`; from now on frames of both arrive until the handler calls
  // WsSession::finish_rollover() or rollover_overlap_timeout passes.
  virtual void on_rollover_started(std::uint32_t previous, std::uint32_t next, std::string_view reason) {
    (void)previous, (void)next, (void)reason;
  }
  // on_rollover_finished: `previous` was closed and `current` is the primary
  // connection; `overlapped` is true when the handler confirmed the overlap
  // (finish_rollover()), false when the timeout or the old connection's end
  // forced the switch (data between the two may be missing or duplicated).
  virtual void on_rollover_finished(std::uint32_t previous, std::uint32_t current, bool overlapped) {
    (void)previous, (void)current, (void)overlapped;
  }
  // on_rollover_failed: the second connection failed; the first stays and the
  // rollover is retried after on_backoff's delay.
  virtual void on_rollover_failed(std::uint32_t generation, std::string_view reason) {
    (void)generation, (void)reason;
  }
};

struct SessionOptions {
  WsUrl url;                        // streams in the URL (combined or raw) and/or:
  std::vector<std::string> subscribe;  // streams to SUBSCRIBE by message after the handshake
  // The venue's control messages (subscribe requests, their replies,
  // application pings); required when `subscribe` is not empty. Shared with
  // nobody else: the session calls it on the feed thread.
  std::shared_ptr<ControlProtocol> protocol;
  std::string ca_file;              // extra CA bundle for wss; system store otherwise
  bool verify_tls = true;
  std::size_t max_frame_bytes = 1u << 20;
  // Reconnect: full jitter in [0, backoff], doubled per failure up to
  // backoff_max, never under backoff_initial; reset once a connection has
  // stayed up for backoff_reset_after (so a server that accepts and at once
  // closes still sees the backoff grow).
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::milliseconds backoff_reset_after{60'000};
  std::chrono::milliseconds ban_wait{120'000};  // after HTTP 418 without Retry-After
  std::uint64_t jitter_seed = 0;    // 0: from std::random_device
  // Shared by every session of the process (300 attempts / 5 min for
  // Binance); null: unlimited.
  std::shared_ptr<SlidingWindowLimiter> attempt_limiter;
  // A second attempt limit, shared by the sessions of one venue (Coinbase:
  // 8 attempts a second per IP); null: none.
  std::shared_ptr<SlidingWindowLimiter> venue_attempt_limiter;
  // Control messages (subscribe, unsubscribe, resubscribe) a venue counts per
  // IP across connections (Coinbase: 8 a second), shared by the sessions of
  // that venue; a message waits until it fits, beside control_interval's
  // spacing on its own connection. Null: none.
  std::shared_ptr<SlidingWindowLimiter> control_limiter;
  // Liveness: we ping after idle_timeout / 2 of silence and drop the
  // connection when nothing (pong or frame) arrives for idle_timeout.
  std::chrono::milliseconds idle_timeout{20'000};
  std::chrono::milliseconds connect_timeout{10'000};  // TCP + TLS + websocket handshake, each
  // SUBSCRIBE: at most streams_per_message params per message, at most
  // max_streams per connection, messages spaced by control_interval (250 ms:
  // 4/s, leaving room for a ping under Binance's 5 control messages/s); no
  // reply within subscribe_timeout after the last one drops the connection.
  // Replies: while a connection's SUBSCRIBE replies are pending, frames the
  // protocol classifies as replies are consumed by the session; once all are
  // acknowledged every frame goes to the handler untouched.
  std::size_t streams_per_message = 200;
  std::size_t max_streams = 1024;
  std::chrono::milliseconds control_interval{250};
  std::chrono::milliseconds subscribe_timeout{10'000};
  // A SUBSCRIBE refused for the message rate (ReplyVerdict::rate_limited)
  // keeps the connection: the spacing of control messages doubles (at least
  // to 1 ms, at most control_interval_max, shared by the session's
  // connections), the refused request is sent again after it, and after each
  // control_relax_after without such a refusal the spacing halves back,
  // never under control_interval. A request refused rate_limit_retries + 1
  // times closes the connection, and the reconnect backs off, as any other
  // refusal does.
  std::chrono::milliseconds control_interval_max{8'000};
  std::chrono::milliseconds control_relax_after{60'000};
  std::uint32_t rate_limit_retries = 3;
  // control_ops_per_hour: subscribe and unsubscribe requests a connection may
  // send in any hour (OKX: 480); 0: no limit. A resubscribe that would pass
  // it rolls the connection over instead: the new connection's count starts
  // at zero and it subscribes every stream, whose snapshots resync the books.
  std::uint32_t control_ops_per_hour = 0;
  // Rollover: a connection lives at most max_lifetime (Binance: 24 h) before
  // a make-before-break rollover; the overlap ends at the handler's
  // finish_rollover() or after rollover_overlap_timeout.
  std::chrono::milliseconds max_lifetime{std::chrono::minutes(23 * 60 + 50)};
  std::chrono::milliseconds rollover_overlap_timeout{30'000};
};

// SessionStats: counters of one session (feed thread only; copy via stats()).
struct SessionStats {
  std::uint64_t attempts = 0;         // connection attempts started
  std::uint64_t connects = 0;         // connections that completed the handshake
  std::uint64_t oversized_frames = 0; // frames over max_frame_bytes (each reset a connection)
  std::uint64_t protocol_errors = 0;  // websocket protocol violations (each reset a connection)
  std::uint64_t control_replies = 0;  // {"result"/"error","id"} replies consumed by the session
  std::uint64_t rollovers = 0;        // rollovers finished
  std::uint64_t throttled = 0;        // attempts delayed by an attempt limiter
  std::uint64_t controls_throttled = 0;  // control messages delayed by the control limiter
  std::uint64_t rate_limited = 0;     // requests refused for the message rate (each widened the control interval)
  std::uint64_t resent = 0;           // requests sent again after such a refusal
};

class WsSession {
 public:
  // Each connection reads into a buffer of its own (64 KiB, grown for a
  // larger frame up to max_frame_bytes). An invalid option (more than
  // max_streams to subscribe) makes every attempt fail with a reason naming it.
  WsSession(boost::asio::io_context& io, SessionOptions options, SessionHandler& handler);
  ~WsSession();

  // start: begins connecting (call on or before running the io_context).
  void start();
  // stop: closes the connections and ends the reconnect loop; thread-safe.
  void stop();
  // restart: drops the primary connection (e.g. a stale stream) and
  // reconnects through the usual backoff; `reason` reaches on_disconnected
  // as "restart: <reason>". Thread-safe.
  void restart(std::string reason);
  // rollover: starts a make-before-break rollover now (serverShutdown); does
  // nothing while one runs or no connection is up. Thread-safe.
  void rollover(std::string reason);
  // resubscribe: unsubscribes and subscribes `streams` again on the primary
  // connection (a venue whose books resync that way: Bybit), after its
  // subscription is done; the requests share one write queue with app-level
  // pings and their replies reach the handler's on_frame. Does nothing while
  // no connection is subscribed (the next one subscribes everything).
  // Thread-safe.
  void resubscribe(std::vector<std::string> streams);
  // finish_rollover: the handler has seen the overlap (both generations
  // delivered the same exchange ids): close the old connection. Thread-safe.
  void finish_rollover();

  // generation: the primary connection's generation (0 while none is up or
  // being attempted, e.g. during a reconnect backoff). Feed thread only.
  std::uint32_t generation() const noexcept;
  // stats: a copy of the counters. Feed thread only.
  SessionStats stats() const noexcept;
  // control_interval: the current spacing of control messages (see
  // SessionOptions::control_interval_max). Feed thread only.
  std::chrono::milliseconds control_interval() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tickwire::connector
