// Simulator::Impl: the simulator's server state, shared by simulator.cpp
// (market, publishing, faults), sim_session.cpp (websocket sessions) and
// sim_http.cpp (HTTP: REST depth, refusals). Everything in it runs on the
// simulator's io thread, except `market` (guarded by market_mu) and the
// atomic counters.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <simdjson.h>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "tickwire/connector/sim_replay.hpp"
#include "tickwire/connector/simulator.hpp"

namespace tickwire::connector {

// Internal header: the aliases below are for the simulator's own sources.
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// SimStream: the TCP stream under a simulator websocket, with every write
// serialized. Beast writes the handshake, pings and closes, and from inside a
// pending read the pongs and close echoes; the connection's writer writes
// batches of pre-encoded data frames straight to this layer (one socket write
// for many frames). Beast keeps its own writes from interleaving with each
// other but cannot see the batches, so this layer makes each write transfer
// its whole buffer sequence before the next one starts (a complete transfer
// is a valid write_some result) and queues writes that arrive meanwhile.
// Every write therefore holds whole frames and none splits another.
// Single-threaded: the simulator's io thread only.
class SimStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using next_layer_type = beast::tcp_stream;

  explicit SimStream(beast::tcp_stream stream) : next_(std::move(stream)) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  // async_read_some: reads are not serialized; Beast has one at a time.
  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return next_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  // async_write_some: writes all of `buffers`, after every write started
  // before it; completes with the whole size or the error.
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return asio::async_initiate<WriteToken, void(beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          if (!busy_) {
            write_all(b, std::move(handler));
            return;
          }
          waiting_.emplace_back([this, b, h = std::move(handler)]() mutable { write_all(b, std::move(h)); });
        },
        token, buffers);
  }

 private:
  template <class ConstBufferSequence, class Handler>
  void write_all(const ConstBufferSequence& buffers, Handler handler) {
    busy_ = true;
    asio::async_write(next_, buffers,
                      [this, h = std::move(handler)](beast::error_code ec, std::size_t n) mutable {
                        busy_ = false;
                        // The next queued write starts before this handler
                        // runs: the handler may end the connection.
                        if (!waiting_.empty()) {
                          auto next = std::move(waiting_.front());
                          waiting_.pop_front();
                          std::move(next)();
                        }
                        std::move(h)(ec, n);
                      });
  }

  next_layer_type next_;
  bool busy_ = false;
  std::deque<asio::any_completion_handler<void()>> waiting_;
};

// teardown, async_teardown: Beast's websocket close on a SimStream is the
// TCP stream's (found by argument-dependent lookup).
inline void teardown(beast::role_type role, SimStream& stream, beast::error_code& ec) {
  using beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}
template <class TeardownHandler>
void async_teardown(beast::role_type role, SimStream& stream, TeardownHandler&& handler) {
  using beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<TeardownHandler>(handler));
}

// The message faults, in the order deliver() tries them.
enum SimFaultKind : std::size_t {
  kGap, kCloseWs, kCloseTcp, kReset, kStall, kSlow, kPingStorm, kShutdown, kMalformed, kOversize, kReorder,
  kDuplicate, kResnapshot, kRestart, kKeepalive, kBadChecksum, kNoSnapshot, kChecksum, kBeyondDepth, kTradeGap,
  kPrecision, kQuiet, kFaultKinds
};

struct Simulator::Impl {
  // Frame: one thing for a connection's writer to do, in order.
  struct Frame {
    enum class Kind : std::uint8_t { kText, kPing, kCloseWs, kCloseTcp, kReset, kStall };
    Kind kind = Kind::kText;
    std::shared_ptr<const std::string> payload;
    websocket::close_code code = websocket::close_code::going_away;
    bool encoded = false;  // kText: payload is already a whole websocket frame
  };

