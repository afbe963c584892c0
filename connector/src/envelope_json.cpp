// envelope_to_json: decodes one framed Envelope and prints it as JSON.
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>

#include <cstring>
#include <memory>

#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/proto/market_data.capnp.h"

namespace tickwire::connector {
namespace {

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void append_decimal(std::string& out, std::string_view key, proto::Decimal::Reader d) {
  out += fmt::format(",\"{}\":\"{}\"", key,
                     middleware::to_string(middleware::Decimal{d.getMantissa(), d.getExponent()}));
}

std::string_view side_name(proto::Side s) {
  switch (s) {
    case proto::Side::BUY: return "buy";
    case proto::Side::SELL: return "sell";
    case proto::Side::UNKNOWN: break;
  }
  return "unknown";
}

std::string_view instrument_kind_name(proto::InstrumentKind k) {
  switch (k) {
    case proto::InstrumentKind::SPOT: return "spot";
    case proto::InstrumentKind::PERPETUAL: return "perpetual";
    case proto::InstrumentKind::FUTURE: return "future";
    case proto::InstrumentKind::UNKNOWN: break;
  }
  return "unknown";
}

std::string_view status_name(proto::Status::Kind k) {
  switch (k) {
    case proto::Status::Kind::CONNECTED: return "connected";
    case proto::Status::Kind::DISCONNECTED: return "disconnected";
    case proto::Status::Kind::GAP: return "gap";
    case proto::Status::Kind::RESYNC: return "resync";
    case proto::Status::Kind::HEARTBEAT: return "heartbeat";
    case proto::Status::Kind::ROLLOVER: return "rollover";
    case proto::Status::Kind::DROPPED: return "dropped";
    case proto::Status::Kind::SUBSCRIBED: return "subscribed";
    case proto::Status::Kind::REJECTED: return "rejected";
  }
  return "unknown";
}

void append_levels(std::string& out, std::string_view key, capnp::List<proto::Level>::Reader levels) {
  out += fmt::format(",\"{}\":[", key);
  bool first = true;
  for (auto level : levels) {
    if (!first) out.push_back(',');
    first = false;
    auto p = level.getPrice();
    auto q = level.getSize();
    out += fmt::format("[\"{}\",\"{}\"]", middleware::to_string({p.getMantissa(), p.getExponent()}),
                       middleware::to_string({q.getMantissa(), q.getExponent()}));
  }
  out.push_back(']');
}

void append_body(std::string& out, proto::Envelope::Reader env) {
  switch (env.which()) {
    case proto::Envelope::TRADE: {
      auto t = env.getTrade();
      out += fmt::format(",\"kind\":\"{}\",\"trade_id\":{}", t.getAggregate() ? "agg_trade" : "trade",
                         t.getTradeId());
      append_decimal(out, "price", t.getPrice());
      append_decimal(out, "size", t.getSize());
      out += fmt::format(",\"aggressor\":\"{}\",\"trade_ns\":{}", side_name(t.getAggressor()), t.getTradeNs());
      if (t.getAggregate()) {
        out += fmt::format(",\"first_trade_id\":{},\"last_trade_id\":{}", t.getFirstTradeId(), t.getLastTradeId());
      }
      if (t.hasTradeIdText() && t.getTradeIdText().size() > 0) {
        out += ",\"trade_id_text\":";
        append_json_string(out, std::string_view(t.getTradeIdText().cStr(), t.getTradeIdText().size()));
      }
      return;
    }
    case proto::Envelope::QUOTE: {
      auto q = env.getQuote();
      out += fmt::format(",\"kind\":\"quote\",\"update_id\":{}", q.getUpdateId());
      append_decimal(out, "bid_price", q.getBidPrice());
      append_decimal(out, "bid_size", q.getBidSize());
      append_decimal(out, "ask_price", q.getAskPrice());
      append_decimal(out, "ask_size", q.getAskSize());
      return;
    }
    case proto::Envelope::BOOK_DELTA: {
      auto d = env.getBookDelta();
      out += fmt::format(",\"kind\":\"book_delta\",\"first_update_id\":{},\"last_update_id\":{}",
                         d.getFirstUpdateId(), d.getLastUpdateId());
      if (d.getCrossSequence() != 0) out += fmt::format(",\"cross_sequence\":{}", d.getCrossSequence());
      append_levels(out, "bids", d.getBids());
      append_levels(out, "asks", d.getAsks());
      return;
    }
    case proto::Envelope::BOOK_SNAPSHOT: {
      auto s = env.getBookSnapshot();
      out += fmt::format(",\"kind\":\"book_snapshot\",\"last_update_id\":{}", s.getLastUpdateId());
      if (s.getCrossSequence() != 0) out += fmt::format(",\"cross_sequence\":{}", s.getCrossSequence());
      append_levels(out, "bids", s.getBids());
      append_levels(out, "asks", s.getAsks());
      return;
    }
    case proto::Envelope::FUNDING: {
      auto f = env.getFunding();
      out += ",\"kind\":\"funding\"";
      append_decimal(out, "mark_price", f.getMarkPrice());
      append_decimal(out, "index_price", f.getIndexPrice());
      append_decimal(out, "settle_price", f.getSettlePrice());
      append_decimal(out, "funding_rate", f.getFundingRate());
      out += fmt::format(",\"next_funding_ns\":{}", f.getNextFundingNs());
      return;
    }
    case proto::Envelope::LIQUIDATION: {
      auto l = env.getLiquidation();
      out += fmt::format(",\"kind\":\"liquidation\",\"side\":\"{}\"", side_name(l.getSide()));
      append_decimal(out, "price", l.getPrice());
      append_decimal(out, "average_price", l.getAveragePrice());
      append_decimal(out, "size", l.getSize());
      append_decimal(out, "filled_size", l.getFilledSize());
      out += fmt::format(",\"trade_ns\":{}", l.getTradeNs());
      return;
    }
    case proto::Envelope::OPEN_INTEREST: {
      out += ",\"kind\":\"open_interest\"";
      append_decimal(out, "open_interest", env.getOpenInterest().getOpenInterest());
      return;
    }
    case proto::Envelope::STATUS: {
      auto s = env.getStatus();
      out += fmt::format(",\"kind\":\"status\",\"status\":\"{}\",\"from_id\":{},\"to_id\":{},\"count\":{},\"detail\":",
                         status_name(s.getKind()), s.getFromId(), s.getToId(), s.getCount());
      append_json_string(out, std::string_view(s.getDetail().cStr(), s.getDetail().size()));
      return;
    }
  }
  out += ",\"kind\":\"unknown\"";
}

// with_envelope: decodes `framed` (any alignment) and calls f with the root.
// Cap'n Proto reports malformed input by throwing kj::Exception; this is the
// edge where hostile bytes meet the decoder, so it is caught here.
template <typename F>
absl::Status with_envelope(std::span<const std::byte> framed, F&& f) {
  if (framed.size() % sizeof(capnp::word) != 0 || framed.empty()) {
    return absl::DataLossError(fmt::format("envelope: {} bytes is not a whole number of 8-byte words",
                                           framed.size()));
  }
  // Copy into word-aligned memory: journal payloads need not be 8-byte aligned.
  const std::size_t count = framed.size() / sizeof(capnp::word);
  auto words = std::make_unique<capnp::word[]>(count);
  std::memcpy(words.get(), framed.data(), framed.size());
  kj::Maybe<kj::Exception> error = kj::runCatchingExceptions([&] {
    // A hostile list can claim millions of zero-size elements in a few
    // bytes, and each would be printed; a real Envelope reads each of its
    // words about once, so a limit of a few times its size bounds the work.
    capnp::ReaderOptions options;
    options.traversalLimitInWords = count * 4 + 1024;
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.get(), count), options);
    f(reader.getRoot<proto::Envelope>());
  });
  KJ_IF_MAYBE(e, error) {
    return absl::DataLossError(fmt::format("envelope: cannot decode: {}", e->getDescription().cStr()));
  }
  return absl::OkStatus();
}

