#include "engine/step_machine.h"

#include <algorithm>
#include <type_traits>

namespace steadfast::engine {
namespace {

StepActions illegal() {
  StepActions a;
  a.illegal = true;
  return a;
}

}  // namespace

std::string_view to_string(StepState state) noexcept {
  switch (state) {
    case StepState::claimed: return "claimed";
    case StepState::admitting: return "admitting";
    case StepState::running: return "running";
    case StepState::overrun: return "overrun";
    case StepState::awaiting_handler: return "awaiting_handler";
    case StepState::applying: return "applying";
    case StepState::lost: return "lost";
    case StepState::done: return "done";
  }
  return "unknown";
}

std::string_view event_name(const StepEvent& event) noexcept {
  constexpr std::string_view kNames[] = {
      "claim_started", "claim_failed",     "admitted",      "handler_returned",
      "timed_out",     "lease_lost",       "renewal_failed", "cancel_requested",
      "drain_started", "drain_expired",    "applied",       "redelivered",
      "admission_expired", "admission_parked", "handed_off", "not_taken"};
  static_assert(std::size(kNames) == std::variant_size_v<StepEvent>);
  return kNames[event.index()];
}

bool StepMachine::holds_slot() const noexcept {
  switch (state_) {
    case StepState::claimed:
    case StepState::admitting:
    case StepState::running:
    case StepState::overrun:
    case StepState::awaiting_handler:
    case StepState::lost: return true;
    case StepState::applying:
    case StepState::done: return false;
  }
  return false;
}

bool StepMachine::renews() const noexcept {
  switch (state_) {
    case StepState::claimed:
    case StepState::admitting:
    case StepState::running:
    case StepState::overrun:
    case StepState::applying: return true;
    case StepState::awaiting_handler:
    case StepState::lost:
    case StepState::done: return false;
  }
  return false;
}

bool StepMachine::writable() const noexcept {
  return state_ == StepState::overrun || state_ == StepState::applying;
}

AttemptReport StepMachine::report(AttemptEnd end, std::chrono::milliseconds retry_after) const {
  AttemptReport r;
  r.end = end;
  r.attempt = attempt_ - budget_from_;
  r.retry_after = retry_after;
  r.is_last_step = is_last_step_;
  r.cancel_requested = cancel_requested_;
  r.rate_limited = rate_limited_;
  r.waited = waited_;
  return r;
}

Decision StepMachine::decide(AttemptEnd end, std::chrono::milliseconds retry_after,
                             double jitter_unit, std::string_view message, std::int64_t wake_at_ms) const {
  AttemptReport r = report(end, retry_after);
  r.wake_at_ms = wake_at_ms;
  Decision d = decide_after_attempt(r, retry_, jitter_unit, message);
  d.attempts += budget_from_;
  return d;
}

StepActions StepMachine::on(const StepEvent& event) {
  StepActions a = dispatch(event);
  // One place for every dead-letter decision (claim, outcome, timeout).
  if (a.write && continue_on_failure_) a.write = continue_past_failure(std::move(*a.write), is_last_step_);
  return a;
}

StepActions StepMachine::dispatch(const StepEvent& event) {
  namespace ev = step_event;
  if (state_ == StepState::done) return illegal();
  return std::visit(
      [this](const auto& e) -> StepActions {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, ev::ClaimStarted>) {
          if (state_ == StepState::claimed) return on_claim_started(e.facts);
          if (state_ == StepState::lost && !handler_running_) {
            deliveries_ = std::max(deliveries_, e.facts.deliveries);
            return finish_lost();
          }
          return illegal();
        } else if constexpr (std::is_same_v<E, ev::ClaimFailed>) {
          if (state_ == StepState::claimed) {
            state_ = StepState::done;
            StepActions a;
            a.free_slot = true;
            a.forget = true;
            return a;
          }
          if (state_ == StepState::lost && !handler_running_) return finish_lost();
          return illegal();
        } else if constexpr (std::is_same_v<E, ev::Admitted>) {
          if (state_ != StepState::admitting) return illegal();
          waited_ += e.waited;
          admitted_by_limiter_ = true;
          handler_running_ = true;
          state_ = StepState::running;
          StepActions a;
          a.launch_handler = true;
          return a;
        } else if constexpr (std::is_same_v<E, ev::HandlerReturned>) {
          return on_handler_returned(e);
        } else if constexpr (std::is_same_v<E, ev::TimedOut>) {
          return on_timed_out(e);
        } else if constexpr (std::is_same_v<E, ev::LeaseLost>) {
          return on_lease_lost();
        } else if constexpr (std::is_same_v<E, ev::RenewalFailed>) {
          // Self-fencing: a full lease without a successful renewal.
          if (e.since_renewed > e.lease) return on_lease_lost();
          return StepActions{};
        } else if constexpr (std::is_same_v<E, ev::CancelRequested>) {
          return on_cancel_requested();
        } else if constexpr (std::is_same_v<E, ev::DrainStarted>) {
          return on_drain(false);
        } else if constexpr (std::is_same_v<E, ev::DrainExpired>) {
          return on_drain(true);
        } else if constexpr (std::is_same_v<E, ev::Applied>) {
          return on_applied(e.stale);
        } else if constexpr (std::is_same_v<E, ev::AdmissionExpired>) {
          if (state_ != StepState::admitting) return illegal();
          return on_admission_expired(e);
        } else if constexpr (std::is_same_v<E, ev::AdmissionParked>) {
          if (state_ != StepState::admitting) return illegal();
          return on_admission_parked(e);
        } else if constexpr (std::is_same_v<E, ev::HandedOff>) {
          return on_handed_off();
        } else if constexpr (std::is_same_v<E, ev::NotTaken>) {
          return on_not_taken(e.delay);
        } else {
          static_assert(std::is_same_v<E, ev::Redelivered>);
          return on_redelivered(e.deliveries);
        }
      },
      event);
}

