// CatchUpSubscriber: a lossless subscriber on the connector's host, after
// Aeron Archive's ReplayMerge. It starts at a sequence or a wall time, reads
// the journal (through journal::Tailer, read-only) until it meets the live
// broadcast ring, then switches to the ring without a gap or a duplicate.
// When the ring laps it (or the connector restarts and records of the old
// ring were never read) it sees the jump in the Envelope sequence, holds the
// live record, refills the range from the journal and switches back. Every
// record is delivered once, in sequence order; the only losses are records
// the journal does not hold either (its own gap records, or a sequence that
// neither source provides within `missing_after`), told to `on_lost`.
//
// Polled by one thread (poll()/run()). Costs: live, one ring read and a
// subject match per record; catching up, a CRC-checked pread per record and
// a Cap'n Proto decode for its subject.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tickwire/middleware/transport.hpp"
#include "tickwire/middleware/transport_subscriber.hpp"

namespace tickwire::journal {
class Tailer;
}

namespace tickwire::middleware {

class InProcessTransport;
class SharedMemoryTransport;

struct CatchUpOptions {
  std::filesystem::path journal_dir;      // the connector's [journal] dir
  std::string pattern = ">";             // subjects to deliver
  std::string env = "dev";               // first subject token of the journal's records
  std::optional<std::uint64_t> from_seq;      // start at this sequence (1: the whole journal)
  std::optional<std::uint64_t> from_wall_ns;  // or at the first record at or after this wall time
  // Neither: start with the live stream (gaps are still refilled from the journal).
  // A sequence that neither the journal nor the ring provides for this long
  // (published but never journaled) is given up and told to on_lost.
  std::chrono::milliseconds missing_after{2000};
};

struct CatchUpStats {
  std::uint64_t from_journal = 0;  // records delivered from the journal
  std::uint64_t from_live = 0;     // records delivered from the ring
  std::uint64_t refills = 0;       // times a jump on the ring sent it back to the journal
  std::uint64_t lost = 0;          // sequences told to on_lost
  std::uint64_t epochs = 0;        // publisher restarts (new ring epochs) seen
};

class CatchUpSubscriber {
 public:
  static absl::StatusOr<std::unique_ptr<CatchUpSubscriber>> open(SharedMemoryTransport& live, CatchUpOptions options);
  static absl::StatusOr<std::unique_ptr<CatchUpSubscriber>> open(InProcessTransport& live, CatchUpOptions options);
  ~CatchUpSubscriber();
  CatchUpSubscriber(const CatchUpSubscriber&) = delete;
  CatchUpSubscriber& operator=(const CatchUpSubscriber&) = delete;

  // poll: delivers up to `limit` records to `handler` (Message::sequence is
  // the Envelope's); returns how many records it consumed, 0 when nothing is
  // new. An error only if the journal cannot be read.
  absl::StatusOr<int> poll(const Handler& handler, const GapHandler& on_lost = {}, int limit = 256);

  // run: poll() until *stop (spins, then yields, then parks briefly); the first error ends it.
  absl::Status run(const Handler& handler, const GapHandler& on_lost, const std::atomic<bool>& stop);

  // next_sequence: the sequence the next delivered record will have at least (0: not known yet).
  std::uint64_t next_sequence() const noexcept { return next_.value_or(0); }
  // live: reading the ring (false while catching up from the journal).
  bool live() const noexcept { return mode_ == Mode::kLive; }
  CatchUpStats stats() const noexcept { return stats_; }

 private:
  enum class Mode { kJournal, kLive };
  struct Held {  // a live record ahead of what the journal has given so far
    std::uint64_t sequence = 0;
    std::string subject;
    std::vector<std::byte> payload;
  };

  CatchUpSubscriber(std::unique_ptr<TransportPoller> poller, CatchUpOptions options);
  static absl::StatusOr<std::unique_ptr<CatchUpSubscriber>> start(std::unique_ptr<TransportPoller> poller,
                                                                  CatchUpOptions options);
  absl::Status open_tailer();
  // step_journal / step_live: one record each; false when that source has nothing now.
  absl::StatusOr<bool> step_journal(const Handler& handler, const GapHandler& on_lost);
  bool step_live(const Handler& handler);
  // read_live: one ring record, into `seen` (views valid until the next read); false if none.
  bool read_live(std::optional<Message>& seen);
  void deliver(const Handler& handler, std::uint64_t sequence, std::string_view subject,
               std::span<const std::byte> payload);

  CatchUpOptions options_;
  std::unique_ptr<TransportPoller> poller_;  // pattern ">": every record, so jumps are exact
  std::unique_ptr<journal::Tailer> tailer_;
  Mode mode_ = Mode::kLive;
  std::optional<std::uint64_t> next_;
  std::optional<Held> held_;
  std::chrono::steady_clock::time_point held_since_{};
  std::uint64_t restarts_seen_ = 0;
  std::string subject_;                  // scratch: a journal record's subject
  std::vector<std::uint64_t> words_;     // scratch: an aligned copy of a journal payload
  CatchUpStats stats_;
};

// envelope_subject: the subject the connector published an encoded Envelope
// on live: "<env>.<feed>.<kind>.<SYMBOL>" (feed-wide records "_feed").
absl::Status envelope_subject(std::span<const std::byte> envelope, std::string_view env,
                              std::vector<std::uint64_t>& scratch, std::string& out);

}  // namespace tickwire::middleware
