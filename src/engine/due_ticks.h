// Which ticks of a cron schedule to fire now: the catch-up decision, pure
// (the clock and the last fired tick are arguments).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "engine/cron.h"
#include "engine/schedule_policy.h"

namespace steadfast::engine {

// A tick is on time while it is at most this old; an older due tick is late
// (missed). Covers a scheduler that wakes a little after the tick it slept
// for, or polls every few seconds.
inline constexpr std::chrono::milliseconds kCronOnTimeGrace{60'000};

// The bound of catch_up: all.
inline constexpr std::size_t kCronCatchUpLimit = 100;

struct DueTicks {
  std::vector<CronInstant> fire;  // the ticks to fire now, oldest first; each is one run
  // The oldest due tick not fired, if any: the skipped ticks are the due
  // ticks from it up to fire.front() (or up to `now` when fire is empty).
  std::optional<CronInstant> first_skipped;
  // The first tick after max(now, last): when to call again. nullopt: the
  // expression has no tick in the next kCronSearchYears.
  std::optional<CronInstant> next;
};

// The due ticks are those in (last, now]. `last` is the instant up to which
// ticks have been dealt with: the schedule's creation time at first, then
// the `now` of the previous call once its ticks were fired (storing the
// last fired tick instead also works, but reports the same skipped ticks
// again on the next call). Of the due ticks:
//  * none: the newest fires if it is on time (now - tick <= grace); every
//    other due tick is skipped. A scheduler back after an outage fires
//    nothing for the past and resumes at `next`.
//  * one:  the newest fires, late or not; the older ones are skipped.
//  * all:  every one fires, oldest first; beyond `limit` (>= 1) the oldest
//    are skipped, so the newest `limit` fire.
// Nothing is due when now <= last (a clock that went back fires nothing
// twice). Throws std::invalid_argument for a limit of 0, and std::out_of_range
// as next_tick() does.
[[nodiscard]] DueTicks due_ticks(const CronExpression& cron, const date::time_zone* zone, CronInstant last,
                                 CronInstant now, CatchUp catch_up, std::size_t limit = kCronCatchUpLimit,
                                 std::chrono::milliseconds grace = kCronOnTimeGrace);

}  // namespace steadfast::engine
