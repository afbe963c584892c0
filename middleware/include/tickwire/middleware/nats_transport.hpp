// NatsTransport: publishes on a NATS server through nats.c, and subscribes
// with NATS wildcards (one nats.c subscription each). With JetStream on, a
// stream (created if absent, with the configured retention) stores every
// subject it covers so subscribers on other hosts can replay. Reconnection and
// the reconnect buffer are nats.c's; every publish failure is counted, kept as
// `last_error()` and logged (at most once per second), never silent.
// Costs: one mutex-free publish = an atomic increment plus nats.c's own lock
// and buffer copy; handlers run on nats.c's delivery threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tickwire/middleware/transport.hpp"

// nats.c's opaque types, so users of this header do not include <nats/nats.h>.
struct __natsConnection;
struct __natsOptions;
struct __natsSubscription;
struct __jsCtx;

namespace tickwire::middleware {

// NatsRetention: JetStream limits; 0 means unlimited.
struct NatsRetention {
  std::chrono::nanoseconds max_age{0};
  std::int64_t max_bytes = 0;
  std::int64_t max_msgs = 0;
};

struct NatsOptions {
  std::string url = "nats://127.0.0.1:4222";
  std::string name = "tickwire";                                  // connection name the server shows
  // Authentication, as nats.c supports it (empty: not used).
  std::string user, password;                                     // user/password
  std::string token;                                              // token
  std::string credentials_file;                                   // .creds file (user JWT + NKey seed)
  std::string tls_ca;                                             // CA bundle: TLS, server verified against it
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_wait{250};
  int max_reconnect = -1;                                         // -1: forever
  int reconnect_buffer_bytes = 8 * 1024 * 1024;                   // held while disconnected
  // send_asap: each publish is written to the socket at once (natsOptions_SetSendAsap)
  // instead of by nats.c's flusher thread: loopback publish -> handler about
  // 0.1 ms instead of 1 ms (bench_nats), at one write(2) per publish.
  bool send_asap = false;
  bool jetstream = false;
  std::string stream = "TICKWIRE";                                // JetStream stream name
  // stream_subjects: what the stream stores; the default is every 4-token
  // <env>.<feed>.<kind>.<SYMBOL> subject ('>' would also capture replies).
  std::vector<std::string> stream_subjects = {"*.*.*.*"};
  NatsRetention retention;
  bool file_storage = true;                                       // false: memory storage
  std::int64_t jetstream_max_pending = 65536;                     // async publishes awaiting acks
  // sequence_header: send the transport's sequence in a "Tickwire-Seq" header,
  // so subscribers see the publisher's sequence. Costs one nats.c message
  // allocation per publish; off, a publish is nats.c's plain PUB.
  bool sequence_header = false;
  // Per subscription, messages/bytes nats.c queues for a slow handler before
  // dropping (counted in stats().dropped); 0 keeps nats.c's default (65536 / 64 MiB).
  int subscriber_pending_msgs = 0;
  int subscriber_pending_bytes = 0;
};

// NatsStats: transport-wide counters (each read with relaxed order: they are
// independent monotone counters, no other data is published through them).
struct NatsStats {
  std::uint64_t published = 0;         // publish() calls nats.c accepted
  std::uint64_t publish_failures = 0;  // publish() calls nats.c refused, plus JetStream acks that failed
  std::uint64_t async_errors = 0;      // errors nats.c reported asynchronously (e.g. slow consumer)
  std::uint64_t disconnects = 0;
  std::uint64_t reconnects = 0;
};

class NatsTransport final : public Transport {
 public:
  // connect: connects (and with JetStream, finds or creates the stream).
  // Errors name the URL or stream and nats.c's reason.
  static absl::StatusOr<std::unique_ptr<NatsTransport>> connect(NatsOptions options);
  ~NatsTransport() override;
  NatsTransport(const NatsTransport&) = delete;
  NatsTransport& operator=(const NatsTransport&) = delete;

