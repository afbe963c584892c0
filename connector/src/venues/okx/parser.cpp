#include "tickwire/connector/venues/okx/parser.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

#include "parse_util.hpp"
#include "tickwire/connector/venues/json_check.hpp"

namespace tickwire::connector::venues {
namespace {

using namespace okx_detail;

// kRestBooks: parse_book's channel for a REST snapshot body (which names no instrument).
constexpr std::string_view kRestBooks = "rest:books";

}  // namespace

OkxParser::OkxParser(std::span<const std::string> symbols, bool funding_rate)
    : symbols_(symbols.begin(), symbols.end()) {
  // If this fails (out of memory), parse() allocates on demand as usual.
  if (parser_.allocate(kInitialCapacity) != simdjson::SUCCESS) error_ = "parser: initial allocation failed";
  bids_.reserve(kInitialLevels);
  asks_.reserve(kInitialLevels);
  trades_.reserve(64);
  liquidations_.reserve(64);
  pending_.reserve(4);
  error_text_.reserve(256);
  funding_.reserve(symbols_.size());
  for (const std::string& s : symbols_) {
    FundingState& f = funding_.emplace_back();
    f.symbol = s;
    f.rate_expected = funding_rate && s.ends_with("-SWAP");  // only perpetual swaps have funding
  }
}

bool OkxParser::fail(std::string_view what) {
  error_ = what;
  return false;
}

bool OkxParser::fail_at(std::string_view field, std::size_t index, std::string_view problem) {
  char buf[192];
  const int n = std::snprintf(buf, sizeof buf, "%.*s[%zu]: %.*s", static_cast<int>(field.size()), field.data(),
                              index, static_cast<int>(problem.size()), problem.data());
  error_text_.assign(buf, n > 0 ? std::min(static_cast<std::size_t>(n), sizeof buf - 1) : 0);
  error_ = error_text_;
  return false;
}

bool OkxParser::configured(std::string_view symbol) const {
  return std::any_of(symbols_.begin(), symbols_.end(), [&](const std::string& s) { return s == symbol; });
}

OkxParser::FundingState* OkxParser::funding_state(std::string_view symbol) {
  for (FundingState& f : funding_) {
    if (f.symbol == symbol) return &f;
  }
  return nullptr;
}

void OkxParser::clear_frame() {
  error_ = {};
  trades_.clear();
  liquidations_.clear();
  pending_.clear();
  cursor_ = 0;
}

ParsedMessage OkxParser::parse(const char* data, std::size_t size) {
  clear_frame();
  ParsedMessage out;  // returned in place (one return object)
  if (!parse_direct(data, size, out)) out = parse_generic(data, size);
  return out;
}

ParsedMessage OkxParser::parse_generic(const char* data, std::size_t size) {
  clear_frame();
  ParsedMessage out;
  if (!parse_message(data, size, out)) {
    trades_.clear();
    liquidations_.clear();
    pending_.clear();
    out = ParsedMessage{};
    set_kind(out, MessageKind::kError, EventKind::kError);
  }
  return out;
}

bool OkxParser::next(ParsedMessage& out) {
  if (cursor_ < trades_.size()) {
    out.trade = trades_[cursor_++];
    return true;
  }
  if (cursor_ < liquidations_.size()) {
    out.liquidation = liquidations_[cursor_++];
    return true;
  }
  if (cursor_ < pending_.size()) {
    out = pending_[cursor_++];
    return true;
  }
  return false;
}

bool OkxParser::parse_message(const char* data, std::size_t size, ParsedMessage& out) {
  // The answer to our text "ping" is the text "pong", not JSON.
  if (std::string_view(data, size) == "pong") {
    set_kind(out, MessageKind::kControl, EventKind::kControlReply);
    return true;
  }
  od::document doc;
  od::object root;
  if (const char* problem = open_message(parser_, data, size, doc, root, true)) return fail(problem);
  // Data: {"arg":{"channel","instId"|"instType"},"action"?,"data":[..]}; replies:
  // {"id"?,"event","arg"?,"code"?,"msg"?,"connId"}. Read in order; "data" is
  // parsed where it stands when "arg" came before it (as OKX sends it),
  // else in a second pass.
  Arg arg;
  bool has_arg = false, has_data = false, data_done = false;
  std::string_view event, action, id, code, msg;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail("message: malformed key");
    if (key == "arg") {
      if (!parse_arg(field.value(), arg)) return false;
      has_arg = true;
    } else if (key == "data") {
      has_data = true;
      // The incremental books channels need their "action" (OKX sends it before "data").
      const bool needs_action =
          arg.channel == "books" || arg.channel == "books-l2-tbt" || arg.channel == "books50-l2-tbt";
      if (has_arg && event.empty() && (!action.empty() || !needs_action)) {
        if (!parse_data(field.value(), arg, action, out)) return false;
        data_done = true;
      }
    } else if (key == "action") {
      if (field.value().get_string().get(action)) return fail("action: expected a string");
    } else if (key == "event") {
      if (field.value().get_string().get(event)) return fail("event: expected a string");
    } else if (key == "id") {
      if (field.value().get_string().get(id)) return fail("id: expected a string");
    } else if (key == "code") {
      if (field.value().get_string().get(code)) return fail("code: expected a string");
    } else if (key == "msg") {
      if (field.value().get_string().get(msg)) return fail("msg: expected a string");
    }
  }
  if (!event.empty()) return parse_event(event, id, code, msg, out);
  if (!has_arg) return fail("message: neither data (arg, data) nor a reply (event)");
  if (!has_data) return fail("data: missing");
  if (data_done) return true;
  od::value value;
  if (root.reset().error() || root.find_field_unordered("data").get(value)) return fail("data: cannot rewind to it");
  return parse_data(value, arg, action, out);
}

