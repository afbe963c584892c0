#include "tickwire/middleware/nats_transport.hpp"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "tickwire/middleware/status_text.hpp"
#include "tickwire/middleware/subject.hpp"

namespace tickwire::middleware {
namespace {

// nats_error: "<what>: <nats.c status text> (<nats.c's last error detail>)".
absl::Status nats_error(std::string_view what, natsStatus s) {
  std::string text = std::string(what) + ": " + natsStatus_GetText(s);
  const char* detail = nats_GetLastError(nullptr);
  if (detail != nullptr && *detail != '\0' && text.find(detail) == std::string::npos) {
    text += std::string(" (") + detail + ")";
  }
  return s == NATS_TIMEOUT ? absl::DeadlineExceededError(text) : absl::UnavailableError(text);
}

// kSequenceHeader: carries the publisher's sequence when sequence_header is on.
constexpr const char* kSequenceHeader = "Tickwire-Seq";
// nats.c's default per-subscription pending limits (used when only one is set).
constexpr int kDefaultPendingMsgs = 65536;
constexpr int kDefaultPendingBytes = 64 * 1024 * 1024;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// SubjectBuffer: a NUL-terminated copy of a subject for nats.c, on the stack
// for any realistic subject, on the heap beyond that.
class SubjectBuffer {
 public:
  explicit SubjectBuffer(std::string_view s) {
    if (s.size() < sizeof(small_)) {
      s.copy(small_, s.size());
      small_[s.size()] = '\0';
      ptr_ = small_;
    } else {
      large_.assign(s);
      ptr_ = large_.c_str();
    }
  }
  const char* c_str() const { return ptr_; }

 private:
  char small_[256];
  std::string large_;
  const char* ptr_;
};

}  // namespace

// Subscription: shared by the transport (its map) and nats.c (the message
// and completion callbacks); freed when both have let go.
struct NatsTransport::Subscription {
  NatsTransport* owner = nullptr;
  SubscriptionId id = 0;
  Handler handler;
  GapHandler on_gap;
  natsSubscription* sub = nullptr;
  // Delivery-thread state (guarded by mu): the last publisher sequence seen.
  std::uint64_t last_sequence = 0;
  // from_start: last_sequence was set by subscribe_from (from - 1, possibly
  // 0), so the first message's jump from it is a gap too.
  bool from_start = false;
  // Held while the handler runs; recursive so a handler may unsubscribe itself.
  std::recursive_mutex mu;
  bool active = true;                     // guarded by mu
  std::atomic<std::uint64_t> received{0};  // relaxed: a counter, publishes nothing
  // refs: 2 at subscribe (the map, nats.c's completion callback). The
  // acq_rel decrement orders every use by one owner before the other's delete.
  std::atomic<int> refs{2};

  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

struct NatsCallbacks {
  static NatsTransport& self(void* closure) { return *static_cast<NatsTransport*>(closure); }

  static void on_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
    NatsTransport& t = self(closure);
    t.async_errors_.fetch_add(1, std::memory_order_relaxed);
    const absl::Status status = nats_error("nats " + t.options_.url + ": asynchronous error", err);
    {
      std::lock_guard lock(t.mu_);
      t.last_error_ = status;
    }
    spdlog::warn("{}", status_text(status));
  }

  static void on_disconnected(natsConnection*, void* closure) {
    NatsTransport& t = self(closure);
    // relaxed: only silences the log; set before natsConnection_Close, whose lock orders it before this call.
    if (t.shutting_down_.load(std::memory_order_relaxed)) return;
    t.disconnects_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("nats {}: disconnected; publishes are buffered (up to {} bytes) until it reconnects",
                 t.options_.url, t.options_.reconnect_buffer_bytes);
  }

  static void on_reconnected(natsConnection*, void* closure) {
    NatsTransport& t = self(closure);
    t.reconnects_.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("nats {}: reconnected", t.options_.url);
  }

  // on_closed: nats.c's last callback for the connection (its callbacks run
  // in order on one thread), after which none reaches the transport.
  static void on_closed(natsConnection*, void* closure) {
    NatsTransport& t = self(closure);
    std::lock_guard lock(t.mu_);
    t.conn_closed_ = true;
    t.closed_cv_.notify_all();
  }

