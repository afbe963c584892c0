#include "tickwire/connector/simulator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include <array>
#include <charconv>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "tickwire/connector/log.hpp"
#include "tickwire/connector/sim_replay.hpp"

namespace tickwire::connector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// A connection whose outbound queue grows past this is too slow to keep up
// and is disconnected, as exchanges do.
constexpr std::size_t kMaxQueuedMessages = 1u << 16;
constexpr std::size_t kDefaultDepthLimit = 100;
constexpr std::size_t kMaxDepthLimit = 5000;

// streams_of: the stream names in a target like "/stream?streams=a@trade/b@trade"
// or "/ws/a@trade".
std::vector<std::string> streams_of(std::string_view target) {
  std::vector<std::string> out;
  std::string_view list;
  if (auto q = target.find("streams="); q != std::string_view::npos) {
    list = target.substr(q + 8);
    list = list.substr(0, list.find('&'));
  } else if (target.rfind("/ws/", 0) == 0) {
    list = target.substr(4);
  }
  while (!list.empty()) {
    auto slash = list.find('/');
    if (slash != 0) out.emplace_back(list.substr(0, slash));
    list = slash == std::string_view::npos ? std::string_view{} : list.substr(slash + 1);
  }
  return out;
}

// query_param: the value of `name` in a target's query string, if present.
std::optional<std::string_view> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
  return std::nullopt;
}

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

enum FaultKind : std::size_t {
  kGap, kCloseWs, kCloseTcp, kReset, kStall, kSlow, kPingStorm, kShutdown, kMalformed, kOversize, kReorder,
  kDuplicate, kFaultKinds
};
constexpr const char* kFaultNames[kFaultKinds] = {"gap", "close_ws", "close_tcp", "reset", "stall", "slow",
                                                   "ping_storm", "shutdown_notice", "malformed", "oversize",
                                                   "reorder", "duplicate"};

}  // namespace

struct Simulator::Impl {
  // Frame: one thing for a connection's writer to do, in order.
  struct Frame {
    enum class Kind : std::uint8_t { kText, kPing, kCloseWs, kCloseTcp, kReset, kStall };
    Kind kind = Kind::kText;
    std::shared_ptr<const std::string> payload;
    websocket::close_code code = websocket::close_code::going_away;
  };

  struct Connection {
    std::uint64_t id;
    websocket::stream<beast::tcp_stream> ws;
    bool combined;
    std::map<std::string, std::string> subs;  // sim_stream_key -> the name as subscribed
    std::deque<Frame> queue;
    asio::steady_timer wake, ping_timer, life_timer, grace_timer;
    std::mt19937_64 rng;
    std::uint64_t delivered = 0;              // data messages offered to this connection
    std::map<std::string, std::uint32_t> gap_left;  // stream key -> messages still withheld
    std::optional<Frame> held;                // reorder: sent after the next data message
    std::deque<Clock::time_point> incoming;   // rate limit window
    std::uint64_t pings_sent = 0;
    std::uint64_t pongs = 0;
    std::optional<Clock::time_point> ping_due;  // oldest unanswered ping
    bool ending = false;   // a terminal frame is queued: no more data
    bool stalled = false;
    bool slow = false;
    bool closed = false;

    Connection(std::uint64_t id_, beast::tcp_stream stream, bool combined_, std::uint64_t seed)
        : id(id_),
          ws(std::move(stream)),
          combined(combined_),
          wake(ws.get_executor()),
          ping_timer(ws.get_executor()),
          life_timer(ws.get_executor()),
          grace_timer(ws.get_executor()),
          rng(seed ^ (id_ * 0x9E3779B97F4A7C15ull)) {
      wake.expires_at(asio::steady_timer::time_point::max());
    }
  };
  using ConnPtr = std::shared_ptr<Connection>;

  SimulatorOptions options;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex market_mu;  // guards `market`: the io thread advances it, book() reads it
  SimMarket market;
  std::vector<SimOutgoing> replay;
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

  explicit Impl(SimulatorOptions o)
      : options(std::move(o)),
        market(options.symbols, options.rate > 0 ? options.rate : 1.0, options.seed,
               options.epoch_ms != 0 ? options.epoch_ms : SimMarket::kDefaultEpochMs, options.depth_interval_ms) {}

