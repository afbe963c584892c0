#include "tickwire/journal/position.hpp"

#include <gtest/gtest.h>

#include "tickwire/journal/examine.hpp"

namespace tickwire::journal {
namespace {

TEST(Position, DigitsAreASequenceNumber) {
  auto p = parse_position("123456");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, Position::Kind::kSeq);
  EXPECT_EQ(p->value, 123456u);
}

TEST(Position, AnIsoUtcTimeWithAFractionIsWallNanoseconds) {
  auto p = parse_position("2026-11-22T14:28:00.5Z");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, Position::Kind::kTime);
  EXPECT_EQ(p->value, 1795357680'500000000ull);
  EXPECT_EQ(format_wall(p->value), "2026-11-22T14:28:00.500000000Z");
  auto q = parse_position("2026-11-22T14:28:00Z");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->value, 1795357680'000000000ull);
}

TEST(Position, AnythingElseIsAnErrorThatShowsTheExpectedForm) {
  for (const char* bad : {"", "12a", "2026-11-22 14:28:00Z", "2026-13-01T00:00:00Z", "2026-11-22T14:28:00.Z",
                          "2026-11-22T14:28:00.1234567890Z", "99999999999999999999999"}) {
    auto p = parse_position(bad);
    ASSERT_FALSE(p.ok()) << bad;
  }
  EXPECT_NE(std::string(parse_position("x").status().message()).find("2026-11-22T14:28:00.5Z"), std::string::npos);
}

}  // namespace
}  // namespace tickwire::journal
