// The run/step lifecycle as pure decisions: no I/O, no clock, no randomness
// inside (the caller passes a jitter sample). The worker acts on a Decision
// with one Lua script; the tests exercise every branch without Redis.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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
  parked,           // a durable wait not due yet: no attempt ended; it sleeps until wake_at_ms
};

struct AttemptReport {
  AttemptEnd end = AttemptEnd::succeeded;
  int attempt = 1;                            // 1-based, counted at claim
  // rate_limited and retryable_error: the upstream's hint; zero = none.
  std::chrono::milliseconds retry_after{0};
  bool is_last_step = false;
  bool cancel_requested = false;              // the run was cancelled meanwhile
  // This attempt's waiting for admission before this end (RetryPolicy's
  // bounds): its rate-limited answers so far, and the time it waited (their
  // Retry-After delays and its limiter waits).
  int rate_limited = 0;
  std::chrono::milliseconds waited{0};
  std::int64_t wake_at_ms = 0;  // parked: when the wait is due (Redis Unix ms)
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
  sleep,         // a durable wait: the step waits in the timer set until wake_at_ms, holding
                 // no worker; then it is queued again and its next claim completes it
};

[[nodiscard]] std::string_view to_string(Action action) noexcept;

struct Decision {
  Decision() = default;
  Decision(Action a, std::chrono::milliseconds d, int n, std::string why)
      : action(a), delay(d), attempts(n), reason(std::move(why)) {}

  Action action = Action::execute;
  std::chrono::milliseconds delay{0};  // retry_later only
  // Attempts to record for the step once this decision is applied (a
  // rate-limited attempt is refunded: attempt - 1).
  int attempts = 0;
  std::string reason;  // for the error history and logs: "attempts exhausted (3 of 3)", ...
  // retry_later and release: the attempt's admission counters to keep in the
  // run (AttemptReport's, this answer included); zero once the attempt is over.
  int rate_limited = 0;
  std::chrono::milliseconds waited{0};
  // release only: handed back by a worker without the step's handler (a
  // fleet mid-deploy); no_worker_queue is set when no live worker serving
  // that queue has it either (the run shows waiting_for no_worker).
  bool unhandled = false;
  std::string no_worker_queue;
  std::int64_t wake_at_ms = 0;  // sleep only: when the wait is due (Redis Unix ms)
  // release only: parked while the step's limiter refuses it (the run shows
  // waiting_for limiter); the limiter's name, and the key of a keyed one.
  std::string parked_limiter;
  std::string parked_key;
  // advance / complete_run only: the step failed for good (`reason` says
  // why) and its on_failure is continue: it is recorded as failed and the
  // run goes on with its output null (continue_past_failure).
  bool continued = false;

  friend bool operator==(const Decision&, const Decision&) = default;
};

// A dead_letter decision for a step whose on_failure is continue: the run
// goes on instead (advance, or complete_run for the last step), `continued`
// set, the reason and attempts kept. Any other decision is returned as is.
[[nodiscard]] Decision continue_past_failure(Decision d, bool is_last_step);

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
// A rate-limited answer past one of the policy's bounds (see RetryPolicy)
// fails the attempt as a retryable error whose message names the bound.
[[nodiscard]] Decision decide_after_attempt(const AttemptReport& report, const RetryPolicy& policy,
                                            double jitter_unit, std::string_view error = {});

// A step waiting at its limiter (no handler launched) that has waited
// `waited` in this attempt: the error naming retry.max_wait once past it,
// else nullopt (never with a zero max_wait).
[[nodiscard]] std::optional<std::string> admission_wait_exceeded(const RetryPolicy& policy,
                                                                 std::chrono::milliseconds waited);

// A claimed step this worker has no handler for (a workflow or step added on
// newer workers while an older one serves the same queue).
struct NoHandler {
  int attempt = 1;               // attempts so far, this claim included
  std::string what;              // "workflow 'w' step 's'"
  std::string worker_id;         // this worker
  std::string queue;             // the step's queue
  bool another_worker_has_it = false;  // a live worker serving the queue has the handler
  // How long no live worker has had it (Redis time, from the run); nullopt = not so far.
  std::optional<std::chrono::milliseconds> unhandled_for;
  std::chrono::milliseconds grace{std::chrono::minutes(10)};  // then dead-letter
};

// Delays before the step is offered again: when another worker has the
// handler (short: it takes the step at its next read), and when none has
// (a tenth of the grace, within [100 ms, 5 s]).
inline constexpr std::chrono::milliseconds kHandBackDelay{250};
[[nodiscard]] std::chrono::milliseconds no_worker_delay(std::chrono::milliseconds grace) noexcept;

// Hands the step back (release after a delay, spending no attempt) so that
// a worker with the handler takes it; dead-letters it once no live worker has
// had the handler for the whole grace.
[[nodiscard]] Decision decide_no_handler(const NoHandler& n);

}  // namespace steadfast::engine
