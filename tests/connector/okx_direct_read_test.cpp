// OkxParser reads trades, trades-all, books, books5 and bbo-tbt frames in
// OKX's compact shape straight from the bytes (src/venues/okx/direct_read.cpp)
// and leaves everything else to its simdjson path. Whatever the direct read
// takes must come out exactly as the simdjson path (parse_generic) reads it;
// whatever it does not take is the simdjson path's, errors included.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/direct_read_expect.hpp"
#include "tickwire/connector/venues/okx/parser.hpp"

namespace tickwire::connector::venues {
namespace {

using testing::replace;
using Both = testing::BothPaths<OkxParser>;

// Real frames: OKX's documentation (books snapshot, bbo-tbt, books5) and a
// 2026 recording (trades with count, source and seqId).
constexpr std::string_view kTrade =
    R"({"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP",)"
    R"("tradeId":"2832749635","px":"63913.5","sz":"1","side":"buy","ts":"1786540435948","count":"1",)"
    R"("source":"0","seqId":333793117432}]})";
constexpr std::string_view kBooks =
    R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0",)"
    R"("13"],["8477","7","0","2"]],"bids":[["8476.97","256","0","12"],["8475.55","101","0","1"]],)"
    R"("ts":"1597026383085","checksum":0,"prevSeqId":-1,"seqId":123456}]})";
constexpr std::string_view kBbo =
    R"({"arg":{"channel":"bbo-tbt","instId":"BCH-USDT-SWAP"},"data":[{"asks":[["111.06","55154","0","2"]],)"
    R"("bids":[["111.05","57745","0","2"]],"ts":"1670324386802","seqId":363996337}]})";
constexpr std::string_view kBooks5 =
    R"({"arg":{"channel":"books5","instId":"BCH-USDT-SWAP"},"data":[{"asks":[["111.06","55154","0","2"],)"
    R"(["111.07","53276","0","2"]],"bids":[["111.05","57745","0","2"]],"instId":"BCH-USDT-SWAP",)"
    R"("ts":"1670324386802","seqId":363996337}]})";

const std::vector<std::string> kSymbols = {"BTC-USDT", "BTC-USDT-SWAP", "BCH-USDT-SWAP"};

TEST(OkxDirectRead, TheCompactShapesAreReadDirectlyAndAsTheSimdjsonPathReadsThem) {
  Both both(kSymbols);
  const std::string update = replace(replace(kBooks, R"("action":"snapshot")", R"("action":"update")"),
                                     R"("prevSeqId":-1)", R"("prevSeqId":123400)");
  const std::vector<std::string> direct = {
      std::string(kTrade),
      replace(kTrade, R"(,"count":"1","source":"0","seqId":333793117432)", ""),  // the older shape
      replace(kTrade, R"("count":"1")", R"("count":"7")"),                      // seven fills
      replace(kTrade, R"("sz":"1")", R"("sz":"-1")"),  // the parser takes it; the pipeline refuses it
      replace(kTrade, R"("channel":"trades")", R"("channel":"trades-all")"),
      replace(kTrade, R"("instId":"BTC-USDT-SWAP","tradeId")", R"("tradeId")"),  // the instrument from arg
      replace(kTrade, R"(}]})", R"(},{"instId":"BTC-USDT-SWAP","tradeId":"2832749636","px":"63913.6","sz":"2",)"
                                R"("side":"sell","ts":"1786540435949"}]})"),
      std::string(kBooks),
      update,
      replace(update, R"("seqId":123456)", R"("seqId":123400)"),   // a keepalive
      replace(update, R"("seqId":123456)", R"("seqId":5)"),        // a maintenance reset
      replace(kBooks, R"("checksum":0)", R"("checksum":-855196043)"),
      replace(kBooks, R"(["8477","7","0","2"])", R"(["8477","0","0","0"])"),  // a delete
      replace(kBooks, R"(["8477","7","0","2"])", R"(["8477","7"])"),          // two strings
      replace(kBooks, R"("asks":[["8476.98","415","0","13"],["8477","7","0","2"]])", R"("asks":[])"),
      replace(kBooks, R"("channel":"books")", R"("channel":"books-l2-tbt")"),
      std::string(kBbo),
      replace(kBbo, R"("asks":[["111.06","55154","0","2"]])", R"("asks":[])"),
      std::string(kBooks5),
  };
  testing::expect_both_ways(both, direct, true);
}

TEST(OkxDirectRead, AnythingElseIsTheSimdjsonPathsAndComesOutTheSame) {
  Both both(kSymbols);
  const std::vector<std::string> generic = {
      "pong",
      replace(kTrade, R"("px":"63913.5",)", R"("px" : "63913.5", )"),              // whitespace
      std::string(kTrade) + " ",
      replace(kTrade, R"("side":"buy")", R"("side":"b\u0075y")"),                  // an escape
      replace(kTrade, R"("side":"buy")", "\"side\":\"b\xc3\xbcy\""),               // non-ASCII
      replace(kTrade, R"("side":"buy")", R"("side":"BUY")"),
      replace(kTrade, R"("tradeId":"2832749635")", R"("tradeId":"28x")"),
      replace(kTrade, R"("tradeId":"2832749635")", R"("tradeId":2832749635)"),      // a number
      replace(kTrade, R"("count":"1")", R"("count":"0")"),
      replace(kTrade, R"("count":"1")", R"("count":"2832749636")"),                // more fills than ids
      replace(kTrade, R"("ts":"1786540435948")", R"("ts":"18446744073710")"),      // past the ns range
      replace(kTrade, R"("px":"63913.5",)", ""),                                   // no price
      replace(kTrade, R"("sz":"1")", R"("sz":"1","sz":"2")"),                      // a repeated key
      replace(kTrade, R"("source":"0")", R"("source":"0","fillTime":"1")"),        // another key
      replace(kTrade, R"("seqId":333793117432)", R"("seqId":-1)"),
      replace(kTrade, R"("instId":"BTC-USDT-SWAP"})", R"("instId":"BTC-USDT-SWAP","instType":"SWAP"})"),
      replace(kTrade, R"({"channel":"trades","instId":"BTC-USDT-SWAP"})", R"({"instId":"BTC-USDT-SWAP","channel":"trades"})"),
      R"({"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[]})",
      R"({"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"})",
      replace(kBooks, R"("action":"snapshot",)", ""),                              // no action
      replace(kBooks, R"("action":"snapshot",)", "") + "",
      replace(kBooks, R"("action":"snapshot")", R"("action":"partial")"),
      replace(kBooks, R"("prevSeqId":-1)", R"("prevSeqId":-0)"),
      replace(kBooks, R"("seqId":123456)", R"("seqId":1234567890123456789)"),      // 19 digits: simdjson's
      replace(kBooks, R"("seqId":123456)", R"("seqId":1.5)"),
      replace(kBooks, R"("seqId":123456)", R"("seqId":"123456")"),
      replace(kBooks, R"(,"seqId":123456)", ""),                                   // no seqId
      replace(kBooks, R"("checksum":0)", R"("checksum":4294967296)"),              // not 32 bits
      replace(kBooks, R"(["8477","7","0","2"])", R"(["8477","7","0","2","9"])"),   // five strings
      replace(kBooks, R"(["8477","7","0","2"])", R"(["8477",7,"0","2"])"),
      replace(kBooks, R"(["8477","7","0","2"])", R"(["8477","-7","0","2"])"),
      replace(kBooks, R"(["8477","7","0","2"])", R"(["8477"])"),
      replace(kBooks, R"(}]})", R"(},{"asks":[],"bids":[],"ts":"1","seqId":1}]})"),  // two books
      replace(kBooks, R"("ts":"1597026383085")", R"("ts":"")"),
      replace(kBooks, R"("ts":"1597026383085",)", R"("ts":"1597026383085","ts":"1",)"),
      replace(kBooks, R"("action":"snapshot","data":[{)", R"("data":[{)") + "",
      replace(kBbo, R"("asks":[["111.06","55154","0","2"]])", R"("asks":[["111.06","55154","0","2"],["111.07","1","0","1"]])"),
      replace(kBbo, R"({"channel":"bbo-tbt","instId":"BCH-USDT-SWAP"})", R"({"channel":"bbo-tbt","instId":""})"),
      replace(kBbo, R"("channel":"bbo-tbt")", R"("channel":"tickers")"),
      std::string(kBooks5.substr(0, kBooks5.size() - 1)) + ",}",
  };
  testing::expect_both_ways(both, generic, false);
  // Every prefix of a frame is cut short somewhere: never read directly.
  testing::expect_prefixes_generic(both, {kTrade, kBooks, kBbo});
}

// The recorded and documented frames (../shared/fixtures/exchanges/okx),
// when present: the same both ways; the trades and books ones read directly.
TEST(OkxDirectRead, TheFixtureFramesComeOutTheSameBothWays) {
  Both both(kSymbols);
  testing::expect_fixture_frames(both, std::filesystem::path(TICKWIRE_FIXTURES_DIR) / "okx", [](std::string_view line) {
    // trades, trades-all; books, books5, books*-l2-tbt; bbo-tbt
    return line.starts_with(R"({"arg":{"channel":"trades)") || line.starts_with(R"({"arg":{"channel":"books)") ||
           line.starts_with(R"({"arg":{"channel":"bbo-tbt")");
  });
}

}  // namespace
}  // namespace tickwire::connector::venues
