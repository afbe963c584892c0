#include "tickwire/connector/sim_replay.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include <cctype>
#include <cstdint>
#include <fstream>
#include <set>

#include "tickwire/middleware/decimal.hpp"

namespace tickwire::connector {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::uint64_t> uint_field(simdjson::dom::element data, const char* name) {
  std::uint64_t v = 0;
  if (data[name].get_uint64().get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

std::string_view string_field(simdjson::dom::element data, const char* name) {
  std::string_view v;
  if (data[name].get_string().get(v) != simdjson::SUCCESS) return {};
  return v;
}

// raw_stream: the stream a raw payload belongs to, from its event type.
std::string raw_stream(simdjson::dom::element data) {
  const std::string_view e = string_field(data, "e");
  const std::string_view s = string_field(data, "s");
  if (e == "serverShutdown") return "!serverShutdown";
  if (e.empty()) return lower(s) + "@bookTicker";  // the only keyless spot payload
  if (e == "depthUpdate") return lower(s) + "@depth@100ms";
  return lower(s) + "@" + std::string(e);
}

// units: a decimal string in units of 10^-8 (SimLevel), if it is one and fits.
std::optional<std::int64_t> units(std::string_view text) {
  middleware::Decimal d;
  if (middleware::parse_decimal(text, d) != middleware::DecimalError::kOk || d.exponent < -8) return std::nullopt;
  std::int64_t v = d.mantissa;
  for (int i = 0; i < d.exponent + 8; ++i) {  // value = mantissa * 10^exponent = v * 10^-8
    if (v > INT64_MAX / 10 || v < INT64_MIN / 10) return std::nullopt;
    v *= 10;
  }
  return v;
}

// levels: a `[["price","qty"],..]` array into `out`; an error text if it is not one.
std::optional<std::string> levels(simdjson::dom::element doc, const char* name, std::vector<SimLevel>& out) {
  simdjson::dom::array arr;
  if (doc[name].get_array().get(arr) != simdjson::SUCCESS) return fmt::format("\"{}\" is not an array", name);
  for (simdjson::dom::element level : arr) {
    simdjson::dom::array pair;
    std::string_view price, qty;
    if (level.get_array().get(pair) != simdjson::SUCCESS || pair.size() < 2 ||
        pair.at(0).get_string().get(price) != simdjson::SUCCESS || pair.at(1).get_string().get(qty) != simdjson::SUCCESS) {
      return fmt::format("\"{}\" holds a level that is not [\"price\",\"qty\"]", name);
    }
    const auto p = units(price), q = units(qty);
    if (!p || !q) return fmt::format("\"{}\" level [\"{}\",\"{}\"] is not two decimals with at most 8 places", name, price, qty);
    out.push_back({*p, *q});
  }
  return std::nullopt;
}

// snapshot_change: a REST depth answer's book (`lastUpdateId`, `bids`,
// `asks`) for `symbol`; an error text if it is not one.
absl::StatusOr<std::shared_ptr<SimDepthChange>> snapshot_change(simdjson::dom::element doc, std::string symbol) {
  auto snap = std::make_shared<SimDepthChange>();
  snap->snapshot = true;
  snap->symbol = std::move(symbol);
  std::uint64_t id = 0;
  if (doc["lastUpdateId"].get_uint64().get(id) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("a snapshot needs an unsigned \"lastUpdateId\"");
  }
  snap->first_id = snap->last_id = id;
  for (auto [name, side] : {std::pair{"bids", &snap->bids}, std::pair{"asks", &snap->asks}}) {
    if (auto err = levels(doc, name, *side)) return absl::InvalidArgumentError("snapshot: " + *err);
  }
  return snap;
}

// CaptureLine: what a line of a capture holds once a recorder's prefix is
// taken off.
struct CaptureLine {
  std::string_view json;  // the JSON object; empty: nothing to send (a request sent, a connect)
  std::string symbol;     // upper case, from a cryptofeed REST line's URL (`symbol=`); empty if none
};

// timestamp_prefix: the length of `<digits>[.<digits>]` at the start of `s` (0: none).
std::size_t timestamp_prefix(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return 0;
  if (i < s.size() && s[i] == '.') {
    const std::size_t dot = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == dot) return 0;
  }
  return i;
}

// split_capture_line: a line as written by hand or by --record (`{..}`),
// by hftbacktest's collector (`<ns> {..}`), or by cryptofeed's raw data
// collection (`<ts>: {..}`, a REST answer as `<url> -> <ts>: {..}`, a
// request sent as `<url> <- <ts>: {..}`, a connect as `<url> <-> <ts>`);
// nullopt if it is none of these.
std::optional<CaptureLine> split_capture_line(std::string_view line) {
  const auto first = line.find_first_not_of(" \t");
  line.remove_prefix(first == std::string_view::npos ? line.size() : first);
  if (line.starts_with('{')) return CaptureLine{line, {}};
  CaptureLine out;
  if (line.find(" <-> ") != std::string_view::npos || line.find(" <- ") != std::string_view::npos) {
    return out;  // a connect or a request the recorder sent: not market data
  }
  if (const auto arrow = line.find(" -> "); arrow != std::string_view::npos) {
    const std::string_view url = line.substr(0, arrow);
    if (const auto q = url.find("symbol="); q != std::string_view::npos) {
      const std::string_view rest = url.substr(q + 7);
      for (char c : rest.substr(0, rest.find('&'))) {
        out.symbol.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      }
    }
    line.remove_prefix(arrow + 4);
  }
  const std::size_t ts = timestamp_prefix(line);
  if (ts == 0) return std::nullopt;
  std::size_t i = ts;
  if (i < line.size() && line[i] == ':') ++i;
  const std::size_t gap = i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i == gap || i == line.size() || line[i] != '{') return std::nullopt;
  out.json = line.substr(i);
  return out;
}

}  // namespace

