// The state machine: engine::decide_on_claim and decide_after_attempt over a
// table of representative cases (every action each can take). One item = one
// decision.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/lifecycle.h"

namespace steadfast::bench {
namespace {

using engine::Action;
using engine::AttemptEnd;
using engine::RunStatus;
using std::chrono::milliseconds;

struct ClaimCase {
  int attempt;
  int max_attempts;
  RunStatus status;
  bool cancel;
  Action expected;
};

const std::vector<ClaimCase> kClaimCases{
    {1, 3, RunStatus::queued, false, Action::execute},        // a fresh step
    {2, 3, RunStatus::running, false, Action::execute},       // reclaimed from a dead worker
    {1, 3, RunStatus::retrying, false, Action::execute},      // a retry promoted back
    {4, 3, RunStatus::running, false, Action::dead_letter},   // crashed its workers 3 times
    {1, 3, RunStatus::running, true, Action::cancel_run},     // cancelled while queued
    {2, 3, RunStatus::completed, false, Action::discard},     // a stale duplicate
    {1, 3, RunStatus::cancelled, false, Action::discard},
    {3, 3, RunStatus::failed, false, Action::discard},
};

struct AttemptCase {
  engine::AttemptReport report;
  bool jitter;
  const char* error;
  Action expected;
  milliseconds delay;  // checked for retry_later
};

engine::AttemptReport report(AttemptEnd end, int attempt, bool last = false, milliseconds after = {},
                             bool cancel = false) {
  engine::AttemptReport r;
  r.end = end;
  r.attempt = attempt;
  r.retry_after = after;
  r.is_last_step = last;
  r.cancel_requested = cancel;
  return r;
}

const std::vector<AttemptCase> kAttemptCases{
    {report(AttemptEnd::succeeded, 1), false, "", Action::advance, {}},
    {report(AttemptEnd::succeeded, 2, true), false, "", Action::complete_run, {}},
    {report(AttemptEnd::retryable_error, 1), false, "HTTP 502 from api.example.com",
     Action::retry_later, milliseconds(1000)},
    {report(AttemptEnd::retryable_error, 2, false, milliseconds(5000)), false,
     "HTTP 503 from api.example.com (Retry-After: 5)", Action::retry_later, milliseconds(5000)},
    {report(AttemptEnd::retryable_error, 2), true, "connection reset by peer", Action::retry_later,
     milliseconds(1000)},  // full jitter: floor(2000 * 0.5)
    {report(AttemptEnd::retryable_error, 3), false, "HTTP 500 from api.example.com",
     Action::dead_letter, {}},
    {report(AttemptEnd::timed_out, 2), false, "timed out after 30000 ms", Action::retry_later,
     milliseconds(2000)},
    {report(AttemptEnd::fatal_error, 1), false, "HTTP 400: invalid request body", Action::dead_letter,
     {}},
    {report(AttemptEnd::rate_limited, 1, false, milliseconds(2000)), false, "HTTP 429",
     Action::retry_later, milliseconds(2000)},
    {report(AttemptEnd::interrupted, 1), false, "", Action::release, {}},
    {report(AttemptEnd::lease_lost, 1), false, "", Action::abandon, {}},
    {report(AttemptEnd::succeeded, 1, false, {}, true), false, "", Action::cancel_run, {}},
};

constexpr double kJitterUnit = 0.5;

engine::Decision decide(const AttemptCase& c, const RetryPolicy& plain, const RetryPolicy& jittered) {
  return engine::decide_after_attempt(c.report, c.jitter ? jittered : plain, kJitterUnit, c.error);
}

void BM_Lifecycle_DecideOnClaim(benchmark::State& state) {
  for (const ClaimCase& c : kClaimCases) {
    if (engine::decide_on_claim(c.attempt, c.max_attempts, c.status, c.cancel).action != c.expected) {
      state.SkipWithError("decide_on_claim: unexpected action in the case table");
      return;
    }
  }
  for (auto _ : state) {
    for (const ClaimCase& c : kClaimCases) {
      engine::Decision d = engine::decide_on_claim(c.attempt, c.max_attempts, c.status, c.cancel);
      benchmark::DoNotOptimize(d);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kClaimCases.size()));
}
BENCHMARK(BM_Lifecycle_DecideOnClaim);

void BM_Lifecycle_DecideAfterAttempt(benchmark::State& state) {
  const RetryPolicy plain;  // 3 attempts, 1 s * 2^n up to 60 s
  RetryPolicy jittered;
  jittered.backoff.full_jitter = true;
  for (const AttemptCase& c : kAttemptCases) {
    const engine::Decision d = decide(c, plain, jittered);
    if (d.action != c.expected || (d.action == Action::retry_later && d.delay != c.delay)) {
      state.SkipWithError("decide_after_attempt: unexpected decision in the case table");
      return;
    }
  }
  for (auto _ : state) {
    for (const AttemptCase& c : kAttemptCases) {
      engine::Decision d = decide(c, plain, jittered);
      benchmark::DoNotOptimize(d);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kAttemptCases.size()));
}
BENCHMARK(BM_Lifecycle_DecideAfterAttempt);

}  // namespace
}  // namespace steadfast::bench
