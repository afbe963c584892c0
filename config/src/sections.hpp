// The config loader's readers, one per TOML section, shared between the
// translation units that implement them. Each fills its struct from a view and
// returns the first error it meets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tickwire/config/config.hpp"
#include "toml_table.hpp"

namespace tickwire::config::detail {

// is_subject_token: [a-z0-9_-]+, what a NATS subject token may be here.
bool is_subject_token(std::string_view text);

// read_feeds: the required [[feeds]] array of the root table.
absl::Status read_feeds(const TableView& root, std::vector<FeedConfig>& feeds);

// read_threads: the optional [threads] table.
absl::Status read_threads(const TableView& t, ThreadsConfig& threads);

// apply_overrides: each TICKWIRE_* variable into `document`, before it is
// read (env_overrides.cpp); the first bad variable is the error.
absl::Status apply_overrides(toml::table& document, const std::vector<EnvOverride>& overrides);

// check_cores_usable: every core of the [threads] lists is one this process
// may run on; an unusable core is an error at its element (threads.cpp).
absl::Status check_cores_usable(const TableView& t, const ThreadsConfig& threads);

// read_publish: the optional [publish] table.
absl::Status read_publish(const TableView& t, PublishConfig& publish);

// url_error: why `url` is not "sim://", "ws://host[:port][/path]" or
// "wss://..."; empty when it is fine.
std::string url_error(std::string_view url);

}  // namespace tickwire::config::detail
