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

#include <cctype>
#include <chrono>
#include <deque>
#include <fstream>
#include <thread>

#include "tickwire/connector/log.hpp"
#include "tickwire/connector/sim_market.hpp"

namespace tickwire::connector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// A connection whose outbound queue grows past this is too slow to keep up
// and is disconnected, as exchanges do.
constexpr std::size_t kMaxQueuedMessages = 1u << 16;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

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
    out.emplace_back(lower(list.substr(0, slash)));
    list = slash == std::string_view::npos ? std::string_view{} : list.substr(slash + 1);
  }
  return out;
}

}  // namespace

struct Simulator::Impl {
  struct Connection {
    websocket::stream<beast::tcp_stream> ws;
    std::vector<bool> wants;  // per symbol index
    std::deque<std::shared_ptr<const std::string>> queue;
    asio::steady_timer wake;
    bool closed = false;

    Connection(tcp::socket socket, std::size_t symbols)
        : ws(std::move(socket)), wants(symbols, false), wake(ws.get_executor()) {
      wake.expires_at(asio::steady_timer::time_point::max());
    }
  };

  SimulatorOptions options;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  SimMarket market;
  std::ofstream record;
  std::vector<std::shared_ptr<Connection>> live;
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> accepted{0};
  bool generating = false;
  bool stopped = false;

  explicit Impl(SimulatorOptions o)
      : options(std::move(o)), market(options.symbols, options.rate, options.seed) {}

  asio::awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;  // acceptor closed by stop()
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    auto conn = std::make_shared<Connection>(std::move(socket), options.symbols.size());
    beast::error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    co_await http::async_read(conn->ws.next_layer(), buffer, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !websocket::is_upgrade(request)) co_return;
    for (const std::string& stream : streams_of(request.target())) {
      for (std::size_t i = 0; i < options.symbols.size(); ++i) {
        if (stream == lower(options.symbols[i]) + "@trade") conn->wants[i] = true;
      }
    }
    conn->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    co_await conn->ws.async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    accepted.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic, read by connections()
    live.push_back(conn);
    if (!generating) {
      generating = true;
      asio::co_spawn(io, generate(), asio::detached);
    }
    asio::co_spawn(io, write_loop(conn), asio::detached);
    // Read until the client goes away; Beast answers pings and close frames.
    for (;;) {
      beast::flat_buffer in;
      co_await conn->ws.async_read(in, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    drop(conn);
  }

  asio::awaitable<void> write_loop(std::shared_ptr<Connection> conn) {
    beast::error_code ec;
    conn->ws.text(true);
    while (!conn->closed) {
      if (conn->queue.empty()) {
        co_await conn->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      auto msg = conn->queue.front();
      co_await conn->ws.async_write(asio::buffer(*msg), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      conn->queue.pop_front();
    }
    drop(conn);
  }

  void drop(const std::shared_ptr<Connection>& conn) {
    if (conn->closed) return;
    conn->closed = true;
    conn->wake.cancel();
    beast::error_code ec;
    beast::get_lowest_layer(conn->ws).socket().close(ec);
    std::erase(live, conn);
  }

  asio::awaitable<void> generate() {
    asio::steady_timer timer(io);
    auto next = std::chrono::steady_clock::now();
    std::uint64_t generated = 0;
    while (!stopped && (options.count == 0 || generated < options.count)) {
      next += std::chrono::nanoseconds(market.next_gap_ns());
      timer.expires_at(next);
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped) co_return;
      const auto now_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         std::chrono::system_clock::now().time_since_epoch())
                                                         .count());
      SimMarket::Message m = market.next_trade(now_ms);
      ++generated;
      publish(m);
    }
  }

  void publish(const SimMarket::Message& m) {
    auto text = std::make_shared<const std::string>(m.text);
    bool delivered = false;
    for (auto it = live.begin(); it != live.end();) {
      auto conn = *it++;
      if (!conn->wants[m.symbol_index]) continue;
      if (conn->queue.size() >= kMaxQueuedMessages) {
        TW_LOG_WARN(log(), "sim: disconnecting a client {} messages behind", conn->queue.size());
        drop(conn);
        continue;
      }
      conn->queue.push_back(text);
      conn->wake.cancel_one();
      delivered = true;
    }
    if (!delivered) return;
    if (record.is_open()) record << m.text << '\n';
    sent.fetch_add(1, std::memory_order_release);  // release: pairs with the acquire in Simulator::sent()
  }
};

Simulator::Simulator(SimulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Simulator::~Simulator() { stop(); }

absl::StatusOr<std::uint16_t> Simulator::start() {
  Impl& s = *impl_;
  if (s.options.symbols.empty()) return absl::InvalidArgumentError("sim: no symbols to simulate");
  if (!(s.options.rate > 0)) return absl::InvalidArgumentError("sim: rate must be > 0");
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

}  // namespace tickwire::connector
