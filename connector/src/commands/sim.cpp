// `tickwire sim`: the exchange simulator as a standalone server.
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands/commands.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/config/config.hpp"
#include "tickwire/connector/log.hpp"
#include "tickwire/connector/simulator.hpp"

namespace tickwire::connector::commands {
namespace {

// kDrainedSignal: raised by the simulator's thread when --exit-at-end is met.
constexpr int kDrainedSignal = SIGUSR2;

// finite_number: CLI11's PositiveNumber and NonNegativeNumber let "nan" and
// "inf" through (neither compares <= 0); a rate or a speed must be a real,
// finite number.
CLI::Validator finite_number(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return fmt::format("expected a number, got '{}'", text);
        if (!std::isfinite(v)) return fmt::format("expected a finite number, got '{}'", text);
        if (allow_zero ? v < 0 : v <= 0) {
          return fmt::format("expected a number {} 0, got '{}'", allow_zero ? ">=" : ">", text);
        }
        return {};
      },
      allow_zero ? "FINITE >= 0" : "FINITE > 0");
}

}  // namespace

Command add_sim(CLI::App& app) {
  struct Options {
    SimulatorOptions sim;
    std::string config;
    std::vector<std::string> fault_specs;
    std::string refuse_ws;
    std::string refuse_rest;
    bool exit_at_end = false;
  };
  auto opts = std::make_shared<Options>();
  opts->sim.symbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"};
  CLI::App* sub = app.add_subcommand(
      "sim",
      "Run the exchange simulator on loopback: Binance spot websocket streams (trade, aggTrade, bookTicker,\n"
      "depth@100ms; /stream?streams=.. combined, /ws/<stream> raw, live SUBSCRIBE) and GET /api/v3/depth, from a\n"
      "seeded market with a real book, or a replayed capture; with seeded fault injection. --venue binance-usdm\n"
      "speaks Binance USD-M futures instead: diffs chained by pu, markPrice@1s, forceOrder, GET /fapi/v1/depth.\n"
      "--venue bybit (spot) or bybit-linear speaks Bybit v5: publicTrade, orderbook.200 (snapshot on subscribe,\n"
      "then deltas with u by one), linear tickers deltas and allLiquidation, {\"op\":\"ping\"} answered.\n"
      "--venue okx speaks OKX v5 (instIds such as BTC-USDT-SWAP): trades, trades-all, books (snapshot on\n"
      "subscribe, then updates chained by prevSeqId, with checksums), bbo-tbt, mark-price, funding-rate,\n"
      "open-interest, liquidation-orders; the text ping answered by pong.\n"
      "--venue kraken speaks Kraken v2: instrument, book (depth 10, snapshot on subscribe, CRC-32 checksums),\n"
      "trade, ticker, {\"method\":\"ping\"} answered.\n"
      "--venue coinbase speaks Coinbase Advanced Trade: level2 (l2_data snapshot, then updates), market_trades\n"
      "(a snapshot of recent trades, then updates), ticker, heartbeats; each connection's own sequence_num.\n"
      "The --record file is the market's truth: every message of a subscribed stream once, plus one\n"
      "{\"sim\":\"fault\",...} line per injected fault (see simulator.hpp).");
  sub->add_option("-c,--config", opts->config,
                  "Take symbols, rate and seed from this config's [simulator] and sim:// feeds");
  sub->add_option("--venue", opts->sim.venue,
                  "The dialect to speak: binance (spot), binance-usdm (USD-M futures), bybit (v5 spot) or "
                  "bybit-linear (v5 linear perpetuals), okx (v5), kraken (v2 spot) or coinbase (Advanced Trade)")
      ->check(CLI::IsMember({"binance", "binance-usdm", "bybit", "bybit-linear", "okx", "kraken", "coinbase"}))
      ->capture_default_str();
  sub->add_option("--host", opts->sim.host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", opts->sim.port, "Port to listen on (0: any free port)")->capture_default_str();
  sub->add_option("--symbols", opts->sim.symbols, "Symbols to simulate")->delimiter(',')->capture_default_str();
  sub->add_option("--rate", opts->sim.rate, "Mean market orders per second over all symbols")
      ->check(finite_number(false))->capture_default_str();
  sub->add_option("--seed", opts->sim.seed, "Random seed (same seed, same market and faults)")->capture_default_str();
  sub->add_option("--count", opts->sim.count, "Stop after this many messages published (0: never)");
  sub->add_option("--record", opts->sim.record_path, "Write the truth (every message, every fault) to this NDJSON file");
  sub->add_flag("--record-all", opts->sim.record_all, "Record messages of streams nobody subscribes to as well");
  sub->add_option("--epoch-ms", opts->sim.epoch_ms,
                  "Unix ms of market time 0, for byte-identical runs (0: the clock at the first connection)");
  sub->add_option("--depth-interval-ms", opts->sim.depth_interval_ms, "Depth diff batching in market time")
      ->check(finite_number(false))->capture_default_str();
  sub->add_flag("--rest-live-book", opts->sim.rest_live_book,
                "REST snapshots show the live book (lastUpdateId inside the next diff), not the last diff's");
  sub->add_option("--ping-interval-ms", opts->sim.ping_interval_ms, "Server ping interval (0: no pings)")
      ->capture_default_str();
  sub->add_option("--pong-timeout-ms", opts->sim.pong_timeout_ms, "Close a connection whose ping is unanswered this long")
      ->capture_default_str();
  sub->add_option("--max-incoming", opts->sim.max_incoming_per_s,
                  "Close a connection sending more messages per second (text, ping, unsolicited pong; 0: no limit); "
                  "Kraken keeps it and answers {\"Error\":\"Exceeded msg rate\"} instead")
      ->capture_default_str();
  sub->add_option("--max-streams", opts->sim.max_streams, "Streams per connection; more gets an error reply")
      ->capture_default_str();
  sub->add_option("--replay", opts->sim.replay_path,
                  "Send this capture instead of a generated market: NDJSON (one combined or raw message per line,\n"
                  "snapshot lines), or hftbacktest's and cryptofeed's raw files (see docs/feeds.md)")
      ->check(CLI::ExistingFile);
  sub->add_flag("--exit-at-end", opts->exit_at_end,
                "With a replay: close every connection after the capture's last message and exit 0 once each\n"
                "client has answered the close (it has read the whole capture)");
  sub->add_option("--speed", opts->sim.replay_speed, "Replay speed: 1 = as recorded (E, else T), N = N times faster, 0 = as fast as the socket takes it")
      ->check(finite_number(true))->capture_default_str();
  sub->add_option("--fault", opts->fault_specs,
                  "Inject a fault, NAME[:AFTER[:PROBABILITY[:MAX_TIMES]]]: on each connection's AFTER-th data message\n"
                  "(or from it on with PROBABILITY per message), at most MAX_TIMES in all (default 1, 0 = no cap).\n"
                  "NAME: close_ws (close frame), close_tcp (FIN, no close frame), reset (TCP RST), stall (stop sending\n"
                  "and answering, keep the socket), slow (delay every frame), gap (withhold messages, still recorded),\n"
                  "duplicate, reorder (swap with the next), malformed (truncated JSON first), oversize (a huge frame\n"
                  "first), ping_storm, shutdown_notice (the venue's notice, Binance serverShutdown or OKX notice\n"
                  "64008, then a close; refused for bybit, kraken and coinbase, which send none); Bybit books only:\n"
                  "resnapshot (the snapshot again at the same u), restart (a u = 1 delta with the whole book),\n"
                  "no_snapshot (an orderbook subscription, counted, gets no snapshot);\n"
                  "OKX books: restart (the seqId resets below prevSeqId), keepalive (an empty update at its seqId\n"
                  "after the update), bad_checksum (a wrong checksum), no_snapshot (a books subscription, counted,\n"
                  "gets no snapshot). Kraken only: checksum (a book update's checksum off by one bit), beyond_depth\n"
                  "(a bid below the depth for the client to cut), trade_gap (a trade message withheld), precision\n"
                  "(the pair's price precision one decimal finer on the instrument channel).\n"
                  "Coinbase: quiet (the connection's channels stop, heartbeats go on); gap skips a sequence_num.\n"
                  "Repeatable.");
  sub->add_option("--gap-messages", opts->sim.faults.gap_messages, "Messages of one stream a gap withholds")
      ->capture_default_str();
  sub->add_option("--slow-delay-ms", opts->sim.faults.slow_delay_ms, "Delay before each frame once slow")
      ->capture_default_str();
  sub->add_option("--oversize-bytes", opts->sim.faults.oversize_bytes, "Size of the oversized frame")
      ->capture_default_str();
  sub->add_option("--ping-storm-count", opts->sim.faults.ping_storm_count, "Pings in a ping storm")
      ->capture_default_str();
  sub->add_option("--shutdown-grace-ms", opts->sim.faults.shutdown_grace_ms,
                  "Time between a shutdown notice and the close")->capture_default_str();
  sub->add_option("--lifetime-ms", opts->sim.faults.lifetime_ms,
                  "Close every connection this long after it opens, like Binance's 24 h (0: never)");
  sub->add_option("--refuse-ws", opts->refuse_ws,
                  "Refuse websocket upgrades, STATUS[:COUNT[:RETRY_AFTER_S]]: 429 or 418 with Retry-After, the first\n"
                  "COUNT requests (0: all)");
  sub->add_option("--refuse-rest", opts->refuse_rest, "Refuse GET /api/v3/depth the same way");
  return {sub, [opts, sub] {
            SimulatorOptions so = opts->sim;
            if (!opts->config.empty()) {
              auto cfg = config::load_file(opts->config);
              if (!cfg.ok()) {
                fmt::print(stderr, "tickwire sim: {}\n", middleware::status_text(cfg.status()));
                return kExitUsage;
              }
              if (sub->count("--rate") == 0) so.rate = cfg->simulator.rate;
              if (sub->count("--seed") == 0) so.seed = cfg->simulator.seed;
              if (sub->count("--count") == 0) so.count = cfg->simulator.count;
              if (sub->count("--replay") == 0) so.replay_path = cfg->simulator.replay;
              if (sub->count("--symbols") == 0) {
                so.symbols.clear();
                for (const auto& f : cfg->feeds) {
                  if (f.url == "sim://") so.symbols.insert(so.symbols.end(), f.symbols.begin(), f.symbols.end());
                }
              }
            }
            // USD-M allows 10 incoming messages a second per connection, spot 5.
            if (so.venue == "binance-usdm" && sub->count("--max-incoming") == 0) so.max_incoming_per_s = 10;
            // Bybit states no per-connection message rate for public streams; OKX limits
            // subscriptions per hour; Kraken's rate is dynamic.
            const bool unlimited = so.venue.starts_with("bybit") || so.venue == "okx" || so.venue == "kraken";
            if (unlimited && sub->count("--max-incoming") == 0) so.max_incoming_per_s = 0;
            // Coinbase: 8 unauthenticated messages a second (per IP; the simulator counts per connection).
            if (so.venue == "coinbase" && sub->count("--max-incoming") == 0) so.max_incoming_per_s = 8;
            absl::Status parsed = absl::OkStatus();
            for (const auto& spec : opts->fault_specs) {
              if (parsed.ok()) parsed = parse_fault(spec, so.faults);
            }
            if (parsed.ok() && !opts->refuse_ws.empty()) parsed = parse_refusal(opts->refuse_ws, so.faults.refuse_ws);
            if (parsed.ok() && !opts->refuse_rest.empty()) {
              parsed = parse_refusal(opts->refuse_rest, so.faults.refuse_rest);
            }
            if (!parsed.ok()) {
              fmt::print(stderr, "tickwire sim: {}\n", middleware::status_text(parsed));
              return kExitUsage;
            }
            if (opts->exit_at_end && so.replay_path.empty()) {
              fmt::print(stderr, "tickwire sim: --exit-at-end needs a replay (--replay FILE, or [simulator] replay)\n");
              return kExitUsage;
            }
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGINT);
            sigaddset(&set, SIGTERM);
            sigaddset(&set, kDrainedSignal);
            pthread_sigmask(SIG_BLOCK, &set, nullptr);
            so.logger = &log();
            // The simulator's thread wakes the sigwait below as a signal would.
            if (opts->exit_at_end) so.on_replay_drained = [] { ::kill(::getpid(), kDrainedSignal); };
            Simulator sim(so);
            auto port = sim.start();
            if (!port.ok()) {
              fmt::print(stderr, "tickwire sim: {}\n", middleware::status_text(port.status()));
              return absl::IsInvalidArgument(port.status()) ? kExitUsage : kExitIo;
            }
            std::printf("tickwire sim: listening on ws://%s:%u/stream\n", so.host.c_str(), static_cast<unsigned>(*port));
            std::fflush(stdout);
            int sig = 0;
            sigwait(&set, &sig);
            sim.stop();
            if (sig == kDrainedSignal) fmt::print(stderr, "tickwire sim: the replay ended and every client read it\n");
            fmt::print(stderr, "tickwire sim: {} messages sent to {} connections\n", sim.sent(), sim.connections());
            return kExitOk;
          }};
}

}  // namespace tickwire::connector::commands
