// Outside text made fit for messages and outputs: UTF-8 repair, control
// characters, cuts at character boundaries.
#include "steps/text.h"

#include <gtest/gtest.h>

#include <string>

namespace steadfast::steps {
namespace {

TEST(ValidUtf8, KeepsWellFormedText) {
  EXPECT_EQ(valid_utf8(""), "");
  EXPECT_EQ(valid_utf8("plain"), "plain");
  EXPECT_EQ(valid_utf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"), "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(ValidUtf8, ReplacesEachBadByte) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8("a\xFF" "b"), "a" + r + "b");
  EXPECT_EQ(valid_utf8("\xC3"), r);                    // truncated sequence
  EXPECT_EQ(valid_utf8("\xC0\xAF"), r + r);            // overlong
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), r + r + r);    // surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
}

TEST(Printable, EscapesControlsButNewlinesAndTabs) {
  EXPECT_EQ(printable("a\nb\tc"), "a\nb\tc");
  EXPECT_EQ(printable("a\rb\x1b[31m\x7f"), "a\\x0db\\x1b[31m\\x7f");
}

TEST(HeadAndTail, CutAtCharacterBoundariesAndMarkTheCut) {
  EXPECT_EQ(head("short", 10), "short");
  EXPECT_EQ(tail("short", 10), "short");
  EXPECT_EQ(head("0123456789", 8), "01234...");
  EXPECT_EQ(tail("0123456789", 8), "...56789");
  // "é" is 2 bytes; never split.
  const std::string accents = "a\xC3\xA9\xC3\xA9\xC3\xA9";  // 7 bytes
  EXPECT_EQ(head(accents, 6), "a\xC3\xA9...");
  EXPECT_EQ(head(accents, 5), "a...");
  EXPECT_EQ(tail(accents, 5), "...\xC3\xA9");
  EXPECT_EQ(tail(accents, 4), "...");
  EXPECT_LE(head(std::string(1000, 'x'), 512).size(), 512u);
  EXPECT_LE(tail(std::string(5000, 'x'), 2048).size(), 2048u);
  EXPECT_EQ(head("abcdef", 2), "..");
}

}  // namespace
}  // namespace steadfast::steps
