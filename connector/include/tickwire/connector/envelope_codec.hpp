// EnvelopeEncoder: builds the Cap'n Proto Envelope for one event into a
// reused, zeroed first segment and frames it as a standard single-message
// stream (segment table + segment), the bytes that go to transports and the
// journal. One per feed thread; encode() does not allocate while a message
// fits kScratchWords. envelope_to_json: the replay side (allocates).
#pragma once

#include <capnp/common.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tickwire/connector/events.hpp"

namespace tickwire::connector {

// Stamp: what the connector adds to every event.
struct Stamp {
  std::uint64_t sequence;
  std::uint64_t mono_ns;
  std::uint64_t wall_ns;
};

// kEnvelopeRecordType: the journal record type of an encoded Envelope.
inline constexpr std::uint16_t kEnvelopeRecordType = 1;

// Status kinds mirror proto::Status::Kind (same numbering).
enum class StatusKind : std::uint16_t {
  kConnected = 0, kDisconnected = 1, kGap = 2, kResync = 3, kHeartbeat = 4,
  kRollover = 5, kDropped = 6, kSubscribed = 7, kRejected = 8,
};

struct StatusEvent {
  StatusKind kind;
  std::string_view symbol;  // may be empty (feed-wide)
  std::uint64_t from_id = 0;
  std::uint64_t to_id = 0;
  std::uint64_t count = 0;
  std::string_view detail;
};

class EnvelopeEncoder {
 public:
  static constexpr std::size_t kScratchWords = 1024;  // 8 KiB: a trade needs ~20 words

  EnvelopeEncoder();

  // kMaxStatusDetail: a status detail longer than this is cut, so every
  // message fits the scratch segment.
  static constexpr std::size_t kMaxStatusDetail = 1024;

  // encode_*: the framed message, valid until the next encode call; empty if
  // the message did not fit the scratch segment (not possible for these events).
  std::span<const std::byte> encode_trade(const Stamp& stamp, std::string_view feed, const TradeEvent& trade);
  std::span<const std::byte> encode_status(const Stamp& stamp, std::string_view feed, const StatusEvent& status);

 private:
  template <typename Fill>
  std::span<const std::byte> encode(Fill&& fill);

  // The builder's first segment; MallocMessageBuilder zeroes what it used when
  // destroyed, so it is ready for the next message.
  alignas(8) std::array<capnp::word, kScratchWords> scratch_;
  // Output: segment table (8 bytes for one segment) + the segment.
  alignas(8) std::array<std::byte, (kScratchWords + 1) * sizeof(capnp::word)> out_;
};

// envelope_to_json: one JSON object (no newline) with snake_case keys that
// mirror the schema: seq, mono_ns, wall_ns, exch_ns, feed, symbol, kind, then
// the kind's fields; decimals as exact strings. `framed` is one framed message
// (as produced by EnvelopeEncoder; any alignment). Errors name what is wrong.
absl::StatusOr<std::string> envelope_to_json(std::span<const std::byte> framed);

}  // namespace tickwire::connector