  const FaultTrigger& trigger(std::size_t k) const {
    const SimFaults& f = options.faults;
    const FaultTrigger* all[kFaultKinds] = {&f.gap,       &f.close_ws,        &f.close_tcp, &f.reset,
                                            &f.stall,     &f.slow,            &f.ping_storm, &f.shutdown_notice,
                                            &f.malformed, &f.oversize,        &f.reorder,   &f.duplicate};
    return *all[k];
  }

  // fires: whether fault `k` fires on connection `c`'s n-th data message.
  bool fires(std::size_t k, Connection& c, std::uint64_t n) {
    const FaultTrigger& t = trigger(k);
    if (!t.enabled || (t.max_times != 0 && fired[k] >= t.max_times)) return false;
    const std::uint64_t first = std::max<std::uint64_t>(t.after, 1);
    bool hit = false;
    if (t.probability > 0) {
      hit = n >= first && std::uniform_real_distribution<double>(0, 1)(c.rng) < t.probability;
    } else {
      hit = n == first;
    }
    if (hit) ++fired[k];
    return hit;
  }

  void record_line(const std::string& line, bool flush) {
    if (!record.is_open()) return;
    record << line << '\n';
    if (flush) record.flush();
  }

  void log_fault(std::size_t k, const Connection& c, std::uint64_t n, const SimOutgoing& m) {
    injected.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic, read by faults()
    TW_LOG_INFO(log(), "sim: fault {} on connection {} at message {} ({} {}..{})", kFaultNames[k], c.id, n, m.stream,
                m.first_id, m.last_id);
    record_line(fmt::format(R"({{"sim":"fault","fault":"{}","conn":{},"at":{},"stream":"{}","first_id":{},"last_id":{}}})",
                            kFaultNames[k], c.id, n, m.stream, m.first_id, m.last_id),
                true);
  }

  void push(Connection& c, Frame f) {
    c.queue.push_back(std::move(f));
    c.wake.cancel_one();
  }

  void push_text(Connection& c, std::string text) {
    push(c, {Frame::Kind::kText, std::make_shared<const std::string>(std::move(text)), {}});
  }

  // end_with: queue a terminal frame; nothing more is sent after it.
  void end_with(Connection& c, Frame::Kind kind, websocket::close_code code = websocket::close_code::going_away) {
    if (c.ending || c.closed) return;
    c.ending = true;
    push(c, {kind, nullptr, code});
  }

