// The simulator's plain HTTP side: GET /api/v3/depth as Binance spot answers
// it (GET /fapi/v1/depth in the USD-M dialect, GET /api/v5/market/books in
// the OKX one, GET /v5/market/full_orderbook in Bybit spot),
// 429/418 refusals with Retry-After, and the hand-over of upgrade requests
// to the websocket side (sim_session.cpp).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <charconv>

#include "sim_server.hpp"

namespace tickwire::connector {
namespace {

constexpr std::size_t kDefaultDepthLimit = 100;
constexpr std::size_t kMaxDepthLimit = 5000;
constexpr std::size_t kUsdmDefaultDepthLimit = 500;  // /fapi/v1/depth
constexpr std::size_t kUsdmMaxDepthLimit = 1000;
constexpr std::size_t kOkxMaxBooksSz = 400;  // GET /api/v5/market/books
constexpr std::uint32_t kMaxRequestHeader = 1u << 20;
// kReplayRetryAfterS: the Retry-After of a 503 for a replay book not known yet.
constexpr unsigned kReplayRetryAfterS = 1;

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

}  // namespace

asio::awaitable<void> Simulator::Impl::serve(beast::tcp_stream stream) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    // Combined-stream URLs for many streams outgrow Beast's 8 KiB default.
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxRequestHeader);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped) co_return;
    http::request<http::string_body> request = parser.release();
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

http::response<http::string_body> Simulator::Impl::reply(const http::request<http::string_body>& req,
                                                         http::status status, std::string body) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::content_type, "application/json;charset=UTF-8");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::optional<http::response<http::string_body>> Simulator::Impl::refuse(const SimRefusal& r,
                                                                         std::uint64_t& requests, const char* name, const http::request<http::string_body>& req) {
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

http::response<http::string_body> Simulator::Impl::rest(const http::request<http::string_body>& req) {
  const std::string_view target = req.target();
  if (dialect == SimDialect::kOkx) return okx_rest(req);
  if (is_bybit(dialect)) return bybit_rest(req);
  const bool usdm = dialect == SimDialect::kUsdm;
  const std::string_view path = usdm ? "/fapi/v1/depth" : "/api/v3/depth";
  if (req.method() != http::verb::get || target.substr(0, target.find('?')) != path) {
    return reply(req, http::status::not_found,
                 fmt::format(R"({{"code":-1,"msg":"sim: only GET {} is served"}})", path));
  }
  if (auto refusal = refuse(options.faults.refuse_rest, rest_requests, "refuse_rest", req)) return *refusal;
  const auto symbol = query_param(target, "symbol");
  if (!symbol || symbol->empty()) {
    return reply(req, http::status::bad_request,
                 R"({"code":-1102,"msg":"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."})");
  }
  std::size_t limit = usdm ? kUsdmDefaultDepthLimit : kDefaultDepthLimit;
  if (const auto l = query_param(target, "limit")) {
    const auto [end, err] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (err != std::errc{} || end != l->data() + l->size() || limit == 0) {
      return reply(req, http::status::bad_request,
                   fmt::format(R"({{"code":-1100,"msg":"Illegal characters found in parameter 'limit': '{}'."}})", *l));
    }
    limit = std::min(limit, usdm ? kUsdmMaxDepthLimit : kMaxDepthLimit);
  }
  std::lock_guard lock(market_mu);
  if (!options.replay_path.empty()) {
    // The book the replayed diffs have built so far, as of the last one sent.
    auto book = replay_book(*symbol, limit);
    if (!book) return reply(req, http::status::bad_request, R"({"code":-1121,"msg":"Invalid symbol."})");
    if (!book->ok()) {
      // Not an empty or partial book a client would take for the whole one:
      // ask again later (the book exists once a snapshot line is reached).
      // {:?}: the message quoted and escaped (it names a symbol from the capture).
      const std::string why = "sim: no consistent book: " + std::string(book->status().message());
      auto res = reply(req, http::status::service_unavailable, fmt::format(R"({{"code":-1001,"msg":{:?}}})", why));
      res.set(http::field::retry_after, std::to_string(kReplayRetryAfterS));
      return res;
    }
    return reply(req, http::status::ok, SimMarket::depth_json(**book));
  }
  const auto idx = market.symbol_index(*symbol);
  if (!idx) return reply(req, http::status::bad_request, R"({"code":-1121,"msg":"Invalid symbol."})");
  const SimBook book = options.rest_live_book ? market.book(*idx, limit) : market.published_book(*idx, limit);
  return reply(req, http::status::ok,
               SimMarket::depth_json(book, usdm ? std::optional<std::uint64_t>(market.now_ms()) : std::nullopt));
}

http::response<http::string_body> Simulator::Impl::bybit_rest(const http::request<http::string_body>& req) {
  // GET /v5/market/full_orderbook?category=spot&symbol=.. as Bybit answers
  // it: the whole book as of the last delta generated, at its u.
  const std::string_view target = req.target();
  if (req.method() != http::verb::get || target.substr(0, target.find('?')) != "/v5/market/full_orderbook") {
    return reply(req, http::status::not_found,
                 R"({"retCode":10001,"retMsg":"sim: only GET /v5/market/full_orderbook is served","result":{}})");
  }
  if (auto refusal = refuse(options.faults.refuse_rest, rest_requests, "refuse_rest", req)) return *refusal;
  const auto category = query_param(target, "category");
  if (dialect != SimDialect::kBybitSpot || !category || *category != "spot") {
    return reply(req, http::status::ok,
                 R"({"retCode":10001,"retMsg":"sim: the full orderbook is served on category spot","result":{}})");
  }
  const auto symbol = query_param(target, "symbol");
  std::lock_guard lock(market_mu);
  const auto idx = symbol ? market.symbol_index(*symbol) : std::nullopt;
  if (!idx || !options.replay_path.empty()) {
    return reply(req, http::status::ok, R"({"retCode":10001,"retMsg":"params error: symbol invalid","result":{}})");
  }
  return reply(req, http::status::ok, market.bybit_rest_full_book(*idx));
}

http::response<http::string_body> Simulator::Impl::okx_rest(const http::request<http::string_body>& req) {
  // GET /api/v5/market/books?instId=..&sz=.. as OKX answers it: sz 1..400,
  // default 1; the book as of the last update sent, at its seqId.
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (req.method() == http::verb::get && path == "/api/v5/public/instruments") return okx_instruments(req);
  if (req.method() != http::verb::get || path != "/api/v5/market/books") {
    return reply(req, http::status::not_found,
                 R"({"code":"50014","msg":"sim: only GET /api/v5/market/books and /api/v5/public/instruments )"
                 R"(are served","data":[]})");
  }
  if (auto refusal = refuse(options.faults.refuse_rest, rest_requests, "refuse_rest", req)) return *refusal;
  const auto inst = query_param(target, "instId");
  if (!inst || inst->empty()) {
    return reply(req, http::status::bad_request,
                 R"({"code":"50014","msg":"Parameter instId can not be empty","data":[]})");
  }
  std::size_t sz = 1;
  if (const auto l = query_param(target, "sz")) {
    const auto [end, err] = std::from_chars(l->data(), l->data() + l->size(), sz);
    if (err != std::errc{} || end != l->data() + l->size() || sz == 0) {
      return reply(req, http::status::bad_request,
                   fmt::format(R"({{"code":"51000","msg":"Parameter sz error: '{}'","data":[]}})", *l));
    }
    sz = std::min<std::size_t>(sz, kOkxMaxBooksSz);
  }
  std::lock_guard lock(market_mu);
  const auto idx = market.symbol_index(*inst);
  if (!idx || !options.replay_path.empty()) {
    return reply(req, http::status::bad_request, R"({"code":"51001","msg":"Instrument ID does not exist","data":[]})");
  }
  return reply(req, http::status::ok, market.okx_rest_books(*idx, sz));
}

