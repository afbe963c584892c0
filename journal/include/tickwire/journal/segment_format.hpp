// The segment file format: a 512-byte header, then 8-byte aligned records
// `length | crc32c | seq | mono_ns | wall_ns | type | flags | reserved | payload`,
// then (on clean close or roll) an end-of-segment record. Little-endian.
// Decoding never trusts the bytes: every function here is total over any input.
#pragma once

#include <absl/status/statusor.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tickwire::journal {

// Record types the journal defines; everything below kReservedTypeBase is the
// user's (the connector uses 1 for Cap'n Proto Envelopes).
inline constexpr std::uint16_t kReservedTypeBase = 0xFF00;
// Records dropped by the producer (FullPolicy::kDrop or oversized payload):
// seq = first missing seq, payload = GapPayload.
inline constexpr std::uint16_t kTypeGap = 0xFF01;
// Last record of a cleanly closed or rolled segment: payload = EndPayload.
inline constexpr std::uint16_t kTypeEndOfSegment = 0xFF02;

inline constexpr std::array<char, 8> kSegmentMagic = {'T', 'W', 'J', 'S', 'E', 'G', '0', '1'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderSize = 512;
inline constexpr std::size_t kRecordHeaderSize = 40;
inline constexpr std::size_t kRecordAlign = 8;
inline constexpr std::size_t kFeedMax = 64;

constexpr std::size_t align_record(std::size_t n) { return (n + kRecordAlign - 1) & ~(kRecordAlign - 1); }

// SegmentHeader: the first kSegmentHeaderSize bytes of a segment file.
struct SegmentHeader {
  std::array<char, 8> magic;
  std::uint32_t version;
  std::uint32_t header_size;
  std::uint64_t segment_index;    // 1, 2, ... in creation order; also in the file name
  std::uint64_t first_seq;        // seq of the first record (records may be absent after a crash)
  std::uint64_t created_wall_ns;  // the wall stamp of the batch that opened the segment
  std::uint64_t tsc_anchor;       // the TSC calibration the connector used (ClockInfo)
  std::uint64_t mono_anchor_ns;
  std::uint64_t wall_anchor_ns;
  double ns_per_tick;
  std::uint32_t index_interval;   // the sparse index has one entry every this many records
  std::uint16_t schema_id;
  std::uint16_t feed_length;
  std::array<char, kFeedMax> feed;
  std::array<std::byte, kSegmentHeaderSize - 148> reserved;
  std::uint32_t crc;              // crc32c of all preceding header bytes

  std::string_view feed_name() const { return {feed.data(), feed_length <= kFeedMax ? feed_length : kFeedMax}; }
};
static_assert(sizeof(SegmentHeader) == kSegmentHeaderSize);

// RecordHeader: the first kRecordHeaderSize bytes of every record.
struct RecordHeader {
  std::uint32_t length;  // header + payload bytes (not the alignment padding); 0 = no record here
  std::uint32_t crc;     // crc32c of the length word, then bytes [8, length)
  std::uint64_t seq;
  std::uint64_t mono_ns;  // producer's timestamp (TSC-derived)
  std::uint64_t wall_ns;  // flusher's CLOCK_REALTIME, once per batch, never decreasing in a journal
  std::uint16_t type;
  std::uint16_t flags;
  std::uint32_t reserved;
};
static_assert(sizeof(RecordHeader) == kRecordHeaderSize);
// SegmentWriter::append stores the fields one by one at these offsets.
static_assert(offsetof(RecordHeader, seq) == 8 && offsetof(RecordHeader, mono_ns) == 16 &&
              offsetof(RecordHeader, wall_ns) == 24 && offsetof(RecordHeader, type) == 32 &&
              offsetof(RecordHeader, flags) == 34 && offsetof(RecordHeader, reserved) == 36);
static_assert(std::endian::native == std::endian::little, "the segment format is little-endian");

struct GapPayload {
  std::uint64_t first_missing;
  std::uint64_t last_missing;
  std::uint64_t count;  // records dropped (seqs may have own holes if the producer skipped some)
};

enum class EndReason : std::uint32_t { kClose = 1, kRoll = 2 };
struct EndPayload {
  std::uint64_t records;   // data and gap records in the segment
  std::uint64_t last_seq;  // highest seq covered (a gap's last_missing counts)
  std::uint32_t reason;    // EndReason
  std::uint32_t reserved;
};

// SegmentHeader with the magic, version, size and crc filled in.
SegmentHeader make_segment_header(std::uint64_t segment_index, std::uint64_t first_seq,
                                  std::uint64_t created_wall_ns, std::string_view feed);
void seal_segment_header(SegmentHeader& header);  // computes crc

// decode_segment_header: validates magic, version, size and crc.
absl::StatusOr<SegmentHeader> decode_segment_header(std::span<const std::byte> image);

enum class DecodeStatus {
  kOk,
  kEmpty,      // zero length word, or not even a length word left: no record here
  kTruncated,  // the length runs past the end of the data
  kBadLength,  // shorter than a header, misaligned offset, or absurd
  kBadCrc,
};
std::string_view to_string(DecodeStatus s);

struct DecodedRecord {
  DecodeStatus status = DecodeStatus::kEmpty;
  RecordHeader header{};
  std::span<const std::byte> payload;
  std::size_t next = 0;           // offset of the following record (aligned)
  std::uint32_t computed_crc = 0;  // valid for kOk and kBadCrc
};

// decode_record: the record at `offset` of a segment image (a whole file).
DecodedRecord decode_record(std::span<const std::byte> image, std::size_t offset);

// find_next_record: the first 8-aligned offset at or after `from` where a
// record with a valid CRC starts whose seq is above `after_seq` and whose
// wall_ns is at least `min_wall_ns` (wall stamps never decrease in a journal);
// nullopt if there is none. How a scan resynchronises after damage: zero
// words are skipped eight bytes at a time, and a CRC is computed only where
// the length, seq and wall stamp are plausible.
std::optional<std::size_t> find_next_record(std::span<const std::byte> image, std::size_t from,
                                            std::uint64_t after_seq, std::uint64_t min_wall_ns);

// all_zero: whether every byte of image from `from` on is zero.
bool all_zero(std::span<const std::byte> image, std::size_t from);

// record_crc: the crc32c a record with this header and payload carries.
std::uint32_t record_crc(const RecordHeader& header, std::span<const std::byte> payload);

// highest_seq: the last seq a record accounts for (a gap covers up to last_missing).
std::uint64_t highest_seq(const DecodedRecord& r);

// A segment file name: `YYYYMMDDTHHMMSSZ-NNNNNN.seg` (UTC creation time, index),
// so `ls` lists segments in time order.
std::string segment_file_name(std::uint64_t created_wall_ns, std::uint64_t segment_index);
// parse_segment_index: the index in a segment file name; 0 if not one.
std::uint64_t parse_segment_index(std::string_view file_name);

}  // namespace tickwire::journal
