#include "tickwire/connector/publish_targets.hpp"

#include <grp.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
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
// How often the publisher thread tries a NATS server that was down at start.
constexpr auto kRetryInterval = std::chrono::seconds(1);
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

  // open_nats: the NATS transport's queue and publisher thread, and a first
  // connection. A server that cannot be reached (or refuses the credentials)
  // is logged; the publisher thread tries again every kRetryInterval until it
  // connects or the run ends. Until then the target is down and refuses every
  // record on the publishing thread.
  void open_nats(middleware::NatsOptions options, std::size_t queue_bytes) {
    queue_ = std::make_unique<middleware::InProcessTransport>(middleware::InProcessOptions{queue_bytes});
    auto poller = queue_->open_poller(">", middleware::StartAt::kNow);
    if (!poller.ok()) {
      fail_open(poller.status());
      return;
    }
    poller_ = *std::move(poller);
    nats_options_ = std::move(options);
    if (!connect_nats()) {
      TW_LOG_ERROR(log(), "publish {}: {}; records are journaled but not published there until it connects "
                   "(retrying every {} s)", spec_, error(), kRetryInterval.count());
    }
    thread_ = std::thread([this] { run(); });
  }

  void fail_open(const absl::Status& why) {
    set_error(std::string(middleware::status_text(why)));
    TW_LOG_ERROR(log(), "publish {}: {}; records are journaled but not published there", spec_, error());
    direct_.reset();
  }

  // acquire: pairs with the release store in connect_nats(); nats_ is set.
  bool up() const { return direct_ != nullptr || nats_up_.load(std::memory_order_acquire); }
  middleware::Transport* direct() const { return direct_.get(); }

  bool publish_at(std::uint64_t sequence, std::string_view subject, std::span<const std::byte> payload) {
    // acquire: as in up().
    middleware::Transport* to =
        direct_ ? direct_.get() : (nats_up_.load(std::memory_order_acquire) ? queue_.get() : nullptr);
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
    s.error = error();
    // acquire: as in up().
    if (nats_up_.load(std::memory_order_acquire)) {
      s.failed += nats_->publish_failures();
      if (auto last = nats_->last_error(); !last.ok()) s.error = std::string(middleware::status_text(last));
    }
    return s;
  }

 private:
  std::string error() const {
    const std::lock_guard lock(error_mu_);
    return error_;
  }
  void set_error(std::string why) {
    const std::lock_guard lock(error_mu_);
    error_ = std::move(why);
  }

  // connect_nats: one attempt; on success publishes nats_ to the other
  // threads (and the publishing thread starts queueing records for it).
  bool connect_nats() {
    ++attempts_;
    auto nats = middleware::NatsTransport::connect(nats_options_);
    if (!nats.ok()) {
      set_error(std::string(middleware::status_text(nats.status())));
      return false;
    }
    nats_ = *std::move(nats);
    set_error({});
    // release: pairs with the acquire loads in up(), publish_at() and stats().
    nats_up_.store(true, std::memory_order_release);
    if (attempts_ == 1) {
      TW_LOG_INFO(log(), "publish {}: connected{}", spec_,
                  nats_options_.jetstream ? fmt::format(" (JetStream stream '{}')", nats_options_.stream) : "");
    } else {
      // relaxed: a statistic.
      TW_LOG_INFO(log(), "publish {}: connected at attempt {}; {} records were refused while it was down", spec_,
                  attempts_, failed_.load(std::memory_order_relaxed));
    }
    return true;
  }

  // retry_until_up: the publisher thread before the first connection: an
  // attempt every kRetryInterval until one succeeds (true) or stop() (false).
  bool retry_until_up() {
    std::string last_logged = error();
    auto next = std::chrono::steady_clock::now() + kRetryInterval;
    for (;;) {
      // acquire: pairs with the release store in stop().
      if (stopping_.load(std::memory_order_acquire)) return false;
      if (std::chrono::steady_clock::now() >= next) {
        if (connect_nats()) return true;
        if (std::string why = error(); why != last_logged) {  // a new reason, once
          TW_LOG_WARN(log(), "publish {}: {} (attempt {}; retrying every {} s)", spec_, why, attempts_,
                      kRetryInterval.count());
          last_logged = std::move(why);
        }
        next = std::chrono::steady_clock::now() + kRetryInterval;
      }
      std::this_thread::sleep_for(kParkTimeout);  // a stop() is seen within kParkTimeout
    }
  }

  // run: the NATS publisher thread: connects if open_nats() could not, then
  // queue -> nats.c, until stopped and drained.
  void run() {
    if (!nats_up_.load(std::memory_order_relaxed) && !retry_until_up()) return;  // relaxed: this thread set it
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
  mutable std::mutex error_mu_;
  std::string error_;  // why the target is down (guarded: the NATS publisher thread sets it on retries)
  std::unique_ptr<middleware::Transport> direct_;
  middleware::NatsOptions nats_options_;
  int attempts_ = 0;                     // NATS connection attempts: open, then the publisher thread
  std::unique_ptr<middleware::NatsTransport> nats_;  // set once, before nats_up_
  std::atomic<bool> nats_up_{false};
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
        auto inproc = std::make_unique<middleware::InProcessTransport>();
        if (out->inproc_ == nullptr) out->inproc_ = inproc.get();
        target.open_direct(std::move(inproc));
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
        if (struct statfs fs {}; ::statfs((*shm)->path().c_str(), &fs) == 0 && fs.f_type != TMPFS_MAGIC &&
                                 fs.f_type != HUGETLBFS_MAGIC) {
          // The kernel writes such a file back to its disk, and the first
          // publish to each page it cleaned takes a fault: tens of microseconds.
          TW_LOG_WARN(log(), "publish {}: {} is not on tmpfs (/dev/shm): the kernel writes it back to disk and "
                      "publishes stall on the pages it cleaned; name a file under /dev/shm", spec.spec,
                      (*shm)->path());
        }
        target.open_direct(*std::move(shm));
        break;
      }
      case config::PublishKind::kNats: {
        target.open_nats(nats_options(spec.name, config.nats), config.nats.queue_bytes);
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

absl::StatusOr<std::unique_ptr<middleware::TransportPoller>> PublishTargets::open_poller(std::string_view pattern) {
  if (inproc_ == nullptr) {
    return absl::FailedPreconditionError("publish: no \"inproc\" target to subscribe to in this process");
  }
  return inproc_->open_poller(pattern);
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
