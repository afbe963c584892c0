#include "tickwire/middleware/broadcast_ring.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "absl/status/status.h"

namespace tickwire::middleware {
namespace {

using L = BroadcastLayout;

constexpr std::uint64_t align8(std::uint64_t n) { return (n + (L::kAlignment - 1)) & ~std::uint64_t{L::kAlignment - 1}; }

constexpr std::uint64_t pack_header(std::uint64_t length, std::uint32_t type) {
  return (static_cast<std::uint64_t>(type) << 32) | (length & 0xFFFF'FFFFULL);
}

constexpr std::uint64_t kNoCheckpoint = UINT64_MAX;

// The capacity of a span, or an error naming what is wrong with it.
absl::StatusOr<std::size_t> data_capacity(std::span<std::byte> memory, const char* who) {
  if (reinterpret_cast<std::uintptr_t>(memory.data()) % kCacheLineSize != 0) {
    return absl::InvalidArgumentError(fmt::format("{}: memory at {}: expected {}-byte alignment", who,
                                                  static_cast<const void*>(memory.data()), kCacheLineSize));
  }
  const std::size_t capacity = memory.size() > L::kTrailerBytes ? memory.size() - L::kTrailerBytes : 0;
  if (!std::has_single_bit(capacity) || capacity < L::kMinCapacity || capacity > L::kMaxCapacity) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: memory of {} bytes: expected a power-of-two data capacity in [{}, {}] plus a {}-byte trailer", who,
        memory.size(), L::kMinCapacity, L::kMaxCapacity, L::kTrailerBytes));
  }
  return capacity;
}

unsigned block_shift_for(std::size_t capacity) {
  return static_cast<unsigned>(std::countr_zero(capacity) - std::countr_zero(L::kCheckpoints));
}

}  // namespace

absl::StatusOr<BroadcastWriter> BroadcastWriter::create(std::span<std::byte> memory, std::uint64_t epoch) {
  auto capacity = data_capacity(memory, "BroadcastWriter::create");
  if (!capacity.ok()) return capacity.status();
  BroadcastWriter w;
  w.capacity_ = *capacity;
  w.mask_ = w.capacity_ - 1;
  w.block_shift_ = block_shift_for(w.capacity_);
  w.epoch_ = epoch;
  w.data_ = detail::SharedWords(memory.data());
  w.trailer_ = detail::SharedWords(memory.data() + w.capacity_);

  // The epoch first: a reader of an earlier format checks it after every
  // copy, and every word this writer stores later is a release store that
  // carries this epoch with it.
  // relaxed: published to readers by the release stores of the words that follow.
  w.trailer_.at(L::kEpochOffset).store(epoch, std::memory_order_relaxed);
  // relaxed (the four below): published by the release store of the magic.
  w.trailer_.at(L::kTailIntentOffset).store(0, std::memory_order_relaxed);
  w.trailer_.at(L::kTailOffset).store(0, std::memory_order_relaxed);
  w.trailer_.at(L::kLatestOffset).store(0, std::memory_order_relaxed);
  for (std::size_t i = 0; i < L::kCheckpoints; ++i) {
    w.trailer_.at(L::kCheckpointOffset + i * 8).store(kNoCheckpoint, std::memory_order_relaxed);
  }
  w.trailer_.at(L::kCapacityOffset).store(w.capacity_, std::memory_order_relaxed);
  // release: pairs with the acquire load of the magic in BroadcastReader::attach().
  w.trailer_.at(L::kMagicOffset).store(L::kMagic, std::memory_order_release);
  return w;
}

void BroadcastWriter::checkpoint(std::uint64_t position) noexcept {
  const std::uint64_t block = position >> block_shift_;
  if (block == last_block_) return;
  last_block_ = block;
  // release: pairs with the acquire load of the checkpoint in BroadcastReader::resync().
  trailer_.at(L::kCheckpointOffset + (block % L::kCheckpoints) * 8).store(position, std::memory_order_release);
}

