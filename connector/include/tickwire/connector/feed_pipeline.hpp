// FeedPipeline: everything between a websocket frame and the journal ring for
// one feed, on the feed thread, for any venue: the venue's parser (simdjson,
// in place) -> validate (subscribed symbol, symbol text, stream name, prices
// and sizes) -> drop duplicates and find gaps per stream -> maintain the
// order book under the venue's integrity policy -> stamp (one sequence, one
// TSC reading) -> encode the Envelope -> publish on the transport -> append
// to the journal. Session events, gaps, resyncs, rollovers and rejected input
// become Status records on the same path, with the exchange id ranges they
// concern. Nothing here knows an exchange: the VenueAdapter says.
//
// Only configured symbols have state (subjects, book, streams), all made at
// construction: a frame for any other symbol is rejected and counted, and
// creates nothing, so a hostile feed cannot grow memory.
//
// Streams are (symbol, channel). Trades and aggregate trades are contiguous
// where the venue says so (ids step by one: a jump is a gap, journaled with
// its exact range), else only increasing. Quotes, funding, liquidations and
// open interest only move forward. Depth diffs feed a BookSync per symbol: while it has no
// valid book the pipeline fetches the REST snapshot (one request in flight
// per symbol, through the session's RestClient), and when the book is synced
// it journals a BookSnapshot of the whole book at its update id; from then on
// every applied diff is journaled as a BookDelta. A replay consumer rebuilds
// a book as "the latest BookSnapshot, then the BookDeltas after it"; a Status
// `gap` says which update ids were missed and a Status `resync` when the book
// is whole again. Under the in-stream sequence policy (Bybit) there is no
// REST: the stream's own snapshot (or a u = 1 restart) replaces the book, a
// jump in the update ids is a `gap`, and the pipeline resubscribes that
// symbol's depth topic through the session.
//
// During a make-before-break rollover both connections' frames arrive here;
// the StreamTracker drops what one connection repeats of the other, and when
// every stream has overlapped the pipeline tells the session to close the old
// connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tickwire/config/config.hpp"
#include "tickwire/connector/book/book_sync.hpp"
#include "tickwire/connector/book/checksum_sync.hpp"
#include "tickwire/connector/book/stream_sync.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/connector/stream_tracker.hpp"
#include "tickwire/connector/stream_watchdog.hpp"
#include "tickwire/connector/venue.hpp"
#include "tickwire/connector/ws_session.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/symbol_interner.hpp"
#include "tickwire/middleware/transport.hpp"

namespace tickwire::connector {

class RestClient;

// Sequencer: the connector-wide sequence, seeded from the journal so that a
// sequence is never reused across restarts. next() is called by one thread,
// the feed thread: every sequence goes into the journal ring right after, and
// the ring has that one producer. Other threads only peek().
class Sequencer {
 public:
  explicit Sequencer(std::uint64_t first) : next_(first) {}
  std::uint64_t next() noexcept {
    // One writer: a load and a store, not a locked add. relaxed: the value
    // travels with the record it stamps; peek() is a statistic.
    const std::uint64_t seq = next_.load(std::memory_order_relaxed);
    next_.store(seq + 1, std::memory_order_relaxed);
    return seq;
  }
  std::uint64_t peek() const noexcept { return next_.load(std::memory_order_relaxed); }  // relaxed: a statistic

