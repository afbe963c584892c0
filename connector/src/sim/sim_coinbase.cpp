// The simulator's Coinbase Advanced Trade control dialect: {"type":"subscribe"|
// "unsubscribe","product_ids":[..],"channel":".."} requests (one channel each;
// a "jwt" is accepted and not checked), each answered by a "subscriptions"
// message naming every subscription of the connection; refusals are
// {"type":"error","message":".."}. Channels: level2 (starts with the
// published book's snapshot), market_trades (starts with a snapshot of the
// recent trades), ticker (starts with the touch), heartbeats (one message a
// second with a counter, no product needed). Every message of a connection
// carries its own sequence_num, +1 per message (a withheld message, the gap
// fault, skips a number as a lost one would). A connection that has not
// subscribed within subscribe_deadline_ms is closed, and more than 16 level2
// products on one connection are refused, as Coinbase does.
#include <boost/asio/redirect_error.hpp>
#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "sim_server.hpp"

namespace tickwire::connector {
namespace {

constexpr std::size_t kMaxLevel2Products = 16;
constexpr std::string_view kChannels[] = {"level2", "market_trades", "ticker"};

std::string coinbase_error(std::string_view message) {
  return fmt::format(R"({{"type":"error","message":"{}"}})", message);
}

}  // namespace

std::string Simulator::Impl::coinbase_stamp(Connection& c, std::string_view text) {
  constexpr std::string_view kKey = R"("sequence_num":)";
  const auto at = text.find(kKey);
  if (at == std::string_view::npos) return std::string(text);  // an error reply has none
  const auto end = text.find(',', at);
  std::string out;
  out.reserve(text.size() + 20);
  out.append(text.substr(0, at + kKey.size()));
  out += std::to_string(c.sequence++);
  out.append(text.substr(end));
  return out;
}

void Simulator::Impl::on_coinbase_request(Connection& c, simdjson::dom::parser& parser, const std::string& text) {
  simdjson::dom::object req;
  if (parser.parse(text).get_object().get(req) != simdjson::SUCCESS) {
    push_text(c, coinbase_error("malformed request: not a JSON object"));
    return;
  }
  std::string_view type, channel;
  if (req["type"].get_string().get(type) != simdjson::SUCCESS || (type != "subscribe" && type != "unsubscribe")) {
    push_text(c, coinbase_error("type must be subscribe or unsubscribe"));
    return;
  }
  if (req["channel"].get_string().get(channel) != simdjson::SUCCESS) {
    push_text(c, coinbase_error("channel must be a string (one channel per message)"));
    return;
  }
  const bool subscribe = type == "subscribe";
  if (channel == "heartbeats") {
    c.subscribed = c.subscribed || subscribe;
    c.heartbeats = subscribe;
  } else {
    if (std::find(std::begin(kChannels), std::end(kChannels), channel) == std::end(kChannels)) {
      push_text(c, coinbase_error(fmt::format("failure to subscribe: channel {} is not served by the simulator", channel)));
      return;
    }
    std::vector<std::pair<std::string, std::size_t>> products;  // name, index
    simdjson::dom::array ids;
    if (req["product_ids"].get_array().get(ids) == simdjson::SUCCESS) {
      for (simdjson::dom::element e : ids) {
        std::string_view id;
        std::optional<std::size_t> idx;
        if (e.get_string().get(id) == simdjson::SUCCESS) {
          std::lock_guard lock(market_mu);
          idx = market.symbol_index(id);
        }
        if (!idx) {
          push_text(c, coinbase_error(fmt::format("failure to subscribe: unknown product {}", id)));
          return;
        }
        products.emplace_back(std::string(id), *idx);
      }
    }
    if (!subscribe) {
      for (const auto& [id, idx] : products) c.subs.erase(sim_stream_key(fmt::format("{}.{}", channel, id)));
    } else {
      std::size_t level2 = 0;
      for (const auto& [key, name] : c.subs) level2 += key.starts_with("level2.") ? 1 : 0;
      if (channel == "level2" && level2 + products.size() > kMaxLevel2Products) {
        push_text(c, coinbase_error("too many L2 streams requested in a single session"));
        return;
      }
      c.subscribed = true;
      for (const auto& [id, idx] : products) {
        const std::string name = fmt::format("{}.{}", channel, id);
        c.subs.emplace(sim_stream_key(name), name);
      }
    }
  }
  // The reply: every subscription of the connection, by channel.
  std::map<std::string, std::string> by_channel;
  for (const auto& [key, name] : c.subs) {
    const auto dot = name.find('.');
    std::string& list = by_channel[name.substr(0, dot)];
    list += fmt::format(R"({}"{}")", list.empty() ? "" : ",", name.substr(dot + 1));
  }
  if (c.heartbeats) by_channel["heartbeats"] = R"("heartbeats")";
  std::string subs;
  for (const auto& [name, list] : by_channel) subs += fmt::format(R"({}"{}":[{}])", subs.empty() ? "" : ",", name, list);
  std::string time;
  {
    std::lock_guard lock(market_mu);
    time = market.coinbase_time();
  }
  push_text(c, fmt::format(R"({{"channel":"subscriptions","client_id":"","timestamp":"{}","sequence_num":0,)"
                           R"("events":[{{"subscriptions":{{{}}}}}]}})",
                           time, subs));
  if (!subscribe || channel == "heartbeats") return;
  simdjson::dom::array ids;
  if (req["product_ids"].get_array().get(ids) != simdjson::SUCCESS) return;
  for (simdjson::dom::element e : ids) {
    std::string_view id;
    if (e.get_string().get(id) != simdjson::SUCCESS) continue;
    std::string snap;
    {
      std::lock_guard lock(market_mu);
      const auto idx = market.symbol_index(id);
      if (!idx) continue;
      snap = channel == "level2"          ? market.coinbase_book_snapshot(*idx)
             : channel == "market_trades" ? market.coinbase_trades_snapshot(*idx)
                                          : market.coinbase_ticker_snapshot(*idx);
    }
    if (!c.quiet) push_text(c, std::move(snap));
  }
}

asio::awaitable<void> Simulator::Impl::coinbase_loop(ConnPtr conn) {
  asio::steady_timer timer(io);
  const auto opened = Clock::now();
  auto next_beat = opened + std::chrono::milliseconds(options.heartbeat_interval_ms);
  const auto deadline = opened + std::chrono::milliseconds(options.subscribe_deadline_ms);
  for (;;) {
    const auto wake = conn->subscribed ? next_beat : std::min(next_beat, deadline);
    timer.expires_at(wake);
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped || conn->closed || conn->ending) co_return;
    const auto now = Clock::now();
    if (!conn->subscribed && now >= deadline) {
      limit_close(*conn, fmt::format("no subscribe within {} ms", options.subscribe_deadline_ms));
      co_return;
    }
    if (now < next_beat) continue;
    next_beat += std::chrono::milliseconds(options.heartbeat_interval_ms);
    if (!conn->heartbeats || conn->stalled) continue;
    std::string time;
    {
      std::lock_guard lock(market_mu);
      time = market.coinbase_time();
    }
    push_text(*conn, fmt::format(R"({{"channel":"heartbeats","client_id":"","timestamp":"{}","sequence_num":0,)"
                                 R"("events":[{{"current_time":"{}","heartbeat_counter":{}}}]}})",
                                 time, time, ++conn->heartbeat_counter));
  }
}

}  // namespace tickwire::connector
