// The simulator's Bybit v5 control dialect: {"req_id":"..","op":"subscribe"|
// "unsubscribe"|"ping","args":[..]} requests, acked by {"success":..,
// "ret_msg":..,"conn_id":..,"req_id":..,"op":..}; pongs in the category's
// shape (spot {"success":true,"ret_msg":"pong",..,"op":"ping"}, linear
// {"req_id":..,"op":"pong","args":["<ms>"],..}); at most 10 args per spot
// request. Topics: publicTrade.<S>, orderbook.200.<S> (orderbook.1000 is
// served by it: the book never holds 200 levels a side), orderbook.50.<S>
// and orderbook.1.<S> (views of the top, see SimMarket), on spot
// orderbook.full.<S> (the same deltas under its own topic, never a
// snapshot, no book faults but gap: its book comes from GET
// /v5/market/full_orderbook), and on linear tickers.<S>. Every other
// subscribed book topic starts with its snapshot at the last delta's `u`,
// and a ticker topic with the whole ticker, as Bybit does.
#include <fmt/format.h>

#include "sim_server.hpp"

namespace tickwire::connector {
namespace {

constexpr std::size_t kSpotArgsPerRequest = 10;

}  // namespace

void Simulator::Impl::on_bybit_request(Connection& c, simdjson::dom::parser& parser, const std::string& text) {
  const bool spot = dialect == SimDialect::kBybitSpot;
  const std::string conn_id = fmt::format("sim-{}", c.id);
  simdjson::dom::object req;
  if (parser.parse(text).get_object().get(req) != simdjson::SUCCESS) {
    push_text(c, fmt::format(R"({{"success":false,"ret_msg":"error:invalid json","conn_id":"{}","op":""}})", conn_id));
    return;
  }
  std::string_view op, req_id;
  if (req["op"].get_string().get(op) != simdjson::SUCCESS) op = {};
  if (req["req_id"].get_string().get(req_id) != simdjson::SUCCESS) req_id = {};
  const auto answer = [&](bool success, std::string_view message) {
    push_text(c, fmt::format(R"({{"success":{},"ret_msg":"{}","conn_id":"{}","req_id":"{}","op":"{}"}})",
                             success ? "true" : "false", message, conn_id, req_id, op));
  };
  if (op == "ping") {
    if (spot) {
      answer(true, "pong");
    } else {
      std::uint64_t now_ms = 0;
      {
        std::lock_guard lock(market_mu);
        now_ms = market.now_ms();
      }
      push_text(c, fmt::format(R"({{"req_id":"{}","op":"pong","args":["{}"],"conn_id":"{}"}})", req_id, now_ms,
                               conn_id));
    }
    return;
  }
  if (op != "subscribe" && op != "unsubscribe") {
    answer(false, fmt::format("error:unknown op {}", op));
    return;
  }
  simdjson::dom::array args;
  std::vector<std::string> topics;
  if (req["args"].get_array().get(args) == simdjson::SUCCESS) {
    for (simdjson::dom::element a : args) {
      std::string_view topic;
      if (a.get_string().get(topic) != simdjson::SUCCESS) {
        answer(false, "error:args must be strings");
        return;
      }
      topics.emplace_back(topic);
    }
  }
  if (spot && topics.size() > kSpotArgsPerRequest) {
    answer(false, fmt::format("args size >{}", kSpotArgsPerRequest));
    return;
  }
  // Which topics the market publishes: check each before changing anything.
  std::vector<std::pair<std::string, std::optional<std::size_t>>> books_and_tickers;  // key, symbol of a snapshot
  for (const auto& topic : topics) {
    const auto dot = topic.rfind('.');
    const std::string channel = topic.substr(0, dot == std::string::npos ? 0 : dot);
    std::optional<std::size_t> idx;
    {
      std::lock_guard lock(market_mu);
      if (dot != std::string::npos) idx = market.symbol_index(std::string_view(topic).substr(dot + 1));
    }
    const bool known = channel == "publicTrade" || channel == "orderbook.1" || channel == "orderbook.50" ||
                       channel == "orderbook.200" || channel == "orderbook.1000" ||
                       (spot && channel == "orderbook.full") ||
                       (!spot && (channel == "tickers" || channel == "allLiquidation"));
    if (!idx || !known) {
      answer(false, fmt::format("Invalid topic :[{}] (the simulator serves publicTrade, orderbook.1, orderbook.50, "
                                "orderbook.200, orderbook.1000{})",
                                topic, spot ? ", orderbook.full" : ", tickers, allLiquidation"));
      return;
    }
    // orderbook.full sends updates only: its book starts from the REST one.
    const bool snapshot = channel != "publicTrade" && channel != "allLiquidation" && channel != "orderbook.full";
    books_and_tickers.emplace_back(channel, snapshot ? idx : std::nullopt);
  }
  if (op == "unsubscribe") {
    for (const auto& topic : topics) c.subs.erase(sim_stream_key(topic));
    answer(true, "");
    return;
  }
  if (c.subs.size() + topics.size() > options.max_streams) {
    answer(false, fmt::format("error:too many topics ({} > {})", c.subs.size() + topics.size(), options.max_streams));
    return;
  }
  for (const auto& topic : topics) c.subs.emplace(sim_stream_key(topic), topic);
  {
    // The market generates the depth-1 and depth-50 views once someone asks for them.
    std::lock_guard lock(market_mu);
    for (const auto& [channel, idx] : books_and_tickers) {
      if (channel == "orderbook.1") market.enable_bybit_depth(1);
      if (channel == "orderbook.50") market.enable_bybit_depth(50);
    }
  }
  answer(true, spot ? "subscribe" : "");
  for (std::size_t i = 0; i < books_and_tickers.size(); ++i) {
    const auto& [channel, idx] = books_and_tickers[i];
    if (!idx) continue;
    if (channel != "tickers") {
      const std::uint64_t n = ++book_subscriptions;
      if (fires(kNoSnapshot, c, n)) {
        // The deltas come, their snapshot never does.
        SimOutgoing m;
        m.key = sim_stream_key(topics[i]);
        m.stream = m.key;
        m.text = std::make_shared<const std::string>("orderbook snapshot withheld");
        log_fault(kNoSnapshot, c, n, m);
        continue;
      }
    }
    std::string snap;
    {
      std::lock_guard lock(market_mu);
      snap = channel == "tickers"       ? market.bybit_ticker_snapshot(*idx)
             : channel == "orderbook.1"  ? market.bybit_book_snapshot(*idx, 1)
             : channel == "orderbook.50" ? market.bybit_book_snapshot(*idx, 50)
                                         : market.bybit_book_snapshot(*idx);
    }
    push_text(c, channel == "tickers" ? std::move(snap) : bybit_rebase(c, sim_stream_key(topics[i]), std::move(snap)));
  }
}

std::string Simulator::Impl::bybit_rebase(const Connection& c, const std::string& key, std::string text) {
  const auto base = c.u_base.find(key);
  if (base == c.u_base.end()) return text;
  // The simulator writes `"u":N,"seq"` once per book message.
  const auto at = text.find(R"("u":)");
  const auto end = text.find(',', at);
  if (at == std::string::npos || end == std::string::npos) return text;
  const std::uint64_t u = std::stoull(text.substr(at + 4, end - at - 4));
  text.replace(at + 4, end - at - 4, std::to_string(u > base->second ? u - base->second : 1));
  return text;
}

bool Simulator::Impl::bybit_book_faults(Connection& c, std::uint64_t n, const SimOutgoing& m, bool after) {
  std::optional<std::size_t> idx;
  std::string snapshot;
  std::uint64_t u = 0;
  {
    std::lock_guard lock(market_mu);
    idx = market.symbol_index(std::string_view(m.stream).substr(m.stream.rfind('.') + 1));
    if (!idx) return false;
    // Delivered right after it was generated: the published book is the one after `m`.
    snapshot = market.bybit_book_snapshot(*idx);
    u = market.bybit_u(*idx);
  }
  if (!after && fires(kRestart, c, n)) {
    log_fault(kRestart, c, n, m);
    c.u_base[m.key] = u - 1;  // this delta becomes u = 1
    const auto type = snapshot.find(R"("type":"snapshot")");
    snapshot.replace(type, 17, R"("type":"delta")");
    push_text(c, bybit_rebase(c, m.key, std::move(snapshot)));
    return true;
  }
  if (after && fires(kResnapshot, c, n)) {
    log_fault(kResnapshot, c, n, m);
    push_text(c, bybit_rebase(c, m.key, std::move(snapshot)));
  }
  return false;
}

}  // namespace tickwire::connector
