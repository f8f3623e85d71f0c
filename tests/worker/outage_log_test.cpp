// The schedule of the rate-limited outage warnings (worker/outage_log.h).
#include "worker/outage_log.h"

#include <gtest/gtest.h>

namespace steadfast::worker {
namespace {

using namespace std::chrono_literals;
using Clock = OutageLog::Clock;

TEST(OutageLogTest, FirstFailureAtOnceThenOneLinePerIntervalThenTheRecovery) {
  OutageLog log("worker w1: fetch", 5s);
  const Clock::time_point t0{};
  EXPECT_EQ(log.succeeded(t0), std::nullopt) << "nothing was failing";
  EXPECT_FALSE(log.failing());

  EXPECT_EQ(
      log.failed("READONLY You can't write against a read only replica.", t0),
      "worker w1: fetch failed: READONLY You can't write against a read only replica.; retrying");
  EXPECT_TRUE(log.failing());
  // A retry every 200 ms: silent until 5 s after the last line.
  int lines = 0;
  for (auto t = t0 + 200ms; t < t0 + 5s; t += 200ms) {
    lines += log.failed("READONLY", t).has_value() ? 1 : 0;
  }
  EXPECT_EQ(lines, 0);
  EXPECT_EQ(log.failed("READONLY", t0 + 5s),
            "worker w1: fetch still failing after 5000 ms (26 attempts): READONLY; retrying");
  EXPECT_EQ(log.failed("READONLY", t0 + 9s), std::nullopt);
  EXPECT_TRUE(log.failed("READONLY", t0 + 10s).has_value());

  EXPECT_EQ(log.succeeded(t0 + 10500ms),
            "worker w1: fetch works again after 10500 ms (28 failed attempts)");
  EXPECT_FALSE(log.failing());
  EXPECT_EQ(log.succeeded(t0 + 11s), std::nullopt) << "the recovery is reported once";
}

TEST(OutageLogTest, ANewOutageIsReportedAtOnce) {
  OutageLog log("notifier n1: reading alerts", 5s);
  const Clock::time_point t0{};
  ASSERT_TRUE(log.failed("UNBLOCKED", t0).has_value());
  EXPECT_EQ(log.succeeded(t0 + 1s),
            "notifier n1: reading alerts works again after 1000 ms (1 failed attempt)");
  // Within the interval of the last line, but a new outage: reported.
  EXPECT_EQ(log.failed("LOADING Redis is loading the dataset in memory", t0 + 2s),
            "notifier n1: reading alerts failed: LOADING Redis is loading the dataset in memory; "
            "retrying");
}

}  // namespace
}  // namespace steadfast::worker
