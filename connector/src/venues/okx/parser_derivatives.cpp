// OkxParser's derivatives channels: mark-price and funding-rate merged into
// whole funding records, open-interest, and the instType-wide
// liquidation-orders (parser.hpp).
#include "tickwire/connector/venues/okx/parser.hpp"

#include "parse_util.hpp"

namespace tickwire::connector::venues {

using namespace okx_detail;

bool OkxParser::parse_funding(od::array list, const Arg& arg, bool mark, ParsedMessage& out) {
  // mark-price: [{"instType","instId","markPx","ts"}]; funding-rate:
  // [{"instId","fundingRate","fundingTime","nextFundingTime",..,"ts"}]. Merged
  // per configured symbol: a whole funding record on each mark price once
  // the rate is known (and on the rate that completes the first record); a
  // symbol no rate will come for (a dated future, or a swap on a feed without
  // funding-rate) publishes each mark price alone.
  std::size_t index = 0;
  for (auto element : list) {
    od::object o;
    if (element.get_object().get(o)) return fail_at("data", index, "expected an object");
    std::string_view symbol, ts, mark_px, rate, funding_time;
    for (auto field : o) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      auto value = field.value();
      simdjson::error_code err = simdjson::SUCCESS;
      if (key == "instId") {
        err = value.get_string().get(symbol);
      } else if (key == "markPx") {
        err = value.get_string().get(mark_px);
      } else if (key == "fundingRate") {
        err = value.get_string().get(rate);
      } else if (key == "fundingTime") {
        err = value.get_string().get(funding_time);
      } else if (key == "ts") {
        err = value.get_string().get(ts);
      }
      if (err) return fail_at("data", index, "instId/markPx/fundingRate/fundingTime/ts: expected strings");
    }
    if (symbol.empty()) return fail_at("data", index, "instId: missing or empty");
    FundingState update;
    std::uint64_t event_ns = 0;
    if (!ms_text(ts, event_ns)) return fail_at("data", index, "ts: expected a millisecond time");
    if (mark) {
      if (!decimal(mark_px, update.mark_price)) return fail_at("data", index, "markPx: not an exact decimal");
      update.has_mark = true;
    } else {
      if (!decimal(rate, update.funding_rate)) return fail_at("data", index, "fundingRate: not an exact decimal");
      std::uint64_t ns = 0;
      if (!unsigned_text(funding_time, update.next_funding_ms) || !to_ns(update.next_funding_ms, ns)) {
        return fail_at("data", index, "fundingTime: expected a millisecond time");
      }
      update.has_rate = true;
    }
    FundingState* state = funding_state(symbol);
    bool emit = true;  // not configured: passed on as it stands, for the pipeline to reject
    if (state == nullptr) {
      state = &update;
    } else if (mark) {
      state->mark_price = update.mark_price;
      state->has_mark = true;
      emit = state->has_rate || !state->rate_expected;
    } else {
      // A new rate is published with the next mark price (records are told
      // apart by their time, and both channels may share one); only the
      // rate that completes the first record is published at once.
      emit = state->has_mark && !state->has_rate;
      state->funding_rate = update.funding_rate;
      state->next_funding_ms = update.next_funding_ms;
      state->has_rate = true;
    }
    if (emit) {
      ParsedMessage& m = pending_.emplace_back();
      set_kind(m, MessageKind::kIgnored, EventKind::kFunding);
      m.stream_symbol = arg.inst_id;
      FundingEvent& f = m.funding;
      f.symbol = symbol;
      f.event_ns = event_ns;
      f.mark_price = state->mark_price;
      f.funding_rate = state->funding_rate;
      f.next_funding_ns = state->next_funding_ms * 1'000'000;  // checked when it was parsed
    }
    ++index;
  }
  if (index == 0) return fail("data: empty");
  if (pending_.empty()) {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // waiting for the other half of the record
    return true;
  }
  out = pending_[0];
  cursor_ = 1;
  return true;
}

