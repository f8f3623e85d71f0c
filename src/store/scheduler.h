// The cron scheduler: every worker and every `serve` runs one, and any
// number may run at once — a tick's run is created by schedule_tick.lua,
// fenced by the schedule's stored `last`, so each tick makes exactly one run
// however many schedulers race for it (kill any of them at any time).
// Thread-compatible: one coroutine calls pass() at a time.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <string>

#include "engine/cron.h"
#include "store/schedules.h"
#include "store/store.h"

namespace steadfast::store {

// How often a scheduler looks at the published schedules at least: a new,
// changed, paused or resumed schedule takes effect within this.
inline constexpr std::chrono::milliseconds kSchedulerPoll{1000};

struct SchedulerOptions {
  std::string who;  // names this scheduler in log lines: "worker w1", "api"
  // The retention of a run cancelled by overlap: cancel_previous.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
};

class Scheduler {
 public:
  Scheduler(Store& store, SchedulerOptions options);

  // One pass over every published schedule (Redis time): records the ones
  // seen for the first time, fires the due ticks of the others. Returns how
  // long to wait before the next pass: until the next tick of any schedule,
  // at most kSchedulerPoll, at least 1 ms. Throws what the Redis client throws.
  boost::asio::awaitable<std::chrono::milliseconds> pass();

 private:
  struct Parsed {
    std::string text;  // the published JSON this was parsed from
    ScheduleDefinition definition;
    engine::CronExpression cron;
    const date::time_zone* zone = nullptr;
  };
  // nullptr for a definition that does not parse here (logged once per text).
  const Parsed* parsed(const std::string& name, const std::string& text);
  void note(const std::string& name, const std::string& line, bool warning);

  Store& store_;
  SchedulerOptions options_;
  std::map<std::string, Parsed> cache_;
  std::map<std::string, std::string> unusable_;  // name -> the text that failed
  std::map<std::string, std::string> last_note_;  // name -> the last line logged, said once
};

}  // namespace steadfast::store
