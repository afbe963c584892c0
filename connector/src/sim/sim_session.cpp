// The simulator's websocket sessions: upgrade, the control requests
// (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS), Binance's limits, server
// pings, and one writer per connection that sends frames and performs the
// terminal faults (close, reset, stall) in queue order.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "sim_server.hpp"

namespace tickwire::connector {
namespace {

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

}  // namespace

void Simulator::Impl::push(Connection& c, Frame f) {
  // Coinbase: every message carries the connection's own sequence_num.
  if (is_coinbase(dialect) && f.kind == Frame::Kind::kText && !f.encoded && f.payload) {
    f.payload = std::make_shared<const std::string>(coinbase_stamp(c, *f.payload));
  }
  c.queue.push_back(std::move(f));
  c.wake.cancel_one();
}

void Simulator::Impl::push_text(Connection& c, std::string text) {
  push(c, {Frame::Kind::kText, std::make_shared<const std::string>(std::move(text)), {}});
}

void Simulator::Impl::end_with(Connection& c, Frame::Kind kind, websocket::close_code code) {
  if (c.ending || c.closed) return;
  c.ending = true;
  push(c, {kind, nullptr, code});
}

void Simulator::Impl::limit_close(Connection& c, std::string_view reason) {
  if (c.ending || c.closed) return;
  if (options.logger != nullptr) TW_LOG_WARN(*options.logger, "sim: closing connection {}: {}", c.id, reason);
  record_line(fmt::format(R"({{"sim":"limit","conn":{},"reason":"{}"}})", c.id, reason), true);
  end_with(c, Frame::Kind::kCloseWs, websocket::close_code::policy_error);
}

asio::awaitable<void> Simulator::Impl::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // acceptor closed by stop()
    // No Nagle: a frame is sent when written. With it, a small write waits
    // for the ACK of the previous one, which the client delays up to 40 ms:
    // the frames of those 40 ms then arrive in one read.
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(io, serve(beast::tcp_stream(std::move(socket))), asio::detached);
  }
}

asio::awaitable<void> Simulator::Impl::upgrade(beast::tcp_stream stream, http::request<http::string_body> request) {
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
  auto conn = std::make_shared<Connection>(std::move(stream), combined);
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
  conn->rng.seed(options.seed ^ (conn->id * 0x9E3779B97F4A7C15ull));  // each connection its own fault draws
  live.push_back(conn);
  if (!generating) {
    generating = true;
    if (options.replay_path.empty()) {
      asio::co_spawn(io, generate(), asio::detached);
    } else {
      asio::co_spawn(io, play(), asio::detached);
    }
  }
  // The replay is over: nothing more will come (a client reconnecting after
  // the close at the end).
  if (replay_ended && options.on_replay_drained) end_with(*conn, Frame::Kind::kCloseWs, websocket::close_code::normal);
  asio::co_spawn(io, write_loop(conn), asio::detached);
  if (options.ping_interval_ms != 0) asio::co_spawn(io, ping_loop(conn), asio::detached);
  if (options.faults.lifetime_ms != 0) asio::co_spawn(io, lifetime(conn), asio::detached);
  if (is_coinbase(dialect)) asio::co_spawn(io, coinbase_loop(conn), asio::detached);
  co_await read_loop(conn);
}