  struct Connection {
    std::uint64_t id = 0;  // 1-based, in accept order; set once accepted
    websocket::stream<SimStream> ws;
    bool combined;
    std::map<std::string, std::string> subs;  // sim_stream_key -> the name as subscribed
    std::deque<Frame> queue;
    asio::steady_timer wake, ping_timer, life_timer, grace_timer;
    std::mt19937_64 rng;  // fault draws, seeded from the seed and id
    std::uint64_t delivered = 0;              // data messages offered to this connection
    std::map<std::string, std::uint32_t> gap_left;  // stream key -> messages still withheld
    // Bybit restart fault: book stream key -> the `u` this connection's ids
    // restarted after (it sees u - base from then on).
    std::map<std::string, std::uint64_t> u_base;
    std::uint64_t sequence = 0;          // Coinbase: the next sequence_num of this connection
    bool subscribed = false;             // Coinbase: a subscribe arrived (the 5 s rule)
    bool heartbeats = false;             // Coinbase: subscribed to heartbeats
    bool quiet = false;                  // Coinbase quiet fault: no data from now on, heartbeats only
    std::uint64_t heartbeat_counter = 0;
    std::optional<Frame> held;                // reorder: sent after the next data message
    std::deque<Clock::time_point> incoming;   // rate limit window
    std::uint64_t pings_sent = 0;
    std::uint64_t pongs = 0;
    std::optional<Clock::time_point> ping_due;  // oldest unanswered ping
    bool ending = false;   // a terminal frame is queued: no more data
    bool stalled = false;
    bool slow = false;
    bool closed = false;

    Connection(beast::tcp_stream stream, bool combined_)
        : ws(std::move(stream)),
          combined(combined_),
          wake(ws.get_executor()),
          ping_timer(ws.get_executor()),
          life_timer(ws.get_executor()),
          grace_timer(ws.get_executor()) {
      wake.expires_at(asio::steady_timer::time_point::max());
    }
  };
  using ConnPtr = std::shared_ptr<Connection>;

  SimulatorOptions options;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  SimDialect dialect;  // options.venue's; start() refuses a venue with none
  mutable std::mutex market_mu;  // guards `market`: the io thread advances it, book() reads it
  SimMarket market;
  std::vector<SimOutgoing> replay;
  // ReplayBook: one symbol's book as the replayed depth diffs and snapshot
  // lines leave it; served by REST while replaying. Guarded by market_mu.
  struct ReplayBook {
    std::uint64_t last_update_id = 0;
    std::map<std::int64_t, std::int64_t> bids, asks;  // price -> qty, ascending
    // consistent: a snapshot line was reached and every diff sent since
    // continues it. Otherwise REST answers 503 and `unknown` says why.
    bool consistent = false;
    std::string unknown;
    // sent: every diff of the symbol sent so far, in order (pointing into
    // `replay`, which does not change while playing); a snapshot line
    // re-applies the ones newer than it.
    std::vector<const SimDepthChange*> sent;
  };
  std::map<std::string, ReplayBook, std::less<>> replay_books;  // by upper-case symbol
  // Replay at speed 0 stops publishing while a connection has this many
  // frames queued and resumes when its writer has sent them down to a
  // quarter: as fast as the sockets take them, never cut off for lagging.
  static constexpr std::size_t kReplayHighWater = 4096;
  asio::steady_timer space{io};  // replay waits here for room; writers cancel it
  bool waiting_for_space = false;
  std::vector<ConnPtr> subscribers;  // publish()'s scratch, reused
  std::string batch_scratch;
  std::ofstream record;
  std::vector<ConnPtr> live;
  std::array<std::uint64_t, kFaultKinds> fired{};
  std::uint64_t ws_requests = 0;
  std::uint64_t rest_requests = 0;
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> injected{0};
  bool generating = false;
  bool stopped = false;
  std::string kraken_announce;  // Kraken: an instrument update to send once the current message is delivered
  bool replay_ended = false;   // play() sent the last message
  bool drained_told = false;   // on_replay_drained ran

  explicit Impl(SimulatorOptions o)
      : options(std::move(o)),
        dialect(sim_dialect(options.venue).value_or(SimDialect::kSpot)),
        market(options.symbols, options.rate > 0 ? options.rate : 1.0, options.seed,
               options.epoch_ms != 0 ? options.epoch_ms : SimMarket::kDefaultEpochMs, options.depth_interval_ms,
               dialect) {}

