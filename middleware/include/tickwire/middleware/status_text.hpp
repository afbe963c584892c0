// status_text: an absl::Status message as std::string_view. Debian's abseil
// has its own string_view type (ABSL_OPTION_USE_STD_STRING_VIEW 0), which fmt
// cannot format and std::string_view does not convert from implicitly.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace tickwire::middleware {

inline std::string_view status_text(const absl::Status& status) noexcept {
  const auto m = status.message();
  return {m.data(), m.size()};
}

}  // namespace tickwire::middleware
