// The token step names of a map step's items ("summarize[3]"): made and read
// back, and every other text read as no item.
#include "engine/map_item.h"

#include <gtest/gtest.h>

namespace steadfast::engine {
namespace {

TEST(MapItem, AnItemIsItsStepAndIndexInBrackets) {
  EXPECT_EQ(item_step("summarize", 0), "summarize[0]");
  EXPECT_EQ(item_step("summarize", 12345), "summarize[12345]");
  EXPECT_EQ(parse_item_step("summarize[0]"), (MapItem{"summarize", 0}));
  EXPECT_EQ(parse_item_step("summarize[12345]"), (MapItem{"summarize", 12345}));
  EXPECT_EQ(parse_item_step(item_step("a-b_c", 99999)), (MapItem{"a-b_c", 99999}));
}

TEST(MapItem, AnythingElseIsNoItem) {
  for (const char* text : {"summarize", "", "[1]", "s[]", "s[01]", "s[-1]", "s[1", "s1]", "s[1]x", "s[a]",
                           "s[ 1]", "s[99999999999999999999]"}) {
    EXPECT_EQ(parse_item_step(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace steadfast::engine
