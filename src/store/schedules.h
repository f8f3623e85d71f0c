// Cron schedules in Redis: their published definitions (sf:{sf}:schedules,
// written by whoever loads a workflows file), their state (one hash per
// schedule in its own partition: store/keys.h), and the transitions on it —
// firing ticks (schedule_tick.lua), pausing and resuming
// (schedule_pause.lua), an operator's extra run. store/scheduler.h decides
// when to fire; this file only reads and writes.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/cron.h"
#include "engine/schedule_policy.h"
#include "steadfast/json.h"
#include "steadfast/schedule.h"
#include "store/store.h"

namespace steadfast::store {

// A schedule as published: what the file says, nothing derived.
struct ScheduleDefinition {
  std::string name;      // ^[A-Za-z0-9_-]{1,64}$
  std::string workflow;
  std::string cron;      // the expression as written
  std::string timezone = "UTC";
  Json input = Json::object();
  engine::CatchUp catch_up = engine::CatchUp::none;
  engine::Overlap overlap = engine::Overlap::allow;
};

// A schedule as given (the file, WorkerOptions), checked: its name, the cron
// expression, the zone, catch_up and overlap; throws std::invalid_argument
// naming the schedule and what is wrong.
[[nodiscard]] ScheduleDefinition schedule_definition_of(const steadfast::Schedule& schedule);

// {"workflow", "cron", "timezone", "input", "catch_up", "overlap"}.
[[nodiscard]] Json to_json(const ScheduleDefinition& definition);
// The inverse; throws std::invalid_argument naming what is missing or wrong
// (a definition written by a newer version, say). Does not parse the cron
// expression or look up the zone.
[[nodiscard]] ScheduleDefinition schedule_definition_from_json(std::string name, const Json& json);

// A schedule's state as stored; every time is Redis Unix ms, 0 = never.
struct ScheduleState {
  std::optional<std::int64_t> last;  // ticks up to here are dealt with; nullopt: no scheduler saw it yet
  bool paused = false;
  std::int64_t paused_at = 0;
  std::string last_run;              // the run of the newest tick or trigger; "" = none
  std::int64_t last_tick = 0;        // the newest tick fired
  std::int64_t last_trigger = 0;     // the newest operator trigger
  std::int64_t fired = 0;            // runs started by ticks
  std::int64_t triggered = 0;        // runs started by triggers
  std::int64_t overlap_skipped = 0;  // ticks (and triggers) skipped: the previous run was live (overlap: skip)
};

struct Schedule {
  ScheduleDefinition definition;
  ScheduleState state;
};

// Replaces the published schedules of `file_workflows` (the names a workflows
// file defines) by `schedules` (each naming one of them): one script, so a
// scheduler never sees half a file. Schedules of other workflows are kept.
// Returns how many were removed.
boost::asio::awaitable<std::size_t> publish_schedules(Store& store, const std::vector<ScheduleDefinition>& schedules,
                                                      const std::vector<std::string>& file_workflows);

// Every published schedule with its state, by name. A definition that does
// not parse is skipped with a warning in the log.
boost::asio::awaitable<std::vector<Schedule>> list_schedules(Store& store);
// One schedule; nullopt when none is published under `name`.
boost::asio::awaitable<std::optional<Schedule>> find_schedule(Store& store, const std::string& name);

// The states of `names` (one pipeline).
boost::asio::awaitable<std::vector<ScheduleState>> read_schedule_states(Store& store,
                                                                        const std::vector<std::string>& names);

enum class ScheduleChange { changed, unchanged, missing };
// Pausing keeps every tick from firing until resumed; resuming skips the
// ticks that passed meanwhile. `missing`: no schedule published by that name.
boost::asio::awaitable<ScheduleChange> pause_schedule(Store& store, const std::string& name);
boost::asio::awaitable<ScheduleChange> resume_schedule(Store& store, const std::string& name);

// One call of schedule_tick.lua.
struct TickRequest {
  enum class Mode { tick, init, trigger } mode = Mode::tick;
  const ScheduleDefinition* definition = nullptr;
  const ScheduleState* read = nullptr;  // the state the decision was made on (the fence)
  std::int64_t new_last = 0;            // Redis ms (tick, init)
  std::vector<std::int64_t> ticks;      // Redis ms, oldest first: one run each (trigger: the one instant)
};

struct TickResult {
  enum class Outcome {
    fired,        // run_ids: one per tick (possibly none: missed ticks skipped)
    initialized,
    skipped,      // overlap skip: the previous run is live
    paused,
    stale,        // the state changed since it was read: another scheduler or an operator acted
    no_workflow,  // the workflow is not registered (no worker started with it yet): nothing written
  } outcome = Outcome::fired;
  std::vector<std::string> run_ids;
};

// Throws what the client throws; an error reply as redis::ServerError.
boost::asio::awaitable<TickResult> apply_tick(Store& store, const TickRequest& request);

// An operator's extra run of the schedule now (POST .../trigger): paused or
// not, honouring overlap (cancel_previous cancels the live run first; skip
// starts nothing while it is live). nullopt: no such schedule.
boost::asio::awaitable<std::optional<TickResult>> trigger_schedule(Store& store, const std::string& name,
                                                                   std::chrono::milliseconds retention);

// How many upcoming ticks a schedule's JSON shows.
inline constexpr int kShownTicks = 5;

// A schedule as the API and the CLI show it (times RFC 3339, Redis time):
// {"name", "workflow", "cron", "timezone", "input", "catch_up", "overlap",
//  "paused", "paused_at", "next_ticks": [...], "last_tick", "last_run",
//  "last_trigger", "runs_started", "triggered", "overlap_skipped"} — null for
// a time or run that never was; next_ticks empty when the expression has no
// tick ahead or does not parse here ("error" then says why).
[[nodiscard]] Json to_json(const Schedule& schedule, std::int64_t now_ms);

// Redis TIME in Unix ms: the schedulers' clock.
boost::asio::awaitable<std::int64_t> redis_now_ms(Store& store);
// A TIME reply as Unix ms (0 for a malformed one): for a TIME sent in a pipeline.
[[nodiscard]] std::int64_t time_reply_ms(const redis::Reply& time);

// The metadata of a tick's run: {"schedule": name, "tick": RFC 3339 of tick_ms}
// (a trigger's: "trigger" instead of "tick").
[[nodiscard]] engine::RunMetadata tick_metadata(const std::string& schedule, std::int64_t tick_ms, bool trigger);

}  // namespace steadfast::store
