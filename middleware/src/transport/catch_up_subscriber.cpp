#include "tickwire/middleware/catch_up_subscriber.hpp"

#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>

#include <cstring>
#include <thread>

#include "absl/status/status.h"
#include "tickwire/journal/reader.hpp"
#include "tickwire/journal/segment_format.hpp"
#include "tickwire/journal/tailer.hpp"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/shm_transport.hpp"
#include "tickwire/middleware/status_text.hpp"
#include "tickwire/middleware/subject.hpp"
#include "tickwire/middleware/tsc_clock.hpp"
#include "tickwire/proto/market_data.capnp.h"

namespace tickwire::middleware {
namespace {

// The journal record type of an encoded Envelope (connector/envelope_codec.hpp).
constexpr std::uint16_t kEnvelopeRecordType = 1;
constexpr int kIdleSpins = 256;
constexpr int kIdleYields = 16;
constexpr auto kIdleSleep = std::chrono::microseconds(200);

std::string_view kind_token(const proto::Envelope::Reader& e) {
  switch (e.which()) {
    case proto::Envelope::TRADE: return e.getTrade().getAggregate() ? "agg_trade" : "trade";
    case proto::Envelope::QUOTE: return "quote";
    case proto::Envelope::BOOK_DELTA:
    case proto::Envelope::BOOK_SNAPSHOT: return "book";
    case proto::Envelope::STATUS: return "status";
    case proto::Envelope::FUNDING: return "funding";
    case proto::Envelope::LIQUIDATION: return "liquidation";
    case proto::Envelope::OPEN_INTEREST: return "open_interest";
  }
  return "unknown";
}

}  // namespace

absl::Status envelope_subject(std::span<const std::byte> envelope, std::string_view env,
                              std::vector<std::uint64_t>& scratch, std::string& out) {
  if (envelope.empty() || envelope.size() % sizeof(capnp::word) != 0) {
    return absl::DataLossError(fmt::format("envelope of {} bytes is not whole 8-byte words", envelope.size()));
  }
  scratch.resize(envelope.size() / sizeof(capnp::word));
  // Safety: scratch holds exactly envelope.size() bytes; journal payloads need not be 8-byte aligned.
  std::memcpy(scratch.data(), envelope.data(), envelope.size());
  // Cap'n Proto reports malformed input by throwing kj::Exception: caught here.
  kj::Maybe<kj::Exception> error = kj::runCatchingExceptions([&] {
    // Safety: capnp::word is a plain 8-byte value; scratch is 8-byte aligned.
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(reinterpret_cast<const capnp::word*>(scratch.data()), scratch.size()));
    const auto e = reader.getRoot<proto::Envelope>();
    const auto feed = e.getFeed();
    // The subject's symbol token is the normalized instrument; records written
    // before instruments existed carry only the exchange's symbol.
    const auto symbol = e.getInstrument().size() != 0 ? e.getInstrument() : e.getSymbol();
    out.assign(env);
    out.push_back('.');
    out.append(feed.cStr(), feed.size());
    out.push_back('.');
    out.append(kind_token(e));
    out.push_back('.');
    out.append(symbol.size() == 0 ? std::string_view("_feed") : std::string_view(symbol.cStr(), symbol.size()));
  });
  KJ_IF_MAYBE(e, error) {
    return absl::DataLossError(fmt::format("undecodable envelope: {}", e->getDescription().cStr()));
  }
  return absl::OkStatus();
}

CatchUpSubscriber::CatchUpSubscriber(std::unique_ptr<TransportPoller> poller, CatchUpOptions options)
    : options_(std::move(options)), poller_(std::move(poller)) {}

CatchUpSubscriber::~CatchUpSubscriber() = default;

absl::StatusOr<std::unique_ptr<CatchUpSubscriber>> CatchUpSubscriber::open(SharedMemoryTransport& live,
                                                                           CatchUpOptions options) {
  auto poller = live.open_poller(">", StartAt::kNow);
  if (!poller.ok()) return poller.status();
  return start(*std::move(poller), std::move(options));
}

