// SimMarket: the simulator's deterministic market. Per symbol an L2 book in
// exact integer units of 10^-8, driven by seeded Poisson arrivals of limit
// orders, cancels and taker orders. Every book change is one update id, and
// the market emits the Binance spot messages that describe it exactly: trade
// and aggTrade (a taker order fills at the touch and reduces that level),
// bookTicker (on every change of the best bid or ask, `u` = that update id)
// and depthUpdate diffs (absolute sizes, 0 deletes, `U`/`u` contiguous),
// batched per `depth_interval_ms` of market time like `depth@100ms`.
// In the USD-M futures dialect the same market speaks Binance USD-M: trade
// and aggTrade as fstream sends them, bookTicker with `e`/`E`/`T`, diffs with
// `T` and `pu` (the previous diff's `u`), plus markPriceUpdate per symbol
// every second of market time and forceOrder for one taker order in ten (at
// most one per symbol a second, as fstream pushes them).
// In the Bybit v5 dialects (spot, linear) the same market speaks Bybit: one
// publicTrade message per taker order (its fills share the order's `seq`,
// the update id before it, and have string ids), `orderbook.200.<SYMBOL>`
// deltas whose `u` steps by one per message (`seq` = the market's update id;
// the book never holds more than 60 levels a side, so a 200-deep book is all
// of it), spot key order (`ts` before `type`) or linear (`type`, `ts`, `cts`);
// linear adds `tickers.<SYMBOL>` deltas on every change of the touch naming
// only the bid1/ask1 fields that changed, every second of market time a
// delta naming the mark, index, funding rate, next funding time and open
// interest (the taker volume so far) that changed, and `allLiquidation.<S>`
// for one taker order in ten (at most one per symbol a second; `S` the
// liquidated position's side). Once enable_bybit_depth() asked for them, it
// also sends `orderbook.50.<S>` (per batch, the changes of the top 50 levels
// a side, a level pushed below 50 deleted with size 0, its own `u`) and
// `orderbook.1.<S>` (a snapshot of the top level each side whenever it
// changes, with its own `u`, and the same snapshot at the same `u` again when
// a batch or an order finds it unchanged 3 s after it was last sent). The snapshots a
// subscription starts with come from bybit_book_snapshot() and
// bybit_ticker_snapshot().
// In the OKX dialect the market speaks OKX v5 (see take_okx below).
// In the Kraken v2 dialect the same market speaks Kraken: one `trade`
// message per taker order (its fills with trade ids that step by one per
// pair), `book` updates per batch describing the top kKrakenDepth levels a
// side as a depth-10 subscriber sees them (a level pushed below the depth is
// not deleted, one that left the book is, at qty 0) with the CRC-32 checksum
// of that view at the pair's precisions, prices and quantities as JSON
// numbers without trailing zeros, and `ticker` on every change of the touch.
// The snapshot a book subscription starts with comes from
// kraken_book_snapshot(), the instrument channel's from kraken_instruments().
// In the Coinbase Advanced Trade dialect the same market speaks Coinbase:
// envelopes {"channel","client_id","timestamp","sequence_num":0,"events"}
// (the server stamps each connection's own sequence_num when it sends them),
// one market_trades update per taker order (its fills newest first, ids
// "<n>" that step by one, `side` the taker's), l2_data updates of the changes
// batched per `depth_interval_ms` (absolute quantities, "0" deletes) and a
// ticker update on every change of the touch; the snapshots a subscription
// starts with come from coinbase_*_snapshot(). Stream names are
// "<channel>.<PRODUCT>" (level2, market_trades, ticker).
// The market keeps its own clock (sum of the Poisson gaps) and stamps `E`/`T`
// as `epoch_ms` + market time, so the same seed and epoch give the same
// messages byte for byte. Single-threaded; the Simulator serializes access.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace tickwire::connector {

// SimChannel: the streams each symbol publishes.
enum class SimChannel : std::uint8_t { kTrade, kAggTrade, kBookTicker, kDepth, kMarkPrice, kForceOrder };

