// [publish]: the live transports of `tickwire run` ("inproc", "shm:NAME",
// "nats://HOST:PORT") and the settings of the shm and NATS kinds in
// [publish.shm] and [publish.nats].
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "sections.hpp"

namespace tickwire::config::detail {
namespace {

constexpr std::uint64_t kMinRingBytes = 64u << 10;
constexpr std::uint64_t kMaxRingBytes = std::uint64_t{1} << 32;
constexpr std::string_view kTargetExpected =
    "expected \"inproc\", \"shm:NAME\" or \"nats://HOST:PORT\"";

bool is_shm_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  if (name.find('/') != std::string_view::npos) return name.find('\0') == std::string_view::npos;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

// nats_url_error: why `url` is not nats://HOST:PORT; empty when it is.
std::string nats_url_error(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("nats://").size());
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return "a host and a port";
  const std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (host.find_first_of("/@ ") != std::string_view::npos) return fmt::format("a host, got {:?}", host);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return fmt::format("a port in 1..65535, got {:?}", port);
  }
  return "";
}

absl::Status read_targets(const TableView& t, std::vector<PublishTarget>& out) {
  std::vector<std::string> specs;
  if (auto s = t.read_string_list("to", specs, Presence::kOptional); !s.ok()) return s;
  std::vector<PublishTarget> targets;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string& spec = specs[i];
    PublishTarget target;
    target.spec = spec;
    if (spec == "inproc") {
      target.kind = PublishKind::kInProcess;
    } else if (spec.rfind("shm:", 0) == 0) {
      target.kind = PublishKind::kShm;
      target.name = spec.substr(4);
      if (!is_shm_name(target.name)) {
        return t.invalid_element("to", i, fmt::format("expected shm:NAME with NAME of [A-Za-z0-9._-] (or a path "
                                                      "with a '/'), got {:?}", spec));
      }
    } else if (spec.rfind("nats://", 0) == 0) {
      target.kind = PublishKind::kNats;
      target.name = spec;
      if (const std::string why = nats_url_error(spec); !why.empty()) {
        return t.invalid_element("to", i, fmt::format("expected nats://HOST:PORT with {}, got {:?}", why, spec));
      }
    } else {
      return t.invalid_element("to", i, fmt::format("{}, got {:?}", kTargetExpected, spec));
    }
    for (const auto& earlier : targets) {
      if (earlier.spec == spec) return t.invalid_element("to", i, fmt::format("{:?} is listed twice", spec));
    }
    targets.push_back(std::move(target));
  }
  out = std::move(targets);
  return absl::OkStatus();
}

// read_mode: permissions as an octal string ("0640") or a TOML octal integer (0o640).
absl::Status read_mode(const TableView& t, std::uint32_t& out) {
  const toml::node* node = t.table().get("mode");
  if (node == nullptr) return absl::OkStatus();
  constexpr std::string_view kExpected = "expected file permissions in octal, e.g. \"0640\" or 0o640";
  std::int64_t value = -1;
  if (const auto* integer = node->as_integer()) {
    value = integer->get();
  } else if (const auto* text = node->as_string()) {
    const std::string& str = text->get();
    std::uint32_t parsed = 0;
    const auto [end, ec] = std::from_chars(str.data(), str.data() + str.size(), parsed, 8);
    if (str.empty() || ec != std::errc() || end != str.data() + str.size()) {
      return t.invalid("mode", fmt::format("{}, got {:?}", kExpected, str));
    }
    value = parsed;
  } else {
    return t.invalid("mode", fmt::format("{}, got {}", kExpected, type_name(*node)));
  }
  if (value < 0 || value > 0777) return t.invalid("mode", fmt::format("{} (at most 0777), got {:o}", kExpected, value));
  out = static_cast<std::uint32_t>(value);
  return absl::OkStatus();
}