asio::awaitable<void> Simulator::Impl::read_loop(ConnPtr conn) {
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

bool Simulator::Impl::count_incoming(Connection& c) {
  if (options.max_incoming_per_s == 0) return true;
  const auto now = Clock::now();
  c.incoming.push_back(now);
  while (now - c.incoming.front() >= std::chrono::seconds(1)) c.incoming.pop_front();
  if (c.incoming.size() <= options.max_incoming_per_s) return true;
  if (dialect == SimDialect::kKraken) {
    // Kraken keeps the connection: the request is dropped (not counted) and
    // answered by the bare rate-limit error, which names no request.
    c.incoming.pop_back();
    push_text(c, R"({"Error":"Exceeded msg rate"})");  // the key as Kraken's rate-limit guide spells it
    return false;
  }
  limit_close(c, fmt::format("more than {} incoming messages in a second", options.max_incoming_per_s));
  return false;
}

void Simulator::Impl::on_control(Connection& c, websocket::frame_type kind) {
  if (kind == websocket::frame_type::close) return;
  if (kind == websocket::frame_type::pong) {
    c.ping_due.reset();
    if (++c.pongs <= c.pings_sent) return;  // answers to our pings do not count
  }
  // The callback runs inside Beast's read; closing waits for the writer.
  count_incoming(c);
}

void Simulator::Impl::on_request(Connection& c, simdjson::dom::parser& parser, const std::string& text) {
  if (is_bybit(dialect)) {
    on_bybit_request(c, parser, text);
    return;
  }
  if (dialect == SimDialect::kOkx) {
    on_okx_request(c, parser, text);
    return;
  }
  if (dialect == SimDialect::kKraken) {
    on_kraken_request(c, parser, text);
    return;
  }
  if (is_coinbase(dialect)) {
    on_coinbase_request(c, parser, text);
    return;
  }
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

asio::awaitable<void> Simulator::Impl::write_loop(ConnPtr conn) {
  // A batch stops growing here, so one write never holds the loop for long.
  constexpr std::size_t kMaxBatchBytes = 256u << 10;
  beast::error_code ec;
  asio::steady_timer delay(io);
  std::string batch;
  while (!conn->closed) {
    if (conn->queue.empty()) {
      co_await conn->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (conn->slow) {
      delay.expires_after(std::chrono::milliseconds(options.faults.slow_delay_ms));
      co_await delay.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (conn->closed) break;
    }
    if (conn->queue.front().kind == Frame::Kind::kText) {
      // Every data frame queued now (one at a time when slow), encoded into
      // one buffer: one socket write instead of one per frame.
      batch.clear();
      do {
        const Frame& f = conn->queue.front();
        if (f.encoded) {
          batch += *f.payload;
        } else {
          append_ws_text_frame(batch, *f.payload);
        }
        conn->queue.pop_front();
      } while (!conn->slow && !conn->queue.empty() && conn->queue.front().kind == Frame::Kind::kText &&
               batch.size() < kMaxBatchBytes);
      co_await conn->ws.next_layer().async_write_some(asio::buffer(batch),
                                                     asio::redirect_error(asio::use_awaitable, ec));
      if (waiting_for_space && conn->queue.size() <= kReplayHighWater / 4) space.cancel();
      if (ec) break;
      continue;
    }
    Frame f = std::move(conn->queue.front());
    conn->queue.pop_front();
    auto& socket = beast::get_lowest_layer(conn->ws).socket();
    switch (f.kind) {
      case Frame::Kind::kText:
        break;  // sent above
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

asio::awaitable<void> Simulator::Impl::ping_loop(ConnPtr conn) {
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

asio::awaitable<void> Simulator::Impl::lifetime(ConnPtr conn) {
  beast::error_code ec;
  conn->life_timer.expires_after(std::chrono::milliseconds(options.faults.lifetime_ms));
  co_await conn->life_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (ec || conn->closed || conn->stalled || conn->ending) co_return;
  injected.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic, read by faults()
  record_line(fmt::format(R"({{"sim":"fault","fault":"lifetime","conn":{},"at":{}}})", conn->id, conn->delivered),
              true);
  end_with(*conn, Frame::Kind::kCloseWs);
}

asio::awaitable<void> Simulator::Impl::shutdown_grace(ConnPtr conn) {
  beast::error_code ec;
  conn->grace_timer.expires_after(std::chrono::milliseconds(options.faults.shutdown_grace_ms));
  co_await conn->grace_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && !conn->closed && !conn->stalled) end_with(*conn, Frame::Kind::kCloseWs);
}

void Simulator::Impl::drop(const ConnPtr& conn) {
  if (conn->closed) return;
  conn->closed = true;
  conn->wake.cancel();
  conn->ping_timer.cancel();
  conn->life_timer.cancel();
  conn->grace_timer.cancel();
  beast::error_code ec;
  beast::get_lowest_layer(conn->ws).socket().close(ec);
  std::erase(live, conn);
  if (waiting_for_space) space.cancel();  // replay no longer waits for this one
  check_drained();
}

}  // namespace tickwire::connector