bool OkxParser::parse_arg(od::value value, Arg& arg) {
  od::object o;
  if (value.get_object().get(o)) return fail("arg: expected an object");
  for (auto field : o) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail("arg: malformed key");
    if (key == "channel") {
      if (field.value().get_string().get(arg.channel)) return fail("arg.channel: expected a string");
    } else if (key == "instId") {
      if (field.value().get_string().get(arg.inst_id)) return fail("arg.instId: expected a string");
    } else if (key == "instType") {
      if (field.value().get_string().get(arg.inst_type)) return fail("arg.instType: expected a string");
    }
  }
  if (arg.channel.empty()) return fail("arg.channel: missing or empty");
  return true;
}

bool OkxParser::parse_event(std::string_view event, std::string_view id, std::string_view code, std::string_view msg,
                            ParsedMessage& out) {
  std::uint64_t n = 0;
  const bool has_id = unsigned_text(id, n);
  if (event == "subscribe" || event == "unsubscribe") {
    set_kind(out, MessageKind::kControl, EventKind::kControlReply);
    out.control.has_id = has_id;
    out.control.id = has_id ? n : 0;
    return true;
  }
  if (event == "error") {
    // {"id":"1512","event":"error","code":"60012","msg":"Invalid request: ..","connId":..}:
    // the message names the channel and instrument OKX refused.
    set_kind(out, MessageKind::kControl, EventKind::kErrorReply);
    out.error_reply.has_id = has_id;
    out.error_reply.id = has_id ? n : 0;
    std::int64_t c = 0;
    const auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), c);
    if (code.empty() || ec != std::errc{} || end != code.data() + code.size()) return fail("code: expected a number");
    out.error_reply.code = c;
    out.error_reply.message = msg;
    return true;
  }
  if (event == "notice") {
    // {"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade..."}
    set_kind(out, MessageKind::kControl, EventKind::kServerShutdown);
    return true;
  }
  set_kind(out, MessageKind::kControl, EventKind::kControlReply);  // login, channel-conn-count, ...
  return true;
}

