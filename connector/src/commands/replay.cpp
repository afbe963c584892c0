// `tickwire replay DIR`: every journal record in sequence order, as JSON lines
// or as a Cap'n Proto message stream, or republished through a transport
// (`--publish inproc|shm:NAME|nats://HOST:PORT`) at the recorded pace scaled
// by `--speed`, or as fast as the transport takes them (`--speed max`). The
// Envelopes go out byte for byte and with their journal sequence as the
// transport's (publish_at), so they keep their original sequences everywhere.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "commands/commands.hpp"
#include "tickwire/connector/book/book_rebuilder.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/journal/position.hpp"
#include "tickwire/journal/reader.hpp"
#include "tickwire/middleware/buffer_pool.hpp"
#include "tickwire/middleware/catch_up_subscriber.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/nats_transport.hpp"
#include "tickwire/middleware/shm_transport.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/middleware/subject.hpp"

namespace tickwire::connector::commands {
namespace {

enum class Format { kJsonl, kCsv, kCapnp };

// write_record: one record in the chosen format; returns false on a decode
// error (reported on stderr, naming the sequence).
bool write_record(const journal::RecordView& r, Format format) {
  if (r.made_gap) {
    // Seqs in no valid record (damaged bytes, missing segments): said in the output, where they would be.
    journal::GapPayload g{};
    // Safety: the reader made this payload from one GapPayload.
    std::memcpy(&g, r.payload.data(), std::min(sizeof g, r.payload.size()));
    if (format == Format::kCsv) {
      fmt::print("{},{},{},,,,gap,,,,,,,,,,,,\"seqs {}..{} ({} records) lost: damaged or missing in the journal\"\n",
                 r.seq, r.mono_ns, r.wall_ns, g.first_missing, g.last_missing, g.count);
    } else if (format == Format::kJsonl) {
      fmt::print("{{\"seq\":{},\"mono_ns\":{},\"wall_ns\":{},\"kind\":\"gap\",\"first_missing\":{},"
                 "\"last_missing\":{},\"count\":{},\"cause\":\"damaged or missing in the journal\"}}\n",
                 r.seq, r.mono_ns, r.wall_ns, g.first_missing, g.last_missing, g.count);
    }
    return true;
  }
  if (r.type != kEnvelopeRecordType) {
    // Records the journal writes itself (e.g. gap markers) are not Envelopes.
    if (format == Format::kCsv) {
      fmt::print("{},{},{},,,,journal,,,,,,,,,,,,\"type {} ({} bytes)\"\n", r.seq, r.mono_ns, r.wall_ns, r.type,
                 r.payload.size());
    } else if (format == Format::kJsonl) {
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
  auto json = format == Format::kCsv ? envelope_to_csv(r.payload) : envelope_to_json(r.payload);
  if (!json.ok()) {
    fmt::print(stderr, "tickwire replay: seq {}: {}\n", r.seq, middleware::status_text(json.status()));
    return false;
  }
  std::fwrite(json->data(), 1, json->size(), stdout);
  std::fputc('\n', stdout);
  return true;
}

// subject_of: sets `out` to "<env>.<feed>.<kind>.<SYMBOL>", the subject the
// connector published the Envelope on live: middleware::envelope_subject, the
// derivation CatchUpSubscriber uses too (`book` for snapshots and deltas,
// `agg_trade` for aggregates, `_feed` for feed-wide records), checked valid.
absl::Status subject_of(std::span<const std::byte> framed, std::string_view env, std::vector<std::uint64_t>& words,
                        std::string& out) {
  if (auto s = middleware::envelope_subject(framed, env, words, out); !s.ok()) return s;
  if (!middleware::is_valid_subject(out)) {
    return absl::InvalidArgumentError(fmt::format("'{}' is not a valid subject", out));
  }
  return absl::OkStatus();
}

// Pacer: sleeps so records go out at their recorded mono_ns spacing divided
// by `speed`; speed 0 (`--speed max`) never sleeps.
class Pacer {
 public:
  explicit Pacer(double speed) : speed_(speed) {}

  void wait(std::uint64_t mono_ns) {
    if (speed_ <= 0) return;
    if (!started_) {
      started_ = true;
      first_ns_ = mono_ns;
      start_ = std::chrono::steady_clock::now();
      return;
    }
    const std::uint64_t recorded = mono_ns > first_ns_ ? mono_ns - first_ns_ : 0;
    const auto offset = std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(recorded) / speed_));
    std::this_thread::sleep_until(start_ + offset);
  }

 private:
  double speed_;
  bool started_ = false;
  std::uint64_t first_ns_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// parse_speed: "max" -> 0, otherwise a positive factor of the recorded pace.
absl::StatusOr<double> parse_speed(const std::string& text) {
  if (text == "max") return 0.0;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !(v > 0)) {
    return absl::InvalidArgumentError(
        fmt::format("--speed: '{}' is neither a positive factor of the recorded pace (e.g. 1.0) nor 'max'", text));
  }
  return v;
}

// PublishTarget: the transport replay publishes through.
struct PublishTarget {
  std::unique_ptr<middleware::Transport> transport;
  middleware::NatsTransport* nats = nullptr;  // set for nats://
  // inproc: the in-process subscriber (counts in the transport's stats).
  std::optional<middleware::SubscriptionId> subscriber;
};

// drain: waits (at most 10 s) until the in-process subscriber has seen or
// been told of every sequence up to `last_seq` (the last one published), and
// returns its counters. The subscriber joined before the first publish, so
// it counts the sequences below the journal's first, `first_seq`, as lost:
// those are taken off `dropped`, which keeps what it was told it missed
// after the first record (sequences the journal itself lacks included).
middleware::SubscriberStats drain(const PublishTarget& t, std::uint64_t first_seq, std::uint64_t last_seq) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    middleware::SubscriberStats s = t.transport->stats(*t.subscriber);
    if (s.received + s.dropped >= last_seq || std::chrono::steady_clock::now() > deadline) {
      const std::uint64_t before = first_seq == 0 ? 0 : first_seq - 1;
      s.dropped = s.dropped > before ? s.dropped - before : 0;
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

absl::StatusOr<PublishTarget> open_target(const std::string& target, const std::string& stream,
                                          const std::string& env) {
  PublishTarget t;
  if (target == "inproc") {
    auto inproc = std::make_unique<middleware::InProcessTransport>();
    auto sub = inproc->subscribe(">", [](const middleware::Message&) {});
    if (!sub.ok()) return sub.status();
    t.subscriber = *sub;
    t.transport = std::move(inproc);
    return t;
  }
  if (target.rfind("nats://", 0) == 0) {
    middleware::NatsOptions o;
    o.url = target;
    o.name = "tickwire-replay";
    o.sequence_header = true;  // as `tickwire run` publishes: subscribers see the journal's sequence
    o.jetstream = !stream.empty();
    if (o.jetstream) {
      o.stream = stream;
      o.stream_subjects = {env + ".>"};
    }
    auto nats = middleware::NatsTransport::connect(std::move(o));
    if (!nats.ok()) return nats.status();
    t.nats = nats->get();
    t.transport = std::move(*nats);
    return t;
  }
  if (target.rfind("shm:", 0) == 0 && target.size() > 4) {
    // The file stays after replay exits, so readers attached or attaching
    // later (StartAt::kOldest) get what the ring still holds.
    middleware::ShmTransportOptions o;
    o.name = target.substr(4);
    auto shm = middleware::SharedMemoryTransport::create(std::move(o));
    if (!shm.ok()) return shm.status();
    t.transport = std::move(*shm);
    return t;
  }
  return absl::InvalidArgumentError(
      fmt::format("--publish: '{}' is not a transport (expected inproc, shm:NAME or nats://HOST:PORT)", target));
}

// report_damage: names on stderr what the reader skipped (damage, missing
// seqs, duplicates); true if there was any. Everything readable was emitted.
bool report_damage(const journal::Reader& reader) {
  for (const auto& p : reader.problems()) fmt::print(stderr, "tickwire replay: damage: {}\n", p);
  return !reader.problems().empty();
}

struct PublishCounts {
  std::uint64_t published = 0, refused = 0, skipped = 0, undecodable = 0;
  std::uint64_t first_seq = 0, last_seq = 0;  // of the records published (0: none)
};

// publish_records: every Envelope record of the journal through `target`.
absl::StatusOr<PublishCounts> publish_records(journal::Reader& reader, PublishTarget& target, std::string_view env,
                                              Pacer& pacer) {
  PublishCounts counts;
  std::vector<std::uint64_t> words;
  std::string subject;
  for (;;) {
    auto next = reader.next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return counts;
    const journal::RecordView& r = **next;
    if (r.type != kEnvelopeRecordType) {
      ++counts.skipped;  // the journal's own records (e.g. gap markers) were never published
      continue;
    }
    if (auto s = subject_of(r.payload, env, words, subject); !s.ok()) {
      fmt::print(stderr, "tickwire replay: seq {}: {}\n", r.seq, middleware::status_text(s));
      ++counts.undecodable;
      continue;
    }
    pacer.wait(r.mono_ns);
    // With the record's own sequence: a subscriber sees the journal's numbers,
    // and a range the journal lost is a gap it is told of.
    if (target.transport->publish_at(r.seq, subject, r.payload)) {
      ++counts.published;
      if (counts.first_seq == 0) counts.first_seq = r.seq;
      counts.last_seq = r.seq;
    } else {
      ++counts.refused;
    }
  }
}

struct PublishOptions {
  std::string target;
  std::string speed = "1.0";
  std::string env = "dev";
  std::string stream;
};

// publish_journal: runs `replay --publish`; prints one JSON summary line.
int publish_journal(journal::Reader& reader, const PublishOptions& opts) {
  auto speed = parse_speed(opts.speed);
  if (!speed.ok()) {
    fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(speed.status()));
    return kExitUsage;
  }
  auto target = open_target(opts.target, opts.stream, opts.env);
  if (!target.ok()) {
    fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(target.status()));
    return absl::IsInvalidArgument(target.status()) ? kExitUsage : kExitIo;
  }
  Pacer pacer(*speed);
  auto counts = publish_records(reader, *target, opts.env, pacer);
  if (!counts.ok()) {
    fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(counts.status()));
    return kExitFailure;
  }
  // NATS counts its own refusals in publish_failures(); the rings' refusals
  // (a record larger than the ring takes) are counted here.
  std::uint64_t failures = target->nats != nullptr ? 0 : counts->refused;
  if (target->nats != nullptr) {
    if (auto s = target->nats->flush(); !s.ok()) {
      fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(s));
      ++failures;
    }
    failures += target->nats->publish_failures();
    if (auto last = target->nats->last_error(); !last.ok()) {
      fmt::print(stderr, "tickwire replay: last publish error: {}\n", middleware::status_text(last));
    }
  }
  std::string received;
  if (target->subscriber) {
    const middleware::SubscriberStats s = drain(*target, counts->first_seq, counts->last_seq);
    received = fmt::format(",\"received\":{},\"dropped\":{}", s.received, s.dropped);
  }
  fmt::print("{{\"target\":\"{}\",\"published\":{},\"failures\":{},\"skipped\":{},\"undecodable\":{},"
             "\"damage\":{}{}}}\n",
             opts.target, counts->published, failures, counts->skipped, counts->undecodable,
             reader.problems().size(), received);
  std::fflush(stdout);
  const bool damaged = report_damage(reader);
  return failures == 0 && counts->undecodable == 0 && !damaged ? kExitOk : kExitFailure;
}

