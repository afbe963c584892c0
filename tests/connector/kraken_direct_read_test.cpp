// KrakenParser reads book and trade frames in Kraken's compact shape
// straight from the bytes (src/venues/kraken/direct_read.cpp) and leaves
// everything else to its simdjson path. Whatever the direct read takes must
// come out exactly as the simdjson path (parse_generic) reads it; whatever
// it does not take is the simdjson path's, errors included.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/direct_read_expect.hpp"
#include "tickwire/connector/venues/kraken/parser.hpp"

namespace tickwire::connector::venues {
namespace {

using testing::replace;
using Both = testing::BothPaths<KrakenParser>;

// Real frames: Kraken's documentation (a trade update; a book update of
// the checksum example, with a second level added per side).
constexpr std::string_view kTrade =
    R"({"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,)"
    R"("ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]})";
constexpr std::string_view kBook =
    R"({"channel":"book","type":"update","data":[{"symbol":"MATIC/USD","bids":[{"price":0.5657,"qty":1098.3947558},)"
    R"({"price":0.5656,"qty":0}],"asks":[{"price":0.5668,"qty":4410.79769741}],"checksum":2114181697,)"
    R"("timestamp":"2023-10-06T17:35:55.440295Z"}]})";

const std::vector<std::string> kSymbols = {"MATIC/USD", "BTC/USD"};

TEST(KrakenDirectRead, TheCompactShapesAreReadDirectlyAndAsTheSimdjsonPathReadsThem) {
  Both both(kSymbols);
  const std::vector<std::string> direct = {
      std::string(kTrade),
      replace(kTrade, R"("type":"update")", R"("type":"snapshot")"),
      replace(kTrade, R"("side":"sell")", R"("side":"buy")"),
      replace(kTrade, R"("ord_type":"market",)", ""),                         // no order type
      replace(kTrade, R"("symbol":"MATIC/USD","side":"sell")", R"("side":"sell","symbol":"MATIC/USD")"),
      replace(kTrade, R"("qty":40.0)", R"("qty":0)"),
      replace(kTrade, R"("qty":40.0)", R"("qty":-40.0)"),  // the parser takes it; the pipeline refuses it
      replace(kTrade, R"("price":0.5117)", R"("price":123456789012345678)"),  // 18 digits
      replace(kTrade, R"("price":0.5117)", R"("price":0.00000000000000001)"),
      replace(kTrade, R"("trade_id":4665906)", R"("trade_id":18446744073709551615)"),
      replace(kTrade, R"("timestamp":"2023-09-25T07:49:37.708706Z")", R"("timestamp":"2023-09-25T07:49:37Z")"),
      replace(kTrade, R"(}]})", R"(},{"symbol":"BTC/USD","side":"buy","price":105944.20,"qty":0.00027625,)"
                                R"("ord_type":"limit","trade_id":10218208,"timestamp":"2023-10-06T17:35:55.440295Z"}]})"),
      std::string(kBook),
      replace(kBook, R"("type":"update")", R"("type":"snapshot")"),
      replace(kBook, R"(,"timestamp":"2023-10-06T17:35:55.440295Z")", ""),  // no time
      replace(kBook, R"("asks":[{"price":0.5668,"qty":4410.79769741}])", R"("asks":[])"),
      replace(kBook, R"("checksum":2114181697)", R"("checksum":4294967295)"),
      replace(kBook, R"("checksum":2114181697)", R"("checksum":0)"),
      replace(kBook, R"({"price":0.5656,"qty":0})", R"({"price":-0.5656,"qty":-0})"),
      replace(replace(kBook, R"("symbol":"MATIC/USD",)", ""), R"("checksum":2114181697,)",
              R"("checksum":2114181697,"symbol":"MATIC/USD",)"),  // the symbol later
      replace(kBook, R"(}]})", R"(},{"symbol":"BTC/USD","bids":[],"asks":[{"price":1,"qty":2}],"checksum":7}]})"),
  };
  testing::expect_both_ways(both, direct, true);
}

