#include "tickwire/connector/envelope_codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>

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

capnp::Text::Reader text(std::string_view s) { return capnp::Text::Reader(s.data(), s.size()); }

void set_header(proto::Envelope::Builder env, const Stamp& stamp, std::string_view feed,
                std::string_view symbol, std::uint64_t exch_ns) {
  env.setSequence(stamp.sequence);
  env.setMonoNs(stamp.mono_ns);
  env.setWallNs(stamp.wall_ns);
  env.setExchNs(exch_ns);
  env.setFeed(text(feed));
  env.setSymbol(text(symbol));
}

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
std::span<const std::byte> EnvelopeEncoder::encode(Fill&& fill) {
  if (!ok()) return {};
  // Safety: the scratch buffer is cache-line aligned, kScratchWords words
  // long, zeroed, and used by one builder at a time.
  capnp::word* scratch = reinterpret_cast<capnp::word*>(scratch_.data());
  capnp::MallocMessageBuilder message(kj::arrayPtr(scratch, kScratchWords));
  fill(message.initRoot<proto::Envelope>());
  auto segments = message.getSegmentsForOutput();
  // A message that outgrew the scratch segment spilled into a heap segment;
  // that cannot happen for the bounded events encoded here, and is reported
  // to the caller (an empty span) rather than framed from the heap.
  if (segments.size() != 1 || segments[0].begin() != scratch) return {};
  // Framing of a single-segment message: u32 (segment count - 1) = 0, u32 size in words.
  const auto words = static_cast<std::uint32_t>(segments[0].size());
  const std::uint32_t header[2] = {0, words};
  std::byte* out = out_.data();
  std::memcpy(out, header, sizeof header);
  std::memcpy(out + sizeof header, segments[0].begin(), words * sizeof(capnp::word));
  return {out, sizeof header + words * sizeof(capnp::word)};
}

std::span<const std::byte> EnvelopeEncoder::encode_trade(const Stamp& stamp, std::string_view feed,
                                                         const TradeEvent& trade) {
  return encode([&](proto::Envelope::Builder env) {
    set_header(env, stamp, feed, trade.symbol, trade.event_ns);
    auto t = env.initTrade();
    t.setTradeId(trade.trade_id);
    set_decimal(t.initPrice(), trade.price);
    set_decimal(t.initSize(), trade.size);
    t.setAggressor(to_proto(trade.aggressor));
    t.setTradeNs(trade.trade_ns);
  });
}

std::span<const std::byte> EnvelopeEncoder::encode_status(const Stamp& stamp, std::string_view feed,
                                                          const StatusEvent& status) {
  return encode([&](proto::Envelope::Builder env) {
    set_header(env, stamp, feed, status.symbol, 0);
    auto s = env.initStatus();
    s.setKind(static_cast<proto::Status::Kind>(status.kind));
    s.setFromId(status.from_id);
    s.setToId(status.to_id);
    s.setCount(status.count);
    s.setDetail(text(status.detail.substr(0, kMaxStatusDetail)));
  });
}

}  // namespace tickwire::connector
