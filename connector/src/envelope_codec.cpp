#include "tickwire/connector/envelope_codec.hpp"

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "tickwire/proto/market_data.capnp.h"

namespace tickwire::connector {
namespace {

proto::Side to_proto(Side s) {
  switch (s) {
    case Side::kBuy: return proto::Side::BUY;
    case Side::kSell: return proto::Side::SELL;
    case Side::kUnknown: break;
  }
  return proto::Side::UNKNOWN;
}

void set_decimal(proto::Decimal::Builder b, middleware::Decimal d) {
  b.setMantissa(d.mantissa);
  b.setExponent(d.exponent);
}

// fill_text: copies `s` into a Text field initialised to its size. Views into
// a receive buffer are not NUL-terminated (nor is an empty view's null data),
// which a Text::Reader built from them requires, so the bytes are copied in.
void fill_text(capnp::Text::Builder field, std::string_view s) {
  if (!s.empty()) std::memcpy(field.begin(), s.data(), s.size());
}

capnp::uint text_size(std::string_view s) { return static_cast<capnp::uint>(s.size()); }

// level_elements: where a Level list's elements start. A Level has no data
// section, only its two pointers, so an element's (empty) data section
// begins at its pointer words.
capnp::word* level_elements(capnp::List<proto::Level>::Builder list) {
  static_assert(capnp::_::structSize<proto::Level>().data == 0 && capnp::_::structSize<proto::Level>().pointers == 2,
                "a Level is two pointers: write_deferred_levels writes them");
  static_assert(capnp::_::structSize<proto::Decimal>().data == 2 && capnp::_::structSize<proto::Decimal>().pointers == 0,
                "a Decimal is two data words: write_deferred_levels writes them");
  if (list.size() == 0) return nullptr;
  return reinterpret_cast<capnp::word*>(capnp::AnyStruct::Builder(list[0]).getDataSection().begin());
}

// struct_pointer: a Cap'n Proto struct pointer at `at` to a struct of two
// data words and no pointers at `target`, later in the same segment.
std::uint64_t struct_pointer(const capnp::word* at, const capnp::word* target) noexcept {
  // Offset in words from the end of the pointer; kind 0 (struct) in the low 2 bits.
  const auto offset = static_cast<std::uint64_t>(target - (at + 1));
  return (offset << 2) | (std::uint64_t{2} << 32);  // data words 2, pointers 0
}

std::size_t text_words(std::string_view s) { return (s.size() + 1 + sizeof(capnp::word) - 1) / sizeof(capnp::word); }

// small_words: an upper bound on the words of an Envelope with these texts
// and `levels` book levels: root pointer 1 + Envelope 8 + texts + the body
// struct (at most 5) + its decimals (4 x 2) + for books 2 list tags and 6
// words per level (2 pointers + 2 two-word decimals), plus slack.
// (Envelope 10 words with the instrument pointer and kind; bodies up to 8
// decimals for a liquidation.)
std::size_t small_words(std::string_view feed, std::string_view symbol, std::size_t levels) {
  return 48 + text_words(feed) + text_words(symbol) + 6 * levels;
}

// FieldOffsets: where a template's per-event fields are in their structs'
// data sections, from the compiled schema (bytes; the Bool in bits). A data
// field is stored XOR its default, and every default here is zero, so a
// field's bytes are its value's (little-endian); the template tests compare
// every byte with the builder's.
struct FieldOffsets {
  std::size_t sequence, mono_ns, wall_ns, exch_ns;                         // Envelope
  std::size_t trade_id, trade_ns, first_trade_id, last_trade_id, aggressor;  // Trade
  std::size_t aggregate_bit;                                               // Trade, in bits
  std::size_t trade_id_text;                                               // Trade, pointer section
  std::size_t update_id;                                                   // Quote
  std::size_t first_update_id, last_update_id, cross_sequence;             // BookDelta
  std::size_t mantissa, exponent;                                          // Decimal
};

template <typename T>
std::size_t field_slot(const char* name) {
  return capnp::Schema::from<T>().getFieldByName(name).getProto().getSlot().getOffset();
}

const FieldOffsets& field_offsets() {
  // Slot offsets count in units of the field's own size.
  static const FieldOffsets offsets{
      .sequence = 8 * field_slot<proto::Envelope>("sequence"),
      .mono_ns = 8 * field_slot<proto::Envelope>("monoNs"),
      .wall_ns = 8 * field_slot<proto::Envelope>("wallNs"),
      .exch_ns = 8 * field_slot<proto::Envelope>("exchNs"),
      .trade_id = 8 * field_slot<proto::Trade>("tradeId"),
      .trade_ns = 8 * field_slot<proto::Trade>("tradeNs"),
      .first_trade_id = 8 * field_slot<proto::Trade>("firstTradeId"),
      .last_trade_id = 8 * field_slot<proto::Trade>("lastTradeId"),
      .aggressor = 2 * field_slot<proto::Trade>("aggressor"),
      .aggregate_bit = field_slot<proto::Trade>("aggregate"),
      .trade_id_text = 8 * field_slot<proto::Trade>("tradeIdText"),
      .update_id = 8 * field_slot<proto::Quote>("updateId"),
      .first_update_id = 8 * field_slot<proto::BookDelta>("firstUpdateId"),
      .last_update_id = 8 * field_slot<proto::BookDelta>("lastUpdateId"),
      .cross_sequence = 8 * field_slot<proto::BookDelta>("crossSequence"),
      .mantissa = 8 * field_slot<proto::Decimal>("mantissa"),
      .exponent = field_slot<proto::Decimal>("exponent"),
  };
  return offsets;
}

void put_u64(std::byte* at, std::uint64_t v) noexcept { std::memcpy(at, &v, sizeof v); }

// put_envelope: the Envelope's per-event fields into its data section.
void put_envelope(std::byte* envelope, const FieldOffsets& f, const Stamp& stamp, std::uint64_t exch_ns) noexcept {
  put_u64(envelope + f.sequence, stamp.sequence);
  put_u64(envelope + f.mono_ns, stamp.mono_ns);
  put_u64(envelope + f.wall_ns, stamp.wall_ns);
  put_u64(envelope + f.exch_ns, exch_ns);
}

void put_decimal(std::byte* data, const FieldOffsets& f, middleware::Decimal d) noexcept {
  put_u64(data + f.mantissa, static_cast<std::uint64_t>(d.mantissa));
  data[f.exponent] = static_cast<std::byte>(static_cast<std::uint8_t>(d.exponent));
}

// pointer_section: where a struct's pointer section starts (right after its data section).
template <typename Builder>
const std::byte* pointer_section(Builder b) {
  const auto data = capnp::AnyStruct::Builder(std::move(b)).getDataSection();
  return reinterpret_cast<const std::byte*>(data.begin() + data.size());
}

// data_section: where a struct's data section starts.
template <typename Builder>
const std::byte* data_section(Builder b) {
  return reinterpret_cast<const std::byte*>(capnp::AnyStruct::Builder(std::move(b)).getDataSection().begin());
}

void fill_trade(proto::Trade::Builder t, const TradeEvent& trade) {
  t.setTradeId(trade.trade_id);
  set_decimal(t.initPrice(), trade.price);
  set_decimal(t.initSize(), trade.size);
  t.setAggressor(to_proto(trade.aggressor));
  t.setTradeNs(trade.trade_ns);
  if (trade.aggregate) {
    t.setAggregate(true);
    t.setFirstTradeId(trade.first_trade_id);
    t.setLastTradeId(trade.last_trade_id);
  }
  if (!trade.id_text.empty()) fill_text(t.initTradeIdText(text_size(trade.id_text)), trade.id_text);
}

void fill_quote(proto::Quote::Builder q, const QuoteEvent& quote) {
  q.setUpdateId(quote.update_id);
  set_decimal(q.initBidPrice(), quote.bid_price);
  set_decimal(q.initBidSize(), quote.bid_size);
  set_decimal(q.initAskPrice(), quote.ask_price);
  set_decimal(q.initAskSize(), quote.ask_size);
}

}  // namespace

template <typename Builder>
void EnvelopeEncoder::set_header(Builder env, const Stamp& stamp, std::string_view feed, std::string_view symbol,
                                 std::uint64_t exch_ns) {
  env.setSequence(stamp.sequence);
  env.setMonoNs(stamp.mono_ns);
  env.setWallNs(stamp.wall_ns);
  env.setExchNs(exch_ns);
  fill_text(env.initFeed(text_size(feed)), feed);
  fill_text(env.initSymbol(text_size(symbol)), symbol);
  if (!instrument_.empty()) {
    fill_text(env.initInstrument(text_size(instrument_)), instrument_);
    env.setInstrumentKind(static_cast<proto::InstrumentKind>(instrument_kind_));
  }
  if (contract_ != nullptr) {
    auto c = env.initContract();
    set_decimal(c.initValue(), contract_->value);
    fill_text(c.initCurrency(text_size(contract_->currency)), contract_->currency);
  }
}

namespace {

}  // namespace

EnvelopeEncoder::EnvelopeEncoder(middleware::BufferPool& pool)
    : pool_(pool), scratch_(pool.acquire(kScratchWords * sizeof(capnp::word))), out_(pool.acquire(kBufferBytes)) {
  // Cap'n Proto requires a zeroed first segment.
  if (scratch_) std::memset(scratch_.data(), 0, kScratchWords * sizeof(capnp::word));
}

absl::Status EnvelopeEncoder::status() const {
  if (!scratch_) return pool_.failure_status(scratch_, "envelope encoder scratch segment");
  if (!out_) return pool_.failure_status(out_, "envelope encoder output buffer");
  return absl::OkStatus();
}

template <typename Fill>
std::span<const std::byte> EnvelopeEncoder::encode(std::size_t words_needed, Fill&& fill) {
  if (!ok()) return {};
  // The instrument applies to this one call.
  struct ClearInstrument {
    EnvelopeEncoder* self;
    ~ClearInstrument() { self->clear_instrument(); }
  } clear{this};
  words_needed += text_words(instrument_);
  // The Contract struct (2 pointers), its two-word Decimal and its text.
  if (contract_ != nullptr) words_needed += 4 + text_words(contract_->currency);
  capnp::word* scratch = nullptr;
  std::size_t scratch_words = 0;
  if (words_needed <= kScratchWords) {
    // Safety: the scratch buffer is cache-line aligned, kScratchWords words
    // long, zeroed, and used by one builder at a time.
    scratch = reinterpret_cast<capnp::word*>(scratch_.data());
    scratch_words = kScratchWords;
  } else {
    if (big_scratch_words_ < words_needed) {
      // Cap'n Proto requires a zeroed first segment; the builder re-zeroes
      // what it used, so only a fresh allocation needs clearing.
      big_scratch_ = std::make_unique<capnp::word[]>(words_needed);
      std::memset(static_cast<void*>(big_scratch_.get()), 0, words_needed * sizeof(capnp::word));
      big_scratch_words_ = words_needed;
    }
    scratch = big_scratch_.get();
    scratch_words = big_scratch_words_;
  }
  // The builder zeroes the part of the scratch it used when destroyed, at
  // the end of this scope, after the bytes were copied out.
  capnp::MallocMessageBuilder message(kj::arrayPtr(scratch, scratch_words));
  fill(message.initRoot<proto::Envelope>());
  auto segments = message.getSegmentsForOutput();
  // A message that outgrew its first segment spilled into a heap segment; the
  // size estimates make that impossible, and it is reported to the caller (an
  // empty span) rather than framed from the heap.
  if (segments.size() != 1 || segments[0].begin() != scratch) return {};
  // Book levels: the builder sized their lists; their Decimals go after all
  // it wrote, in the same segment (see write_deferred_levels).
  const std::size_t built = segments[0].size();
  std::size_t deferred_words = 0;
  for (std::size_t i = 0; i < deferred_count_; ++i) deferred_words += 4 * deferred_[i].levels.size();
  if (built + deferred_words > scratch_words) return {};
  const std::size_t segment_words = static_cast<std::size_t>(write_deferred_levels(scratch + built) - scratch);
  // Framing of a single-segment message: u32 (segment count - 1) = 0, u32 size in words.
  const auto words = static_cast<std::uint32_t>(segment_words);
  const std::uint32_t header[2] = {0, words};
  const std::size_t total = sizeof header + words * sizeof(capnp::word);
  std::byte* out = out_.data();
  if (total > kBufferBytes) {
    if (big_out_.size() < total) big_out_.resize(total);
    out = big_out_.data();
  }
  std::memcpy(out, header, sizeof header);
  std::memcpy(out + sizeof header, scratch, words * sizeof(capnp::word));
  // The builder zeroes what it wrote; this zeroes what was written after it.
  std::memset(static_cast<void*>(scratch + built), 0, deferred_words * sizeof(capnp::word));
  return {out, total};
}

capnp::word* EnvelopeEncoder::write_deferred_levels(capnp::word* next) noexcept {
  static_assert(std::endian::native == std::endian::little, "Cap'n Proto words are little-endian");
  // Each level is an element of two struct pointers (price, size), each to a
  // Decimal of two data words: the mantissa, then the exponent in the low
  // byte (fields XOR their defaults, which are 0). This is what the
  // builder's initPrice()/initSize() write, without its per-struct
  // allocation and bounds checks; the one segment stays valid Cap'n Proto
  // (tests decode every record with the reader and with the capnp tool).
  for (std::size_t l = 0; l < deferred_count_; ++l) {
    capnp::word* element = deferred_[l].elements;
    for (const PriceLevel& level : deferred_[l].levels) {
      for (const middleware::Decimal& d : {level.price, level.size}) {
        const std::uint64_t pointer = struct_pointer(element, next);
        const auto mantissa = static_cast<std::uint64_t>(d.mantissa);
        const std::uint64_t exponent = static_cast<std::uint8_t>(d.exponent);
        std::memcpy(static_cast<void*>(element), &pointer, sizeof pointer);
        std::memcpy(static_cast<void*>(next), &mantissa, sizeof mantissa);
        std::memcpy(static_cast<void*>(next + 1), &exponent, sizeof exponent);
        ++element;
        next += 2;
      }
    }
  }
  deferred_count_ = 0;
  return next;
}

std::span<const std::byte> EnvelopeEncoder::encode_trade(const Stamp& stamp, std::string_view feed,
                                                         const TradeEvent& trade, std::size_t slot) {
  const Template* t = template_for(TemplateKind::kTrade, slot, feed, trade.symbol);
  // An empty text stays a null pointer: no words.
  const std::size_t text_bytes = trade.id_text.empty() ? 0 : 8 * text_words(trade.id_text);
  const std::size_t total = t == nullptr ? 0 : t->framed.size() + text_bytes;
  if (t == nullptr || total > kBufferBytes) {
    return encode(small_words(feed, trade.symbol, 0) + text_words(trade.id_text), [&](proto::Envelope::Builder env) {
      set_header(env, stamp, feed, trade.symbol, trade.event_ns);
      fill_trade(env.initTrade(), trade);
    });
  }
  return from_template(*t, [&](std::byte* envelope, std::byte* body, const std::array<std::size_t, 4>& decimals,
                               std::byte* framed) {
    const FieldOffsets& f = field_offsets();
    put_envelope(envelope, f, stamp, trade.event_ns);
    put_u64(body + f.trade_id, trade.trade_id);
    put_u64(body + f.trade_ns, trade.trade_ns);
    // As the builder: the range only on an aggregate (the template's are zero).
    put_u64(body + f.first_trade_id, trade.aggregate ? trade.first_trade_id : 0);
    put_u64(body + f.last_trade_id, trade.aggregate ? trade.last_trade_id : 0);
    const auto aggressor = static_cast<std::uint16_t>(to_proto(trade.aggressor));
    std::memcpy(body + f.aggressor, &aggressor, sizeof aggressor);
    const auto bit = static_cast<std::byte>(1u << (f.aggregate_bit % 8));
    std::byte& flags = body[f.aggregate_bit / 8];
    flags = trade.aggregate ? (flags | bit) : (flags & ~bit);
    put_decimal(framed + decimals[0], f, trade.price);
    put_decimal(framed + decimals[1], f, trade.size);
    // The venue's own id text, the builder's last allocation: after the template.
    if (!trade.id_text.empty()) write_text(framed, t->framed.size(), t->pointers + f.trade_id_text, trade.id_text);
  }, total);
}

std::span<const std::byte> EnvelopeEncoder::encode_quote(const Stamp& stamp, std::string_view feed,
                                                         const QuoteEvent& quote, std::size_t slot) {
  const Template* t = template_for(TemplateKind::kQuote, slot, feed, quote.symbol);
  if (t == nullptr) {
    return encode(small_words(feed, quote.symbol, 0), [&](proto::Envelope::Builder env) {
      set_header(env, stamp, feed, quote.symbol, quote.event_ns);
      fill_quote(env.initQuote(), quote);
    });
  }
  return from_template(*t, [&](std::byte* envelope, std::byte* body, const std::array<std::size_t, 4>& decimals,
                               std::byte* framed) {
    const FieldOffsets& f = field_offsets();
    put_envelope(envelope, f, stamp, quote.event_ns);
    put_u64(body + f.update_id, quote.update_id);
    put_decimal(framed + decimals[0], f, quote.bid_price);
    put_decimal(framed + decimals[1], f, quote.bid_size);
    put_decimal(framed + decimals[2], f, quote.ask_price);
    put_decimal(framed + decimals[3], f, quote.ask_size);
  });
}

bool EnvelopeEncoder::template_matches(const Template& t, std::string_view feed,
                                       std::string_view symbol) const noexcept {
  if (t.framed.empty() || t.feed != feed || t.symbol != symbol || t.instrument != instrument_ ||
      t.instrument_kind != instrument_kind_ || t.has_contract != (contract_ != nullptr)) {
    return false;
  }
  return contract_ == nullptr ||
         (t.contract_value == contract_->value && t.contract_currency == contract_->currency);
}

const EnvelopeEncoder::Template* EnvelopeEncoder::template_for(TemplateKind kind, std::size_t slot,
                                                                std::string_view feed, std::string_view symbol) {
  if (slot == kNoSlot || !ok()) return nullptr;
  std::vector<Template>& templates = kind == TemplateKind::kTrade   ? trade_templates_
                                     : kind == TemplateKind::kQuote ? quote_templates_
                                                                    : delta_templates_;
  // A slot is a small index (a symbol id); anything larger is the caller's
  // mistake and costs only the template.
  if (slot >= templates.size()) {
    if (slot >= 1'000'000) return nullptr;
    templates.resize(slot + 1);
  }
  Template& t = templates[slot];
  if (template_matches(t, feed, symbol)) return &t;
  return build_template(kind, t, feed, symbol) ? &t : nullptr;
}

bool EnvelopeEncoder::build_template(TemplateKind kind, Template& t, std::string_view feed, std::string_view symbol) {
  // encode() clears the instrument after its call; the caller's encode still needs it.
  const std::string_view instrument = instrument_;
  const InstrumentKind instrument_kind = instrument_kind_;
  const ContractSpec* contract = contract_;
  const std::byte* envelope = nullptr;
  const std::byte* body = nullptr;
  std::array<const std::byte*, 4> decimals{};
  const std::byte* pointers = nullptr;
  const Stamp zero{0, 0, 0};
  std::span<const std::byte> bytes;
  if (kind == TemplateKind::kTrade) {
    TradeEvent trade{};
    trade.symbol = symbol;
    bytes = encode(small_words(feed, symbol, 0), [&](proto::Envelope::Builder env) {
      set_header(env, zero, feed, symbol, 0);
      auto b = env.initTrade();
      fill_trade(b, trade);
      envelope = data_section(env);
      body = data_section(b);
      decimals = {data_section(b.getPrice()), data_section(b.getSize()), nullptr, nullptr};
      pointers = pointer_section(b);
    });
  } else if (kind == TemplateKind::kBookDelta) {
    bytes = encode(small_words(feed, symbol, 0), [&](proto::Envelope::Builder env) {
      set_header(env, zero, feed, symbol, 0);
      auto b = env.initBookDelta();
      b.initBids(0);
      b.initAsks(0);
      envelope = data_section(env);
      body = data_section(b);
      pointers = pointer_section(b);
    });
  } else {
    QuoteEvent quote{};
    quote.symbol = symbol;
    bytes = encode(small_words(feed, symbol, 0), [&](proto::Envelope::Builder env) {
      set_header(env, zero, feed, symbol, 0);
      auto b = env.initQuote();
      fill_quote(b, quote);
      envelope = data_section(env);
      body = data_section(b);
      decimals = {data_section(b.getBidPrice()), data_section(b.getBidSize()), data_section(b.getAskPrice()),
                  data_section(b.getAskSize())};
    });
  }
  set_instrument(instrument, instrument_kind, contract);
  t.framed.clear();
  // The builder wrote into the scratch segment, which the framed bytes copy
  // after their 8-byte segment table: a position in the segment is one in
  // the template 8 bytes on.
  const auto* segment = reinterpret_cast<const std::byte*>(scratch_.data());
  const auto offset = [&](const std::byte* p) -> std::size_t {
    return p == nullptr ? 0 : static_cast<std::size_t>(p - segment) + 8;
  };
  if (bytes.empty() || bytes.data() != out_.data() || envelope < segment || body < segment ||
      offset(envelope) >= bytes.size() || offset(body) >= bytes.size()) {
    return false;
  }
  for (std::size_t i = 0; i < decimals.size(); ++i) {
    if (decimals[i] != nullptr && (decimals[i] < segment || offset(decimals[i]) + 16 > bytes.size())) return false;
    t.decimals[i] = offset(decimals[i]);
  }
  t.envelope = offset(envelope);
  t.body = offset(body);
  std::size_t keep = bytes.size();
  if (kind == TemplateKind::kTrade) {
    if (pointers == nullptr || pointers < segment || offset(pointers) + 24 > bytes.size()) return false;
    t.pointers = offset(pointers);
  }
  if (kind == TemplateKind::kBookDelta) {
    // The builder put the two empty lists' tag words right after the
    // BookDelta's two pointers; the template ends before them (their
    // pointers are rewritten for every delta).
    if (pointers == nullptr || pointers < segment || offset(pointers) + 32 != bytes.size()) return false;
    t.pointers = offset(pointers);
    keep = t.pointers + 16;
  }
  t.framed.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
  t.feed = feed;
  t.symbol = symbol;
  t.instrument = instrument;
  t.instrument_kind = instrument_kind;
  t.has_contract = contract != nullptr;
  t.contract_value = contract != nullptr ? contract->value : middleware::Decimal{};
  t.contract_currency = contract != nullptr ? contract->currency : std::string{};
  return true;
}

template <typename Patch>
std::span<const std::byte> EnvelopeEncoder::from_template(const Template& t, Patch&& patch, std::size_t total) {
  clear_instrument();
  std::byte* out = out_.data();
  // Safety: a template is a small message the builder wrote into out_ (at
  // most kBufferBytes), and every offset was checked against its size; a
  // caller that writes past the template passes its total, at most
  // kBufferBytes.
  std::memcpy(out, t.framed.data(), t.framed.size());
  if (total == 0) total = t.framed.size();
  patch(out + t.envelope, out + t.body, t.decimals, out);
  // The segment table's size: the words after its 8 bytes.
  const auto words = static_cast<std::uint32_t>((total - 8) / sizeof(capnp::word));
  std::memcpy(out + 4, &words, sizeof words);
  return {out, total};
}

void EnvelopeEncoder::write_text(std::byte* framed, std::size_t end, std::size_t pointer,
                                 std::string_view text) noexcept {
  // Zero the padding (the buffer holds the last message's bytes), then the text.
  const std::size_t words = text_words(text);
  std::memset(framed + end, 0, 8 * words);
  std::memcpy(framed + end, text.data(), text.size());
  // A list pointer: kind 1 and the offset in words from the end of the
  // pointer in the low half; element size 2 (bytes) and the count, NUL
  // included, in the high half.
  const auto offset = static_cast<std::uint64_t>((end - pointer) / sizeof(capnp::word) - 1);
  put_u64(framed + pointer, (offset << 2) | 1u | ((((text.size() + 1) << 3) | 2u) << 32));
}

void EnvelopeEncoder::write_delta_lists(std::byte* framed, std::size_t end, std::size_t lists,
                                        const BookDeltaEvent& delta) noexcept {
  std::size_t next = end;  // the bids' tag word
  std::size_t pointer = lists;
  for (const std::span<const PriceLevel> side : {std::span<const PriceLevel>(delta.bids),
                                                 std::span<const PriceLevel>(delta.asks)}) {
    const std::uint64_t n = side.size();
    // The list pointer: kind 1 (list) and the offset in words to the tag in
    // the low half; element size 7 (inline composite) and the words after
    // the tag in the high half. The tag: the element count where a struct
    // pointer's offset goes, then 0 data words and 2 pointer words.
    const std::uint64_t offset = (next - pointer) / sizeof(capnp::word) - 1;
    put_u64(framed + pointer, (offset << 2) | 1u | ((((2 * n) << 3) | 7u) << 32));
    put_u64(framed + next, (n << 2) | (std::uint64_t{2} << 48));
    // The elements' pointers to their Decimals, and the Decimals after both
    // lists, as for a builder-made list.
    defer_levels(reinterpret_cast<capnp::word*>(framed + next + 8), side);
    next += 8 * (1 + 2 * n);
    pointer += 8;
  }
  write_deferred_levels(reinterpret_cast<capnp::word*>(framed + next));
}

std::span<const std::byte> EnvelopeEncoder::encode_book_delta(const Stamp& stamp, std::string_view feed,
                                                              const BookDeltaEvent& delta, std::size_t slot) {
  const std::size_t levels = delta.bids.size() + delta.asks.size();
  const Template* t = template_for(TemplateKind::kBookDelta, slot, feed, delta.symbol);
  // After the template: each list's tag word and elements (a Level is two
  // pointer words), then every level's two Decimals (two words each).
  const std::size_t total = t == nullptr ? 0 : t->framed.size() + 8 * (2 + 2 * levels) + 32 * levels;
  if (t != nullptr && total <= kBufferBytes) {
    return from_template(*t, [&](std::byte* envelope, std::byte* body, const std::array<std::size_t, 4>&,
                                 std::byte* framed) {
      const FieldOffsets& f = field_offsets();
      put_envelope(envelope, f, stamp, delta.event_ns);
      put_u64(body + f.first_update_id, delta.first_update_id);
      put_u64(body + f.last_update_id, delta.last_update_id);
      put_u64(body + f.cross_sequence, delta.cross_sequence);
      write_delta_lists(framed, t->framed.size(), t->pointers, delta);
    }, total);
  }
  return encode(small_words(feed, delta.symbol, levels), [&](proto::Envelope::Builder env) {
    set_header(env, stamp, feed, delta.symbol, delta.event_ns);
    auto d = env.initBookDelta();
    d.setFirstUpdateId(delta.first_update_id);
    d.setLastUpdateId(delta.last_update_id);
    d.setCrossSequence(delta.cross_sequence);
    defer_levels(level_elements(d.initBids(static_cast<capnp::uint>(delta.bids.size()))), delta.bids);
    defer_levels(level_elements(d.initAsks(static_cast<capnp::uint>(delta.asks.size()))), delta.asks);
  });
}

std::span<const std::byte> EnvelopeEncoder::encode_book_snapshot(const Stamp& stamp, std::string_view feed,
                                                                 const BookSnapshotEvent& snapshot) {
  const std::size_t levels = snapshot.bids.size() + snapshot.asks.size();
  return encode(small_words(feed, snapshot.symbol, levels), [&](proto::Envelope::Builder env) {
    set_header(env, stamp, feed, snapshot.symbol, snapshot.event_ns);
    auto s = env.initBookSnapshot();
    s.setLastUpdateId(snapshot.last_update_id);
    s.setCrossSequence(snapshot.cross_sequence);
    defer_levels(level_elements(s.initBids(static_cast<capnp::uint>(snapshot.bids.size()))), snapshot.bids);
    defer_levels(level_elements(s.initAsks(static_cast<capnp::uint>(snapshot.asks.size()))), snapshot.asks);
  });
}

std::span<const std::byte> EnvelopeEncoder::encode_funding(const Stamp& stamp, std::string_view feed,
                                                           const FundingEvent& funding) {
  return encode(small_words(feed, funding.symbol, 0), [&](proto::Envelope::Builder env) {
    set_header(env, stamp, feed, funding.symbol, funding.event_ns);
    auto f = env.initFunding();
    set_decimal(f.initMarkPrice(), funding.mark_price);
    set_decimal(f.initIndexPrice(), funding.index_price);
    set_decimal(f.initSettlePrice(), funding.settle_price);
    set_decimal(f.initFundingRate(), funding.funding_rate);
    f.setNextFundingNs(funding.next_funding_ns);
  });
}

std::span<const std::byte> EnvelopeEncoder::encode_liquidation(const Stamp& stamp, std::string_view feed,
                                                               const LiquidationEvent& liquidation) {
  return encode(small_words(feed, liquidation.symbol, 0), [&](proto::Envelope::Builder env) {
    set_header(env, stamp, feed, liquidation.symbol, liquidation.event_ns);
    auto l = env.initLiquidation();
    l.setSide(to_proto(liquidation.side));
    set_decimal(l.initPrice(), liquidation.price);
    set_decimal(l.initAveragePrice(), liquidation.average_price);
    set_decimal(l.initSize(), liquidation.size);
    set_decimal(l.initFilledSize(), liquidation.filled_size);
    l.setTradeNs(liquidation.trade_ns);
  });
}

std::span<const std::byte> EnvelopeEncoder::encode_open_interest(const Stamp& stamp, std::string_view feed,
                                                                 const OpenInterestEvent& open_interest) {
  return encode(small_words(feed, open_interest.symbol, 0), [&](proto::Envelope::Builder env) {
    set_header(env, stamp, feed, open_interest.symbol, open_interest.event_ns);
    set_decimal(env.initOpenInterest().initOpenInterest(), open_interest.open_interest);
  });
}

std::span<const std::byte> EnvelopeEncoder::encode_status(const Stamp& stamp, std::string_view feed,
                                                          const StatusEvent& status) {
  const std::size_t detail = std::min(status.detail.size(), kMaxStatusDetail);
  return encode(small_words(feed, status.symbol, 0) + detail / sizeof(capnp::word) + 1,
                [&](proto::Envelope::Builder env) {
    set_header(env, stamp, feed, status.symbol, 0);
    auto s = env.initStatus();
    s.setKind(static_cast<proto::Status::Kind>(status.kind));
    s.setFromId(status.from_id);
    s.setToId(status.to_id);
    s.setCount(status.count);
    const std::string_view detail_text = status.detail.substr(0, kMaxStatusDetail);
    fill_text(s.initDetail(text_size(detail_text)), detail_text);
  });
}

}  // namespace tickwire::connector
