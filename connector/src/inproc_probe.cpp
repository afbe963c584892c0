#include "inproc_probe.hpp"

#include <capnp/serialize.h>
#include <fmt/format.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tickwire/proto/market_data.capnp.h"

namespace tickwire::connector {
namespace {

std::uint64_t mono_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// 1 ns to 60 s, 3 significant digits (as book_watch).
middleware::LatencyHistogram make_histogram() { return *middleware::LatencyHistogram::create(1, 60'000'000'000, 3); }

}  // namespace

InprocProbe::InprocProbe(PublishTargets& targets) : targets_(targets), latency_(make_histogram()) {
  words_.reserve(8192);
}

InprocProbe::~InprocProbe() { stop(); }

absl::StatusOr<std::unique_ptr<InprocProbe>> InprocProbe::start(PublishTargets& targets, bool spin) {
  constexpr const char* kNoTarget =
      "--inproc-probe: [publish] to has no \"inproc\" target to subscribe to (add \"inproc\" to it)";
  std::unique_ptr<InprocProbe> probe(new InprocProbe(targets));
  InprocProbe* p = probe.get();
  if (spin) {
    auto poller = targets.open_poller(">");
    if (!poller.ok()) return absl::FailedPreconditionError(kNoTarget);
    probe->poller_ = std::move(*poller);
    probe->thread_ = std::thread([p] {
      const middleware::Handler handler = [p](const middleware::Message& m) { p->on_record(m.payload); };
      const middleware::GapHandler on_gap = [p](std::uint64_t from, std::uint64_t to) { p->gaps_ += to - from + 1; };
      while (!p->stop_.load(std::memory_order_acquire)) p->poller_->poll(handler, 64, &p->stop_, on_gap);
    });
    return probe;
  }
  auto id = targets.subscribe(
      ">", [p](const middleware::Message& m) { p->on_record(m.payload); },
      [p](std::uint64_t from, std::uint64_t to) { p->gaps_ += to - from + 1; });
  if (!id.ok()) return absl::FailedPreconditionError(kNoTarget);
  probe->id_ = *id;
  probe->subscribed_ = true;
  return probe;
}

void InprocProbe::stop() {
  if (thread_.joinable()) {
    stop_.store(true, std::memory_order_release);
    thread_.join();
    // Called once nothing publishes: what the thread had not reached yet is
    // read here, so a spin probe has seen every record.
    const middleware::Handler handler = [this](const middleware::Message& m) { on_record(m.payload); };
    const middleware::GapHandler on_gap = [this](std::uint64_t from, std::uint64_t to) { gaps_ += to - from + 1; };
    while (poller_->poll(handler, 64, nullptr, on_gap) > 0) {
    }
  }
  if (!subscribed_) return;
  targets_.unsubscribe(id_);
  subscribed_ = false;
}

void InprocProbe::on_record(std::span<const std::byte> payload) {
  const std::uint64_t now = mono_now_ns();
  words_.resize((payload.size() + sizeof(capnp::word) - 1) / sizeof(capnp::word));
  // words_ holds at least payload.size() bytes; Cap'n Proto needs word alignment.
  std::memcpy(words_.data(), payload.data(), payload.size());
  try {
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words_.data(), words_.size()));
    const std::uint64_t mono = reader.getRoot<proto::Envelope>().getMonoNs();
    latency_.record(now > mono ? now - mono : 0);
    ++records_;
  } catch (const kj::Exception&) {
    ++undecodable_;  // not an Envelope: counted, never fatal to the feed
  }
}

std::string InprocProbe::report() const {
  const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return fmt::format(
      "inproc probe: {} records, frame received -> in-process handler p50 {:.2f} us, p99 {:.2f} us, "
      "p99.9 {:.2f} us, max {:.2f} us ({} lapped past, {} undecodable)",
      records_, us(latency_.value_at_percentile(50)), us(latency_.value_at_percentile(99)),
      us(latency_.value_at_percentile(99.9)), us(latency_.max()), gaps_, undecodable_);
}

absl::Status InprocProbe::write_hgrm(const std::filesystem::path& dir) const {
  const std::filesystem::path path = dir / "inproc_handler.hgrm";
  const std::string text = latency_.percentile_distribution(5, 1000.0);
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return absl::UnavailableError(fmt::format("inproc probe: {}: cannot open for writing: {}", path.string(),
                                              std::strerror(errno)));
  }
  const std::size_t written = std::fwrite(text.data(), 1, text.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (written != text.size() || !closed) {
    return absl::UnavailableError(
        fmt::format("inproc probe: {}: write failed: {}", path.string(), std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace tickwire::connector
