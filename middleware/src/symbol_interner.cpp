#include "tickwire/middleware/symbol_interner.hpp"

namespace tickwire::middleware {

SymbolId SymbolInterner::intern(std::string_view ticker) {
  if (auto it = ids_.find(ticker); it != ids_.end()) return it->second;
  const auto id = static_cast<SymbolId>(names_.size());
  const std::string& stored = names_.emplace_back(ticker);
  ids_.emplace(std::string_view(stored), id);
  return id;
}

std::optional<SymbolId> SymbolInterner::find(std::string_view ticker) const {
  if (auto it = ids_.find(ticker); it != ids_.end()) return it->second;
  return std::nullopt;
}

}  // namespace tickwire::middleware