void append_ws_text_frame(std::string& out, std::string_view payload) {
  const std::uint64_t n = payload.size();
  out.push_back(static_cast<char>(0x81));  // FIN, opcode 1 (text)
  if (n < 126) {
    out.push_back(static_cast<char>(n));  // no mask bit: server to client
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  out.append(payload);
}

std::string sim_stream_key(std::string_view stream) {
  std::string key = lower(stream);
  if (key.size() > 6 && key.ends_with("@depth")) key += "@100ms";
  // USD-M's other diff speeds and its 3 s mark price are served by the same
  // generated streams.
  for (const std::string_view alias : {"@depth@500ms", "@depth@0ms"}) {
    if (key.ends_with(alias)) key.replace(key.size() - alias.size(), alias.size(), "@depth@100ms");
  }
  if (key.ends_with("@markprice")) key += "@1s";
  // Bybit: every book depth (and orderbook.full) is served by the one generated orderbook.200 topic.
  if (key.starts_with("orderbook.1000.")) key.replace(0, 15, "orderbook.200.");
  if (key.starts_with("orderbook.full.")) key.replace(0, 15, "orderbook.200.");
  return key;
}

absl::StatusOr<std::vector<SimOutgoing>> load_replay(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(fmt::format("sim: cannot open replay file {}", path));
  simdjson::dom::parser parser;
  std::vector<SimOutgoing> out;
  // Bare REST answers that name no symbol: whose they are is decided once
  // every line is read (the one symbol the capture has depth diffs for).
  std::vector<std::pair<std::size_t, std::shared_ptr<SimDepthChange>>> unnamed;  // line number, snapshot
  std::set<std::string, std::less<>> diff_symbols;
  std::size_t line_no = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++line_no;
    if (raw.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto split = split_capture_line(raw);
    if (!split) {
      return absl::InvalidArgumentError(fmt::format(
          "{}:{}: expected a JSON object per line, or one after a recorder's timestamp (`<timestamp> {{..}}` as "
          "hftbacktest writes it, `<timestamp>: {{..}}` as cryptofeed does)",
          path, line_no));
    }
    if (split->json.empty()) continue;  // a recorder's connect or sent-request line
    const std::string line(split->json);
    simdjson::dom::element doc;
    if (auto err = parser.parse(line).get(doc); err || !doc.is_object()) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: expected a JSON object per line: {}", path, line_no,
                                                    err ? simdjson::error_message(err) : "not an object"));
    }
    if (std::string_view sim; doc["sim"].get_string().get(sim) == simdjson::SUCCESS) {
      if (sim != "snapshot") continue;  // a simulator record's fault or limit line
      std::string_view symbol;
      if (doc["symbol"].get_string().get(symbol) != simdjson::SUCCESS || symbol.empty()) {
        return absl::InvalidArgumentError(
            fmt::format("{}:{}: a snapshot line needs \"symbol\" and an unsigned \"lastUpdateId\"", path, line_no));
      }
      auto snap = snapshot_change(doc, std::string(symbol));
      if (!snap.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("{}:{}: {}", path, line_no, std::string(snap.status().message())));
      }
      SimOutgoing m;
      m.depth = std::move(*snap);
      out.push_back(std::move(m));
      continue;
    }
    SimOutgoing m;
    simdjson::dom::element data;
    std::string_view stream;
    if (doc["stream"].get_string().get(stream) == simdjson::SUCCESS && doc["data"].get(data) == simdjson::SUCCESS) {
      m.stream = std::string(stream);
      m.text = std::make_shared<const std::string>(line);
      m.data = std::make_shared<const std::string>(simdjson::minify(data));
    } else {
      data = doc;
      if (string_field(data, "e").empty() && data["lastUpdateId"].error() == simdjson::SUCCESS) {
        // A REST depth answer as hftbacktest and cryptofeed record it.
        auto snap = snapshot_change(doc, split->symbol);
        if (!snap.ok()) {
          return absl::InvalidArgumentError(
              fmt::format("{}:{}: {}", path, line_no, std::string(snap.status().message())));
        }
        if (split->symbol.empty()) unnamed.emplace_back(line_no, *snap);
        SimOutgoing s;
        s.depth = std::move(*snap);
        out.push_back(std::move(s));
        continue;
      }
      if (data["id"].error() == simdjson::SUCCESS &&
          (data["result"].error() == simdjson::SUCCESS || data["error"].error() == simdjson::SUCCESS)) {
        continue;  // a reply to a control request the recorder sent (SUBSCRIBE ..): not market data
      }
      if (string_field(data, "e").empty() && string_field(data, "s").empty()) {
        return absl::InvalidArgumentError(fmt::format(
            "{}:{}: a bare payload with neither \"e\" nor \"s\": not a message of any stream", path, line_no));
      }
      m.stream = raw_stream(data);
      m.data = std::make_shared<const std::string>(line);
      m.text = std::make_shared<const std::string>(fmt::format(R"({{"stream":"{}","data":{}}})", m.stream, line));
    }
    m.key = sim_stream_key(m.stream);
    const auto U = uint_field(data, "U");
    const auto u = uint_field(data, "u");
    const auto t = uint_field(data, "t");
    const auto a = uint_field(data, "a");
    m.first_id = U ? *U : t ? *t : a && !u ? *a : u.value_or(0);
    m.last_id = u && U ? *u : m.first_id;
    m.time_ms = uint_field(data, "E");
    if (!m.time_ms) m.time_ms = uint_field(data, "T");
    if (string_field(data, "e") == "depthUpdate") {
      auto diff = std::make_shared<SimDepthChange>();
      diff->symbol = std::string(string_field(data, "s"));
      diff->first_id = U.value_or(0);
      diff->last_id = u.value_or(0);
      diff->prev_id = uint_field(data, "pu");
      if (diff->symbol.empty() || !U || !u) {
        return absl::InvalidArgumentError(fmt::format("{}:{}: depthUpdate without \"s\", \"U\" or \"u\"", path, line_no));
      }
      for (auto [name, side] : {std::pair{"b", &diff->bids}, std::pair{"a", &diff->asks}}) {
        if (auto err = levels(data, name, *side)) {
          return absl::InvalidArgumentError(fmt::format("{}:{}: depthUpdate: {}", path, line_no, *err));
        }
      }
      diff_symbols.insert(diff->symbol);
      m.depth = std::move(diff);
    }
    out.push_back(std::move(m));
  }
  if (!unnamed.empty()) {
    if (diff_symbols.size() != 1) {
      return absl::InvalidArgumentError(fmt::format(
          "{}:{}: a REST depth snapshot without a symbol, and the capture has depth diffs for {} symbols{}{}: "
          "whose book it is cannot be told (write it as {{\"sim\":\"snapshot\",\"symbol\":..}} or replay one "
          "symbol per file)",
          path, unnamed.front().first, diff_symbols.size(), diff_symbols.empty() ? "" : " ",
          fmt::join(diff_symbols, ", ")));
    }
    for (auto& [line, snap] : unnamed) snap->symbol = *diff_symbols.begin();
  }
  return out;
}

}  // namespace tickwire::connector
