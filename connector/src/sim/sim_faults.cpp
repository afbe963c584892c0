// The text forms of the simulator's fault options, shared by `tickwire sim`
// flags and configuration: "NAME[:AFTER[:PROBABILITY[:MAX_TIMES]]]" and
// "STATUS[:COUNT[:RETRY_AFTER_S]]".
#include <fmt/format.h>

#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "tickwire/connector/simulator.hpp"

namespace tickwire::connector {
namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto colon = s.find(':');
    out.push_back(s.substr(0, colon));
    if (colon == std::string_view::npos) return out;
    s = s.substr(colon + 1);
  }
}

template <typename T>
absl::Status number(std::string_view spec, std::string_view part, const char* what, T& out) {
  const auto [end, err] = std::from_chars(part.data(), part.data() + part.size(), out);
  if (err != std::errc{} || end != part.data() + part.size()) {
    return absl::InvalidArgumentError(fmt::format("sim fault '{}': {} must be a number, got '{}'", spec, what, part));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status parse_fault(std::string_view spec, SimFaults& faults) {
  const std::pair<const char*, FaultTrigger*> triggers[] = {
      {"gap", &faults.gap},           {"close_ws", &faults.close_ws},   {"close_tcp", &faults.close_tcp},
      {"reset", &faults.reset},       {"stall", &faults.stall},         {"slow", &faults.slow},
      {"duplicate", &faults.duplicate}, {"reorder", &faults.reorder},   {"malformed", &faults.malformed},
      {"oversize", &faults.oversize}, {"ping_storm", &faults.ping_storm},
      {"shutdown_notice", &faults.shutdown_notice}, {"resnapshot", &faults.resnapshot},
      {"restart", &faults.restart}, {"keepalive", &faults.keepalive}, {"bad_checksum", &faults.bad_checksum},
      {"no_snapshot", &faults.no_snapshot}, {"checksum", &faults.checksum}, {"beyond_depth", &faults.beyond_depth},
      {"trade_gap", &faults.trade_gap}, {"precision", &faults.precision},
      {"quiet", &faults.quiet}};
  const auto parts = split(spec);
  FaultTrigger* t = nullptr;
  std::string names;
  for (const auto& [name, trigger] : triggers) {
    if (parts[0] == name) t = trigger;
    names += names.empty() ? name : fmt::format(", {}", name);
  }
  if (t == nullptr) {
    return absl::InvalidArgumentError(fmt::format("sim fault '{}': unknown fault '{}' (one of {})", spec, parts[0], names));
  }
  if (parts.size() > 4) {
    return absl::InvalidArgumentError(fmt::format("sim fault '{}': expected NAME[:AFTER[:PROBABILITY[:MAX_TIMES]]]", spec));
  }
  FaultTrigger parsed;
  parsed.enabled = true;
  if (parts.size() > 1) {
    if (auto st = number(spec, parts[1], "AFTER", parsed.after); !st.ok()) return st;
  }
  if (parts.size() > 2) {
    if (auto st = number(spec, parts[2], "PROBABILITY", parsed.probability); !st.ok()) return st;
    if (parsed.probability < 0 || parsed.probability > 1) {
      return absl::InvalidArgumentError(fmt::format("sim fault '{}': PROBABILITY must be within [0, 1]", spec));
    }
  }
  if (parts.size() > 3) {
    if (auto st = number(spec, parts[3], "MAX_TIMES", parsed.max_times); !st.ok()) return st;
  }
  *t = parsed;
  return absl::OkStatus();
}

absl::Status parse_refusal(std::string_view spec, SimRefusal& refusal) {
  const auto parts = split(spec);
  if (parts.size() > 3) {
    return absl::InvalidArgumentError(fmt::format("sim refusal '{}': expected STATUS[:COUNT[:RETRY_AFTER_S]]", spec));
  }
  SimRefusal parsed;
  if (auto st = number(spec, parts[0], "STATUS", parsed.status); !st.ok()) return st;
  if (parsed.status != 429 && parsed.status != 418) {
    return absl::InvalidArgumentError(fmt::format("sim refusal '{}': STATUS must be 429 or 418", spec));
  }
  if (parts.size() > 1) {
    if (auto st = number(spec, parts[1], "COUNT", parsed.count); !st.ok()) return st;
  }
  if (parts.size() > 2) {
    if (auto st = number(spec, parts[2], "RETRY_AFTER_S", parsed.retry_after_s); !st.ok()) return st;
  }
  refusal = parsed;
  return absl::OkStatus();
}

}  // namespace tickwire::connector