StepActions StepMachine::on_claim_started(const ClaimFacts& f) {
  // A later delivery (a reclaim seen meanwhile) may already carry a higher count.
  deliveries_ = std::max(deliveries_, f.deliveries);
  attempt_ = f.attempt;
  budget_from_ = f.budget_from;
  is_last_step_ = f.is_last_step;
  continue_on_failure_ = f.continue_on_failure;
  retry_ = f.retry;
  rate_limited_ = f.rate_limited;
  waited_ = f.waited;
  cancel_requested_ = cancel_requested_ || f.cancel_requested;
  StepActions a;
  Decision d = decide_on_claim(attempt_ - budget_from_, retry_.max_attempts, f.status, cancel_requested_);
  if (!f.handler_known && d.action == Action::execute) {
    // Handed back for a worker that has the handler (spending no attempt),
    // or dead-lettered once none has had it for the grace.
    state_ = StepState::applying;
    NoHandler n;
    n.attempt = attempt_;
    n.what = f.unknown_what;
    n.worker_id = f.worker_id;
    n.queue = f.queue;
    n.another_worker_has_it = f.another_worker_has_it;
    n.unhandled_for = f.unhandled_for;
    n.grace = f.no_handler_grace;
    Decision h = decide_no_handler(n);
    h.rate_limited = rate_limited_;
    h.waited = waited_;
    a.write = std::move(h);
    a.free_slot = true;
    return a;
  }
  if (d.action != Action::execute) {
    state_ = StepState::applying;
    // decide_on_claim records the attempts that started; the first claim of
    // a replayed step records at least the claim itself (as it always has).
    d.attempts = (d.attempts > 0 ? d.attempts : attempt_ - budget_from_) + budget_from_;
    a.write = std::move(d);
    a.free_slot = true;
    return a;
  }
  if (drain_expired_ || (f.limited && draining_)) return hand_back(false);
  if (f.limited) {
    state_ = StepState::admitting;
    a.start_admission = true;
    return a;
  }
  state_ = StepState::running;
  handler_running_ = true;
  a.launch_handler = true;
  return a;
}