  void limit_close(Connection& c, std::string_view reason) {
    if (c.ending || c.closed) return;
    TW_LOG_WARN(log(), "sim: closing connection {}: {}", c.id, reason);
    record_line(fmt::format(R"({{"sim":"limit","conn":{},"reason":"{}"}})", c.id, reason), true);
    end_with(c, Frame::Kind::kCloseWs, websocket::close_code::policy_error);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;  // acceptor closed by stop()
      asio::co_spawn(io, serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  // serve: plain HTTP requests until one asks for a websocket upgrade.
  asio::awaitable<void> serve(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    for (;;) {
      beast::error_code ec;
      http::request<http::string_body> request;
      co_await http::async_read(stream, buffer, request, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || stopped) co_return;
      if (websocket::is_upgrade(request)) {
        if (auto refusal = refuse(options.faults.refuse_ws, ws_requests, "refuse_ws", request)) {
          co_await http::async_write(stream, *refusal, asio::redirect_error(asio::use_awaitable, ec));
          stream.socket().shutdown(tcp::socket::shutdown_both, ec);
          co_return;
        }
        co_await upgrade(std::move(stream), std::move(request));
        co_return;
      }
      http::response<http::string_body> response = rest(request);
      co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !response.keep_alive()) {
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        co_return;
      }
    }
  }

  static http::response<http::string_body> reply(const http::request<http::string_body>& req, http::status status,
                                                 std::string body) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::content_type, "application/json;charset=UTF-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

  // refuse: the 429/418 answer for this request, if the refusal fault says so.
  std::optional<http::response<http::string_body>> refuse(const SimRefusal& r, std::uint64_t& requests,
                                                          const char* name, const http::request<http::string_body>& req) {
    ++requests;
    if (r.status == 0 || (r.count != 0 && requests > r.count)) return std::nullopt;
    injected.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic, read by faults()
    record_line(fmt::format(R"({{"sim":"fault","fault":"{}","status":{},"retry_after":{}}})", name, r.status,
                            r.retry_after_s),
                true);
    auto res = reply(req, static_cast<http::status>(r.status),
                     fmt::format(R"({{"code":-1003,"msg":"Way too much request weight used; IP banned for {} s."}})",
                                 r.retry_after_s));
    res.set(http::field::retry_after, std::to_string(r.retry_after_s));
    res.keep_alive(false);
    return res;
  }

  // rest: GET /api/v3/depth?symbol=X&limit=N, as Binance answers it.
  http::response<http::string_body> rest(const http::request<http::string_body>& req) {
    const std::string_view target = req.target();
    if (req.method() != http::verb::get || target.substr(0, target.find('?')) != "/api/v3/depth") {
      return reply(req, http::status::not_found, R"({"code":-1,"msg":"sim: only GET /api/v3/depth is served"})");
    }
    if (auto refusal = refuse(options.faults.refuse_rest, rest_requests, "refuse_rest", req)) return *refusal;
    const auto symbol = query_param(target, "symbol");
    if (!symbol || symbol->empty()) {
      return reply(req, http::status::bad_request,
                   R"({"code":-1102,"msg":"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."})");
    }
    std::size_t limit = kDefaultDepthLimit;
    if (const auto l = query_param(target, "limit")) {
      const auto [end, err] = std::from_chars(l->data(), l->data() + l->size(), limit);
      if (err != std::errc{} || end != l->data() + l->size() || limit == 0) {
        return reply(req, http::status::bad_request,
                     fmt::format(R"({{"code":-1100,"msg":"Illegal characters found in parameter 'limit': '{}'."}})", *l));
      }
      limit = std::min(limit, kMaxDepthLimit);
    }
    if (!options.replay_path.empty()) {
      return reply(req, http::status::service_unavailable, R"({"code":-1,"msg":"sim: no book while replaying"})");
    }
    std::lock_guard lock(market_mu);
    const auto idx = market.symbol_index(*symbol);
    if (!idx) return reply(req, http::status::bad_request, R"({"code":-1121,"msg":"Invalid symbol."})");
    const SimBook book = options.rest_live_book ? market.book(*idx, limit) : market.published_book(*idx, limit);
    return reply(req, http::status::ok, SimMarket::depth_json(book));
  }

  asio::awaitable<void> upgrade(beast::tcp_stream stream, http::request<http::string_body> request) {
    beast::error_code ec;
    const std::vector<std::string> streams = streams_of(request.target());
    if (streams.size() > options.max_streams) {
      auto res = reply(request, http::status::bad_request,
                       fmt::format(R"({{"code":-1,"msg":"too many streams: {} > {}"}})", streams.size(),
                                   options.max_streams));
      res.keep_alive(false);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    const bool combined = std::string_view(request.target()).rfind("/stream", 0) == 0;
    auto conn = std::make_shared<Connection>(0, std::move(stream), combined, options.seed);
    for (const auto& s : streams) conn->subs.emplace(sim_stream_key(s), s);
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    conn->ws.set_option(timeouts);
    conn->ws.control_callback([this, weak = std::weak_ptr<Connection>(conn)](websocket::frame_type kind,
                                                                              std::string_view) {
      if (auto c = weak.lock()) on_control(*c, kind);
    });
    co_await conn->ws.async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped) co_return;
    conn->id = accepted.fetch_add(1, std::memory_order_relaxed) + 1;  // relaxed: a statistic, read by connections()
    conn->rng.seed(options.seed ^ (conn->id * 0x9E3779B97F4A7C15ull));
    live.push_back(conn);
    if (!generating) {
      generating = true;
      if (options.replay_path.empty()) {
        asio::co_spawn(io, generate(), asio::detached);
      } else {
        asio::co_spawn(io, play(), asio::detached);
      }
    }
    asio::co_spawn(io, write_loop(conn), asio::detached);
    if (options.ping_interval_ms != 0) asio::co_spawn(io, ping_loop(conn), asio::detached);
    if (options.faults.lifetime_ms != 0) asio::co_spawn(io, lifetime(conn), asio::detached);
    co_await read_loop(conn);
  }

  // read_loop: control requests until the client goes away; Beast answers
  // pings and close frames while a read is pending.
  asio::awaitable<void> read_loop(ConnPtr conn) {
    simdjson::dom::parser parser;
    for (;;) {
      beast::error_code ec;
      beast::flat_buffer in;
      co_await conn->ws.async_read(in, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || conn->stalled) break;
      if (!count_incoming(*conn)) continue;
      on_request(*conn, parser, beast::buffers_to_string(in.data()));
    }
    if (!conn->stalled) drop(conn);
  }

  // count_incoming: records one incoming message; false (and a close) past the limit.
  bool count_incoming(Connection& c) {
    if (options.max_incoming_per_s == 0) return true;
    const auto now = Clock::now();
    c.incoming.push_back(now);
    while (now - c.incoming.front() >= std::chrono::seconds(1)) c.incoming.pop_front();
    if (c.incoming.size() <= options.max_incoming_per_s) return true;
    limit_close(c, fmt::format("more than {} incoming messages in a second", options.max_incoming_per_s));
    return false;
  }

  void on_control(Connection& c, websocket::frame_type kind) {
    if (kind == websocket::frame_type::close) return;
    if (kind == websocket::frame_type::pong) {
      c.ping_due.reset();
      if (++c.pongs <= c.pings_sent) return;  // answers to our pings do not count
    }
    // The callback runs inside Beast's read; closing waits for the writer.
    count_incoming(c);
  }

  void on_request(Connection& c, simdjson::dom::parser& parser, const std::string& text) {
    simdjson::dom::object req;
    if (auto err = parser.parse(text).get_object().get(req); err) {
      push_text(c, fmt::format(R"({{"error":{{"code":3,"msg":"Invalid JSON: {}"}},"id":null}})",
                               simdjson::error_message(err)));
      return;
    }
    std::string id = "null";
    if (simdjson::dom::element e; req["id"].get(e) == simdjson::SUCCESS) id = simdjson::minify(e);
    std::string_view method;
    if (req["method"].get_string().get(method) != simdjson::SUCCESS) method = {};
    if (method == "LIST_SUBSCRIPTIONS") {
      std::string list;
      for (const auto& [key, name] : c.subs) list += fmt::format(R"({}"{}")", list.empty() ? "" : ",", name);
      push_text(c, fmt::format(R"({{"result":[{}],"id":{}}})", list, id));
      return;
    }
    if (method != "SUBSCRIBE" && method != "UNSUBSCRIBE") {
      push_text(c, fmt::format(R"({{"error":{{"code":2,"msg":"Invalid request: unknown method '{}'"}},"id":{}}})",
                               method, id));
      return;
    }
    simdjson::dom::array params;
    std::vector<std::string> names;
    if (req["params"].get_array().get(params) == simdjson::SUCCESS) {
      for (simdjson::dom::element p : params) {
        std::string_view s;
        if (p.get_string().get(s) != simdjson::SUCCESS) {
          push_text(c, fmt::format(R"({{"error":{{"code":2,"msg":"Invalid request: params must be strings"}},"id":{}}})", id));
          return;
        }
        names.emplace_back(s);
      }
    }
    if (method == "SUBSCRIBE") {
      std::size_t after = c.subs.size();
      for (const auto& n : names) after += c.subs.count(sim_stream_key(n)) == 0 ? 1 : 0;
      if (after > options.max_streams) {
        push_text(c, fmt::format(R"j({{"error":{{"code":2,"msg":"Invalid request: too many streams ({} > {})"}},"id":{}}})j",
                                 after, options.max_streams, id));
        return;
      }
      for (const auto& n : names) c.subs.emplace(sim_stream_key(n), n);
    } else {
      for (const auto& n : names) c.subs.erase(sim_stream_key(n));
    }
    push_text(c, fmt::format(R"({{"result":null,"id":{}}})", id));
  }

  asio::awaitable<void> write_loop(ConnPtr conn) {
    beast::error_code ec;
    asio::steady_timer delay(io);
    while (!conn->closed) {
      if (conn->queue.empty()) {
        co_await conn->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      Frame f = std::move(conn->queue.front());
      conn->queue.pop_front();
      if (conn->slow) {
        delay.expires_after(std::chrono::milliseconds(options.faults.slow_delay_ms));
        co_await delay.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (conn->closed) break;
      }
      auto& socket = beast::get_lowest_layer(conn->ws).socket();
      switch (f.kind) {
        case Frame::Kind::kText:
          conn->ws.text(true);
          co_await conn->ws.async_write(asio::buffer(*f.payload), asio::redirect_error(asio::use_awaitable, ec));
          break;
        case Frame::Kind::kPing: {
          websocket::ping_data payload;
          payload.assign(f.payload->data(), std::min(f.payload->size(), payload.max_size()));
          co_await conn->ws.async_ping(payload, asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        case Frame::Kind::kCloseWs:
          co_await conn->ws.async_close(f.code, asio::redirect_error(asio::use_awaitable, ec));
          ec = asio::error::eof;
          break;
        case Frame::Kind::kCloseTcp:
          socket.shutdown(tcp::socket::shutdown_both, ec);
          ec = asio::error::eof;
          break;
        case Frame::Kind::kReset:
          socket.set_option(asio::socket_base::linger(true, 0), ec);
          socket.close(ec);
          ec = asio::error::connection_reset;
          break;
        case Frame::Kind::kStall:
          // Keep the socket open but stop everything on it: the pending read
          // is cancelled so Beast no longer answers pings or closes.
          conn->stalled = true;
          conn->queue.clear();
          conn->ping_timer.cancel();
          socket.cancel(ec);
          co_return;
      }
      if (ec) break;
    }
    drop(conn);
  }

  asio::awaitable<void> ping_loop(ConnPtr conn) {
    std::uint64_t n = 0;
    while (!conn->closed && !conn->stalled && !conn->ending) {
      beast::error_code ec;
      conn->ping_timer.expires_after(std::chrono::milliseconds(options.ping_interval_ms));
      co_await conn->ping_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec || conn->closed || conn->stalled || conn->ending) co_return;
      const auto now = Clock::now();
      if (conn->ping_due && now - *conn->ping_due >= std::chrono::milliseconds(options.pong_timeout_ms)) {
        limit_close(*conn, "no pong to a server ping");
        co_return;
      }
      if (!conn->ping_due) conn->ping_due = now;
      ++conn->pings_sent;
      push(*conn, {Frame::Kind::kPing, std::make_shared<const std::string>(std::to_string(++n)), {}});
    }
  }

  asio::awaitable<void> lifetime(ConnPtr conn) {
    beast::error_code ec;
    conn->life_timer.expires_after(std::chrono::milliseconds(options.faults.lifetime_ms));
    co_await conn->life_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || conn->closed || conn->stalled || conn->ending) co_return;
    injected.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic, read by faults()
    record_line(fmt::format(R"({{"sim":"fault","fault":"lifetime","conn":{},"at":{}}})", conn->id, conn->delivered),
                true);
    end_with(*conn, Frame::Kind::kCloseWs);
  }

  asio::awaitable<void> shutdown_grace(ConnPtr conn) {
    beast::error_code ec;
    conn->grace_timer.expires_after(std::chrono::milliseconds(options.faults.shutdown_grace_ms));
    co_await conn->grace_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && !conn->closed && !conn->stalled) end_with(*conn, Frame::Kind::kCloseWs);
  }

  void drop(const ConnPtr& conn) {
    if (conn->closed) return;
    conn->closed = true;
    conn->wake.cancel();
    conn->ping_timer.cancel();
    conn->life_timer.cancel();
    conn->grace_timer.cancel();
    beast::error_code ec;
    beast::get_lowest_layer(conn->ws).socket().close(ec);
    std::erase(live, conn);
  }

  asio::awaitable<void> generate() {
    asio::steady_timer timer(io);
    {
      std::lock_guard lock(market_mu);
      if (options.epoch_ms == 0) market.set_epoch_ms(wall_ms());
    }
    const auto start = Clock::now();
    std::vector<SimMarket::Message> out;
    while (!stopped) {
      out.clear();
      std::uint64_t at_ns = 0;
      {
        std::lock_guard lock(market_mu);
        market.advance(out);
        at_ns = market.now_ns();
      }
      timer.expires_at(start + std::chrono::nanoseconds(at_ns));
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      for (auto& m : out) {
        if (stopped || count_reached()) co_return;
        SimOutgoing o;
        o.stream = std::move(m.stream);
        o.key = sim_stream_key(o.stream);
        o.text = std::make_shared<const std::string>(std::move(m.text));
        o.data = std::make_shared<const std::string>(std::move(m.data));
        o.first_id = m.first_id;
        o.last_id = m.last_id;
        o.time_ms = m.time_ms;
        publish(o);
      }
    }
  }

  // play: the replay file at recorded speed (scaled), or at once.
  asio::awaitable<void> play() {
    asio::steady_timer timer(io);
    const auto start = Clock::now();
    std::optional<std::uint64_t> first_ms;
    std::uint64_t last_ms = 0;
    for (const SimOutgoing& m : replay) {
      if (stopped || count_reached()) co_return;
      if (m.time_ms) last_ms = *m.time_ms;
      if (!first_ms && m.time_ms) first_ms = m.time_ms;
      if (options.replay_speed > 0 && first_ms) {
        const double offset_ms = static_cast<double>(last_ms - std::min(last_ms, *first_ms)) / options.replay_speed;
        timer.expires_at(start + std::chrono::microseconds(static_cast<std::int64_t>(offset_ms * 1000)));
        beast::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped) co_return;
      }
      publish(m);
    }
  }

