// What a run looks like from outside: `steadfast status --json`, Client::get_run.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "steadfast/json.h"

namespace steadfast {

struct StepInfo {
  std::string name;
  // The steps that must finish before it starts: for a run whose steps run
  // one after another, the step before it ({} for the first).
  std::vector<std::string> needs;
  // pending (not reached yet), waiting (its run is scheduled: waiting_for), queued,
  // running, retrying, completed, failed, cancelled
  std::string status = "pending";
  int attempts = 0;   // attempts so far, counted at claim
  Json output;        // null until completed
  // The latest error; empty if none, and once the step completed (the
  // failures before live on in `errors` and `attempt_history`).
  std::string error;
  // Redis time, Unix ms; 0 = not yet. started: its first attempt's claim;
  // finished: when it completed, failed or was cancelled.
  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;
  std::string worker;  // the worker of its latest attempt; "" = none yet
  Json errors = Json::array();  // history: [{attempt, error, started_at, failed_at}] (ms)
  // The handler's last StepContext::heartbeat: progress 0..1 (nullopt = none
  // given) and message ("" = none).
  std::optional<double> progress;
  std::string message;
  // The finished attempts, oldest first, at most 20: [{"attempt", "worker",
  // "started_at", "finished_at", "outcome", "error"}] (no "error" for completed).
  Json attempt_history = Json::array();
  // null, or what the step waits for: {"kind": "retry", "until": "<RFC 3339>"},
  // or {"kind": "no_worker", "until": null, "queue": "<queue>"} (no live
  // worker serving its queue has its handler).
  Json waiting_for;
  // A map step once its list is known, else null: {"total", "completed",
  // "failed", "running", "waiting" (the rest: not started yet, queued,
  // retrying, parked, cancelled), "max_parallel"}. The items themselves:
  // Client::map_items, GET /v1/runs/{id}/steps/{step}/items.
  Json items;
  // A child workflow step (ChildSpec): the id of the child run it started;
  // "" = none (yet, or another kind of step). A map of child workflows
  // lists its items' children in Client::map_items.
  std::string child;
};

struct RunInfo {
  std::string id;
  std::string workflow;
  // scheduled | queued | running | retrying | completed | failed | cancelled
  // (scheduled = submitted with a delay or run_at, not started yet; failed =
  // in the dead-letter queue; a replay restarts it)
  std::string status;
  std::int64_t created_at_ms = 0;  // Redis time, Unix ms
  std::int64_t updated_at_ms = 0;
  // When a run submitted with a delay or run_at starts (or started), Unix ms
  // (Redis time); 0 = it started at once.
  std::int64_t run_at_ms = 0;
  // When the run fails with "deadline exceeded" unless it ended before
  // (Workflow::deadline), Unix ms (Redis time); 0 = no deadline.
  std::int64_t deadline_at_ms = 0;
  Json input;
  // The submitter's metadata pairs (SubmitOptions::metadata); empty = none.
  std::map<std::string, std::string> metadata;
  std::vector<StepInfo> steps;  // in workflow order
  // The steps the run is at (queued, running, waiting or retrying), in
  // workflow order; empty once finished.
  std::vector<std::string> current_steps;
  // The soonest of its steps' waiting_for; null when none waits.
  Json waiting_for;
  // A rerun (Client::rerun): the run it was made from and the first step it
  // ran again; both empty for a submitted run.
  std::string rerun_of;
  std::string rerun_from;
  // A child run (ChildSpec): the run whose step started it, and that step
  // ("step", or "step[k]" for item k of a map step); both empty otherwise.
  std::string parent;
  std::string parent_step;
  // 0 (lowest) to 9 (highest): SubmitOptions::priority.
  int priority = 5;
};

// {"id","workflow","status","created_at","updated_at","run_at" (null unless delayed),
//  "deadline_at" (null without a deadline),"input","metadata","current_steps","waiting_for",
//  "rerun_of","rerun_from" (null unless a rerun), "parent": null or {"run_id","step"} (a child run),
//  "priority" (0-9),
//  "steps":[{"name","status","attempts","started_at","finished_at","worker","output","error",
//  "errors","progress","message","attempt_history","waiting_for","items","child" (null unless a
//  child workflow step started one)}]} (started_at, finished_at,
//  worker: null when not yet) with times as RFC 3339 UTC ("2026-11-27T22:40:01.123Z").
[[nodiscard]] Json to_json(const RunInfo& run);

[[nodiscard]] bool is_terminal_status(std::string_view status) noexcept;

struct DeadLetter {
  std::string id;  // the dead-letter entry id (use it to replay)
  std::string run_id;
  std::string workflow;
  std::string step;
  int attempts = 0;
  std::string error;
  Json errors = Json::array();
  std::int64_t at_ms = 0;
};

[[nodiscard]] Json to_json(const DeadLetter& entry);

// One item of a map step (Client::map_items).
struct MapItemInfo {
  std::int64_t index = 0;
  // pending (not started yet), queued, running, retrying, waiting,
  // completed, failed, cancelled
  std::string status = "pending";
  int attempts = 0;
  Json output;        // null until completed (and for a failed item)
  std::string error;  // the latest failure's; empty once completed
  std::string child;  // a map of child workflows: the item's child run id ("" = none)
};

// A page of a map step's items, in index order.
struct MapItemsPage {
  std::int64_t total = 0;   // the step's items
  std::int64_t offset = 0;  // the first index asked for
  std::vector<MapItemInfo> items;
};

// {"total", "offset", "items": [{"index", "status", "attempts", "output", "error" (null if none),
//  "child" (null unless the item started a child run)}]}
[[nodiscard]] Json to_json(const MapItemsPage& page);

// The most items one page holds.
inline constexpr std::int64_t kMaxItemsPage = 1000;

}  // namespace steadfast