 private:
  std::atomic<std::uint64_t> next_;
};

// PipelineCounters: written by the feed thread (their one writer: the
// per-message counts are a load and a store, not a locked add), read by the
// status line and /metrics. All relaxed: independent statistics, no ordering
// with the data.
struct PipelineCounters {
  std::atomic<std::uint64_t> messages{0};    // market events journaled (trades, quotes, book records, ...)
  std::array<std::atomic<std::uint64_t>, kJournaledKinds> by_kind{};  // those by JournaledKind
  std::atomic<std::uint64_t> rejected{0};    // frames rejected: malformed, invalid values, unsubscribed
                                             // symbols, oversized frames, websocket protocol errors
  std::atomic<std::uint64_t> unsubscribed{0};  // of those, frames for symbols not subscribed
  std::atomic<std::uint64_t> ignored{0};     // control replies and unhandled event kinds
  std::atomic<std::uint64_t> dropped{0};     // records the journal dropped (drop policy) or encode failures
  std::atomic<std::uint64_t> symbols{0};     // distinct symbols seen
  std::atomic<std::uint64_t> connects{0};
  std::atomic<std::uint64_t> disconnects{0};
  std::atomic<std::uint64_t> duplicates{0};  // messages already received (duplicates, rollover overlap)
  std::atomic<std::uint64_t> gaps{0};        // gaps detected (trade ids, book update ids)
  std::atomic<std::uint64_t> resyncs{0};     // books (re)built from a snapshot
  std::atomic<std::uint64_t> rollovers{0};   // rollovers finished
  // Exchange-time lag: local receive wall time minus the exchange's event
  // time of the latest event that has one, in ms (negative when the local
  // clock is behind); lag_warnings counts crossings of the warning threshold.
  std::atomic<std::int64_t> lag_ms{0};
  std::atomic<std::uint64_t> lag_warnings{0};
};

// add_counters: `from`'s figures added to `into` (relaxed: statistics); the
// lag is the one of largest magnitude. For totals over several pipelines.
void add_counters(PipelineCounters& into, const PipelineCounters& from);

// PipelineStages: the profiler stages a pipeline records into. `encode`
// covers interning, dedup, book maintenance, stamping and encoding;
// `ring_write` the journal append. `received_to_ring` is not a stage of its
// own but a market record's whole way from the socket read that received
// its frame (the Envelope's monoNs) to the end of its journal append: the
// frame's wait behind the earlier frames of the read, its decoding, parse,
// encode and ring write.
struct PipelineStages {
  middleware::StageId parse, encode, publish, ring_write, received_to_ring;
  static PipelineStages register_in(middleware::Profiler& profiler);
};

// PipelineBatches: a pipeline's durations per stage, held on the feed thread
// and added to the profiler 64 at a time (and by flush_profile()).
struct PipelineBatches {
  middleware::StageBatch parse, encode, publish, ring_write, received_to_ring;
  PipelineBatches(middleware::Profiler& profiler, const PipelineStages& stages) noexcept
      : parse(profiler, stages.parse), encode(profiler, stages.encode), publish(profiler, stages.publish),
        ring_write(profiler, stages.ring_write), received_to_ring(profiler, stages.received_to_ring) {}
  void flush() noexcept {
    parse.flush();
    encode.flush();
    publish.flush();
    ring_write.flush();
    received_to_ring.flush();
  }
};

// PipelineContext: what every pipeline on a feed thread shares.
struct PipelineContext {
  Sequencer& sequencer;
  middleware::Transport& transport;
  journal::Journal& journal;
  PipelineCounters& counters;
  middleware::Profiler& profiler;
  middleware::BufferPool& buffers;  // the encoder's buffers come from here
};

// PipelineIo: the feed thread's session and snapshot client; without them
// (tests that hand frames in directly) depth diffs stay buffered, rollovers
// and stale-stream restarts are not possible.
struct PipelineIo {
  boost::asio::io_context* io = nullptr;
  WsSession* session = nullptr;
  RestClient* rest = nullptr;
  std::string rest_base;  // "http(s)://host[:port]" of the venue's REST snapshots
};

class FeedPipeline final : public SessionHandler {
 public:
  // FeedPipeline: check ok() before use (the encoder may not have got its
  // buffers; feed.exchange may name no venue; a symbol may not normalize).
  FeedPipeline(const config::FeedConfig& feed, std::string env, const PipelineContext& context);
  ~FeedPipeline() override;

  // ok: ready to run, or why not.
  absl::Status ok() const;
  // venue: the adapter of feed.exchange (null if none is registered).
  const VenueAdapter* venue() const { return venue_; }
  // symbol_states: per-symbol states (the configured symbols; never grows).
  std::size_t symbol_states() const { return states_.size(); }
  // streams: streams tracked (symbol_states() x channel kinds; never grows).
  std::size_t streams() const { return tracker_.size(); }

  // attach: the session, snapshot client and io_context to use (feed thread,
  // before the session starts). Starts the stale-stream timer if configured.
  void attach(PipelineIo io);
  // stop: cancels timers and pending snapshot retries (feed thread).
  void stop();

