// Helpers the OKX parser's sources share (parser.cpp, parser_derivatives.cpp):
// kinds, OKX's string times and ids, exact decimals. Internal to venues/okx.
#pragma once

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <string_view>

#include "tickwire/connector/venue.hpp"

namespace tickwire::connector::venues::okx_detail {

namespace od = simdjson::ondemand;

inline void set_kind(ParsedMessage& out, MessageKind kind, EventKind event) {
  out.kind = kind;
  out.event = event;
}

// to_ns: a millisecond timestamp in nanoseconds; false if it does not fit.
inline bool to_ns(std::uint64_t ms, std::uint64_t& ns) {
  if (ms > UINT64_MAX / 1'000'000) return false;
  ns = ms * 1'000'000;
  return true;
}

// unsigned_text: "1597026383085" (OKX sends times and ids as strings).
inline bool unsigned_text(std::string_view text, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

// ms_text: a millisecond time string into ns.
inline bool ms_text(std::string_view text, std::uint64_t& ns) {
  std::uint64_t ms = 0;
  return unsigned_text(text, ms) && to_ns(ms, ns);
}

inline bool decimal(std::string_view text, Decimal& out) {
  return middleware::parse_decimal(text, out) == middleware::DecimalError::kOk;
}

// optional_decimal: OKX leaves a field "" when it has no value (an empty
// book side in tickers): zero then.
inline bool optional_decimal(std::string_view text, Decimal& out) {
  if (text.empty()) {
    out = Decimal{};
    return true;
  }
  return decimal(text, out);
}

}  // namespace tickwire::connector::venues::okx_detail
