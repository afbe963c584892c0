// The simulator's OKX v5 control dialect: the text "ping" is answered by the
// text "pong"; {"id":"..","op":"subscribe"|"unsubscribe","args":[{"channel",
// "instId"}..]} requests are answered per arg with {"id","event":"subscribe"|
// "unsubscribe","arg":{..},"connId"}, or refused with {"id","event":"error",
// "code","msg","connId"} naming the channel and instrument. Channels: trades,
// trades-all, books (books-l2-tbt and books50-l2-tbt are refused as OKX
// refuses them below VIP4), bbo-tbt, mark-price, funding-rate, open-interest
// and liquidation-orders (by instType: every simulated instrument). Every
// books subscription starts with its snapshot at the last update's seqId,
// unless the no_snapshot fault withholds it.
#include <fmt/format.h>

#include "sim_server.hpp"

namespace tickwire::connector {
namespace {

constexpr std::string_view kChannels[] = {"trades",     "trades-all",   "books",         "bbo-tbt",
                                          "mark-price", "funding-rate", "open-interest", "liquidation-orders"};

bool served(std::string_view channel) {
  for (std::string_view c : kChannels) {
    if (c == channel) return true;
  }
  return false;
}

// field_number: the integer after `"name":` in `text` (and where it is).
std::optional<std::pair<std::size_t, std::size_t>> field_number(const std::string& text, std::string_view name) {
  const auto at = text.find(name);
  if (at == std::string::npos) return std::nullopt;
  const std::size_t start = at + name.size();
  std::size_t end = start;
  while (end < text.size() && (text[end] == '-' || (text[end] >= '0' && text[end] <= '9'))) ++end;
  return std::pair{start, end};
}

}  // namespace

void Simulator::Impl::on_okx_request(Connection& c, simdjson::dom::parser& parser, const std::string& text) {
  const std::string conn_id = fmt::format("sim-{}", c.id);
  if (text == "ping") {
    push_text(c, "pong");
    return;
  }
  simdjson::dom::object req;
  std::string_view op, id;
  const auto refuse = [&](std::string_view code, std::string_view msg) {
    push_text(c, fmt::format(R"({{"id":"{}","event":"error","code":"{}","msg":"{}","connId":"{}"}})", id, code, msg,
                             conn_id));
  };
  if (parser.parse(text).get_object().get(req) != simdjson::SUCCESS) {
    refuse("60012", "Invalid request: not JSON");
    return;
  }
  if (req["op"].get_string().get(op) != simdjson::SUCCESS) op = {};
  if (req["id"].get_string().get(id) != simdjson::SUCCESS) id = {};
  if (op != "subscribe" && op != "unsubscribe") {
    refuse("60012", fmt::format("Invalid request: unknown op {}", op));
    return;
  }
  simdjson::dom::array args;
  if (req["args"].get_array().get(args) != simdjson::SUCCESS) {
    refuse("60012", "Invalid request: args must be an array");
    return;
  }
  // Each arg: its keys (one per instrument; liquidation-orders: all of them),
  // its text for the ack, and the symbol of a books snapshot.
  struct Arg {
    std::string text;
    std::vector<std::string> keys;
    std::optional<std::size_t> book;
  };
  std::vector<Arg> parsed;
  for (simdjson::dom::element a : args) {
    std::string_view channel, inst_id, inst_type;
    if (a["channel"].get_string().get(channel) != simdjson::SUCCESS) channel = {};
    if (a["instId"].get_string().get(inst_id) != simdjson::SUCCESS) inst_id = {};
    if (a["instType"].get_string().get(inst_type) != simdjson::SUCCESS) inst_type = {};
    Arg arg;
    arg.text = simdjson::minify(a);
    std::lock_guard lock(market_mu);
    if (channel == "liquidation-orders" && !inst_type.empty()) {
      for (const auto& s : market.symbols()) arg.keys.push_back(sim_stream_key(fmt::format("{}:{}", channel, s)));
    } else {
      const auto idx = market.symbol_index(inst_id);
      if (!served(channel) || !idx || channel == "liquidation-orders") {
        refuse("60018", fmt::format("Wrong URL or channel:{},instId:{} doesn't exist", channel, inst_id));
        return;
      }
      arg.keys.push_back(sim_stream_key(fmt::format("{}:{}", channel, inst_id)));
      if (channel == "books") arg.book = idx;
    }
    parsed.push_back(std::move(arg));
  }
  std::size_t adding = 0;
  for (const auto& a : parsed) adding += a.keys.size();
  if (op == "subscribe" && c.subs.size() + adding > options.max_streams) {
    refuse("60014", fmt::format("Requests too frequent: {} channels exceed {}", c.subs.size() + adding,
                                options.max_streams));
    return;
  }
  for (const auto& a : parsed) {
    for (const auto& key : a.keys) {
      if (op == "subscribe") {
        c.subs.emplace(key, a.text);
      } else {
        c.subs.erase(key);
      }
    }
    push_text(c, fmt::format(R"({{"id":"{}","event":"{}","arg":{},"connId":"{}"}})", id, op, a.text, conn_id));
    if (op != "subscribe" || !a.book) continue;
    const std::uint64_t n = ++book_subscriptions;
    if (fires(kNoSnapshot, c, n)) {
      SimOutgoing m;
      m.key = a.keys.front();
      m.stream = m.key;
      m.text = std::make_shared<const std::string>("books snapshot withheld");
      log_fault(kNoSnapshot, c, n, m);
      continue;
    }
    std::string snap;
    {
      std::lock_guard lock(market_mu);
      snap = market.okx_book_snapshot(*a.book);
    }
    push_text(c, okx_rebase(c, a.keys.front(), std::move(snap)));
  }
}

std::string Simulator::Impl::okx_rebase(const Connection& c, const std::string& key, std::string text) {
  const auto base = c.u_base.find(key);
  if (base == c.u_base.end()) return text;
  for (std::string_view name : {std::string_view(R"("prevSeqId":)"), std::string_view(R"("seqId":)")}) {
    const auto at = field_number(text, name);
    if (!at) continue;
    const std::int64_t v = std::stoll(text.substr(at->first, at->second - at->first));
    if (v < 0) continue;  // a snapshot's prevSeqId -1
    const auto u = static_cast<std::uint64_t>(v);
    text.replace(at->first, at->second - at->first, std::to_string(u > base->second ? u - base->second : 0));
  }
  return text;
}

bool Simulator::Impl::okx_book_faults(Connection& c, std::uint64_t n, const SimOutgoing& m, bool after) {
  if (after) {
    if (!fires(kKeepalive, c, n)) return false;
    log_fault(kKeepalive, c, n, m);
    // OKX's idle keepalive: no levels, prevSeqId == seqId == the last update's.
    const std::string text = okx_rebase(c, m.key, *m.data);
    const auto seq = field_number(text, R"("seqId":)");
    if (!seq) return false;
    const std::string id = text.substr(seq->first, seq->second - seq->first);
    const std::string symbol = m.stream.substr(m.stream.find(':') + 1);
    push_text(c, fmt::format(R"({{"arg":{{"channel":"books","instId":"{}"}},"action":"update","data":[{{"asks":[],)"
                             R"("bids":[],"ts":"{}","checksum":0,"prevSeqId":{},"seqId":{}}}]}})",
                             symbol, m.time_ms.value_or(0), id, id));
    return false;
  }
  if (fires(kRestart, c, n)) {
    log_fault(kRestart, c, n, m);
    // The ids reset: this update's seqId becomes 1 (below its prevSeqId, which
    // still names the last update) and the connection's ids go on from it.
    std::string text = okx_rebase(c, m.key, *m.data);
    c.u_base[m.key] = m.last_id - 1;
    const auto seq = field_number(text, R"("seqId":)");
    if (seq) text.replace(seq->first, seq->second - seq->first, "1");
    push_text(c, std::move(text));
    return true;
  }
  if (fires(kBadChecksum, c, n)) {
    log_fault(kBadChecksum, c, n, m);
    std::string text = okx_rebase(c, m.key, *m.data);
    const auto sum = field_number(text, R"("checksum":)");
    if (sum) {
      const std::int64_t v = std::stoll(text.substr(sum->first, sum->second - sum->first));
      text.replace(sum->first, sum->second - sum->first, std::to_string(v == 1 ? 2 : 1));
    }
    push_text(c, std::move(text));
    return true;
  }
  return false;
}

}  // namespace tickwire::connector
