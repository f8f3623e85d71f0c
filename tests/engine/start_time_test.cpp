// A submit's start time (CONTRACTS §3): delay or run_at, each refused with its field named.
#include "engine/start_time.h"

#include <gtest/gtest.h>

namespace steadfast::engine {
namespace {

using std::chrono::milliseconds;

// The field and message of the StartTimeError `f` throws; {"", ""} if none.
template <class F>
std::pair<std::string, std::string> refusal(F f) {
  try {
    f();
  } catch (const StartTimeError& e) {
    return {e.field, e.what()};
  }
  return {};
}

TEST(StartTime, NothingGivenStartsAtOnce) {
  const StartTime t = parse_start_time("", "");
  EXPECT_FALSE(t.deferred());
  EXPECT_EQ(t.fingerprint(), "");
}

TEST(StartTime, ADelayOrARunAt) {
  const StartTime d = parse_start_time("10m", "");
  EXPECT_EQ(d.delay, milliseconds(600'000));
  EXPECT_EQ(d.run_at_ms, 0);
  EXPECT_TRUE(d.deferred());
  EXPECT_EQ(d.fingerprint(), "delay:600000");

  const StartTime a = parse_start_time("", "2026-12-24T08:00:00Z");
  EXPECT_EQ(a.run_at_ms, 1'798'099'200'000);
  EXPECT_EQ(a.fingerprint(), "run_at:1798099200000");
  EXPECT_EQ(parse_start_time("", "2026-12-24T08:00:00.250+01:00").run_at_ms, 1'798'095'600'250);
}

TEST(StartTime, AZeroDelayStartsAtOnce) { EXPECT_FALSE(parse_start_time("0s", "").deferred()); }

TEST(StartTime, TheBoundsOfADelay) {
  EXPECT_EQ(parse_start_time("8760h", "").delay, kMaxScheduleAhead);  // 365 days: the edge is taken
  EXPECT_EQ(refusal([] { (void)parse_start_time("8761h", ""); }),
            std::make_pair(std::string("/delay"), std::string("delay 8761h is longer than 8760h (365 days)")));
  EXPECT_EQ(refusal([] { check_delay(milliseconds(-1)); }).first, "/delay");
  const auto negative = refusal([] { (void)parse_start_time("-5m", ""); });
  EXPECT_EQ(negative.first, "/delay");
  EXPECT_NE(negative.second.find("negative"), std::string::npos) << negative.second;
}

TEST(StartTime, BadInputNamesTheField) {
  const struct {
    const char* delay;
    const char* run_at;
    const char* field;
    const char* says;
  } cases[] = {
      {"10", "", "/delay", "delay: "},
      {"soon", "", "/delay", "delay: "},
      {"", "tomorrow", "/run_at", "run_at must be an RFC 3339 timestamp"},
      {"", "2026-13-01T00:00:00Z", "/run_at", "run_at must be an RFC 3339 timestamp"},
      {"10m", "2026-12-24T08:00:00Z", "/run_at", "give delay or run_at, not both"},
  };
  for (const auto& c : cases) {
    const auto [field, what] = refusal([&] { (void)parse_start_time(c.delay, c.run_at); });
    EXPECT_EQ(field, c.field) << c.delay << " | " << c.run_at;
    EXPECT_NE(what.find(c.says), std::string::npos) << what;
  }
}

TEST(StartTime, FromASubmitBody) {
  EXPECT_EQ(start_time_from_json(Json{{"input", 1}, {"delay", "2s"}}).delay, milliseconds(2000));
  EXPECT_FALSE(start_time_from_json(Json{{"input", 1}}).deferred());
  EXPECT_EQ(refusal([] { (void)start_time_from_json(Json{{"delay", 10}}); }).first, "/delay");
  EXPECT_EQ(refusal([] { (void)start_time_from_json(Json{{"run_at", 1798099200000}}); }).first, "/run_at");
  EXPECT_EQ(refusal([] { (void)start_time_from_json(Json{{"run_at", ""}}); }).first, "/run_at");
  EXPECT_EQ(refusal([] { (void)start_time_from_json(Json{{"delay", "1m"}, {"run_at", "2026-12-24T08:00:00Z"}}); })
                .first,
            "/run_at");
}

}  // namespace
}  // namespace steadfast::engine
