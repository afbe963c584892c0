// The simulator's Bybit v5 control dialect: {"req_id":"..","op":"subscribe"|
// "unsubscribe"|"ping","args":[..]} requests, acked by {"success":..,
// "ret_msg":..,"conn_id":..,"req_id":..,"op":..}; pongs in the category's
// shape (spot {"success":true,"ret_msg":"pong",..,"op":"ping"}, linear
// {"req_id":..,"op":"pong","args":["<ms>"],..}); at most 10 args per spot
// request. Topics: publicTrade.<S>, orderbook.200.<S> (orderbook.1000 is
// served by it: the book never holds 200 levels a side), and on linear
// tickers.<S>. Every subscribed book topic starts with its snapshot at the
// last delta's `u`, and a ticker topic with the whole ticker, as Bybit does.
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
    const bool known = channel == "publicTrade" || channel == "orderbook.200" || channel == "orderbook.1000" ||
                       (!spot && channel == "tickers");
    if (!idx || !known) {
      answer(false, fmt::format("Invalid topic :[{}] (the simulator serves publicTrade, orderbook.200, "
                                "orderbook.1000{})",
                                topic, spot ? "" : ", tickers"));
      return;
    }
    books_and_tickers.emplace_back(channel, channel == "publicTrade" ? std::nullopt : idx);
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
  answer(true, spot ? "subscribe" : "");
  for (const auto& [channel, idx] : books_and_tickers) {
    if (!idx) continue;
    std::lock_guard lock(market_mu);
    push_text(c, channel == "tickers" ? market.bybit_ticker_snapshot(*idx) : market.bybit_book_snapshot(*idx));
  }
}

}  // namespace tickwire::connector