StepActions StepMachine::on_handler_returned(const step_event::HandlerReturned& e) {
  if (!handler_running_) return illegal();
  handler_running_ = false;
  StepActions a;
  a.release_limit = admitted_by_limiter_;
  switch (state_) {
    case StepState::running: {
      const HandlerResult& r = e.result;
      AttemptEnd end = AttemptEnd::succeeded;
      std::string message = r.message;
      switch (r.kind) {
        case HandlerResult::Kind::ok:
          if (r.output_bytes > max_output_bytes_) {
            end = AttemptEnd::fatal_error;
            message = "output exceeds the " + std::to_string(max_output_bytes_) + "-byte limit";
          }
          break;
        case HandlerResult::Kind::retryable: end = AttemptEnd::retryable_error; break;
        case HandlerResult::Kind::fatal: end = AttemptEnd::fatal_error; break;
        case HandlerResult::Kind::rate_limited: end = AttemptEnd::rate_limited; break;
        case HandlerResult::Kind::parked: end = AttemptEnd::parked; break;
      }
      a.write = decide(end, r.retry_after, e.jitter_unit, message, r.wake_at_ms);
      if (end != AttemptEnd::parked) a.attempt_ended = end;  // a parked wait ended no attempt
      a.free_slot = true;
      state_ = StepState::applying;
      return a;
    }
    case StepState::overrun:  // timed out: its outcome is decided; this result is dropped
      a.free_slot = true;
      state_ = StepState::applying;
      return a;
    case StepState::awaiting_handler:
      a.free_slot = true;
      a.forget = true;
      state_ = StepState::done;
      return a;
    case StepState::applying:  // abandoned at the drain's end; its slot was freed then
      return a;
    case StepState::lost:
      if (!timed_out_) a.attempt_ended = AttemptEnd::lease_lost;  // a timeout counted it already
      {
        StepActions f = finish_lost();
        f.release_limit = a.release_limit;
        f.attempt_ended = a.attempt_ended;
        return f;
      }
    case StepState::claimed:
    case StepState::admitting:
    case StepState::done: break;
  }
  return illegal();
}

StepActions StepMachine::on_timed_out(const step_event::TimedOut& e) {
  switch (state_) {
    case StepState::running: {
      StepActions a;
      a.cancel_handler = true;
      a.write = decide(AttemptEnd::timed_out, std::chrono::milliseconds{0}, e.jitter_unit,
                       "timed out after " + std::to_string(e.timeout.count()) + " ms");
      a.attempt_ended = AttemptEnd::timed_out;
      timed_out_ = true;
      state_ = StepState::overrun;
      return a;
    }
    // The timer raced an outcome decided otherwise (lease lost, drain): too late to matter.
    case StepState::lost:
    case StepState::applying: return StepActions{};
    default: return illegal();
  }
}

StepActions StepMachine::on_lease_lost() {
  StepActions a;
  switch (state_) {
    case StepState::claimed:  // the claim reply is still to come
      state_ = StepState::lost;
      return a;
    case StepState::admitting:  // nothing runs: done at once (the admission loop ends)
      state_ = StepState::done;
      a.free_slot = true;
      a.forget = true;
      a.count_stale = true;
      return a;
    case StepState::running:
      state_ = StepState::lost;
      a.cancel_handler = true;
      return a;
    // Self-fencing covers a decided outcome not written yet too: another
    // worker may own the step by now. (Its script would refuse a stale token
    // anyway; not sending it keeps a partitioned worker's backlog out.)
    case StepState::overrun:  // the handler still runs (cancelled at the timeout)
      state_ = StepState::lost;
      return a;
    case StepState::applying:  // a write already in flight finds the step forgotten
      state_ = StepState::done;
      a.forget = true;
      a.count_stale = true;
      return a;
    case StepState::awaiting_handler:  // written already
    case StepState::lost: return a;
    case StepState::done: break;
  }
  return illegal();
}

StepActions StepMachine::on_admission_expired(const step_event::AdmissionExpired& e) {
  // The attempt counts (it is the bound's point), though no handler ran.
  waited_ = e.waited;
  StepActions a;
  const std::string message = admission_wait_exceeded(retry_, waited_).value_or(
      "waited " + std::to_string(waited_.count()) + " ms for admission (retry.max_wait)");
  a.write = decide(AttemptEnd::retryable_error, std::chrono::milliseconds{0}, e.jitter_unit, message);
  a.attempt_ended = AttemptEnd::retryable_error;
  a.free_slot = true;
  state_ = StepState::applying;
  return a;
}

StepActions StepMachine::on_admission_parked(const step_event::AdmissionParked& e) {
  // No handler ran: no attempt spent; the admission counters go on in the
  // run, the time parked counted as waited (retry.max_wait bounds it all).
  const std::chrono::milliseconds delay = std::max(e.delay, std::chrono::milliseconds{1});
  waited_ = e.waited;
  Decision d(Action::release, delay, std::max(attempt_ - 1, 0), "");
  d.rate_limited = rate_limited_;
  d.waited = waited_ + delay;
  d.parked_limiter = e.limiter;
  d.parked_key = e.key;
  StepActions a;
  a.write = std::move(d);
  a.free_slot = true;
  state_ = StepState::applying;
  return a;
}