absl::StatusOr<std::unique_ptr<CatchUpSubscriber>> CatchUpSubscriber::open(InProcessTransport& live,
                                                                           CatchUpOptions options) {
  auto poller = live.open_poller(">", StartAt::kNow);
  if (!poller.ok()) return poller.status();
  return start(*std::move(poller), std::move(options));
}

absl::StatusOr<std::unique_ptr<CatchUpSubscriber>> CatchUpSubscriber::start(std::unique_ptr<TransportPoller> poller,
                                                                           CatchUpOptions options) {
  if (!is_valid_pattern(options.pattern)) {
    return absl::InvalidArgumentError(fmt::format("catch-up: invalid subject pattern '{}'", options.pattern));
  }
  // The ring cursor is placed (above) before the journal is looked at, so
  // every record published from now on is either on the ring or, if the
  // cursor is lapped, in the journal: nothing falls between the two.
  std::unique_ptr<CatchUpSubscriber> sub(new CatchUpSubscriber(std::move(poller), std::move(options)));
  if (sub->options_.from_wall_ns) {
    auto reader = journal::Reader::open(sub->options_.journal_dir);
    if (!reader.ok()) return reader.status();
    if (auto s = reader->seek_time(*sub->options_.from_wall_ns); !s.ok()) return s;
    auto first = reader->next();
    if (!first.ok()) return first.status();
    // Past the journal's end: from the live stream (the next record is newer).
    if (*first) sub->next_ = (*first)->seq;
  } else if (sub->options_.from_seq) {
    sub->next_ = std::max<std::uint64_t>(1, *sub->options_.from_seq);
  }
  if (sub->next_) {
    sub->mode_ = Mode::kJournal;
    if (auto s = sub->open_tailer(); !s.ok()) return s;
  }
  return sub;
}

absl::Status CatchUpSubscriber::open_tailer() {
  auto tailer = journal::Tailer::open(options_.journal_dir, *next_);
  if (!tailer.ok()) return tailer.status();
  tailer_ = std::make_unique<journal::Tailer>(*std::move(tailer));
  return absl::OkStatus();
}

void CatchUpSubscriber::deliver(const Handler& handler, std::uint64_t sequence, std::string_view subject,
                                std::span<const std::byte> payload) {
  next_ = sequence + 1;
  if (subject_matches(options_.pattern, subject)) handler(Message{subject, payload, sequence});
}

bool CatchUpSubscriber::read_live(std::optional<Message>& seen) {
  seen.reset();
  const Handler capture = [&seen](const Message& m) { seen = m; };
  // One record per call, so a jump is handled before the record after it is read.
  while (poller_->poll(capture, 1) > 0) {
    if (seen) break;
  }
  const std::uint64_t restarts = poller_->stats().restarts;
  if (restarts != restarts_seen_) {
    stats_.epochs += restarts - restarts_seen_;
    restarts_seen_ = restarts;
  }
  return seen.has_value();
}

bool CatchUpSubscriber::step_live(const Handler& handler) {
  std::optional<Message> m;
  if (!read_live(m)) return false;
  if (!next_ || m->sequence == *next_) {
    ++stats_.from_live;
    deliver(handler, m->sequence, m->subject, m->payload);
    return true;
  }
  if (m->sequence < *next_) return true;  // delivered already (from the journal)
  // A jump: lapped, or a new epoch whose first records were never read here.
  // Hold this record and fetch the missing range from the journal.
  held_ = Held{m->sequence, std::string(m->subject), {m->payload.begin(), m->payload.end()}};
  held_since_ = std::chrono::steady_clock::now();
  mode_ = Mode::kJournal;
  ++stats_.refills;
  auto opened = open_tailer();
  return opened.ok();  // an unreadable journal shows up in step_journal
}

