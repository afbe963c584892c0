// SharedMemoryTransport: processes on one host. The writer process (create())
// owns a BroadcastRing in a file under /dev/shm and publishes without locks or
// waiting; any number of reader processes (attach()) come and go, each
// subscription with its own cursor and delivery thread (or poller). A late
// subscriber starts at "now" or at the oldest record held; a lapped one counts
// exactly what it lost; a restarted writer formats a new epoch, which readers
// detect and resynchronize from (the sequence carries on). Layout: shm_segment.hpp.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tickwire/middleware/cache_padded.hpp"
#include "tickwire/middleware/shm_segment.hpp"
#include "tickwire/middleware/transport.hpp"
#include "tickwire/middleware/transport_subscriber.hpp"

namespace tickwire::middleware {

struct ShmTransportOptions {
  std::string name = "tickwire";             // the file /dev/shm/<name>; a name with a '/' is a path
  std::size_t capacity = std::size_t{1} << 24;  // writer: ring data bytes, a power of two (16 MiB)
  mode_t mode = 0640;                        // writer: permissions of the file it creates
  StartAt start = StartAt::kNow;             // where subscribe(pattern, handler) starts
  bool unlink_on_close = false;              // writer: remove the file when the transport goes
};

class SharedMemoryTransport final : public Transport, private RingSource {
 public:
  // create: the writer. Fails if another live writer holds the file, or if
  // the file exists and is not a transport file (it is never overwritten).
  static absl::StatusOr<std::unique_ptr<SharedMemoryTransport>> create(ShmTransportOptions options);
  // attach: a reader of an existing file; publish() returns 0.
  static absl::StatusOr<std::unique_ptr<SharedMemoryTransport>> attach(ShmTransportOptions options);

  ~SharedMemoryTransport() override;  // stops and joins every delivery thread
  SharedMemoryTransport(const SharedMemoryTransport&) = delete;
  SharedMemoryTransport& operator=(const SharedMemoryTransport&) = delete;

  // publish: writer only, single publishing thread; 0 on a reader or if too large.
  std::uint64_t publish(std::string_view subject, std::span<const std::byte> payload) override;
  // publish_at: as publish, with the caller's sequence; false if too large (or not the writer).
  bool publish_at(std::uint64_t sequence, std::string_view subject, std::span<const std::byte> payload) override;
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler) override;
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler, GapHandler on_gap) override;
  // subscribe: as above, starting at `start`.
  absl::StatusOr<SubscriptionId> subscribe(std::string_view pattern, Handler handler, StartAt start,
                                           GapHandler on_gap = {});
  void unsubscribe(SubscriptionId id) override;
  SubscriberStats stats(SubscriptionId id) const override;

  // open_poller: a subscription without a thread; the caller polls it (on one thread).
  absl::StatusOr<std::unique_ptr<TransportPoller>> open_poller(std::string_view pattern, StartAt start);
  // max_message_bytes: the largest subject + payload one publish may carry.
  std::size_t max_message_bytes() const noexcept;
  // path: the shared file.
  const std::string& path() const noexcept { return path_; }
  // epoch: the epoch of the ring currently mapped (0 while its writer formats it).
  std::uint64_t epoch() const;

 private:
  SharedMemoryTransport(ShmTransportOptions options, std::string path, std::shared_ptr<ShmSegment> segment);
  std::shared_ptr<ShmSegment> current_segment() const;

  absl::StatusOr<RingReader> open_reader(StartAt start) override;
  std::uint32_t prepare_wait(const RingReader& reader) noexcept override;
  void cancel_wait(const RingReader& reader) noexcept override;
  void wait(const RingReader& reader, std::uint32_t key, std::chrono::steady_clock::time_point deadline) noexcept override;
  void wake_all() noexcept override;

  ShmTransportOptions options_;
  std::string path_;
  mutable std::mutex mu_;                 // guards segment_ (re-mapped by readers after a file replacement)
  std::shared_ptr<ShmSegment> segment_;
  BroadcastWriter* writer_ = nullptr;     // into segment_, for create() only
  std::vector<std::byte> scratch_;        // one record assembled before it is published
  CachePadded<std::atomic<std::uint64_t>> sequence_;
  SubscriberSet subscribers_;             // last: its threads stop before the mapping goes
};

}  // namespace tickwire::middleware