  bool count_reached() const {
    return options.count != 0 && sent.load(std::memory_order_relaxed) >= options.count;  // relaxed: own thread
  }

  // publish: one market message to every subscriber, recorded first so that
  // the fault lines it causes follow it in the record.
  void publish(const SimOutgoing& m) {
    std::vector<ConnPtr> subscribers;
    for (const auto& conn : live) {
      if (conn->subs.count(m.key) != 0) subscribers.push_back(conn);
    }
    if (subscribers.empty() && !options.record_all) return;
    record_line(*m.text, false);
    if (subscribers.empty()) return;
    for (const auto& conn : subscribers) deliver(*conn, m);
    sent.fetch_add(1, std::memory_order_release);  // release: pairs with the acquire in Simulator::sent()
  }

  // deliver: one data message to one connection, through the fault triggers.
  void deliver(Connection& c, const SimOutgoing& m) {
    if (c.ending || c.stalled || c.closed) return;
    const std::uint64_t n = ++c.delivered;
    const auto& payload = c.combined ? m.text : m.data;
    if (auto it = c.gap_left.find(m.key); it != c.gap_left.end() && it->second > 0) {
      --it->second;
      log_fault(kGap, c, n, m);
      return;
    }
    if (fires(kGap, c, n)) {
      log_fault(kGap, c, n, m);
      c.gap_left[m.key] = options.faults.gap_messages > 0 ? options.faults.gap_messages - 1 : 0;
      return;
    }
    constexpr std::pair<std::size_t, Frame::Kind> kTerminal[] = {
        {kCloseWs, Frame::Kind::kCloseWs}, {kCloseTcp, Frame::Kind::kCloseTcp},
        {kReset, Frame::Kind::kReset}, {kStall, Frame::Kind::kStall}};
    for (const auto& [k, kind] : kTerminal) {
      if (!fires(k, c, n)) continue;
      log_fault(k, c, n, m);
      end_with(c, kind);
      return;
    }
    if (c.queue.size() >= kMaxQueuedMessages) {
      limit_close(c, fmt::format("{} messages behind", c.queue.size()));
      return;
    }
    inject_before(c, n, m);
    if (!c.held && fires(kReorder, c, n)) {
      log_fault(kReorder, c, n, m);
      c.held = Frame{Frame::Kind::kText, payload, {}};
      return;
    }
    push(c, {Frame::Kind::kText, payload, {}});
    if (fires(kDuplicate, c, n)) {
      log_fault(kDuplicate, c, n, m);
      push(c, {Frame::Kind::kText, payload, {}});
    }
    if (c.held) {
      push(c, std::move(*c.held));
      c.held.reset();
    }
  }