  static void on_ack_error(jsCtx*, jsPubAckErr* pae, void* closure) {
    NatsTransport& t = self(closure);
    std::string what = "nats " + t.options_.url + ": JetStream stream '" + t.options_.stream +
                       "' did not acknowledge a publish";
    if (pae->ErrText != nullptr) what += std::string(" (") + pae->ErrText + ")";
    t.record_failure(nats_error(what, pae->Err));
  }

  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* sub = static_cast<NatsTransport::Subscription*>(closure);
    {
      std::lock_guard lock(sub->mu);
      if (sub->active) {
        std::uint64_t n = sub->received.fetch_add(1, std::memory_order_relaxed) + 1;
        const char* header = nullptr;
        if (natsMsgHeader_Get(msg, kSequenceHeader, &header) == NATS_OK && header != nullptr) {
          std::from_chars(header, header + std::strlen(header), n);
          report_gap(*sub, n);
        }
        // Safety: nats.c owns the data buffer until natsMsg_Destroy below.
        const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(msg));
        const Message m{natsMsg_GetSubject(msg),
                        {data, static_cast<std::size_t>(natsMsg_GetDataLength(msg))}, n};
        sub->handler(m);
      }
    }
    natsMsg_Destroy(msg);
  }

  // report_gap: every jump in the publisher's sequence is told, before this
  // message: the server drops a slow consumer's messages without the client
  // seeing a count, so a jump is the only sign. For a filtered subscription a
  // jump may only be other subjects (GapHandler: "may have lost").
  static void report_gap(NatsTransport::Subscription& sub, std::uint64_t sequence) {
    if ((sub.last_sequence != 0 || sub.from_start) && sequence > sub.last_sequence + 1 && sub.on_gap) {
      sub.on_gap(sub.last_sequence + 1, sequence - 1);
    }
    sub.last_sequence = sequence;
  }

  // on_complete: nats.c is done with the subscription (after unsubscribe or
  // connection close) and will not call on_message for it again.
  static void on_complete(void* closure) {
    auto* sub = static_cast<NatsTransport::Subscription*>(closure);
    NatsTransport* t = sub->owner;
    sub->release();
    std::lock_guard lock(t->mu_);
    --t->closing_;
    t->closed_cv_.notify_all();
  }
};

NatsTransport::NatsTransport(NatsOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<NatsTransport>> NatsTransport::connect(NatsOptions options) {
  // spdlog creates its registry on first use. Create it here, before nats.c
  // starts the threads whose callbacks log, so that thread creation orders
  // the creation before every use (otherwise the first callback creates it
  // on a nats.c thread and this thread reads it unordered).
  (void)spdlog::default_logger_raw();
  std::unique_ptr<NatsTransport> t(new NatsTransport(std::move(options)));
  if (auto s = t->open(); !s.ok()) return s;
  return t;
}

absl::Status NatsTransport::open() {
  const std::string where = "nats " + options_.url;
  natsStatus s = natsOptions_Create(&nats_options_);
  if (s != NATS_OK) return nats_error(where + ": creating options", s);
  natsOptions* o = nats_options_;
  if (s == NATS_OK) s = natsOptions_SetURL(o, options_.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(o, options_.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, options_.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(o, true);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, options_.reconnect_wait.count());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, options_.max_reconnect);
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o, options_.reconnect_buffer_bytes);
  if (s == NATS_OK) s = natsOptions_SetSendAsap(o, options_.send_asap);
  if (s == NATS_OK && !options_.user.empty()) {
    s = natsOptions_SetUserInfo(o, options_.user.c_str(), options_.password.c_str());
  }
  if (s == NATS_OK && !options_.token.empty()) s = natsOptions_SetToken(o, options_.token.c_str());
  if (s == NATS_OK && !options_.credentials_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(o, options_.credentials_file.c_str(), nullptr);
  }
  if (s == NATS_OK && !options_.tls_ca.empty()) {
    s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK) s = natsOptions_LoadCATrustedCertificates(o, options_.tls_ca.c_str());
  }
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(o, &NatsCallbacks::on_error, this);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(o, &NatsCallbacks::on_disconnected, this);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(o, &NatsCallbacks::on_reconnected, this);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(o, &NatsCallbacks::on_closed, this);
  if (s != NATS_OK) return nats_error(where + ": invalid options", s);
  s = natsConnection_Connect(&conn_, o);
  if (s != NATS_OK) return nats_error(where + ": connect", s);
  if (!options_.jetstream) return absl::OkStatus();

  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = options_.jetstream_max_pending;
  jo.PublishAsync.ErrHandler = &NatsCallbacks::on_ack_error;
  jo.PublishAsync.ErrHandlerClosure = this;
  s = natsConnection_JetStream(&js_, conn_, &jo);
  if (s != NATS_OK) return nats_error(where + ": JetStream context", s);
  return ensure_stream();
}