  // heartbeat: journals and publishes a Status heartbeat carrying this feed's
  // market-event count; call on the feed thread.
  void heartbeat();
  // set_stage_sample: take the stage durations ([status] stage_sample) on
  // one market frame in `every` (>= 1; 1 = every frame, this class's
  // default; the configuration's is 16). The frames between pay no TSC
  // reads and no profiler entries.
  void set_stage_sample(std::uint32_t every) noexcept {
    stage_every_ = every == 0 ? 1 : every;
    stage_countdown_ = 1;
  }
  // flush_profile: adds the stage durations held in this pipeline's batches
  // to the profiler; call on the feed thread (the runner does once a second
  // and when the feed thread ends, so a report misses at most a second's).
  void flush_profile() noexcept { batches_.flush(); }
  // snapshot_books: journals and publishes a BookSnapshot of every synced
  // book (one not waiting for or checking a snapshot); call on the feed
  // thread. Returns how many it wrote.
  std::size_t snapshot_books();
  // on_publish_loss: journals (and publishes) a feed-wide Status `dropped`:
  // `count` records a publish target did not take, `detail` says which and
  // why. The journal has every one of them. Feed thread.
  void on_publish_loss(std::uint64_t count, std::string_view detail);

  // set_limit: once `count` (by default this pipeline's counters.messages;
  // the runner passes one count shared by all pipelines on the feed thread,
  // each adding its market events to it) reaches `max_messages` (0 = no
  // limit), further frames are ignored, and `on_limit` runs once, on the
  // feed thread.
  void set_limit(std::uint64_t max_messages, std::function<void()> on_limit,
                 std::atomic<std::uint64_t>* count = nullptr);

  // stream_last_ticks: the TscClock ticks of the last message of the
  // `symbol_index`th configured symbol on channels of `kind` (reconnects do
  // not reset it); before the first message, the time of the last connect or
  // resubscribe; 0 before the first connect. Feed thread.
  std::uint64_t stream_last_ticks(std::size_t symbol_index, ChannelKind kind) const;

  // book: the book of `symbol` if it has one and it is synced (tests, tools).
  const book::OrderBook* book(std::string_view symbol) const;

  // SessionHandler
  void on_connected() override;
  void on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks, std::uint32_t generation) override;
  void on_disconnected(std::string_view reason) override;
  void on_protocol_error(std::string_view reason) override;
  void on_backoff(std::chrono::milliseconds delay, std::string_view cause) override;
  void on_subscribed(std::uint32_t generation, std::size_t streams, bool resubscribe) override;
  void on_rollover_candidate(std::uint32_t previous, std::uint32_t next) override;
  void on_rollover_started(std::uint32_t previous, std::uint32_t next, std::string_view reason) override;
  void on_rollover_finished(std::uint32_t previous, std::uint32_t current, bool overlapped) override;
  void on_rollover_failed(std::uint32_t generation, std::string_view reason) override;

 private:
  // Channel: the per-symbol streams, in the order of their StreamTracker /
  // StreamWatchdog indices (symbol * kChannels + channel): ChannelKind's order.
  using Channel = ChannelKind;
  static constexpr std::size_t kChannels = kChannelKinds;
  // kResubscribeTries: resubscribes of one book without its snapshot before
  // the connection is replaced (a new one subscribes every stream).
  static constexpr std::uint32_t kResubscribeTries = 3;