TEST(KrakenDirectRead, AnythingElseIsTheSimdjsonPathsAndComesOutTheSame) {
  Both both(kSymbols);
  const std::vector<std::string> generic = {
      R"({"channel":"heartbeat"})",
      replace(kTrade, R"("price":0.5117,)", R"("price" : 0.5117, )"),               // whitespace
      std::string(kTrade) + " ",
      std::string(kTrade) + "x",
      replace(kTrade, R"("side":"sell")", R"("side":"s\u0065ll")"),               // an escape
      replace(kTrade, R"("symbol":"MATIC/USD")", "\"symbol\":\"M\xc3\xa4TIC/USD\""),  // non-ASCII
      replace(kTrade, R"("side":"sell")", R"("side":"SELL")"),
      replace(kTrade, R"("symbol":"MATIC/USD")", R"("symbol":"")"),
      replace(kTrade, R"("price":0.5117)", R"("price":5.117e-1)"),                  // an exponent
      replace(kTrade, R"("price":0.5117)", R"("price":5117E-4)"),
      replace(kTrade, R"("price":0.5117)", R"("price":1234567890123456789)"),        // 19 digits
      replace(kTrade, R"("price":0.5117)", R"("price":00.5117)"),                    // a leading zero
      replace(kTrade, R"("price":0.5117)", R"("price":.5117)"),
      replace(kTrade, R"("price":0.5117)", R"("price":5.)"),
      replace(kTrade, R"("price":0.5117)", R"("price":-)"),
      replace(kTrade, R"("price":0.5117)", R"("price":"0.5117")"),                   // a string
      replace(kTrade, R"("trade_id":4665906)", R"("trade_id":-1)"),
      replace(kTrade, R"("trade_id":4665906)", R"("trade_id":18446744073709551616)"),
      replace(kTrade, R"("trade_id":4665906)", R"("trade_id":4665906.0)"),
      replace(kTrade, R"("timestamp":"2023-09-25T07:49:37.708706Z")", R"("timestamp":"2023-09-25 07:49:37Z")"),
      replace(kTrade, R"("timestamp":"2023-09-25T07:49:37.708706Z")", R"("timestamp":1695628177)"),
      replace(kTrade, R"(,"timestamp":"2023-09-25T07:49:37.708706Z")", ""),          // no time
      replace(kTrade, R"("price":0.5117,)", ""),                                      // no price
      replace(kTrade, R"("qty":40.0)", R"("qty":40.0,"qty":41)"),                     // a repeated key
      replace(kTrade, R"("ord_type":"market")", R"("ord_type":"market","extra":1)"),  // another key
      replace(kTrade, R"("ord_type":"market")", R"("ord_type":null)"),
      replace(kTrade, R"({"channel":"trade","type":"update")", R"({"type":"update","channel":"trade")"),
      replace(kTrade, R"("type":"update")", R"("type":"delta")"),
      R"({"channel":"trade","type":"update","data":[]})",
      R"({"channel":"trade","type":"update","data":{}})",
      replace(kTrade, R"(}]})", R"(}],"extra":1})"),
      replace(kBook, R"({"price":0.5656,"qty":0})", R"({"price":0.5656,"qty":-1})"),  // a negative qty
      replace(kBook, R"({"price":0.5656,"qty":0})", R"({"qty":0,"price":0.5656})"),   // keys swapped
      replace(kBook, R"({"price":0.5656,"qty":0})", R"({"price":0.5656})"),
      replace(kBook, R"({"price":0.5656,"qty":0})", R"({"price":0.5656,"qty":0,"n":1})"),
      replace(kBook, R"({"price":0.5656,"qty":0})", R"([0.5656,0])"),
      replace(kBook, R"("checksum":2114181697)", R"("checksum":4294967296)"),         // not 32 bits
      replace(kBook, R"("checksum":2114181697)", R"("checksum":"2114181697")"),
      replace(kBook, R"(,"checksum":2114181697)", ""),                                 // no checksum
      replace(kBook, R"("asks":[{"price":0.5668,"qty":4410.79769741}],)", ""),        // no asks
      replace(kBook, R"("asks":[{"price":0.5668,"qty":4410.79769741}],)",
              R"("asks":[],"asks":[{"price":0.5668,"qty":4410.79769741}],)"),         // asks twice
      replace(kBook, R"("timestamp":"2023-10-06T17:35:55.440295Z")", R"("timestamp":"yesterday")"),
      replace(kBook, R"("symbol":"MATIC/USD",)", ""),
      replace(kBook, R"(}]})", R"(,}]})"),
      R"({"channel":"book","type":"update","data":[]})",
      R"({"method":"pong","req_id":42,"time_in":"2023-09-25T09:05:00.123456Z","time_out":"2023-09-25T09:05:00.123500Z"})",
  };
  testing::expect_both_ways(both, generic, false);
  // Every prefix of a frame is cut short somewhere: never read directly.
  testing::expect_prefixes_generic(both, {kTrade, kBook});
}

// The documented and hand-written frames (../shared/fixtures/exchanges/kraken),
// when present: the same both ways; the v2 book and trade ones read directly.
TEST(KrakenDirectRead, TheFixtureFramesComeOutTheSameBothWays) {
  Both both(kSymbols);
  testing::expect_fixture_frames(both, std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "kraken",
                                 [](std::string_view line) {
                                   return line.starts_with(R"({"channel":"book",)") ||
                                          line.starts_with(R"({"channel":"trade",)");
                                 });
}

// The book the direct read hands out is the one the simdjson path hands
// out, levels and checksum included, and still verifies against the
// documented checksum of the update.
TEST(KrakenDirectRead, ADirectlyReadBookCarriesItsLevelsAndChecksum) {
  KrakenParser parser(kSymbols);
  std::string frame(kBook);
  frame.append(simdjson::SIMDJSON_PADDING, '\0');
  const ParsedMessage m = parser.parse(frame.data(), kBook.size());
  ASSERT_EQ(m.event, EventKind::kBookDelta) << parser.error();
  EXPECT_EQ(m.delta.symbol, "MATIC/USD");
  EXPECT_EQ(m.delta.checksum, 2114181697u);
  EXPECT_TRUE(m.delta.has_checksum);
  ASSERT_EQ(m.delta.bids.size(), 2u);
  EXPECT_EQ(m.delta.bids[0].price, (Decimal{5657, -4}));
  EXPECT_EQ(m.delta.bids[0].size, (Decimal{10983947558, -7}));
  EXPECT_EQ(m.delta.bids[1].size, (Decimal{0, 0}));
  ASSERT_EQ(m.delta.asks.size(), 1u);
  EXPECT_EQ(m.delta.asks[0].size, (Decimal{441079769741, -8}));
  EXPECT_EQ(m.delta.event_ns, 1696613755440295000u);
}

}  // namespace
}  // namespace tickwire::connector::venues