absl::Status NatsTransport::ensure_stream() {
  const std::string where = "nats " + options_.url + ": JetStream stream '" + options_.stream + "'";
  jsStreamInfo* info = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_GetStreamInfo(&info, js_, options_.stream.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    // An existing stream keeps its configuration: retention is an operator's decision.
    jsStreamInfo_Destroy(info);
    return absl::OkStatus();
  }
  if (s != NATS_NOT_FOUND) return nats_error(where + ": looking it up", s);

  std::vector<const char*> subjects;
  for (const auto& subj : options_.stream_subjects) subjects.push_back(subj.c_str());
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = options_.stream.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Retention = js_LimitsPolicy;
  cfg.Storage = options_.file_storage ? js_FileStorage : js_MemoryStorage;
  cfg.MaxAge = options_.retention.max_age.count();
  if (options_.retention.max_bytes > 0) cfg.MaxBytes = options_.retention.max_bytes;
  if (options_.retention.max_msgs > 0) cfg.MaxMsgs = options_.retention.max_msgs;
  s = js_AddStream(&info, js_, &cfg, nullptr, &jerr);
  if (s != NATS_OK) return nats_error(where + ": creating it (JetStream error " + std::to_string(jerr) + ")", s);
  jsStreamInfo_Destroy(info);
  spdlog::info("{}: created", where);
  return absl::OkStatus();
}

NatsTransport::~NatsTransport() {
  std::vector<Subscription*> subs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, sub] : subscriptions_) subs.push_back(sub);
    subscriptions_.clear();
  }
  // No round trip per subscription: closing the connection below joins nats.c's
  // read loop, after which destroying them is safe (release_nats_subscription).
  for (Subscription* sub : subs) {
    natsSubscription* ns = detach(sub);
    std::lock_guard lock(mu_);
    parked_.push_back(ns);
  }
  {
    // Wait for nats.c to let go of every subscription (on_complete), so no
    // callback can run into a destroyed transport.
    std::unique_lock lock(mu_);
    if (!closed_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return closing_ == 0; })) {
      spdlog::error("nats {}: {} subscription(s) still delivering after 10 s; closing anyway", options_.url,
                    closing_);
    }
  }
  if (conn_ != nullptr && natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED) {
    if (auto s = flush(std::chrono::seconds(2)); !s.ok()) {
      spdlog::warn("nats {}: closing with unflushed data: {}", options_.url, status_text(s));
    }
  }
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (conn_ != nullptr) {
    shutting_down_.store(true, std::memory_order_relaxed);
    natsConnection_Close(conn_);
    std::unique_lock lock(mu_);
    if (!closed_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return conn_closed_; })) {
      spdlog::error("nats {}: no close notification after 10 s; destroying the connection anyway", options_.url);
    }
    lock.unlock();
  }
  // The read loop is joined now (natsConnection_Close): parked subscriptions can go.
  std::vector<natsSubscription*> parked;
  {
    std::lock_guard lock(mu_);
    parked.swap(parked_);
  }
  for (natsSubscription* ns : parked) natsSubscription_Destroy(ns);
  if (conn_ != nullptr) natsConnection_Destroy(conn_);
  if (nats_options_ != nullptr) natsOptions_Destroy(nats_options_);
}

