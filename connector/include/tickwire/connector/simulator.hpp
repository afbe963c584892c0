// Simulator: the exchange simulator behind `tickwire sim` and `sim://` feeds.
// One Boost.Beast listener on loopback speaking Binance spot: websocket
// upgrades on `/stream?streams=a/b` (combined `{"stream":..,"data":..}`) and
// `/ws/<stream>` (raw payloads), live SUBSCRIBE / UNSUBSCRIBE /
// LIST_SUBSCRIPTIONS, server pings, Binance's per-connection limits, and
// plain HTTP `GET /api/v3/depth?symbol=X&limit=N`. Streams per symbol:
// `<s>@trade`, `<s>@aggTrade`, `<s>@bookTicker`, `<s>@depth@100ms` (`<s>@depth`
// is accepted as the same 100 ms diff stream). Messages come from a seeded
// SimMarket (a real book per symbol) or from a recorded NDJSON file (replay),
// and every connection can be attacked with seeded faults (SimFaults).
// With venue "binance-usdm" it speaks Binance USD-M futures instead (the
// market's USD-M dialect, see sim_market.hpp): the same streams with `pu` on
// the diffs, `<s>@markPrice@1s`, `<s>@forceOrder`, and GET /fapi/v1/depth
// with `E`/`T`; `<s>@depth@500ms`, `@depth@0ms` and `<s>@markPrice` are
// served by the generated diff and mark price streams.
// It runs on its own thread; generation starts with the first websocket.
//
// The record file (`record_path`, NDJSON) is the market's truth, one line each:
//   - every generated message of a stream some connection subscribes to at the
//     time (every message with `record_all`), once, in the combined form
//     `{"stream":..,"data":..}`, whether or not a fault hid it from a client;
//   - `{"sim":"fault","fault":NAME,"conn":C,"at":N,"stream":S,"first_id":F,
//     "last_id":L}` for every injected fault: connection C (1-based, in accept
//     order) at its N-th data message, whose stream and ids (trade `t`,
//     aggTrade `a`, bookTicker `u`, depth `U`..`u`) are given. A gap writes one
//     such line per message it withheld. A forced lifetime writes
//     `{"sim":"fault","fault":"lifetime","conn":C,"at":N}`, refusals
//     `{"sim":"fault","fault":"refuse_ws"|"refuse_rest","status":429,"retry_after":S}`;
//   - `{"sim":"limit","conn":C,"reason":..}` when a connection is closed for
//     breaking a Binance limit (incoming message rate, missing pong).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tickwire/connector/sim_market.hpp"
#include "tickwire/middleware/logger.hpp"