// SimDialect: the exchange whose messages the market emits.
enum class SimDialect : std::uint8_t { kSpot, kUsdm, kBybitSpot, kBybitLinear, kOkx, kKraken, kCoinbase };

// is_bybit: a Bybit v5 dialect (spot or linear).
inline bool is_bybit(SimDialect d) { return d == SimDialect::kBybitSpot || d == SimDialect::kBybitLinear; }

// is_coinbase: the Coinbase Advanced Trade dialect.
inline bool is_coinbase(SimDialect d) { return d == SimDialect::kCoinbase; }

// sim_dialect: the dialect of a venue name ("binance", "binance-usdm",
// "bybit" (spot), "bybit-linear", "okx", "kraken", "coinbase"), if any.
std::optional<SimDialect> sim_dialect(std::string_view venue);

// SimLevel: one price level; price and quantity in units of 10^-8.
struct SimLevel {
  std::int64_t price = 0;
  std::int64_t qty = 0;
  bool operator==(const SimLevel&) const = default;
};

// SimBook: one symbol's book as of `last_update_id`; bids best (highest)
// first, asks best (lowest) first.
struct SimBook {
  std::uint64_t last_update_id = 0;
  std::vector<SimLevel> bids;
  std::vector<SimLevel> asks;
  bool operator==(const SimBook&) const = default;
};

class SimMarket {
 public:
  static constexpr std::uint64_t kDefaultEpochMs = 1'700'000'000'000;

  // rate: mean order arrivals per second over all symbols (> 0). epoch_ms:
  // the wall-clock time of market time 0. depth_interval_ms: diff batching.
  SimMarket(std::vector<std::string> symbols, double rate, std::uint64_t seed,
            std::uint64_t epoch_ms = kDefaultEpochMs, std::uint32_t depth_interval_ms = 100,
            SimDialect dialect = SimDialect::kSpot);

  struct Message {
    std::size_t symbol_index = 0;  // into symbols()
    SimChannel channel = SimChannel::kTrade;
    std::string stream;            // e.g. "btcusdt@depth@100ms"
    std::string data;              // the raw-stream payload (what /ws/<stream> sends)
    std::string text;              // the combined-stream form {"stream":..,"data":..}
    std::uint64_t first_id = 0;    // trade `t`, aggTrade `a`, bookTicker `u`, depth `U`,
                                   // markPrice `E`, forceOrder: the symbol's liquidation count
    std::uint64_t last_id = 0;     // equal to first_id except depth: `u`
    std::uint64_t time_ms = 0;     // the `E` stamped on it
  };

  // advance: moves the market clock to its next happening and appends the
  // messages it produced to `out`: at a batch boundary one symbol's depth
  // diff, else the next order's trades, aggTrade and bookTicker.
  void advance(std::vector<Message>& out);
  // flush: emits the pending depth changes now, so published_book() == book().
  void flush(std::vector<Message>& out);
  // set_epoch_ms: moves market time 0 to this Unix time; before the first advance().
  void set_epoch_ms(std::uint64_t epoch_ms) { epoch_ms_ = epoch_ms; }
  // now_ns: market time since epoch_ms.
  std::uint64_t now_ns() const { return now_ns_; }
  // now_ms: market time as Unix ms (the `E` of the next message).
  std::uint64_t now_ms() const { return epoch_ms_ + now_ns_ / 1'000'000; }
  SimDialect dialect() const { return dialect_; }
  // next_gap_ns: draws an exponential inter-arrival gap (Poisson arrivals).
  std::uint64_t next_gap_ns();

  // book: the live book (every change so far); limit 0 = all levels.
  SimBook book(std::size_t symbol, std::size_t limit = 0) const;
  // published_book: the book the depth diffs emitted so far describe.
  SimBook published_book(std::size_t symbol, std::size_t limit = 0) const;

