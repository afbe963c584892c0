#include "tickwire/config/config.hpp"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <string_view>

#include "support/temp_dir.hpp"

namespace tickwire::config {
namespace {

// A valid config whose lines are numbered below; tests append sections at
// line 7 or replace one line to provoke one error each.
constexpr std::string_view kMinimal =
    "env = \"test\"\n"            // 1
    "[[feeds]]\n"                 // 2
    "name = \"binance\"\n"        // 3
    "exchange = \"binance\"\n"    // 4
    "url = \"sim://\"\n"          // 5
    "symbols = [\"BTCUSDT\"]\n";  // 6

std::string with(std::string_view tail) { return std::string(kMinimal) + std::string(tail); }

// kMinimal with line `line` (1-based) replaced by `text`.
std::string replacing(int line, std::string_view text) {
  std::string out;
  std::size_t start = 0;
  for (int n = 1; start < kMinimal.size(); ++n) {
    const auto end = kMinimal.find('\n', start);
    out += n == line ? std::string(text) : std::string(kMinimal.substr(start, end - start));
    out += '\n';
    start = end + 1;
  }
  return out;
}

std::string error_of(const std::string& toml) {
  auto config = load_string(toml, "test.toml");
  EXPECT_FALSE(config.ok()) << "loaded without error:\n" << toml;
  if (config.ok()) return {};
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(Config, ShippedDefaultConfigLoadsWithTheSimulatorFeed) {
  auto config = load_file(TICKWIRE_SOURCE_DIR "/config/default.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->env, "dev");
  ASSERT_EQ(config->feeds.size(), 1u);
  const FeedConfig& feed = config->feeds[0];
  EXPECT_EQ(feed.name, "binance");
  EXPECT_EQ(feed.exchange, "binance");
  EXPECT_EQ(feed.url, "sim://");
  EXPECT_THAT(feed.symbols, ::testing::ElementsAre("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"));
  EXPECT_THAT(feed.channels, ::testing::ElementsAre("trade", "bookTicker", "depth@100ms"));
  EXPECT_EQ(config->simulator.rate, 2000.0);
  EXPECT_EQ(config->simulator.seed, 42u);
  EXPECT_EQ(config->journal.dir, std::filesystem::path(TICKWIRE_SOURCE_DIR "/data").lexically_normal().string());
  EXPECT_EQ(config->journal.ring_bytes, 16u << 20);
  EXPECT_EQ(config->journal.segment_bytes, 256u << 20);
  EXPECT_EQ(config->status.interval_ms, 1000u);
  EXPECT_THAT(config->source, ::testing::EndsWith("config/default.toml"));
}

TEST(Config, ShippedBinanceConfigLoadsALiveWssFeed) {
  auto config = load_file(TICKWIRE_SOURCE_DIR "/config/binance.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->feeds.size(), 1u);
  EXPECT_EQ(config->feeds[0].url, "wss://stream.binance.com:9443/stream");
  EXPECT_THAT(config->feeds[0].symbols,
              ::testing::ElementsAre("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"));
  EXPECT_TRUE(config->feeds[0].verify_tls);
  EXPECT_EQ(config->journal.full_policy, FullPolicy::kBlock);
}

TEST(Config, OmittedOptionalKeysTakeTheirDefaults) {
  auto config = load_string(replacing(1, ""), "<string>");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->env, "dev");
  EXPECT_EQ(config->source, "<string>");
  const FeedConfig& feed = config->feeds[0];
  EXPECT_THAT(feed.channels, ::testing::ElementsAre("trade"));
  EXPECT_EQ(feed.ca_file, "");
  EXPECT_TRUE(feed.verify_tls);
  EXPECT_EQ(feed.max_frame_bytes, 1u << 20);
  EXPECT_EQ(feed.subscribe, "url");
  EXPECT_EQ(feed.rest_url, "");
  EXPECT_EQ(feed.depth_limit, 1000u);
  EXPECT_TRUE(feed.snapshot_on_reconnect);
  EXPECT_EQ(feed.time_unit, "ms");
  EXPECT_EQ(feed.ping_interval_ms, 20'000u);
  EXPECT_EQ(feed.pong_timeout_ms, 60'000u);
  EXPECT_EQ(feed.stale_after_ms, 0u);
  EXPECT_EQ(feed.resubscribe_timeout_ms, 10'000u);
  EXPECT_EQ(feed.max_lifetime_s, 85'800u);
  EXPECT_EQ(feed.rollover_overlap_ms, 10'000u);
  EXPECT_EQ(feed.backoff_initial_ms, 100u);
  EXPECT_EQ(feed.backoff_max_ms, 30'000u);
  EXPECT_EQ(feed.max_connects_per_5min, 300u);
  EXPECT_EQ(config->simulator.rate, 1000.0);
  EXPECT_EQ(config->simulator.seed, 1u);
  EXPECT_EQ(config->simulator.count, 0u);
  const JournalConfig& j = config->journal;
  EXPECT_EQ(j.dir, "./data");
  EXPECT_EQ(j.ring_bytes, 16u << 20);
  EXPECT_EQ(j.segment_bytes, 256u << 20);
  EXPECT_TRUE(j.roll_daily_utc);
  EXPECT_EQ(j.fsync, FsyncPolicy::kInterval);
  EXPECT_EQ(j.fsync_interval_ms, 100u);
  EXPECT_EQ(j.full_policy, FullPolicy::kBlock);
  EXPECT_EQ(j.batch_records, 64u);
  EXPECT_EQ(j.batch_us, 100u);
  EXPECT_EQ(config->status.interval_ms, 1000u);
}

TEST(Config, SizesAcceptIntegerBytesAndBinaryUnits) {
  auto config = load_string(with("max_frame_bytes = \"256 MiB\"\n"
                                 "[journal]\n"
                                 "ring_bytes = \"64KiB\"\n"
                                 "segment_bytes = \"1GiB\"\n"),
                            "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->feeds[0].max_frame_bytes, 256u << 20);
  EXPECT_EQ(config->journal.ring_bytes, 64u << 10);
  EXPECT_EQ(config->journal.segment_bytes, 1u << 30);

  config = load_string(with("[journal]\nring_bytes = 1_048_576\nsegment_bytes = \"16MiB\"\n"),
                       "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->journal.ring_bytes, 1u << 20);
  EXPECT_EQ(config->journal.segment_bytes, 16u << 20);
}

TEST(Config, EnumsAndNumbersAreReadFromTheirSections) {
  auto config = load_string(with("[simulator]\nrate = 2.5\nseed = 7\ncount = 100\n"
                                 "[journal]\nfsync = \"batch\"\nfull_policy = \"drop\"\n"
                                 "[status]\ninterval_ms = 50\n"),
                            "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->simulator.rate, 2.5);
  EXPECT_EQ(config->simulator.seed, 7u);
  EXPECT_EQ(config->simulator.count, 100u);
  EXPECT_EQ(config->journal.fsync, FsyncPolicy::kBatch);
  EXPECT_EQ(config->journal.full_policy, FullPolicy::kDrop);
  EXPECT_EQ(config->status.interval_ms, 50u);
  EXPECT_EQ(to_string(config->journal.fsync), "batch");
  EXPECT_EQ(to_string(config->journal.full_policy), "drop");
}

TEST(Config, WrongTypeNamesTheExpectedAndTheFoundType) {
  EXPECT_EQ(error_of(replacing(6, "symbols = 5")),
            "test.toml:6: feeds[0].symbols: expected a list of strings, got integer");
  EXPECT_EQ(error_of(replacing(6, "symbols = [\"BTCUSDT\", 5]")),
            "test.toml:6: feeds[0].symbols[1]: expected a string, got integer");
  EXPECT_EQ(error_of(with("verify_tls = \"yes\"\n")),
            "test.toml:7: feeds[0].verify_tls: expected a boolean (true or false), got string");
  EXPECT_EQ(error_of("journal = 5\n" + std::string(kMinimal)),
            "test.toml:1: journal: expected a table, got integer");
  EXPECT_EQ(error_of("feeds = 1\n"),
            "test.toml:1: feeds: expected an array of tables ([[feeds]]), got integer");
}

TEST(Config, UnknownKeyIsAnErrorThatListsTheKnownKeys) {
  EXPECT_EQ(error_of(with("[journal]\ndir = \"x\"\nfsnyc = \"none\"\n")),
            "test.toml:9: journal.fsnyc: unknown key (known: dir, ring_bytes, segment_bytes, "
            "roll_daily_utc, fsync, fsync_interval_ms, full_policy, batch_records, batch_us)");
  EXPECT_EQ(error_of(with("urls = \"sim://\"\n")),
            "test.toml:7: feeds[0].urls: unknown key (known: name, exchange, category, url, symbols, "
            "channels, ca_file, verify_tls, max_frame_bytes, subscribe, rest_url, depth_limit, "
            "snapshot_on_reconnect, time_unit, ping_interval_ms, pong_timeout_ms, stale_after_ms, resubscribe_timeout_ms, "
            "max_lifetime_s, "
            "rollover_overlap_ms, backoff_initial_ms, backoff_max_ms, max_connects_per_5min, lag_warn_ms, "
            "level2_products_per_connection, key_file)");
  EXPECT_EQ(error_of("environment = \"x\"\n" + std::string(kMinimal)),
            "test.toml:1: environment: unknown key (known: env, feeds, simulator, journal, status, threads, metrics, log, publish)");
}

TEST(Config, MissingRequiredKeyPointsAtItsTable) {
  EXPECT_EQ(error_of("env = \"dev\"\n[journal]\n"),
            "test.toml:1: feeds: expected an array of tables ([[feeds]]), got nothing "
            "(the key is required)");
  EXPECT_EQ(error_of(replacing(5, "")),
            "test.toml:2: feeds[0].url: expected a string, got nothing (the key is required)");
  EXPECT_EQ(error_of(replacing(6, "")),
            "test.toml:2: feeds[0].symbols: expected a list of strings, got nothing "
            "(the key is required)");
  EXPECT_EQ(error_of(with("[[feeds]]\nname = \"other\"\n")),
            "test.toml:7: feeds[1].exchange: expected a string, got nothing (the key is required)");
}

TEST(Config, NegativeIntegerForAnUnsignedFieldIsAnError) {
  EXPECT_EQ(error_of(with("[simulator]\nseed = -1\n")),
            "test.toml:8: simulator.seed: expected a non-negative integer, got -1");
  EXPECT_EQ(error_of(with("[journal]\nbatch_us = -5\n")),
            "test.toml:8: journal.batch_us: expected a non-negative integer, got -5");
  EXPECT_EQ(error_of(with("[journal]\nring_bytes = -65536\n")),
            "test.toml:8: journal.ring_bytes: expected a non-negative size, got -65536");
}

TEST(Config, OutOfRangeValueIsAnError) {
  EXPECT_EQ(error_of(with("[status]\ninterval_ms = 10\n")),
            "test.toml:8: status.interval_ms: expected an integer >= 50, got 10");
  EXPECT_EQ(error_of(with("[journal]\nbatch_records = 4294967296\n")),
            "test.toml:8: journal.batch_records: expected an integer <= 4294967295, got 4294967296");
  EXPECT_EQ(error_of(with("[simulator]\nrate = 0\n")),
            "test.toml:8: simulator.rate: expected a positive number, got 0");
  EXPECT_EQ(error_of(with("[journal]\nring_bytes = \"32KiB\"\n")),
            "test.toml:8: journal.ring_bytes: expected a size of at least 64KiB, got 32KiB");
  EXPECT_EQ(error_of(with("[journal]\nring_bytes = \"96KiB\"\n")),
            "test.toml:8: journal.ring_bytes: expected a power of two, got 98304 bytes");
  EXPECT_EQ(error_of(with("[journal]\ndir = \"\"\n")),
            "test.toml:8: journal.dir: expected a directory path, got \"\"");
}

TEST(Config, SizeWithoutABinaryUnitIsAnError) {
  EXPECT_EQ(error_of(with("[journal]\nsegment_bytes = \"16MB\"\n")),
            "test.toml:8: journal.segment_bytes: expected a size (integer bytes, or a string "
            "with a unit B, KiB, MiB, GiB or TiB such as \"16MiB\"), got \"16MB\"");
  EXPECT_EQ(error_of(with("[journal]\nsegment_bytes = 1.5\n")),
            "test.toml:8: journal.segment_bytes: expected a size (integer bytes, or a string "
            "with a unit B, KiB, MiB, GiB or TiB such as \"16MiB\"), got float");
}

TEST(Config, BinanceUsdmCanUseTheEmbeddedSimulator) {
  auto cfg = load_string(replacing(4, "exchange = \"binance-usdm\""), "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->feeds[0].exchange, "binance-usdm");
  EXPECT_EQ(cfg->feeds[0].url, "sim://");
}

// bybit: a [[feeds]] table of exchange "bybit" with `extra` lines after its symbols.
std::string bybit_feed(std::string_view extra) {
  return std::string("[[feeds]]\nname = \"by\"\nexchange = \"bybit\"\n") + std::string(extra) +
         "url = \"wss://stream.bybit.com/v5/public/linear\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\n";
}

TEST(Config, BybitFeedsNameTheirCategoryAndSubscribeByMessage) {
  auto cfg = load_string(bybit_feed("category = \"linear\"\n") + "channels = [\"orderbook.50\", \"tickers\"]\n",
                         "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->feeds[0].category, "linear");
  EXPECT_EQ(cfg->feeds[0].subscribe, "message") << "Bybit has no URL subscription: message is its default";
  cfg = load_string(bybit_feed("category = \"spot\"\n"), "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->feeds[0].channels, ::testing::ElementsAre("publicTrade"));
  EXPECT_EQ(cfg->feeds[0].category, "spot");
}

TEST(Config, BybitCanUseTheEmbeddedSimulator) {
  auto cfg = load_string(replacing(4, "exchange = \"bybit\"\ncategory = \"linear\""), "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->feeds[0].url, "sim://");
  EXPECT_EQ(cfg->feeds[0].category, "linear");
}

TEST(Config, BybitCategoryIsRequiredCheckedAndOnlyBybits) {
  EXPECT_EQ(error_of(bybit_feed("")),
            "test.toml:1: feeds[0].category: expected a string, got nothing (the key is required)");
  EXPECT_EQ(error_of(bybit_feed("category = \"inverse\"\n")),
            "test.toml:4: feeds[0].category: expected one of \"spot\", \"linear\" with exchange \"bybit\", got "
            "\"inverse\"");
  EXPECT_EQ(error_of(replacing(4, "exchange = \"binance\"\ncategory = \"spot\"")),
            "test.toml:5: feeds[0].category: expected no category with exchange \"binance\" (only \"bybit\" has "
            "categories), got \"spot\"");
}

TEST(Config, BybitChannelsDependOnTheCategoryWithOneBookDepth) {
  EXPECT_EQ(error_of(bybit_feed("category = \"spot\"\n") + "channels = [\"publicTrade\", \"tickers\"]\n"),
            "test.toml:7: feeds[0].channels[1]: expected one of \"publicTrade\", \"orderbook.1\", \"orderbook.50\", "
            "\"orderbook.200\", \"orderbook.1000\", \"orderbook.full\" (exchange \"bybit\", category \"spot\"), "
            "got \"tickers\"");
  EXPECT_EQ(error_of(bybit_feed("category = \"linear\"\n") + "channels = [\"orderbook.1\", \"orderbook.50\"]\n"),
            "test.toml:7: feeds[0].channels[1]: expected one orderbook depth per feed (a symbol has one book), got "
            "\"orderbook.50\" beside another");
  EXPECT_EQ(error_of(bybit_feed("category = \"linear\"\n") + "subscribe = \"url\"\n"),
            "test.toml:7: feeds[0].subscribe: expected \"message\" with exchange \"bybit\" (Bybit subscribes by "
            "message only), got \"url\"");
  EXPECT_EQ(error_of(bybit_feed("category = \"linear\"\n") + "time_unit = \"us\"\n"),
            "test.toml:7: feeds[0].time_unit: expected \"ms\" with exchange \"bybit\" (Bybit sends millisecond times)");
}

TEST(Config, BybitTopicsPerConnectionStayUnder21000Characters) {
  std::string symbols = "symbols = [";
  for (int i = 0; i < 1000; ++i) symbols += (i ? ", \"S" : "\"S") + std::to_string(100000 + i) + "USDT\"";
  symbols += "]\n";
  // 1000 x (len("publicTrade.") + 11) = 23,000 characters: over.
  const std::string toml = "[[feeds]]\nname = \"by\"\nexchange = \"bybit\"\ncategory = \"spot\"\n"
                           "url = \"wss://stream.bybit.com/v5/public/spot\"\n" + symbols;
  EXPECT_EQ(error_of(toml), "test.toml:6: feeds[0].symbols: expected at most 21000 characters of topics per Bybit "
                            "connection, got 23000 (1000 symbols x 1 channels); split the feed");
}

// okx_feed: a [[feeds]] table of exchange "okx" with `extra` lines after its url.
std::string okx_feed(std::string_view symbols, std::string_view extra) {
  return std::string("[[feeds]]\nname = \"okx\"\nexchange = \"okx\"\nurl = \"wss://ws.okx.com:8443/ws/v5/public\"\n") +
         "symbols = [" + std::string(symbols) + "]\n" + std::string(extra);
}

TEST(Config, OkxTakesInstIdsItsChannelsAndMessageSubscription) {
  auto cfg = load_string(okx_feed(R"("BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-250627")",
                                  "channels = [\"books\", \"trades\", \"bbo-tbt\", \"open-interest\"]\n"),
                         "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->feeds[0].subscribe, "message");
  EXPECT_EQ(cfg->feeds[0].symbols[2], "BTC-USD-250627");
  cfg = load_string(okx_feed(R"("BTC-USDT")", ""), "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->feeds[0].channels, std::vector<std::string>{"trades"});
}

TEST(Config, OkxRefusesWhatOneConnectionCannotCarry) {
  EXPECT_EQ(error_of(okx_feed(R"("BTC-USDT")", "ping_interval_ms = 30000\n")),
            "test.toml:6: feeds[0].ping_interval_ms: expected a ping within 30 s with exchange \"okx\" (OKX closes a "
            "connection silent for 30 s; ping_interval_ms, or pong_timeout_ms / 2 when it is 0, below 30000), got a "
            "ping after 30000 ms");
  EXPECT_NE(
      error_of(okx_feed(R"("BTC-USDT")", "ping_interval_ms = 0\npong_timeout_ms = 60000\n")).find("pong_timeout_ms"),
      std::string::npos);
  EXPECT_TRUE(load_string(okx_feed(R"("BTC-USDT")", "ping_interval_ms = 25000\n"), "t").ok());
  EXPECT_EQ(error_of(okx_feed(R"("BTC-USDT")", "channels = [\"books\", \"books5\"]\n")),
            "test.toml:6: feeds[0].channels[1]: expected one book channel per feed (a symbol has one book), got "
            "\"books5\" beside another");
  EXPECT_EQ(error_of(okx_feed(R"("BTC-USDT")", "channels = [\"tickers\", \"bbo-tbt\"]\n")),
            "test.toml:6: feeds[0].channels[1]: expected one quote channel per feed (bbo-tbt or tickers), got "
            "\"bbo-tbt\" beside another");
  EXPECT_NE(error_of(okx_feed(R"("BTC-USDT")", "channels = [\"trades-all\", \"books\"]\n")).find("/ws/v5/business"),
            std::string::npos);
  EXPECT_NE(error_of(okx_feed(R"("BTC-USDT")", "channels = [\"funding-rate\"]\n")).find("only swaps"),
            std::string::npos);
  EXPECT_EQ(error_of(okx_feed(R"("BTC-USDT-SWAP", "BTC-USDT")", "channels = [\"trades\", \"liquidation-orders\"]\n")),
            "test.toml:6: feeds[0].channels[1]: expected only swaps and futures with \"liquidation-orders\" (it is "
            "read per instType SWAP or FUTURES), got spot symbol \"BTC-USDT\"");
  EXPECT_NE(error_of(okx_feed(R"("btc-usdt")", "")).find("an OKX instId"), std::string::npos);
  EXPECT_NE(error_of(okx_feed(R"("BTC-USDT")", "subscribe = \"url\"\n")).find("OKX subscribes by message only"),
            std::string::npos);
  EXPECT_NE(error_of(okx_feed(R"("BTC-USDT")", "channels = [\"orderbook.50\"]\n")).find("(exchange \"okx\")"),
            std::string::npos);
}

// coinbase: a [[feeds]] table of exchange "coinbase" with `extra` lines after its products.
std::string coinbase_feed(std::string_view extra) {
  return std::string("[[feeds]]\nname = \"cb\"\nexchange = \"coinbase\"\n"
                     "url = \"wss://advanced-trade-ws.coinbase.com\"\nsymbols = [\"BTC-USD\", \"ETH-USD\"]\n") +
         std::string(extra);
}

TEST(Config, CoinbaseFeedsSubscribeByMessageWithALargeFrameLimitAndNoDailyRollover) {
  auto cfg = load_string(coinbase_feed("channels = [\"level2\", \"market_trades\", \"ticker\"]\n"), "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const FeedConfig& feed = cfg->feeds[0];
  EXPECT_EQ(feed.subscribe, "message");
  EXPECT_EQ(feed.max_frame_bytes, std::size_t{64} << 20);
  EXPECT_EQ(feed.max_lifetime_s, 7u * 86'400);
  EXPECT_EQ(feed.level2_products_per_connection, 10u);
  cfg = load_string(coinbase_feed("max_frame_bytes = 2048\n"), "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->feeds[0].max_frame_bytes, 2048u);
  EXPECT_EQ(cfg->feeds[0].channels, std::vector<std::string>{"market_trades"});
}

TEST(Config, CoinbaseProductsChannelsAndLevel2PerConnectionAreChecked) {
  EXPECT_EQ(error_of("[[feeds]]\nname = \"cb\"\nexchange = \"coinbase\"\nurl = \"wss://x\"\nsymbols = [\"BTCUSD\"]\n"),
            "test.toml:5: feeds[0].symbols[0]: expected a Coinbase product (\"BTC-USD\"), got \"BTCUSD\"");
  // A -USDC product is served as its -USD twin on public channels, labelled -USD.
  EXPECT_EQ(error_of("[[feeds]]\nname = \"cb\"\nexchange = \"coinbase\"\nurl = \"wss://x\"\n"
                     "symbols = [\"ETH-USD\", \"BTC-USDC\"]\n"),
            "test.toml:5: feeds[0].symbols[1]: expected \"BTC-USD\": Coinbase's public channels send BTC-USDC's data "
            "as the USD product's, labelled \"BTC-USD\" (only USDT-USDC and EURC-USDC have their own), got "
            "\"BTC-USDC\"");
  EXPECT_TRUE(load_string("[[feeds]]\nname = \"cb\"\nexchange = \"coinbase\"\nurl = \"wss://x\"\n"
                          "symbols = [\"USDT-USDC\", \"EURC-USDC\"]\n",
                          "t")
                  .ok());
  EXPECT_EQ(error_of(coinbase_feed("channels = [\"level2\", \"heartbeats\"]\n")),
            "test.toml:6: feeds[0].channels[1]: expected one of \"level2\", \"market_trades\", \"ticker\" "
            "(exchange \"coinbase\"), got \"heartbeats\"");
  // More products than one connection takes: the connector splits the feed into connections.
  auto split = load_string(coinbase_feed("channels = [\"level2\"]\nlevel2_products_per_connection = 1\n"), "t");
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->feeds.front().level2_products_per_connection, 1u);
  EXPECT_EQ(error_of(coinbase_feed("level2_products_per_connection = 0\n")),
            "test.toml:6: feeds[0].level2_products_per_connection: expected an integer >= 1, got 0");
  EXPECT_TRUE(load_string(coinbase_feed("channels = [\"ticker\"]\nlevel2_products_per_connection = 1\n"), "t").ok());
  EXPECT_EQ(error_of(coinbase_feed("level2_products_per_connection = 17\n")),
            "test.toml:6: feeds[0].level2_products_per_connection: expected at most 16 (Coinbase refuses \"too many "
            "L2 streams\" above about that), got 17");
  EXPECT_EQ(error_of(coinbase_feed("subscribe = \"url\"\n")),
            "test.toml:6: feeds[0].subscribe: expected \"message\" with exchange \"coinbase\" (Coinbase subscribes "
            "by message only), got \"url\"");
}

TEST(Config, BadEnumStringIsAnError) {
  EXPECT_EQ(error_of(with("[journal]\nfsync = \"always\"\n")),
            "test.toml:8: journal.fsync: expected one of \"none\", \"interval\", \"batch\", "
            "got \"always\"");
  EXPECT_EQ(error_of(with("[journal]\nfull_policy = \"wait\"\n")),
            "test.toml:8: journal.full_policy: expected one of \"block\", \"drop\", got \"wait\"");
  EXPECT_EQ(error_of(replacing(4, "exchange = \"deribit\"")),
            "test.toml:4: feeds[0].exchange: expected one of \"binance\", \"binance-usdm\", \"bybit\", \"okx\", "
            "\"kraken\", \"coinbase\", got \"deribit\"");
  EXPECT_EQ(error_of(with("channels = [\"trade\", \"depth\"]\n")),
            "test.toml:7: feeds[0].channels[1]: expected one of \"trade\", \"aggTrade\", "
            "\"bookTicker\", \"depth@100ms\", got \"depth\"");
  EXPECT_EQ(error_of(with("subscribe = \"both\"\n")),
            "test.toml:7: feeds[0].subscribe: expected one of \"url\", \"message\", got \"both\"");
}

TEST(Config, SessionKeysAreReadAndChecked) {
  auto config = load_string(with("channels = [\"trade\", \"aggTrade\", \"bookTicker\", \"depth@100ms\"]\n"
                                 "subscribe = \"message\"\n"
                                 "rest_url = \"http://127.0.0.1:8080\"\n"
                                 "depth_limit = 5000\n"
                                 "snapshot_on_reconnect = false\n"
                                 "stale_after_ms = 3000\n"
                                 "resubscribe_timeout_ms = 700\n"
                                 "max_lifetime_s = 5\n"
                                 "backoff_initial_ms = 10\n"
                                 "backoff_max_ms = 20\n"),
                            "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const FeedConfig& feed = config->feeds[0];
  EXPECT_THAT(feed.channels, ::testing::ElementsAre("trade", "aggTrade", "bookTicker", "depth@100ms"));
  EXPECT_EQ(feed.subscribe, "message");
  EXPECT_EQ(feed.rest_url, "http://127.0.0.1:8080");
  EXPECT_EQ(feed.depth_limit, 5000u);
  EXPECT_EQ(feed.resubscribe_timeout_ms, 700u);
  EXPECT_FALSE(feed.snapshot_on_reconnect);
  EXPECT_EQ(feed.stale_after_ms, 3000u);
  EXPECT_EQ(feed.max_lifetime_s, 5u);

  EXPECT_EQ(error_of(with("rest_url = \"ftp://x\"\n")),
            "test.toml:7: feeds[0].rest_url: expected \"http://host[:port]\" or "
            "\"https://host[:port]\", got \"ftp://x\"");
  EXPECT_EQ(error_of(with("rest_url = \"https://api.binance.com/api\"\n")),
            "test.toml:7: feeds[0].rest_url: expected a scheme and authority only (no path), got "
            "\"https://api.binance.com/api\"");
  EXPECT_EQ(error_of(with("resubscribe_timeout_ms = 50\n")),
            "test.toml:7: feeds[0].resubscribe_timeout_ms: expected an integer >= 100, got 50");
  EXPECT_EQ(error_of(with("time_unit = \"ns\"\n")),
            "test.toml:7: feeds[0].time_unit: expected one of \"ms\", \"us\", got \"ns\"");
  auto us = load_string(replacing(5, "url = \"wss://stream.binance.com:9443/stream\"") + "time_unit = \"us\"\n",
                        "test.toml");
  ASSERT_TRUE(us.ok()) << us.status();
  EXPECT_EQ(us->feeds[0].time_unit, "us");
  EXPECT_EQ(error_of(with("time_unit = \"us\"\n")),
            "test.toml:7: feeds[0].time_unit: expected \"ms\" with url \"sim://\" (the simulator sends "
            "millisecond times)");
  EXPECT_EQ(error_of(with("snapshot_on_reconnect = 1\n")),
            "test.toml:7: feeds[0].snapshot_on_reconnect: expected a boolean (true or false), got integer");
  EXPECT_EQ(error_of(with("depth_limit = 20\n")),
            "test.toml:7: feeds[0].depth_limit: expected one of 100, 500, 1000, 5000, got 20");
  EXPECT_EQ(error_of(with("backoff_initial_ms = 50\nbackoff_max_ms = 10\n")),
            "test.toml:8: feeds[0].backoff_max_ms: expected >= backoff_initial_ms (50), got 10");
}

TEST(Config, DuplicateFeedNamesAndSymbolsAreErrors) {
  EXPECT_EQ(error_of(with("[[feeds]]\nname = \"binance\"\nexchange = \"binance\"\n"
                          "url = \"sim://\"\nsymbols = [\"ETHUSDT\"]\n")),
            "test.toml:8: feeds[1].name: expected a unique feed name, got \"binance\" again "
            "(also feeds[0].name)");
  EXPECT_EQ(error_of(replacing(6, "symbols = [\"BTCUSDT\", \"ETHUSDT\", \"BTCUSDT\"]")),
            "test.toml:6: feeds[0].symbols[2]: expected no repeats, got \"BTCUSDT\" again "
            "(also at index 0)");
}

TEST(Config, NamesSymbolsAndListsMustBeWellFormed) {
  EXPECT_EQ(error_of(replacing(1, "env = \"Prod\"")),
            "test.toml:1: env: expected a subject token ([a-z0-9_-]+), got \"Prod\"");
  EXPECT_EQ(error_of(replacing(3, "name = \"bin.ance\"")),
            "test.toml:3: feeds[0].name: expected a subject token ([a-z0-9_-]+), got \"bin.ance\"");
  EXPECT_EQ(error_of(replacing(6, "symbols = [\"btcusdt\"]")),
            "test.toml:6: feeds[0].symbols[0]: expected an upper-case symbol ([A-Z0-9]+), "
            "got \"btcusdt\"");
  EXPECT_EQ(error_of(replacing(6, "symbols = []")),
            "test.toml:6: feeds[0].symbols: expected a non-empty list of strings, got an empty list");
  EXPECT_EQ(error_of("feeds = []\n"),
            "test.toml:1: feeds: expected at least one feed, got an empty list");
}

TEST(Config, BadUrlIsAnError) {
  EXPECT_EQ(error_of(replacing(5, "url = \"http://example.com/\"")),
            "test.toml:5: feeds[0].url: expected a URL with scheme sim, ws or wss (\"sim://\", "
            "\"wss://host:port/path\"), got \"http://example.com/\"");
  EXPECT_EQ(error_of(replacing(5, "url = \"wss:///stream\"")),
            "test.toml:5: feeds[0].url: expected a host after the scheme, got \"wss:///stream\"");
  EXPECT_EQ(error_of(replacing(5, "url = \"ws://localhost:99999/\"")),
            "test.toml:5: feeds[0].url: expected a port between 1 and 65535, "
            "got \"ws://localhost:99999/\"");
  EXPECT_EQ(error_of(replacing(5, "url = \"sim://fast\"")),
            "test.toml:5: feeds[0].url: expected exactly \"sim://\" (the simulator is set in "
            "[simulator]), got \"sim://fast\"");
  for (const char* url : {"ws://127.0.0.1:8080/ws", "wss://[::1]:9443/stream", "ws://host"}) {
    auto config = load_string(replacing(5, std::string("url = \"") + url + "\""), "test.toml");
    EXPECT_TRUE(config.ok()) << url << ": " << config.status();
  }
}

TEST(Config, TomlSyntaxErrorReportsLineAndColumn) {
  const std::string message = error_of(with("[journal]\ndir = \n"));
  EXPECT_THAT(message, ::testing::StartsWith("test.toml:8:7: TOML syntax error: "));
  EXPECT_THAT(message, ::testing::HasSubstr("expected value"));
}

TEST(Config, UnreadableFileNamesThePathAndTheReason) {
  tickwire::testing::TempDir dir;
  const auto missing = dir / "missing.toml";
  auto config = load_file(missing);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(config.status().message(), missing.string() + ": cannot read: No such file or directory");

  config = load_file(dir.path());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), dir.path().string() + ": cannot read: Is a directory");
}

TEST(Config, FileErrorsNameTheFile) {
  tickwire::testing::TempDir dir;
  const auto path = dir / "bad.toml";
  std::ofstream(path) << with("[status]\ninterval_ms = \"fast\"\n");
  auto config = load_file(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            path.string() + ":8: status.interval_ms: expected an integer >= 50, got string");
}

}  // namespace
}  // namespace tickwire::config

namespace tickwire::config {
namespace {

TEST(ConfigThreads, DefaultsToUnpinnedThreadsAndOneSchedulerWorker) {
  auto config = load_string(std::string(kMinimal), "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->threads.feed_cores.empty());
  EXPECT_TRUE(config->threads.flusher_cores.empty());
  EXPECT_EQ(config->threads.scheduler_workers, 1u);
  EXPECT_TRUE(config->threads.affinity_required);
  EXPECT_FALSE(config->threads.feed_spin);
  EXPECT_EQ(config->status.heartbeat_ms, 1000u);
}

TEST(ConfigThreads, ReadsCoreListsAndAny) {
  auto config = load_string(std::string(kMinimal) +
                                "[threads]\nfeed_cores = [1]\nflusher_cores = \"any\"\nscheduler_cores = [0, 1]\n"
                                "scheduler_workers = 2\naffinity_required = false\nrealtime_priority = 10\n"
                                "feed_spin = true\n[status]\nheartbeat_ms = 0\n",
                            "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->threads.feed_cores, std::vector<int>{1});
  EXPECT_TRUE(config->threads.flusher_cores.empty());
  EXPECT_EQ(config->threads.scheduler_cores, (std::vector<int>{0, 1}));
  EXPECT_EQ(config->threads.scheduler_workers, 2u);
  EXPECT_FALSE(config->threads.affinity_required);
  EXPECT_EQ(config->threads.realtime_priority, 10u);
  EXPECT_TRUE(config->threads.feed_spin);
  EXPECT_EQ(config->status.heartbeat_ms, 0u);
}

TEST(ConfigStatus, BookSnapshotIntervalDefaultsToAMinuteAcceptsOffAndRejectsTooShortAtItsLine) {
  auto defaults = load_string(std::string(kMinimal), "test.toml");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->status.book_snapshot_interval_ms, 60'000u);
  auto off = load_string(std::string(kMinimal) + "[status]\nbook_snapshot_interval_ms = 0\n", "test.toml");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->status.book_snapshot_interval_ms, 0u);
  const std::string base(kMinimal);
  const auto line = std::count(base.begin(), base.end(), '\n') + 2;
  auto fast = load_string(base + "[status]\nbook_snapshot_interval_ms = 50\n", "test.toml");
  ASSERT_FALSE(fast.ok());
  EXPECT_EQ(std::string(fast.status().message()),
            "test.toml:" + std::to_string(line) +
                ": status.book_snapshot_interval_ms: expected 0 (off) or at least 100 ms, got 50");
  auto negative = load_string(base + "[status]\nbook_snapshot_interval_ms = -1\n", "test.toml");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("status.book_snapshot_interval_ms"), std::string_view::npos);
}

TEST(ConfigStatus, StageSampleDefaultsToOneFrameInSixteenAndRejectsZeroAndTooLargeAtItsLine) {
  auto defaults = load_string(std::string(kMinimal), "test.toml");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->status.stage_sample, 16u);
  auto eight = load_string(std::string(kMinimal) + "[status]\nstage_sample = 8\n", "test.toml");
  ASSERT_TRUE(eight.ok()) << eight.status();
  EXPECT_EQ(eight->status.stage_sample, 8u);
  const std::string base(kMinimal);
  const auto line = std::count(base.begin(), base.end(), '\n') + 2;
  auto zero = load_string(base + "[status]\nstage_sample = 0\n", "test.toml");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("test.toml:" + std::to_string(line) + ": status.stage_sample"),
            std::string_view::npos)
      << zero.status();
  auto huge = load_string(base + "[status]\nstage_sample = 100000\n", "test.toml");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(std::string(huge.status().message()),
            "test.toml:" + std::to_string(line) +
                ": status.stage_sample: expected 1 to 65536 (one frame in this many), got 100000");
}

TEST(ConfigThreads, RejectsBadCoreListsWithLineAndKey) {
  const std::string base(kMinimal);
  const auto line = std::count(base.begin(), base.end(), '\n') + 2;
  auto error = [&](const std::string& tail) {
    auto config = load_string(base + "[threads]\n" + tail, "test.toml");
    return config.ok() ? std::string() : std::string(config.status().message());
  };
  EXPECT_EQ(error("feed_cores = \"all\"\n"),
            "test.toml:" + std::to_string(line) + ": threads.feed_cores: expected \"any\" or a list of core numbers, got \"all\"");
  EXPECT_EQ(error("feed_cores = [0, -1]\n"),
            "test.toml:" + std::to_string(line) + ": threads.feed_cores[1]: expected a core number in 0..1023, got -1");
  EXPECT_EQ(error("feed_cores = 3\n"),
            "test.toml:" + std::to_string(line) + ": threads.feed_cores: expected \"any\" or a list of core numbers, got integer");
  EXPECT_EQ(error("feed_cores = []\n"),
            "test.toml:" + std::to_string(line) + ": threads.feed_cores: expected at least one core (or \"any\")");
  EXPECT_NE(error("scheduler_workers = 0\n").find("threads.scheduler_workers"), std::string::npos);
  EXPECT_NE(error("realtime_priority = 100\n").find("threads.realtime_priority"), std::string::npos);
  EXPECT_EQ(error("feed_spin = 1\n"),
            "test.toml:" + std::to_string(line) + ": threads.feed_spin: expected a boolean (true or false), got integer");
  EXPECT_NE(error("pin = true\n").find("threads.pin: unknown key"), std::string::npos);
}

}  // namespace
}  // namespace tickwire::config

namespace tickwire::config {
namespace {

TEST(ConfigChecks, ACoreThisProcessCannotUseFailsAtItsLine) {
  const std::string toml = with("[threads]\nfeed_cores = [0, 1023]\n");
  EXPECT_THAT(error_of(toml), ::testing::StartsWith("test.toml:8: threads.feed_cores[1]: core 1023 is not "
                                                    "available to this process (usable: "));
  // With affinity_required = false the thread warns and runs unpinned instead.
  auto relaxed = load_string(with("[threads]\nfeed_cores = [1023]\naffinity_required = false\n"), "test.toml");
  EXPECT_TRUE(relaxed.ok()) << relaxed.status();
}

TEST(ConfigChecks, AJournalDirWithANulByteIsRejected) {
  EXPECT_EQ(error_of(with("[journal]\ndir = \"data\\u0000x\"\n")),
            "test.toml:8: journal.dir: expected a directory path, got a string with a NUL byte");
}

TEST(ConfigChecks, AMissingCaFileIsAConfigurationError) {
  EXPECT_THAT(error_of(with("ca_file = \"/nonexistent/ca.pem\"\n")),
              ::testing::StartsWith("test.toml:7: feeds[0].ca_file: cannot read the CA bundle "
                                    "/nonexistent/ca.pem: No such file or directory"));
  EXPECT_THAT(error_of(with("ca_file = \"/tmp\"\n")),
              ::testing::StartsWith("test.toml:7: feeds[0].ca_file: /tmp is not a file"));
}

TEST(ConfigChecks, ARelativeCaFileResolvesAgainstTheConfigFilesDirectory) {
  testing::TempDir dir("tickwire-ca");
  std::filesystem::create_directories(dir / "conf");
  std::ofstream(dir / "conf" / "ca.pem") << "-----BEGIN CERTIFICATE-----\n";
  std::ofstream(dir / "conf" / "c.toml") << with("ca_file = \"ca.pem\"\n");
  auto config = load_file(dir / "conf" / "c.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->feeds[0].ca_file, (dir / "conf" / "ca.pem").string());
}

TEST(ConfigChecks, ARelativeSimulatorReplayResolvesAgainstTheConfigFilesDirectoryAndIsPrinted) {
  testing::TempDir dir("tickwire-replay");
  std::filesystem::create_directories(dir / "conf");
  std::ofstream(dir / "conf" / "capture.ndjson") << "{}\n";
  std::ofstream(dir / "conf" / "c.toml") << with("[simulator]\nreplay = \"capture.ndjson\"\n");
  auto config = load_file(dir / "conf" / "c.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->simulator.replay, (dir / "conf" / "capture.ndjson").string());
  const std::string printed = to_toml(*config);
  EXPECT_NE(printed.find("replay = '" + (dir / "conf" / "capture.ndjson").string() + "'"), std::string::npos)
      << printed;
  auto again = load_string(printed, "printed.toml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << printed;
  EXPECT_EQ(again->simulator.replay, config->simulator.replay);
  // Unset: generated, and nothing printed (an empty path would not load again).
  auto plain = load_string(with(""), "test.toml");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(plain->simulator.replay.empty());
  EXPECT_EQ(to_toml(*plain).find("replay"), std::string::npos);
}

TEST(ConfigChecks, ASimulatorReplayThatCannotBeReadIsAnErrorAtItsLine) {
  EXPECT_THAT(error_of(with("[simulator]\nreplay = \"/nonexistent/capture.ndjson\"\n")),
              ::testing::StartsWith("test.toml:8: simulator.replay: cannot read the capture "
                                    "/nonexistent/capture.ndjson: No such file or directory"));
  EXPECT_THAT(error_of(with("[simulator]\nreplay = \"/tmp\"\n")),
              ::testing::StartsWith("test.toml:8: simulator.replay: /tmp is not a file"));
  EXPECT_THAT(error_of(with("[simulator]\nreplay = \"\"\n")),
              ::testing::StartsWith("test.toml:8: simulator.replay: expected a capture file path, got \"\""));
  EXPECT_THAT(error_of(with("[simulator]\nreplay = 3\n")), ::testing::StartsWith("test.toml:8: simulator.replay: "));
}

TEST(ConfigChecks, MetricsAndLogSectionsAreReadAndValidated) {
  auto config = load_string(with("[metrics]\nlisten = \"[::1]:0\"\nmax_connections = 2\n"
                                 "[log]\nformat = \"json\"\n[status]\nlog_interval_ms = 0\n"),
                            "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics.listen, "[::1]:0");
  EXPECT_EQ(config->metrics.max_connections, 2u);
  EXPECT_EQ(config->log.format, LogFormat::kJson);
  EXPECT_EQ(config->status.log_interval_ms, 0u);
  EXPECT_EQ(error_of(with("[metrics]\nlisten = \"127.0.0.1:99999\"\n")),
            "test.toml:8: metrics.listen: expected a port 0..65535 after the last ':', got \"127.0.0.1:99999\"");
  EXPECT_EQ(error_of(with("[log]\nformat = \"xml\"\n")),
            "test.toml:8: log.format: expected one of \"text\", \"json\", got \"xml\"");
}

}  // namespace
}  // namespace tickwire::config
