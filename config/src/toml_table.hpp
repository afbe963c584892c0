// TableView: typed, error-reporting reads from one toml++ table, for the
// config loader. Every error reads "<source>:<line>: <key path>: <what>", with
// the line of the offending value (or of the table, for a missing key).
// A view borrows the table; it must not outlive the parsed document.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tickwire::config::detail {

// error_at: an InvalidArgument status "<source>:<line>: <path>: <what>".
absl::Status error_at(std::string_view source, const toml::source_region& where,
                      std::string_view path, std::string_view what);

// type_name: a node's TOML type as error messages spell it ("integer", "list").
std::string_view type_name(const toml::node& node);

enum class Presence { kOptional, kRequired };

class TableView {
 public:
  // `path` is the table's key path ("" for the root, "journal", "feeds[0]").
  TableView(const toml::table& table, std::string path, std::string_view source);

  // check_known: the first key (in file order) not in `known` is an error that
  // lists the known keys.
  absl::Status check_known(std::initializer_list<std::string_view> known) const;

  // path_of: a child's full key path ("journal.dir", "feeds[0].url").
  std::string path_of(std::string_view key) const;

  // missing: the error for an absent required key, at the table's line.
  absl::Status missing(std::string_view key, std::string_view expected) const;
  // invalid: an error about the value at `key`, which must be present.
  absl::Status invalid(std::string_view key, std::string_view what) const;
  // invalid_element: an error about element `index` of the list at `key`.
  absl::Status invalid_element(std::string_view key, std::size_t index,
                               std::string_view what) const;

  const toml::table& table() const { return table_; }
  std::string_view source() const { return source_; }

  // The readers below leave `out` untouched when an optional key is absent.
  absl::Status read_string(std::string_view key, std::string& out, Presence presence) const;
  absl::Status read_bool(std::string_view key, bool& out) const;
  // read_uint: an integer in [min, max]; negative values are errors.
  absl::Status read_uint(std::string_view key, std::uint64_t& out, std::uint64_t min,
                         std::uint64_t max) const;
  absl::Status read_uint32(std::string_view key, std::uint32_t& out, std::uint32_t min) const;
  // read_positive: an integer or float, finite and > 0.
  absl::Status read_positive(std::string_view key, double& out) const;
  // read_size: integer bytes or a string with a binary unit ("16MiB").
  absl::Status read_size(std::string_view key, std::size_t& out, std::uint64_t min,
                         std::uint64_t max) const;
  // read_choice: a string out of `names`; `index` receives its position.
  absl::Status read_choice(std::string_view key, std::initializer_list<std::string_view> names,
                           std::size_t& index) const;
  absl::Status read_string_list(std::string_view key, std::vector<std::string>& out,
                                Presence presence) const;
  // subtable: the table at `key`, or nullptr when absent.
  absl::StatusOr<const toml::table*> subtable(std::string_view key) const;
  // table_array: the array of tables at `key` ([[key]]), or nullptr when absent.
  absl::StatusOr<const toml::array*> table_array(std::string_view key) const;

 private:
  absl::Status wrong_type(std::string_view key, const toml::node& node,
                          std::string_view expected) const;

  const toml::table& table_;
  std::string path_;
  std::string_view source_;
};

}  // namespace tickwire::config::detail
