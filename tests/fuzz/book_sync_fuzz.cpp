// libFuzzer target: BookSync + OrderBook driven by a fuzzed sequence of
// deltas and snapshots (a small binary command language, so the fuzzer
// reaches deep states quickly). Invariants: no crash; no negative level ever
// rests in the book; the book is never crossed after an accepted apply or a
// sync; a valid book's update id never goes backwards; results are
// consistent with needs_snapshot(); the buffer stays within its bounds.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "tickwire/connector/book/book_sync.hpp"

namespace {

using tickwire::connector::BookDeltaEvent;
using tickwire::connector::BookSnapshotEvent;
using tickwire::connector::Decimal;
using tickwire::connector::PriceLevel;
using tickwire::connector::book::BookSide;
using tickwire::connector::book::BookSync;
using tickwire::connector::book::OrderBook;
using tickwire::connector::book::SyncOptions;
using tickwire::connector::book::SyncOutcome;
using tickwire::fuzz::check;

// Reader: takes bytes from the input, zeros once it runs out.
struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

// level: prices on a small grid (90..110) with varying exponents (so equal
// values with different text meet), sizes mostly small, sometimes zero or
// negative. Bids and asks share the grid, so crossing updates are common.
PriceLevel level(Reader& r) {
  const std::uint8_t a = r.byte();
  const std::uint8_t b = r.byte();
  const std::int64_t price = 90 + (a % 21);
  const std::int8_t exp = static_cast<std::int8_t>(-(a / 21 % 3));
  std::int64_t scale = 1;
  for (int i = 0; i < -exp; ++i) scale *= 10;
  std::int64_t size = b % 8;
  if (b >= 250) size = -1;
  return {{price * scale, exp}, {size, static_cast<std::int8_t>(-(b / 64))}};
}

void check_book(const OrderBook& book) {
  for (auto side : {BookSide::kBid, BookSide::kAsk}) {
    for (const auto& l : book.levels(side)) check(l.size.mantissa > 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader r{data, size};
  SyncOptions options;
  options.max_buffered_deltas = 1 + r.byte() % 16;
  options.max_buffered_levels = 1 + r.byte() % 64;
  options.book_reserve = 8;
  BookSync sync(options);
  std::uint64_t next_id = 1 + r.byte();
  std::vector<PriceLevel> bids, asks;
  std::uint64_t last_valid = 0;
  bool had_valid = false;
  while (r.n > 0) {
    const std::uint8_t op = r.byte();
    bids.clear();
    asks.clear();
    const std::size_t nb = r.byte() % 6;
    const std::size_t na = r.byte() % 6;
    for (std::size_t i = 0; i < nb; ++i) bids.push_back(level(r));
    for (std::size_t i = 0; i < na; ++i) asks.push_back(level(r));
    tickwire::connector::book::SyncResult result;
    if (op % 8 == 0) {
      // A snapshot at an id near the stream position.
      std::uint64_t id = next_id + r.byte() % 8;
      if (id >= 4) id -= 4;
      result = sync.on_snapshot(BookSnapshotEvent{"F", id, bids, asks});
      check(result.outcome == SyncOutcome::kSynced || result.outcome == SyncOutcome::kSnapshotTooOld ||
            result.outcome == SyncOutcome::kGap || result.outcome == SyncOutcome::kCrossed ||
            result.outcome == SyncOutcome::kNegative);
      if (result.outcome == SyncOutcome::kSynced) {
        check(!sync.needs_snapshot());
        had_valid = false;  // a new snapshot may legitimately move the id back
      }
    } else {
      // Mostly contiguous deltas; sometimes a gap, a repeat or an overlap.
      std::uint64_t first = next_id;
      const std::uint8_t jump = r.byte();
      if (jump >= 240) first += jump - 239;
      if (jump < 8 && first > jump) first -= jump;
      std::uint64_t last = first + r.byte() % 4;
      if (jump == 8) last = first - 1;  // malformed when first > 0
      next_id = last + 1;
      result = sync.on_delta(BookDeltaEvent{"F", 0, first, last, bids, asks});
      if (result.outcome == SyncOutcome::kGap) check(result.from_id <= result.to_id);
    }
    const bool valid = !sync.needs_snapshot();
    if (result.outcome == SyncOutcome::kApplied || result.outcome == SyncOutcome::kSynced) check(valid);
    if (result.outcome == SyncOutcome::kGap || result.outcome == SyncOutcome::kCrossed ||
        result.outcome == SyncOutcome::kNegative || result.outcome == SyncOutcome::kSnapshotTooOld) {
      check(!valid);
      check(sync.book().empty());
    }
    if (valid) {
      check(!sync.book().crossed());
      if (had_valid) check(sync.last_update_id() >= last_valid);
      last_valid = sync.last_update_id();
      had_valid = true;
    } else {
      had_valid = false;
    }
    check_book(sync.book());
    check(sync.buffered() <= options.max_buffered_deltas);
  }
  return 0;
}