  // --- market, publishing and faults (simulator.cpp) ---
  // trigger: the options' trigger for fault `k`.
  const FaultTrigger& trigger(std::size_t k) const;
  // fires: whether fault `k` fires on connection `c`'s n-th data message.
  bool fires(std::size_t k, Connection& c, std::uint64_t n);
  // record_line: one line of the truth file (flushed for fault lines).
  void record_line(const std::string& line, bool flush);
  // log_fault: a fault's record line and log line.
  void log_fault(std::size_t k, const Connection& c, std::uint64_t n, const SimOutgoing& m);
  // count_reached: `count` messages are published; the market stops.
  bool count_reached() const;
  // generate: the seeded market, paced by its own clock.
  asio::awaitable<void> generate();
  // play: the replay file at recorded speed (scaled), or as fast as the
  // connections take it (speed 0), keeping the replay books.
  asio::awaitable<void> play();
  // prepare_replay: the frames pre-encoded and an unknown book for every
  // symbol with depth in the capture.
  void prepare_replay();
  // replay_snapshot: a snapshot line replaces its symbol's book, then the
  // diffs already sent that are newer than it (u > lastUpdateId) apply again.
  void replay_snapshot(const SimDepthChange& snapshot);
  // replay_diff: a diff being sent continues its symbol's book: skipped if
  // not newer than it, the book unknown if ids are missing before it.
  void replay_diff(const SimDepthChange& diff);
  // continue_book: `diff` onto `book` if the book is consistent (the rules of replay_diff).
  static void continue_book(ReplayBook& book, const SimDepthChange& diff);
  // end_replay: the replay sent its last message; with on_replay_drained,
  // every connection is closed after its data.
  void end_replay();
  // check_drained: runs on_replay_drained once the replay ended and no
  // connection is left.
  void check_drained();
  // replay_book: a symbol's replay book, best first, up to `limit` levels
  // (0 = all); nullopt for a symbol without depth in the capture,
  // Unavailable (naming why) while its book is not consistent.
  std::optional<absl::StatusOr<SimBook>> replay_book(std::string_view symbol, std::size_t limit) const;
  // publish: one market message to every subscriber, recorded first so that
  // the fault lines it causes follow it in the record.
  void publish(const SimOutgoing& m);
  // deliver: one data message to one connection, through the fault triggers.
  void deliver(Connection& c, const SimOutgoing& m);
  // inject_before: the faults that add frames ahead of message n.
  void inject_before(Connection& c, std::uint64_t n, const SimOutgoing& m);

  // --- plain HTTP (sim_http.cpp) ---
  // serve: plain HTTP requests until one asks for a websocket upgrade.
  asio::awaitable<void> serve(beast::tcp_stream stream);
  // reply: a JSON response to `req`.
  static http::response<http::string_body> reply(const http::request<http::string_body>& req, http::status status,
                                                 std::string body);
  // refuse: the 429/418 answer for this request, if the refusal fault says so.
  std::optional<http::response<http::string_body>> refuse(const SimRefusal& r, std::uint64_t& requests,
                                                          const char* name, const http::request<http::string_body>& req);
  // rest: GET /api/v3/depth?symbol=X&limit=N as Binance spot answers it, or
  // GET /fapi/v1/depth (with E and T) in the USD-M dialect.
  http::response<http::string_body> rest(const http::request<http::string_body>& req);
  // okx_rest: the OKX dialect's REST side (GET /api/v5/market/books).
  http::response<http::string_body> okx_rest(const http::request<http::string_body>& req);
  // okx_instruments: GET /api/v5/public/instruments (the contract values).
  http::response<http::string_body> okx_instruments(const http::request<http::string_body>& req);
  // bybit_rest: the Bybit dialects' REST side (GET /v5/market/full_orderbook, spot).
  http::response<http::string_body> bybit_rest(const http::request<http::string_body>& req);