  // inject_before: the faults that add frames ahead of message n.
  void inject_before(Connection& c, std::uint64_t n, const SimOutgoing& m) {
    const auto& payload = c.combined ? m.text : m.data;
    if (fires(kSlow, c, n)) {
      log_fault(kSlow, c, n, m);
      c.slow = true;
    }
    if (fires(kPingStorm, c, n)) {
      log_fault(kPingStorm, c, n, m);
      for (std::uint32_t i = 0; i < options.faults.ping_storm_count; ++i) {
        ++c.pings_sent;
        push(c, {Frame::Kind::kPing, std::make_shared<const std::string>("storm"), {}});
      }
    }
    if (fires(kShutdown, c, n)) {
      log_fault(kShutdown, c, n, m);
      const std::string data = fmt::format(R"({{"e":"serverShutdown","E":{}}})", wall_ms());
      push_text(c, c.combined ? fmt::format(R"({{"stream":"!serverShutdown","data":{}}})", data) : data);
      for (const auto& conn : live) {
        if (conn.get() == &c) asio::co_spawn(io, shutdown_grace(conn), asio::detached);
      }
    }
    if (fires(kMalformed, c, n)) {
      log_fault(kMalformed, c, n, m);
      push_text(c, payload->substr(0, payload->size() / 2));
    }
    if (fires(kOversize, c, n)) {
      log_fault(kOversize, c, n, m);
      std::string big = R"({"stream":"oversize","data":")";
      const std::size_t fill = options.faults.oversize_bytes > big.size() + 2 ? options.faults.oversize_bytes - big.size() - 2 : 0;
      big.append(fill, 'x');
      big += "\"}";
      push_text(c, std::move(big));
    }
  }
};

