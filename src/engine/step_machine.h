// One claimed step inside a worker, from its claim until the worker forgets it,
// as a pure state machine (in the manner of Boost.Redis' exec_fsm): the worker
// feeds it what happened (an Event) and does what it answers (StepActions). No
// I/O, no clock, no randomness inside: the caller passes elapsed times and the
// jitter sample. Every AttemptReport is built here, in one place (report()).
//
//   claimed ──claim_started(execute)──▶ running ──handler_returned──▶ applying ──applied──▶ done
//      │  └──claim_started(limited)──▶ admitting ──admitted──┘  │                    ▲
//      │                                    │                   ├─timed_out─▶ overrun ─handler_returned─┘
//      │  claim_started(no execute) ────────┴──▶ applying       │               │applied
//      │              (admission_expired ───┘, admission_parked ─┘)│               │
//      │                                                        │               ▼
//      │                                                        │       awaiting_handler ─handler_returned─▶ done
//      └─lease_lost─▶ lost ◀──────────lease_lost (running, overrun)┘   applying ─lease_lost─▶ done
//                      └──claim reply / handler_returned──▶ done (nothing written)
//
// docs/architecture.md has the full table; tests/engine/step_machine_test.cpp
// checks every state × event.
//
// Not thread-safe: one machine per in-flight step, driven from the worker's
// event loop only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "engine/lifecycle.h"
#include "steadfast/workflow.h"

