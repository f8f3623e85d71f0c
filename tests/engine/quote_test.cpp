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

}  // namespace
}  // namespace steadfast::engine
