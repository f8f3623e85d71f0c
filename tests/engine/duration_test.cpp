// Durations in messages: format_duration, and that its one-unit forms read back.
#include "engine/duration.h"

#include <gtest/gtest.h>

namespace steadfast::engine {
namespace {

using std::chrono::milliseconds;

TEST(FormatDuration, Table) {
  const struct {
    long long ms;
    const char* text;
  } cases[] = {{0, "0s"},          {1, "1ms"},        {999, "999ms"},         {1000, "1s"},
               {1500, "1s500ms"},  {60'000, "1m"},    {5'400'000, "1h30m"},   {86'400'000, "24h"},
               {3'661'001, "1h1m1s1ms"}, {-2000, "-2s"}};
  for (const auto& c : cases) EXPECT_EQ(format_duration(milliseconds(c.ms)), c.text) << c.ms;
}

TEST(FormatDuration, OneUnitFormsParseBack) {
  for (long long ms : {1LL, 250LL, 1000LL, 60'000LL, 3'600'000LL, 86'400'000LL}) {
    EXPECT_EQ(parse_duration(format_duration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

}  // namespace
}  // namespace steadfast::engine