namespace steadfast::engine {

enum class StepState {
  claimed,           // start.lua in flight; holds a slot
  admitting,         // waiting for the step's limiter; holds a slot and its lease
  running,           // the handler runs; no outcome decided yet
  overrun,           // timed out: the outcome is decided and being written, the handler still runs
  awaiting_handler,  // the outcome is written; the handler still runs (and holds its slot)
  applying,          // the outcome is being written; the handler is done (or abandoned at drain)
  lost,              // the lease is lost: nothing will be written; waits for the handler or claim reply
  done,              // nothing left to wait for: the worker forgets the step
};

[[nodiscard]] std::string_view to_string(StepState state) noexcept;

// What start.lua said about a claim the store accepted (state 'ok'), and what
// the worker knows of the step.
struct ClaimFacts {
  long long deliveries = 0;  // the token's delivery count, as start.lua read it
  int attempt = 1;           // attempts of this step so far, this claim included (base + deliveries)
  int budget_from = 0;       // attempts spent before a replay; max_attempts counts from here
  RunStatus status = RunStatus::queued;
  bool cancel_requested = false;  // the run's cancel flag at claim time
  bool handler_known = true;      // this worker has the workflow and the step
  std::string unknown_what;       // for the error when !handler_known: "workflow 'w' step 's'"
  std::string worker_id;          // for that error too
  // When !handler_known (see engine::NoHandler): the step's queue, whether a
  // live worker serving it has the handler, how long none has had it (from
  // the run, Redis time; nullopt = not so far) and the grace before dead-lettering.
  std::string queue;
  bool another_worker_has_it = false;
  std::optional<std::chrono::milliseconds> unhandled_for;
  std::chrono::milliseconds no_handler_grace{std::chrono::minutes(10)};
  // The current attempt's admission counters, as kept in the run (RetryPolicy's bounds).
  int rate_limited = 0;
  std::chrono::milliseconds waited{0};
  bool limited = false;           // the step names a limiter: admission comes first
  bool is_last_step = false;
  RetryPolicy retry;
  // The step's on_failure is continue: a dead-letter decision becomes
  // continue_past_failure()'s.
  bool continue_on_failure = false;
};

// A handler's result, reduced to what the decision needs.
struct HandlerResult {
  // parked: a durable wait (kind: wait) not due yet; it sleeps until
  // wake_at_ms without spending an attempt.
  enum class Kind { ok, retryable, fatal, rate_limited, parked };
  Kind kind = Kind::ok;
  std::int64_t wake_at_ms = 0;               // parked only: Redis Unix ms
  std::chrono::milliseconds retry_after{0};  // StepError::retry_after(); zero = none
  std::string message;                       // the error's message; empty for ok
  std::size_t output_bytes = 0;              // the serialized output's size (ok only)
};

namespace step_event {
struct ClaimStarted { ClaimFacts facts; };
struct ClaimFailed {};  // start.lua said 'lost' or 'missing', or the claim was given up (draining, error)
// The limiter admitted the step after `waited` (this claim's wait at it).
struct Admitted { std::chrono::milliseconds waited{0}; };
// The step waited at its limiter past retry.max_wait (`waited`: this
// attempt's waiting in all, as admission_wait_exceeded() was given it).
struct AdmissionExpired { std::chrono::milliseconds waited{0}; double jitter_unit = 0.0; };
// The step's limiter refuses it for a while: it is handed back, parked
// outside the worker for `delay` (status waiting, waiting_for the limiter and
// key), spending no attempt and holding no slot meanwhile. `waited`: this
// attempt's waiting in all, which goes on counting toward retry.max_wait.
struct AdmissionParked {
  std::chrono::milliseconds waited{0};
  std::chrono::milliseconds delay{0};
  std::string limiter;
  std::string key;  // the keyed limiter's key ('' for a plain one)
};
struct HandlerReturned { HandlerResult result; double jitter_unit = 0.0; };
struct TimedOut { std::chrono::milliseconds timeout{0}; double jitter_unit = 0.0; };
struct LeaseLost {};  // renew.lua said 'lost'
// A renewal failed (Redis unreachable or refusing): past a full lease without
// a successful renewal the worker fences itself — another worker may own the
// step by now.
struct RenewalFailed { std::chrono::milliseconds since_renewed{0}; std::chrono::milliseconds lease{0}; };
struct CancelRequested {};  // renew.lua said 'cancel'
struct DrainStarted {};
struct DrainExpired {};     // the drain timeout passed: hand back what has not finished
struct Applied { bool stale = false; };  // the outcome's script answered (stale = refused by the token check)
// The same entry (partition, queue, id) delivered again while in flight: by a
// reclaim (XAUTOCLAIM bumped its count) or a read rolled back by a failover.
struct Redelivered { long long deliveries = 0; };
// A task step (StepDefinition::task) offered to external workers: `serve`
// moved its claim to an external worker (the worker protocol's claim;
// docs/worker-protocol.md), which writes its outcome from now on. This
// worker forgets it, writing nothing and keeping its limiter slots held (the
// external worker's outcome releases them).
struct HandedOff {};
// ... no external worker took it in time (none asks for its task): it is
// handed back after `delay`, spending no attempt.
struct NotTaken { std::chrono::milliseconds delay{0}; };
}  // namespace step_event

using StepEvent =
    std::variant<step_event::ClaimStarted, step_event::ClaimFailed, step_event::Admitted,
                 step_event::HandlerReturned, step_event::TimedOut, step_event::LeaseLost,
                 step_event::RenewalFailed, step_event::CancelRequested, step_event::DrainStarted,
                 step_event::DrainExpired, step_event::Applied, step_event::Redelivered,
                 step_event::AdmissionExpired, step_event::AdmissionParked, step_event::HandedOff,
                 step_event::NotTaken>;

[[nodiscard]] std::string_view event_name(const StepEvent& event) noexcept;

// What the worker must do after an event, in this order: cancel the handler,
// write the transition, release the limiter slot, launch or admit, free the
// slot, forget the step.
struct StepActions {
  bool launch_handler = false;   // hand the handler to the pool (or the event loop)
  bool start_admission = false;  // ask the step's limiter before launching
  bool cancel_handler = false;   // StepContext::request_cancel()
  // Write this transition (its `attempts` already include budget_from). With
  // an output only for advance / complete_run.
  std::optional<Decision> write;
  bool release_limit = false;    // give the limiter slot back (the handler is done)
  bool free_slot = false;        // a fetch slot became free: wake the fetcher
  bool forget = false;           // erase the step from the in-flight map
  bool count_stale = false;      // an outcome of this step will never be written
  // A re-delivery raised the token's delivery count (see deliveries()); the
  // claim reply may raise it too, silently: the caller reads deliveries() always.
  bool update_deliveries = false;
  // How the attempt ended, for the succeeded/failed counters; nullopt = no attempt ended.
  std::optional<AttemptEnd> attempt_ended;
  // The event cannot happen in this state (a bug in the caller); nothing changed.
  bool illegal = false;