http::response<http::string_body> Simulator::Impl::okx_instruments(const http::request<http::string_body>& req) {
  // GET /api/v5/public/instruments?instType=SWAP|FUTURES|SPOT&instId=..: the
  // contract of each simulated instrument: inverse (quote USD) 100 USD for
  // BTC and 10 USD for others, linear 0.01 BTC, 0.1 ETH or 1 of another
  // base; ctMult 1; spot has none ("").
  if (auto refusal = refuse(options.faults.refuse_rest, rest_requests, "refuse_rest", req)) return *refusal;
  const std::string_view target = req.target();
  const auto type = query_param(target, "instType");
  const auto inst = query_param(target, "instId");
  if (!type || type->empty()) {
    return reply(req, http::status::bad_request,
                 R"({"code":"50014","msg":"Parameter instType can not be empty","data":[]})");
  }
  std::optional<std::size_t> idx;
  {
    std::lock_guard lock(market_mu);
    if (inst) idx = market.symbol_index(*inst);
  }
  if (!idx) return reply(req, http::status::bad_request, R"({"code":"51001","msg":"Instrument ID does not exist","data":[]})");
  const std::string_view id = *inst;
  const auto dash = id.find('-');
  const auto dash2 = id.find('-', dash + 1);
  const std::string_view base = id.substr(0, dash);
  const std::string_view quote = id.substr(dash + 1, dash2 == std::string_view::npos ? std::string_view::npos
                                                                                      : dash2 - dash - 1);
  const bool spot = dash2 == std::string_view::npos;
  const std::string_view kind = spot ? "SPOT" : id.ends_with("-SWAP") ? "SWAP" : "FUTURES";
  if (*type != kind) {
    return reply(req, http::status::bad_request, R"({"code":"51001","msg":"Instrument ID does not exist","data":[]})");
  }
  const bool inverse = quote == "USD";
  const std::string_view value = spot      ? ""
                                 : inverse ? (base == "BTC" ? "100" : "10")
                                 : base == "BTC" ? "0.01"
                                 : base == "ETH" ? "0.1"
                                                 : "1";
  const std::string_view currency = spot ? "" : inverse ? quote : base;
  return reply(req, http::status::ok,
               fmt::format(R"({{"code":"0","msg":"","data":[{{"instType":"{}","instId":"{}","baseCcy":"{}",)"
                           R"("quoteCcy":"{}","ctType":"{}","ctVal":"{}","ctMult":"{}","ctValCcy":"{}","state":"live"}}]}})",
                           kind, id, spot ? base : "", spot ? quote : "", spot ? "" : inverse ? "inverse" : "linear",
                           value, spot ? "" : "1", currency));
}

}  // namespace tickwire::connector
