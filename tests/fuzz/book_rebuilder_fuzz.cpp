// libFuzzer target: book::BookRebuilder (`tickwire replay --books`) over
// hostile journal records. The input is a list of records, each
// [kind byte][payload length, 2 bytes little-endian][payload]: kind 0 an
// Envelope record, 1 a journal gap, anything else a record of another type.
// Any bytes must give an error or a book, never a crash, a hang or
// unbounded memory; every book it returns is stamped by a record it was given.
#include <cstdint>
#include <cstring>
#include <span>

#include "tickwire/connector/book/book_rebuilder.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/journal/segment_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tickwire::connector::book::BookRebuilder rebuilder;
  std::uint64_t seq = 0;
  std::size_t at = 0;
  while (at + 3 <= size) {
    const std::uint8_t kind = data[at];
    const std::size_t length = static_cast<std::size_t>(data[at + 1]) | (static_cast<std::size_t>(data[at + 2]) << 8);
    at += 3;
    const std::size_t take = length < size - at ? length : size - at;
    const auto payload = std::as_bytes(std::span(data + at, take));
    at += take;
    ++seq;
    const std::uint16_t type = kind == 0   ? tickwire::connector::kEnvelopeRecordType
                               : kind == 1 ? tickwire::journal::kTypeGap
                                           : static_cast<std::uint16_t>(kind);
    (void)rebuilder.apply(tickwire::journal::RecordView{seq, seq, seq, type, payload, kind == 1});
  }
  for (const auto& book : rebuilder.books()) {
    if (book.seq == 0 || book.seq > seq) __builtin_trap();  // stamped by a record it was given
  }
  return 0;
}