  // symbol_index: the index of an upper- or lower-case symbol, if simulated.
  std::optional<std::size_t> symbol_index(std::string_view symbol) const;
  const std::vector<std::string>& symbols() const { return symbols_; }
  // stream_name: e.g. ("btcusdt", kDepth) -> "btcusdt@depth@100ms",
  // ("btcusdt", kMarkPrice) -> "btcusdt@markPrice@1s".
  static std::string stream_name(std::string_view lower_symbol, SimChannel channel);
  // bybit_book_snapshot: the `orderbook.<depth>` snapshot of the published
  // book at that topic's last `u` (Bybit dialects; depth 1, 50 or 200, the
  // last also for orderbook.1000 and the whole book).
  std::string bybit_book_snapshot(std::size_t symbol, std::size_t depth = 200) const;
  // enable_bybit_depth: from now on, also generate orderbook.<depth> (1 or 50).
  void enable_bybit_depth(std::size_t depth);
  // kBybitLevel1Repeat: orderbook.1 repeats an unchanged snapshot this long after it was sent.
  static constexpr std::uint64_t kBybitLevel1RepeatMs = 3000;
  // bybit_rest_full_book: the body of GET /v5/market/full_orderbook for the
  // published book at the last delta's `u` (Bybit spot dialect).
  std::string bybit_rest_full_book(std::size_t symbol) const;
  // bybit_ticker_snapshot: the linear `tickers` snapshot of the touch as
  // last sent (every field).
  std::string bybit_ticker_snapshot(std::size_t symbol) const;
  // okx_book_snapshot: the `books` snapshot of the published book at the
  // last update's seqId, prevSeqId -1 (OKX dialect, sim_market_okx.cpp).
  std::string okx_book_snapshot(std::size_t symbol) const;
  // okx_rest_books: the body of GET /api/v5/market/books for the published
  // book, its best `limit` levels a side, at the last update's seqId.
  std::string okx_rest_books(std::size_t symbol, std::size_t limit) const;
  // okx_checksum: OKX's checksum of a published book (top 25 levels, bid
  // and ask interleaved as "px:sz" text, CRC32 as a signed int32).
  static std::int32_t okx_checksum(const SimBook& book);
  // kKrakenDepth: the book depth the Kraken dialect serves.
  static constexpr std::size_t kKrakenDepth = 10;
  // kraken_book_snapshot: the `book` snapshot of the depth-10 view (Kraken dialect).
  std::string kraken_book_snapshot(std::size_t symbol) const;
  // kraken_instruments: the `instrument` snapshot naming every pair's precisions.
  std::string kraken_instruments() const;
  // kraken_refine: the pair's price precision goes one decimal finer (at most
  // 10); returns the `instrument` update that says so. Checksums from now on use it.
  std::string kraken_refine(std::size_t symbol);
  // kraken_view_bids: the bid levels of the pair's depth-10 view (fewer than
  // kKrakenDepth when the book is that thin).
  std::size_t kraken_view_bids(std::size_t symbol) const { return instruments_.at(symbol).kraken_bids.size(); }
  // kraken_time: market time as Kraken writes it ("2023-10-06T17:35:55.440295Z").
  std::string kraken_time() const;
  // coinbase_book_snapshot / coinbase_trades_snapshot / coinbase_ticker_snapshot:
  // the level2 snapshot of the published book, the market_trades snapshot of
  // the last kCoinbaseRecentTrades trades (newest first), the ticker of the
  // touch as last sent (Coinbase dialect; sequence_num 0 until stamped).
  std::string coinbase_book_snapshot(std::size_t symbol) const;
  std::string coinbase_trades_snapshot(std::size_t symbol) const;
  std::string coinbase_ticker_snapshot(std::size_t symbol) const;
  // coinbase_time: market time as Coinbase writes it ("2023-11-14T22:13:20.123456789Z").
  std::string coinbase_time() const;
  static constexpr std::size_t kCoinbaseRecentTrades = 50;
  // trades_published: the market_trades message up to trade `last_id` has
  // gone out; a snapshot never names a trade generated but not yet sent (the
  // real venue's snapshot holds only trades it has published).
  void trades_published(std::size_t symbol, std::uint64_t last_id);
  // bybit_u: the `u` of the last orderbook delta of `symbol`.
  std::uint64_t bybit_u(std::size_t symbol) const { return instruments_.at(symbol).bybit_u; }
  // depth_json: a book as the REST depth endpoint's body; with `time_ms`
  // (USD-M's /fapi/v1/depth) `E` and `T` follow lastUpdateId.
  static std::string depth_json(const SimBook& book, std::optional<std::uint64_t> time_ms = std::nullopt);
  // format_units: 10^-8 units as Binance prints them ("0.01000000").
  static std::string format_units(std::int64_t units);
  // kraken_number: 10^-8 units as Kraken v2's JSON numbers ("0.01", "10.0").
  static std::string kraken_number(std::int64_t units);

