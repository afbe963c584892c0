#include "toml_table.hpp"

#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "size.hpp"

namespace tickwire::config::detail {
namespace {

constexpr std::string_view kSizeExpected =
    "expected a size (integer bytes, or a string with a unit B, KiB, MiB, GiB or TiB "
    "such as \"16MiB\")";

std::string quoted_list(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += fmt::format("\"{}\"", name);
  }
  return out;
}

std::string range_text(std::uint64_t min, std::uint64_t max) {
  if (max == std::numeric_limits<std::uint64_t>::max() ||
      max == std::numeric_limits<std::uint32_t>::max()) {
    return min == 0 ? std::string("a non-negative integer")
                    : fmt::format("an integer >= {}", min);
  }
  return fmt::format("an integer between {} and {}", min, max);
}

}  // namespace

absl::Status error_at(std::string_view source, const toml::source_region& where,
                      std::string_view path, std::string_view what) {
  // A value from an environment variable carries the variable's name
  // ("$TICKWIRE_...") as its source path: the error names the variable.
  if (where.path != nullptr && where.path->starts_with('$')) {
    return absl::InvalidArgumentError(fmt::format("{}: {}: {}", *where.path, path, what));
  }
  const auto line = where.begin.line == 0 ? 1u : where.begin.line;
  return absl::InvalidArgumentError(fmt::format("{}:{}: {}: {}", source, line, path, what));
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "list";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

TableView::TableView(const toml::table& table, std::string path, std::string_view source)
    : table_(table), path_(std::move(path)), source_(source) {}

std::string TableView::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

absl::Status TableView::check_known(std::initializer_list<std::string_view> known) const {
  const toml::key* first_unknown = nullptr;
  for (const auto& [key, value] : table_) {
    bool is_known = false;
    for (std::string_view name : known) is_known = is_known || key.str() == name;
    if (!is_known && (first_unknown == nullptr ||
                      key.source().begin.line < first_unknown->source().begin.line)) {
      first_unknown = &key;
    }
  }
  if (first_unknown == nullptr) return absl::OkStatus();
  std::string list;
  for (std::string_view name : known) list += list.empty() ? std::string(name) : fmt::format(", {}", name);
  return error_at(source_, first_unknown->source(), path_of(first_unknown->str()),
                  fmt::format("unknown key (known: {})", list));
}

absl::Status TableView::invalid(std::string_view key, std::string_view what) const {
  const toml::node* node = table_.get(key);
  return error_at(source_, node != nullptr ? node->source() : table_.source(), path_of(key), what);
}

absl::Status TableView::invalid_element(std::string_view key, std::size_t index,
                                        std::string_view what) const {
  const toml::node* node = table_.get(key);
  const toml::array* list = node != nullptr ? node->as_array() : nullptr;
  const toml::node* element = list != nullptr ? list->get(index) : nullptr;
  const auto& where = element != nullptr ? element->source() : table_.source();
  return error_at(source_, where, fmt::format("{}[{}]", path_of(key), index), what);
}

absl::Status TableView::missing(std::string_view key, std::string_view expected) const {
  return error_at(source_, table_.source(), path_of(key),
                  fmt::format("{}, got nothing (the key is required)", expected));
}

absl::Status TableView::wrong_type(std::string_view key, const toml::node& node,
                                   std::string_view expected) const {
  return error_at(source_, node.source(), path_of(key),
                  fmt::format("{}, got {}", expected, type_name(node)));
}

absl::Status TableView::read_string(std::string_view key, std::string& out,
                                    Presence presence) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    return presence == Presence::kRequired ? missing(key, "expected a string") : absl::OkStatus();
  }
  const auto* value = node->as_string();
  if (value == nullptr) return wrong_type(key, *node, "expected a string");
  out = value->get();
  return absl::OkStatus();
}

absl::Status TableView::read_bool(std::string_view key, bool& out) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return absl::OkStatus();
  const auto* value = node->as_boolean();
  if (value == nullptr) return wrong_type(key, *node, "expected a boolean (true or false)");
  out = value->get();
  return absl::OkStatus();
}

absl::Status TableView::read_uint(std::string_view key, std::uint64_t& out, std::uint64_t min,
                                  std::uint64_t max) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return absl::OkStatus();
  const auto* value = node->as_integer();
  if (value == nullptr) return wrong_type(key, *node, fmt::format("expected {}", range_text(min, max)));
  const std::int64_t v = value->get();
  if (v < 0) return invalid(key, fmt::format("expected a non-negative integer, got {}", v));
  if (static_cast<std::uint64_t>(v) < min) {
    return invalid(key, fmt::format("expected an integer >= {}, got {}", min, v));
  }
  if (static_cast<std::uint64_t>(v) > max) {
    return invalid(key, fmt::format("expected an integer <= {}, got {}", max, v));
  }
  out = static_cast<std::uint64_t>(v);
  return absl::OkStatus();
}

