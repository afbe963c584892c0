#include "tickwire/connector/simulator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <set>

#include "sim_server.hpp"

namespace tickwire::connector {
namespace {

// A connection whose outbound queue grows past this is too slow to keep up
// and is disconnected, as exchanges do.
constexpr std::size_t kMaxQueuedMessages = 1u << 16;

constexpr const char* kFaultNames[kFaultKinds] = {"gap", "close_ws", "close_tcp", "reset", "stall", "slow",
                                                   "ping_storm", "shutdown_notice", "malformed", "oversize",
                                                   "reorder", "duplicate", "resnapshot", "restart",
                                                   "keepalive", "bad_checksum", "no_snapshot",
                                                   "checksum", "beyond_depth", "trade_gap", "precision",
                                                   "quiet"};

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

const FaultTrigger& Simulator::Impl::trigger(std::size_t k) const {
  const SimFaults& f = options.faults;
  const FaultTrigger* all[kFaultKinds] = {&f.gap,       &f.close_ws,        &f.close_tcp, &f.reset,
                                          &f.stall,     &f.slow,            &f.ping_storm, &f.shutdown_notice,
                                          &f.malformed, &f.oversize,        &f.reorder,   &f.duplicate,
                                          &f.resnapshot, &f.restart, &f.keepalive, &f.bad_checksum,
                                          &f.no_snapshot, &f.checksum, &f.beyond_depth, &f.trade_gap,
                                          &f.precision, &f.quiet};
  return *all[k];
}

bool Simulator::Impl::fires(std::size_t k, Connection& c, std::uint64_t n) {
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

void Simulator::Impl::record_line(const std::string& line, bool flush) {
  if (!record.is_open()) return;
  record << line << '\n';
  if (flush) record.flush();
}

void Simulator::Impl::log_fault(std::size_t k, const Connection& c, std::uint64_t n, const SimOutgoing& m) {
  injected.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic, read by faults()
  if (options.logger != nullptr) {
    TW_LOG_INFO(*options.logger, "sim: fault {} on connection {} at message {} ({} {}..{})", kFaultNames[k], c.id, n, m.stream,
                m.first_id, m.last_id);
  }
  record_line(fmt::format(R"({{"sim":"fault","fault":"{}","conn":{},"at":{},"stream":"{}","first_id":{},"last_id":{}}})",
                          kFaultNames[k], c.id, n, m.stream, m.first_id, m.last_id),
              true);
}

asio::awaitable<void> Simulator::Impl::generate() {
  asio::steady_timer timer(io);
  {
    std::lock_guard lock(market_mu);
    if (options.epoch_ms == 0) market.set_epoch_ms(wall_ms());
  }
  const auto start = Clock::now();
  std::vector<SimMarket::Message> out;
  std::uint32_t behind = 0;  // advances in a row that were already due
  while (!stopped && !count_reached()) {
    out.clear();
    std::uint64_t at_ns = 0;
    {
      std::lock_guard lock(market_mu);
      market.advance(out);
      at_ns = market.now_ns();
    }
    const auto due = start + std::chrono::nanoseconds(at_ns);
    if (due > Clock::now()) {
      behind = 0;
      timer.expires_at(due);
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    } else if (++behind % 64 == 0) {
      // Market time lags the clock (a rate above what we can send): no
      // timer per order, which cost a reactor round trip each, but a
      // yield now and then so the writers and REST run.
      co_await asio::post(io, asio::use_awaitable);
    }
    for (auto& m : out) {
      if (stopped || count_reached()) co_return;
      const bool trade = is_coinbase(dialect) && m.channel == SimChannel::kTrade;
      const std::size_t symbol = m.symbol_index;
      SimOutgoing o;
      o.stream = std::move(m.stream);
      o.key = sim_stream_key(o.stream);
      o.text = std::make_shared<const std::string>(std::move(m.text));
      o.data = std::make_shared<const std::string>(std::move(m.data));
      o.first_id = m.first_id;
      o.last_id = m.last_id;
      o.time_ms = m.time_ms;
      publish(o);
      if (trade) {
        std::lock_guard lock(market_mu);
        market.trades_published(symbol, o.last_id);
      }
    }
  }
}

asio::awaitable<void> Simulator::Impl::play() {
  asio::steady_timer timer(io);
  const auto start = Clock::now();
  std::optional<std::uint64_t> first_ms;
  std::uint64_t last_ms = 0;
  for (const SimOutgoing& m : replay) {
    if (stopped || count_reached()) break;
    if (!m.text) {  // a snapshot line: the book only
      std::lock_guard lock(market_mu);
      replay_snapshot(*m.depth);
      continue;
    }
    if (m.time_ms) last_ms = *m.time_ms;
    if (!first_ms && m.time_ms) first_ms = m.time_ms;
    if (options.replay_speed > 0 && first_ms) {
      const double offset_ms = static_cast<double>(last_ms - std::min(last_ms, *first_ms)) / options.replay_speed;
      timer.expires_at(start + std::chrono::microseconds(static_cast<std::int64_t>(offset_ms * 1000)));
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped) break;
    }
    if (m.depth) {  // the REST book moves with the diffs sent, never ahead
      std::lock_guard lock(market_mu);
      replay_diff(*m.depth);
    }
    publish(m);
    if (options.replay_speed > 0) continue;
    // As fast as the sockets take it: wait while some connection is far
    // behind (its writer cancels `space` when it has caught up).
    for (;;) {
      bool full = false;
      for (const auto& conn : live) full = full || conn->queue.size() >= kReplayHighWater;
      if (!full || stopped) break;
      waiting_for_space = true;
      space.expires_at(asio::steady_timer::time_point::max());
      beast::error_code ec;
      co_await space.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      waiting_for_space = false;
    }
  }
  if (!stopped) end_replay();
}

void Simulator::Impl::end_replay() {
  replay_ended = true;
  if (!options.on_replay_drained) return;
  // A close frame queued after the data: a client answers it only once it
  // has read everything before it.
  for (const auto& conn : std::vector(live)) end_with(*conn, Frame::Kind::kCloseWs, websocket::close_code::normal);
  check_drained();
}

void Simulator::Impl::check_drained() {
  if (stopped || !replay_ended || drained_told || !live.empty() || !options.on_replay_drained) return;
  drained_told = true;
  options.on_replay_drained();
}

void Simulator::Impl::prepare_replay() {
  std::set<std::string, std::less<>> with_snapshot;
  for (SimOutgoing& m : replay) {
    if (m.text) {
      auto text = std::make_shared<std::string>();
      append_ws_text_frame(*text, *m.text);
      m.text_frame = std::move(text);
      auto data = std::make_shared<std::string>();
      append_ws_text_frame(*data, *m.data);
      m.data_frame = std::move(data);
    }
    if (!m.depth) continue;
    replay_books.try_emplace(m.depth->symbol);
    if (m.depth->snapshot) with_snapshot.insert(m.depth->symbol);
  }
  // No book is known before the replay reaches a snapshot line: one made of
  // the diffs alone lacks every level they do not touch, and a client would
  // accept it as the whole book.
  for (auto& [symbol, book] : replay_books) {
    book.unknown = with_snapshot.contains(symbol)
                       ? fmt::format("the replay has not reached {}'s first snapshot line yet", symbol)
                       : fmt::format("the capture has no snapshot line for {}: its book cannot be known", symbol);
  }
}

namespace {

// apply_levels: absolute quantities onto a book's sides; 0 removes the level.
template <class Book>
void apply_levels(Book& book, const SimDepthChange& change) {
  for (auto [levels, side] : {std::pair{&change.bids, &book.bids}, std::pair{&change.asks, &book.asks}}) {
    for (const SimLevel& l : *levels) {
      if (l.qty == 0) {
        side->erase(l.price);
      } else {
        (*side)[l.price] = l.qty;
      }
    }
  }
}

}  // namespace

void Simulator::Impl::replay_snapshot(const SimDepthChange& snapshot) {
  ReplayBook& book = replay_books[snapshot.symbol];
  book.bids.clear();
  book.asks.clear();
  apply_levels(book, snapshot);
  book.last_update_id = snapshot.last_id;
  book.consistent = true;
  book.unknown.clear();
  // A recorder writes the REST answer when it arrives, usually after diffs
  // newer than it: a client holding those diffs has applied them, so the
  // served book must contain them too (Binance's own book always does).
  auto from = book.sent.end();
  while (from != book.sent.begin() && (*std::prev(from))->last_id > snapshot.last_id) --from;
  for (auto it = from; it != book.sent.end(); ++it) continue_book(book, **it);
}

void Simulator::Impl::replay_diff(const SimDepthChange& diff) {
  ReplayBook& book = replay_books[diff.symbol];
  book.sent.push_back(&diff);
  continue_book(book, diff);
}

void Simulator::Impl::continue_book(ReplayBook& book, const SimDepthChange& diff) {
  if (!book.consistent || diff.last_id <= book.last_update_id) return;  // unknown, or already in the book
  // USD-M chains diffs by pu (its ids skip between diffs); the first after a
  // snapshot spans it (U <= lastUpdateId <= u). Spot: U is the last u + 1.
  const bool follows = diff.prev_id ? *diff.prev_id == book.last_update_id || diff.first_id <= book.last_update_id
                                    : diff.first_id <= book.last_update_id + 1;
  if (!follows) {
    book.consistent = false;
    book.unknown = diff.prev_id
                       ? fmt::format("the capture misses {}'s diffs after update id {} (the next diff's pu is {}): "
                                     "its book is unknown until its next snapshot line",
                                     diff.symbol, book.last_update_id, *diff.prev_id)
                       : fmt::format("the capture misses {}'s update ids {}..{}: its book is unknown until its next "
                                     "snapshot line",
                                     diff.symbol, book.last_update_id + 1, diff.first_id - 1);
    return;
  }
  apply_levels(book, diff);
  book.last_update_id = diff.last_id;
}

std::optional<absl::StatusOr<SimBook>> Simulator::Impl::replay_book(std::string_view symbol, std::size_t limit) const {
  const auto it = replay_books.find(symbol);
  if (it == replay_books.end()) return std::nullopt;
  if (!it->second.consistent) return absl::StatusOr<SimBook>(absl::UnavailableError(it->second.unknown));
  SimBook out;
  out.last_update_id = it->second.last_update_id;
  for (auto p = it->second.bids.rbegin(); p != it->second.bids.rend() && (limit == 0 || out.bids.size() < limit); ++p) {
    out.bids.push_back({p->first, p->second});
  }
  for (auto p = it->second.asks.begin(); p != it->second.asks.end() && (limit == 0 || out.asks.size() < limit); ++p) {
    out.asks.push_back({p->first, p->second});
  }
  return out;
}

bool Simulator::Impl::count_reached() const {
  return options.count != 0 && sent.load(std::memory_order_relaxed) >= options.count;  // relaxed: own thread
}

void Simulator::Impl::publish(const SimOutgoing& m) {
  subscribers.clear();  // deliver() never changes `live`; the copy keeps the set fixed anyway
  for (const auto& conn : live) {
    if (conn->subs.count(m.key) != 0) subscribers.push_back(conn);
  }
  if (subscribers.empty() && !options.record_all) return;
  record_line(*m.text, false);
  if (subscribers.empty()) return;
  for (const auto& conn : subscribers) deliver(*conn, m);
  if (dialect == SimDialect::kKraken) kraken_announce_precision();
  // The last message of a --count run: the truth is complete, so it goes to
  // disk now, before sent() can report the count to another thread.
  if (options.count != 0 && sent.load(std::memory_order_relaxed) + 1 >= options.count) record.flush();
  sent.fetch_add(1, std::memory_order_release);  // release: pairs with the acquire in Simulator::sent()
}

void Simulator::Impl::deliver(Connection& c, const SimOutgoing& m) {
  if (c.ending || c.stalled || c.closed) return;
  const std::uint64_t n = ++c.delivered;
  const auto& payload = c.combined ? m.text : m.data;
  const auto& wire = c.combined ? m.text_frame : m.data_frame;
  const Frame data = wire ? Frame{Frame::Kind::kText, wire, {}, true} : Frame{Frame::Kind::kText, payload, {}};
  if (is_coinbase(dialect) && !c.quiet && fires(kQuiet, c, n)) {
    log_fault(kQuiet, c, n, m);
    c.quiet = true;
  }
  if (c.quiet) return;
  if (auto it = c.gap_left.find(m.key); it != c.gap_left.end() && it->second > 0) {
    if (is_coinbase(dialect)) ++c.sequence;  // a lost message: the connection's number moves on
    --it->second;
    log_fault(kGap, c, n, m);
    return;
  }
  if (fires(kGap, c, n)) {
    if (is_coinbase(dialect)) ++c.sequence;  // a lost message: the connection's number moves on
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
  if (dialect == SimDialect::kKraken && kraken_faults(c, n, m)) return;
  // The book faults (restart, resnapshot) are orderbook.200's (and so orderbook.full's).
  if (is_bybit(dialect) && m.key.starts_with("orderbook.200.")) {
    if (const auto sub = c.subs.find(m.key); sub != c.subs.end() && sub->second.starts_with("orderbook.full.")) {
      // The same delta under the full topic; its ids are the market's (the REST book's).
      std::string text = *m.data;
      if (const auto at = text.find("\"orderbook.200."); at != std::string::npos) text.replace(at + 11, 3, "full");
      push_text(c, std::move(text));
      return;
    }
    if (bybit_book_faults(c, n, m, false)) return;
    if (c.u_base.count(m.key) != 0) {
      push_text(c, bybit_rebase(c, m.key, *m.data));
      bybit_book_faults(c, n, m, true);
      return;
    }
  }
  if (dialect == SimDialect::kOkx && m.key.starts_with("books:")) {
    if (okx_book_faults(c, n, m, false)) return;
    if (c.u_base.count(m.key) != 0) {
      push_text(c, okx_rebase(c, m.key, *m.data));
      okx_book_faults(c, n, m, true);
      return;
    }
  }
  if (!c.held && fires(kReorder, c, n)) {
    log_fault(kReorder, c, n, m);
    c.held = data;
    return;
  }
  push(c, data);
  if (fires(kDuplicate, c, n)) {
    log_fault(kDuplicate, c, n, m);
    push(c, data);
  }
  if (is_bybit(dialect) && m.key.starts_with("orderbook.200.")) bybit_book_faults(c, n, m, true);
  if (dialect == SimDialect::kOkx && m.key.starts_with("books:")) okx_book_faults(c, n, m, true);
  if (c.held) {
    push(c, std::move(*c.held));
    c.held.reset();
  }
}

void Simulator::Impl::inject_before(Connection& c, std::uint64_t n, const SimOutgoing& m) {
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
    if (dialect == SimDialect::kOkx) {
      // OKX's notice before a service upgrade closes the connection.
      push_text(c, R"({"event":"notice","code":"64008","msg":"The connection will soon be closed for a service )"
                   R"(upgrade. Please reconnect.","connId":"sim"})");
    } else {
      const std::string data = fmt::format(R"({{"e":"serverShutdown","E":{}}})", wall_ms());
      push_text(c, c.combined ? fmt::format(R"({{"stream":"!serverShutdown","data":{}}})", data) : data);
    }
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

Simulator::Simulator(SimulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Simulator::~Simulator() { stop(); }

absl::StatusOr<std::uint16_t> Simulator::start() {
  Impl& s = *impl_;
  if (!sim_dialect(s.options.venue)) {
    return absl::InvalidArgumentError(fmt::format(
        "sim: venue {:?}: expected \"binance\", \"binance-usdm\", \"bybit\", \"bybit-linear\", \"okx\", \"kraken\" or "
        "\"coinbase\" (the dialects the simulator speaks)",
        s.options.venue));
  }
  if ((is_bybit(s.dialect) || s.dialect == SimDialect::kOkx || s.dialect == SimDialect::kKraken ||
       is_coinbase(s.dialect)) &&
      !s.options.replay_path.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("sim: venue {:?}: a replay is sent in the Binance dialects only", s.options.venue));
  }
  if ((is_bybit(s.dialect) || s.dialect == SimDialect::kKraken || is_coinbase(s.dialect)) &&
      s.options.faults.shutdown_notice.enabled) {
    return absl::InvalidArgumentError(fmt::format(
        "sim: venue {:?}: fault shutdown_notice: the venue sends no notice before it closes a connection (binance, "
        "binance-usdm and okx do); the close alone is fault close_ws or --lifetime-ms",
        s.options.venue));
  }
  if (s.options.replay_path.empty()) {
    if (s.options.symbols.empty()) return absl::InvalidArgumentError("sim: no symbols to simulate");
    if (!(s.options.rate > 0)) return absl::InvalidArgumentError("sim: rate must be > 0");
  } else {
    if (s.options.replay_speed < 0) return absl::InvalidArgumentError("sim: replay speed must be >= 0");
    auto messages = load_replay(s.options.replay_path);
    if (!messages.ok()) return messages.status();
    s.replay = std::move(*messages);
    s.prepare_replay();
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
  if (!impl_->options.replay_path.empty()) {
    auto b = impl_->replay_book(symbol, limit);
    if (!b) return absl::NotFoundError("sim: the replay has no depth for " + symbol);
    if (!b->ok()) return absl::UnavailableError("sim: " + std::string(b->status().message()));
    return *std::move(b);
  }
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
