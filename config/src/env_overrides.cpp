// TICKWIRE_<SECTION>_<KEY> environment variables: each one replaces (or
// adds) one key of the parsed document before the sections are read, so a
// value from the environment is typed and validated exactly like the file's.
// Every node an override puts in carries "$<VARIABLE>" as its source path,
// which error_at() prints instead of "<file>:<line>".
#include <unistd.h>

#include <cctype>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "sections.hpp"

extern char** environ;  // POSIX: the process environment (unistd.h declares it only with _GNU_SOURCE)

namespace tickwire::config::detail {
namespace {

constexpr std::string_view kPrefix = "TICKWIRE_";

// kToolPrefixes: TICKWIRE_* variables the project's scripts and tests use for
// themselves; they are not configuration.
constexpr std::string_view kToolPrefixes[] = {"TICKWIRE_SETUP_", "TICKWIRE_FUZZ_", "TICKWIRE_CRASH_",
                                              "TICKWIRE_SHM_", "TICKWIRE_TEST_"};

// kSubTables: the sections that hold tables of their own, whose keys a
// variable reaches as TICKWIRE_<SECTION>_<TABLE>_<KEY>.
constexpr std::pair<std::string_view, std::string_view> kSubTables[] = {{"publish", "shm"}, {"publish", "nats"}};

absl::Status env_error(std::string_view source, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", source, what));
}

// toml_string: `text` as a TOML basic string literal.
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// parse_assignment: `key = value_text` parsed with `source` as its path, or
// an empty optional when it is not exactly one TOML key/value.
std::optional<toml::table> parse_assignment(std::string_view key, std::string_view value_text,
                                            std::string_view source) {
  try {
    toml::table parsed = toml::parse(fmt::format("{} = {}", key, value_text), source);
    if (parsed.size() != 1 || parsed.get(key) == nullptr) return std::nullopt;
    return parsed;
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

// assign: sets `key` of `target` from the variable's text. A TOML value is
// taken as written; anything else is a string, and so is any value but an
// array for a key the file holds as a string ("123" stays a name, but a core
// list the file holds as "any" takes [2]).
absl::Status assign(toml::table& target, std::string_view key, std::string_view path,
                    std::string_view value, std::string_view source) {
  for (const char c : key) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return env_error(source, fmt::format("{}: a key is letters, digits and '_'", path));
    }
  }
  const toml::node* existing = target.get(key);
  const bool file_has_string = existing != nullptr && existing->is_string();
  std::optional<toml::table> parsed = parse_assignment(key, value, source);
  if (!parsed || (file_has_string && !parsed->get(key)->is_string() && !parsed->get(key)->is_array())) {
    parsed = parse_assignment(key, toml_string(value), source);
  }
  if (!parsed) return env_error(source, fmt::format("{}: cannot be read as a TOML value", path));
  for (auto&& [parsed_key, node] : *parsed) {
    target.erase(parsed_key.str());
    // The key keeps its source (the variable), so an unknown key is reported
    // against the variable; moving the node keeps the value's source too.
    node.visit([&, k = parsed_key](auto&& v) { target.insert(k, std::move(v)); });
  }
  return absl::OkStatus();
}

// feed_override: TICKWIRE_FEEDS_<N>_<KEY>, `rest` being "<n>_<key>".
absl::Status feed_override(toml::table& document, std::string_view rest, std::string_view value,
                           std::string_view source) {
  const auto underscore = rest.find('_');
  const std::string_view index_text = rest.substr(0, underscore);
  const bool numeric = !index_text.empty() && index_text.size() <= 6 &&
                       index_text.find_first_not_of("0123456789") == std::string_view::npos;
  if (underscore == std::string_view::npos || !numeric || underscore + 1 == rest.size()) {
    return env_error(source, "expected TICKWIRE_FEEDS_<N>_<KEY> (e.g. TICKWIRE_FEEDS_0_URL)");
  }
  const std::size_t index = std::stoul(std::string(index_text));
  toml::array* feeds = document.get_as<toml::array>("feeds");
  const std::size_t count = feeds != nullptr ? feeds->size() : 0;
  toml::table* feed = index < count ? feeds->get(index)->as_table() : nullptr;
  if (feed == nullptr) {
    return env_error(source, fmt::format("feeds[{}]: no such feed ({} [[feeds]] in the file; feeds are "
                                         "defined in the file, variables only change their keys)",
                                         index, count));
  }
  const std::string_view key = rest.substr(underscore + 1);
  return assign(*feed, key, fmt::format("feeds[{}].{}", index, key), value, source);
}

absl::Status apply_one(toml::table& document, const EnvOverride& o) {
  const std::string source = "$" + o.name;
  if (!o.name.starts_with(kPrefix) || o.name.size() == kPrefix.size()) {
    return env_error(source, "expected TICKWIRE_<SECTION>_<KEY>");
  }
  std::string rest = o.name.substr(kPrefix.size());
  for (char& c : rest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto underscore = rest.find('_');
  if (underscore == std::string::npos) return assign(document, rest, rest, o.value, source);
  const std::string section = rest.substr(0, underscore);
  const std::string key = rest.substr(underscore + 1);
  if (key.empty()) return env_error(source, "expected TICKWIRE_<SECTION>_<KEY>");
  if (section == "feeds") return feed_override(document, key, o.value, source);
  toml::node* node = document.get(section);
  if (node == nullptr) {
    // A section the file leaves out: it comes from the variable, key and
    // all, so an unknown section is reported against the variable.
    auto parsed = parse_assignment(section, "{}", source);
    if (!parsed) return env_error(source, fmt::format("{}: not a section name", section));
    for (auto&& [parsed_key, table] : *parsed) {
      document.insert(parsed_key, std::move(*table.as_table()));
    }
    node = document.get(section);
  }
  if (!node->is_table()) {
    return env_error(source, fmt::format("{}: not a section (the file holds a {} there; "
                                         "a top-level key is TICKWIRE_{})",
                                         section, type_name(*node), o.name.substr(kPrefix.size(), underscore)));
  }
  toml::table& table = *node->as_table();
  // A key of a sub-table ([publish.shm], [publish.nats]): TICKWIRE_PUBLISH_NATS_PASSWORD
  // is publish.nats.password, the sub-table made if the file leaves it out.
  for (const auto& [parent, sub] : kSubTables) {
    if (section != parent || !key.starts_with(sub) || key.size() <= sub.size() + 1 || key[sub.size()] != '_') {
      continue;
    }
    const std::string sub_name(sub);
    toml::node* child = table.get(sub_name);
    if (child == nullptr) {
      auto parsed = parse_assignment(sub_name, "{}", source);
      if (!parsed) return env_error(source, fmt::format("{}.{}: not a section name", section, sub));
      for (auto&& [parsed_key, t] : *parsed) table.insert(parsed_key, std::move(*t.as_table()));
      child = table.get(sub_name);
    }
    if (!child->is_table()) {
      return env_error(source, fmt::format("{}.{}: not a section (the file holds a {} there)", section, sub,
                                           type_name(*child)));
    }
    const std::string sub_key = key.substr(sub.size() + 1);
    return assign(*child->as_table(), sub_key, fmt::format("{}.{}.{}", section, sub, sub_key), o.value, source);
  }
  return assign(table, key, fmt::format("{}.{}", section, key), o.value, source);
}

}  // namespace

absl::Status apply_overrides(toml::table& document, const std::vector<EnvOverride>& overrides) {
  for (const auto& o : overrides) {
    if (auto s = apply_one(document, o); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tickwire::config::detail

namespace tickwire::config {

std::vector<EnvOverride> environment_overrides() {
  std::vector<EnvOverride> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (!text.starts_with(detail::kPrefix)) continue;
    bool tool = false;
    for (std::string_view p : detail::kToolPrefixes) tool = tool || text.starts_with(p);
    if (tool) continue;
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    out.push_back({std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))});
  }
  return out;
}

}  // namespace tickwire::config