bool OkxParser::parse_data(od::value data, const Arg& arg, std::string_view action, ParsedMessage& out) {
  od::array list;
  if (data.get_array().get(list)) return fail("data: expected an array");
  const std::string_view c = arg.channel;
  if (c == "trades") return parse_trades(list, arg, true, out);
  if (c == "trades-all") return parse_trades(list, arg, false, out);
  if (c == "books" || c == "books5" || c == "bbo-tbt" || c == "books-l2-tbt" || c == "books50-l2-tbt") {
    return parse_book(list, arg, action, out);
  }
  if (c == "tickers") return parse_ticker(list, arg, out);
  if (c == "funding-rate") return parse_funding(list, arg, false, out);
  if (c == "mark-price") return parse_funding(list, arg, true, out);
  if (c == "open-interest") return parse_open_interest(list, arg, out);
  if (c == "liquidation-orders") return parse_liquidations(list, out);
  set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // candles, index-tickers, ...: not handled
  return true;
}

bool OkxParser::parse_trades(od::array list, const Arg& arg, bool aggregate, ParsedMessage& out) {
  // [{"instId","tradeId":"130639474","px","sz","side":"buy"|"sell","ts","count"?,"source"?,"seqId"?}, ..]
  std::size_t index = 0;
  for (auto element : list) {
    od::object t;
    if (element.get_object().get(t)) return fail_at("data", index, "expected a trade object");
    TradeFields f;
    for (auto field : t) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      auto value = field.value();
      simdjson::error_code err = simdjson::SUCCESS;
      if (key == "instId") {
        err = value.get_string().get(f.symbol);
      } else if (key == "tradeId") {
        err = value.get_string().get(f.id);
      } else if (key == "px") {
        err = value.get_string().get(f.price);
      } else if (key == "sz") {
        err = value.get_string().get(f.size);
      } else if (key == "side") {
        err = value.get_string().get(f.side);
      } else if (key == "ts") {
        err = value.get_string().get(f.ts);
      } else if (key == "count") {
        err = value.get_string().get(f.count);
      }
      if (err) return fail_at("data", index, "instId/tradeId/px/sz/side/ts/count: expected strings");
    }
    if (!add_trade(f, arg, aggregate, index)) return false;
    ++index;
  }
  return finish_trades(arg, aggregate, out);
}

bool OkxParser::add_trade(const TradeFields& f, const Arg& arg, bool aggregate, std::size_t index) {
  TradeEvent trade;
  trade.symbol = f.symbol.empty() ? arg.inst_id : f.symbol;
  if (trade.symbol.empty()) return fail_at("data", index, "instId: missing or empty");
  if (!unsigned_text(f.id, trade.trade_id)) return fail_at("data", index, "tradeId: expected an unsigned integer");
  if (f.side == "buy") {
    trade.aggressor = Side::kBuy;  // the taker's side
  } else if (f.side == "sell") {
    trade.aggressor = Side::kSell;
  } else {
    return fail_at("data", index, "side: expected \"buy\" or \"sell\"");
  }
  if (!decimal(f.price, trade.price)) return fail_at("data", index, "px: not an exact decimal");
  if (!decimal(f.size, trade.size)) return fail_at("data", index, "sz: not an exact decimal");
  if (!ms_text(f.ts, trade.trade_ns)) return fail_at("data", index, "ts: expected a millisecond time");
  trade.event_ns = trade.trade_ns;
  if (aggregate) {
    // "count" fills of one taker order at one price; tradeId is the last of them.
    std::uint64_t n = 1;
    if (!f.count.empty() && (!unsigned_text(f.count, n) || n == 0 || n > trade.trade_id)) {
      return fail_at("data", index, "count: expected a positive integer no larger than tradeId");
    }
    trade.aggregate = true;
    trade.last_trade_id = trade.trade_id;
    trade.first_trade_id = trade.trade_id - n + 1;
  }
  trades_.push_back(trade);
  return true;
}

bool OkxParser::finish_trades(const Arg& arg, bool aggregate, ParsedMessage& out) {
  if (trades_.empty()) return fail("data: no trades");
  set_kind(out, MessageKind::kTrade, aggregate ? EventKind::kAggTrade : EventKind::kTrade);
  out.stream_symbol = arg.inst_id;
  out.trade = trades_[0];
  cursor_ = 1;
  return true;
}