  // SymbolState: everything per symbol, created at construction for the
  // configured symbols only.
  struct SymbolState {
    std::string name;        // the exchange symbol
    Instrument instrument;   // the normalized instrument (the subjects' symbol token)
    // contract: for a derivative sized in contracts, what one is worth (from
    // the venue's instruments endpoint, VenueAdapter::contract_target); empty
    // until it answers, and for every other instrument.
    std::optional<ContractSpec> contract;
    std::string trade_subject, agg_subject, quote_subject, book_subject, status_subject;
    std::string funding_subject, liquidation_subject, open_interest_subject;
    std::unique_ptr<book::BookSync> sync;      // REST-snapshot policies
    std::unique_ptr<book::StreamSync> stream;  // the in-stream sequence policy (Bybit)
    std::unique_ptr<book::ChecksumSync> checksum;  // the in-stream checksum policy (Kraken)
    // book_generation: the connection whose snapshot the book is (checksum
    // books, and connection-sequence books: their updates count only there).
    std::uint32_t book_generation = 0;
    bool resubscribing = false;                // a resubscribe was sent; waiting for its snapshot
    std::uint32_t resubscribe_attempts = 0;    // resubscribes in a row that brought no snapshot in time
    std::unique_ptr<boost::asio::steady_timer> resubscribe_deadline;  // resubscribe_timeout_ms after the last one
    bool trades_live = false;                  // a trade other than history was accepted (history only seeds before)
    bool fetching = false;                 // a snapshot request is in flight or scheduled
    bool verifying = false;                // that request checks a synced book after a reconnect
    std::uint32_t snapshot_attempts = 0;   // consecutive failed snapshot attempts
    std::unique_ptr<boost::asio::steady_timer> retry;  // the next snapshot attempt
    std::unique_ptr<boost::asio::steady_timer> contract_retry;  // the next contract request
    std::uint32_t contract_attempts = 0;   // consecutive failed contract requests
    bool gap_open = false;                 // a book gap/invalid book not yet resynced
    std::uint64_t quote_ns = 0;            // the exchange time of the last quote accepted (0: none, or none sent)
  };

  Stamp stamp(std::uint64_t ticks);
  // emit: publishes and journals one encoded record; `t_encoded` is the
  // TSC reading taken when encoding finished (0: the frame is not one of
  // the stamped sample, see set_stage_sample: no stage durations),
  // `rx_ticks` the receipt stamp of the frame it came from (0 for records
  // no frame brought: status, periodic book images).
  void emit(const Stamp& stamp, std::string_view subject, std::span<const std::byte> bytes,
            std::uint64_t t_encoded, std::uint64_t rx_ticks = 0);
  void emit_status(const StatusEvent& status);
  void emit_symbol_status(SymbolState& state, const StatusEvent& status);
  // market_event_done: counts a journaled market event and applies the limit.
  void market_event_done(JournaledKind kind);
  void add_symbol(std::string_view symbol);
  std::size_t stream_index(middleware::SymbolId id, Channel channel) const {
    return static_cast<std::size_t>(id) * kChannels + static_cast<std::size_t>(channel);
  }
  // admit: the symbol id of a subscribed, well-formed symbol named by `msg`;
  // otherwise the frame is rejected (counted, journaled) and nullopt.
  std::optional<middleware::SymbolId> admit(const ParsedMessage& msg, std::string_view symbol, std::size_t size,
                                            std::string_view what);
  // slot_of: the symbol's id (its index in states_), the encoder's template slot.
  std::size_t slot_of(const SymbolState& st) const noexcept { return static_cast<std::size_t>(&st - states_.data()); }
  // encode_for: sets the encoder's instrument to the symbol's.
  void encode_for(const SymbolState& st) {
    encoder_.set_instrument(st.instrument.name, st.instrument.kind, st.contract ? &*st.contract : nullptr);
  }
  // note_lag: updates the exchange-time lag gauge from one event.
  void note_lag(const Stamp& stamp, std::uint64_t event_ns);
  void record_stream(middleware::SymbolId id, Channel channel, std::uint64_t rx_ticks);
  // emit_market: stamps, encodes (through `encode`), publishes and journals one market event.
  template <typename Encode>
  void emit_market(const SymbolState& st, std::string_view subject, JournaledKind kind, std::uint64_t rx_ticks,
                   std::uint64_t t_parsed, std::uint64_t event_ns, Encode&& encode);
  // track: the StreamTracker verdict for a message, counting drops and
  // journaling gaps; true if the message is new data.
  bool track(middleware::SymbolId id, Channel channel, std::uint64_t first, std::uint64_t last,
             std::uint32_t generation, std::string_view what, std::uint64_t tag = 0);
  void maybe_finish_rollover();

