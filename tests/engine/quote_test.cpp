// Quoting untrusted names for messages: one line, bounded length.
#include "engine/quote.h"

#include <gtest/gtest.h>

#include <string>

namespace steadfast::engine {
namespace {

TEST(Quote, WrapsInSingleQuotes) {
  EXPECT_EQ(quote("abc"), "'abc'");
  EXPECT_EQ(quote(""), "''");
}

TEST(Quote, EscapesControlCharacters) {
  EXPECT_EQ(quote("a\nb"), "'a\\x0ab'");
  EXPECT_EQ(quote(std::string_view("\0\t\x7f", 3)), "'\\x00\\x09\\x7f'");
  EXPECT_EQ(quote("caf\xc3\xa9"), "'caf\xc3\xa9'");  // UTF-8 passes through
}

TEST(Quote, CutsLongText) {
  EXPECT_EQ(quote(std::string(200, 'x')), "'" + std::string(200, 'x') + "'");
  EXPECT_EQ(quote(std::string(201, 'x')), "'" + std::string(200, 'x') + "'...");
  EXPECT_EQ(quote("abcdef", 3), "'abc'...");
}

// Issue 13 item 7: the security review's input URL, as `status` and `dlq
// list` printed it (clearing the screen, setting the title, forging a line).
TEST(Printable, EscapesWhatATerminalWouldObey) {
  EXPECT_EQ(printable("http://127.0.0.1:1/\x1b[2J\x1b]0;pwned\x07 x\nFAKE LINE"),
            "http://127.0.0.1:1/\\x1b[2J\\x1b]0;pwned\\x07 x\\x0aFAKE LINE");
  EXPECT_EQ(printable("a\tb\rc\x7f"), "a\\x09b\\x0dc\\x7f");
}

TEST(Printable, EscapesC1ControlsAndBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\u009b31m");  // U+009B, CSI
  EXPECT_EQ(printable("\xc2\x85"), "\\u0085");        // U+0085, NEL
  EXPECT_EQ(printable("\x9b" "31m"), "\\x9b31m");        // a lone C1 byte
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");       // overlong '/'
  EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");       // cut short
}

TEST(Printable, KeepsPrintableUtf8) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x9a\xa8"), "caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x9a\xa8");
  EXPECT_EQ(printable("run 01ABC failed: 'x'"), "run 01ABC failed: 'x'");
  EXPECT_EQ(printable(""), "");
}

TEST(Quote, EscapesC1Controls) { EXPECT_EQ(quote("\xc2\x9b"), "'\\u009b'"); }

}  // namespace
}  // namespace steadfast::engine