 private:
  using Side = std::map<std::int64_t, std::int64_t>;  // price -> qty, ascending
  bool bybit_depth50_ = false;  // enable_bybit_depth(50) was called
  bool bybit_depth1_ = false;   // enable_bybit_depth(1) was called

  struct Instrument {
    std::string symbol;
    std::string lower;
    std::int64_t tick = 1;   // price step, in 10^-8
    std::int64_t lot = 1;    // quantity step, in 10^-8
    std::int64_t ref_price = 0;
    Side bids, asks;                       // live
    Side published_bids, published_asks;   // as described by emitted diffs
    Side pending_bids, pending_asks;       // changes since the last diff (absolute sizes)
    std::uint64_t update_id = 0;
    std::uint64_t pending_first = 0;       // first update id in the pending batch
    std::uint64_t next_trade_id = 0;
    std::uint64_t next_agg_id = 0;
    SimLevel touch_bid, touch_ask;          // at the last bookTicker
    std::uint64_t last_diff_u = 0;          // `u` of the last diff emitted: the next one's `pu`
    std::uint64_t liquidations = 0;         // forceOrder messages emitted
    std::uint64_t last_force_ms = 0;        // the last one's `E`
    std::uint64_t bybit_u = 1000;           // Bybit: the last orderbook delta's `u` (one per message)
    std::uint64_t bybit_u50 = 1000;         // Bybit orderbook.50: the last message's `u`
    std::uint64_t bybit_u1 = 1000;          // Bybit orderbook.1: the last snapshot's `u`
    SimLevel bybit_l1_bid, bybit_l1_ask;    // the top as orderbook.1 last sent it
    std::uint64_t bybit_l1_sent_ms = 0;     // when orderbook.1 last sent
    std::uint64_t bybit_l1_seq = 0;         // its `seq` (a repeat sends the same)
    // Bybit linear: the ticker's funding and open-interest fields as last
    // sent (the snapshot a subscription starts with; deltas name changes).
    std::int64_t mark = 0, index = 0, rate = 0, open_interest = 0;
    std::int64_t pending_oi = 0;            // taker volume since the last ticker delta
    std::uint64_t next_funding_ms = 0;
    // Kraken: the depth-10 book its subscribers see, and the pair's precisions.
    Side kraken_bids, kraken_asks;
    int price_precision = 8;
    int qty_precision = 8;
    std::vector<std::string> recent_trades;  // Coinbase: the last trades' JSON objects, oldest first
    std::uint64_t published_trade_id = 0;    // Coinbase: the last trade id sent (trades_published)
  };