std::uint64_t NatsTransport::publish(std::string_view subject, std::span<const std::byte> payload) {
  // Relaxed: the sequence only has to be unique and increasing per transport.
  const std::uint64_t seq = sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
  send(seq, subject, payload);
  return seq;
}

bool NatsTransport::publish_at(std::uint64_t sequence, std::string_view subject,
                               std::span<const std::byte> payload) {
  // Relaxed: as above; publish() after publish_at() carries on from here.
  sequence_.store(sequence, std::memory_order_relaxed);
  return send(sequence, subject, payload);
}

bool NatsTransport::send(std::uint64_t seq, std::string_view subject, std::span<const std::byte> payload) {
  if (payload.size() > static_cast<std::size_t>(INT_MAX)) {
    record_failure(absl::InvalidArgumentError("nats " + options_.url + ": publish on '" + std::string(subject) +
                                              "': payload of " + std::to_string(payload.size()) +
                                              " bytes exceeds nats.c's int length"));
    return false;
  }
  const SubjectBuffer subj(subject);
  const int len = static_cast<int>(payload.size());
  natsStatus s = NATS_OK;
  if (options_.sequence_header) {
    s = static_cast<natsStatus>(publish_with_header(subj.c_str(), payload.data(), len, seq));
  } else if (js_ != nullptr) {
    s = js_PublishAsync(js_, subj.c_str(), payload.data(), len, nullptr);
  } else {
    s = natsConnection_Publish(conn_, subj.c_str(), payload.data(), len);
  }
  if (s == NATS_OK) {
    published_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  record_failure(nats_error("nats " + options_.url + ": publish on '" + std::string(subject) + "'", s));
  return false;
}

int NatsTransport::publish_with_header(const char* subject, const void* data, int len, std::uint64_t seq) {
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text) - 1, seq);
  *end = '\0';
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject, nullptr, static_cast<const char*>(data), len);
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, kSequenceHeader, text);
  if (s == NATS_OK) s = js_ != nullptr ? js_PublishMsgAsync(js_, &msg, nullptr) : natsConnection_PublishMsg(conn_, msg);
  // js_PublishMsgAsync takes the message (and nulls `msg`) when it accepts it.
  if (msg != nullptr) natsMsg_Destroy(msg);
  return s;
}