namespace tickwire::connector {

// FaultTrigger: when a per-connection fault fires. It fires on a connection's
// `after`-th data message (1-based; 0 = the first); with `probability` > 0 it
// instead fires on each message from the `after`-th on with that probability
// (seeded per connection). `max_times` caps firings over the simulator's
// life (0 = no cap).
struct FaultTrigger {
  bool enabled = false;
  std::uint64_t after = 0;
  double probability = 0;
  std::uint64_t max_times = 1;
};

// SimRefusal: refuse HTTP requests with `status` (429 or 418) and `Retry-After`.
struct SimRefusal {
  unsigned status = 0;           // 0: off
  std::uint64_t count = 0;       // refuse the first N requests; 0 = every request
  unsigned retry_after_s = 1;
};

// SimFaults: everything the simulator can do wrong on purpose. Message
// faults act on the data message they fire on.
struct SimFaults {
  FaultTrigger close_ws;         // send a close frame (1001 going away) instead of the message
  FaultTrigger close_tcp;        // close the TCP socket (FIN, no close frame) instead of the message
  FaultTrigger reset;            // TCP reset (SO_LINGER 0) instead of the message
  FaultTrigger stall;            // stop sending and reading (no pings, no pongs); keep the socket open
  FaultTrigger slow;             // from this message on, wait `slow_delay_ms` before each frame
  std::uint32_t slow_delay_ms = 50;
  FaultTrigger gap;              // withhold this and the next gap_messages-1 messages of its stream
  std::uint32_t gap_messages = 1;
  FaultTrigger duplicate;        // send the message twice, same bytes
  FaultTrigger reorder;          // send the message after the connection's next data message
  FaultTrigger malformed;        // send a truncated copy (invalid JSON) before the message
  FaultTrigger oversize;         // send a valid JSON frame of `oversize_bytes` before the message
  std::size_t oversize_bytes = 2u << 20;
  FaultTrigger ping_storm;       // send `ping_storm_count` pings before the message
  std::uint32_t ping_storm_count = 100;
  FaultTrigger resnapshot;       // Bybit: after this book delta, its snapshot again at the same `u` (level 1's repeat)
  FaultTrigger restart;          // Bybit: this book delta becomes a u = 1 delta holding the whole book, and the
                                 // connection's ids of that book continue from there (Bybit's restart)
  FaultTrigger keepalive;        // OKX: after this books update, an empty one at its own seqId (the idle keepalive)
  FaultTrigger bad_checksum;     // OKX: this books update carries a checksum its book does not have
  FaultTrigger no_snapshot;      // OKX, Bybit: a book subscription (counted over the simulator) gets no snapshot
  FaultTrigger checksum;         // Kraken: this book update's checksum off by one bit
  FaultTrigger beyond_depth;     // Kraken: a bid below the depth added to this book update (the client cuts it)
  FaultTrigger trade_gap;        // Kraken: this trade message withheld (the pair's trade ids jump)
  FaultTrigger precision;        // Kraken: after this book update the pair's price precision goes one decimal
                                 // finer, announced on the instrument channel
  FaultTrigger quiet;            // Coinbase: from this message on the connection's channels go quiet (no data,
                                 // heartbeats still), as a channel does that the venue stopped
  // shutdown_notice: send the venue's notice (Binance serverShutdown, OKX
  // notice 64008), close `shutdown_grace_ms` later; refused in the dialects
  // of venues that send none (bybit, kraken, coinbase).
  FaultTrigger shutdown_notice;
  std::uint32_t shutdown_grace_ms = 1000;
  std::uint64_t lifetime_ms = 0;  // close every connection this long after it opens (Binance: 24 h); 0 = never
  SimRefusal refuse_ws;          // websocket upgrade requests
  SimRefusal refuse_rest;        // GET /api/v3/depth requests
};

struct SimulatorOptions {
  std::string venue = "binance";      // the dialect it speaks: "binance" | "binance-usdm" | "bybit" | "bybit-linear" | "okx" | "kraken" | "coinbase"
                                      // (start() refuses others; Bybit's generated market only, no replay)
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;             // 0: any free port
  std::vector<std::string> symbols;   // upper case, e.g. BTCUSDT
  double rate = 1000.0;               // mean market orders per second over all symbols
  std::uint64_t seed = 1;
  std::uint64_t count = 0;            // stop after this many messages published; 0 = unlimited
  std::string record_path;            // the truth file (format above); empty: none
  bool record_all = false;            // record messages of streams nobody subscribes to as well
  std::uint64_t epoch_ms = 0;         // market time 0 as Unix ms; 0 = the wall clock at the first connection
  std::uint32_t depth_interval_ms = 100;  // depth diff batching, in market time (the stream keeps its name)
  bool rest_live_book = false;        // REST serves the live book (its id falls inside the next diff),
                                      // not the book as of the last diff
  std::uint32_t ping_interval_ms = 20'000;  // server pings; 0 = none
  std::uint32_t pong_timeout_ms = 60'000;   // close when a ping is unanswered this long
  // Text, ping and unsolicited pong frames per second; 0 = no limit. More
  // closes the connection, except in the Kraken dialect: there the frame is
  // dropped and answered by {"error":"Exceeded msg rate"}.
  std::uint32_t max_incoming_per_s = 5;
  // Coinbase: a connection with no subscribe this long after it opened is
  // closed (the venue's 5 s rule); heartbeats every heartbeat_interval_ms.
  std::uint32_t subscribe_deadline_ms = 5'000;
  std::uint32_t heartbeat_interval_ms = 1'000;
  std::size_t max_streams = 1024;           // per connection; more gets an error reply (URL: HTTP 400)
  std::string replay_path;            // if set: send this NDJSON capture instead of generating
  double replay_speed = 1.0;          // 1 = recorded speed (from E, else T), N = N times faster,
                                      // 0 = as fast as the sockets take it (data frames batched)
  SimFaults faults;
  middleware::Logger* logger = nullptr;  // where faults and limit closes are logged; null: nowhere
  // on_replay_drained: if set, once the replay has sent its last message
  // every connection gets a close frame (1000) after its data (and one that
  // connects later, at once), and this runs once, on the simulator's thread,
  // when every connection has answered its close or gone away: each client
  // has read the whole capture. Null: connections stay open after a replay.
  std::function<void()> on_replay_drained;
};

// parse_fault: applies "NAME[:AFTER[:PROBABILITY[:MAX_TIMES]]]" to the
// trigger NAME of `faults` (enabled; names as in the record: gap, close_ws,
// close_tcp, reset, stall, slow, duplicate, reorder, malformed, oversize,
// ping_storm, shutdown_notice). Errors name the part that is wrong.
absl::Status parse_fault(std::string_view spec, SimFaults& faults);
// parse_refusal: applies "STATUS[:COUNT[:RETRY_AFTER_S]]" (STATUS 429 or 418).
absl::Status parse_refusal(std::string_view spec, SimRefusal& refusal);

class Simulator {
 public:
  explicit Simulator(SimulatorOptions options);
  ~Simulator();  // stop()s
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // start: loads the replay file if any, binds, starts the server thread;
  // returns the bound port.
  absl::StatusOr<std::uint16_t> start();
  // stop: closes every connection and joins the thread. Idempotent.
  void stop();
  // sent: messages published to at least one connection (recorded).
  std::uint64_t sent() const;
  // connections: websocket sessions accepted so far.
  std::uint64_t connections() const;
  // faults: faults injected so far (each one is a record line).
  std::uint64_t faults() const;
  // book: `symbol`'s book as described by the depth diffs generated so far
  // (what a client that applied every diff holds); limit 0 = every level.
  // Thread-safe; also exact after `count` stopped the market. While
  // replaying: the book the replayed depth diffs and snapshot lines built so
  // far (what GET /api/v3/depth serves), NotFound for a symbol without depth,
  // Unavailable (saying why) while its book is not known (REST answers 503).
  absl::StatusOr<SimBook> book(const std::string& symbol, std::size_t limit = 0) const;
  // live_book: `symbol`'s book including changes not yet in a diff.
  absl::StatusOr<SimBook> live_book(const std::string& symbol, std::size_t limit = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickwire::connector
