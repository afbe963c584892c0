// `tickwire replay DIR`: every journal record in sequence order, as JSON lines
// or as a Cap'n Proto message stream.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands/commands.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/journal/reader.hpp"

namespace tickwire::connector::commands {
namespace {

enum class Format { kJsonl, kCapnp };

// write_record: one record in the chosen format; returns false on a decode
// error (reported on stderr, naming the sequence).
bool write_record(const journal::RecordView& r, Format format) {
  if (r.type != kEnvelopeRecordType) {
    // Records the journal writes itself (e.g. gap markers) are not Envelopes.
    if (format == Format::kJsonl) {
      fmt::print("{{\"seq\":{},\"mono_ns\":{},\"wall_ns\":{},\"kind\":\"journal\",\"type\":{},\"bytes\":{}}}\n",
                 r.seq, r.mono_ns, r.wall_ns, r.type, r.payload.size());
    }
    return true;
  }
  if (format == Format::kCapnp) {
    // The payload is already a framed message: a stream is their concatenation.
    std::fwrite(r.payload.data(), 1, r.payload.size(), stdout);
    return true;
  }
  auto json = envelope_to_json(r.payload);
  if (!json.ok()) {
    fmt::print(stderr, "tickwire replay: seq {}: {}\n", r.seq, middleware::status_text(json.status()));
    return false;
  }
  std::fwrite(json->data(), 1, json->size(), stdout);
  std::fputc('\n', stdout);
  return true;
}

}  // namespace

Command add_replay(CLI::App& app) {
  struct Options {
    std::string dir;
    Format format = Format::kJsonl;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("replay", "Print a journal's records in sequence order");
  sub->add_option("DIR", opts->dir, "Journal directory")->required();
  sub->add_option("--format", opts->format,
                  "jsonl: one JSON object per record; capnp: a Cap'n Proto message stream "
                  "(`capnp decode market_data.capnp Envelope` reads it)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, Format>{{"jsonl", Format::kJsonl},
                                                                        {"capnp", Format::kCapnp}}))
      ->capture_default_str();
  return {sub, [opts] {
            auto reader = journal::Reader::open(opts->dir);
            if (!reader.ok()) {
              fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(reader.status()));
              return kExitIo;
            }
            int rc = kExitOk;
            for (;;) {
              auto next = reader->next();
              if (!next.ok()) {
                fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(next.status()));
                return kExitFailure;
              }
              if (!next->has_value()) break;
              if (!write_record(**next, opts->format)) rc = kExitFailure;
            }
            std::fflush(stdout);
            return rc;
          }};
}

}  // namespace tickwire::connector::commands
