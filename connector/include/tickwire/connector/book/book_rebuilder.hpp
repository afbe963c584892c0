// BookRebuilder: order books rebuilt from journal records, as `tickwire
// replay DIR --from T --books` needs them: the book of every (feed, symbol)
// as of the last record applied, from its latest BookSnapshot record and the
// BookDelta records after it.
//
// The connector journals a book's deltas only while the book is synced, and a
// BookSnapshot after every (re)sync and every `book_snapshot_interval_ms`, so
// the rules are:
// - a BookSnapshot replaces the book (it becomes valid);
// - a BookDelta applies to a valid book (one with a negative size makes it
//   invalid); a delta for an invalid book is ignored;
// - a Status `gap` or `rejected` naming the symbol whose detail begins
//   "book " (what the feed pipeline writes for a book gap, an invalid book or
//   a rejected snapshot) invalidates its book (the connector resyncs it and
//   journals a snapshot when it has);
// - a Status `connected` whose count is not above 1 (the connector's first
//   connection after a start; records written before the count existed say 0)
//   invalidates every book of that feed: a restarted connector syncs anew;
// - a journal gap (records lost: dropped or damaged) invalidates every book.
// An invalid book stays out of books() until its next snapshot.
// Not thread-safe; allocates freely (a tool, not the hot path).
#pragma once

#include <absl/status/status.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tickwire/connector/book/order_book.hpp"
#include "tickwire/connector/events.hpp"
#include "tickwire/journal/reader.hpp"

namespace tickwire::connector::book {

class BookRebuilder {
 public:
  // Image: one valid book as of the record that last changed it.
  struct Image {
    std::string feed;
    std::string symbol;
    std::string instrument;
    InstrumentKind instrument_kind = InstrumentKind::kUnknown;
    std::uint64_t last_update_id = 0;  // the exchange's update id the book is valid at
    std::uint64_t seq = 0;             // the record that last changed it (snapshot or delta)
    std::uint64_t mono_ns = 0;
    std::uint64_t wall_ns = 0;
    std::vector<PriceLevel> bids;  // best first
    std::vector<PriceLevel> asks;  // best first
  };

  // apply: one record, in sequence order. An Envelope that cannot be decoded
  // invalidates every book (it may have been a delta) and is returned as an
  // error naming its seq; the rebuilder stays usable.
  absl::Status apply(const journal::RecordView& record);

  // books: every valid book, ordered by feed then symbol.
  std::vector<Image> books() const;

  // needs_earlier_start: some book got a delta before anything in the
  // applied records said what it was (a snapshot, or an event that
  // invalidates it): its snapshot is earlier than the first record applied.
  bool needs_earlier_start() const { return needs_earlier_start_; }

 private:
  struct Book {
    std::string instrument;
    InstrumentKind instrument_kind = InstrumentKind::kUnknown;
    OrderBook book{0};
    bool valid = false;
    bool known = false;  // a snapshot or an invalidating event was applied for it
    std::uint64_t last_update_id = 0;
    std::uint64_t seq = 0, mono_ns = 0, wall_ns = 0;
  };
  using Key = std::pair<std::string, std::string>;  // feed, symbol

  void invalidate_feed(const std::string& feed);
  void invalidate_all();

  std::map<Key, Book> books_;
  std::set<std::string> feeds_restarted_;  // feeds whose restart was applied: every book of theirs is known
  bool all_known_ = false;                 // a journal gap was applied: every book is known (invalid until a snapshot)
  bool needs_earlier_start_ = false;
  std::vector<PriceLevel> bids_, asks_;    // scratch
};

}  // namespace tickwire::connector::book
