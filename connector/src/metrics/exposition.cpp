#include "tickwire/connector/metrics/exposition.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

namespace tickwire::connector::metrics {
namespace {

// escape_label: a label value as the text format wants it (\\, \" and \n escaped).
std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class Writer {
 public:
  // family: the HELP and TYPE lines of one metric family.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, std::string_view labels, double value) {
    if (labels.empty()) {
      fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
    } else {
      fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
    }
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    if (labels.empty()) {
      fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
    } else {
      fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
    }
  }
  // single: a family with one unlabelled sample.
  template <typename T>
  void single(std::string_view name, std::string_view type, std::string_view help, T value) {
    family(name, type, help);
    sample(name, {}, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// write_pipeline: the pipeline counters, one sample per feed (label `feed`)
// when the snapshot has them per feed, else one process-wide sample.
void write_pipeline(Writer& w, const PipelineTotals& total, const std::vector<FeedSnapshot>& feeds) {
  bool per_feed = false;
  for (const auto& f : feeds) per_feed = per_feed || f.counted;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help, auto value_of) {
    w.family(name, type, help);
    if (!per_feed) {
      w.sample(name, {}, value_of(total));
      return;
    }
    for (const auto& f : feeds) {
      if (f.counted) w.sample(name, fmt::format("feed=\"{}\"", escape_label(f.feed)), value_of(f.pipeline));
    }
  };
  // Messages: by feed and kind (every kind, so each series exists from the start).
  constexpr std::string_view kMessages = "tickwire_messages_total";
  w.family(kMessages, "counter", "Market events journaled, by kind (trade, quote, book_delta, ...).");
  if (!per_feed) {
    w.sample(kMessages, {}, total.messages);
  } else {
    for (const auto& f : feeds) {
      if (!f.counted) continue;
      for (std::size_t k = 0; k < kJournaledKinds; ++k) {
        w.sample(kMessages, fmt::format("feed=\"{}\",kind=\"{}\"", escape_label(f.feed), kJournaledKindNames[k]),
                 f.pipeline.by_kind[k]);
      }
    }
  }
  family("tickwire_rejected_frames_total", "counter", "Frames that failed to parse or validate.",
         [](const PipelineTotals& p) { return p.rejected; });
  family("tickwire_ignored_frames_total", "counter", "Control replies and unhandled event kinds.",
         [](const PipelineTotals& p) { return p.ignored; });
  family("tickwire_pipeline_dropped_records_total", "counter",
         "Records the pipeline could not encode or the journal refused.",
         [](const PipelineTotals& p) { return p.dropped; });
  family("tickwire_symbols", "gauge", "Symbols seen.", [](const PipelineTotals& p) { return p.symbols; });
  family("tickwire_duplicates_total", "counter", "Messages already received (duplicates, rollover overlap).",
         [](const PipelineTotals& p) { return p.duplicates; });
  family("tickwire_gaps_total", "counter", "Gaps detected (trade ids, book update ids).",
         [](const PipelineTotals& p) { return p.gaps; });
  family("tickwire_book_resyncs_total", "counter", "Books (re)built from a REST snapshot.",
         [](const PipelineTotals& p) { return p.resyncs; });
  family("tickwire_rollovers_total", "counter", "Make-before-break connection rollovers finished.",
         [](const PipelineTotals& p) { return p.rollovers; });
  family("tickwire_exchange_lag_seconds", "gauge",
         "Local receive time minus the exchange's event time, of the latest event that carries one "
         "(negative when the local clock is behind).",
         [](const PipelineTotals& p) { return static_cast<double>(p.lag_ms) / 1000.0; });
  family("tickwire_exchange_lag_warnings_total", "counter", "Times the exchange-time lag crossed lag_warn_ms.",
         [](const PipelineTotals& p) { return p.lag_warnings; });
}

void write_publish(Writer& w, const std::vector<PublishFigures>& targets) {
  const auto per_target = [&](std::string_view name, std::string_view type, std::string_view help, auto value_of) {
    w.family(name, type, help);
    for (const auto& t : targets) {
      w.sample(name, fmt::format("target=\"{}\"", escape_label(t.target)), value_of(t));
    }
  };
  per_target("tickwire_publish_target_up", "gauge", "1 if the [publish] target is open (a NATS target down at start: once it connects).",
             [](const PublishFigures& t) { return std::uint64_t{t.up}; });
  per_target("tickwire_publish_records_total", "counter", "Records the target took.",
             [](const PublishFigures& t) { return t.published; });
  per_target("tickwire_publish_failed_records_total", "counter",
             "Records the target refused (down, too large, refused by nats.c); they are in the journal.",
             [](const PublishFigures& t) { return t.failed; });
  per_target("tickwire_publish_dropped_records_total", "counter",
             "Records lost between the feed thread and a NATS target's publisher thread (a slow or "
             "disconnected server); they are in the journal.",
             [](const PublishFigures& t) { return t.dropped; });
}

void write_feeds(Writer& w, const std::vector<FeedSnapshot>& feeds) {
  const auto per_feed = [&](std::string_view name, std::string_view type, std::string_view help, auto value_of) {
    w.family(name, type, help);
    for (const auto& f : feeds) w.sample(name, fmt::format("feed=\"{}\"", escape_label(f.feed)), value_of(f));
  };
  per_feed("tickwire_feed_connected", "gauge", "1 while the feed's websocket connection is up.",
           [](const FeedSnapshot& f) { return std::uint64_t{f.connected}; });
  per_feed("tickwire_feed_subscribed", "gauge", "1 while every stream of the feed is subscribed.",
           [](const FeedSnapshot& f) { return std::uint64_t{f.subscribed}; });
  per_feed("tickwire_feed_connects_total", "counter", "Websocket connections established.",
           [](const FeedSnapshot& f) { return f.connects; });
  per_feed("tickwire_feed_disconnects_total", "counter", "Websocket connections lost or closed.",
           [](const FeedSnapshot& f) { return f.disconnects; });
  per_feed("tickwire_feed_frames_total", "counter", "Websocket data frames received.",
           [](const FeedSnapshot& f) { return f.frames; });
  per_feed("tickwire_feed_received_bytes_total", "counter", "Payload bytes of the data frames received.",
           [](const FeedSnapshot& f) { return f.bytes; });
  w.family("tickwire_feed_last_message_age_seconds", "gauge",
           "Seconds since the feed's last data frame (absent before the first).");
  for (const auto& f : feeds) {
    if (f.last_frame_age_s >= 0) {
      w.sample("tickwire_feed_last_message_age_seconds", fmt::format("feed=\"{}\"", escape_label(f.feed)),
               f.last_frame_age_s);
    }
  }
  w.family("tickwire_stream_last_message_age_seconds", "gauge",
           "Seconds since a configured stream's (symbol x channel) last message, or since its last connect or "
           "resubscribe before the first; sampled once a second.");
  for (const auto& f : feeds) {
    for (const auto& st : f.streams) {
      w.sample("tickwire_stream_last_message_age_seconds",
               fmt::format("feed=\"{}\",symbol=\"{}\",channel=\"{}\"", escape_label(f.feed),
                           escape_label(st.symbol), escape_label(st.channel)),
               st.age_s);
    }
  }
  w.family("tickwire_book_synced", "gauge", "1 while the symbol's order book is synced (configured symbols only).");
  for (const auto& f : feeds) {
    for (const auto& b : f.books) {
      w.sample("tickwire_book_synced",
               fmt::format("feed=\"{}\",symbol=\"{}\"", escape_label(f.feed), escape_label(b.symbol)),
               std::uint64_t{b.synced});
    }
  }
}

void write_journal(Writer& w, const JournalFigures& j) {
  w.single("tickwire_journal_appended_records_total", "counter", "Records appended to the journal ring.",
           j.appended);
  w.single("tickwire_journal_flushed_records_total", "counter", "Records the flusher wrote to segments.", j.flushed);
  w.single("tickwire_journal_dropped_records_total", "counter",
           "Records the journal dropped (full ring under the drop policy, or a failed journal).", j.dropped);
  w.single("tickwire_journal_ring_pending_records", "gauge",
           "Records in the ring not yet written to a segment (flusher lag).",
           j.appended > j.flushed ? j.appended - j.flushed : 0);
  w.single("tickwire_journal_ring_used_bytes", "gauge",
           "Bytes of the journal ring written and not yet released by the flusher (ring fill).", j.ring_used_bytes);
  w.single("tickwire_journal_ring_capacity_bytes", "gauge", "The journal ring's capacity in bytes.", j.ring_bytes);
  w.single("tickwire_journal_segment_bytes", "gauge", "Bytes in the journal's segment files.", j.segment_bytes);
  w.single("tickwire_journal_segments", "gauge", "Segment files in the journal.", j.segments);
  w.single("tickwire_journal_durable_sequence", "gauge", "Highest sequence durable in a segment.", j.durable_seq);
  w.single("tickwire_last_sequence", "gauge", "Highest sequence stamped.", j.last_seq);
  w.single("tickwire_journal_durable_lag_records", "gauge",
           "Records stamped but not yet durable (last_sequence - durable_sequence).", j.durable_lag());
  w.single("tickwire_journal_storage_errors_total", "counter",
           "Storage calls that failed (a full disk is retried; anything else fails the journal).", j.storage_errors);
  w.single("tickwire_journal_storage_failing", "gauge",
           "1 while the journal's storage fails (a full disk, retried with a backoff).",
           std::uint64_t{j.storage_failing});
  w.single("tickwire_journal_failed", "gauge", "1 once the journal has failed closed (it then drops every record).",
           std::uint64_t{!j.failed.empty()});
  w.single("tickwire_journal_ring_damaged_records_total", "counter",
           "Ring records whose checksum failed, journaled as gap records (never written as data).", j.ring_damaged);
}

void write_stages(Writer& w, const middleware::ProfileReport& report) {
  constexpr std::string_view kName = "tickwire_stage_latency_seconds";
  w.family(kName, "summary", "Per-stage latency of the hot path, from the profiler's HDR histograms (since start).");
  for (const auto& s : report.stages) {
    const std::string stage = escape_label(s.name);
    const std::pair<std::string_view, double> quantiles[] = {
        {"0.5", s.p50_ns}, {"0.9", s.p90_ns}, {"0.99", s.p99_ns}, {"0.999", s.p999_ns}, {"1", s.max_ns}};
    for (const auto& [q, ns] : quantiles) {
      w.sample(kName, fmt::format("stage=\"{}\",quantile=\"{}\"", stage, q), ns / 1e9);
    }
    // The report carries percentiles, not a sum: the sum is estimated as
    // count x median, which keeps rate(_sum)/rate(_count) a usable typical latency.
    w.sample(fmt::format("{}_sum", kName), fmt::format("stage=\"{}\"", stage),
             static_cast<double>(s.count) * s.p50_ns / 1e9);
    w.sample(fmt::format("{}_count", kName), fmt::format("stage=\"{}\"", stage), s.count);
  }
}

void write_process(Writer& w, const ProcessFigures& p, const std::string& version) {
  w.family("tickwire_build_info", "gauge", "Always 1; the version label says which build runs.");
  w.sample("tickwire_build_info", fmt::format("version=\"{}\"", escape_label(version)), std::uint64_t{1});
  if (!p.valid) return;
  w.single("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", p.cpu_seconds);
  w.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.resident_bytes);
  w.single("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p.virtual_bytes);
  w.single("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.",
           p.start_time_seconds);
  w.single("process_open_fds", "gauge", "Open file descriptors.", p.open_fds);
  w.single("process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds);
  w.single("process_threads", "gauge", "Threads of the process.", p.threads);
}

void write_http(Writer& w, const HttpFigures& h, double feed_age, double scheduler_age) {
  constexpr std::string_view kRequests = "tickwire_http_requests_total";
  w.family(kRequests, "counter", "Requests the metrics endpoint answered, by status code.");
  w.sample(kRequests, "code=\"200\"", h.requests_ok);
  w.sample(kRequests, "code=\"404\"", h.requests_not_found);
  w.sample(kRequests, "code=\"4xx\"", h.requests_bad);
  w.sample(kRequests, "code=\"503\"", h.requests_unavailable);
  w.single("tickwire_http_rejected_connections_total", "counter",
           "Connections closed unanswered because max_connections were open.", h.connections_rejected);
  w.single("tickwire_http_timeouts_total", "counter", "Connections closed for not completing within the timeout.",
           h.timeouts);
  w.family("tickwire_thread_last_turn_age_seconds", "gauge",
           "Seconds since the thread last ran its liveness task (/healthz).");
  if (feed_age >= 0) w.sample("tickwire_thread_last_turn_age_seconds", "thread=\"feed\"", feed_age);
  if (scheduler_age >= 0) w.sample("tickwire_thread_last_turn_age_seconds", "thread=\"scheduler\"", scheduler_age);
}

}  // namespace

std::string format_prometheus(const MetricsSnapshot& s) {
  Writer w;
  write_pipeline(w, s.pipeline, s.feeds);
  write_feeds(w, s.feeds);
  write_journal(w, s.journal);
  write_publish(w, s.publish);
  write_stages(w, s.stages);
  write_http(w, s.http, s.feed_thread_age_s, s.scheduler_age_s);
  write_process(w, s.process, s.version);
  return w.take();
}

ProcessFigures read_process_figures() {
  ProcessFigures p;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return p;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
  // f[0] is field 3 (state): field N is f[N - 3].
  if (f.size() < 22) return p;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  p.cpu_seconds = (std::stod(f[14 - 3]) + std::stod(f[15 - 3])) / ticks;
  p.threads = std::stoull(f[20 - 3]);
  const double start_ticks = std::stod(f[22 - 3]);
  p.virtual_bytes = std::stoull(f[23 - 3]);
  p.resident_bytes = static_cast<std::uint64_t>(std::stod(f[24 - 3]) * page);
  timespec boot{}, now{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  ::clock_gettime(CLOCK_REALTIME, &now);
  const double uptime = static_cast<double>(boot.tv_sec) + static_cast<double>(boot.tv_nsec) / 1e9;
  const double wall = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
  p.start_time_seconds = wall - uptime + start_ticks / ticks;
  if (DIR* fds = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(fds)) p.open_fds += e->d_name[0] != '.' ? 1u : 0u;
    ::closedir(fds);
    p.open_fds -= 1;  // the directory stream itself
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) p.max_fds = limit.rlim_cur;
  p.valid = true;
  return p;
}

}  // namespace tickwire::connector::metrics
