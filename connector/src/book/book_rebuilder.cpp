// BookRebuilder: see book_rebuilder.hpp for the rules.
#include "tickwire/connector/book/book_rebuilder.hpp"

#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>

#include <cstring>
#include <string_view>

#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/proto/market_data.capnp.h"

namespace tickwire::connector::book {
namespace {

void read_levels(capnp::List<proto::Level>::Reader levels, std::vector<PriceLevel>& out) {
  out.clear();
  out.reserve(levels.size());
  for (auto level : levels) {
    out.push_back({Decimal{level.getPrice().getMantissa(), level.getPrice().getExponent()},
                   Decimal{level.getSize().getMantissa(), level.getSize().getExponent()}});
  }
}

std::string text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// is_book_detail: the feed pipeline's book gap and book rejection details all
// begin "book " ("book update ids missing: ...", "book invalid after ...",
// "book snapshot ..."); a trade-id gap or a rejected trade frame does not
// touch the book.
bool is_book_detail(capnp::Text::Reader detail) {
  return std::string_view(detail.cStr(), detail.size()).starts_with("book ");
}

}  // namespace

void BookRebuilder::invalidate_feed(const std::string& feed) {
  for (auto& [key, b] : books_) {
    if (key.first == feed) b.valid = false;
  }
  feeds_restarted_.insert(feed);
}

void BookRebuilder::invalidate_all() {
  for (auto& [key, b] : books_) b.valid = false;
  all_known_ = true;
}

absl::Status BookRebuilder::apply(const journal::RecordView& r) {
  if (r.made_gap || r.type == journal::kTypeGap) {
    invalidate_all();  // records lost: any of them may have been a delta
    return absl::OkStatus();
  }
  if (r.type != kEnvelopeRecordType) return absl::OkStatus();  // the journal's own records (segment ends)
  if (r.payload.empty() || r.payload.size() % sizeof(capnp::word) != 0) {
    invalidate_all();
    return absl::DataLossError(fmt::format("seq {}: envelope of {} bytes is not whole 8-byte words", r.seq,
                                           r.payload.size()));
  }
  // Journal payloads need not be 8-byte aligned: an aligned copy.
  std::vector<capnp::word> words(r.payload.size() / sizeof(capnp::word));
  std::memcpy(words.data(), r.payload.data(), r.payload.size());
  // Cap'n Proto reports malformed input by throwing kj::Exception: caught at this edge.
  kj::Maybe<kj::Exception> error = kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
    const auto env = reader.getRoot<proto::Envelope>();
    const std::string feed = text(env.getFeed());
    switch (env.which()) {
      case proto::Envelope::BOOK_SNAPSHOT: {
        const auto snap = env.getBookSnapshot();
        Book& b = books_[{feed, text(env.getSymbol())}];
        read_levels(snap.getBids(), bids_);
        read_levels(snap.getAsks(), asks_);
        b.valid = b.book.load(bids_, asks_);
        b.known = true;
        b.last_update_id = snap.getLastUpdateId();
        b.instrument = text(env.getInstrument());
        b.instrument_kind = static_cast<InstrumentKind>(env.getInstrumentKind());
        b.seq = r.seq;
        b.mono_ns = r.mono_ns;
        b.wall_ns = r.wall_ns;
        return;
      }
      case proto::Envelope::BOOK_DELTA: {
        const auto delta = env.getBookDelta();
        Book& b = books_[{feed, text(env.getSymbol())}];
        if (!b.valid) {
          if (!b.known && !all_known_ && !feeds_restarted_.contains(feed)) needs_earlier_start_ = true;
          return;
        }
        read_levels(delta.getBids(), bids_);
        read_levels(delta.getAsks(), asks_);
        b.valid = b.book.apply(bids_, asks_);
        b.last_update_id = delta.getLastUpdateId();
        b.seq = r.seq;
        b.mono_ns = r.mono_ns;
        b.wall_ns = r.wall_ns;
        return;
      }
      case proto::Envelope::STATUS: {
        const auto status = env.getStatus();
        const auto kind = status.getKind();
        if (kind == proto::Status::Kind::CONNECTED && status.getCount() <= 1) {
          invalidate_feed(feed);
        } else if ((kind == proto::Status::Kind::GAP || kind == proto::Status::Kind::REJECTED) &&
                   env.getSymbol().size() != 0 && is_book_detail(status.getDetail())) {
          Book& b = books_[{feed, text(env.getSymbol())}];
          b.valid = false;
          b.known = true;
        }
        return;
      }
      default:
        return;
    }
  });
  KJ_IF_MAYBE(e, error) {
    invalidate_all();
    return absl::DataLossError(fmt::format("seq {}: undecodable envelope: {}", r.seq, e->getDescription().cStr()));
  }
  return absl::OkStatus();
}

std::vector<BookRebuilder::Image> BookRebuilder::books() const {
  std::vector<Image> out;
  for (const auto& [key, b] : books_) {
    if (!b.valid) continue;
    Image image{key.first, key.second, b.instrument, b.instrument_kind, b.last_update_id, b.seq, b.mono_ns,
                b.wall_ns, b.book.levels(BookSide::kBid), b.book.levels(BookSide::kAsk)};
    out.push_back(std::move(image));
  }
  return out;
}

}  // namespace tickwire::connector::book
