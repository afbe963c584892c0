// EnvelopeEncoder: builds the Cap'n Proto Envelope for one event into a
// reused, zeroed first segment and frames it as a standard single-message
// stream (segment table + segment), the bytes that go to transports and the
// journal. Both buffers come from a BufferPool once, at construction. One per
// feed thread; encode() does not allocate, except that a book message too big
// for the pool buffers (about 330 levels) goes through a pair of owned
// buffers that grow to the largest such message seen and are then reused,
// and that a symbol's first trade, quote or delta with a slot builds its
// template (see encode_trade).
// envelope_to_json: the replay side (allocates).
#pragma once

#include <capnp/common.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>
#include <string_view>

#include "absl/status/statusor.h"
#include "tickwire/connector/events.hpp"
#include "tickwire/middleware/buffer_pool.hpp"

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
  // kBufferBytes: the pool size class both buffers are taken from.
  static constexpr std::size_t kBufferBytes = 16384;
  // kScratchWords: the first segment, sized so that segment table + segment
  // fit one kBufferBytes output buffer (a trade needs ~20 words).
  static constexpr std::size_t kScratchWords = (kBufferBytes - 8) / sizeof(capnp::word);

  // EnvelopeEncoder: takes its two buffers from `pool`; ok() says whether it got them.
  explicit EnvelopeEncoder(middleware::BufferPool& pool);
  // ok: both buffers were acquired; otherwise every encode returns empty and
  // status() says why.
  bool ok() const noexcept { return static_cast<bool>(scratch_) && static_cast<bool>(out_); }
  absl::Status status() const;

  // kMaxStatusDetail: a status detail longer than this is cut, so every
  // message fits the scratch segment.
  static constexpr std::size_t kMaxStatusDetail = 1024;

  // kNoSlot: encode with the builder, no template (see encode_trade).
  static constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);

  // encode_*: the framed message, valid until the next encode call; empty if
  // the encoder has no buffers (see ok()).
  // encode_trade: a trade, or an aggregate trade (trade.aggregate) with its
  // trade-id range. With a `slot` (the caller's small index for the symbol,
  // e.g. its SymbolId), the bytes come from a template kept in that slot: the
  // Envelope the builder wrote once for this feed, symbol and instrument with
  // every per-event field zero, copied and its fields written in place. The
  // bytes are the builder's, bit for bit; a slot whose template is for
  // another feed, symbol or instrument is rebuilt, and a trade with a
  // tradeIdText (variable length) has it written after the template, where
  // the builder puts it.
  std::span<const std::byte> encode_trade(const Stamp& stamp, std::string_view feed, const TradeEvent& trade,
                                          std::size_t slot = kNoSlot);
  std::span<const std::byte> encode_status(const Stamp& stamp, std::string_view feed, const StatusEvent& status);
  // encode_quote: best bid/offer; exchNs is the quote's event time (0 on
  // Binance spot). `slot`: as for encode_trade.
  std::span<const std::byte> encode_quote(const Stamp& stamp, std::string_view feed, const QuoteEvent& quote,
                                          std::size_t slot = kNoSlot);
  // encode_book_delta: the delta's levels in the order given. `slot`: as
  // for encode_trade; the template holds the Envelope and the BookDelta
  // struct, and the level lists (their sizes vary) are written after it in
  // the layout the builder gives them.
  std::span<const std::byte> encode_book_delta(const Stamp& stamp, std::string_view feed,
                                               const BookDeltaEvent& delta, std::size_t slot = kNoSlot);
  // encode_book_snapshot: the snapshot's levels, best first as given; exchNs is 0
  // (a REST snapshot carries no event time).
  std::span<const std::byte> encode_book_snapshot(const Stamp& stamp, std::string_view feed,
                                                  const BookSnapshotEvent& snapshot);
  // encode_funding / encode_liquidation / encode_open_interest: derivatives data.
  std::span<const std::byte> encode_funding(const Stamp& stamp, std::string_view feed, const FundingEvent& funding);
  std::span<const std::byte> encode_liquidation(const Stamp& stamp, std::string_view feed,
                                                const LiquidationEvent& liquidation);
  std::span<const std::byte> encode_open_interest(const Stamp& stamp, std::string_view feed,
                                                  const OpenInterestEvent& open_interest);

  // set_instrument: the normalized instrument the next encode call writes
  // (Envelope.instrument, instrumentKind, and the contract when not null);
  // it applies to that one call only. `name` and `contract` must stay valid
  // until then.
  void set_instrument(std::string_view name, InstrumentKind kind, const ContractSpec* contract = nullptr) noexcept {
    instrument_ = name;
    instrument_kind_ = kind;
    contract_ = contract;
  }

 private:
  // encode: builds with `fill` into a first segment of at least `words`
  // words (the pool's scratch if it is big enough, else the grown one).
  template <typename Fill>
  std::span<const std::byte> encode(std::size_t words, Fill&& fill);
  // set_header: the Envelope's common fields, and the instrument if one is set.
  template <typename Builder>
  void set_header(Builder env, const Stamp& stamp, std::string_view feed, std::string_view symbol,
                  std::uint64_t exch_ns);

  // defer_levels: `levels` go into the Level list whose elements' pointer
  // words start at `elements` (sized by the builder, left null): encode()
  // writes their Decimal structs itself once the builder is done.
  void defer_levels(capnp::word* elements, std::span<const PriceLevel> levels) noexcept {
    if (!levels.empty()) deferred_[deferred_count_++] = {elements, levels};
  }
  // write_deferred_levels: the deferred levels' Decimals from `next` on, and
  // the list elements' pointers to them; returns the end of what it wrote.
  capnp::word* write_deferred_levels(capnp::word* next) noexcept;

  // Template: a framed Envelope of one kind (trade, quote or book delta) for one feed,
  // symbol and instrument, as the builder wrote it with every per-event
  // field zero, and where the per-event fields are (byte offsets into
  // `framed` of the data sections that hold them).
  struct Template {
    std::vector<std::byte> framed;  // empty: not built
    std::string feed, symbol, instrument;
    InstrumentKind instrument_kind = InstrumentKind::kUnknown;
    bool has_contract = false;
    middleware::Decimal contract_value{};
    std::string contract_currency;
    std::size_t envelope = 0;               // the Envelope's data section
    std::size_t body = 0;                   // the Trade's, Quote's or BookDelta's
    std::array<std::size_t, 4> decimals{};  // the body's Decimals', in schema order
    std::size_t pointers = 0;               // the body's pointer section: a BookDelta's lists, a Trade's text
  };
  // TemplateKind: which template vector, and how a template is built.
  enum class TemplateKind { kTrade, kQuote, kBookDelta };
  // template_for: the template in `slot` for this feed, symbol and the
  // instrument set for this call, built if the slot holds none or another's;
  // null if there is no slot or the build failed (the caller then uses the
  // builder, with the instrument still set).
  const Template* template_for(TemplateKind kind, std::size_t slot, std::string_view feed, std::string_view symbol);
  bool template_matches(const Template& t, std::string_view feed, std::string_view symbol) const noexcept;
  bool build_template(TemplateKind kind, Template& t, std::string_view feed, std::string_view symbol);
  // from_template: a copy of `t` in the output buffer, for `patch` to fill in;
  // clears the instrument like every encode call.
  template <typename Patch>
  std::span<const std::byte> from_template(const Template& t, Patch&& patch, std::size_t total = 0);
  // write_delta_lists: a delta's bids and asks lists after the template's
  // `end` in `framed`, the BookDelta's list pointers at `lists` pointing to
  // them, and every level's Decimals after both lists (the builder's layout,
  // through defer_levels and write_deferred_levels).
  void write_delta_lists(std::byte* framed, std::size_t end, std::size_t lists, const BookDeltaEvent& delta) noexcept;
  // write_text: `text` as a Cap'n Proto Text (NUL-terminated, zero-padded to
  // a word) at `end` in `framed`, and the pointer at `pointer` to it.
  static void write_text(std::byte* framed, std::size_t end, std::size_t pointer, std::string_view text) noexcept;
  void clear_instrument() noexcept {
    instrument_ = {};
    contract_ = nullptr;
    deferred_count_ = 0;
  }

  // LevelList: a Level list the builder allocated (its elements' pointer
  // words) and the levels it is to hold.
  struct LevelList {
    capnp::word* elements = nullptr;
    std::span<const PriceLevel> levels;
  };

  middleware::BufferPool& pool_;
  std::array<LevelList, 2> deferred_{};  // a book's bids and asks
  std::size_t deferred_count_ = 0;
  std::string_view instrument_;
  InstrumentKind instrument_kind_ = InstrumentKind::kUnknown;
  const ContractSpec* contract_ = nullptr;
  // The builder's first segment; MallocMessageBuilder zeroes what it used when
  // destroyed, so it is ready for the next message.
  middleware::BufferPool::Handle scratch_;
  // Output: segment table (8 bytes for one segment) + the segment.
  middleware::BufferPool::Handle out_;
  // Large book messages: a zeroed first segment and an output buffer, grown
  // on demand and reused.
  std::unique_ptr<capnp::word[]> big_scratch_;
  std::size_t big_scratch_words_ = 0;
  std::vector<std::byte> big_out_;
  // Templates by the callers' slots (see encode_trade).
  std::vector<Template> trade_templates_;
  std::vector<Template> quote_templates_;
  std::vector<Template> delta_templates_;
};