std::string_view text_of(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

void append_csv_text(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string decimal_text(proto::Decimal::Reader d) {
  return middleware::to_string(middleware::Decimal{d.getMantissa(), d.getExponent()});
}

void append_csv_body(std::string& out, proto::Envelope::Reader env) {
  // Columns after symbol: kind, trade_id, price, size, aggressor, trade_ns,
  // update_id, bid_price, bid_size, ask_price, ask_size, status, detail. A
  // trade's detail is its tradeIdText (the venue's own id, where trade_id is
  // not it), else empty.
  switch (env.which()) {
    case proto::Envelope::TRADE: {
      auto t = env.getTrade();
      out += fmt::format(",{},{},{},{},{},{},,,,,,,", t.getAggregate() ? "agg_trade" : "trade", t.getTradeId(),
                         decimal_text(t.getPrice()),
                         decimal_text(t.getSize()), side_name(t.getAggressor()), t.getTradeNs());
      if (t.hasTradeIdText() && t.getTradeIdText().size() > 0) append_csv_text(out, text_of(t.getTradeIdText()));
      return;
    }
    case proto::Envelope::QUOTE: {
      auto q = env.getQuote();
      out += fmt::format(",quote,,,,,,{},{},{},{},{},,", q.getUpdateId(), decimal_text(q.getBidPrice()),
                         decimal_text(q.getBidSize()), decimal_text(q.getAskPrice()), decimal_text(q.getAskSize()));
      return;
    }
    case proto::Envelope::BOOK_DELTA:
      out += fmt::format(",book_delta,,,,,,{},,,,,,", env.getBookDelta().getLastUpdateId());
      return;
    case proto::Envelope::BOOK_SNAPSHOT:
      out += fmt::format(",book_snapshot,,,,,,{},,,,,,", env.getBookSnapshot().getLastUpdateId());
      return;
    case proto::Envelope::FUNDING:
      out += fmt::format(",funding,,{},,,,,,,,,,", decimal_text(env.getFunding().getMarkPrice()));
      return;
    case proto::Envelope::LIQUIDATION: {
      auto l = env.getLiquidation();
      out += fmt::format(",liquidation,,{},{},{},{},,,,,,,", decimal_text(l.getPrice()), decimal_text(l.getSize()),
                         side_name(l.getSide()), l.getTradeNs());
      return;
    }
    case proto::Envelope::OPEN_INTEREST:
      out += fmt::format(",open_interest,,,{},,,,,,,,,", decimal_text(env.getOpenInterest().getOpenInterest()));
      return;
    case proto::Envelope::STATUS: {
      auto st = env.getStatus();
      out += fmt::format(",status,,,,,,,,,,,{},", status_name(st.getKind()));
      append_csv_text(out, text_of(st.getDetail()));
      return;
    }
  }
  out += ",unknown,,,,,,,,,,,,";
}

}  // namespace

absl::StatusOr<std::string> envelope_to_json(std::span<const std::byte> framed) {
  std::string out;
  absl::Status decoded = with_envelope(framed, [&](proto::Envelope::Reader env) {
    out = fmt::format("{{\"seq\":{},\"mono_ns\":{},\"wall_ns\":{},\"exch_ns\":{},\"feed\":", env.getSequence(),
                      env.getMonoNs(), env.getWallNs(), env.getExchNs());
    append_json_string(out, text_of(env.getFeed()));
    out += ",\"symbol\":";
    append_json_string(out, text_of(env.getSymbol()));
    append_body(out, env);
    if (env.hasInstrument() && env.getInstrument().size() != 0) {
      out += ",\"instrument\":";
      append_json_string(out, text_of(env.getInstrument()));
      out += fmt::format(",\"instrument_kind\":\"{}\"", instrument_kind_name(env.getInstrumentKind()));
    }
    if (env.hasContract()) {
      const auto c = env.getContract();
      append_decimal(out, "contract_value", c.getValue());
      out += ",\"contract_currency\":";
      append_json_string(out, text_of(c.getCurrency()));
    }
    out.push_back('}');
  });
  if (!decoded.ok()) return decoded;
  return out;
}

absl::StatusOr<std::string> envelope_to_csv(std::span<const std::byte> framed) {
  std::string out;
  absl::Status decoded = with_envelope(framed, [&](proto::Envelope::Reader env) {
    out = fmt::format("{},{},{},{},", env.getSequence(), env.getMonoNs(), env.getWallNs(), env.getExchNs());
    append_csv_text(out, text_of(env.getFeed()));
    out.push_back(',');
    append_csv_text(out, text_of(env.getSymbol()));
    append_csv_body(out, env);
  });
  if (!decoded.ok()) return decoded;
  return out;
}

absl::StatusOr<std::string> envelope_symbol(std::span<const std::byte> framed) {
  std::string symbol;
  absl::Status decoded =
      with_envelope(framed, [&](proto::Envelope::Reader env) { symbol = std::string(text_of(env.getSymbol())); });
  if (!decoded.ok()) return decoded;
  return symbol;
}

}  // namespace tickwire::connector