bool OkxParser::parse_open_interest(od::array list, const Arg& arg, ParsedMessage& out) {
  // [{"instId","instType","oi","oiCcy","oiUsd","ts"}]: "oi" in contracts.
  std::size_t index = 0;
  for (auto element : list) {
    od::object o;
    if (element.get_object().get(o)) return fail_at("data", index, "expected an object");
    ParsedMessage& m = pending_.emplace_back();
    set_kind(m, MessageKind::kIgnored, EventKind::kOpenInterest);
    m.stream_symbol = arg.inst_id;
    std::string_view oi, ts;
    for (auto field : o) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      auto value = field.value();
      simdjson::error_code err = simdjson::SUCCESS;
      if (key == "instId") {
        err = value.get_string().get(m.open_interest.symbol);
      } else if (key == "oi") {
        err = value.get_string().get(oi);
      } else if (key == "ts") {
        err = value.get_string().get(ts);
      }
      if (err) return fail_at("data", index, "instId/oi/ts: expected strings");
    }
    if (m.open_interest.symbol.empty()) return fail_at("data", index, "instId: missing or empty");
    if (!decimal(oi, m.open_interest.open_interest)) return fail_at("data", index, "oi: not an exact decimal");
    if (!ms_text(ts, m.open_interest.event_ns)) return fail_at("data", index, "ts: expected a millisecond time");
    ++index;
  }
  if (pending_.empty()) return fail("data: empty");
  out = pending_[0];
  cursor_ = 1;
  return true;
}

bool OkxParser::parse_liquidations(od::array list, ParsedMessage& out) {
  // [{"instId","instType","instFamily","uly","details":[{"bkLoss","bkPx","ccy","posSide","side","sz","ts"}]}]:
  // "side" is the liquidation order's (buy closes a short); every instrument
  // of the instType arrives, and only configured ones are kept.
  std::size_t index = 0;
  for (auto element : list) {
    od::object o;
    if (element.get_object().get(o)) return fail_at("data", index, "expected an object");
    std::string_view symbol;
    bool have_details = false;
    const std::size_t first = liquidations_.size();  // this object's entries start here
    for (auto field : o) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return fail_at("data", index, "malformed key");
      if (key == "instId") {
        if (field.value().get_string().get(symbol)) return fail_at("data", index, "instId: expected a string");
        continue;
      }
      if (key != "details") continue;
      od::array details;
      if (field.value().get_array().get(details)) return fail_at("data", index, "details: expected an array");
      have_details = true;
      std::size_t k = 0;
      for (auto d : details) {
        od::object e;
        if (d.get_object().get(e)) return fail_at("details", k, "expected an object");
        LiquidationEvent l;
        std::string_view side, price, size, ts;
        for (auto f : e) {
          std::string_view name;
          if (f.unescaped_key().get(name)) return fail_at("details", k, "malformed key");
          auto value = f.value();
          simdjson::error_code err = simdjson::SUCCESS;
          if (name == "bkPx") {
            err = value.get_string().get(price);
          } else if (name == "sz") {
            err = value.get_string().get(size);
          } else if (name == "side") {
            err = value.get_string().get(side);
          } else if (name == "ts") {
            err = value.get_string().get(ts);
          }
          if (err) return fail_at("details", k, "bkPx/sz/side/ts: expected strings");
        }
        if (side == "buy") {
          l.side = Side::kBuy;
        } else if (side == "sell") {
          l.side = Side::kSell;
        } else {
          return fail_at("details", k, "side: expected \"buy\" or \"sell\"");
        }
        if (!decimal(price, l.price)) return fail_at("details", k, "bkPx: not an exact decimal");
        if (!decimal(size, l.size)) return fail_at("details", k, "sz: not an exact decimal");
        if (!ms_text(ts, l.trade_ns)) return fail_at("details", k, "ts: expected a millisecond time");
        l.average_price = l.price;  // OKX states the bankruptcy price the order filled at
        l.filled_size = l.size;
        l.event_ns = l.trade_ns;
        liquidations_.push_back(l);
        ++k;
      }
    }
    // OKX sends "details" before "instId": the entries get their symbol now,
    // and those of instruments the feed does not configure are dropped.
    if (symbol.empty()) return fail_at("data", index, "instId: missing or empty");
    if (!symbols_.empty() && !configured(symbol)) {
      liquidations_.resize(first);
    } else {
      for (std::size_t i = first; i < liquidations_.size(); ++i) liquidations_[i].symbol = symbol;
    }
    if (!have_details) return fail_at("data", index, "details: missing");
    ++index;
  }
  if (index == 0) return fail("data: empty");
  if (liquidations_.empty()) {
    set_kind(out, MessageKind::kIgnored, EventKind::kIgnored);  // other instruments' liquidations
    return true;
  }
  set_kind(out, MessageKind::kIgnored, EventKind::kLiquidation);
  out.liquidation = liquidations_[0];
  cursor_ = 1;
  return true;
}

}  // namespace tickwire::connector::venues
