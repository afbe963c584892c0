#include "tickwire/middleware/transport_subscriber.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "absl/status/status.h"
#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/subject.hpp"

namespace tickwire::middleware {
namespace {

// Idle delivery: polls with cpu_relax() between them, then with yields, then park.
constexpr int kIdleSpins = 256;
constexpr int kIdleYields = 8;
constexpr int kPollBatch = 256;
// A parked delivery thread re-checks at least this often, so that it notices
// a publisher that restarted (or died) without waking it.
constexpr auto kParkTimeout = std::chrono::milliseconds(100);
// A subscriber fed unbounded distinct subjects (a hostile writer) starts its
// match cache afresh past this many, rather than growing without limit.
constexpr std::size_t kMaxCachedSubjects = 1 << 16;

}  // namespace

void transport_record::encode(std::span<std::byte> out, std::uint64_t sequence, std::string_view subject,
                              std::span<const std::byte> payload) noexcept {
  // Safety: the caller sized `out` to encoded_size(subject.size(), payload.size());
  // the three copies fill it back to back.
  std::memcpy(out.data(), &sequence, kSequenceBytes);
  std::memcpy(out.data() + kSequenceBytes, subject.data(), subject.size());
  if (!payload.empty()) std::memcpy(out.data() + kSequenceBytes + subject.size(), payload.data(), payload.size());
}

absl::StatusOr<std::unique_ptr<TransportPoller>> TransportPoller::open(RingSource& source,
                                                                       std::string_view pattern, StartAt start) {
  if (!is_valid_pattern(pattern)) {
    return absl::InvalidArgumentError(fmt::format(
        "subscribe: invalid subject pattern '{}' (dot-separated tokens; '*' for one token, '>' last)", pattern));
  }
  auto reader = source.open_reader(start);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<TransportPoller>(new TransportPoller(source, std::string(pattern), *std::move(reader)));
}

TransportPoller::TransportPoller(RingSource& source, std::string pattern, RingReader reader)
    : source_(source), pattern_(std::move(pattern)), ring_(std::move(reader)), last_sequence_(ring_.last_sequence) {
  buffer_.resize(BroadcastLayout::max_payload(ring_.reader.capacity()));
}

bool TransportPoller::matches(std::string_view subject) {
  if (auto it = matches_.find(subject); it != matches_.end()) return it->second;
  if (matches_.size() >= kMaxCachedSubjects) {
    matches_.clear();
    subjects_.clear();
  }
  const bool m = subject_matches(pattern_, subject);
  const std::string& key = subjects_.emplace_back(subject);
  matches_.emplace(std::string_view(key), m);
  return m;
}

void TransportPoller::account_sequence(std::uint64_t sequence, const GapHandler& on_gap) {
  // Every record carries the publisher's sequence, so a gap is exactly what
  // this cursor lost (lapped, or published before a restart and never read).
  // A sequence that goes back means a publisher started afresh: rebase.
  if (last_sequence_ && sequence > *last_sequence_ + 1) {
    dropped_local_ += sequence - *last_sequence_ - 1;
    // relaxed (both): statistics; stored before the next handler call, so a
    // handler's caller reading stats() afterwards sees them.
    dropped_.store(dropped_local_, std::memory_order_relaxed);
    lapped_.store(lapped_base_ + ring_.reader.lapped_count(), std::memory_order_relaxed);
    if (on_gap) on_gap(*last_sequence_ + 1, sequence - 1);
  }
  last_sequence_ = sequence;
}

bool TransportPoller::reattach() noexcept {
  // A new epoch: the publisher re-formatted the ring. Everything in it is new,
  // so read it from the oldest record; losses show as a sequence gap.
  auto fresh = source_.open_reader(StartAt::kOldest);
  if (!fresh.ok()) return false;  // mid-restart: the next poll tries again
  lapped_base_ += ring_.reader.lapped_count();
  ring_ = *std::move(fresh);
  if (buffer_.size() < BroadcastLayout::max_payload(ring_.reader.capacity())) {
    buffer_.resize(BroadcastLayout::max_payload(ring_.reader.capacity()));
  }
  ++restarts_;
  return true;
}

int TransportPoller::poll(const Handler& handler, int limit, const std::atomic<bool>* stop,
                          const GapHandler& on_gap) {
  int consumed = 0;
  // acquire: pairs with the release store of *stop by whoever stops this poller.
  while (consumed < limit && (stop == nullptr || !stop->load(std::memory_order_acquire))) {
    const ReadResult r = ring_.reader.try_read(buffer_);
    if (r.status == ReadStatus::kEmpty) break;
    if (r.status == ReadStatus::kWriterRestarted) {
      if (!reattach()) break;
      continue;
    }
    if (r.status == ReadStatus::kBufferTooSmall) {
      buffer_.resize(r.length);
      continue;
    }
    ++consumed;
    const std::size_t subject_length = r.type;
    if (r.length < transport_record::kSequenceBytes ||
        subject_length > r.length - transport_record::kSequenceBytes) {
      ++dropped_local_;  // not a transport record: foreign writes to the ring
      dropped_.store(dropped_local_, std::memory_order_relaxed);  // relaxed: a statistic
      continue;
    }
    std::uint64_t sequence;
    // Safety: the record holds at least kSequenceBytes (checked above); sequence is a plain integer.
    std::memcpy(&sequence, buffer_.data(), transport_record::kSequenceBytes);
    account_sequence(sequence, on_gap);
    const std::byte* subject_bytes = buffer_.data() + transport_record::kSequenceBytes;
    // Safety: subject_length bytes follow the sequence (checked above); views of chars over bytes.
    const std::string_view subject(reinterpret_cast<const char*>(subject_bytes), subject_length);
    if (!matches(subject)) continue;
    const std::span<const std::byte> payload(subject_bytes + subject_length,
                                             r.length - transport_record::kSequenceBytes - subject_length);
    ++received_local_;
    received_.store(received_local_, std::memory_order_relaxed);  // relaxed: a statistic
    handler(Message{subject, payload, sequence});
  }
  publish_stats();
  return consumed;
}

void TransportPoller::publish_stats() noexcept {
  // relaxed (all): statistics, read by stats() with no ordering needed.
  dropped_.store(dropped_local_, std::memory_order_relaxed);
  lapped_.store(lapped_base_ + ring_.reader.lapped_count(), std::memory_order_relaxed);
  restarts_shared_.store(restarts_, std::memory_order_relaxed);
  backpressure_.store(ring_.reader.backpressure(), std::memory_order_relaxed);
}

SubscriberStats TransportPoller::stats() const noexcept {
  // relaxed (all): statistics, stored by the polling thread in publish_stats().
  return SubscriberStats{received_.load(std::memory_order_relaxed), dropped_.load(std::memory_order_relaxed),
                         lapped_.load(std::memory_order_relaxed), restarts_shared_.load(std::memory_order_relaxed),
                         backpressure_.load(std::memory_order_relaxed)};
}

struct SubscriberSet::Subscription {
  Handler handler;
  GapHandler on_gap;
  std::unique_ptr<TransportPoller> poller;
  std::atomic<bool> stop{false};
  std::thread thread;
};

SubscriberSet::SubscriberSet(RingSource& source) : source_(source) {}

SubscriberSet::~SubscriberSet() { close(); }

void SubscriberSet::run(Subscription& sub) {
  int idle = 0;
  // acquire: pairs with the release store of stop in unsubscribe()/close().
  while (!sub.stop.load(std::memory_order_acquire)) {
    if (sub.poller->poll(sub.handler, kPollBatch, &sub.stop, sub.on_gap) > 0) {
      idle = 0;
      continue;
    }
    ++idle;
    if (idle < kIdleSpins) {
      cpu_relax();
      continue;
    }
    if (idle < kIdleSpins + kIdleYields) {
      std::this_thread::yield();
      continue;
    }
    // The EventCount handshake: announce, re-check both conditions, then sleep.
    const std::uint32_t key = sub.poller->prepare_wait();
    // acquire: as above.
    if (sub.stop.load(std::memory_order_acquire) || sub.poller->poll(sub.handler, kPollBatch, &sub.stop, sub.on_gap) > 0) {
      sub.poller->cancel_wait();
      idle = 0;
      continue;
    }
    sub.poller->wait(key, std::chrono::steady_clock::now() + kParkTimeout);
  }
}

absl::StatusOr<SubscriptionId> SubscriberSet::subscribe(std::string_view pattern, Handler handler,
                                                        StartAt start, GapHandler on_gap) {
  auto poller = TransportPoller::open(source_, pattern, start);
  if (!poller.ok()) return poller.status();
  auto sub = std::make_unique<Subscription>();
  sub->handler = std::move(handler);
  sub->on_gap = std::move(on_gap);
  sub->poller = *std::move(poller);
  Subscription& ref = *sub;
  join_retired();
  std::lock_guard lock(mu_);
  const SubscriptionId id = next_id_++;
  // The cursor was placed above, so nothing published after this returns is missed.
  ref.thread = std::thread([&ref] { run(ref); });
  subscriptions_.emplace(id, std::move(sub));
  return id;
}

void SubscriberSet::unsubscribe(SubscriptionId id) {
  join_retired();
  std::unique_ptr<Subscription> sub;
  {
    std::lock_guard lock(mu_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return;
    sub = std::move(it->second);
    subscriptions_.erase(it);
  }
  // release: pairs with the acquire loads of stop in run().
  sub->stop.store(true, std::memory_order_release);
  source_.wake_all();
  if (sub->thread.get_id() == std::this_thread::get_id()) {
    // Called from this subscription's own handler: run() returns once the
    // handler does; join it later.
    std::lock_guard lock(mu_);
    retired_.push_back(std::move(sub));
    return;
  }
  sub->thread.join();
}

SubscriberStats SubscriberSet::stats(SubscriptionId id) const {
  std::lock_guard lock(mu_);
  auto it = subscriptions_.find(id);
  return it == subscriptions_.end() ? SubscriberStats{} : it->second->poller->stats();
}

void SubscriberSet::join_retired() {
  std::vector<std::unique_ptr<Subscription>> retired;
  {
    std::lock_guard lock(mu_);
    retired.swap(retired_);
  }
  for (auto& sub : retired) {
    if (sub->thread.get_id() == std::this_thread::get_id()) {
      std::lock_guard lock(mu_);  // still inside its own handler: later
      retired_.push_back(std::move(sub));
      continue;
    }
    sub->thread.join();
  }
}

void SubscriberSet::close() {
  absl::flat_hash_map<SubscriptionId, std::unique_ptr<Subscription>> subs;
  std::vector<std::unique_ptr<Subscription>> retired;
  {
    std::lock_guard lock(mu_);
    subs.swap(subscriptions_);
    retired.swap(retired_);
  }
  // release: pairs with the acquire loads of stop in run().
  for (auto& [id, sub] : subs) sub->stop.store(true, std::memory_order_release);
  source_.wake_all();
  for (auto& [id, sub] : subs) sub->thread.join();
  for (auto& sub : retired) sub->thread.join();
}

}  // namespace tickwire::middleware