absl::Status TableView::read_uint32(std::string_view key, std::uint32_t& out,
                                    std::uint32_t min) const {
  std::uint64_t wide = out;
  auto status = read_uint(key, wide, min, std::numeric_limits<std::uint32_t>::max());
  if (status.ok()) out = static_cast<std::uint32_t>(wide);
  return status;
}

absl::Status TableView::read_positive(std::string_view key, double& out) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return absl::OkStatus();
  double v = 0;
  if (const auto* integer = node->as_integer()) {
    v = static_cast<double>(integer->get());
  } else if (const auto* floating = node->as_floating_point()) {
    v = floating->get();
  } else {
    return wrong_type(key, *node, "expected a positive number");
  }
  if (!std::isfinite(v) || v <= 0) {
    return invalid(key, fmt::format("expected a positive number, got {}", v));
  }
  out = v;
  return absl::OkStatus();
}

absl::Status TableView::read_size(std::string_view key, std::size_t& out, std::uint64_t min,
                                  std::uint64_t max) const {
  static_assert(sizeof(std::size_t) == sizeof(std::uint64_t), "sizes are 64-bit");
  const toml::node* node = table_.get(key);
  if (node == nullptr) return absl::OkStatus();
  std::uint64_t bytes = 0;
  if (const auto* integer = node->as_integer()) {
    if (integer->get() < 0) {
      return invalid(key, fmt::format("expected a non-negative size, got {}", integer->get()));
    }
    bytes = static_cast<std::uint64_t>(integer->get());
  } else if (const auto* text = node->as_string()) {
    const auto parsed = parse_size(text->get());
    if (!parsed) return invalid(key, fmt::format("{}, got {:?}", kSizeExpected, text->get()));
    bytes = *parsed;
  } else {
    return wrong_type(key, *node, kSizeExpected);
  }
  if (bytes < min) {
    return invalid(key, fmt::format("expected a size of at least {}, got {}", format_size(min),
                                    format_size(bytes)));
  }
  if (bytes > max) {
    return invalid(key, fmt::format("expected a size of at most {}, got {}", format_size(max),
                                    format_size(bytes)));
  }
  out = bytes;
  return absl::OkStatus();
}

absl::Status TableView::read_choice(std::string_view key,
                                    std::initializer_list<std::string_view> names,
                                    std::size_t& index) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return absl::OkStatus();
  const std::string expected = fmt::format("expected one of {}", quoted_list(names));
  const auto* value = node->as_string();
  if (value == nullptr) return wrong_type(key, *node, expected);
  std::size_t i = 0;
  for (std::string_view name : names) {
    if (value->get() == name) {
      index = i;
      return absl::OkStatus();
    }
    ++i;
  }
  return invalid(key, fmt::format("{}, got {:?}", expected, value->get()));
}

absl::Status TableView::read_string_list(std::string_view key, std::vector<std::string>& out,
                                         Presence presence) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    return presence == Presence::kRequired ? missing(key, "expected a list of strings")
                                           : absl::OkStatus();
  }
  const auto* list = node->as_array();
  if (list == nullptr) return wrong_type(key, *node, "expected a list of strings");
  std::vector<std::string> values;
  values.reserve(list->size());
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto* value = list->get(i)->as_string();
    if (value == nullptr) {
      return invalid_element(key, i, fmt::format("expected a string, got {}", type_name(*list->get(i))));
    }
    values.push_back(value->get());
  }
  out = std::move(values);
  return absl::OkStatus();
}

absl::StatusOr<const toml::table*> TableView::subtable(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return nullptr;
  if (node->as_table() == nullptr) return wrong_type(key, *node, "expected a table");
  return node->as_table();
}

absl::StatusOr<const toml::array*> TableView::table_array(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return nullptr;
  const std::string expected = fmt::format("expected an array of tables ([[{}]])", key);
  const auto* list = node->as_array();
  if (list == nullptr) return wrong_type(key, *node, expected);
  for (std::size_t i = 0; i < list->size(); ++i) {
    if (list->get(i)->as_table() == nullptr) {
      return invalid_element(key, i, fmt::format("expected a table, got {}", type_name(*list->get(i))));
    }
  }
  return list;
}

}  // namespace tickwire::config::detail