absl::StatusOr<bool> CatchUpSubscriber::step_journal(const Handler& handler, const GapHandler& on_lost) {
  if (held_ && *next_ >= held_->sequence) {
    // The journal has reached the held live record: deliver it (unless the
    // journal already did) and go live.
    if (*next_ == held_->sequence) {
      ++stats_.from_live;
      deliver(handler, held_->sequence, held_->subject, held_->payload);
    }
    held_.reset();
    tailer_.reset();
    mode_ = Mode::kLive;
    return true;
  }
  if (!tailer_) {
    if (auto s = open_tailer(); !s.ok()) return s;
  }
  auto polled = tailer_->poll();
  if (!polled.ok()) return polled.status();
  if (*polled) {
    const journal::RecordView& r = **polled;
    if (r.seq < *next_) return true;
    if (r.type == journal::kTypeGap && r.payload.size() >= sizeof(journal::GapPayload)) {
      journal::GapPayload gap;
      // Safety: the payload holds a GapPayload (checked size); it is plain integers.
      std::memcpy(&gap, r.payload.data(), sizeof(gap));
      const std::uint64_t from = std::max(*next_, gap.first_missing);
      if (gap.last_missing >= from) {
        stats_.lost += gap.last_missing - from + 1;
        if (on_lost) on_lost(from, gap.last_missing);
        next_ = gap.last_missing + 1;
      }
      return true;
    }
    if (r.type != kEnvelopeRecordType) return true;  // the journal's own records
    if (auto s = envelope_subject(r.payload, options_.env, words_, subject_); !s.ok()) {
      return absl::DataLossError(fmt::format("catch-up: journal record seq {}: {}", r.seq, status_text(s)));
    }
    ++stats_.from_journal;
    held_since_ = std::chrono::steady_clock::now();
    deliver(handler, r.seq, subject_, r.payload);
    return true;
  }
  // The journal has nothing newer yet.
  if (!held_) {
    // Meet the live stream: a record the journal already gave is skipped, the
    // next one in sequence switches to live, one further ahead is held.
    std::optional<Message> m;
    if (!read_live(m)) return false;
    if (m->sequence < *next_) return true;
    if (m->sequence == *next_) {
      ++stats_.from_live;
      deliver(handler, m->sequence, m->subject, m->payload);
      tailer_.reset();
      mode_ = Mode::kLive;
      return true;
    }
    held_ = Held{m->sequence, std::string(m->subject), {m->payload.begin(), m->payload.end()}};
    held_since_ = std::chrono::steady_clock::now();
    return true;
  }
  if (std::chrono::steady_clock::now() - held_since_ >= options_.missing_after) {
    // Published but never journaled, and no longer on the ring: give it up.
    stats_.lost += held_->sequence - *next_;
    if (on_lost) on_lost(*next_, held_->sequence - 1);
    next_ = held_->sequence;
    return true;
  }
  return false;
}

absl::StatusOr<int> CatchUpSubscriber::poll(const Handler& handler, const GapHandler& on_lost, int limit) {
  int n = 0;
  while (n < limit) {
    if (mode_ == Mode::kLive) {
      if (!step_live(handler)) break;
    } else {
      auto stepped = step_journal(handler, on_lost);
      if (!stepped.ok()) return stepped.status();
      if (!*stepped) break;
    }
    ++n;
  }
  return n;
}

absl::Status CatchUpSubscriber::run(const Handler& handler, const GapHandler& on_lost,
                                    const std::atomic<bool>& stop) {
  int idle = 0;
  // acquire: pairs with the release store of `stop` by whoever stops the run.
  while (!stop.load(std::memory_order_acquire)) {
    auto n = poll(handler, on_lost);
    if (!n.ok()) return n.status();
    if (*n > 0) {
      idle = 0;
      continue;
    }
    ++idle;
    if (idle < kIdleSpins) {
      cpu_relax();
    } else if (idle < kIdleSpins + kIdleYields || mode_ == Mode::kJournal) {
      // Catching up, the journal is polled (files have no wake-up).
      if (idle < kIdleSpins + kIdleYields) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(kIdleSleep);
      }
    } else {
      // Live: park on the ring; a publish wakes it (bounded, so `stop` is seen).
      const std::uint32_t key = poller_->prepare_wait();
      poller_->wait(key, std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
    }
  }
  return absl::OkStatus();
}

}  // namespace tickwire::middleware
