// StreamTracker: per stream (symbol x channel) the last exchange id the feed
// accepted, so that duplicates are dropped, gaps are detected with their exact
// id range, and a make-before-break rollover switches connections without
// losing or repeating a message.
//
// Two kinds of stream:
// - contiguous: ids step by exactly 1 (Binance trade `t`, aggTrade `a`, and a
//   depth diff's `U..u` range, which must start at previous `u` + 1);
// - monotonic: ids only increase (bookTicker `u`, shared with the book); an
//   older id is stale and dropped;
// - increasing: trade ids that only increase but skip (Binance USD-M `trade`):
//   no gap can be told, and an id below the last that was never accepted is a
//   late trade, not a repeat. The last kRecentIds accepted ids tell the two
//   apart; one older than all of them is taken for a repeat. During a
//   rollover the newer connection's new ids are held back until it repeats
//   an accepted one or the old connection reaches the highest held (a new
//   id from it proves nothing about what the old one has in flight);
// - non-decreasing: ids never decrease and distinct messages may share one
//   (Bybit's trade `seq`): a smaller id is a duplicate; at the last id a
//   message is told from a repeat by its tag (a hash of the venue's own
//   trade id, Bybit's `i`): the tags accepted at the last id are remembered
//   (up to kMaxTags of them) until the id moves on. Without a tag (0) an
//   equal id is new data. During a rollover the newer connection's messages
//   ahead of the stream are held back, as on a contiguous stream: no gap can
//   be told here, so only the old connection can deliver what lies between.
//
// During a rollover two connections (generations) deliver the same stream.
// A message is accepted from either connection if it is the next one; one
// that repeats an accepted id is a duplicate. A message from the newer
// connection that is ahead of the stream (the old connection has not caught
// up yet) is held back by dropping it: the old connection is still open and
// will deliver it. The stream has overlapped once the newer connection repeats
// an accepted id or delivers the next one, or the old connection has caught up
// with everything held back: from then on the newer connection alone is
// complete, and when every stream that had data has overlapped the old
// connection can close. Pure logic, no I/O, no allocation after
// add_stream() but a non-decreasing stream's tag table, once.
#pragma once

#include <cstdint>
#include <vector>

namespace tickwire::connector {

enum class StreamKind : std::uint8_t { kContiguous, kMonotonic, kIncreasing, kNonDecreasing };

// Verdict on one message.
struct IdVerdict {
  enum Kind : std::uint8_t {
    kAccept,     // new data: publish it
    kDuplicate,  // already accepted (or older): drop it, count it
    kHeld,       // ahead, from the newer connection during a rollover: drop it, the old one will deliver it
    kGap,        // new data after missing ids [gap_from, gap_to]: publish it, journal the gap
  };
  Kind kind = kAccept;
  std::uint64_t gap_from = 0;
  std::uint64_t gap_to = 0;
};

class StreamTracker {
 public:
  // add_stream: a new stream, returning its index (dense, from 0).
  std::size_t add_stream(StreamKind kind);
  std::size_t size() const { return streams_.size(); }

  // check: the verdict on a message of `stream` covering exchange ids
  // [first, last] (first == last for one-id messages) that arrived on
  // connection `generation`; an accepted message advances the stream.
  // `tag` (non-decreasing streams only, 0 = none): what tells two messages
  // at one id apart.
  IdVerdict check(std::size_t stream, std::uint64_t first, std::uint64_t last, std::uint32_t generation,
                  std::uint64_t tag = 0);

  // rolling_to: a rollover to connection `generation` is in progress.
  bool rolling_to(std::uint32_t generation) const { return rolling_ && new_generation_ == generation; }
  // begin_rollover: connection `generation` (newer than all before) starts
  // delivering the same streams; a second call for the same generation
  // changes nothing.
  void begin_rollover(std::uint32_t generation);
  // overlapped: every stream that has had data since begin_rollover() has
  // overlapped; true when no rollover is in progress.
  bool overlapped() const;
  // not_overlapped: how many streams are still waiting to overlap.
  std::size_t not_overlapped() const;
  // end_rollover: the old connection is gone; the newer one is the only one.
  void end_rollover();
  bool rolling_over() const { return rolling_; }

  // last_id: the last accepted id of `stream` (0 before the first).
  std::uint64_t last_id(std::size_t stream) const { return streams_[stream].last; }
  // reset: forget `stream`'s position (after a resync the next id is taken as is).
  void reset(std::size_t stream);

 private:
  static constexpr std::size_t kRecentIds = 64;
  // kTagSlots: the open-addressed table of a non-decreasing stream's tags at
  // its last id (allocated at its first tagged message, 32 KiB); at most
  // kMaxTags are remembered, beyond that a repeat at the same id is not told.
  static constexpr std::size_t kTagSlots = 4096;
  static constexpr std::size_t kMaxTags = 3072;
  struct Stream {
    StreamKind kind = StreamKind::kContiguous;
    std::uint64_t last = 0;         // last accepted id; 0 = none yet
    std::uint64_t held_max = 0;     // the highest id held back from the newer connection
    bool overlapped = true;         // no rollover pending for this stream
    std::vector<std::uint64_t> recent;  // kIncreasing: the last accepted ids (a ring; 0 = empty slot)
    std::size_t recent_next = 0;
    std::vector<std::uint64_t> tags;        // kNonDecreasing: tags accepted at `last` (0 = empty slot)
    std::vector<std::uint16_t> tag_slots;   // the slots of `tags` in use, to empty them when `last` moves
  };
  // accept_increasing: the verdict on id `id` of a kIncreasing stream.
  IdVerdict accept_increasing(Stream& s, std::uint64_t id, bool from_new);
  // accept_non_decreasing: the verdict on id `id` (tag `tag`) of a kNonDecreasing stream.
  IdVerdict accept_non_decreasing(Stream& s, std::uint64_t id, std::uint64_t tag, bool from_new);
  // remember_tag: records `tag` at the stream's last id; false if it was there already.
  static bool remember_tag(Stream& s, std::uint64_t tag);
  static void forget_tags(Stream& s);
  bool is_new(std::uint32_t generation) const { return rolling_ && generation == new_generation_; }

  std::vector<Stream> streams_;
  bool rolling_ = false;
  std::uint32_t new_generation_ = 0;
};

}  // namespace tickwire::connector
