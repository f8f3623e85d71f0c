#include "engine/lifecycle.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "engine/duration.h"

namespace steadfast::engine {
namespace {

constexpr std::array<std::pair<RunStatus, std::string_view>, 8> kRunStatusNames{{
    {RunStatus::scheduled, "scheduled"},
    {RunStatus::queued, "queued"},
    {RunStatus::running, "running"},
    {RunStatus::waiting, "waiting"},
    {RunStatus::retrying, "retrying"},
    {RunStatus::completed, "completed"},
    {RunStatus::failed, "failed"},
    {RunStatus::cancelled, "cancelled"},
}};

// "<prefix>: <message>", or the prefix alone when there is no message.
std::string with_message(std::string prefix, std::string_view message) {
  if (!message.empty()) {
    prefix += ": ";
    prefix += message;
  }
  return prefix;
}

std::string exhausted(int attempts, int max_attempts, std::string_view message) {
  return with_message("attempts exhausted (" + std::to_string(attempts) + " of " +
                          std::to_string(max_attempts) + ")",
                      message);
}

Decision make(Action action, int attempts, std::string reason,
              std::chrono::milliseconds delay = std::chrono::milliseconds{0}) {
  return Decision{action, delay, attempts, std::move(reason)};
}

// A failed attempt that counts: retried after the backoff (or the
// upstream's Retry-After, when longer) while attempts remain, else dead-lettered.
Decision attempt_failed(const AttemptReport& report, const RetryPolicy& policy, double jitter_unit,
                        std::string_view message) {
  const int attempt = report.attempt;
  if (attempt >= policy.max_attempts) {
    return make(Action::dead_letter, attempt, exhausted(attempt, policy.max_attempts, message));
  }
  auto delay = backoff_delay(policy.backoff, attempt, jitter_unit);
  if (report.end == AttemptEnd::retryable_error) delay = std::max(delay, report.retry_after);
  return make(Action::retry_later, attempt,
              with_message("attempt " + std::to_string(attempt) + " of " +
                               std::to_string(policy.max_attempts) + " failed",
                           message),
              delay);
}

}  // namespace

std::string_view to_string(RunStatus status) noexcept {
  for (const auto& [value, name] : kRunStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

std::optional<RunStatus> parse_run_status(std::string_view text) noexcept {
  for (const auto& [value, name] : kRunStatusNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

bool is_terminal(RunStatus status) noexcept {
  return status == RunStatus::completed || status == RunStatus::failed ||
         status == RunStatus::cancelled;
}

std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::execute: return "execute";
    case Action::advance: return "advance";
    case Action::complete_run: return "complete_run";
    case Action::retry_later: return "retry_later";
    case Action::release: return "release";
    case Action::dead_letter: return "dead_letter";
    case Action::cancel_run: return "cancel_run";
    case Action::discard: return "discard";
    case Action::abandon: return "abandon";
    case Action::sleep: return "sleep";
  }
  return "unknown";
}

std::chrono::milliseconds backoff_delay(const Backoff& backoff, int failed_attempt,
                                        double jitter_unit) noexcept {
  using std::chrono::milliseconds;
  const auto max_ms = std::max<milliseconds::rep>(0, backoff.max.count());
  const auto initial_ms = std::max<milliseconds::rep>(0, backoff.initial.count());
  // double(INT64_MAX) rounds up to 2^63, which does not fit back: every value
  // converted to an integer below is strictly under this bound.
  const double cap = static_cast<double>(max_ms);
  const int exponent = std::max(failed_attempt, 1) - 1;
  double d = static_cast<double>(initial_ms) * std::pow(backoff.multiplier, exponent);
  // `!(d < cap)` also catches inf and NaN (a multiplier nobody validated).
  if (!(d < cap)) d = cap;
  if (d < 0) d = 0;
  if (backoff.full_jitter) {
    const double unit = std::isnan(jitter_unit) ? 0.0 : std::clamp(jitter_unit, 0.0, 1.0);
    d = std::floor(d * unit);
  }
  if (!(d < cap)) return milliseconds{max_ms};
  return milliseconds{static_cast<milliseconds::rep>(d)};
}

Decision decide_on_claim(int attempt, int max_attempts, RunStatus status, bool cancel_requested) {
  // Only an executed claim counts as an attempt; a claim that runs nothing
  // leaves the attempts that actually started.
  const int started = std::max(attempt - 1, 0);
  if (is_terminal(status)) {
    return make(Action::discard, started, "run already " + std::string(to_string(status)));
  }
  if (cancel_requested) return make(Action::cancel_run, started, "run cancelled");
  if (attempt > max_attempts) {
    return make(Action::dead_letter, started,
                exhausted(started, max_attempts, "the step's worker crashed or lost its lease"));
  }
  return make(Action::execute, attempt, "");
}

Decision decide_after_attempt(const AttemptReport& report, const RetryPolicy& policy,
                              double jitter_unit, std::string_view error) {
  const int attempt = report.attempt;
  if (report.end == AttemptEnd::lease_lost) {
    return make(Action::abandon, attempt, "lease lost: another worker owns the step");
  }
  if (report.cancel_requested) return make(Action::cancel_run, attempt, "run cancelled");

  switch (report.end) {
    case AttemptEnd::parked: {
      // Not an attempt: the claim that parks it is refunded, as a release is.
      Decision d = make(Action::sleep, attempt - 1, "");
      d.wake_at_ms = report.wake_at_ms;
      return d;
    }
    case AttemptEnd::succeeded:
      return make(report.is_last_step ? Action::complete_run : Action::advance, attempt, "");
    case AttemptEnd::fatal_error:
      return make(Action::dead_letter, attempt, with_message("fatal error", error));
    case AttemptEnd::retryable_error:
    case AttemptEnd::timed_out: {
      const std::string_view message =
          report.end == AttemptEnd::timed_out && error.empty() ? "timed out" : error;
      return attempt_failed(report, policy, jitter_unit, message);
    }
    case AttemptEnd::rate_limited: {
      const auto delay = report.retry_after.count() > 0
                             ? report.retry_after
                             : backoff_delay(policy.backoff, attempt, jitter_unit);
      const int times = report.rate_limited + 1;
      if (policy.max_rate_limited > 0 && times >= policy.max_rate_limited) {
        AttemptReport failed = report;
        failed.retry_after = std::chrono::milliseconds{0};
        return attempt_failed(failed, policy, jitter_unit,
                              with_message("rate limited " + std::to_string(times) +
                                               " times (retry.max_rate_limited)",
                                           error));
      }
      if (policy.max_wait.count() > 0 && report.waited + delay > policy.max_wait) {
        AttemptReport failed = report;
        failed.retry_after = std::chrono::milliseconds{0};
        return attempt_failed(
            failed, policy, jitter_unit,
            with_message("waited " + format_duration(report.waited) +
                             " for admission; the next wait of " + format_duration(delay) +
                             " would pass " + format_duration(policy.max_wait) +
                             " (retry.max_wait)",
                         error));
      }
      Decision d = make(Action::retry_later, std::max(attempt - 1, 0),
                        with_message("rate limited", error), delay);
      d.rate_limited = times;
      d.waited = report.waited + delay;
      return d;
    }
    case AttemptEnd::interrupted:
      return make(Action::release, attempt, "interrupted: the worker shut down");
    case AttemptEnd::lease_lost: break;  // handled above
  }
  return make(Action::abandon, attempt, "unknown attempt end");
}

std::optional<std::string> admission_wait_exceeded(const RetryPolicy& policy,
                                                   std::chrono::milliseconds waited) {
  if (policy.max_wait.count() <= 0 || waited < policy.max_wait) return std::nullopt;
  return "waited " + format_duration(waited) + " for admission (retry.max_wait " +
         format_duration(policy.max_wait) + ")";
}

std::chrono::milliseconds no_worker_delay(std::chrono::milliseconds grace) noexcept {
  return std::clamp(grace / 10, std::chrono::milliseconds{100}, std::chrono::milliseconds{5000});
}

Decision decide_no_handler(const NoHandler& n) {
  const int unspent = std::max(n.attempt - 1, 0);
  if (n.another_worker_has_it) {
    Decision d = make(Action::release, unspent, "", kHandBackDelay);
    d.unhandled = true;
    return d;
  }
  if (n.grace.count() <= 0) {
    return make(Action::dead_letter, unspent,
                "worker " + n.worker_id + " has no handler for " + n.what +
                    " and no live worker on queue '" + n.queue + "' has one (--no-handler-grace 0s)");
  }
  if (n.unhandled_for && *n.unhandled_for >= n.grace) {
    return make(Action::dead_letter, unspent,
                "no live worker on queue '" + n.queue + "' has a handler for " + n.what +
                    " (worker " + n.worker_id + " has none) for " +
                    format_duration(*n.unhandled_for) + ", past the grace of " +
                    format_duration(n.grace) + " (--no-handler-grace)");
  }
  Decision d = make(Action::release, unspent, "", no_worker_delay(n.grace));
  d.unhandled = true;
  d.no_worker_queue = n.queue;
  return d;
}

Decision continue_past_failure(Decision d, bool is_last_step) {
  if (d.action != Action::dead_letter) return d;
  d.action = is_last_step ? Action::complete_run : Action::advance;
  d.continued = true;
  return d;
}

}  // namespace steadfast::engine