  // --- websocket sessions (sim_session.cpp) ---
  // push, push_text: queue a frame for the connection's writer.
  void push(Connection& c, Frame f);
  void push_text(Connection& c, std::string text);
  // end_with: queue a terminal frame; nothing more is sent after it.
  void end_with(Connection& c, Frame::Kind kind, websocket::close_code code = websocket::close_code::going_away);
  // limit_close: a close for breaking a Binance limit, with its record line.
  void limit_close(Connection& c, std::string_view reason);
  // drop: closes the socket and forgets the connection. Idempotent.
  void drop(const ConnPtr& conn);
  asio::awaitable<void> accept_loop();
  // upgrade: the websocket handshake, then the session's coroutines.
  asio::awaitable<void> upgrade(beast::tcp_stream stream, http::request<http::string_body> request);
  // read_loop: control requests until the client goes away; Beast answers
  // pings and close frames while a read is pending.
  asio::awaitable<void> read_loop(ConnPtr conn);
  // count_incoming: records one incoming message; false (and a close) past the limit.
  bool count_incoming(Connection& c);
  // on_control: pings and pongs from the client (limits, pong deadline).
  void on_control(Connection& c, websocket::frame_type kind);
  // on_request: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS and their replies.
  void on_request(Connection& c, simdjson::dom::parser& parser, const std::string& text);
  // on_bybit_request: Bybit v5's {"req_id","op","args"} requests (subscribe,
  // unsubscribe, ping) and their replies; a subscribed book or ticker topic
  // starts with its snapshot (sim_bybit.cpp).
  void on_bybit_request(Connection& c, simdjson::dom::parser& parser, const std::string& text);
  // bybit_book_text: a Bybit book message (`u` at `text_u`) as connection
  // `c` sees it: its `u` moved below the connection's restart base, if any.
  static std::string bybit_rebase(const Connection& c, const std::string& key, std::string text);
  // bybit_book_faults: the Bybit book faults on data message `m` (a book
  // delta): `restart` replaces it by a u = 1 delta holding the whole book
  // (the connection's ids start over), `resnapshot` sends the book's
  // snapshot again after it, at the same `u`. True when `m` was replaced.
  bool bybit_book_faults(Connection& c, std::uint64_t n, const SimOutgoing& m, bool after);
  // on_okx_request: OKX v5's text "ping" and {"id","op","args":[{"channel",
  // "instId"|"instType"}]} requests (subscribe, unsubscribe), each arg acked
  // or refused; a books subscription starts with its snapshot (sim_okx.cpp).
  void on_okx_request(Connection& c, simdjson::dom::parser& parser, const std::string& text);
  // okx_rebase: an OKX books message as connection `c` sees it after a
  // `restart` (seqId reset): seqId and prevSeqId less the connection's base.
  static std::string okx_rebase(const Connection& c, const std::string& key, std::string text);
  // okx_book_faults: the OKX books faults on update `m`: `restart` sends it
  // with its seqId reset below its prevSeqId (the connection's ids go on
  // from there), `bad_checksum` with a wrong checksum (true: `m` was sent);
  // after it, `keepalive` an empty update at its seqId.
  bool okx_book_faults(Connection& c, std::uint64_t n, const SimOutgoing& m, bool after);
  std::uint64_t book_subscriptions = 0;  // OKX and Bybit book subscriptions served (the no_snapshot fault counts them)
  // on_kraken_request: Kraken v2's {"method","params","req_id"} requests
  // (subscribe, unsubscribe, ping), one reply per pair; a book subscription
  // starts with its snapshot, an instrument one with every pair (sim_kraken.cpp).
  void on_kraken_request(Connection& c, simdjson::dom::parser& parser, const std::string& text);
  // kraken_faults: the Kraken faults on data message `m`; true when `m` was
  // replaced or withheld. The precision fault leaves an announcement for
  // kraken_announce_precision(), which publish() calls after delivering `m`.
  bool kraken_faults(Connection& c, std::uint64_t n, const SimOutgoing& m);
  void kraken_announce_precision();
  // on_coinbase_request: Coinbase Advanced Trade's {"type":"subscribe"|
  // "unsubscribe","product_ids","channel"} requests, each answered by a
  // "subscriptions" message naming all of the connection's subscriptions; a
  // subscribed channel starts with its snapshot (sim_coinbase.cpp).
  void on_coinbase_request(Connection& c, simdjson::dom::parser& parser, const std::string& text);
  // coinbase_stamp: `text` with the connection's next sequence_num.
  static std::string coinbase_stamp(Connection& c, std::string_view text);
  // coinbase_loop: heartbeats every heartbeat_interval_ms once subscribed to
  // them, and the close of a connection that has not subscribed within
  // subscribe_deadline_ms.
  asio::awaitable<void> coinbase_loop(ConnPtr conn);
  // write_loop: the connection's only writer, frames in queue order; the
  // data frames queued together go out in one socket write.
  asio::awaitable<void> write_loop(ConnPtr conn);
  // ping_loop: server pings; closes when one goes unanswered too long.
  asio::awaitable<void> ping_loop(ConnPtr conn);
  // lifetime: the forced close after faults.lifetime_ms.
  asio::awaitable<void> lifetime(ConnPtr conn);
  // shutdown_grace: the close that follows a serverShutdown notice.
  asio::awaitable<void> shutdown_grace(ConnPtr conn);
};

}  // namespace tickwire::connector
