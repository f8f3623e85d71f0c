#include "store/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/rfc3339.h"
#include "engine/schedule_plan.h"
#include "engine/time_zone.h"
#include "redis/checked.h"
#include "redis/pipeline.h"

namespace steadfast::store {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

engine::CronInstant instant(std::int64_t ms) { return engine::CronInstant{milliseconds(ms)}; }
std::int64_t ms_of(engine::CronInstant t) { return t.time_since_epoch().count(); }

}  // namespace

Scheduler::Scheduler(Store& store, SchedulerOptions options) : store_(store), options_(std::move(options)) {}

const Scheduler::Parsed* Scheduler::parsed(const std::string& name, const std::string& text) {
  if (auto it = cache_.find(name); it != cache_.end() && it->second.text == text) return &it->second;
  if (auto it = unusable_.find(name); it != unusable_.end() && it->second == text) return nullptr;
  try {
    Parsed p;
    p.text = text;
    p.definition = schedule_definition_from_json(name, Json::parse(text));
    p.cron = engine::parse_cron(p.definition.cron);
    p.zone = engine::locate_time_zone(p.definition.timezone);
    unusable_.erase(name);
    return &(cache_[name] = std::move(p));
  } catch (const std::exception& e) {
    spdlog::warn("{}: schedule {} cannot be fired by this process: {}", options_.who, name, e.what());
    cache_.erase(name);
    unusable_[name] = text;
    return nullptr;
  }
}

// Logs a line about a schedule unless it is the one logged last for it: a
// condition that lasts (no workflow registered) is said once, not per pass.
void Scheduler::note(const std::string& name, const std::string& line, bool warning) {
  std::string& last = last_note_[name];
  if (last == line) return;
  last = line;
  if (warning) {
    spdlog::warn("{}: schedule {}: {}", options_.who, name, line);
  } else {
    spdlog::info("{}: schedule {}: {}", options_.who, name, line);
  }
}

asio::awaitable<milliseconds> Scheduler::pass() {
  redis::Pipeline p;
  p.add("HGETALL", store_.keys().schedules());
  p.add("TIME");
  const std::vector<redis::Reply> r = co_await store_.client().exec(std::move(p));
  const redis::Reply& all = redis::checked(r[0]);
  std::vector<const Parsed*> schedules;
  std::vector<std::string> names;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
    const std::string name(all[i].str());
    if (const Parsed* s = parsed(name, std::string(all[i + 1].str()))) {
      schedules.push_back(s);
      names.push_back(name);
    }
  }
  milliseconds wait = kSchedulerPoll;
  if (schedules.empty()) co_return wait;
  const std::vector<ScheduleState> states = co_await read_schedule_states(store_, names);
  const std::int64_t now_ms = time_reply_ms(redis::checked(r[1]));
  const engine::CronInstant now = instant(now_ms);

  for (std::size_t i = 0; i < schedules.size(); ++i) {
    const Parsed& s = *schedules[i];
    const ScheduleState& state = states[i];
    const std::string& name = s.definition.name;
    engine::SchedulePlan plan;
    try {
      plan = engine::plan_schedule(s.cron, s.zone, s.definition.catch_up, s.definition.overlap,
                                   state.last ? std::optional(instant(*state.last)) : std::nullopt, state.paused, now);
    } catch (const std::exception& e) {
      note(name, std::string("cannot compute its ticks: ") + e.what(), true);
      continue;
    }
    if (plan.next) wait = std::min(wait, std::max(milliseconds(1), plan.next->time_since_epoch() - milliseconds(now_ms)));
    if (plan.kind == engine::SchedulePlan::Kind::nothing) continue;

    TickRequest request;
    request.definition = &s.definition;
    request.read = &state;
    request.new_last = ms_of(plan.new_last);
    request.mode = plan.kind == engine::SchedulePlan::Kind::init ? TickRequest::Mode::init : TickRequest::Mode::tick;
    for (engine::CronInstant t : plan.fire) request.ticks.push_back(ms_of(t));
    if (s.definition.overlap == engine::Overlap::cancel_previous && !plan.fire.empty() && !state.last_run.empty()) {
      // Before the tick's own script: if this process dies in between, the
      // next scheduler cancels (a no-op now) and fires the tick.
      co_await store_.cancel(state.last_run, options_.retention);
    }
    const TickResult result = co_await apply_tick(store_, request);
    using O = TickResult::Outcome;
    switch (result.outcome) {
      case O::fired:
        for (std::size_t t = 0; t < result.run_ids.size(); ++t) {
          note(name, "tick " + engine::rfc3339_ms(request.ticks[t]) + " started run " + result.run_ids[t], false);
        }
        if (plan.first_skipped) {
          const std::int64_t until = plan.fire.empty() ? request.new_last : request.ticks.front();
          note(name,
               "missed the ticks from " + engine::rfc3339_ms(ms_of(*plan.first_skipped)) + " to before " +
                   engine::rfc3339_ms(until) + " (catch_up " + std::string(engine::to_string(s.definition.catch_up)) +
                   ", overlap " + std::string(engine::to_string(s.definition.overlap)) + "): not started",
               true);
        }
        break;
      case O::skipped:
        note(name, "tick " + engine::rfc3339_ms(request.ticks.empty() ? request.new_last : request.ticks.back()) +
                       " skipped: the previous run " + state.last_run + " is still live (overlap skip)",
             false);
        break;
      case O::no_workflow:
        note(name, "workflow " + s.definition.workflow + " is not registered (no worker has started with it): "
                   "its ticks wait",
             true);
        break;
      case O::initialized:
      case O::paused:
      case O::stale:  // another scheduler was first: that is the point
        break;
    }
  }
  co_return wait;
}

}  // namespace steadfast::store