bool BroadcastWriter::publish(std::uint32_t type, std::span<const std::byte> payload) noexcept {
  if (payload.size() > max_payload() || type == L::kPaddingType) return false;
  const std::uint64_t record_length = L::kRecordHeaderBytes + payload.size();
  const std::uint64_t aligned = align8(record_length);
  std::uint64_t start = tail_;
  std::size_t offset = static_cast<std::size_t>(start & mask_);
  const std::size_t to_end = capacity_ - offset;

  // Tail intent before any word of the record: a reader that sees one of the
  // words below also sees this intent, and so knows its copy may be torn.
  // relaxed (both): published by the release stores of the words that follow.
  if (to_end < aligned) {
    trailer_.at(L::kTailIntentOffset).store(start + to_end + aligned, std::memory_order_relaxed);
    store_word(offset, pack_header(to_end, L::kPaddingType));
    checkpoint(start);
    start += to_end;
    offset = 0;
  } else {
    trailer_.at(L::kTailIntentOffset).store(start + aligned, std::memory_order_relaxed);
  }

  store_word(offset, pack_header(record_length, type));
  store_word(offset + 8, next_seq_);
  const std::byte* src = payload.data();
  const std::size_t full_words = payload.size() / 8;
  std::size_t at = offset + L::kRecordHeaderBytes;
  for (std::size_t i = 0; i < full_words; ++i, at += 8) {
    std::uint64_t word;
    // Safety: src has payload.size() >= 8 * (i + 1) bytes; word is a plain integer.
    std::memcpy(&word, src + i * 8, 8);
    store_word(at, word);
  }
  if (const std::size_t rest = payload.size() % 8; rest != 0) {
    std::uint64_t word = 0;
    // Safety: exactly the `rest` bytes left in src, into the low bytes of word.
    std::memcpy(&word, src + full_words * 8, rest);
    store_word(at, word);
  }
  checkpoint(start);
  // release: pairs with the acquire load of latest in BroadcastReader::resync().
  trailer_.at(L::kLatestOffset).store(start, std::memory_order_release);
  tail_ = start + aligned;
  // release: pairs with the acquire load of the tail in BroadcastReader::try_read().
  trailer_.at(L::kTailOffset).store(tail_, std::memory_order_release);
  ++next_seq_;
  return true;
}

absl::StatusOr<BroadcastReader> BroadcastReader::attach(std::span<std::byte> memory,
                                                        BroadcastReaderOptions options) {
  auto capacity = data_capacity(memory, "BroadcastReader::attach");
  if (!capacity.ok()) return capacity.status();
  BroadcastReader r;
  r.capacity_ = *capacity;
  r.mask_ = r.capacity_ - 1;
  r.block_shift_ = block_shift_for(r.capacity_);
  r.data_ = detail::SharedWords(memory.data());
  r.trailer_ = detail::SharedWords(memory.data() + r.capacity_);
  r.options_ = options;
  // acquire: pairs with the release store of the magic in BroadcastWriter::create().
  const std::uint64_t magic = r.trailer_.at(L::kMagicOffset).load(std::memory_order_acquire);
  if (magic != L::kMagic) {
    return absl::FailedPreconditionError(fmt::format(
        "BroadcastReader::attach: trailer magic {:#x}: expected {:#x} (no writer has formatted this memory)", magic,
        L::kMagic));
  }
  // relaxed (both): ordered after the magic by its acquire load.
  const std::uint64_t formatted = r.trailer_.at(L::kCapacityOffset).load(std::memory_order_relaxed);
  if (formatted != r.capacity_) {
    return absl::FailedPreconditionError(fmt::format(
        "BroadcastReader::attach: memory holds {} data bytes but the writer formatted {}", r.capacity_, formatted));
  }
  r.epoch_ = r.trailer_.at(L::kEpochOffset).load(std::memory_order_relaxed);
  // acquire: pairs with the release store of the tail in BroadcastWriter::publish().
  const std::uint64_t tail = r.trailer_.at(L::kTailOffset).load(std::memory_order_acquire);
  if (options.start_at_oldest) {
    r.next_ = std::min(tail, r.oldest_intact_record());
  } else {
    r.next_ = tail;
    r.have_expected_seq_ = tail == 0;  // from a fresh format the first record is seq 0
    if (tail != 0) {
      // The record before the tail is the latest; its seq + 1 comes next.
      // acquire: pairs with the release store of latest in BroadcastWriter::publish().
      const std::uint64_t latest = r.trailer_.at(L::kLatestOffset).load(std::memory_order_acquire);
      const std::uint64_t seq = r.load_word(static_cast<std::size_t>(latest & r.mask_) + 8);
      if (r.intact(latest)) {
        r.expected_seq_ = seq + 1;
        r.have_expected_seq_ = true;
      }
    }
  }
  r.scratch_.resize(L::max_payload(r.capacity_));
  return r;
}

bool BroadcastReader::intact(std::uint64_t position) const noexcept {
  // The writer has claimed [tail, intent); a byte at `position` is rewritten
  // only once intent passes position + capacity.
  // relaxed: ordered after the copy by the acquire word loads before it; a
  // word the writer overwrote carries this intent (release) with it.
  return trailer_.at(L::kTailIntentOffset).load(std::memory_order_relaxed) <= position + capacity_;
}

void BroadcastReader::copy_out(std::size_t offset, std::byte* out, std::size_t length) const noexcept {
  const std::size_t full_words = length / 8;
  for (std::size_t i = 0; i < full_words; ++i) {
    const std::uint64_t word = load_word(offset + i * 8);
    // Safety: out has length >= 8 * (i + 1) bytes.
    std::memcpy(out + i * 8, &word, 8);
  }
  if (const std::size_t rest = length % 8; rest != 0) {
    const std::uint64_t word = load_word(offset + full_words * 8);
    // Safety: the last `rest` bytes of out, from the low bytes of word.
    std::memcpy(out + full_words * 8, &word, rest);
  }
}

