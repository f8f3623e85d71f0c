// Parsing Redis' INFO text for `steadfast bench` (store/server_stats.h).
#include "store/server_stats.h"

#include <gtest/gtest.h>

namespace steadfast::store {
namespace {

TEST(Commandstats, ParsesCallsPerCommandIncludingSubcommands) {
  const auto calls = parse_commandstats(
      "# Commandstats\r\n"
      "cmdstat_hset:calls=120004,usec=116603,usec_per_call=0.97,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_config|resetstat:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_evalsha:calls=5269,usec=862364,usec_per_call=163.67,rejected_calls=0,failed_calls=0\r\n");
  EXPECT_EQ(calls, (CommandCalls{{"config|resetstat", 1}, {"evalsha", 5269}, {"hset", 120004}}));
}

TEST(Commandstats, ParsesTheMicrosecondsPerCommandNotThePerCallAverage) {
  const auto usec = parse_commandstats(
      "# Commandstats\r\n"
      "cmdstat_zadd:calls=30,usec=45,usec_per_call=1.50,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_zrem:calls=10,usec_per_call=2.00,usec=20\r\n",
      "usec");
  EXPECT_EQ(usec, (CommandCalls{{"zadd", 45}, {"zrem", 20}}));
  EXPECT_TRUE(parse_commandstats("cmdstat_x:calls=3,usec_per_call=1.0\n", "usec").empty());
}

TEST(Commandstats, SkipsLinesOfOtherShapes) {
  EXPECT_TRUE(parse_commandstats("").empty());
  EXPECT_TRUE(parse_commandstats("# Commandstats\nused_cpu_sys:1.0\ncmdstat_x:usec=3\ncmdstat_y:calls=\n").empty());
}

TEST(CpuSeconds, AddsUserAndSystemTime) {
  EXPECT_DOUBLE_EQ(parse_cpu_seconds("# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\n"
                                     "used_cpu_sys_children:9.0\r\n"),
                   3.75);
  EXPECT_DOUBLE_EQ(parse_cpu_seconds("# CPU\r\nused_cpu_user:0.5\r\n"), 0.5);
  EXPECT_DOUBLE_EQ(parse_cpu_seconds(""), 0.0);
}

}  // namespace
}  // namespace steadfast::store
