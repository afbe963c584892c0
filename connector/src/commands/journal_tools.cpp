// `tickwire verify DIR`, `tickwire recover DIR`, `tickwire inspect DIR`: the
// journal tools. Thin: the work is in tickwire::journal (examine.hpp); this
// file parses arguments, decodes Envelope symbols for inspect and prints;
// the progress bar (on a terminal only) is tickwire::journal::ProgressBar.

#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "commands/commands.hpp"
#include "tickwire/connector/envelope_codec.hpp"
#include "tickwire/journal/examine.hpp"
#include "tickwire/journal/io.hpp"
#include "tickwire/journal/progress_bar.hpp"

namespace tickwire::connector::commands {
namespace {

namespace jr = tickwire::journal;

// Envelope symbols, overall and per segment, decoded from the records
// examine() visits; Envelopes that do not decode are counted, the first named.
struct SymbolCounts {
  std::map<std::string, std::uint64_t> overall;
  std::map<std::size_t, std::map<std::string, std::uint64_t>> per_segment;
  std::uint64_t undecodable = 0;
  std::string first_error;

  jr::RecordVisitor visitor(const std::string& dir) {
    return [this, dir](std::size_t segment, std::uint16_t type, std::span<const std::byte> payload) {
      if (type != kEnvelopeRecordType) return;
      auto symbol = envelope_symbol(payload);
      if (!symbol.ok()) {
        if (undecodable++ == 0) {
          first_error = fmt::format("{}: segment {}: {}", dir, segment + 1, jr::io::message(symbol.status()));
        }
        return;
      }
      std::string name = symbol->empty() ? std::string("(feed-wide)") : std::move(*symbol);
      ++per_segment[segment][name];
      ++overall[std::move(name)];
    };
  }
};

std::string symbol_list(const std::map<std::string, std::uint64_t>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) out += fmt::format("{}{}:{}", out.empty() ? "" : ",", name, n);
  return out.empty() ? "-" : out;
}

std::string seq_range(const jr::JournalSummary& s) {
  if (!s.first_seq) return "none";
  return fmt::format("{}..{}", *s.first_seq, *s.last_seq);
}

void print_gaps(const jr::JournalSummary& s) {
  for (const auto& g : s.gaps) {
    fmt::print("  gap {}..{} ({} records) {} at {}\n", g.first_missing, g.last_missing, g.count,
               g.explained ? "recorded" : "UNEXPLAINED", g.where);
  }
}

int run_verify(const std::string& dir) {
  jr::ProgressBar bar("verify");
  auto summary = jr::examine(dir, bar.progress());
  if (!summary.ok()) {
    fmt::print(stderr, "verify: {}\n", jr::io::message(summary.status()));
    return absl::IsNotFound(summary.status()) ? kExitFailure : kExitIo;
  }
  const auto& s = *summary;
  if (s.clean()) {
    fmt::print("{}: ok: {} segments, {} records, seq {}, {} recorded gaps\n", dir, s.segments.size(), s.records,
               seq_range(s), s.gaps.size());
    for (const auto& n : s.notes) fmt::print("  note: {}\n", n);
    print_gaps(s);
    return kExitOk;
  }
  fmt::print("{}: DAMAGED: {} problems in {} segments ({} records readable, seq {})\n", dir, s.problems.size(),
             s.segments.size(), s.records, seq_range(s));
  for (const auto& p : s.problems) fmt::print("  {}\n", p);
  for (const auto& n : s.notes) fmt::print("  note: {}\n", n);
  print_gaps(s);
  return kExitFailure;
}

int run_recover(const std::string& dir) {
  jr::ProgressBar bar("recover");
  auto report = jr::recover_journal(dir, bar.progress());
  if (!report.ok()) {
    fmt::print(stderr, "recover: {}\n", jr::io::message(report.status()));
    // A live writer (FailedPrecondition) is not an I/O error: nothing was tried.
    return absl::IsNotFound(report.status()) || absl::IsFailedPrecondition(report.status()) ? kExitFailure : kExitIo;
  }
  fmt::print("{}: recovered: {} bytes of torn tail truncated, {} records drained from the ring, "
             "{} indexes rebuilt, {} losses recorded in the manifest; next seq {}\n",
             dir, report->truncated_bytes, report->drained_records, report->indexes_rebuilt, report->losses.size(),
             report->next_seq);
  for (const auto& l : report->losses) {
    fmt::print("  gap {}: {}\n",
               l.first_seq <= l.last_seq ? fmt::format("{}..{} ({} records)", l.first_seq, l.last_seq,
                                                       l.last_seq - l.first_seq + 1)
                                         : std::string("(no sequence)"),
               l.what);
  }
  for (const auto& n : report->notes) fmt::print("  note: {}\n", n);
  return kExitOk;
}

int run_inspect(const std::string& dir) {
  jr::ProgressBar bar("inspect");
  SymbolCounts symbols;
  auto summary = jr::examine(dir, bar.progress(), symbols.visitor(dir));
  if (!summary.ok()) {
    fmt::print(stderr, "inspect: {}\n", jr::io::message(summary.status()));
    return absl::IsNotFound(summary.status()) ? kExitFailure : kExitIo;
  }
  const auto& s = *summary;
  fmt::print("journal {}\n", dir);
  fmt::print("  segments {}  records {}  bytes {}\n", s.segments.size(), s.records, s.bytes);
  fmt::print("  seq {}\n", seq_range(s));
  if (s.first_seq) fmt::print("  time {} .. {}\n", jr::format_wall(s.first_wall_ns), jr::format_wall(s.last_wall_ns));
  fmt::print("  durable_seq {}\n", s.durable_seq ? std::to_string(*s.durable_seq) : std::string("unknown (no ring)"));
  fmt::print("  highest_seq {}\n", s.highest_seq ? std::to_string(*s.highest_seq) : std::string("unknown (no manifest)"));
  fmt::print("  writer {}\n", s.writer ? fmt::format("process {} (holds the journal's lock: live)", *s.writer)
                                        : std::string("none (not being written)"));
  for (const auto& [type, count] : s.types) {
    const char* name = type == jr::kTypeGap ? " (gap)" : "";
    fmt::print("  type {:#06x}{}: {} records\n", type, name, count);
  }
  fmt::print("  symbols {}\n", symbols.overall.size());
  for (const auto& [name, n] : symbols.overall) fmt::print("  symbol {}: {} records\n", name, n);
  for (std::size_t i = 0; i < s.segments.size(); ++i) {
    const auto& seg = s.segments[i];
    const auto per = symbols.per_segment.find(i);
    fmt::print("  {}  feed={} schema={} records={} bytes={} seq={}..{} {} symbols={}{}\n",
               seg.path.filename().string(), seg.feed, seg.schema_id, seg.records, seg.bytes, seg.first_seq,
               seg.last_seq, seg.records > 0 ? jr::format_wall(seg.first_wall_ns) : std::string("-"),
               per == symbols.per_segment.end() ? std::string("-") : symbol_list(per->second),
               seg.in_progress ? "  [in progress]" : (seg.end_marker ? "" : "  [no end record]"));
  }
  if (symbols.undecodable > 0) {
    fmt::print("  problem: {} Envelope records do not decode; first: {}\n", symbols.undecodable,
               symbols.first_error);
  }
  print_gaps(s);
  for (const auto& p : s.problems) fmt::print("  problem: {}\n", p);
  for (const auto& n : s.notes) fmt::print("  note: {}\n", n);
  return s.clean() && symbols.undecodable == 0 ? kExitOk : kExitFailure;
}

Command add_dir_command(CLI::App& app, const char* name, const char* help, int (*run)(const std::string&)) {
  auto dir = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("DIR", *dir, "journal directory")->required()->check(CLI::ExistingDirectory);
  return {sub, [dir, run] { return run(*dir); }};
}

}  // namespace

std::vector<Command> add_journal_tools(CLI::App& app) {
  return {
      add_dir_command(app, "verify",
                      "Check every CRC, sequence continuity (gaps must be explained by gap records or losses "
                      "recorded in the manifest), segment order and missing history; exit 0 only if clean",
                      run_verify),
      add_dir_command(app, "recover",
                      "Repair a journal: record damage and missing history as gaps (keeping every valid record), "
                      "cut a torn tail, drain the ring, rebuild indexes",
                      run_recover),
      add_dir_command(app, "inspect",
                      "Show a journal's segments, record counts, seq and time ranges, gaps and durable_seq",
                      run_inspect),
  };
}

}  // namespace tickwire::connector::commands