// envelope_to_json: one JSON object (no newline) with snake_case keys that
// mirror the schema: seq, mono_ns, wall_ns, exch_ns, feed, symbol, kind, then
// the kind's fields; decimals as exact strings; book levels as [price, size]
// pairs. An aggregate trade has kind "agg_trade" and adds first_trade_id and
// last_trade_id; a trade with a tradeIdText (the venue's own id where
// trade_id is not it: Bybit) adds trade_id_text. Records with a normalized instrument add "instrument" and
// "instrument_kind" at the end, then, for a derivative sized in contracts,
// "contract_value" (a decimal string) and "contract_currency". Kinds: trade, agg_trade, quote,
// book_delta, book_snapshot, status, funding, liquidation, open_interest. `framed` is one framed message
// (as produced by EnvelopeEncoder; any alignment). Errors name what is wrong.
absl::StatusOr<std::string> envelope_to_json(std::span<const std::byte> framed);

// kEnvelopeCsvHeader: the column names of envelope_to_csv, one line, no newline.
inline constexpr std::string_view kEnvelopeCsvHeader =
    "seq,mono_ns,wall_ns,exch_ns,feed,symbol,kind,trade_id,price,size,aggressor,trade_ns,"
    "update_id,bid_price,bid_size,ask_price,ask_size,status,detail";

// envelope_to_csv: one CSV row (no newline) in kEnvelopeCsvHeader's columns;
// columns that do not apply to the record's kind are empty (book levels are
// not flattened: use jsonl for books; an aggregate trade is kind "agg_trade",
// its trade-id range is in jsonl only; a trade's detail is its tradeIdText,
// the venue's own id where trade_id is not it). Text fields are quoted (RFC 4180).
absl::StatusOr<std::string> envelope_to_csv(std::span<const std::byte> framed);

// envelope_symbol: the Envelope's symbol.
absl::StatusOr<std::string> envelope_symbol(std::span<const std::byte> framed);

}  // namespace tickwire::connector
