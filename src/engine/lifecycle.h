// The run/step lifecycle as pure decisions: no I/O, no clock, no randomness
// inside (the caller passes a jitter sample). The worker acts on a Decision
// with one Lua script; the tests exercise every branch without Redis.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "steadfast/workflow.h"

namespace steadfast::engine {

// A run's status (../shared/CONTRACTS.md §1; engine/status.h derives it from
// its nodes). `scheduled`: a future run_at; `waiting`: every unfinished node is
// parked outside the workers (engine/waiting_for.h says on what).
enum class RunStatus { scheduled, queued, running, waiting, retrying, completed, failed, cancelled };

[[nodiscard]] std::string_view to_string(RunStatus status) noexcept;
[[nodiscard]] std::optional<RunStatus> parse_run_status(std::string_view text) noexcept;
// completed, failed (dead-lettered) and cancelled; `failed` can still be replayed.
[[nodiscard]] bool is_terminal(RunStatus status) noexcept;

// How one attempt ended, as the worker observed it.
enum class AttemptEnd {
  succeeded,        // the handler returned an output
  retryable_error,  // StepError::retryable, or the handler threw
  fatal_error,      // StepError::fatal
  rate_limited,     // StepError::rate_limited
  timed_out,        // ran past the step's timeout
  interrupted,      // the worker shut down past its drain timeout while it ran
  lease_lost,       // another worker owns the step now (renewal failed)
};

struct AttemptReport {
  AttemptEnd end = AttemptEnd::succeeded;
  int attempt = 1;                            // 1-based, counted at claim
  // rate_limited and retryable_error: the upstream's hint; zero = none.
  std::chrono::milliseconds retry_after{0};
  bool is_last_step = false;
  bool cancel_requested = false;              // the run was cancelled meanwhile
};

enum class Action {
  execute,       // on claim: run the handler
  advance,       // record the output, enqueue the next step
  complete_run,  // record the output; the run is completed
  retry_later,   // record the error, enqueue the same step after `delay`
  release,       // enqueue the same step now (hand-off at shutdown), no error recorded
  dead_letter,   // record the error; the run goes to the dead-letter queue (status failed)
  cancel_run,    // the run becomes cancelled; its token is dropped
  discard,       // acknowledge the entry and write nothing else (the run is already terminal)
  abandon,       // write nothing at all: the step belongs to another worker now
};

[[nodiscard]] std::string_view to_string(Action action) noexcept;

struct Decision {
  Action action = Action::execute;
  std::chrono::milliseconds delay{0};  // retry_later only
  // Attempts to record for the step once this decision is applied (a
  // rate-limited attempt is refunded: attempt - 1).
  int attempts = 0;
  std::string reason;  // for the error history and logs: "attempts exhausted (3 of 3)", ...

  friend bool operator==(const Decision&, const Decision&) = default;
};

// Delay before the attempt after failed attempt `failed_attempt` (>= 1):
// d = min(max, initial * multiplier^(failed_attempt-1)); with full jitter the
// result is floor(d * jitter_unit), else d. jitter_unit in [0, 1) (clamped to
// [0, 1]; NaN = 0). A failed_attempt under 1 counts as 1. Never overflows: a
// huge attempt or multiplier gives `max`.
[[nodiscard]] std::chrono::milliseconds backoff_delay(const Backoff& backoff, int failed_attempt,
                                                      double jitter_unit) noexcept;

// When a worker has claimed a step entry (first read or reclaim), before running it.
// `attempt` = attempts so far including this claim. Decision.attempts is
// `attempt` for execute; any other decision runs nothing, so it records the
// attempts that actually started (attempt - 1).
[[nodiscard]] Decision decide_on_claim(int attempt, int max_attempts, RunStatus status,
                                       bool cancel_requested);

// After an attempt ended. `error` is the handler's message (or the timeout text).
// A retry waits backoff_delay(), or report.retry_after when that is longer for
// a retryable error; for a rate-limited one, retry_after replaces the backoff.
[[nodiscard]] Decision decide_after_attempt(const AttemptReport& report, const RetryPolicy& policy,
                                            double jitter_unit, std::string_view error = {});

}  // namespace steadfast::engine