  void set_level(Instrument& ins, bool bid, std::int64_t price, std::int64_t qty);
  void on_order(std::size_t idx, std::vector<Message>& out);
  void add_order(Instrument& ins, bool bid);
  void cancel_order(Instrument& ins, bool bid);
  void take(std::size_t idx, bool buy, std::vector<Message>& out);
  void emit_depth(std::size_t idx, std::vector<Message>& out);
  // emit_bybit_views: orderbook.50 and orderbook.1 for one batch, from the
  // published top 50 before it (`bids50`, `asks50`, best first) and the published book after it.
  void emit_bybit_views(std::size_t idx, const std::vector<SimLevel>& bids50, const std::vector<SimLevel>& asks50,
                        std::vector<Message>& out);
  std::string bybit_book_head(const Instrument& ins, std::string_view topic, std::string_view type) const;
  // bybit_view: an orderbook.50 / orderbook.1 message on `topic` with these levels.
  Message bybit_view(std::size_t idx, std::string topic, std::string_view type, const Side& bids, const Side& asks,
                     std::uint64_t u, std::uint64_t seq) const;
  // emit_bybit_level1: orderbook.1's snapshot if the published top changed
  // since it was last sent (a new u), or the same one again (same u) once
  // kBybitLevel1RepeatMs passed without a change (checked at each batch and each order).
  void emit_bybit_level1(std::size_t idx, std::vector<Message>& out);
  void maybe_emit_ticker(std::size_t idx, std::vector<Message>& out);
  void emit_mark_prices(std::vector<Message>& out);
  void emit_bybit_mark(std::size_t idx, std::int64_t mark, std::int64_t index, std::int64_t rate,
                       std::uint64_t next_funding, std::vector<Message>& out);
  void emit_force_order(std::size_t idx, bool buy, std::int64_t price, std::int64_t qty, std::vector<Message>& out);
  Message make(std::size_t idx, SimChannel channel, std::string data, std::uint64_t first, std::uint64_t last) const;
  void take_bybit(std::size_t idx, bool buy, std::int64_t price, std::int64_t take_lots, std::int64_t fills,
                  std::vector<Message>& out);
  void take_coinbase(std::size_t idx, bool buy, std::int64_t price, std::int64_t take_lots, std::int64_t fills,
                     std::vector<Message>& out);
  std::string coinbase_envelope(std::string_view channel, std::string_view events) const;
  std::string coinbase_ticker(const Instrument& ins, std::string_view type) const;
  std::string bybit_topic(const Instrument& ins, SimChannel channel) const;
  // OKX dialect (sim_market_okx.cpp): trades (one per taker order, count =
  // its fills) and trades-all (one per fill), books updates chained by
  // prevSeqId, bbo-tbt, each second mark-price, funding-rate and
  // open-interest, liquidation-orders for one taker order in ten.
  void take_okx(std::size_t idx, bool buy, std::int64_t price, std::int64_t take_lots, std::int64_t fills,
                std::vector<Message>& out);
  void emit_okx_depth(std::size_t idx, std::vector<Message>& out);
  void emit_okx_bbo(std::size_t idx, std::vector<Message>& out);
  void emit_okx_marks(std::size_t idx, std::int64_t mark, std::int64_t rate, std::uint64_t next_funding,
                      std::vector<Message>& out);
  Message make_okx(std::size_t idx, SimChannel channel, std::string_view okx_channel, std::string data,
                   std::uint64_t first, std::uint64_t last) const;
  // publish_pending: the pending changes into the published book.
  static void publish_pending(Instrument& ins);
  void take_kraken(std::size_t idx, bool buy, std::int64_t price, std::int64_t take_lots, std::int64_t fills,
                   std::vector<Message>& out);
  void emit_kraken_book(std::size_t idx, std::vector<Message>& out);
  std::string kraken_stream(const Instrument& ins, SimChannel channel) const;
  // kraken_checksum: the CRC-32 of the depth-10 view at the pair's precisions.
  std::uint32_t kraken_checksum(const Instrument& ins) const;
  bool pending() const;

  std::vector<std::string> symbols_;
  std::vector<Instrument> instruments_;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> gap_s_;
  std::uint64_t epoch_ms_;
  std::uint64_t interval_ns_;
  std::uint64_t now_ns_ = 0;
  std::uint64_t next_order_ns_ = 0;
  std::uint64_t next_flush_ns_ = 0;
  SimDialect dialect_;
  static constexpr std::uint64_t kMarkIntervalNs = 1'000'000'000;
  std::uint64_t next_mark_ns_ = kMarkIntervalNs;  // USD-M: the next markPriceUpdate round
};

}  // namespace tickwire::connector
