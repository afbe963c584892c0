#include "tickwire/connector/ws_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <functional>
#include <initializer_list>
#include <random>
#include <type_traits>

#include "tickwire/connector/log.hpp"
#include "tickwire/connector/rate_limit.hpp"
#include "handshake_tap.hpp"
#include "net_connect.hpp"
#include "tickwire/connector/ws_frames.hpp"
#include "tickwire/middleware/tsc_clock.hpp"

namespace tickwire::connector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The feed thread's io_context executor, named concretely: asio's type-erased
// any_io_executor costs a copy and a virtual dispatch at every step of every
// read (about an eighth of the feed thread's CPU at full rate, bench/RESULTS.md).
using Executor = asio::io_context::executor_type;
template <class T>
using Awaitable = asio::awaitable<T, Executor>;
using TcpStream = beast::basic_stream<tcp, Executor>;
constexpr asio::use_awaitable_t<Executor> kAwait;

std::string clip(std::string_view s, std::size_t n = 200) {
  return std::string(s.substr(0, n)) + (s.size() > n ? "..." : "");
}

}  // namespace

// Conn: one websocket connection (one generation). Owned jointly by the
// session's bookkeeping and by its coroutine; all on the feed thread.
struct Conn {
  Conn(asio::io_context& io, std::uint32_t g, bool cand)
      : generation(g), candidate(cand), sub_timer(io), control_timer(io), lifetime(io), liveness(io),
        close_timer(io) {}

  std::uint32_t generation;
  bool candidate;            // opened by a rollover, beside the primary
  bool up = false;           // websocket handshake done
  bool subscribed = false;   // every SUBSCRIBE acknowledged (or none to send)
  bool ended = false;
  bool retired = false;      // closed by a finished rollover
  SteadyClock::time_point up_at{};
  unsigned http_status = 0;  // of a declined upgrade
  milliseconds retry_after{-1};
  std::string end_reason;
  std::string close_reason;  // why we closed it, when we did
  std::uint64_t first_id = 0;
  std::vector<bool> acked;   // by SUBSCRIBE message
  std::size_t acks = 0;
  // SUBSCRIBE messages written and not answered yet, in the order written (a
  // rate-limit refusal naming no request refuses the first: replies come in
  // order), and by message the rate-limit refusals it has had.
  std::deque<std::size_t> in_flight;
  std::vector<std::uint32_t> refusals;
  std::deque<std::size_t> resend;  // refused for the rate: sent again before the rest
  SteadyClock::time_point next_control_at{};  // the next SUBSCRIBE goes out no sooner
  asio::steady_timer sub_timer;  // SUBSCRIBE spacing and reply timeout
  // Subscribe and unsubscribe requests after the subscription (one symbol's
  // resubscribe), each sent no sooner than next_control_at: the venue's
  // message-rate limit holds for them too.
  std::deque<std::string> control_queue;
  asio::steady_timer control_timer;
  asio::steady_timer lifetime;   // max_lifetime -> rollover
  asio::steady_timer liveness;   // the periodic silence check (watch_liveness)
  // Frames received (data and control): the read loop only increments it;
  // watch_liveness compares it between checks, so no timer is re-armed per frame.
  std::uint64_t rx_frames = 0;
  // A ping or pong at Beast (it takes one at a time); a pong wanted meanwhile
  // waits in pong_payload (only the latest ping is answered, RFC 6455 5.5.3).
  bool ping_in_flight = false;
  bool pong_wanted = false;
  std::string pong_payload;
  bool close_sent = false;       // our close frame is written or on its way
  asio::steady_timer close_timer;  // the server's close reply, awaited
  bool silent = false;           // dropped for silence by watch_liveness
  // Text frames written after the subscription (app-level pings, one
  // symbol's resubscribe), one write at a time as Beast requires: send()
  // queues, the write in progress takes the next when it completes.
  std::deque<std::string> outbox;
  bool writing = false;
  // The times of the subscribe and unsubscribe requests sent in the last
  // hour (only kept when SessionOptions::control_ops_per_hour is set).
  std::deque<SteadyClock::time_point> control_ops;
  std::function<void(std::string)> send;  // queue a text frame, once up
  std::function<void()> close;   // graceful websocket close, once up
  std::function<void()> abort;   // socket close, while connecting
};