StepActions StepMachine::on_cancel_requested() {
  StepActions a;
  const bool first = !cancel_requested_;
  cancel_requested_ = true;
  switch (state_) {
    case StepState::admitting: {
      state_ = StepState::applying;
      Decision d = decide_after_attempt(report(AttemptEnd::interrupted), retry_, 0.0);
      d.attempts = std::max(attempt_ - 1, 0);  // no handler ran: no attempt spent
      a.write = std::move(d);
      a.free_slot = true;
      return a;
    }
    case StepState::running:
      a.cancel_handler = first;
      return a;
    default: return a;  // claimed: decided at the claim; later: the outcome is decided
  }
}

StepActions StepMachine::on_drain(bool expired) {
  draining_ = true;
  drain_expired_ = drain_expired_ || expired;
  switch (state_) {
    case StepState::admitting: return hand_back(false);
    case StepState::running: return expired ? hand_back(true) : StepActions{};
    default: return StepActions{};  // claimed: decided at the claim reply
  }
}

// Interrupted by the drain: release the entry so another worker takes it at
// once. A handler still running is cancelled and abandoned (its slot freed).
StepActions StepMachine::hand_back(bool handler_runs) {
  StepActions a;
  Decision d = decide_after_attempt(report(AttemptEnd::interrupted), retry_, 0.0);
  // A handler that ran spent its attempt; one that never launched spent none
  // (and the attempt's admission counters go on).
  d.attempts = handler_runs ? attempt_ : std::max(attempt_ - 1, 0);
  if (!handler_runs) {
    d.rate_limited = rate_limited_;
    d.waited = waited_;
  }
  a.write = std::move(d);
  a.cancel_handler = handler_runs;
  a.free_slot = true;
  state_ = StepState::applying;
  return a;
}

StepActions StepMachine::on_applied(bool stale) {
  StepActions a;
  a.count_stale = stale;
  switch (state_) {
    case StepState::lost: return StepActions{};  // written while the lease was being lost: counted at the end
    case StepState::overrun: state_ = StepState::awaiting_handler; return a;
    case StepState::applying:  // a handler abandoned at the drain's end is forgotten too
      state_ = StepState::done;
      a.forget = true;
      return a;
    default: return illegal();
  }
}

StepActions StepMachine::on_redelivered(long long deliveries) {
  // A delivery of an entry already in flight never starts a second handler
  // nor resets the step. Redis bumps the count on every delivery of a pending
  // entry, so a higher count is the later delivery — one to this consumer
  // (XAUTOCLAIM by our own reclaimer, or XREADGROUP of our PEL): keep it, or
  // our own writes would be refused as stale. A lower or equal count (a read
  // rolled back by a failover presumes 1) changes nothing; if the store no
  // longer knows our count, the scripts refuse our token and the step is
  // reclaimed — never run twice by us.
  StepActions a;
  if (deliveries > deliveries_) {
    deliveries_ = deliveries;
    a.update_deliveries = true;
  }
  return a;
}

StepActions StepMachine::on_handed_off() {
  // running: the offer was taken; lost: a renewal here saw the claim already
  // moved to the external worker (not a stale outcome: it is theirs now).
  if (state_ != StepState::running && state_ != StepState::lost) return illegal();
  handler_running_ = false;
  state_ = StepState::done;
  StepActions a;
  a.free_slot = true;
  a.forget = true;
  return a;
}

StepActions StepMachine::on_not_taken(std::chrono::milliseconds delay) {
  if (state_ != StepState::running) return illegal();
  // Nothing ran: no attempt spent, the admission counters go on.
  handler_running_ = false;
  Decision d(Action::release, std::max(delay, std::chrono::milliseconds{1}), std::max(attempt_ - 1, 0), "");
  d.rate_limited = rate_limited_;
  d.waited = waited_;
  StepActions a;
  a.write = std::move(d);
  a.release_limit = admitted_by_limiter_;
  a.free_slot = true;
  state_ = StepState::applying;
  return a;
}

StepActions StepMachine::finish_lost() {
  StepActions a;
  state_ = StepState::done;
  a.free_slot = true;
  a.forget = true;
  a.count_stale = true;
  return a;
}

}  // namespace steadfast::engine
