// The simulator's truth and the connector's journal as plain values, for the
// fault tests (fault_harness.hpp): Truth parses the simulator's record file,
// parse_journal_record one line of `tickwire replay --format jsonl`, Book is
// an L2 book as canonical decimal text, Progress how far a journal has got.
// Header-only: the suites under tests/connector include it.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickwire::testing {

// Levels as [price, size] text pairs, as Binance and the replay print them.
using LevelList = std::vector<std::pair<std::string, std::string>>;

// canonical_decimal: "1.50000000" and "1.5" are the same price: strip the
// trailing zeros of the fraction (and a bare point) so texts compare.
inline std::string canonical_decimal(std::string_view text) {
  std::string out(text);
  if (out.find('.') != std::string::npos) {
    while (!out.empty() && out.back() == '0') out.pop_back();
    if (!out.empty() && out.back() == '.') out.pop_back();
  }
  if (out.empty() || out == "-0") out = "0";
  return out;
}

inline std::string lower_of(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Book: one side per map, canonical price -> canonical size; no zero sizes.
struct Book {
  std::uint64_t id = 0;
  std::map<std::string, std::string> bids, asks;

  void apply(const LevelList& b, const LevelList& a) {
    auto put = [](std::map<std::string, std::string>& side, const LevelList& levels) {
      for (const auto& [p, q] : levels) {
        const std::string size = canonical_decimal(q);
        if (size == "0") {
          side.erase(canonical_decimal(p));
        } else {
          side[canonical_decimal(p)] = size;
        }
      }
    };
    put(bids, b);
    put(asks, a);
  }
  bool same_levels(const Book& o) const { return bids == o.bids && asks == o.asks; }
  std::string describe() const {
    std::string out = "id " + std::to_string(id) + " bids";
    for (auto it = bids.rbegin(); it != bids.rend(); ++it) out += " " + it->first + "x" + it->second;
    out += " | asks";
    for (const auto& [p, q] : asks) out += " " + p + "x" + q;
    return out;
  }
};

// --- the truth (the simulator's record) ----------------------------------------

struct TruthTrade {
  std::uint64_t id = 0;
  std::string price, size;
  bool buyer_maker = false;
  std::uint64_t event_ms = 0, trade_ms = 0, first_id = 0, last_id = 0;
};

struct TruthQuote {
  std::uint64_t id = 0;
  std::string bid_price, bid_size, ask_price, ask_size;
};

struct TruthDiff {
  std::uint64_t first = 0, last = 0;
  LevelList bids, asks;
  std::optional<std::uint64_t> prev;  // USD-M's pu: the u of the diff before (ids are not contiguous there)
};

// TruthFunding: a USD-M markPriceUpdate.
struct TruthFunding {
  std::uint64_t event_ms = 0, next_funding_ms = 0;
  std::string mark, index, settle, rate;
};

// TruthLiquidation: a USD-M forceOrder.
struct TruthLiquidation {
  std::uint64_t trade_ms = 0;
  std::string side, price, average_price, size, filled_size;
};

// TruthFault: a {"sim":"fault",...} line.
struct TruthFault {
  std::string fault, stream;
  std::uint64_t conn = 0, at = 0, first_id = 0, last_id = 0, status = 0, retry_after = 0;
};

inline LevelList levels_of(simdjson::dom::element array) {
  LevelList out;
  for (simdjson::dom::element level : array.get_array()) {
    simdjson::dom::array pq = level.get_array();
    out.emplace_back(std::string(std::string_view(pq.at(0))), std::string(std::string_view(pq.at(1))));
  }
  return out;
}

inline std::uint64_t uint_or(simdjson::dom::object o, std::string_view key, std::uint64_t fallback = 0) {
  std::uint64_t v = 0;
  return o[key].get(v) == simdjson::SUCCESS ? v : fallback;
}

inline std::string string_or(simdjson::dom::object o, std::string_view key) {
  std::string_view v;
  return o[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

struct Truth {
  std::map<std::string, std::vector<TruthTrade>> trades;  // by stream: "btcusdt@trade", "btcusdt@aggTrade"
  std::map<std::string, std::vector<TruthQuote>> quotes;  // "btcusdt@bookTicker"
  std::map<std::string, std::vector<TruthDiff>> diffs;    // "btcusdt@depth@100ms"
  std::map<std::string, std::vector<TruthFunding>> funding;           // "btcusdt@markPrice@1s"
  std::map<std::string, std::vector<TruthLiquidation>> liquidations;  // "btcusdt@forceOrder"
  std::vector<TruthFault> faults;
  std::vector<std::string> limits;  // {"sim":"limit",...} lines as written

  // load: parses the record file; a line it cannot read is a test failure naming it.
  void load(const std::filesystem::path& path) {
    std::ifstream in(path);
    ASSERT_TRUE(in) << "cannot read the truth " << path;
    simdjson::dom::parser parser;
    std::size_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      if (line.empty()) continue;
      simdjson::dom::object o;
      ASSERT_EQ(parser.parse(line).get(o), simdjson::SUCCESS) << path << ":" << line_no << ": " << line;
      if (const std::string sim = string_or(o, "sim"); !sim.empty()) {
        if (sim == "limit") {
          limits.push_back(line);
          continue;
        }
        faults.push_back({string_or(o, "fault"), string_or(o, "stream"), uint_or(o, "conn"), uint_or(o, "at"),
                          uint_or(o, "first_id"), uint_or(o, "last_id"), uint_or(o, "status"),
                          uint_or(o, "retry_after")});
        continue;
      }
      const std::string stream = string_or(o, "stream");
      simdjson::dom::object d = o["data"];
      if (stream.ends_with("@trade")) {
        trades[stream].push_back({uint_or(d, "t"), string_or(d, "p"), string_or(d, "q"), bool(d["m"]),
                                  uint_or(d, "E"), uint_or(d, "T"), 0, 0});
      } else if (stream.ends_with("@aggTrade")) {
        trades[stream].push_back({uint_or(d, "a"), string_or(d, "p"), string_or(d, "q"), bool(d["m"]),
                                  uint_or(d, "E"), uint_or(d, "T"), uint_or(d, "f"), uint_or(d, "l")});
      } else if (stream.ends_with("@bookTicker")) {
        quotes[stream].push_back(
            {uint_or(d, "u"), string_or(d, "b"), string_or(d, "B"), string_or(d, "a"), string_or(d, "A")});
      } else if (stream.ends_with("@depth@100ms")) {
        diffs[stream].push_back({uint_or(d, "U"), uint_or(d, "u"), levels_of(d["b"]), levels_of(d["a"]), {}});
        if (d["pu"].error() == simdjson::SUCCESS) diffs[stream].back().prev = uint_or(d, "pu");
      } else if (stream.ends_with("@markPrice@1s")) {
        funding[stream].push_back({uint_or(d, "E"), uint_or(d, "T"), string_or(d, "p"), string_or(d, "i"),
                                   string_or(d, "P"), string_or(d, "r")});
      } else if (stream.ends_with("@forceOrder")) {
        simdjson::dom::object order = d["o"];
        liquidations[stream].push_back({uint_or(order, "T"), string_or(order, "S"), string_or(order, "p"),
                                        string_or(order, "ap"), string_or(order, "q"), string_or(order, "z")});
      } else {
        ADD_FAILURE() << path << ":" << line_no << ": unknown stream '" << stream << "'";
      }
    }
  }

  std::vector<TruthFault> faults_named(std::string_view name) const {
    std::vector<TruthFault> out;
    for (const auto& f : faults) {
      if (f.fault == name) out.push_back(f);
    }
    return out;
  }

  // book_at: the book the diffs of `stream` describe at update id `id`, or
  // nullopt if `id` is not the end of a diff.
  std::optional<Book> book_at(const std::string& stream, std::uint64_t id) const {
    Book book;
    auto it = diffs.find(stream);
    if (it == diffs.end()) return std::nullopt;
    for (const TruthDiff& d : it->second) {
      if (d.last > id) break;
      book.apply(d.bids, d.asks);
      book.id = d.last;
    }
    if (book.id != id) return std::nullopt;
    return book;
  }

  // last_id: the last id of a stream's truth (0 if it has none).
  std::uint64_t last_id(const std::string& stream) const {
    if (auto t = trades.find(stream); t != trades.end() && !t->second.empty()) return t->second.back().id;
    if (auto q = quotes.find(stream); q != quotes.end() && !q->second.empty()) return q->second.back().id;
    if (auto d = diffs.find(stream); d != diffs.end() && !d->second.empty()) return d->second.back().last;
    // Funding by its E; liquidations carry no id, so by their count.
    if (auto f = funding.find(stream); f != funding.end() && !f->second.empty()) return f->second.back().event_ms;
    if (auto l = liquidations.find(stream); l != liquidations.end()) return l->second.size();
    return 0;
  }
};

// --- the journal (as `tickwire replay --format jsonl` prints it) -----------------

struct JournalRecord {
  std::uint64_t seq = 0, exch_ns = 0, trade_ns = 0;
  std::string kind, symbol;
  std::uint64_t id = 0;        // trade_id, quote update_id, book last_update_id
  std::uint64_t first_id = 0;  // book_delta first_update_id, agg_trade first_trade_id
  std::uint64_t last_id = 0;   // agg_trade last_trade_id
  std::string price, size, aggressor, bid_price, bid_size, ask_price, ask_size;
  LevelList bids, asks;
  std::string status, detail;
  std::uint64_t from_id = 0, to_id = 0, count = 0;
  std::string mark_price, index_price, settle_price, funding_rate;  // funding
  std::uint64_t next_funding_ns = 0;
  std::string side, average_price, filled_size;                     // liquidation (and price, size)

  // stream: the exchange stream a market record or a gap belongs to ("" if none).
  std::string stream() const {
    const std::string s = lower_of(symbol);
    if (kind == "trade") return s + "@trade";
    if (kind == "agg_trade") return s + "@aggTrade";
    if (kind == "quote") return s + "@bookTicker";
    if (kind == "book_delta" || kind == "book_snapshot") return s + "@depth@100ms";
    if (kind == "funding") return s + "@markPrice@1s";
    if (kind == "liquidation") return s + "@forceOrder";
    if (kind == "status" && status == "gap") {
      if (detail.starts_with("trade ids")) return s + "@trade";
      if (detail.starts_with("aggregate trade ids")) return s + "@aggTrade";
      if (detail.starts_with("book update ids")) return s + "@depth@100ms";
    }
    return {};
  }
};

inline JournalRecord parse_journal_record(simdjson::dom::parser& parser, std::string_view json) {
  JournalRecord r;
  simdjson::dom::object o = parser.parse(json.data(), json.size());
  r.seq = uint_or(o, "seq");
  r.exch_ns = uint_or(o, "exch_ns");
  r.kind = string_or(o, "kind");
  r.symbol = string_or(o, "symbol");
  if (r.kind == "trade" || r.kind == "agg_trade") {
    r.id = uint_or(o, "trade_id");
    r.price = string_or(o, "price");
    r.size = string_or(o, "size");
    r.aggressor = string_or(o, "aggressor");
    r.trade_ns = uint_or(o, "trade_ns");
    r.first_id = uint_or(o, "first_trade_id");
    r.last_id = uint_or(o, "last_trade_id");
  } else if (r.kind == "quote") {
    r.id = uint_or(o, "update_id");
    r.bid_price = string_or(o, "bid_price");
    r.bid_size = string_or(o, "bid_size");
    r.ask_price = string_or(o, "ask_price");
    r.ask_size = string_or(o, "ask_size");
  } else if (r.kind == "book_delta" || r.kind == "book_snapshot") {
    r.first_id = uint_or(o, "first_update_id");
    r.id = uint_or(o, "last_update_id");
    r.bids = levels_of(o["bids"]);
    r.asks = levels_of(o["asks"]);
  } else if (r.kind == "funding") {
    r.id = r.exch_ns / 1'000'000;
    r.mark_price = string_or(o, "mark_price");
    r.index_price = string_or(o, "index_price");
    r.settle_price = string_or(o, "settle_price");
    r.funding_rate = string_or(o, "funding_rate");
    r.next_funding_ns = uint_or(o, "next_funding_ns");
  } else if (r.kind == "liquidation") {
    r.side = string_or(o, "side");
    r.price = string_or(o, "price");
    r.average_price = string_or(o, "average_price");
    r.size = string_or(o, "size");
    r.filled_size = string_or(o, "filled_size");
    r.trade_ns = uint_or(o, "trade_ns");
  } else if (r.kind == "status") {
    r.status = string_or(o, "status");
    r.detail = string_or(o, "detail");
    r.from_id = uint_or(o, "from_id");
    r.to_id = uint_or(o, "to_id");
    r.count = uint_or(o, "count");
  }
  return r;
}

// Progress: how far the journal has got on each stream, fed record by record
// while following the live journal.
struct Progress {
  std::map<std::string, std::uint64_t> covered;  // stream -> highest id journaled or declared missing
  std::map<std::string, std::uint64_t> liquidations;  // stream -> liquidation records so far

  void add(const JournalRecord& r) {
    const std::string stream = r.stream();
    if (stream.empty()) return;
    std::uint64_t id = r.id;
    if (r.kind == "liquidation") id = ++liquidations[stream];  // counted, as Truth::last_id counts them
    if (r.kind == "status") {
      // A book gap is not coverage: the book is whole again only at a snapshot.
      if (stream.ends_with("@depth@100ms")) return;
      id = r.to_id;
    }
    auto& c = covered[stream];
    c = std::max(c, id);
  }
};

// status_counters: the counters of the last status line a connector printed
// on stderr ("... msg/s | ... duplicates 2 gaps 1 ..."): "duplicates" -> 2, ...
inline std::map<std::string, std::uint64_t> status_counters(const std::string& log) {
  static const std::regex kCounter(R"((rejected|ignored|duplicates|gaps|resyncs|connects|disconnects|rollovers) (\d+))");
  std::map<std::string, std::uint64_t> out;
  const auto at = log.rfind("msg/s |");
  if (at == std::string::npos) return out;
  const std::string line = log.substr(at, log.find('\n', at) - at);
  for (std::sregex_iterator it(line.begin(), line.end(), kCounter), end; it != end; ++it) {
    out[(*it)[1]] = std::stoull((*it)[2]);
  }
  return out;
}

}  // namespace tickwire::testing