struct WsSession::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  SessionOptions options;
  SessionHandler& handler;
  ssl::context tls{ssl::context::tls_client};
  std::string tls_error;
  std::string options_error;
  asio::steady_timer backoff_timer;
  asio::steady_timer rollover_timer;  // rollover retry backoff
  asio::steady_timer overlap_timer;   // the overlap's end: timeout or finish_rollover()
  // signal: never expires; cancel() wakes every coroutine waiting for a
  // connection's state to change, and each re-checks its condition.
  asio::steady_timer signal;
  bool stopping = false;
  bool rolling = false;
  bool overlap_confirmed = false;
  std::shared_ptr<Conn> primary;
  std::shared_ptr<Conn> candidate;
  std::uint32_t next_generation = 1;
  std::uint64_t next_request_id = 1;
  std::mt19937_64 rng;
  bool app_ping = false;  // the protocol pings with a text message, not a websocket ping
  // The spacing of control messages: options.control_interval, widened by
  // rate-limit refusals (interval_changed_at: the last widening or halving).
  milliseconds interval;
  SteadyClock::time_point interval_changed_at{};
  SessionStats stats;

  Impl(asio::io_context& ctx, SessionOptions o, SessionHandler& h)
      : io(ctx), options(std::move(o)), handler(h), backoff_timer(ctx), rollover_timer(ctx),
        overlap_timer(ctx), signal(ctx, SteadyClock::time_point::max()),
        rng(options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()) {
    tls_error = detail::configure_tls(tls, options.verify_tls, options.ca_file);
    if (!options.subscribe.empty() && !options.protocol) {
      options_error = "streams to subscribe by message but no control protocol (SessionOptions::protocol)";
    }
    app_ping = options.protocol && !options.protocol->ping_text().empty();
    if (options.subscribe.size() > options.max_streams) {
      options_error = fmt::format("{} streams to subscribe exceed max_streams {} per connection",
                                  options.subscribe.size(), options.max_streams);
    }
    if (options.streams_per_message == 0) options.streams_per_message = 1;
    options.control_interval_max = std::max(options.control_interval_max, options.control_interval);
    interval = options.control_interval;
  }

  // control_interval: the current spacing of control messages; first halves
  // it once per control_relax_after passed since it last changed, never
  // under options.control_interval.
  milliseconds control_interval() {
    const auto now = SteadyClock::now();
    while (interval > options.control_interval && now - interval_changed_at >= options.control_relax_after) {
      interval = std::max(options.control_interval, interval / 2);
      interval_changed_at += options.control_relax_after;
    }
    return interval;
  }

  // widen_control_interval: a rate-limit refusal doubles the spacing (at
  // least 1 ms, at most control_interval_max).
  milliseconds widen_control_interval() {
    interval = std::min(std::max(control_interval() * 2, milliseconds(1)), options.control_interval_max);
    interval_changed_at = SteadyClock::now();
    return interval;
  }

  void notify() { signal.cancel(); }

  Awaitable<void> notified() {
    beast::error_code ec;
    co_await signal.async_wait(asio::redirect_error(kAwait, ec));
  }

  // sleep: waits on `timer` for `d`; false when the session is stopping.
  Awaitable<bool> sleep(asio::steady_timer& timer, milliseconds d) {
    timer.expires_after(d);
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(kAwait, ec));
    co_return !stopping;
  }

  // acquire_attempt: waits until the shared attempt limiters (the venue's
  // per second, then the process's per 5 min) admit one more connection
  // attempt; false when the session is stopping. A unit the first took when
  // the second refuses is spent: the limits are only kept more strictly.
  Awaitable<bool> acquire_attempt(asio::steady_timer& timer) {
    while (!stopping) {
      SlidingWindowLimiter* refused_by = nullptr;
      milliseconds wait{0};
      for (SlidingWindowLimiter* limiter : {options.venue_attempt_limiter.get(), options.attempt_limiter.get()}) {
        if (limiter == nullptr) continue;
        wait = std::chrono::ceil<milliseconds>(limiter->try_acquire(1));
        if (wait.count() != 0) {
          refused_by = limiter;
          break;
        }
      }
      if (refused_by == nullptr) co_return true;
      ++stats.throttled;
      const auto cause = fmt::format("{} limit ({} per {} s)", refused_by->name(), refused_by->limit(),
                                     std::chrono::ceil<std::chrono::seconds>(refused_by->window()).count());
      handler.on_backoff(wait, cause);
      if (!co_await sleep(timer, wait)) break;
    }
    co_return false;
  }

  // control_wait: 0 when the venue's control limiter (if any) admits one more
  // control message now (and takes it), else how long until it would.
  milliseconds control_wait() {
    if (!options.control_limiter) return milliseconds(0);
    const auto wait = std::chrono::ceil<milliseconds>(options.control_limiter->try_acquire(1));
    if (wait.count() != 0) ++stats.controls_throttled;
    return wait;
  }

  // next_wait: the delay before retrying after `conn` failed, and why; grows
  // `backoff`. Full jitter (uniform in [0, backoff]) but never under the
  // initial backoff, and never under the server's Retry-After.
  std::pair<milliseconds, std::string> next_wait(const Conn& conn, milliseconds& backoff) {
    std::uniform_int_distribution<std::int64_t> pick(0, backoff.count());
    auto wait = std::max(milliseconds(pick(rng)), options.backoff_initial);
    backoff = std::min(backoff * 2, options.backoff_max);
    std::string cause = "backoff";
    if (conn.http_status == 429 || conn.http_status == 418) {
      auto floor = conn.retry_after;
      if (floor.count() < 0) floor = conn.http_status == 418 ? options.ban_wait : options.backoff_max;
      if (floor > wait) {
        wait = floor;
        cause = conn.end_reason;
      }
      // A refusal means the limit is near: keep the backoff high afterwards.
      backoff = options.backoff_max;
    }
    return {wait, cause};
  }

  static Awaitable<void> run(std::shared_ptr<Impl> self) {
    auto backoff = self->options.backoff_initial;
    while (!self->stopping) {
      if (!co_await self->acquire_attempt(self->backoff_timer)) break;
      auto conn = self->launch(false);
      self->primary = conn;
      // Follow the primary across rollovers until a primary ends for good.
      for (;;) {
        while (!conn->ended) co_await self->notified();
        if (self->primary && self->primary != conn) {
          conn = self->primary;
          continue;
        }
        break;
      }
      self->primary = nullptr;
      if (self->candidate) self->request_close(*self->candidate, "rollover abandoned: primary connection lost");
      if (self->stopping) {
        // A clean shutdown still ends the stream: say so, so that a replay
        // consumer can tell "stopped" from "nothing happened".
        if (conn->up) self->handler.on_disconnected("connector shutdown");
        break;
      }
      self->handler.on_disconnected(conn->end_reason);
      if (conn->up && SteadyClock::now() - conn->up_at >= self->options.backoff_reset_after) {
        backoff = self->options.backoff_initial;
      }
      auto [wait, cause] = self->next_wait(*conn, backoff);
      self->handler.on_backoff(wait, cause);
      if (!co_await self->sleep(self->backoff_timer, wait)) break;
    }
  }

  // launch: starts connection attempt `next_generation` in its own coroutine.
  std::shared_ptr<Conn> launch(bool is_candidate) {
    auto conn = std::make_shared<Conn>(io, next_generation++, is_candidate);
    asio::co_spawn(io, conn_main(shared_from_this(), conn), asio::detached);
    return conn;
  }

  static Awaitable<void> conn_main(std::shared_ptr<Impl> self, std::shared_ptr<Conn> conn) {
    ++self->stats.attempts;
    // Not a conditional expression: g++ 12 destroys temporaries twice when
    // co_await appears in the arms of ?: (a double free seen here).
    std::string reason;
    if (self->options.url.tls) {
      reason = co_await self->connect_and_read<true>(conn);
    } else {
      reason = co_await self->connect_and_read<false>(conn);
    }
    self->ended(*conn, std::move(reason));
  }

  // ended: bookkeeping when a connection's coroutine finishes.
  void ended(Conn& conn, std::string reason) {
    conn.ended = true;
    conn.end_reason = conn.close_reason.empty() ? std::move(reason) : conn.close_reason;
    conn.close = nullptr;
    conn.abort = nullptr;
    conn.sub_timer.cancel();
    conn.control_timer.cancel();
    conn.lifetime.cancel();
    conn.liveness.cancel();
    conn.close_timer.cancel();
    if (!conn.retired && !conn.candidate) {
      TW_LOG_WARN(log(), "{}{}: connection {} ended: {}", options.url.host, options.url.target, conn.generation,
                  std::string_view(conn.end_reason));
    }
    if (primary.get() == &conn && candidate && candidate->subscribed && !candidate->ended && !stopping) {
      // The replacement is already up and subscribed: switch at once (the
      // old connection's end, e.g. after serverShutdown, forced the switch).
      const auto previous = conn.generation;
      primary = std::move(candidate);
      primary->candidate = false;
      ++stats.rollovers;
      overlap_timer.cancel();
      handler.on_rollover_finished(previous, primary->generation, overlap_confirmed);
    }
    notify();
  }

  // request_close: ends `conn` on purpose; `reason` becomes its end reason.
  void request_close(Conn& conn, std::string reason) {
    if (conn.ended) return;
    if (conn.close_reason.empty()) conn.close_reason = std::move(reason);
    if (conn.close) {
      auto close = std::move(conn.close);
      conn.close = nullptr;
      close();
    } else if (conn.abort) {
      conn.abort();
    }
  }

  // Beast over a HandshakeTap: Beast does the upgrade, TLS and the frames we
  // write; the read loop decodes the server's frames itself (WsFrameReader).
  template <bool kTls>
  using Stream = std::conditional_t<kTls, websocket::stream<detail::HandshakeTap<beast::ssl_stream<TcpStream>>>,
                                    websocket::stream<detail::HandshakeTap<TcpStream>>>;

  // open: resolve, TCP connect, TLS handshake (SNI, host-name check) and the
  // websocket upgrade; "" when the connection is up, else the reason.
  template <bool kTls>
  Awaitable<std::string> open(Conn& conn, Stream<kTls>& ws) {
    const WsUrl& url = options.url;
    beast::error_code ec;
    detail::ConnectOptions how;
    how.verify_tls = options.verify_tls;
    how.timeout = options.connect_timeout;
    how.aborted = [this, &conn] { return stopping || !conn.close_reason.empty(); };
    const detail::ConnectFailure failed = co_await detail::connect_stream(ws.next_layer().next_layer(), url, std::move(how));
    using Stage = detail::ConnectFailure::Stage;
    switch (failed.stage) {
      case Stage::kNone: break;
      case Stage::kAborted: co_return "closed while connecting";
      case Stage::kResolve:
      case Stage::kConnect: co_return fmt::format("{} {}:{}: {}", failed.stage_name(), url.host, url.port, failed.detail);
      case Stage::kTls:
      case Stage::kTlsHandshake: co_return fmt::format("{} {}: {}", failed.stage_name(), url.host, failed.detail);
    }
    beast::get_lowest_layer(ws).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options.connect_timeout;
    // No idle timeout in Beast: it re-arms a timer (a timerfd_settime
    // system call) on every read, about a third of the cost of a frame at
    // full rate. watch_liveness() checks a frame counter instead.
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
    ws.read_message_max(options.max_frame_bytes);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::user_agent, "tickwire");
    }));
    // The response is kept so that a refusal's status and Retry-After reach
    // the backoff.
    websocket::response_type response;
    co_await ws.async_handshake(response, url.host + ":" + url.port, url.target, asio::redirect_error(kAwait, ec));
    if (ec) co_return declined(conn, ec, response);
    if (!ws.next_layer().header_complete()) {
      co_return fmt::format("websocket handshake {}{}: the upgrade response was not read to its end",
                            url.host, url.target);
    }
    co_return std::string();
  }

  template <bool kTls>
  Awaitable<std::string> connect_and_read(std::shared_ptr<Conn> conn) {
    if (!options_error.empty()) co_return options_error;
    if (kTls && !tls_error.empty()) co_return tls_error;
    auto ws = [&] {
      if constexpr (kTls) return std::make_shared<Stream<true>>(io, tls);
      else return std::make_shared<Stream<false>>(io);
    }();
    conn->abort = [w = std::weak_ptr(ws)] {
      if (auto s = w.lock()) {
        close_socket(*s);
      }
    };
    if (std::string failed = co_await open<kTls>(*conn, *ws); !failed.empty()) co_return failed;

    beast::error_code ec;
    conn->up = true;
    conn->up_at = SteadyClock::now();
    conn->abort = nullptr;
    ++stats.connects;
    // Our close frame goes out through Beast; the read loop then waits for
    // the server's (Beast's own wait for it is cut short by the tap), for at
    // most connect_timeout before the socket is closed.
    conn->close = [w = std::weak_ptr(ws), wc = std::weak_ptr(conn), timeout = options.connect_timeout] {
      const auto s = w.lock();
      const auto c = wc.lock();
      if (!s || !c || c->close_sent) return;
      c->close_sent = true;
      s->async_close(websocket::close_code::normal, [s](beast::error_code) {});
      c->close_timer.expires_after(timeout);
      c->close_timer.async_wait([w](beast::error_code waited) {
        if (waited) return;
        if (auto st = w.lock()) {
          close_socket(*st);
        }
      });
    };
    conn->send = [wc = std::weak_ptr(conn), w = std::weak_ptr(ws)](std::string text) {
      const auto c = wc.lock();
      const auto st = w.lock();
      if (!c || !st || c->ended) return;
      c->outbox.push_back(std::move(text));
      pump<kTls>(c, st);
    };
    // The bytes that came with the upgrade response (the first frames, maybe).
    WsFrameReader reader(options.max_frame_bytes);
    {
      const std::string early = ws->next_layer().take_after_header();
      reader.append(early.data(), early.size());
    }
    if (!conn->candidate) handler.on_connected();
    if (!conn->close_reason.empty()) request_close(*conn, conn->close_reason);
    asio::co_spawn(io, watch_lifetime(shared_from_this(), conn), asio::detached);
    asio::co_spawn(io, watch_liveness<kTls>(shared_from_this(), conn, ws), asio::detached);
    if (options.subscribe.empty()) {
      conn->subscribed = true;
      notify();
    } else {
      asio::co_spawn(io, subscribe<kTls>(shared_from_this(), conn, ws), asio::detached);
    }
    auto& socket = ws->next_layer().next_layer();
    std::uint64_t rx_ticks = middleware::TscClock::now_ticks();
    for (;;) {
      // Every complete frame already read, then one read of the socket: one
      // wake-up per read, however many frames it brought.
      for (;;) {
        const WsFrameReader::Event ev = reader.next();
        if (ev.kind == WsFrameReader::Kind::kNone) break;
        ++conn->rx_frames;
        switch (ev.kind) {
          case WsFrameReader::Kind::kMessage: on_message(*conn, ev.data, ev.size, rx_ticks); break;
          case WsFrameReader::Kind::kPing:
            conn->pong_payload.assign(ev.data, ev.size);
            conn->pong_wanted = true;
            send_pong<kTls>(conn, ws);
            break;
          case WsFrameReader::Kind::kPong: break;  // traffic: watch_liveness sees rx_frames move
          case WsFrameReader::Kind::kClose: {
            std::string why = fmt::format("closed by server (code {}, reason '{}')",
                                          ev.close_code == 0 ? 1005u : unsigned{ev.close_code},
                                          std::string_view(ev.data, ev.size));
            if (!conn->close_sent) {
              conn->close_sent = true;
              close_with<kTls>(ws, ev.close_code == 0 ? websocket::close_code::normal
                                                      : static_cast<websocket::close_code>(ev.close_code));
            } else {
              close_socket(*ws);
            }
            co_return why;
          }
          case WsFrameReader::Kind::kError: {
            // Tell the server why (1009 too big, 1002 protocol error), as Beast did.
            if (!conn->close_sent && ev.error != WsFrameReader::Error::kNoMemory) {
              conn->close_sent = true;
              close_with<kTls>(ws, ev.error == WsFrameReader::Error::kTooBig ? websocket::close_code::too_big
                                                                              : websocket::close_code::protocol_error);
            } else {
              close_socket(*ws);
            }
            co_return frame_error(ev);
          }
          case WsFrameReader::Kind::kNone: break;
        }
      }
      const auto room = reader.prepare();
      if (room.empty()) continue;  // the reader failed: its next() says why
      const std::size_t n = co_await socket.async_read_some(asio::buffer(room.data(), room.size()),
                                                            asio::redirect_error(kAwait, ec));
      rx_ticks = middleware::TscClock::now_ticks();
      reader.commit(n);
      if (ec && n == 0) {
        close_socket(*ws);
        co_return conn->silent ? silence_reason() : fmt::format("read: {}", ec.message());
      }
    }
  }

  // on_message: one websocket message: a reply to our requests, an
  // application pong, or a frame for the handler.
  void on_message(Conn& conn, const char* data, std::size_t n, std::uint64_t rx_ticks) {
    if (conn.acks < conn.acked.size()) {
      const ReplyVerdict verdict = options.protocol->classify(data, n);
      if (verdict.kind != ReplyVerdict::kNotReply) {
        on_reply(conn, verdict, data, n);
        if (verdict.deliver || verdict.rate_limited) handler.on_frame(data, n, rx_ticks, conn.generation);
        return;
      }
    }
    if (app_ping && options.protocol->is_pong(data, n)) return;
    handler.on_frame(data, n, rx_ticks, conn.generation);
  }

  // frame_error: the reason for a frame the reader refused, counted.
  std::string frame_error(const WsFrameReader::Event& ev) {
    if (ev.error == WsFrameReader::Error::kNoMemory) {
      return fmt::format("websocket read: {}: connection reset", ev.what);
    }
    std::string why;
    if (ev.error == WsFrameReader::Error::kTooBig) {
      ++stats.oversized_frames;
      why = fmt::format("frame larger than max_frame_bytes ({}): connection reset", options.max_frame_bytes);
    } else {
      ++stats.protocol_errors;
      why = fmt::format("websocket protocol error: {}: connection reset", ev.what);
    }
    handler.on_protocol_error(why);
    return why;
  }

  // close_with: the connection is over: our close frame (`code`) goes out
  // through Beast, then the socket closes; after connect_timeout it closes
  // anyway (a write holding Beast's write side, e.g. to a server that stopped
  // reading, would hold the close frame back).
  template <bool kTls>
  void close_with(const std::shared_ptr<Stream<kTls>>& ws, websocket::close_code code) {
    auto deadline = std::make_shared<asio::steady_timer>(io, options.connect_timeout);
    deadline->async_wait([w = std::weak_ptr(ws)](beast::error_code ec) {
      if (ec) return;
      if (auto s = w.lock()) close_socket(*s);
    });
    ws->async_close(code, [ws, deadline](beast::error_code) {
      deadline->cancel();
      close_socket(*ws);
    });
  }

  template <typename Ws>
  static void close_socket(Ws& ws) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
  }

  // send_pong: answers the latest ping unless a ping or pong is at Beast
  // (one at a time); its completion sends the one wanted meanwhile.
  template <bool kTls>
  static void send_pong(const std::shared_ptr<Conn>& conn, const std::shared_ptr<Stream<kTls>>& ws) {
    if (conn->ping_in_flight || !conn->pong_wanted || conn->ended || conn->close_sent) return;
    conn->pong_wanted = false;
    conn->ping_in_flight = true;
    websocket::ping_data payload;
    payload.assign(conn->pong_payload.data(), std::min<std::size_t>(conn->pong_payload.size(), payload.max_size()));
    ws->async_pong(payload, [conn, ws](beast::error_code) {
      conn->ping_in_flight = false;
      send_pong<kTls>(conn, ws);
    });
  }

  // pump: writes the outbox's first frame unless a write is in progress;
  // each completion starts the next.
  template <bool kTls>
  static void pump(const std::shared_ptr<Conn>& conn, const std::shared_ptr<Stream<kTls>>& ws) {
    if (conn->writing || conn->outbox.empty() || conn->ended) return;
    conn->writing = true;
    ws->text(true);
    ws->async_write(asio::buffer(conn->outbox.front()), [conn, ws](beast::error_code ec, std::size_t) {
      conn->writing = false;
      conn->outbox.pop_front();
      if (!ec) pump<kTls>(conn, ws);  // on error the read side reports the failure
    });
  }

  // resubscribe: unsubscribes and subscribes `streams` again on the primary
  // connection, once its subscription is done (replies go to the handler).
  void resubscribe(const std::vector<std::string>& streams) {
    if (!primary || !primary->subscribed || !primary->send || !options.protocol) return;
    if (!take_control_ops(*primary, 2)) {
      start_rollover(fmt::format("{} subscribe and unsubscribe requests in the last hour on connection {}, the "
                                 "venue's limit {}: a new connection resubscribes every stream",
                                 primary->control_ops.size(), primary->generation, options.control_ops_per_hour));
      return;
    }
    primary->control_queue.push_back(options.protocol->unsubscribe_message(streams, next_request_id++));
    primary->control_queue.push_back(options.protocol->subscribe_message(streams, next_request_id++));
    send_controls(primary);
  }

  // send_controls: sends `conn`'s queued control requests, one per control
  // interval (the interval a rate-limit refusal widened, too); a timer sends
  // the rest.
  void send_controls(const std::shared_ptr<Conn>& conn) {
    while (!conn->control_queue.empty() && !conn->ended && conn->send) {
      const auto now = SteadyClock::now();
      if (now < conn->next_control_at) {
        conn->control_timer.expires_at(conn->next_control_at);
        conn->control_timer.async_wait([self = shared_from_this(), wc = std::weak_ptr(conn)](beast::error_code ec) {
          if (auto c = wc.lock(); c && !ec) self->send_controls(c);
        });
        return;
      }
      if (const milliseconds wait = control_wait(); wait.count() != 0) {
        conn->control_timer.expires_after(wait);
        conn->control_timer.async_wait([self = shared_from_this(), wc = std::weak_ptr(conn)](beast::error_code ec) {
          if (auto c = wc.lock(); c && !ec) self->send_controls(c);
        });
        return;
      }
      conn->next_control_at = now + control_interval();
      conn->send(std::move(conn->control_queue.front()));
      conn->control_queue.pop_front();
    }
  }

  // take_control_ops: room for `n` more subscribe/unsubscribe requests on
  // `conn` within the hour (then counted), or false when the venue's hourly
  // limit would be passed.
  bool take_control_ops(Conn& conn, std::size_t n) {
    if (options.control_ops_per_hour == 0) return true;
    const auto now = SteadyClock::now();
    while (!conn.control_ops.empty() && now - conn.control_ops.front() >= std::chrono::hours(1)) {
      conn.control_ops.pop_front();
    }
    if (conn.control_ops.size() + n > options.control_ops_per_hour) return false;
    conn.control_ops.insert(conn.control_ops.end(), n, now);
    return true;
  }

  // declined: the reason for a failed websocket handshake; for an HTTP
  // refusal it records the status and Retry-After for the backoff.
  std::string declined(Conn& conn, const beast::error_code& ec, const websocket::response_type& response) {
    if (ec != websocket::error::upgrade_declined) {
      return fmt::format("websocket handshake {}{}: {}", options.url.host, options.url.target, ec.message());
    }
    conn.http_status = response.result_int();
    const auto it = response.find(http::field::retry_after);
    if (it != response.end()) conn.retry_after = parse_retry_after(it->value(), std::chrono::system_clock::now());
    if (conn.retry_after.count() >= 0) {
      return fmt::format("HTTP {}, Retry-After {} s", conn.http_status,
                         std::chrono::duration_cast<std::chrono::seconds>(conn.retry_after).count());
    }
    return fmt::format("HTTP {} on websocket upgrade of {}{}", conn.http_status, options.url.host,
                       options.url.target);
  }

  // subscribe: sends the SUBSCRIBE messages spaced by the control interval
  // (those refused for the message rate again, first), then waits
  // subscribe_timeout after the last one for the replies.
  template <bool kTls>
  static Awaitable<void> subscribe(std::shared_ptr<Impl> self, std::shared_ptr<Conn> conn,
                                         std::shared_ptr<Stream<kTls>> ws) {
    const std::size_t messages = self->plan_subscribe(*conn);
    const bool resubscribe = conn->generation > 1;
    beast::error_code ec;
    ws->text(true);
    std::size_t next = 0;  // the next message never sent
    auto reply_deadline = SteadyClock::time_point::max();
    // Each wait may end early (a reply cancels sub_timer): the loop looks again.
    while (!conn->ended && conn->close && !conn->subscribed) {
      const auto now = SteadyClock::now();
      if (conn->resend.empty() && next == messages) {
        if (now >= reply_deadline) {
          self->request_close(*conn, fmt::format("no reply to SUBSCRIBE ({} of {} acknowledged) within {} ms",
                                                 conn->acks, messages, self->options.subscribe_timeout.count()));
          co_return;
        }
        conn->sub_timer.expires_at(reply_deadline);
        co_await conn->sub_timer.async_wait(asio::redirect_error(kAwait, ec));
        continue;
      }
      if (now < conn->next_control_at) {
        conn->sub_timer.expires_at(conn->next_control_at);
        co_await conn->sub_timer.async_wait(asio::redirect_error(kAwait, ec));
        continue;
      }
      if (const milliseconds wait = self->control_wait(); wait.count() != 0) {
        conn->sub_timer.expires_after(wait);
        co_await conn->sub_timer.async_wait(asio::redirect_error(kAwait, ec));
        continue;
      }
      std::size_t m = next;
      const bool again = !conn->resend.empty();
      if (again) {
        m = conn->resend.front();
        conn->resend.pop_front();
        if (conn->acked[m]) continue;  // answered after all
        ++self->stats.resent;
      } else {
        ++next;
      }
      conn->in_flight.push_back(m);
      conn->next_control_at = now + self->control_interval();
      const std::string msg = self->subscribe_text(*conn, m);
      ec = {};
      co_await ws->async_write(asio::buffer(msg), asio::redirect_error(kAwait, ec));
      if (ec || conn->ended) co_return;  // the read side reports a failure
      reply_deadline = SteadyClock::now() + self->options.subscribe_timeout;
      if (!again && next == messages) {  // the last message, written for the first time
        self->handler.on_subscribe_sent(conn->generation, self->options.subscribe.size(), resubscribe);
      }
    }
  }

  // plan_subscribe: request ids and per-message state of `conn`'s SUBSCRIBE
  // messages; returns their number.
  std::size_t plan_subscribe(Conn& conn) {
    const std::size_t per = options.streams_per_message;
    const std::size_t messages = (options.subscribe.size() + per - 1) / per;
    conn.first_id = next_request_id;
    next_request_id += messages;
    conn.acked.assign(messages, false);
    conn.in_flight.clear();
    conn.refusals.assign(messages, 0);
    (void)take_control_ops(conn, messages);  // the connection's first requests: counted, never refused
    return messages;
  }

  // subscribe_text: SUBSCRIBE message `m` of `conn` (the same text when sent again).
  std::string subscribe_text(const Conn& conn, std::size_t m) const {
    const auto& streams = options.subscribe;
    const std::size_t per = options.streams_per_message;
    const std::size_t end = std::min(streams.size(), (m + 1) * per);
    return options.protocol->subscribe_message(std::span<const std::string>(streams.data() + m * per, end - m * per),
                                               conn.first_id + m);
  }

  // on_reply: a reply to one of our SUBSCRIBE messages, as the protocol classified it.
  void on_reply(Conn& conn, const ReplyVerdict& verdict, const char* data, std::size_t size) {
    ++stats.control_replies;
    const bool has_id = verdict.has_id;
    const std::uint64_t id = verdict.id;
    const bool error = verdict.kind == ReplyVerdict::kRejected;
    const bool result_null = verdict.kind == ReplyVerdict::kAck;
    const std::string_view text(data, size);
    if (verdict.rate_limited && error) {
      rate_limited(conn, verdict, text);
      return;
    }
    if (verdict.oldest && result_null) {
      // In request order, naming none: the oldest request not yet acknowledged.
      const auto unacked = std::find(conn.acked.begin(), conn.acked.end(), false);
      if (unacked == conn.acked.end()) return;
      ack(conn, static_cast<std::size_t>(unacked - conn.acked.begin()));
      return;
    }
    if (!has_id || id < conn.first_id || id >= conn.first_id + conn.acked.size()) {
      if (error) request_close(conn, fmt::format("error reply while subscribing: {}", clip(text)));
      return;
    }
    if (error || !result_null) {
      request_close(conn, fmt::format("SUBSCRIBE id {} rejected: {}", id, clip(text)));
      return;
    }
    ack(conn, static_cast<std::size_t>(id - conn.first_id));
  }

  // rate_limited: a SUBSCRIBE was refused for the message rate: the one the
  // reply names, else the oldest one in flight (replies come in request
  // order). Widens the control interval and queues the request again, or
  // after rate_limit_retries re-sends closes the connection.
  void rate_limited(Conn& conn, const ReplyVerdict& verdict, std::string_view text) {
    ++stats.rate_limited;
    const milliseconds wider = widen_control_interval();
    conn.next_control_at = SteadyClock::now() + wider;
    conn.sub_timer.cancel();  // the subscribe loop looks at the new time
    std::size_t m = 0;
    if (verdict.has_id && verdict.id >= conn.first_id && verdict.id < conn.first_id + conn.acked.size()) {
      m = static_cast<std::size_t>(verdict.id - conn.first_id);
    } else {
      if (conn.in_flight.empty()) {
        const auto reason = fmt::format("refused for the message rate with no SUBSCRIBE in flight ({}): control "
                                        "messages now {} ms apart",
                                        clip(text), wider.count());
        TW_LOG_WARN(log(), "{}{}: connection {}: {}", options.url.host, options.url.target, conn.generation,
                    std::string_view(reason));
        handler.on_rate_limited(wider, reason);
        return;
      }
      m = conn.in_flight.front();
    }
    const auto sent = std::find(conn.in_flight.begin(), conn.in_flight.end(), m);
    if (conn.acked[m] || sent == conn.in_flight.end()) return;  // answered already, or already queued again
    conn.in_flight.erase(sent);
    const std::uint64_t id = conn.first_id + m;
    if (++conn.refusals[m] > options.rate_limit_retries) {
      request_close(conn, fmt::format("SUBSCRIBE id {} refused {} times for the message rate ({}), control messages "
                                      "{} ms apart: giving up on the connection",
                                      id, conn.refusals[m], clip(text), wider.count()));
      return;
    }
    conn.resend.push_back(m);
    const auto reason = fmt::format("SUBSCRIBE id {} refused for the message rate ({}): control messages now {} ms "
                                    "apart, sending it again (refusal {} of at most {})",
                                    id, clip(text), wider.count(), conn.refusals[m], options.rate_limit_retries);
    TW_LOG_WARN(log(), "{}{}: connection {}: {}", options.url.host, options.url.target, conn.generation,
                std::string_view(reason));
    handler.on_rate_limited(wider, reason);
  }

  // ack: request first_id + index of `conn` is acknowledged; the last one completes the subscription.
  void ack(Conn& conn, std::size_t index) {
    if (conn.acked[index]) return;
    conn.acked[index] = true;
    if (const auto sent = std::find(conn.in_flight.begin(), conn.in_flight.end(), index);
        sent != conn.in_flight.end()) {
      conn.in_flight.erase(sent);
    }
    if (++conn.acks < conn.acked.size()) return;
    conn.subscribed = true;
    conn.sub_timer.cancel();
    handler.on_subscribed(conn.generation, options.subscribe.size(), conn.generation > 1);
    notify();
  }

  // watch_liveness: every idle_timeout / 8, looks whether any frame arrived
  // since the last look. After idle_timeout / 2 of silence it sends one ping;
  // after idle_timeout it closes the socket (the read loop then ends with
  // silence_reason()). The connection's coroutine holds `ws`; this one only
  // observes it.
  template <bool kTls>
  static Awaitable<void> watch_liveness(std::shared_ptr<Impl> self, std::shared_ptr<Conn> conn,
                                              std::weak_ptr<Stream<kTls>> ws) {
    const auto idle = self->options.idle_timeout;
    const auto period = std::max<SteadyClock::duration>(idle / 8, std::chrono::milliseconds(1));
    std::uint64_t seen = conn->rx_frames;
    auto last_rx = SteadyClock::now();
    bool pinged = false;  // one ping per silence
    for (;;) {
      conn->liveness.expires_after(period);
      beast::error_code ec;
      co_await conn->liveness.async_wait(asio::redirect_error(kAwait, ec));
      if (ec || conn->ended || self->stopping) co_return;
      const auto now = SteadyClock::now();
      if (conn->rx_frames != seen) {
        seen = conn->rx_frames;
        last_rx = now;
        pinged = false;
        continue;
      }
      auto s = ws.lock();
      if (!s) co_return;
      if (now - last_rx >= idle) {
        conn->silent = true;
        close_socket(*s);
        co_return;
      }
      if (now - last_rx >= idle / 2 && !pinged && !conn->ping_in_flight) {
        pinged = true;
        conn->ping_in_flight = true;
        if (self->app_ping) {
          // An application-level ping is a data write: only once the
          // subscribe writes are done (Beast allows one write at a time).
          // It shares the outbox with resubscribes.
          if (conn->subscribed && conn->send) conn->send(std::string(self->options.protocol->ping_text()));
          conn->ping_in_flight = false;
        } else {
          // Beast allows a ping beside a data write; never two pings at once.
          s->async_ping({}, [s, conn](beast::error_code) {
            conn->ping_in_flight = false;
            send_pong<kTls>(conn, s);  // a pong wanted meanwhile
          });
        }
      }
    }
  }

  std::string silence_reason() const {
    return fmt::format("no pong or frame for {} ms: connection dropped", options.idle_timeout.count());
  }

  // watch_lifetime: rolls over a connection that reached max_lifetime.
  static Awaitable<void> watch_lifetime(std::shared_ptr<Impl> self, std::shared_ptr<Conn> conn) {
    conn->lifetime.expires_after(self->options.max_lifetime);
    beast::error_code ec;
    co_await conn->lifetime.async_wait(asio::redirect_error(kAwait, ec));
    if (ec || conn->ended || self->stopping) co_return;
    // A candidate that reaches its lifetime before promotion is impossible in
    // practice (the overlap is far shorter); only the primary rolls over.
    if (self->primary == conn) {
      const auto ms = self->options.max_lifetime.count();
      self->start_rollover(ms % 1000 == 0 ? fmt::format("connection lifetime {} s reached", ms / 1000)
                                          : fmt::format("connection lifetime {} ms reached", ms));
    }
  }

  void start_rollover(std::string reason) {
    if (stopping || rolling || !primary || !primary->up || primary->ended) return;
    rolling = true;
    TW_LOG_INFO(log(), "{}{}: rollover of connection {}: {}", options.url.host, options.url.target,
                primary->generation, std::string_view(reason));
    asio::co_spawn(io, rollover_loop(shared_from_this(), std::move(reason)), asio::detached);
  }

  static Awaitable<void> rollover_loop(std::shared_ptr<Impl> self, std::string reason) {
    auto old = self->primary;
    auto backoff = self->options.backoff_initial;
    const auto old_alive = [&] { return !self->stopping && self->primary == old && !old->ended; };
    while (old_alive()) {
      if (!co_await self->acquire_attempt(self->rollover_timer) || !old_alive()) break;
      auto cand = self->launch(true);
      self->candidate = cand;
      // Before any of its frames: launch() only spawned its coroutine.
      self->handler.on_rollover_candidate(old->generation, cand->generation);
      while (!cand->subscribed && !cand->ended && old_alive()) co_await self->notified();
      if (cand->subscribed && !cand->ended && old_alive()) {
        self->overlap_confirmed = false;
        self->handler.on_rollover_started(old->generation, cand->generation, reason);
        co_await self->sleep(self->overlap_timer, self->options.rollover_overlap_timeout);
        if (!old_alive()) break;  // stopped, or the old connection's end already switched
        if (!cand->ended) {
          self->candidate = nullptr;
          self->primary = cand;
          cand->candidate = false;
          old->retired = true;
          ++self->stats.rollovers;
          self->request_close(*old, "rollover finished");
          self->handler.on_rollover_finished(old->generation, cand->generation, self->overlap_confirmed);
          break;
        }
      }
      if (self->candidate == cand) self->candidate = nullptr;
      // Unless the old connection's end promoted it, the candidate goes.
      if (self->primary != cand) self->request_close(*cand, "rollover abandoned");
      if (!old_alive()) break;
      while (!cand->ended) co_await self->notified();
      self->handler.on_rollover_failed(cand->generation, cand->end_reason);
      auto [wait, cause] = self->next_wait(*cand, backoff);
      self->handler.on_backoff(wait, cause);
      if (!co_await self->sleep(self->rollover_timer, wait)) break;
    }
    self->rolling = false;
  }

  void stop() {
    stopping = true;
    backoff_timer.cancel();
    rollover_timer.cancel();
    overlap_timer.cancel();
    if (candidate) request_close(*candidate, "connector shutdown");
    if (primary) request_close(*primary, "connector shutdown");
    notify();
  }
};