bool OkxParser::parse_book(od::array list, const Arg& arg, std::string_view action, ParsedMessage& out) {
  // books: [{"asks":[[px,sz,"0",orders]..],"bids":[..],"ts","checksum","prevSeqId","seqId"}]
  // with action "snapshot" | "update"; books5 (plus "instId") and bbo-tbt: no action, each a whole image.
  std::size_t index = 0;
  BookFields f;
  for (auto element : list) {
    if (index > 0) return fail("data: expected one book object");
    od::object o;
    if (element.get_object().get(o)) return fail("data[0]: expected a book object");
    for (auto field : o) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail("data[0]: malformed key");
      if (key == "bids") {
        if (!parse_levels(field.value(), bids_, "data[0].bids")) return false;
        f.have_b = true;
      } else if (key == "asks") {
        if (!parse_levels(field.value(), asks_, "data[0].asks")) return false;
        f.have_a = true;
      } else if (key == "ts") {
        if (field.value().get_string().get(f.ts)) return fail("data[0].ts: expected a string");
      } else if (key == "seqId") {
        if (field.value().get_int64().get(f.seq)) return fail("data[0].seqId: expected an integer");
      } else if (key == "prevSeqId") {
        if (field.value().get_int64().get(f.prev)) return fail("data[0].prevSeqId: expected an integer");
      } else if (key == "checksum") {
        if (field.value().get_int64().get(f.checksum)) return fail("data[0].checksum: expected an integer");
      } else if (key == "instId") {
        if (field.value().get_string().get(f.symbol)) return fail("data[0].instId: expected a string");
      }
    }
    ++index;
  }
  if (index == 0) return fail("data: no book object");
  return finish_book(f, arg, action, out);
}

bool OkxParser::finish_book(const BookFields& f, const Arg& arg, std::string_view action, ParsedMessage& out) {
  const std::string_view symbol = f.symbol.empty() ? arg.inst_id : f.symbol;
  const std::int64_t seq = f.seq, prev = f.prev, checksum = f.checksum;
  if (symbol.empty() && arg.channel != kRestBooks) return fail("arg.instId: missing or empty");
  if (!f.have_b) return fail("data[0].bids: missing");
  if (!f.have_a) return fail("data[0].asks: missing");
  std::uint64_t event_ns = 0;
  if (!ms_text(f.ts, event_ns)) return fail("data[0].ts: expected a millisecond time");
  if (seq < 0) return fail("data[0].seqId: missing or negative");
  if (checksum < INT32_MIN || checksum > INT32_MAX) return fail("data[0].checksum: not a 32-bit integer");
  // Safety: the signed CRC's two's complement bits.
  const auto crc = static_cast<std::uint32_t>(static_cast<std::int32_t>(checksum));
  out.stream_symbol = arg.inst_id;
  if (arg.channel == "bbo-tbt") {
    if (bids_.size() > 1 || asks_.size() > 1) return fail("data[0]: bbo-tbt holds at most one level a side");
    set_kind(out, MessageKind::kIgnored, EventKind::kQuote);
    QuoteEvent& q = out.quote;
    q.symbol = symbol;
    q.update_id = static_cast<std::uint64_t>(seq);
    if (!bids_.empty()) q.bid_price = bids_[0].price, q.bid_size = bids_[0].size;
    if (!asks_.empty()) q.ask_price = asks_[0].price, q.ask_size = asks_[0].size;
    q.event_ns = event_ns;
    return true;
  }
  const bool image = arg.channel == "books5";
  if (image || action == "snapshot") {
    set_kind(out, MessageKind::kIgnored, EventKind::kBookSnapshot);
    BookSnapshotEvent& s = out.snapshot;
    s.symbol = symbol;
    s.last_update_id = static_cast<std::uint64_t>(seq);
    s.bids = bids_;
    s.asks = asks_;
    s.event_ns = event_ns;
    s.checksum = crc;
    s.has_checksum = checksum != 0;  // 0: OKX no longer computes it
    s.image = image;
    return true;
  }
  if (action != "update") return fail("action: expected \"snapshot\" or \"update\"");
  if (prev < 0) return fail("data[0].prevSeqId: an update needs the previous message's seqId");
  set_kind(out, MessageKind::kIgnored, EventKind::kBookDelta);
  BookDeltaEvent& d = out.delta;
  d.symbol = symbol;
  d.event_ns = event_ns;
  const auto useq = static_cast<std::uint64_t>(seq);
  const auto uprev = static_cast<std::uint64_t>(prev);
  // The update covers (prevSeqId, seqId]; a keepalive (seqId == prevSeqId)
  // and a reset (seqId < prevSeqId, maintenance) cover only their own seqId.
  d.first_update_id = useq > uprev ? uprev + 1 : useq;
  d.last_update_id = useq;
  d.prev_update_id = uprev;
  d.has_prev = true;
  d.bids = bids_;
  d.asks = asks_;
  d.checksum = crc;
  d.has_checksum = checksum != 0;
  return true;
}