std::uint64_t BroadcastReader::oldest_intact_record() const noexcept {
  // relaxed: a bound only; whatever this finds is validated again before use.
  const std::uint64_t intent = trailer_.at(L::kTailIntentOffset).load(std::memory_order_relaxed);
  const std::uint64_t lowest = intent > capacity_ ? intent - capacity_ : 0;
  const std::uint64_t block_bytes = std::uint64_t{1} << block_shift_;
  const std::uint64_t first_block = (lowest + block_bytes - 1) >> block_shift_;
  for (std::uint64_t b = first_block; b < first_block + L::kCheckpoints && (b << block_shift_) < intent; ++b) {
    // acquire: pairs with the release store in BroadcastWriter::checkpoint().
    const std::uint64_t c =
        trailer_.at(L::kCheckpointOffset + (b % L::kCheckpoints) * 8).load(std::memory_order_acquire);
    if (c != kNoCheckpoint && (c >> block_shift_) == b && c >= lowest) return c;
  }
  // No record starts in the intact blocks (a few huge records): fall back,
  // as Aeron does, to the latest complete record.
  // acquire: pairs with the release store of latest in BroadcastWriter::publish().
  return trailer_.at(L::kLatestOffset).load(std::memory_order_acquire);
}

void BroadcastReader::resync() noexcept {
  ++lapped_count_;
  const std::uint64_t target = std::max(next_, oldest_intact_record());
  lost_bytes_ += target - next_;
  next_ = target;
}

ReadResult BroadcastReader::try_read(std::span<std::byte> out) noexcept {
  for (;;) {
    // relaxed: an early restart check; the copy below is checked again after it.
    if (trailer_.at(L::kEpochOffset).load(std::memory_order_relaxed) != epoch_) {
      return {ReadStatus::kWriterRestarted};
    }
    // acquire: pairs with the release store of the tail in BroadcastWriter::publish().
    const std::uint64_t tail = trailer_.at(L::kTailOffset).load(std::memory_order_acquire);
    if (next_ >= tail) return {ReadStatus::kEmpty};
    if (!intact(next_)) {
      resync();
      continue;
    }
    const std::size_t offset = static_cast<std::size_t>(next_ & mask_);
    const std::uint64_t header = load_word(offset);
    const auto length = static_cast<std::uint32_t>(header & 0xFFFF'FFFFULL);
    const auto type = static_cast<std::uint32_t>(header >> 32);
    const bool sane = type == L::kPaddingType
                          ? length == capacity_ - offset
                          : length >= L::kRecordHeaderBytes &&
                                length - L::kRecordHeaderBytes <= L::max_payload(capacity_) &&
                                offset + align8(length) <= capacity_;
    if (!intact(next_)) {
      resync();
      continue;
    }
    if (!sane) {
      // An intact header that makes no sense means foreign writes to the
      // span: skip to the tail rather than parse it.
      ++lapped_count_;
      lost_bytes_ += tail - next_;
      next_ = tail;
      continue;
    }
    if (type == L::kPaddingType) {
      next_ += length;
      continue;
    }
    const std::uint32_t payload_length = length - static_cast<std::uint32_t>(L::kRecordHeaderBytes);
    if (out.size() < payload_length) return {ReadStatus::kBufferTooSmall, type, payload_length};
    const std::uint64_t seq = load_word(offset + 8);
    copy_out(offset + L::kRecordHeaderBytes, out.data(), payload_length);
    if (!intact(next_)) {
      resync();
      continue;
    }
    // relaxed: ordered after the copy by the acquire word loads; a word from a
    // re-formatted span carries the new epoch with it.
    if (trailer_.at(L::kEpochOffset).load(std::memory_order_relaxed) != epoch_) {
      return {ReadStatus::kWriterRestarted};
    }
    if (have_expected_seq_ && seq > expected_seq_) lost_records_ += seq - expected_seq_;
    expected_seq_ = seq + 1;
    have_expected_seq_ = true;
    next_ += align8(length);
    return {ReadStatus::kRecord, type, payload_length, seq};
  }
}

double BroadcastReader::backpressure() const noexcept {
  // relaxed: a statistic; no data is read on the strength of it.
  const std::uint64_t tail = trailer_.at(L::kTailOffset).load(std::memory_order_relaxed);
  const std::uint64_t backlog = tail > next_ ? tail - next_ : 0;
  return std::min(1.0, static_cast<double>(backlog) / static_cast<double>(capacity_));
}

}  // namespace tickwire::middleware
