#include "tickwire/journal/mmap_ring.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <atomic>
#include <bit>
#include <cstring>

#include "tickwire/journal/crc32c.hpp"
#include "tickwire/journal/segment_format.hpp"

namespace tickwire::journal {
namespace {

// Format 2 adds each record's CRC32C. Format 1 (no CRC; type at 24, seq at 8,
// mono_ns at 16) is still read, so a ring a crashed older process left is
// drained, unchecked, and then replaced.
constexpr char kRingMagic[8] = {'T', 'W', 'J', 'R', 'I', 'N', 'G', '2'};
constexpr char kLegacyRingMagic[8] = {'T', 'W', 'J', 'R', 'I', 'N', 'G', '1'};
constexpr std::uint32_t kRingVersion = 2;
constexpr std::uint32_t kLegacyRingVersion = 1;
// Record field offsets (format 2). The CRC covers the length word (the commit
// word's low 32 bits, flag clear) and [kTypeAt, length): type, reserved, seq,
// mono_ns and payload, contiguous after it, as in a segment record.
constexpr std::size_t kCrcAt = 8;
constexpr std::size_t kTypeAt = 12;
constexpr std::size_t kSeqAt = 16;
constexpr std::size_t kMonoAt = 24;
constexpr std::uint64_t kPaddingFlag = 0x8000'0000u;
constexpr std::uint64_t kLengthMask = 0x7FFF'FFFFu;
// Header page fields (byte offsets). head and durable_seq have their own lines.
constexpr std::size_t kMagicOffset = 0;
constexpr std::size_t kVersionOffset = 8;
constexpr std::size_t kCapacityOffset = 16;
constexpr std::size_t kHeadOffset = middleware::kCacheLineSize;
constexpr std::size_t kDurableOffset = 2 * middleware::kCacheLineSize;
constexpr std::size_t kDroppedOffset = 3 * middleware::kCacheLineSize;  // zero in rings made before it was kept

std::uint64_t commit_word(std::uint64_t lap, std::uint64_t flags_and_length) {
  return (lap << 32) | flags_and_length;
}

// record_crc: the CRC32C of a format-2 record of `length` bytes at `rec`.
std::uint32_t record_crc(const std::byte* rec, std::uint32_t length) {
  // Safety: the caller checked [rec, rec + length) lies inside the data area, length >= kRingRecordHeaderSize.
  return crc32c_extend(crc32c(&length, sizeof length), rec + kTypeAt, length - kTypeAt);
}

}  // namespace

namespace {

// create_ring_file: a complete ring file (header, blocks reserved) under a
// temporary name, renamed into place, so a crash never leaves a half-made ring.
absl::Status create_ring_file(const std::filesystem::path& path, std::size_t capacity) {
  if (!std::has_single_bit(capacity) || capacity < 4096 || capacity > (std::size_t{1} << 31)) {
    return absl::InvalidArgumentError(
        fmt::format("{}: ring_bytes {} must be a power of two in [4096, 2^31]", path.string(), capacity));
  }
  std::filesystem::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  // O_EXCL: a file of that name (a planted link, say) is refused, never written through.
  auto file = io::open_file(tmp, O_RDWR | O_CREAT | O_EXCL);
  if (!file.ok()) return file.status();
  auto undo = [&](absl::Status s) {
    (void)file->close();
    (void)io::remove_file(tmp);
    return s;
  };
  if (auto s = file->allocate(kRingHeaderSize + capacity); !s.ok()) return undo(s);
  char header[24] = {};
  std::memcpy(header + kMagicOffset, kRingMagic, sizeof kRingMagic);
  std::memcpy(header + kVersionOffset, &kRingVersion, sizeof kRingVersion);
  std::uint64_t cap64 = capacity;
  std::memcpy(header + kCapacityOffset, &cap64, sizeof cap64);
  if (auto s = file->write_at(0, std::as_bytes(std::span(header))); !s.ok()) return undo(s);
  if (auto s = file->sync_data(); !s.ok()) return undo(s);
  if (auto s = file->close(); !s.ok()) return undo(s);
  if (auto s = io::rename_file(tmp, path); !s.ok()) return undo(s);
  return io::sync_directory(path.parent_path());
}

}  // namespace

absl::StatusOr<MmapRing> MmapRing::open(const std::filesystem::path& path, std::size_t capacity) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (auto s = create_ring_file(path, capacity); !s.ok()) return s;
  }
  auto file = io::open_file(path, O_RDWR);
  if (!file.ok()) return file.status();
  auto size = file->size();
  if (!size.ok()) return size.status();
  MmapRing ring;
  {
    char header[24] = {};
    auto got = file->read_at(0, std::as_writable_bytes(std::span(header)));
    if (!got.ok()) return got.status();
    std::uint64_t cap64 = 0;
    std::uint32_t version = 0;
    std::memcpy(&cap64, header + kCapacityOffset, sizeof cap64);
    std::memcpy(&version, header + kVersionOffset, sizeof version);
    const bool current = std::memcmp(header, kRingMagic, sizeof kRingMagic) == 0 && version == kRingVersion;
    const bool legacy =
        std::memcmp(header, kLegacyRingMagic, sizeof kLegacyRingMagic) == 0 && version == kLegacyRingVersion;
    if (*got != sizeof header || (!current && !legacy)) {
      return absl::DataLossError(fmt::format("{}: not a tickwire ring file (bad magic or version)", path.string()));
    }
    ring.legacy_ = legacy;
    if (!std::has_single_bit(cap64) || cap64 < 4096 || cap64 > (std::uint64_t{1} << 31) ||
        *size != kRingHeaderSize + cap64) {
      return absl::DataLossError(fmt::format("{}: capacity {} does not match file size {}", path.string(), cap64,
                                             *size));
    }
    capacity = static_cast<std::size_t>(cap64);
  }
  auto map = io::Mapping::map(*file, kRingHeaderSize + capacity, true);
  if (!map.ok()) return map.status();
  ring.file_ = std::move(*file);
  ring.map_ = std::move(*map);
  ring.capacity_ = capacity;
  ring.mask_ = capacity - 1;
  ring.shift_ = static_cast<unsigned>(std::countr_zero(capacity));
  // Pre-touch every page so the producer never page-faults on the hot path.
  for (std::size_t off = 0; off < ring.map_.size(); off += 4096) {
    // Safety: off < map size; the mapping is writable and no other thread uses it yet.
    volatile std::byte* b = ring.map_.data() + off;
    *b = *b;
  }
  ring.producer_->tail = ring.head();
  ring.producer_->head_cache = ring.producer_->tail;
  return ring;
}

