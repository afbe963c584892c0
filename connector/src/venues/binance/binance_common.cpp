#include "venues/binance/binance_common.hpp"

#include <fmt/format.h>

#include <array>

namespace tickwire::connector::venues::binance {
namespace {

// The quote assets Binance lists pairs against (spot and futures), longest
// match first where one is a suffix of another (FDUSD before USD).
constexpr std::array<std::string_view, 28> kQuotes = {
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "BIDR", "IDRT", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY",
    "BRL",   "GBP",  "AUD",  "JPY",  "RUB",  "UAH",  "NGN",  "ZAR",  "PLN", "RON", "ARS", "MXN", "XRP", "USD"};

std::string request(std::string_view method, std::span<const std::string> streams, std::uint64_t id) {
  std::string msg = fmt::format(R"({{"method":"{}","params":[)", method);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (i > 0) msg += ',';
    msg += '"';
    msg += streams[i];
    msg += '"';
  }
  msg += fmt::format(R"(],"id":{}}})", id);
  return msg;
}

}  // namespace

std::string BinanceControl::subscribe_message(std::span<const std::string> streams, std::uint64_t id) const {
  return request("SUBSCRIBE", streams, id);
}

std::string BinanceControl::unsubscribe_message(std::span<const std::string> streams, std::uint64_t id) const {
  return request("UNSUBSCRIBE", streams, id);
}

ReplyVerdict BinanceControl::classify(const char* data, std::size_t size) {
  std::string_view s(data, size);
  const auto start = s.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  s.remove_prefix(start);
  if (!s.starts_with("{\"result\"") && !s.starts_with("{\"id\"") && !s.starts_with("{\"error\"") &&
      !s.starts_with("{\"code\"")) {
    return {};
  }
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  bool has_id = false, result_null = false, error = false;
  std::uint64_t id = 0;
  if (parser_.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc) == simdjson::SUCCESS &&
      doc.get_object().get(obj) == simdjson::SUCCESS) {
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
        error = true;
        break;
      }
      if (key == "id") {
        has_id = field.value().get_uint64().get(id) == simdjson::SUCCESS;
      } else if (key == "result") {
        result_null = field.value().is_null();
      } else {
        error = true;  // "error", "code", "msg": Binance's error replies
      }
    }
  } else {
    error = true;
  }
  ReplyVerdict v;
  v.has_id = has_id;
  v.id = id;
  v.kind = error ? ReplyVerdict::kRejected : result_null ? ReplyVerdict::kAck : ReplyVerdict::kOther;
  return v;
}

absl::StatusOr<std::pair<std::string_view, std::string_view>> split_symbol(std::string_view symbol) {
  for (std::string_view quote : kQuotes) {
    if (symbol.size() > quote.size() && symbol.ends_with(quote)) {
      return std::pair{symbol.substr(0, symbol.size() - quote.size()), quote};
    }
  }
  return absl::InvalidArgumentError(fmt::format(
      "symbol {:?}: cannot tell its base from its quote asset (no known quote asset at its end)", symbol));
}

}  // namespace tickwire::connector::venues::binance