WsSession::WsSession(asio::io_context& io, SessionOptions options, SessionHandler& handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), handler)) {}

WsSession::~WsSession() = default;

void WsSession::start() { asio::co_spawn(impl_->io, Impl::run(impl_), asio::detached); }

void WsSession::stop() {
  asio::post(impl_->io, [self = impl_] { self->stop(); });
}

void WsSession::restart(std::string reason) {
  asio::post(impl_->io, [self = impl_, reason = std::move(reason)]() mutable {
    if (self->primary) self->request_close(*self->primary, "restart: " + reason);
  });
}

void WsSession::rollover(std::string reason) {
  asio::post(impl_->io, [self = impl_, reason = std::move(reason)]() mutable {
    self->start_rollover(std::move(reason));
  });
}

void WsSession::resubscribe(std::vector<std::string> streams) {
  asio::post(impl_->io, [self = impl_, streams = std::move(streams)] { self->resubscribe(streams); });
}

void WsSession::finish_rollover() {
  asio::post(impl_->io, [self = impl_] {
    if (!self->rolling || !self->candidate || !self->candidate->subscribed) return;
    self->overlap_confirmed = true;
    self->overlap_timer.cancel();
  });
}

std::uint32_t WsSession::generation() const noexcept {
  return impl_->primary ? impl_->primary->generation : 0;
}

SessionStats WsSession::stats() const noexcept { return impl_->stats; }

std::chrono::milliseconds WsSession::control_interval() const noexcept { return impl_->control_interval(); }

}  // namespace tickwire::connector