std::uint64_t* MmapRing::head_word() const {
  // Safety: kHeadOffset is inside the 4096-byte header page and 8-aligned (mmap is page-aligned).
  return reinterpret_cast<std::uint64_t*>(map_.data() + kHeadOffset);
}

std::uint64_t* MmapRing::durable_word() const {
  // Safety: as head_word().
  return reinterpret_cast<std::uint64_t*>(map_.data() + kDurableOffset);
}

std::uint64_t* MmapRing::dropped_word() const {
  // Safety: as head_word().
  return reinterpret_cast<std::uint64_t*>(map_.data() + kDroppedOffset);
}

bool MmapRing::try_write(std::uint64_t seq, std::uint64_t mono_ns, std::uint16_t type,
                         std::span<const std::byte> payload) {
  if (payload.size() > max_payload() || legacy_) return false;
  Producer& p = *producer_;
  const std::size_t length = kRingRecordHeaderSize + payload.size();
  const std::size_t aligned = align_record(length);
  std::uint64_t pos = p.tail;
  std::size_t offset = pos & mask_;
  const std::size_t to_end = capacity_ - offset;
  // Room for the record (after a filler to the end, if it does not fit
  // there) and for the word after it, which is cleared before the record is
  // published: see below.
  const std::size_t need = (aligned <= to_end ? aligned : to_end + aligned) + kRecordAlign;
  if (pos + need - p.head_cache > capacity_) {
    // acquire: pairs with the release in release(); the consumer is done with
    // every byte before the head it published.
    p.head_cache = std::atomic_ref<std::uint64_t>(*head_word()).load(std::memory_order_acquire);
    if (pos + need - p.head_cache > capacity_) return false;
  }
  if (aligned > to_end) {
    // The record goes to offset 0; clear its commit word first, so a reader
    // that follows the filler finds "not yet" there, never last lap's bytes.
    // Safety: offset 0 is 8-aligned and inside the data area, and released (need covers it).
    // relaxed: ordered before the reader can get here by the release store of the filler below.
    std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(data())).store(0, std::memory_order_relaxed);
    // Safety: offset is 8-aligned and < capacity_, so the commit word lies inside the data area.
    auto* word = reinterpret_cast<std::uint64_t*>(data() + offset);
    // release: pairs with the acquire in read_at(); publishes the filler.
    std::atomic_ref<std::uint64_t>(*word).store(commit_word(pos >> shift_, kPaddingFlag | to_end),
                                                std::memory_order_release);
    pos += to_end;
    offset = 0;
  }
  std::byte* rec = data() + offset;
  // The header's checked part: type, the reserved half-word (zero), seq, mono_ns.
  static_assert(kSeqAt == kTypeAt + 4 && kMonoAt == kSeqAt + 8 && kRingRecordHeaderSize == kMonoAt + 8);
  std::byte head[kRingRecordHeaderSize - kTypeAt];
  const std::uint32_t type32 = type;
  std::memcpy(head, &type32, 4);
  std::memcpy(head + (kSeqAt - kTypeAt), &seq, 8);
  std::memcpy(head + (kMonoAt - kTypeAt), &mono_ns, 8);
  // The CRC of the bytes read_at() checks, taken from their sources: the
  // payload is hot in the caller's cache, while the ring's lines may still be
  // on their way (reading the copy back waited for them: about a tenth of the
  // feed thread's CPU at full rate, bench/RESULTS.md).
  const auto length32 = static_cast<std::uint32_t>(length);
  std::uint32_t crc = crc32c_extend(crc32c(&length32, sizeof length32), head, sizeof head);
  crc = crc32c_extend(crc, payload.data(), payload.size());
  // Safety: [offset, offset + aligned) lies inside the data area (aligned <= capacity_ - offset
  // here) and the consumer has released it (checked against head above).
  std::memcpy(rec + kTypeAt, head, sizeof head);
  if (!payload.empty()) std::memcpy(rec + kRingRecordHeaderSize, payload.data(), payload.size());
  std::memcpy(rec + kCrcAt, &crc, 4);
  // The word after the record is where a reader (the flusher, or recovery
  // after a crash) looks next. It still holds whatever the previous lap left
  // there, often payload bytes, since records fall on other boundaries each
  // lap, and those can look like a commit word of this lap. Clearing it
  // before publishing the record means every position a reader can reach
  // holds a committed record or zero.
  // Safety: (offset + aligned) & mask_ is 8-aligned, inside the data area, and released (need covers it).
  // relaxed: ordered before any reader can look there by the release store of the record below.
  std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(data() + ((offset + aligned) & mask_)))
      .store(0, std::memory_order_relaxed);
  // release: pairs with the acquire in read_at(); the record's bytes are
  // visible before its commit word is.
  std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(rec))
      .store(commit_word(pos >> shift_, length), std::memory_order_release);
  p.tail = pos + aligned;
  return true;
}