Simulator::Simulator(SimulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Simulator::~Simulator() { stop(); }

absl::StatusOr<std::uint16_t> Simulator::start() {
  Impl& s = *impl_;
  if (s.options.replay_path.empty()) {
    if (s.options.symbols.empty()) return absl::InvalidArgumentError("sim: no symbols to simulate");
    if (!(s.options.rate > 0)) return absl::InvalidArgumentError("sim: rate must be > 0");
  } else {
    if (s.options.replay_speed < 0) return absl::InvalidArgumentError("sim: replay speed must be >= 0");
    auto messages = load_replay(s.options.replay_path);
    if (!messages.ok()) return messages.status();
    s.replay = std::move(*messages);
  }
  if (!s.options.record_path.empty()) {
    s.record.open(s.options.record_path, std::ios::out | std::ios::trunc);
    if (!s.record) return absl::UnavailableError("sim: cannot open record file " + s.options.record_path);
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(s.options.host, ec);
  if (ec) return absl::InvalidArgumentError("sim: bad host '" + s.options.host + "': " + ec.message());
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format("sim: cannot listen on {}:{}: {}", s.options.host, s.options.port,
                                              ec.message()));
  }
  const std::uint16_t port = s.acceptor.local_endpoint().port();
  asio::co_spawn(s.io, s.accept_loop(), asio::detached);
  s.thread = std::thread([&s] {
    pthread_setname_np(pthread_self(), "tw-sim");
    s.io.run();
  });
  return port;
}