absl::Status read_shm(const TableView& t, ShmPublishConfig& shm) {
  if (auto s = t.check_known({"ring_bytes", "mode", "group"}); !s.ok()) return s;
  if (auto s = t.read_size("ring_bytes", shm.ring_bytes, kMinRingBytes, kMaxRingBytes); !s.ok()) return s;
  if ((shm.ring_bytes & (shm.ring_bytes - 1)) != 0) {
    return t.invalid("ring_bytes", fmt::format("expected a power of two, got {}", shm.ring_bytes));
  }
  if (auto s = read_mode(t, shm.mode); !s.ok()) return s;
  return t.read_string("group", shm.group, Presence::kOptional);
}

absl::Status read_nats(const TableView& t, NatsPublishConfig& nats) {
  if (auto s = t.check_known({"jetstream", "stream", "max_age_s", "max_bytes", "max_msgs", "file_storage", "user",
                              "password", "token", "credentials_file", "tls_ca", "reconnect_buffer_bytes",
                              "queue_bytes", "send_asap"});
      !s.ok()) {
    return s;
  }
  constexpr std::uint64_t kMaxInt = std::uint64_t{1} << 62;
  if (auto s = t.read_bool("jetstream", nats.jetstream); !s.ok()) return s;
  if (auto s = t.read_string("stream", nats.stream, Presence::kOptional); !s.ok()) return s;
  if (nats.stream.empty() || nats.stream.find_first_of(" .*>\t") != std::string::npos) {
    return t.invalid("stream", fmt::format("expected a JetStream stream name (no spaces, '.', '*' or '>'), got {:?}",
                                           nats.stream));
  }
  if (auto s = t.read_uint("max_age_s", nats.max_age_s, 0, kMaxInt / 1'000'000'000); !s.ok()) return s;
  if (auto s = t.read_uint("max_bytes", nats.max_bytes, 0, kMaxInt); !s.ok()) return s;
  if (auto s = t.read_uint("max_msgs", nats.max_msgs, 0, kMaxInt); !s.ok()) return s;
  if (auto s = t.read_bool("file_storage", nats.file_storage); !s.ok()) return s;
  for (auto [key, field] : {std::pair{"user", &nats.user}, std::pair{"password", &nats.password},
                            std::pair{"token", &nats.token}, std::pair{"credentials_file", &nats.credentials_file},
                            std::pair{"tls_ca", &nats.tls_ca}}) {
    if (auto s = t.read_string(key, *field, Presence::kOptional); !s.ok()) return s;
  }
  if (!nats.user.empty() && t.table().get("password") == nullptr) {
    return t.missing("password", "expected a password with publish.nats.user");
  }
  if (!nats.password.empty() && t.table().get("user") == nullptr) {
    return t.missing("user", "expected a user with publish.nats.password");
  }
  if (!nats.token.empty() && !nats.user.empty()) {
    return t.invalid("token", "expected either a token or user/password, not both");
  }
  if (auto s = t.read_size("reconnect_buffer_bytes", nats.reconnect_buffer_bytes, 0, std::uint64_t{1} << 30);
      !s.ok()) {
    return s;
  }
  if (auto s = t.read_bool("send_asap", nats.send_asap); !s.ok()) return s;
  if (auto s = t.read_size("queue_bytes", nats.queue_bytes, kMinRingBytes, kMaxRingBytes); !s.ok()) return s;
  if ((nats.queue_bytes & (nats.queue_bytes - 1)) != 0) {
    return t.invalid("queue_bytes", fmt::format("expected a power of two, got {}", nats.queue_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status read_publish(const TableView& t, PublishConfig& publish) {
  if (auto s = t.check_known({"to", "shm", "nats"}); !s.ok()) return s;
  if (auto s = read_targets(t, publish.to); !s.ok()) return s;
  for (auto [key, read] : {std::pair<std::string_view, int>{"shm", 0}, std::pair<std::string_view, int>{"nats", 1}}) {
    auto table = t.subtable(key);
    if (!table.ok()) return table.status();
    if (*table == nullptr) continue;
    const TableView view(**table, t.path_of(key), t.source());
    if (auto s = read == 0 ? read_shm(view, publish.shm) : read_nats(view, publish.nats); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tickwire::config::detail