bool OkxParser::parse_ticker(od::array list, const Arg& arg, ParsedMessage& out) {
  // [{"instType","instId","last","lastSz","askPx","askSz","bidPx","bidSz",..,"ts"}]
  std::size_t index = 0;
  for (auto element : list) {
    if (index > 0) return fail("data: expected one ticker object");
    od::object o;
    if (element.get_object().get(o)) return fail("data[0]: expected a ticker object");
    QuoteEvent& q = out.quote;
    std::string_view ts, bp, bs, ap, as;
    for (auto field : o) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail("data[0]: malformed key");
      auto value = field.value();
      simdjson::error_code err = simdjson::SUCCESS;
      if (key == "instId") {
        err = value.get_string().get(q.symbol);
      } else if (key == "bidPx") {
        err = value.get_string().get(bp);
      } else if (key == "bidSz") {
        err = value.get_string().get(bs);
      } else if (key == "askPx") {
        err = value.get_string().get(ap);
      } else if (key == "askSz") {
        err = value.get_string().get(as);
      } else if (key == "ts") {
        err = value.get_string().get(ts);
      }
      if (err) return fail("data[0]: instId/bidPx/bidSz/askPx/askSz/ts: expected strings");
    }
    if (q.symbol.empty()) return fail("data[0].instId: missing or empty");
    if (!optional_decimal(bp, q.bid_price)) return fail("data[0].bidPx: not an exact decimal");
    if (!optional_decimal(bs, q.bid_size)) return fail("data[0].bidSz: not an exact decimal");
    if (!optional_decimal(ap, q.ask_price)) return fail("data[0].askPx: not an exact decimal");
    if (!optional_decimal(as, q.ask_size)) return fail("data[0].askSz: not an exact decimal");
    if (!ms_text(ts, q.event_ns)) return fail("data[0].ts: expected a millisecond time");
    q.update_id = q.event_ns / 1'000'000;  // tickers carry no sequence: their time orders them
    ++index;
  }
  if (index == 0) return fail("data: no ticker");
  set_kind(out, MessageKind::kIgnored, EventKind::kQuote);
  out.stream_symbol = arg.inst_id;
  return true;
}

bool OkxParser::parse_levels(od::value levels, std::vector<PriceLevel>& out, std::string_view field) {
  out.clear();
  od::array list;
  if (levels.get_array().get(list)) {
    error_text_.assign(field);
    error_text_.append(": expected an array of [price, size, \"0\", orders]");
    error_ = error_text_;
    return false;
  }
  std::size_t index = 0;
  for (auto element : list) {
    od::array level;
    if (element.get_array().get(level)) return fail_at(field, index, "expected [price, size, \"0\", orders]");
    std::string_view text[2];
    std::size_t n = 0;
    for (auto item : level) {
      std::string_view s;
      if (item.get_string().get(s)) return fail_at(field, index, "expected strings");
      if (n < 2) text[n] = s;
      ++n;
    }
    if (n < 2 || n > 4) return fail_at(field, index, "expected [price, size] and at most two more strings");
    PriceLevel level_out;
    if (!decimal(text[0], level_out.price)) return fail_at(field, index, "price: not an exact decimal");
    if (!decimal(text[1], level_out.size)) return fail_at(field, index, "size: not an exact decimal");
    if (level_out.size.mantissa < 0) return fail_at(field, index, "size: negative");
    out.push_back(level_out);
    ++index;
  }
  return true;
}

