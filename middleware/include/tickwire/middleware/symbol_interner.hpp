// SymbolInterner: maps exchange tickers to dense SymbolIds and back. Owned by
// one feed thread (not thread-safe). A ticker already seen costs one hash
// lookup and no allocation; a new one allocates its stored copy once.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"

namespace tickwire::middleware {

// SymbolId: dense, starting at 0, in order of first appearance.
using SymbolId = std::uint32_t;

class SymbolInterner {
 public:
  // intern: the id of `ticker`, adding it on first sight.
  SymbolId intern(std::string_view ticker);
  // find: the id of `ticker` if it was interned.
  std::optional<SymbolId> find(std::string_view ticker) const;
  // name: the ticker of an id returned by intern(); stable for the interner's life.
  std::string_view name(SymbolId id) const { return names_[id]; }
  // size: how many distinct tickers were interned.
  std::size_t size() const { return names_.size(); }

 private:
  // Keys are views into names_: a deque never moves its elements, so the
  // views stay valid as it grows. (Debian's abseil cannot look up a
  // std::string key by std::string_view; see ../shared/STACK.md.)
  std::deque<std::string> names_;
  absl::flat_hash_map<std::string_view, SymbolId> ids_;
};

}  // namespace tickwire::middleware
