#include "tickwire/connector/feeds/binance.hpp"

namespace tickwire::connector::feeds {
namespace {

namespace od = simdjson::ondemand;

constexpr std::uint64_t kNsPerMs = 1'000'000;
// The largest millisecond timestamp whose nanosecond value fits in 64 bits.
constexpr std::uint64_t kMaxMs = UINT64_MAX / kNsPerMs;

}  // namespace

ParsedMessage BinanceParser::fail(std::string_view what) {
  error_ = what;
  return ParsedMessage{MessageKind::kError, {}};
}

ParsedMessage BinanceParser::parse(const char* data, std::size_t size) {
  error_ = {};
  od::document doc;
  if (parser_.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc)) {
    return fail("message: not a JSON document");
  }
  od::object root;
  if (auto err = doc.get_object().get(root)) {
    return fail(err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT ? "message: truncated JSON (unclosed object or array)"
                                                            : "message: expected a JSON object");
  }

  // Combined stream: {"stream":"btcusdt@trade","data":{...}}; raw stream: the event itself.
  od::object event;
  od::value data_field;
  auto data_err = root.find_field_unordered("data").get(data_field);
  if (data_err == simdjson::SUCCESS) {
    if (data_field.get_object().get(event)) return fail("data: expected an object");
  } else if (data_err == simdjson::NO_SUCH_FIELD) {
    if (root.reset().error()) return fail("message: cannot rewind");
    od::value id;
    if (root.find_field_unordered("id").get(id) == simdjson::SUCCESS) {
      return ParsedMessage{MessageKind::kControl, {}};
    }
    if (root.reset().error()) return fail("message: cannot rewind");
    event = root;
  } else {
    return fail("message: malformed JSON");
  }

  std::string_view type;
  auto type_err = event.find_field_unordered("e").get_string().get(type);
  if (type_err) return fail(type_err == simdjson::NO_SUCH_FIELD ? "data.e: missing" : "data.e: expected a string");
  if (type == "trade") return parse_trade(event);
  return ParsedMessage{MessageKind::kIgnored, {}};
}

ParsedMessage BinanceParser::parse_trade(od::object& data) {
  ParsedMessage out{MessageKind::kTrade, {}};
  TradeEvent& t = out.trade;
  std::uint64_t event_ms = 0;
  std::uint64_t trade_ms = 0;
  std::string_view price;
  std::string_view size;
  bool buyer_is_maker = false;
  // Fields are looked up by name: Binance's order (E, s, t, p, q, T, m) is the
  // fast path, but any order is accepted.
  if (data.find_field_unordered("E").get_uint64().get(event_ms)) return fail("data.E: expected an unsigned integer");
  if (data.find_field_unordered("s").get_string().get(t.symbol)) return fail("data.s: expected a string");
  if (data.find_field_unordered("t").get_uint64().get(t.trade_id)) return fail("data.t: expected an unsigned integer");
  if (data.find_field_unordered("p").get_string().get(price)) return fail("data.p: expected a string");
  if (data.find_field_unordered("q").get_string().get(size)) return fail("data.q: expected a string");
  if (data.find_field_unordered("T").get_uint64().get(trade_ms)) return fail("data.T: expected an unsigned integer");
  if (data.find_field_unordered("m").get_bool().get(buyer_is_maker)) return fail("data.m: expected a boolean");
  if (t.symbol.empty()) return fail("data.s: empty symbol");
  if (event_ms > kMaxMs || trade_ms > kMaxMs) return fail("data.E/T: timestamp out of range");
  if (middleware::parse_decimal(price, t.price) != middleware::DecimalError::kOk) {
    return fail("data.p: not an exact decimal");
  }
  if (middleware::parse_decimal(size, t.size) != middleware::DecimalError::kOk) {
    return fail("data.q: not an exact decimal");
  }
  t.event_ns = event_ms * kNsPerMs;
  t.trade_ns = trade_ms * kNsPerMs;
  // m=true: the buyer was the maker, so the seller took liquidity.
  t.aggressor = buyer_is_maker ? Side::kSell : Side::kBuy;
  return out;
}

}  // namespace tickwire::connector::feeds