void Simulator::stop() {
  Impl& s = *impl_;
  if (!s.thread.joinable()) return;
  asio::post(s.io, [&s] {
    s.stopped = true;
    beast::error_code ec;
    s.acceptor.close(ec);
    for (auto conn : std::vector(s.live)) s.drop(conn);
    s.io.stop();
  });
  s.thread.join();
  if (s.record.is_open()) s.record.flush();
}

std::uint64_t Simulator::sent() const {
  return impl_->sent.load(std::memory_order_acquire);  // acquire: pairs with the release in publish()
}

std::uint64_t Simulator::connections() const {
  return impl_->accepted.load(std::memory_order_relaxed);  // relaxed: a statistic
}

std::uint64_t Simulator::faults() const {
  return impl_->injected.load(std::memory_order_relaxed);  // relaxed: a statistic
}

absl::StatusOr<SimBook> Simulator::book(const std::string& symbol, std::size_t limit) const {
  std::lock_guard lock(impl_->market_mu);
  const auto idx = impl_->market.symbol_index(symbol);
  if (!idx) return absl::NotFoundError("sim: no such symbol " + symbol);
  return impl_->market.published_book(*idx, limit);
}

absl::StatusOr<SimBook> Simulator::live_book(const std::string& symbol, std::size_t limit) const {
  std::lock_guard lock(impl_->market_mu);
  const auto idx = impl_->market.symbol_index(symbol);
  if (!idx) return absl::NotFoundError("sim: no such symbol " + symbol);
  return impl_->market.book(*idx, limit);
}

}  // namespace tickwire::connector