  // dispatch: one parsed event to its handler (on_frame calls it per event of a frame).
  void dispatch(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                std::uint32_t generation);
  void on_trade(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                std::uint32_t generation);
  void on_quote(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                std::uint32_t generation);
  void on_delta(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                std::uint32_t generation);
  void on_funding(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                  std::uint32_t generation);
  void on_liquidation(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                      std::uint32_t generation);
  void on_open_interest(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                        std::uint32_t generation);
  void on_rejected(std::size_t size, std::string_view why);
  // In-stream books (feed_pipeline_stream_books.cpp): a snapshot or delta
  // through the symbol's StreamSync, journaled; a gap or an invalid book
  // journals why and resubscribes the symbol's depth topic.
  void on_stream_snapshot(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                          std::uint32_t generation);
  void on_stream_delta(ParsedMessage& msg, middleware::SymbolId id, std::uint64_t rx_ticks, std::uint64_t t_parsed);
  void on_stream_replaced(SymbolState& st, const book::StreamResult& r, std::uint64_t rx_ticks,
                          std::uint64_t t_parsed, const BookSnapshotEvent& image);
  void resubscribe_book(SymbolState& st, std::string_view why);
  // resubscribe_overdue: resubscribe_timeout_ms after a resubscribe whose
  // snapshot has not come (refused for the rate, lost, withheld): once more,
  // and after kResubscribeTries the connection is replaced.
  void resubscribe_overdue(middleware::SymbolId id);
  // book_resynced: a snapshot replaced `st`'s book: no resubscribe is pending.
  static void book_resynced(SymbolState& st) {
    st.resubscribing = false;
    st.resubscribe_attempts = 0;
  }
  // REST bootstrap of in-stream books (StreamBootstrap::kStreamOrRest when an
  // update comes without a snapshot, kRest always): the StreamSync keeps the
  // updates while a REST snapshot is fetched (feed_pipeline_books.cpp), then
  // replays them over it. rest_bootstrap: whether one can be fetched.
  bool rest_bootstrap() const {
    return stream_bootstrap_ != StreamBootstrap::kStream && io_.rest != nullptr && io_.io != nullptr;
  }
  // rest_resync: a break is mended by a REST snapshot (an updates-only channel), not a resubscribe.
  bool rest_resync() const { return stream_bootstrap_ == StreamBootstrap::kRest && rest_bootstrap(); }
  void bootstrap_book(middleware::SymbolId id, std::string_view why);
  void on_stream_rest_snapshot(middleware::SymbolId id, BookSnapshotEvent& snapshot);
  // resync_book: after a break, a REST bootstrap on a kRest channel, else a
  // resubscribe; resync_action names which for the Status detail.
  void resync_book(middleware::SymbolId id, std::string_view why);
  std::string_view resync_action() const;
  // In-stream checksum books (feed_pipeline_checksum_books.cpp): a snapshot
  // or update through the symbol's ChecksumSync, cut to depth and checked; a
  // mismatch or an invalid book journals why and resubscribes the book.
  void on_checksum_snapshot(ParsedMessage& msg, std::size_t size, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                            std::uint32_t generation);
  void on_checksum_delta(ParsedMessage& msg, middleware::SymbolId id, std::uint64_t rx_ticks, std::uint64_t t_parsed,
                         std::uint32_t generation);
  void on_checksum_result(SymbolState& st, const book::ChecksumResult& r, std::uint64_t rx_ticks,
                          std::uint64_t t_parsed, std::uint64_t event_ns);
  // check_connection_sequence: a frame's number in its connection's one
  // sequence (Coinbase sequence_num); a jump is a feed gap and a gap of every
  // book on that connection, which are resubscribed.
  void check_connection_sequence(std::uint64_t sequence, std::uint32_t generation);
  void on_connection_gap(std::uint32_t generation, std::uint64_t expected, std::uint64_t got);
  // emit_book_delta / emit_book_snapshot: emit_market for one book record.
  void emit_book_delta(const SymbolState& st, const BookDeltaEvent& d, std::uint64_t rx_ticks, std::uint64_t t_parsed);
  void emit_book_snapshot(const SymbolState& st, const BookSnapshotEvent& s, std::uint64_t rx_ticks,
                          std::uint64_t t_parsed);
  // valid_book: the symbol's book when it is whole (either policy), else null.
  static const book::OrderBook* valid_book(const SymbolState& st);
  static std::uint64_t book_update_id(const SymbolState& st);

