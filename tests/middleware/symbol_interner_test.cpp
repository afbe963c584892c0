#include "tickwire/middleware/symbol_interner.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tickwire::middleware {
namespace {

TEST(SymbolInterner, GivesDenseIdsInOrderOfFirstSight) {
  SymbolInterner in;
  EXPECT_EQ(in.intern("BTCUSDT"), 0u);
  EXPECT_EQ(in.intern("ETHUSDT"), 1u);
  EXPECT_EQ(in.intern("BTCUSDT"), 0u);
  EXPECT_EQ(in.size(), 2u);
  EXPECT_EQ(in.name(1), "ETHUSDT");
  EXPECT_EQ(in.find("ETHUSDT"), 1u);
  EXPECT_FALSE(in.find("SOLUSDT").has_value());
}

TEST(SymbolInterner, NamesStayValidAsItGrows) {
  SymbolInterner in;
  const std::string_view first = in.name(in.intern("A"));  // short: lives in the string's SSO buffer
  for (int i = 0; i < 10000; ++i) in.intern("SYM" + std::to_string(i));
  EXPECT_EQ(first, "A");
  EXPECT_EQ(in.intern("A"), 0u);
  EXPECT_EQ(in.name(in.intern("SYM9999")), "SYM9999");
}

TEST(SymbolInterner, LooksUpFromATransientBufferWithoutKeepingIt) {
  SymbolInterner in;
  std::string buffer = "BNBBTC";
  const SymbolId id = in.intern(buffer);
  buffer.assign("XXXXXX");
  EXPECT_EQ(in.name(id), "BNBBTC");
  EXPECT_EQ(in.find("BNBBTC"), id);
}

}  // namespace
}  // namespace tickwire::middleware
