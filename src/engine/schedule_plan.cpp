#include "engine/schedule_plan.h"

namespace steadfast::engine {

SchedulePlan plan_schedule(const CronExpression& cron, const date::time_zone* zone, CatchUp catch_up,
                           Overlap overlap, std::optional<CronInstant> last, bool paused, CronInstant now) {
  SchedulePlan plan;
  plan.new_last = now;
  if (!last || paused) {
    plan.kind = last ? SchedulePlan::Kind::nothing : SchedulePlan::Kind::init;
    plan.next = next_tick(cron, zone, now);
    return plan;
  }
  DueTicks due = due_ticks(cron, zone, *last, now, catch_up);
  plan.next = due.next;
  if (due.fire.empty() && !due.first_skipped) return plan;
  plan.kind = SchedulePlan::Kind::tick;
  plan.first_skipped = due.first_skipped;
  if (overlap != Overlap::allow && due.fire.size() > 1) {
    if (!plan.first_skipped) plan.first_skipped = due.fire.front();
    due.fire.erase(due.fire.begin(), due.fire.end() - 1);
  }
  plan.fire = std::move(due.fire);
  return plan;
}

}  // namespace steadfast::engine
