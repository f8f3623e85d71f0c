// The scheduler's decision for one schedule at one instant (plan_schedule):
// first sight, paused, nothing due, on-time and late ticks under each
// catch_up, and overlap thinning a catch-up to its newest tick (unit).
#include "engine/schedule_plan.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "engine/rfc3339.h"
#include "engine/time_zone.h"

namespace steadfast::engine {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-12-03 at h:m:s.ms UTC.
CronInstant at(int h, int m, int s = 0, int ms = 0) {
  return date::sys_days{date::year{2026} / 12 / 3} + hours{h} + minutes{m} + seconds{s} + milliseconds{ms};
}

std::string iso(std::optional<CronInstant> t) { return t ? rfc3339_ms(t->time_since_epoch().count()) : "none"; }

std::vector<std::string> isos(const std::vector<CronInstant>& ticks) {
  std::vector<std::string> out;
  for (CronInstant t : ticks) out.push_back(iso(t));
  return out;
}

const date::time_zone* utc() { return locate_time_zone("UTC"); }

struct Case {
  std::string name;
  std::string cron;
  CatchUp catch_up;
  Overlap overlap;
  std::optional<CronInstant> last;
  bool paused;
  CronInstant now;
  SchedulePlan::Kind kind;
  std::vector<std::string> fire;
  std::string first_skipped;
  std::string next;
};

TEST(SchedulePlan, DecidesFromTheStoredLastAndRedisTime) {
  using K = SchedulePlan::Kind;
  const std::vector<Case> cases = {
      {"first sight records now and fires nothing", "0 * * * *", CatchUp::all, Overlap::allow, std::nullopt, false,
       at(10, 30), K::init, {}, "none", "2026-12-03T11:00:00.000Z"},
      {"first sight while paused still records now", "0 * * * *", CatchUp::none, Overlap::allow, std::nullopt, true,
       at(10, 30), K::init, {}, "none", "2026-12-03T11:00:00.000Z"},
      {"nothing due writes nothing", "0 * * * *", CatchUp::none, Overlap::allow, at(10, 0, 0, 400), false,
       at(10, 59, 59, 999), K::nothing, {}, "none", "2026-12-03T11:00:00.000Z"},
      {"the tick on time fires", "0 * * * *", CatchUp::none, Overlap::allow, at(10, 0, 0, 400), false,
       at(11, 0, 0, 300), K::tick, {"2026-12-03T11:00:00.000Z"}, "none", "2026-12-03T12:00:00.000Z"},
      {"paused: nothing, even with ticks due", "0 * * * *", CatchUp::all, Overlap::allow, at(8, 0), true, at(11, 0, 1),
       K::nothing, {}, "none", "2026-12-03T12:00:00.000Z"},
      {"catch_up none after an outage: advances past the missed ticks, fires none", "0 * * * *", CatchUp::none,
       Overlap::allow, at(7, 30), false, at(10, 30), K::tick, {}, "2026-12-03T08:00:00.000Z",
       "2026-12-03T11:00:00.000Z"},
      {"catch_up one: the newest missed tick", "0 * * * *", CatchUp::one, Overlap::allow, at(7, 30), false, at(10, 30),
       K::tick, {"2026-12-03T10:00:00.000Z"}, "2026-12-03T08:00:00.000Z", "2026-12-03T11:00:00.000Z"},
      {"catch_up all: every missed tick, oldest first", "0 * * * *", CatchUp::all, Overlap::allow, at(7, 30), false,
       at(10, 30), K::tick, {"2026-12-03T08:00:00.000Z", "2026-12-03T09:00:00.000Z", "2026-12-03T10:00:00.000Z"}, "none",
       "2026-12-03T11:00:00.000Z"},
      {"catch_up all with overlap skip: the newest only", "0 * * * *", CatchUp::all, Overlap::skip, at(7, 30), false,
       at(10, 30), K::tick, {"2026-12-03T10:00:00.000Z"}, "2026-12-03T08:00:00.000Z", "2026-12-03T11:00:00.000Z"},
      {"catch_up all with cancel_previous: the newest only", "0 * * * *", CatchUp::all, Overlap::cancel_previous,
       at(7, 30), false, at(10, 30), K::tick, {"2026-12-03T10:00:00.000Z"}, "2026-12-03T08:00:00.000Z",
       "2026-12-03T11:00:00.000Z"},
      {"every second: one tick per pass", "* * * * * *", CatchUp::none, Overlap::allow, at(10, 0, 4, 20), false,
       at(10, 0, 5, 3), K::tick, {"2026-12-03T10:00:05.000Z"}, "none", "2026-12-03T10:00:06.000Z"},
      {"a clock that went back fires nothing", "* * * * * *", CatchUp::all, Overlap::allow, at(10, 0, 5), false,
       at(10, 0, 3), K::nothing, {}, "none", "2026-12-03T10:00:06.000Z"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const SchedulePlan plan =
        plan_schedule(parse_cron(c.cron), utc(), c.catch_up, c.overlap, c.last, c.paused, c.now);
    EXPECT_EQ(plan.kind, c.kind);
    EXPECT_EQ(isos(plan.fire), c.fire);
    EXPECT_EQ(iso(plan.first_skipped), c.first_skipped);
    EXPECT_EQ(iso(plan.next), c.next);
    EXPECT_EQ(plan.new_last, c.now);
  }
}

}  // namespace
}  // namespace steadfast::engine