// print_records: writes records from the reader's position up to `to`,
// keeping only `symbol`'s Envelopes when it is set.
int print_records(journal::Reader& reader, Format format, const std::optional<journal::Position>& to,
                  const std::string& symbol, bool csv_header = true) {
  if (format == Format::kCsv && csv_header) fmt::print("{}\n", kEnvelopeCsvHeader);
  int rc = kExitOk;
  for (;;) {
    auto next = reader.next();
    if (!next.ok()) {
      fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(next.status()));
      return kExitFailure;
    }
    if (!next->has_value()) break;
    const journal::RecordView& r = **next;
    if (to && !journal::at_or_before(r, *to)) break;
    if (!symbol.empty()) {
      if (r.type != kEnvelopeRecordType) continue;
      auto sym = envelope_symbol(r.payload);
      if (!sym.ok()) {
        fmt::print(stderr, "tickwire replay: seq {}: {}\n", r.seq, middleware::status_text(sym.status()));
        rc = kExitFailure;
        continue;
      }
      if (*sym != symbol) continue;
    }
    if (!write_record(r, format)) rc = kExitFailure;
  }
  std::fflush(stdout);
  return report_damage(reader) ? kExitFailure : rc;
}

// first_seq_at: the seq of the record a reader seeked to `from` delivers
// first (UINT64_MAX past the end). The books stop exactly there: wall stamps
// are not strictly ordered record by record, so "before this time" is
// decided once, by the same seek the records use.
absl::StatusOr<std::uint64_t> first_seq_at(const std::string& dir, const journal::Position& from) {
  auto reader = journal::Reader::open(dir);
  if (!reader.ok()) return reader.status();
  if (auto s = journal::seek(*reader, from); !s.ok()) return s;
  auto next = reader->next();
  if (!next.ok()) return next.status();
  return next->has_value() ? (*next)->seq : UINT64_MAX;
}