void NatsTransport::record_failure(absl::Status status) {
  const std::uint64_t failures = publish_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  {
    std::lock_guard lock(mu_);
    last_error_ = status;
  }
  // At most one log line per second; the counter carries the rest.
  const std::int64_t now = steady_ns();
  std::int64_t last = last_log_ns_.load(std::memory_order_relaxed);
  if ((last == 0 || now - last >= 1'000'000'000) &&
      last_log_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    spdlog::warn("{} [{} publish failure(s) so far]", status_text(status), failures);
  }
}

absl::StatusOr<SubscriptionId> NatsTransport::subscribe(std::string_view pattern, Handler handler) {
  return subscribe(pattern, std::move(handler), GapHandler{});
}

absl::StatusOr<SubscriptionId> NatsTransport::subscribe(std::string_view pattern, Handler handler,
                                                        GapHandler on_gap) {
  return subscribe_impl(pattern, std::move(handler), std::move(on_gap), std::nullopt);
}

absl::StatusOr<SubscriptionId> NatsTransport::subscribe_from(std::string_view pattern, std::uint64_t from_sequence,
                                                             Handler handler, GapHandler on_gap) {
  if (js_ == nullptr) {
    return absl::FailedPreconditionError("nats " + options_.url +
                                         ": subscribe_from needs JetStream (NatsOptions::jetstream and its stream)");
  }
  return subscribe_impl(pattern, std::move(handler), std::move(on_gap), std::max<std::uint64_t>(from_sequence, 1));
}

absl::StatusOr<std::uint64_t> NatsTransport::stream_sequence_of(std::uint64_t sequence) {
  const std::string where = "nats " + options_.url + ": stream '" + options_.stream + "'";
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js_, options_.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return nats_error(where + ": stream info", s);
  std::uint64_t lo = info->State.FirstSeq;
  std::uint64_t hi = info->State.LastSeq + 1;  // one past the last: "start with what comes next"
  const bool empty = info->State.Msgs == 0;
  jsStreamInfo_Destroy(info);
  if (empty) return hi;
  // The publisher's sequence of the stored message at stream sequence `at`
  // (0 if it has none; nullopt if that message is gone: deleted or expired).
  const auto publisher_sequence = [&](std::uint64_t at) -> absl::StatusOr<std::optional<std::uint64_t>> {
    natsMsg* msg = nullptr;
    jsErrCode e = static_cast<jsErrCode>(0);
    const natsStatus got = js_GetMsg(&msg, js_, options_.stream.c_str(), at, nullptr, &e);
    if (got == NATS_NOT_FOUND) return std::optional<std::uint64_t>();
    if (got != NATS_OK) return nats_error(where + ": get message " + std::to_string(at), got);
    std::uint64_t seq = 0;
    const char* header = nullptr;
    if (natsMsgHeader_Get(msg, kSequenceHeader, &header) == NATS_OK && header != nullptr) {
      std::from_chars(header, header + std::strlen(header), seq);
    }
    natsMsg_Destroy(msg);
    return std::optional<std::uint64_t>(seq);
  };
  // Binary search for the first stored message whose publisher sequence is
  // at least `sequence`: publisher sequences rise with stream sequences. A
  // message gone from the middle counts as below (the search moves past it).
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    auto at = publisher_sequence(mid);
    if (!at.ok()) return at.status();
    if (at->has_value() && **at >= sequence) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

absl::StatusOr<SubscriptionId> NatsTransport::subscribe_impl(std::string_view pattern, Handler handler,
                                                             GapHandler on_gap, std::optional<std::uint64_t> from) {
  if (!is_valid_pattern(pattern)) {
    return absl::InvalidArgumentError("subscribe: invalid subject pattern '" + std::string(pattern) +
                                      "' (dot-separated tokens; '*' for one token, '>' last)");
  }
  auto* sub = new Subscription;
  sub->owner = this;
  sub->handler = std::move(handler);
  sub->on_gap = std::move(on_gap);
  {
    std::lock_guard lock(mu_);
    sub->id = next_id_++;
    // Counted before nats.c can call on_complete.
    ++closing_;
  }
  const std::string p(pattern);
  natsStatus s = NATS_OK;
  if (!from) {
    s = natsConnection_Subscribe(&sub->sub, conn_, p.c_str(), &NatsCallbacks::on_message, sub);
  } else {
    // An ordered JetStream consumer of the stream from the stored message
    // that carries publisher sequence *from (or the next one stored): no
    // acks, redelivered in order after a reconnect, then live. Sequences the
    // stream no longer holds are told as a gap before the first message.
    auto start = stream_sequence_of(*from);
    if (!start.ok()) {
      std::lock_guard lock(mu_);
      --closing_;
      delete sub;
      return start.status();
    }
    sub->last_sequence = *from - 1;
    sub->from_start = true;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = options_.stream.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = *start;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_Subscribe(&sub->sub, js_, p.c_str(), &NatsCallbacks::on_message, sub, nullptr, &so, &jerr);
  }
  bool completion_set = false;
  if (s == NATS_OK) {
    s = natsSubscription_SetOnCompleteCB(sub->sub, &NatsCallbacks::on_complete, sub);
    completion_set = s == NATS_OK;
  }
  if (s == NATS_OK && (options_.subscriber_pending_msgs > 0 || options_.subscriber_pending_bytes > 0)) {
    s = natsSubscription_SetPendingLimits(
        sub->sub, options_.subscriber_pending_msgs > 0 ? options_.subscriber_pending_msgs : kDefaultPendingMsgs,
        options_.subscriber_pending_bytes > 0 ? options_.subscriber_pending_bytes : kDefaultPendingBytes);
  }
  if (s != NATS_OK) {
    const absl::Status err = nats_error("nats " + options_.url + ": subscribe to '" + p + "'", s);
    {
      std::lock_guard lock(sub->mu);
      sub->active = false;
    }
    if (sub->sub != nullptr) {
      natsSubscription_Unsubscribe(sub->sub);
      release_nats_subscription(sub->sub);
    }
    if (completion_set) {
      sub->release();  // on_complete releases nats.c's reference and counts it closed
    } else {
      if (sub->sub == nullptr) {
        delete sub;
      }
      // Otherwise, without a completion callback nats.c may still hold `sub`:
      // it stays allocated (one small object per failed subscribe on a closing connection).
      std::lock_guard lock(mu_);
      --closing_;
    }
    return err;
  }
  std::lock_guard lock(mu_);
  subscriptions_.emplace(sub->id, sub);
  return sub->id;
}

void NatsTransport::unsubscribe(SubscriptionId id) {
  Subscription* sub = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return;
    sub = it->second;
    subscriptions_.erase(it);
  }
  release_nats_subscription(detach(sub));
}

natsSubscription* NatsTransport::detach(Subscription* sub) {
  {
    // Waits for a running handler (unless it is this thread's own), then no
    // handler starts: on_message checks `active` under the same mutex.
    std::lock_guard lock(sub->mu);
    sub->active = false;
  }
  natsSubscription* ns = sub->sub;
  // Removes `ns` from the connection's subscription map and sends UNSUB; the
  // delivery thread ends with on_complete, which drops nats.c's reference to `sub`.
  natsSubscription_Unsubscribe(ns);
  sub->release();  // the map's reference
  return ns;
}

// Why not natsSubscription_Destroy right after Unsubscribe: libnats 3.4.1
// (Debian 12) has a use-after-free there. Its read loop (natsConn_processMsg)
// finds the subscription in the connection's map under the map lock, drops
// that lock, builds the message and only then locks the subscription, without
// holding a reference in between (nats.c issue #637, fixed upstream by PR
// #638 in 2023, after 3.5.0).
// If our Destroy (or the delivery thread's exit that follows it) drops the
// last reference inside that window, the read loop locks a destroyed mutex in
// freed memory: TSan's "use of an invalid mutex", a crash or worse without it.
// Unsubscribe has already taken `ns` out of the map, so a PING sent now is
// answered after any lookup that could still have found it, and the read loop
// (one thread, processing the socket in order) handles that PONG only after
// leaving processMsg: once the flush returns OK, nothing in nats.c but our
// reference and the delivery thread's can reach `ns`. Without that round trip
// (disconnected, timed out), `ns` stays allocated until the destructor has
// closed the connection, which joins the read loop.
void NatsTransport::release_nats_subscription(natsSubscription* ns) {
  if (natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED &&
      natsConnection_FlushTimeout(conn_, options_.connect_timeout.count()) == NATS_OK) {
    natsSubscription_Destroy(ns);
    return;
  }
  std::lock_guard lock(mu_);
  parked_.push_back(ns);
}

SubscriberStats NatsTransport::stats(SubscriptionId id) const {
  std::lock_guard lock(mu_);
  auto it = subscriptions_.find(id);
  if (it == subscriptions_.end()) return {};
  int64_t dropped = 0;
  natsSubscription_GetDropped(it->second->sub, &dropped);
  return {it->second->received.load(std::memory_order_relaxed), static_cast<std::uint64_t>(dropped)};
}

absl::Status NatsTransport::flush(std::chrono::milliseconds timeout) {
  const std::string where = "nats " + options_.url + ": flush";
  if (js_ != nullptr) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout.count();
    const natsStatus s = js_PublishAsyncComplete(js_, &po);
    if (s != NATS_OK) return nats_error(where + " (JetStream acknowledgements)", s);
    return absl::OkStatus();
  }
  const natsStatus s = natsConnection_FlushTimeout(conn_, timeout.count());
  if (s != NATS_OK) return nats_error(where, s);
  return absl::OkStatus();
}

NatsStats NatsTransport::transport_stats() const {
  return {published_.load(std::memory_order_relaxed), publish_failures_.load(std::memory_order_relaxed),
          async_errors_.load(std::memory_order_relaxed), disconnects_.load(std::memory_order_relaxed),
          reconnects_.load(std::memory_order_relaxed)};
}

std::uint64_t NatsTransport::publish_failures() const {
  return publish_failures_.load(std::memory_order_relaxed);
}

absl::Status NatsTransport::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace tickwire::middleware