  friend bool operator==(const StepActions&, const StepActions&) = default;
};

class StepMachine {
 public:
  // max_output_bytes: a successful output larger than this fails the attempt
  // (fatal: it would fail the same way again).
  explicit StepMachine(std::size_t max_output_bytes, long long deliveries = 0)
      : max_output_bytes_(max_output_bytes), deliveries_(deliveries) {}

  [[nodiscard]] StepActions on(const StepEvent& event);

  [[nodiscard]] StepState state() const noexcept { return state_; }
  // The token's delivery count to fence with (0 = not known yet).
  [[nodiscard]] long long deliveries() const noexcept { return deliveries_; }
  [[nodiscard]] int attempt() const noexcept { return attempt_; }
  [[nodiscard]] bool cancel_requested() const noexcept { return cancel_requested_; }
  // This attempt's waiting for admission so far (RetryPolicy's bounds).
  [[nodiscard]] std::chrono::milliseconds waited() const noexcept { return waited_; }
  [[nodiscard]] const RetryPolicy& retry() const noexcept { return retry_; }
  // The step holds one of the worker's `concurrency` slots (not finished yet).
  [[nodiscard]] bool holds_slot() const noexcept;
  // Its lease must be renewed (it may still write an outcome).
  [[nodiscard]] bool renews() const noexcept;
  // An outcome queued for it may be written now.
  [[nodiscard]] bool writable() const noexcept;

 private:
  StepActions dispatch(const StepEvent& event);  // on(), before on_failure
  StepActions on_claim_started(const ClaimFacts& facts);
  StepActions on_handler_returned(const step_event::HandlerReturned& e);
  StepActions on_timed_out(const step_event::TimedOut& e);
  StepActions on_lease_lost();
  StepActions on_cancel_requested();
  StepActions on_drain(bool expired);
  StepActions on_applied(bool stale);
  StepActions on_redelivered(long long deliveries);
  StepActions on_admission_expired(const step_event::AdmissionExpired& e);
  StepActions on_admission_parked(const step_event::AdmissionParked& e);
  StepActions hand_back(bool handler_runs);
  StepActions on_handed_off();
  StepActions on_not_taken(std::chrono::milliseconds delay);
  StepActions finish_lost();

  // The one place an AttemptReport is made.
  [[nodiscard]] AttemptReport report(AttemptEnd end,
                                     std::chrono::milliseconds retry_after = std::chrono::milliseconds{0}) const;
  // decide_after_attempt() with the attempts to record counted from the replay budget.
  [[nodiscard]] Decision decide(AttemptEnd end, std::chrono::milliseconds retry_after,
                                double jitter_unit, std::string_view message, std::int64_t wake_at_ms = 0) const;

  std::size_t max_output_bytes_;
  StepState state_ = StepState::claimed;
  long long deliveries_;
  int attempt_ = 0;
  int budget_from_ = 0;
  bool is_last_step_ = false;
  bool continue_on_failure_ = false;
  bool admitted_by_limiter_ = false;
  bool handler_running_ = false;  // launched and not returned (it may be abandoned: applying)
  bool cancel_requested_ = false;
  bool timed_out_ = false;  // the attempt ended (and was counted) at its timeout
  bool draining_ = false;
  bool drain_expired_ = false;
  int rate_limited_ = 0;
  std::chrono::milliseconds waited_{0};
  RetryPolicy retry_;
};

}  // namespace steadfast::engine