// kBooksWindow*: how far before --from the book rebuild starts reading, at
// first: three default book snapshot intervals, or a million records. It
// widens fourfold while a book changed in the window without its snapshot.
constexpr std::uint64_t kBooksWindowNs = 180'000'000'000;
constexpr std::uint64_t kBooksWindowSeqs = 1'000'000;

// print_books: `--books`: the book of every (feed, symbol) as of `from`
// (book::BookRebuilder's rules), one BookSnapshot Envelope each in `format`,
// stamped with the record that last changed the book. Returns the exit code
// so far (failure if the records read were damaged or undecodable).
int print_books(const std::string& dir, const journal::Position& from, Format format, const std::string& symbol) {
  std::uint64_t window = from.kind == journal::Position::Kind::kTime ? kBooksWindowNs : kBooksWindowSeqs;
  const auto end = first_seq_at(dir, from);
  if (!end.ok()) {
    fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(end.status()));
    return kExitFailure;
  }
  int rc = kExitOk;
  for (;;) {
    auto scan = journal::Reader::open(dir);
    if (!scan.ok()) {
      fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(scan.status()));
      return kExitIo;
    }
    const bool whole = from.value <= window;  // the window reaches the journal's start
    if (!whole) {
      if (auto s = journal::seek(*scan, journal::Position{from.kind, from.value - window}); !s.ok()) {
        fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(s));
        return kExitFailure;
      }
    }
    book::BookRebuilder rebuilder;
    std::vector<std::string> errors;
    for (;;) {
      auto next = scan->next();
      if (!next.ok()) {
        fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(next.status()));
        return kExitFailure;
      }
      if (!next->has_value() || (*next)->seq >= *end) break;
      if (auto s = rebuilder.apply(**next); !s.ok()) errors.emplace_back(middleware::status_text(s));
    }
    if (rebuilder.needs_earlier_start() && !whole) {
      window = window > UINT64_MAX / 4 ? UINT64_MAX : window * 4;
      continue;
    }
    for (const auto& e : errors) fmt::print(stderr, "tickwire replay: --books: {}\n", e);
    for (const auto& p : scan->problems()) fmt::print(stderr, "tickwire replay: --books: damage: {}\n", p);
    if (!errors.empty() || !scan->problems().empty()) rc = kExitFailure;
    middleware::BufferPool pool;
    EnvelopeEncoder encoder(pool);
    if (!encoder.ok()) {
      fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(encoder.status()));
      return kExitFailure;
    }
    for (const auto& b : rebuilder.books()) {
      if (!symbol.empty() && b.symbol != symbol) continue;
      encoder.set_instrument(b.instrument, b.instrument_kind);
      const auto bytes = encoder.encode_book_snapshot(Stamp{b.seq, b.mono_ns, b.wall_ns}, b.feed,
                                                      BookSnapshotEvent{b.symbol, b.last_update_id, b.bids, b.asks});
      journal::RecordView view{b.seq, b.mono_ns, b.wall_ns, kEnvelopeRecordType, bytes};
      if (!write_record(view, format)) rc = kExitFailure;
    }
    return rc;
  }
}

}  // namespace

