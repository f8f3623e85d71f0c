#include "engine/due_ticks.h"

#include <algorithm>
#include <stdexcept>

namespace steadfast::engine {

DueTicks due_ticks(const CronExpression& cron, const date::time_zone* zone, CronInstant last, CronInstant now,
                   CatchUp catch_up, std::size_t limit, std::chrono::milliseconds grace) {
  if (limit == 0) throw std::invalid_argument("due_ticks: limit must be at least 1");
  DueTicks due;
  due.next = next_tick(cron, zone, std::max(last, now));
  if (now <= last) return due;

  // Walk back from the newest due tick; the oldest due tick comes from the
  // front, so that an outage of a year of an every-second schedule costs as
  // much as a short one.
  const std::optional<CronInstant> newest = latest_tick(cron, zone, now);
  if (!newest || *newest <= last) return due;
  const std::optional<CronInstant> oldest = next_tick(cron, zone, last);

  switch (catch_up) {
    case CatchUp::none:
      if (now - *newest <= grace) due.fire.push_back(*newest);
      break;
    case CatchUp::one:
      due.fire.push_back(*newest);
      break;
    case CatchUp::all: {
      std::optional<CronInstant> tick = newest;
      while (tick && *tick > last && due.fire.size() < limit) {
        due.fire.push_back(*tick);
        tick = latest_tick(cron, zone, *tick - std::chrono::milliseconds{1});
      }
      std::reverse(due.fire.begin(), due.fire.end());
      break;
    }
  }
  if (oldest && (due.fire.empty() || *oldest < due.fire.front())) due.first_skipped = oldest;
  return due;
}

}  // namespace steadfast::engine
