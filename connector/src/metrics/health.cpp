#include "tickwire/connector/metrics/health.hpp"

#include <fmt/format.h>

#include <iterator>

namespace tickwire::connector::metrics {
namespace {

// json_string: `text` as a JSON string literal.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Checks: the named conditions of one verdict, rendered as its JSON body.
class Checks {
 public:
  void add(std::string_view name, bool ok, std::string_view detail) {
    ok_ = ok_ && ok;
    fmt::format_to(std::back_inserter(items_), "{}{{\"name\":{},\"ok\":{},\"detail\":{}}}",
                   items_.empty() ? "" : ",", json_string(name), ok ? "true" : "false", json_string(detail));
    if (!ok) {
      fmt::format_to(std::back_inserter(failing_), "{}{}", failing_.empty() ? "" : ",", json_string(name));
    }
  }
  HealthVerdict verdict() const {
    return {ok_, fmt::format("{{\"status\":\"{}\",\"failing\":[{}],\"checks\":[{}]}}\n",
                             ok_ ? "ok" : "fail", failing_, items_)};
  }

 private:
  bool ok_ = true;
  std::string items_;
  std::string failing_;
};

void thread_check(Checks& checks, std::string_view name, double age_s, double limit_s) {
  if (age_s < 0) {
    checks.add(name, false, "has not run its liveness task yet");
  } else {
    checks.add(name, age_s <= limit_s,
               fmt::format("last turned {:.3f} s ago (limit {:.3f} s)", age_s, limit_s));
  }
}

}  // namespace

HealthVerdict liveness(const MetricsSnapshot& s, const config::MetricsConfig& config) {
  Checks checks;
  const double limit = config.liveness_timeout_ms / 1000.0;
  thread_check(checks, "feed_thread", s.feed_thread_age_s, limit);
  thread_check(checks, "scheduler", s.scheduler_age_s, limit);
  return checks.verdict();
}

HealthVerdict readiness(const MetricsSnapshot& s, const config::MetricsConfig& config) {
  Checks checks;
  for (const auto& f : s.feeds) {
    checks.add(fmt::format("feed {} connected", f.feed), f.connected,
               f.connected ? "connected" : fmt::format("not connected ({} disconnects so far)", f.disconnects));
    checks.add(fmt::format("feed {} subscribed", f.feed), f.subscribed,
               f.subscribed ? "every stream subscribed" : "streams not (yet) subscribed");
    if (config.ready_max_silence_ms != 0) {
      const double limit = config.ready_max_silence_ms / 1000.0;
      const bool fresh = f.last_frame_age_s >= 0 && f.last_frame_age_s <= limit;
      checks.add(fmt::format("feed {} receiving", f.feed), fresh,
                 f.last_frame_age_s < 0
                     ? std::string("no message received yet")
                     : fmt::format("last message {:.3f} s ago (limit {:.3f} s)", f.last_frame_age_s, limit));
    }
    std::string unsynced;
    for (const auto& b : f.books) {
      if (!b.synced) unsynced += (unsynced.empty() ? "" : ",") + b.symbol;
    }
    if (!f.books.empty()) {
      checks.add(fmt::format("feed {} books synced", f.feed), unsynced.empty(),
                 unsynced.empty() ? fmt::format("{} books synced", f.books.size())
                                  : fmt::format("not synced: {}", unsynced));
    }
  }
  const bool storage_ok = s.journal.failed.empty() && !s.journal.storage_failing;
  checks.add("journal storage", storage_ok,
             !s.journal.failed.empty()    ? fmt::format("failed closed: {}", s.journal.failed)
             : s.journal.storage_failing ? fmt::format("failing ({} storage errors), retrying", s.journal.storage_errors)
                                         : std::string("working"));
  const std::uint64_t lag = s.journal.durable_lag();
  checks.add("journal durable lag", lag <= config.ready_max_durable_lag,
             fmt::format("{} records stamped but not durable (limit {})", lag, config.ready_max_durable_lag));
  return checks.verdict();
}

}  // namespace tickwire::connector::metrics
