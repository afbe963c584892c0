// FeedPipeline: everything between a websocket frame and the journal ring for
// one feed, on the feed thread: parse (simdjson, in place) -> intern the
// ticker -> stamp (one sequence, one TSC reading) -> encode the Envelope ->
// publish on the transport -> append to the journal. Session events and
// rejected input become Status records on the same path.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "tickwire/config/config.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/connector/feeds/binance.hpp"
#include "tickwire/connector/ws_session.hpp"
#include "tickwire/journal/journal.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/middleware/profiler.hpp"
#include "tickwire/middleware/symbol_interner.hpp"
#include "tickwire/middleware/transport.hpp"

namespace tickwire::connector {

// Sequencer: the connector-wide sequence, seeded from the journal so that a
// sequence is never reused across restarts.
class Sequencer {
 public:
  explicit Sequencer(std::uint64_t first) : next_(first) {}
  std::uint64_t next() noexcept {
    // relaxed: only uniqueness and order per thread matter; the value travels
    // with the record it stamps.
    return next_.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t peek() const noexcept { return next_.load(std::memory_order_relaxed); }  // relaxed: a statistic

 private:
  std::atomic<std::uint64_t> next_;
};

// PipelineCounters: written by the feed thread, read by the status line.
// All relaxed: independent statistics, no ordering with the data.
struct PipelineCounters {
  std::atomic<std::uint64_t> messages{0};   // market events journaled
  std::atomic<std::uint64_t> rejected{0};   // frames that failed to parse
  std::atomic<std::uint64_t> ignored{0};    // control replies and unhandled event kinds
  std::atomic<std::uint64_t> dropped{0};    // records the journal dropped (drop policy) or encode failures
  std::atomic<std::uint64_t> symbols{0};    // distinct symbols seen
  std::atomic<std::uint64_t> connects{0};
  std::atomic<std::uint64_t> disconnects{0};
};

// PipelineStages: the profiler stages a pipeline records into. `encode`
// covers interning, stamping and encoding; `ring_write` the journal append.
struct PipelineStages {
  middleware::StageId parse, encode, publish, ring_write;
  static PipelineStages register_in(middleware::Profiler& profiler);
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

class FeedPipeline final : public SessionHandler {
 public:
  // FeedPipeline: check ok() before use (the encoder may not have got its buffers).
  FeedPipeline(const config::FeedConfig& feed, std::string env, const PipelineContext& context);

  // ok: ready to run, or why not.
  absl::Status ok() const { return encoder_.status(); }

  // heartbeat: journals and publishes a Status heartbeat carrying this feed's
  // market-event count; call on the feed thread.
  void heartbeat();

  // set_limit: once counters.messages reaches `max_messages` (0 = no limit;
  // shared by all pipelines on the feed thread) further frames are ignored,
  // and `on_limit` runs once, on the feed thread.
  void set_limit(std::uint64_t max_messages, std::function<void()> on_limit);

  void on_connected() override;
  void on_frame(const char* data, std::size_t size, std::uint64_t rx_ticks) override;
  void on_disconnected(std::string_view reason) override;

 private:
  Stamp stamp(std::uint64_t ticks);
  // emit: publishes and journals one encoded record; `t_encoded` is the
  // TSC reading taken when encoding finished.
  void emit(const Stamp& stamp, std::string_view subject, std::span<const std::byte> bytes,
            std::uint64_t t_encoded);
  void emit_status(const StatusEvent& status);
  const std::string& trade_subject(middleware::SymbolId id);

  config::FeedConfig feed_;
  std::string env_;
  Sequencer& sequencer_;
  middleware::Transport& transport_;
  journal::Journal& journal_;
  PipelineCounters& counters_;
  middleware::Profiler& profiler_;
  PipelineStages stages_;
  feeds::BinanceParser parser_;
  middleware::SymbolInterner symbols_;
  EnvelopeEncoder encoder_;
  std::vector<std::string> trade_subjects_;  // by SymbolId, computed once per symbol
  std::string status_subject_;
  std::uint64_t limit_ = 0;
  std::function<void()> on_limit_;
  std::uint64_t events_ = 0;  // market events of this feed
};

}  // namespace tickwire::connector
