// The reclaim and promote loops' error lines: one per interval, with a count
// of the ones left out.
#include "worker/log_throttle.h"

#include <gtest/gtest.h>

namespace steadfast::worker {
namespace {

using namespace std::chrono_literals;

TEST(LogThrottle, OneLinePerIntervalWithTheSuppressedCount) {
  LogThrottle throttle(10s);
  const LogThrottle::Clock::time_point t0{1000s};
  EXPECT_EQ(throttle.admit(t0), 0u);  // the first is always logged
  EXPECT_EQ(throttle.admit(t0 + 1s), std::nullopt);
  EXPECT_EQ(throttle.admit(t0 + 2s), std::nullopt);
  EXPECT_EQ(throttle.admit(t0 + 9999ms), std::nullopt);
  EXPECT_EQ(throttle.admit(t0 + 10s), 3u);  // the next line says 3 were left out
  EXPECT_EQ(throttle.admit(t0 + 11s), std::nullopt);
  EXPECT_EQ(throttle.admit(t0 + 60s), 1u);
  EXPECT_EQ(throttle.admit(t0 + 80s), 0u);
}

TEST(LogThrottle, ZeroIntervalLogsEveryOccurrence) {
  LogThrottle throttle(0s);
  const LogThrottle::Clock::time_point t0{1s};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(throttle.admit(t0), 0u);
}

}  // namespace
}  // namespace steadfast::worker
