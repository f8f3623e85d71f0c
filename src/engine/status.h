// The status model every surface shows (../shared/CONTRACTS.md §1): a node's
// (step's) status, the run's status derived from its nodes by precedence, the
// run's current steps and a node's attempt history. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/lifecycle.h"
#include "steadfast/json.h"

namespace steadfast::engine {

// A node is a step, or one item of a map step.
enum class StepStatus {
  pending,    // its `needs` are not all finished
  queued,     // holds a token in a stream, not claimed yet
  running,    // claimed: admitted and executing, or being admitted
  waiting,    // parked outside every worker (see waiting_for.h)
  retrying,   // a failed attempt; the next one is due at a time
  completed,
  skipped,    // its `if` was false; output null
  failed,     // dead-lettered
  cancelled,  // the run was cancelled before it finished
};

[[nodiscard]] std::string_view to_string(StepStatus status) noexcept;
[[nodiscard]] std::optional<StepStatus> parse_step_status(std::string_view text) noexcept;
// completed, skipped, failed, cancelled.
[[nodiscard]] bool is_finished(StepStatus status) noexcept;

// How a run ended, if it did (the run hash's terminal status).
enum class RunEnd { not_ended, completed, failed, cancelled };

// The run's status: its end if it ended; else `scheduled` while it has a
// future run_at; else the first of running, queued, retrying that any node
// has; else waiting (nodes all pending, waiting or finished — between two
// steps, say).
[[nodiscard]] RunStatus derive_run_status(std::span<const StepStatus> nodes, RunEnd end,
                                          bool scheduled) noexcept;

struct NodeStatus {
  std::string name;  // the step's name ("<step>[<i>]" for a map item)
  StepStatus status = StepStatus::pending;
};

// The nodes the run is at: queued, running, waiting or retrying ones, in the
// order given (the workflow's order). Empty for a finished run.
[[nodiscard]] std::vector<std::string> current_steps(std::span<const NodeStatus> nodes);

// How one attempt ended, as its history shows it.
enum class AttemptOutcome {
  completed,  // output recorded (advance / complete_run)
  skipped,    // its `if` was false
  retrying,   // failed; another attempt is due
  released,   // handed back at a worker's shutdown; runs again at once
  failed,     // failed for good: dead-lettered
  cancelled,  // the run was cancelled meanwhile
};

[[nodiscard]] std::string_view to_string(AttemptOutcome outcome) noexcept;
// The outcome a transition records; nullopt for the actions that write no
// attempt (execute, discard, abandon).
[[nodiscard]] std::optional<AttemptOutcome> outcome_of(Action action) noexcept;

struct AttemptRecord {
  int attempt = 1;              // 1-based, as counted at claim
  std::string worker;           // the worker id that ran it
  std::int64_t started_at = 0;  // Unix ms (Redis TIME)
  std::int64_t finished_at = 0;
  AttemptOutcome outcome = AttemptOutcome::completed;
  std::string error;            // ignored for completed and skipped
};

inline constexpr std::size_t kMaxAttemptHistory = 20;

// {"attempt", "worker", "started_at", "finished_at" (RFC 3339 ms), "outcome",
// "error"}; no "error" for completed and skipped.
[[nodiscard]] Json to_json(const AttemptRecord& record);

// `history` (a JSON array, or null for none) with `record` appended, keeping
// the newest kMaxAttemptHistory entries. Throws std::invalid_argument if
// `history` is neither an array nor null.
[[nodiscard]] Json append_attempt(Json history, const AttemptRecord& record);

}  // namespace steadfast::engine