  // rest_get: GET `url` for symbol `id`; the body or the failure (with the
  // server's Retry-After) goes to the handler, unless the pipeline stopped.
  using BodyHandler = void (FeedPipeline::*)(middleware::SymbolId, std::string);
  using FailureHandler = void (FeedPipeline::*)(middleware::SymbolId, std::string_view, std::chrono::milliseconds);
  void rest_get(middleware::SymbolId id, std::string url, std::uint64_t weight, BodyHandler on_body,
                FailureHandler on_failure);
  // after: `then(id)` once `delay` has passed on `timer` (made on first use), unless the pipeline stopped.
  void after(std::unique_ptr<boost::asio::steady_timer>& timer, std::chrono::milliseconds delay,
             middleware::SymbolId id, void (FeedPipeline::*then)(middleware::SymbolId));
  // Book resync: fetch the snapshot (now or after `delay`), then apply it.
  void request_snapshot(middleware::SymbolId id, std::chrono::milliseconds delay);
  void fetch_snapshot(middleware::SymbolId id);
  void on_snapshot_body(middleware::SymbolId id, std::string body);
  void snapshot_failed(middleware::SymbolId id, std::string_view why, std::chrono::milliseconds retry_after);
  void journal_book(SymbolState& state);
  // Contracts (feed_pipeline_books.cpp): at attach, each derivative whose
  // sizes are in contracts asks the venue what one is worth
  // (contract_target), retried with capped backoff until it is known.
  void fetch_contract(middleware::SymbolId id);
  void on_contract_body(middleware::SymbolId id, std::string body);
  void contract_failed(middleware::SymbolId id, std::string_view why, std::chrono::milliseconds retry_after);
  // verify_books: after a reconnect, a snapshot request for every synced book.
  void verify_books();

  void schedule_stale_check();
  void check_stale();

  config::FeedConfig feed_;
  std::string env_;
  Sequencer& sequencer_;
  middleware::Transport& transport_;
  journal::Journal& journal_;
  PipelineCounters& counters_;
  PipelineStages stages_;
  PipelineBatches batches_;
  const VenueAdapter* venue_;
  BookPolicy book_policy_;
  std::unique_ptr<VenueParser> parser_;
  absl::Status setup_;  // why the pipeline cannot run (besides the encoder), if it cannot
  middleware::SymbolInterner symbols_;
  EnvelopeEncoder encoder_;
  std::vector<SymbolState> states_;  // by SymbolId
  middleware::TscClock::Mapper clock_{middleware::TscClock::global()};  // the Envelope's times (feed thread)
  std::uint32_t stage_every_ = 1;      // stage durations on one frame in this many
  std::uint32_t stage_countdown_ = 1;  // frames until the next stamped one
  StreamTracker tracker_;            // kChannels streams per symbol
  std::unique_ptr<StreamWatchdog> watchdog_;
  bool want_depth_ = false;
  StreamBootstrap stream_bootstrap_ = StreamBootstrap::kStream;  // the feed's depth channels' (the most REST)
  std::size_t max_symbol_bytes_ = 32;
  std::int64_t lag_warn_ms_ = 0;  // 0: no warning
  bool lagging_ = false;          // the lag is over lag_warn_ms_ (logged once per crossing)
  std::string status_subject_;
  std::uint64_t limit_ = 0;
  std::atomic<std::uint64_t>* limit_count_ = nullptr;  // what limit_ is compared with (set_limit)
  std::function<void()> on_limit_;
  std::uint64_t events_ = 0;  // market events of this feed
  std::uint64_t connections_ = 0;  // this feed's connections since start (the connected Status's count)
  bool finish_requested_ = false;  // finish_rollover() asked for the current rollover
  // ConnectionSequence: the last number seen of one connection's sequence
  // (two at once during a rollover).
  struct ConnectionSequence {
    std::uint32_t generation = 0;  // 0: unused
    std::uint64_t last = 0;
  };
  ConnectionSequence connection_sequences_[2];

  PipelineIo io_;
  std::unique_ptr<boost::asio::steady_timer> stale_timer_;
  std::string snapshot_buf_;  // a REST body with simdjson's padding after it
  std::string detail_;        // scratch for Status details
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards callbacks after destruction
};

}  // namespace tickwire::connector