ParsedMessage OkxParser::parse_snapshot(const char* data, std::size_t size) {
  // GET /api/v5/market/books?instId=..&sz=400:
  // {"code":"0","msg":"","data":[{"asks":[..],"bids":[..],"ts":"..","seqId"?:N}]}
  error_ = {};
  ParsedMessage out;
  const auto run = [&]() -> bool {
    od::document doc;
    if (parser_.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc)) {
      return fail("snapshot: not a JSON document");
    }
    if (const char* invalid = check_document(doc, {data, size})) return fail(invalid);
    od::object root;
    if (doc.get_object().get(root)) return fail("snapshot: expected a JSON object");
    std::string_view code;
    bool done = false;
    for (auto field : root) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail("snapshot: malformed key");
      if (key == "code") {
        if (field.value().get_string().get(code)) return fail("snapshot code: expected a string");
        if (code != "0") return fail("snapshot: the exchange answered an error code");
      } else if (key == "data") {
        od::array list;
        if (field.value().get_array().get(list)) return fail("snapshot data: expected an array");
        if (!parse_book(list, Arg{kRestBooks, "", ""}, "snapshot", out)) return false;
        done = true;
      }
    }
    if (!done) return fail("snapshot data: missing");
    return true;
  };
  if (!run()) {
    out = ParsedMessage{};
    set_kind(out, MessageKind::kError, EventKind::kError);
  }
  return out;
}

std::optional<ContractSpec> OkxParser::parse_contract(const char* data, std::size_t size) {
  // {"code":"0","msg":"","data":[{"instId":..,"ctVal":"100","ctMult":"1","ctValCcy":"USD",..}]}
  error_ = {};
  ContractSpec out;
  const auto run = [&]() -> bool {
    od::document doc;
    if (parser_.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc)) {
      return fail("instruments: not a JSON document");
    }
    if (const char* invalid = check_document(doc, {data, size})) return fail(invalid);
    od::object root;
    if (doc.get_object().get(root)) return fail("instruments: expected a JSON object");
    std::string_view code;
    if (root.find_field_unordered("code").get_string().get(code)) return fail("instruments code: expected a string");
    if (code != "0") return fail("instruments: the exchange answered an error code");
    od::array list;
    if (root.find_field_unordered("data").get_array().get(list)) return fail("instruments data: expected an array");
    bool found = false;
    for (auto item : list) {
      if (found) return fail("instruments data: more than one instrument");
      od::object inst;
      if (item.get_object().get(inst)) return fail("instruments data[0]: expected an object");
      std::string_view ct_val, ct_mult = "1", currency;
      for (auto field : inst) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return fail("instruments data[0]: malformed key");
        if (key == "ctVal") {
          if (field.value().get_string().get(ct_val)) return fail("data[0].ctVal: expected a string");
        } else if (key == "ctMult") {
          if (field.value().get_string().get(ct_mult)) return fail("data[0].ctMult: expected a string");
        } else if (key == "ctValCcy") {
          if (field.value().get_string().get(currency)) return fail("data[0].ctValCcy: expected a string");
        }
      }
      Decimal value, mult;
      if (ct_val.empty()) return fail("data[0].ctVal: empty (the instrument has no contracts: spot?)");
      if (!decimal(ct_val, value) || value.mantissa <= 0) return fail("data[0].ctVal: expected a positive decimal");
      if (ct_mult.empty()) ct_mult = "1";
      if (!decimal(ct_mult, mult) || mult.mantissa <= 0) return fail("data[0].ctMult: expected a positive decimal");
      if (currency.empty()) return fail("data[0].ctValCcy: missing or empty");
      std::int64_t mantissa = 0;
      const int exponent = value.exponent + mult.exponent;
      if (__builtin_mul_overflow(value.mantissa, mult.mantissa, &mantissa) || exponent < INT8_MIN ||
          exponent > INT8_MAX) {
        return fail("data[0]: ctVal x ctMult out of range");
      }
      out.value = Decimal{mantissa, static_cast<std::int8_t>(exponent)};
      out.currency = std::string(currency);
      found = true;
    }
    if (!found) return fail("instruments data: empty (no such instrument)");
    return true;
  };
  if (!run()) return std::nullopt;
  return out;
}

}  // namespace tickwire::connector::venues
