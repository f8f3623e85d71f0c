// What a scheduler does about one cron schedule at one instant: pure (the
// schedule's stored state and Redis time are arguments), applied by
// store/scheduler.cpp through schedule_tick.lua.
#pragma once

#include <optional>
#include <vector>

#include "engine/cron.h"
#include "engine/due_ticks.h"
#include "engine/schedule_policy.h"

namespace steadfast::engine {

struct SchedulePlan {
  enum class Kind {
    nothing,  // no tick is due (or the schedule is paused): write nothing
    init,     // first sight of the schedule: record `new_last`, fire nothing
    tick,     // record `new_last` and start one run per `fire` (possibly none)
  } kind = Kind::nothing;
  std::vector<CronInstant> fire;  // oldest first
  // The oldest due tick not fired (missed: catch_up, or thinned by overlap);
  // the ticks from it up to fire.front() (or `new_last`) are skipped.
  std::optional<CronInstant> first_skipped;
  CronInstant new_last{};
  std::optional<CronInstant> next;  // the first tick after now; nullopt: none in kCronSearchYears
};

// `last`: the stored instant up to which the schedule's ticks were dealt with
// (nullopt: no state yet). The due ticks are those in (last, now], chosen by
// due_ticks(); when overlap is not `allow`, at most the newest of them fires
// (the runs of the others would overlap it at once). Throws as due_ticks().
[[nodiscard]] SchedulePlan plan_schedule(const CronExpression& cron, const date::time_zone* zone, CatchUp catch_up,
                                         Overlap overlap, std::optional<CronInstant> last, bool paused,
                                         CronInstant now);

}  // namespace steadfast::engine
