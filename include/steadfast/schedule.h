// A cron schedule: start `workflow` with `input` at every tick of `cron` in
// `timezone`. The workflows file's `schedules:` section, or
// WorkerOptions::schedules for a worker built in C++.
#pragma once

#include <string>

#include "steadfast/json.h"

namespace steadfast {

struct Schedule {
  std::string name;      // ^[A-Za-z0-9_-]{1,64}$
  std::string workflow;  // one of the worker's workflows
  // Five fields (minute hour day-of-month month day-of-week), an optional
  // leading seconds field, or a macro (@hourly, @daily, ...).
  std::string cron;
  std::string timezone = "UTC";  // an IANA zone name
  Json input = Json::object();
  // Ticks missed while nothing ran the scheduler: "none" (only an on-time
  // tick fires), "one" (the newest fires), "all" (every one, at most 100).
  std::string catch_up = "none";
  // A tick while the previous tick's run is live: "allow", "skip" or
  // "cancel_previous".
  std::string overlap = "allow";
};

}  // namespace steadfast
