#include "tickwire/connector/publish_targets.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/status/status.h"
#include "tickwire/connector/log.hpp"
#include "tickwire/middleware/in_process_transport.hpp"
#include "tickwire/middleware/nats_transport.hpp"
#include "tickwire/middleware/shm_transport.hpp"
#include "tickwire/middleware/status_text.hpp"

namespace tickwire::connector {
namespace {

// A NATS publisher thread parked on an empty queue re-checks this often.
constexpr auto kParkTimeout = std::chrono::milliseconds(100);
// How long close() waits for NATS to acknowledge what was published.
constexpr auto kFlushLimit = std::chrono::seconds(5);

middleware::NatsOptions nats_options(const std::string& url, const config::NatsPublishConfig& c) {
  middleware::NatsOptions o;
  o.url = url;
  o.name = "tickwire-run";
  o.user = c.user;
  o.password = c.password;
  o.token = c.token;
  o.credentials_file = c.credentials_file;
  o.tls_ca = c.tls_ca;
  o.reconnect_buffer_bytes = static_cast<int>(c.reconnect_buffer_bytes);
  o.send_asap = c.send_asap;
  o.jetstream = c.jetstream;
  o.stream = c.stream;
  o.retention.max_age = std::chrono::seconds(c.max_age_s);
  o.retention.max_bytes = static_cast<std::int64_t>(c.max_bytes);
  o.retention.max_msgs = static_cast<std::int64_t>(c.max_msgs);
  o.file_storage = c.file_storage;
  // Subscribers see the Envelope's sequence (and so their gaps) without decoding it.
  o.sequence_header = true;
  return o;
}

absl::Status set_group(const std::string& path, const std::string& group) {
  if (group.empty()) return absl::OkStatus();
  const ::group* g = ::getgrnam(group.c_str());
  if (g == nullptr) return absl::NotFoundError(fmt::format("{}: group '{}' does not exist", path, group));
  if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
    return absl::PermissionDeniedError(fmt::format("{}: cannot give it to group '{}': {}", path, group,
                                                   std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

// Target: one configured target. Counters are written by the publishing
// thread (and, for NATS, by its publisher thread) and read by the status
// line: relaxed throughout, they are independent statistics.
class PublishTargets::Target {
 public:
  explicit Target(std::string spec) : spec_(std::move(spec)) {}
  ~Target() { stop(); }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  // open_direct: an in-process or shm transport the feed thread writes itself.
  void open_direct(std::unique_ptr<middleware::Transport> transport) { direct_ = std::move(transport); }

  // open_nats: the NATS transport and its queue and publisher thread.
  void open_nats(std::unique_ptr<middleware::NatsTransport> nats, std::size_t queue_bytes) {
    nats_ = std::move(nats);
    queue_ = std::make_unique<middleware::InProcessTransport>(middleware::InProcessOptions{queue_bytes});
    auto poller = queue_->open_poller(">", middleware::StartAt::kNow);
    if (!poller.ok()) {
      fail_open(poller.status());
      return;
    }
    poller_ = *std::move(poller);
    thread_ = std::thread([this] { run(); });
  }

  void fail_open(const absl::Status& why) {
    error_ = std::string(middleware::status_text(why));
    TW_LOG_ERROR(log(), "publish {}: {}; records are journaled but not published there", spec_, error_);
    direct_.reset();
    nats_.reset();
  }

  bool up() const { return direct_ != nullptr || nats_ != nullptr; }
  middleware::Transport* direct() const { return direct_.get(); }

  bool publish_at(std::uint64_t sequence, std::string_view subject, std::span<const std::byte> payload) {
    middleware::Transport* to = direct_ ? direct_.get() : (nats_ ? queue_.get() : nullptr);
    if (to != nullptr && to->publish_at(sequence, subject, payload)) {
      if (direct_) published_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      return true;
    }
    failed_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return false;
  }

  // stop: drains the NATS queue into nats.c, flushes (bounded by kFlushLimit), joins the thread.
  void stop() {
    if (!thread_.joinable()) return;
    // release: pairs with the acquire loads in run(); everything published before is in the queue.
    stopping_.store(true, std::memory_order_release);
    thread_.join();
  }

  PublishTargetStats stats() const {
    PublishTargetStats s;
    s.spec = spec_;
    s.up = up();
    // relaxed (all): statistics.
    s.published = published_.load(std::memory_order_relaxed);
    s.failed = failed_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.error = error_;
    if (nats_) {
      s.failed += nats_->publish_failures();
      if (auto last = nats_->last_error(); !last.ok()) s.error = std::string(middleware::status_text(last));
    }
    return s;
  }

 private:
  // run: the NATS publisher thread: queue -> nats.c, until stopped and drained.
  void run() {
    const middleware::Handler forward = [this](const middleware::Message& m) {
      if (nats_->publish_at(m.sequence, m.subject, m.payload)) {
        published_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      }
    };
    const middleware::GapHandler lost = [this](std::uint64_t from, std::uint64_t to) {
      dropped_.fetch_add(to - from + 1, std::memory_order_relaxed);  // relaxed: a statistic
    };
    for (;;) {
      if (poller_->poll(forward, 256, nullptr, lost) > 0) continue;
      // acquire: pairs with the release store in stop(): once seen, one more
      // poll reads everything published before stop() was called.
      if (stopping_.load(std::memory_order_acquire)) {
        if (poller_->poll(forward, 256, nullptr, lost) > 0) continue;
        break;
      }
      const std::uint32_t key = poller_->prepare_wait();
      // acquire: as above.
      if (stopping_.load(std::memory_order_acquire) || poller_->poll(forward, 256, nullptr, lost) > 0) {
        poller_->cancel_wait();
        continue;
      }
      poller_->wait(key, std::chrono::steady_clock::now() + kParkTimeout);
    }
    if (auto s = nats_->flush(std::chrono::duration_cast<std::chrono::milliseconds>(kFlushLimit)); !s.ok()) {
      TW_LOG_WARN(log(), "publish {}: {}", spec_, middleware::status_text(s));
    }
  }

  std::string spec_;
  std::string error_;  // set at open, read later: written before any other thread reads stats
  std::unique_ptr<middleware::Transport> direct_;
  std::unique_ptr<middleware::NatsTransport> nats_;
  std::unique_ptr<middleware::InProcessTransport> queue_;
  std::unique_ptr<middleware::TransportPoller> poller_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  alignas(middleware::kCacheLineSize) std::atomic<std::uint64_t> published_{0};
  alignas(middleware::kCacheLineSize) std::atomic<std::uint64_t> failed_{0};
  alignas(middleware::kCacheLineSize) std::atomic<std::uint64_t> dropped_{0};
};

std::unique_ptr<PublishTargets> PublishTargets::open(const config::PublishConfig& config) {
  std::unique_ptr<PublishTargets> out(new PublishTargets());
  for (const auto& spec : config.to) {
    auto& target = *out->targets_.emplace_back(std::make_unique<Target>(spec.spec));
    switch (spec.kind) {
      case config::PublishKind::kInProcess: {
        target.open_direct(std::make_unique<middleware::InProcessTransport>());
        if (out->inproc_ == nullptr) out->inproc_ = target.direct();
        break;
      }
      case config::PublishKind::kShm: {
        middleware::ShmTransportOptions o;
        o.name = spec.name;
        o.capacity = config.shm.ring_bytes;
        o.mode = static_cast<mode_t>(config.shm.mode);
        auto shm = middleware::SharedMemoryTransport::create(std::move(o));
        if (!shm.ok()) {
          target.fail_open(shm.status());
          break;
        }
        if (auto s = set_group((*shm)->path(), config.shm.group); !s.ok()) {
          target.fail_open(s);
          break;
        }
        TW_LOG_INFO(log(), "publish {}: {} ({} ring)", spec.spec, (*shm)->path(), config.shm.ring_bytes);
        target.open_direct(*std::move(shm));
        break;
      }
      case config::PublishKind::kNats: {
        auto nats = middleware::NatsTransport::connect(nats_options(spec.name, config.nats));
        if (!nats.ok()) {
          target.fail_open(nats.status());
          break;
        }
        TW_LOG_INFO(log(), "publish {}: connected{}", spec.spec,
                    config.nats.jetstream ? fmt::format(" (JetStream stream '{}')", config.nats.stream) : "");
        target.open_nats(*std::move(nats), config.nats.queue_bytes);
        break;
      }
    }
  }
  return out;
}

PublishTargets::~PublishTargets() { close(); }

void PublishTargets::close() {
  for (auto& t : targets_) t->stop();
}

std::uint64_t PublishTargets::publish(std::string_view subject, std::span<const std::byte> payload) {
  const std::uint64_t seq = last_sequence_ + 1;
  return publish_at(seq, subject, payload) ? seq : 0;
}

bool PublishTargets::publish_at(std::uint64_t sequence, std::string_view subject,
                                std::span<const std::byte> payload) {
  last_sequence_ = sequence;
  bool all = true;
  for (auto& t : targets_) all = t->publish_at(sequence, subject, payload) && all;
  return all;
}

absl::StatusOr<middleware::SubscriptionId> PublishTargets::subscribe(std::string_view pattern,
                                                                     middleware::Handler handler) {
  return subscribe(pattern, std::move(handler), middleware::GapHandler{});
}

absl::StatusOr<middleware::SubscriptionId> PublishTargets::subscribe(std::string_view pattern,
                                                                     middleware::Handler handler,
                                                                     middleware::GapHandler on_gap) {
  if (inproc_ == nullptr) {
    return absl::FailedPreconditionError("publish: no \"inproc\" target to subscribe to in this process");
  }
  return inproc_->subscribe(pattern, std::move(handler), std::move(on_gap));
}

void PublishTargets::unsubscribe(middleware::SubscriptionId id) {
  if (inproc_ != nullptr) inproc_->unsubscribe(id);
}

middleware::SubscriberStats PublishTargets::stats(middleware::SubscriptionId id) const {
  return inproc_ != nullptr ? inproc_->stats(id) : middleware::SubscriberStats{};
}

std::vector<PublishTargetStats> PublishTargets::target_stats() const {
  std::vector<PublishTargetStats> out;
  for (const auto& t : targets_) out.push_back(t->stats());
  return out;
}

std::uint64_t PublishTargets::problems() const {
  std::uint64_t n = 0;
  for (const auto& s : target_stats()) n += s.failed + s.dropped;
  return n;
}

std::string PublishTargets::report() const {
  std::string out;
  for (const auto& s : target_stats()) {
    out += out.empty() ? "publish " : ", ";
    out += s.spec;
    if (!s.up) {
      out += " DOWN";
      continue;
    }
    out += fmt::format(" {}", s.published);
    if (s.failed != 0) out += fmt::format(" ({} failed)", s.failed);
    if (s.dropped != 0) out += fmt::format(" ({} dropped)", s.dropped);
  }
  return out;
}

}  // namespace tickwire::connector
