// The YAML workflows file: parsing (text -> specs, every error with file, line
// and key) and building (specs -> Workflow objects, through the step kinds).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/cron.h"
#include "engine/schedule_policy.h"
#include "steadfast/json.h"
#include "steadfast/queue_order.h"
#include "steadfast/schedule.h"
#include "steadfast/workflow.h"
#include "steps/kind_registry.h"

namespace steadfast::config {

// what() = "FILE:LINE: key 'x': what is wrong" (LINE is 1-based).
class ConfigError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// Bounds on what one file may declare.
inline constexpr std::size_t kMaxWorkflows = 1000;
inline constexpr std::size_t kMaxStepsPerWorkflow = 100;
inline constexpr std::size_t kMaxSchedules = 1000;
inline constexpr std::size_t kMaxFileBytes = std::size_t{16} << 20;
// Nesting depth and total node count of the YAML turned into JSON (`with`,
// `input_schema`, `limits`): aliases can make a small file expand enormously.
inline constexpr int kMaxJsonDepth = 64;
inline constexpr std::size_t kMaxJsonNodes = 1'000'000;

// "250ms", "5s", "2m", "1h", "1.5s", "0s": digits, an optional fraction, a
// unit (ms, s, m, h), nothing else. The result must be a whole number of
// milliseconds. Throws std::invalid_argument naming the text for a bare
// number, a negative value, an unknown unit or an overflow.
[[nodiscard]] std::chrono::milliseconds parse_duration(std::string_view text);

struct StepSpec {
  std::string name;
  std::string kind;
  Json with;  // always an object; {} when absent
  StepOptions options;
  int line = 0;       // of the step (its first key)
  int kind_line = 0;  // of its `kind:` key
  int with_line = 0;  // of its `with:` key; 0 when absent
  int limit_line = 0; // of its `limit:` key; 0 when absent
  int queue_line = 0; // of its `queue:` key; 0 when absent (the default queue)
  // `needs: [a, b]` (nullopt when absent: the step before it); its line.
  std::optional<std::vector<std::string>> needs;
  int needs_line = 0;
  // `if: "{{...}}"` (Workflow::only_if; empty when absent); its line.
  std::string condition;
  int if_line = 0;
  // `map: {over, max_parallel, on_item_failure, max_items, max_output_bytes}` (Workflow::map;
  // nullopt when absent); its line.
  std::optional<MapSpec> map;
  int map_line = 0;
};

struct WorkflowSpec {
  std::string name;
  std::vector<StepSpec> steps;
  Json input_schema;  // null if absent
  std::size_t max_input_bytes = kMaxInputBytes;  // `max_input_bytes`, 1 to 1 MiB
  std::chrono::milliseconds deadline{0};  // `deadline` (Workflow::deadline); 0 = none
  int line = 0;       // of the workflow's name
};

// One entry of the top-level `schedules:` map: start `workflow` with `input`
// at every tick of `cron` in `timezone`.
//   nightly-digest: {workflow: digest, cron: "0 3 * * *", timezone: Europe/Berlin,
//                    input: {scope: all}, catch_up: one, overlap: skip}
// Only `workflow` and `cron` are required; the defaults are plain cron's: UTC,
// input {}, catch_up none (a missed tick is gone), overlap allow.
struct ScheduleSpec {
  std::string name;
  std::string workflow;  // declared in the same file
  engine::CronExpression cron;
  std::string timezone = "UTC";               // the IANA name as written
  const date::time_zone* zone = nullptr;      // it, from the system tz database; never null once parsed
  Json input = Json::object();                // an object; checked against the workflow's input_schema
  engine::CatchUp catch_up = engine::CatchUp::none;
  engine::Overlap overlap = engine::Overlap::allow;
  int line = 0;  // of the schedule's name
};

struct WorkflowsFile {
  std::string path;
  std::vector<WorkflowSpec> workflows;  // in file order
  Json limits;  // the raw `limits:` map, null if absent
  std::vector<LimitSpec> limiters;  // `limits:` parsed, in file order
  // `queues: {name: {max_backlog: N}}`: submits to a queue holding N entries
  // are refused (load shedding). Absent = no bound.
  std::map<std::string, std::int64_t> max_backlog;
  // `queues: {name: {priorities: true}}` or `{fairness: {key: TEMPLATE,
  // weights: {value: N}}}`, with an optional `aging: DURATION` (default 5m;
  // 0 = never): the queue hands out steps by priority, then fairly among
  // the key's values (include/steadfast/queue_order.h). Absent = FIFO.
  std::map<std::string, QueueOrder> queue_order;
  std::vector<ScheduleSpec> schedules;  // `schedules:`, in file order; empty if absent
};

// Throws ConfigError for malformed YAML, an unknown key at any level, a
// missing or malformed value, a duplicate or invalid name, an empty steps
// list, or more than the bounds above; for a schedule also an undeclared
// workflow, a bad cron expression, an unknown time zone, a catch_up or
// overlap value that is not one of theirs, or an input its workflow's
// input_schema refuses (each naming the key and the value).
[[nodiscard]] WorkflowsFile parse_workflows(std::string_view yaml_text,
                                            std::string_view path_for_errors);

// Reads and parses `path`; a missing or unreadable file, or one over
// kMaxFileBytes, is a ConfigError naming it.
[[nodiscard]] WorkflowsFile load_workflows_file(const std::string& path);

// Binds each step's kind to a handler via the registry; an unknown kind or bad
// `with` is a ConfigError with file:line.
[[nodiscard]] std::vector<Workflow> build_workflows(const WorkflowsFile& file,
                                                    const steps::KindRegistry& kinds);

// The file's `schedules:` as WorkerOptions::schedules takes them (the
// parsed cron expression and zone are checked again there).
[[nodiscard]] std::vector<Schedule> build_schedules(const WorkflowsFile& file);

// A canonical JSON description (keys sorted, durations in ms), the same for
// equal specs — used to register workflows in Redis:
//   {"name", "input_schema", "steps": [{"name", "kind", "with", "options":
//     {"queue", "timeout_ms", "lease_ms", "retry": {"max_attempts", "backoff":
//       {"initial_ms", "multiplier", "max_ms", "full_jitter"}}}}]}
[[nodiscard]] Json to_json(const WorkflowSpec& spec);

}  // namespace steadfast::config