std::size_t MmapRing::free_bytes() {
  Producer& p = *producer_;
  // acquire: pairs with the release in release(), as in try_write().
  p.head_cache = std::atomic_ref<std::uint64_t>(*head_word()).load(std::memory_order_acquire);
  return capacity_ - static_cast<std::size_t>(p.tail - p.head_cache);
}

std::optional<MmapRing::Entry> MmapRing::read_at(std::uint64_t position) const {
  const std::size_t offset = position & mask_;
  if (offset % kRecordAlign != 0) return std::nullopt;
  // Safety: offset is 8-aligned and < capacity_: the word lies inside the data area.
  auto* word = reinterpret_cast<std::uint64_t*>(data() + offset);
  // acquire: pairs with the release stores in try_write(); the record's bytes
  // are visible once its commit word is.
  const std::uint64_t w = std::atomic_ref<std::uint64_t>(*word).load(std::memory_order_acquire);
  if ((w >> 32) != ((position >> shift_) & 0xFFFF'FFFFu)) return std::nullopt;
  const std::size_t length = w & kLengthMask;
  const std::size_t to_end = capacity_ - offset;
  if ((w & kPaddingFlag) != 0) {
    if (length != to_end) return std::nullopt;
    return Entry{0, 0, 0, true, {}, position + to_end, position};
  }
  if (length < kRingRecordHeaderSize || align_record(length) > to_end) return std::nullopt;
  const std::byte* rec = data() + offset;
  Entry e{};
  e.payload = {rec + kRingRecordHeaderSize, length - kRingRecordHeaderSize};
  e.next = position + align_record(length);
  e.position = position;
  if (legacy_) {
    std::uint64_t type64 = 0;
    // Safety: [offset, offset + length) lies inside the data area (checked above).
    std::memcpy(&e.seq, rec + 8, 8);
    std::memcpy(&e.mono_ns, rec + 16, 8);
    std::memcpy(&type64, rec + 24, 8);
    if (type64 > 0xFFFF) return std::nullopt;
    e.type = static_cast<std::uint16_t>(type64);
    return e;
  }
  std::uint32_t crc = 0, type32 = 0;
  // Safety: [offset, offset + length) lies inside the data area (checked above).
  std::memcpy(&crc, rec + kCrcAt, 4);
  std::memcpy(&type32, rec + kTypeAt, 4);
  std::memcpy(&e.seq, rec + kSeqAt, 8);
  std::memcpy(&e.mono_ns, rec + kMonoAt, 8);
  e.type = static_cast<std::uint16_t>(type32);
  e.damaged = (type32 >> 16) != 0 || crc != record_crc(rec, static_cast<std::uint32_t>(length));
  return e;
}

std::optional<MmapRing::Entry> next_intact_record(const MmapRing& ring, std::uint64_t position) {
  const std::uint64_t end = ring.head() + ring.capacity();
  for (std::uint64_t p = (position + kRecordAlign) & ~std::uint64_t{kRecordAlign - 1}; p < end; p += kRecordAlign) {
    auto e = ring.read_at(p);
    if (e && !e->padding && !e->damaged) return e;
  }
  return std::nullopt;
}

std::uint64_t MmapRing::head() const {
  // acquire: pairs with release() (same thread normally; across processes on recovery).
  return std::atomic_ref<std::uint64_t>(*head_word()).load(std::memory_order_acquire);
}

void MmapRing::release(std::uint64_t position) {
  // release: pairs with the acquire in try_write(); the consumer has finished
  // reading every byte before `position`.
  std::atomic_ref<std::uint64_t>(*head_word()).store(position, std::memory_order_release);
}

void MmapRing::reset() {
  // Safety: the data area is [kRingHeaderSize, kRingHeaderSize + capacity_) of the mapping.
  std::memset(data(), 0, capacity_);
  release(0);
  producer_->tail = 0;
  producer_->head_cache = 0;
}

void MmapRing::set_producer_position(std::uint64_t position) {
  producer_->tail = position;
  producer_->head_cache = head();
}

void MmapRing::publish_durable_seq(std::uint64_t seq) {
  // relaxed: informational for other processes (`tickwire inspect`); nothing is read through it.
  std::atomic_ref<std::uint64_t>(*durable_word()).store(seq, std::memory_order_relaxed);
}

std::uint64_t MmapRing::durable_seq() const {
  // relaxed: see publish_durable_seq().
  return std::atomic_ref<std::uint64_t>(*durable_word()).load(std::memory_order_relaxed);
}

void MmapRing::publish_dropped_seq(std::uint64_t seq) {
  // relaxed: read by the next open, after this process is gone or has closed; orders nothing now.
  std::atomic_ref<std::uint64_t>(*dropped_word()).store(seq, std::memory_order_relaxed);
}

std::uint64_t MmapRing::dropped_seq() const {
  // relaxed: see publish_dropped_seq().
  return std::atomic_ref<std::uint64_t>(*dropped_word()).load(std::memory_order_relaxed);
}

absl::StatusOr<std::uint64_t> read_ring_durable_seq(const std::filesystem::path& path) {
  auto file = io::open_file(path, O_RDONLY);
  if (!file.ok()) return file.status();
  char header[kDurableOffset + 8] = {};
  auto got = file->read_at(0, std::as_writable_bytes(std::span(header)));
  if (!got.ok()) return got.status();
  if (*got != sizeof header || (std::memcmp(header, kRingMagic, sizeof kRingMagic) != 0 &&
                                std::memcmp(header, kLegacyRingMagic, sizeof kLegacyRingMagic) != 0)) {
    return absl::DataLossError(fmt::format("{}: not a tickwire ring file (bad magic or short)", path.string()));
  }
  std::uint64_t seq = 0;
  std::memcpy(&seq, header + kDurableOffset, sizeof seq);
  return seq;
}

}  // namespace tickwire::journal