  // publish: the sequence is taken even when nats.c refuses the message; the
  // refusal is counted in publish_failures(). Subjects must not contain spaces.
  std::uint64_t publish(std::string_view subject, std::span<const std::byte> payload) override;
  // publish_at: as publish with the caller's sequence (sent in the Tickwire-Seq
  // header when sequence_header is on); false when nats.c refused it (counted).
  bool publish_at(std::uint64_t sequence, std::string_view subject, std::span<const std::byte> payload) override;
  // subscribe: a core NATS subscription; the handler runs on nats.c's delivery
  // thread for it. Message::sequence is the publisher's sequence when it sent
  // a Tickwire-Seq header (sequence_header), else this subscription's delivery
  // count (1, 2, ...); the Envelope in the payload carries its own sequence.
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler) override;
  // subscribe: as above; `on_gap` gets every jump between the last delivered
  // and the next delivered publisher sequence (needs the publisher's
  // sequence_header): drops by nats.c or by the server for a slow consumer,
  // or, for a pattern that filters, records of other subjects.
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler, GapHandler on_gap) override;
  // subscribe_from: with JetStream on: every message of the stream matching
  // `pattern` from the one the publisher sent with sequence `from_sequence`
  // (publish_at with sequence_header; the first stored one at or after it),
  // in order, then live, through an ordered consumer (no acks; nats.c
  // recreates it after a reconnect where it left off). A range the stream no
  // longer holds (retention, or published before it existed) reaches `on_gap`
  // before the first message. Errors name the stream; FailedPrecondition
  // without JetStream. Unsubscribe deletes the consumer.
  absl::StatusOr<SubscriptionId> subscribe_from(std::string_view pattern, std::uint64_t from_sequence,
                                                Handler handler, GapHandler on_gap);
  // unsubscribe: once it returns, the handler for `id` is neither running nor
  // starts again (unless unsubscribe is called from that handler, which then
  // finishes its own call). Costs one round trip to the server (see
  // release_nats_subscription in the .cpp); while disconnected it does not
  // wait, and nats.c's subscription object is kept until the destructor.
  void unsubscribe(SubscriptionId id) override;
  // stats: delivered messages, and messages nats.c dropped for this slow subscriber.
  SubscriberStats stats(SubscriptionId id) const override;

  // flush: everything published so far has reached the server (and with
  // JetStream, has been acknowledged by the stream) or the timeout passed.
  absl::Status flush(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  NatsStats transport_stats() const;
  std::uint64_t publish_failures() const;
  // last_error: the most recent failure (OK if none).
  absl::Status last_error() const;
  const NatsOptions& options() const { return options_; }

 private:
  struct Subscription;

  explicit NatsTransport(NatsOptions options);
  absl::Status open();
  absl::Status ensure_stream();
  absl::StatusOr<SubscriptionId> subscribe_impl(std::string_view pattern, Handler handler, GapHandler on_gap,
                                                std::optional<std::uint64_t> from);
  // stream_sequence_of: the stream sequence of the first stored message whose
  // publisher sequence (Tickwire-Seq) is >= `sequence`; one past the last if none.
  absl::StatusOr<std::uint64_t> stream_sequence_of(std::uint64_t sequence);
  void record_failure(absl::Status status);
  // detach: stops `sub`'s handler (waiting for a running call) and unsubscribes
  // it from nats.c; returns nats.c's subscription, still to be released.
  __natsSubscription* detach(Subscription* sub);
  // release_nats_subscription: natsSubscription_Destroy once nats.c's read loop
  // can no longer reach `ns`, else keeps it in parked_ until the destructor.
  void release_nats_subscription(__natsSubscription* ns);
  // send: one message to nats.c; false (counted, logged) when refused.
  bool send(std::uint64_t seq, std::string_view subject, std::span<const std::byte> payload);
  int publish_with_header(const char* subject, const void* data, int len, std::uint64_t seq);  // a natsStatus

  friend struct NatsCallbacks;  // nats.c's C callbacks (nats_transport.cpp)

  NatsOptions options_;
  __natsOptions* nats_options_ = nullptr;
  __natsConnection* conn_ = nullptr;
  __jsCtx* js_ = nullptr;

  std::atomic<std::uint64_t> sequence_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> publish_failures_{0};
  std::atomic<std::uint64_t> async_errors_{0};
  std::atomic<std::uint64_t> disconnects_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::int64_t> last_log_ns_{0};  // rate limit for failure logs
  std::atomic<bool> shutting_down_{false};     // the destructor is closing the connection

  mutable std::mutex mu_;  // guards everything below
  absl::Status last_error_;
  SubscriptionId next_id_ = 1;
  absl::flat_hash_map<SubscriptionId, Subscription*> subscriptions_;
  std::size_t closing_ = 0;   // subscriptions nats.c has not completed (on_complete)
  // parked_: unsubscribed nats.c subscriptions not yet safe to destroy (no
  // round trip since); destroyed after the connection is closed.
  std::vector<__natsSubscription*> parked_;
  bool conn_closed_ = false;  // nats.c called on_closed
  std::condition_variable closed_cv_;
};

}  // namespace tickwire::middleware
