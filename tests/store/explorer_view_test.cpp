// The run explorer's records (store/explorer_view.h), pure: a limiter's
// recent counts as of a time, from the two minutes its script counted last.
#include "store/explorer_view.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace steadfast::store {
namespace {

using Minutes = Store::LimiterState::Minutes;

TEST(RecentLimiterCounts, TheCountedMinutesAsOfNow) {
  struct Case {
    std::string name;
    Minutes counted;
    std::int64_t now_minute;
    RecentLimiterCounts want;
  };
  const std::vector<Case> cases = {
      {"never counted", {-1, 0, 0, 0, 0}, 100, {0, 0, 0, 0}},
      {"counted this minute, and the one before", {100, 4, 1, 9, 2}, 100, {4, 1, 9, 2}},
      {"counted this minute only", {100, 4, 1, 0, 0}, 100, {4, 1, 0, 0}},
      {"last counted the minute before: nothing yet this minute", {99, 4, 1, 9, 2}, 100, {0, 0, 4, 1}},
      {"last counted two minutes ago: both are empty", {98, 4, 1, 9, 2}, 100, {0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    const RecentLimiterCounts got = recent_limiter_counts(c.counted, c.now_minute * 60000 + 59'999);
    EXPECT_EQ(got, c.want) << c.name;
  }
}

TEST(RecentLimiterCounts, TheLimiterJsonCarriesTotalsAndRecentCounts) {
  Store::LimiterState l;
  l.name = "llm";
  l.bounds = Json{{"concurrency", 2}};
  l.admitted = 12;
  l.waits = 5;
  l.minutes = {100, 4, 1, 9, 2};
  l.now_ms = 100 * 60000 + 1;
  const Json j = to_json(l);
  EXPECT_EQ(j["admitted"], 12);
  EXPECT_EQ(j["waits"], 5);
  EXPECT_EQ(j["recent"], (Json{{"admitted_this_minute", 4},
                               {"waits_this_minute", 1},
                               {"admitted_last_minute", 9},
                               {"waits_last_minute", 2}}));
}

}  // namespace
}  // namespace steadfast::store