Command add_replay(CLI::App& app) {
  struct Options {
    std::string dir;
    Format format = Format::kJsonl;
    std::string from;
    std::string to;
    std::string symbol;
    bool books = false;
    PublishOptions publish;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("replay", "Print a journal's records in sequence order");
  sub->add_option("DIR", opts->dir, "Journal directory")->required();
  sub->add_option("--format", opts->format,
                  "jsonl: one JSON object per record; csv: a header then one row per record; capnp: a Cap'n "
                  "Proto message stream (`capnp decode market_data.capnp Envelope` reads it)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, Format>{
          {"jsonl", Format::kJsonl}, {"csv", Format::kCsv}, {"capnp", Format::kCapnp}}))
      ->capture_default_str();
  sub->add_option("--from", opts->from,
                  "Start at this sequence number or UTC time (2026-11-22T14:28:00Z), found through the index");
  sub->add_option("--to", opts->to, "Stop after this sequence number or UTC time (inclusive)");
  sub->add_option("--symbol", opts->symbol, "Only Envelopes of this symbol (journal records are skipped)");
  sub->add_flag("--books", opts->books,
                "With --from: first the order book of every symbol as of --from (one book_snapshot each, rebuilt "
                "from the nearest BookSnapshot record before it and the deltas since), then the records");
  sub->add_option("--publish", opts->publish.target,
                  "Republish every Envelope through a transport instead of printing: inproc (counted by an "
                  "in-process subscriber), shm:NAME (a shared-memory transport file /dev/shm/NAME, created) or "
                  "nats://HOST:PORT; prints one JSON summary line");
  sub->add_option("--speed", opts->publish.speed,
                  "With --publish: a factor of the recorded pace (1.0 = as recorded), or max")
      ->capture_default_str();
  sub->add_option("--env", opts->publish.env, "With --publish: the subjects' first token (<env>.<feed>.<kind>.<SYMBOL>)")
      ->capture_default_str();
  sub->add_option("--stream", opts->publish.stream,
                  "With --publish nats://...: publish through JetStream into this stream (created if absent)");
  return {sub, [opts] {
            auto reader = journal::Reader::open(opts->dir);
            if (!reader.ok()) {
              fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(reader.status()));
              return kExitIo;
            }
            std::optional<journal::Position> from;
            std::optional<journal::Position> to;
            for (auto [text, out] : {std::pair{&opts->from, &from}, std::pair{&opts->to, &to}}) {
              if (text->empty()) continue;
              auto pos = journal::parse_position(*text);
              if (!pos.ok()) {
                fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(pos.status()));
                return kExitUsage;
              }
              *out = *pos;
            }
            if (from) {
              if (auto s = journal::seek(*reader, *from); !s.ok()) {
                fmt::print(stderr, "tickwire replay: {}\n", middleware::status_text(s));
                return kExitFailure;
              }
            }
            if (opts->books && (!from || !opts->publish.target.empty())) {
              fmt::print(stderr, "tickwire replay: --books needs --from (the books as of when) and no --publish\n");
              return kExitUsage;
            }
            if (!opts->publish.target.empty()) return publish_journal(*reader, opts->publish);
            if (!opts->books) return print_records(*reader, opts->format, to, opts->symbol);
            if (opts->format == Format::kCsv) fmt::print("{}\n", kEnvelopeCsvHeader);
            const int books_rc = print_books(opts->dir, *from, opts->format, opts->symbol);
            const int records_rc = print_records(*reader, opts->format, to, opts->symbol, false);
            return books_rc != kExitOk ? books_rc : records_rc;
          }};
}

}  // namespace tickwire::connector::commands
