// The lifecycle decisions, exhaustively: every AttemptEnd x cancel x last step x
// attempt position, and every claim, each row asserting the whole Decision.
#include "engine/lifecycle.h"
#include "engine/duration.h"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <limits>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace steadfast::engine {

// Readable failures: gtest prints a Decision through this.
void PrintTo(const Decision& d, std::ostream* os) {
  *os << "{" << to_string(d.action) << ", " << d.delay.count() << "ms, attempts " << d.attempts
      << ", \"" << d.reason << "\"}";
}

namespace {

using namespace std::chrono_literals;
using A = Action;
using E = AttemptEnd;

// Every row uses this policy: 3 attempts, 100ms doubling, no jitter.
RetryPolicy table_policy() {
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.backoff = Backoff{100ms, 2.0, 10s, false};
  return policy;
}

// A rate-limited retry records the attempt's first rate-limited answer and
// its wait (the delay) in the run.
Decision limited(Decision d) {
  d.rate_limited = 1;
  d.waited = d.delay;
  return d;
}

constexpr int kFirst = 1;
constexpr int kMiddle = 2;
constexpr int kLast = 3;     // == max_attempts
constexpr int kPastMax = 4;  // a claim raced past max_attempts
constexpr bool kCancel = true;
constexpr bool kNoCancel = false;
constexpr bool kLastStep = true;
constexpr bool kNotLast = false;

struct AfterRow {
  AttemptEnd end;
  int attempt;
  bool cancel;
  bool last_step;
  Decision expected;
};

std::string end_name(AttemptEnd end) {
  switch (end) {
    case E::succeeded: return "succeeded";
    case E::retryable_error: return "retryable_error";
    case E::fatal_error: return "fatal_error";
    case E::rate_limited: return "rate_limited";
    case E::timed_out: return "timed_out";
    case E::interrupted: return "interrupted";
    case E::lease_lost: return "lease_lost";
    case E::parked: return "parked";
  }
  return "unknown";
}

// The error message of every row is "boom"; rate_limited rows carry no retry_after.
const std::vector<AfterRow> kAfterRows = {
    // clang-format off
    // succeeded
    {E::succeeded, kFirst, kNoCancel, kNotLast, {A::advance, 0ms, 1, ""}},
    {E::succeeded, kMiddle, kNoCancel, kNotLast, {A::advance, 0ms, 2, ""}},
    {E::succeeded, kLast, kNoCancel, kNotLast, {A::advance, 0ms, 3, ""}},
    {E::succeeded, kPastMax, kNoCancel, kNotLast, {A::advance, 0ms, 4, ""}},
    {E::succeeded, kFirst, kNoCancel, kLastStep, {A::complete_run, 0ms, 1, ""}},
    {E::succeeded, kMiddle, kNoCancel, kLastStep, {A::complete_run, 0ms, 2, ""}},
    {E::succeeded, kLast, kNoCancel, kLastStep, {A::complete_run, 0ms, 3, ""}},
    {E::succeeded, kPastMax, kNoCancel, kLastStep, {A::complete_run, 0ms, 4, ""}},
    {E::succeeded, kFirst, kCancel, kNotLast, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::succeeded, kMiddle, kCancel, kNotLast, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::succeeded, kLast, kCancel, kNotLast, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::succeeded, kPastMax, kCancel, kNotLast, {A::cancel_run, 0ms, 4, "run cancelled"}},
    {E::succeeded, kFirst, kCancel, kLastStep, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::succeeded, kMiddle, kCancel, kLastStep, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::succeeded, kLast, kCancel, kLastStep, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::succeeded, kPastMax, kCancel, kLastStep, {A::cancel_run, 0ms, 4, "run cancelled"}},
    // retryable_error
    {E::retryable_error, kFirst, kNoCancel, kNotLast,
     {A::retry_later, 100ms, 1, "attempt 1 of 3 failed: boom"}},
    {E::retryable_error, kMiddle, kNoCancel, kNotLast,
     {A::retry_later, 200ms, 2, "attempt 2 of 3 failed: boom"}},
    {E::retryable_error, kLast, kNoCancel, kNotLast,
     {A::dead_letter, 0ms, 3, "attempts exhausted (3 of 3): boom"}},
    {E::retryable_error, kPastMax, kNoCancel, kNotLast,
     {A::dead_letter, 0ms, 4, "attempts exhausted (4 of 3): boom"}},
    {E::retryable_error, kFirst, kNoCancel, kLastStep,
     {A::retry_later, 100ms, 1, "attempt 1 of 3 failed: boom"}},
    {E::retryable_error, kMiddle, kNoCancel, kLastStep,
     {A::retry_later, 200ms, 2, "attempt 2 of 3 failed: boom"}},
    {E::retryable_error, kLast, kNoCancel, kLastStep,
     {A::dead_letter, 0ms, 3, "attempts exhausted (3 of 3): boom"}},
    {E::retryable_error, kPastMax, kNoCancel, kLastStep,
     {A::dead_letter, 0ms, 4, "attempts exhausted (4 of 3): boom"}},
    {E::retryable_error, kFirst, kCancel, kNotLast, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::retryable_error, kMiddle, kCancel, kNotLast, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::retryable_error, kLast, kCancel, kNotLast, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::retryable_error, kPastMax, kCancel, kNotLast, {A::cancel_run, 0ms, 4, "run cancelled"}},
    {E::retryable_error, kFirst, kCancel, kLastStep, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::retryable_error, kMiddle, kCancel, kLastStep, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::retryable_error, kLast, kCancel, kLastStep, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::retryable_error, kPastMax, kCancel, kLastStep, {A::cancel_run, 0ms, 4, "run cancelled"}},
    // fatal_error
    {E::fatal_error, kFirst, kNoCancel, kNotLast, {A::dead_letter, 0ms, 1, "fatal error: boom"}},
    {E::fatal_error, kMiddle, kNoCancel, kNotLast, {A::dead_letter, 0ms, 2, "fatal error: boom"}},
    {E::fatal_error, kLast, kNoCancel, kNotLast, {A::dead_letter, 0ms, 3, "fatal error: boom"}},
    {E::fatal_error, kPastMax, kNoCancel, kNotLast, {A::dead_letter, 0ms, 4, "fatal error: boom"}},
    {E::fatal_error, kFirst, kNoCancel, kLastStep, {A::dead_letter, 0ms, 1, "fatal error: boom"}},
    {E::fatal_error, kMiddle, kNoCancel, kLastStep, {A::dead_letter, 0ms, 2, "fatal error: boom"}},
    {E::fatal_error, kLast, kNoCancel, kLastStep, {A::dead_letter, 0ms, 3, "fatal error: boom"}},
    {E::fatal_error, kPastMax, kNoCancel, kLastStep, {A::dead_letter, 0ms, 4, "fatal error: boom"}},
    {E::fatal_error, kFirst, kCancel, kNotLast, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::fatal_error, kMiddle, kCancel, kNotLast, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::fatal_error, kLast, kCancel, kNotLast, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::fatal_error, kPastMax, kCancel, kNotLast, {A::cancel_run, 0ms, 4, "run cancelled"}},
    {E::fatal_error, kFirst, kCancel, kLastStep, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::fatal_error, kMiddle, kCancel, kLastStep, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::fatal_error, kLast, kCancel, kLastStep, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::fatal_error, kPastMax, kCancel, kLastStep, {A::cancel_run, 0ms, 4, "run cancelled"}},
    // rate_limited
    {E::rate_limited, kFirst, kNoCancel, kNotLast,
     limited({A::retry_later, 100ms, 0, "rate limited: boom"})},
    {E::rate_limited, kMiddle, kNoCancel, kNotLast,
     limited({A::retry_later, 200ms, 1, "rate limited: boom"})},
    {E::rate_limited, kLast, kNoCancel, kNotLast, limited({A::retry_later, 400ms, 2, "rate limited: boom"})},
    {E::rate_limited, kPastMax, kNoCancel, kNotLast,
     limited({A::retry_later, 800ms, 3, "rate limited: boom"})},
    {E::rate_limited, kFirst, kNoCancel, kLastStep,
     limited({A::retry_later, 100ms, 0, "rate limited: boom"})},
    {E::rate_limited, kMiddle, kNoCancel, kLastStep,
     limited({A::retry_later, 200ms, 1, "rate limited: boom"})},
    {E::rate_limited, kLast, kNoCancel, kLastStep,
     limited({A::retry_later, 400ms, 2, "rate limited: boom"})},
    {E::rate_limited, kPastMax, kNoCancel, kLastStep,
     limited({A::retry_later, 800ms, 3, "rate limited: boom"})},
    {E::rate_limited, kFirst, kCancel, kNotLast, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::rate_limited, kMiddle, kCancel, kNotLast, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::rate_limited, kLast, kCancel, kNotLast, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::rate_limited, kPastMax, kCancel, kNotLast, {A::cancel_run, 0ms, 4, "run cancelled"}},
    {E::rate_limited, kFirst, kCancel, kLastStep, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::rate_limited, kMiddle, kCancel, kLastStep, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::rate_limited, kLast, kCancel, kLastStep, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::rate_limited, kPastMax, kCancel, kLastStep, {A::cancel_run, 0ms, 4, "run cancelled"}},
    // timed_out
    {E::timed_out, kFirst, kNoCancel, kNotLast,
     {A::retry_later, 100ms, 1, "attempt 1 of 3 failed: boom"}},
    {E::timed_out, kMiddle, kNoCancel, kNotLast,
     {A::retry_later, 200ms, 2, "attempt 2 of 3 failed: boom"}},
    {E::timed_out, kLast, kNoCancel, kNotLast,
     {A::dead_letter, 0ms, 3, "attempts exhausted (3 of 3): boom"}},
    {E::timed_out, kPastMax, kNoCancel, kNotLast,
     {A::dead_letter, 0ms, 4, "attempts exhausted (4 of 3): boom"}},
    {E::timed_out, kFirst, kNoCancel, kLastStep,
     {A::retry_later, 100ms, 1, "attempt 1 of 3 failed: boom"}},
    {E::timed_out, kMiddle, kNoCancel, kLastStep,
     {A::retry_later, 200ms, 2, "attempt 2 of 3 failed: boom"}},
    {E::timed_out, kLast, kNoCancel, kLastStep,
     {A::dead_letter, 0ms, 3, "attempts exhausted (3 of 3): boom"}},
    {E::timed_out, kPastMax, kNoCancel, kLastStep,
     {A::dead_letter, 0ms, 4, "attempts exhausted (4 of 3): boom"}},
    {E::timed_out, kFirst, kCancel, kNotLast, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::timed_out, kMiddle, kCancel, kNotLast, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::timed_out, kLast, kCancel, kNotLast, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::timed_out, kPastMax, kCancel, kNotLast, {A::cancel_run, 0ms, 4, "run cancelled"}},
    {E::timed_out, kFirst, kCancel, kLastStep, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::timed_out, kMiddle, kCancel, kLastStep, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::timed_out, kLast, kCancel, kLastStep, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::timed_out, kPastMax, kCancel, kLastStep, {A::cancel_run, 0ms, 4, "run cancelled"}},
    // interrupted
    {E::interrupted, kFirst, kNoCancel, kNotLast,
     {A::release, 0ms, 1, "interrupted: the worker shut down"}},
    {E::interrupted, kMiddle, kNoCancel, kNotLast,
     {A::release, 0ms, 2, "interrupted: the worker shut down"}},
    {E::interrupted, kLast, kNoCancel, kNotLast,
     {A::release, 0ms, 3, "interrupted: the worker shut down"}},
    {E::interrupted, kPastMax, kNoCancel, kNotLast,
     {A::release, 0ms, 4, "interrupted: the worker shut down"}},
    {E::interrupted, kFirst, kNoCancel, kLastStep,
     {A::release, 0ms, 1, "interrupted: the worker shut down"}},
    {E::interrupted, kMiddle, kNoCancel, kLastStep,
     {A::release, 0ms, 2, "interrupted: the worker shut down"}},
    {E::interrupted, kLast, kNoCancel, kLastStep,
     {A::release, 0ms, 3, "interrupted: the worker shut down"}},
    {E::interrupted, kPastMax, kNoCancel, kLastStep,
     {A::release, 0ms, 4, "interrupted: the worker shut down"}},
    {E::interrupted, kFirst, kCancel, kNotLast, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::interrupted, kMiddle, kCancel, kNotLast, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::interrupted, kLast, kCancel, kNotLast, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::interrupted, kPastMax, kCancel, kNotLast, {A::cancel_run, 0ms, 4, "run cancelled"}},
    {E::interrupted, kFirst, kCancel, kLastStep, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {E::interrupted, kMiddle, kCancel, kLastStep, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {E::interrupted, kLast, kCancel, kLastStep, {A::cancel_run, 0ms, 3, "run cancelled"}},
    {E::interrupted, kPastMax, kCancel, kLastStep, {A::cancel_run, 0ms, 4, "run cancelled"}},
    // lease_lost
    {E::lease_lost, kFirst, kNoCancel, kNotLast,
     {A::abandon, 0ms, 1, "lease lost: another worker owns the step"}},
    {E::lease_lost, kMiddle, kNoCancel, kNotLast,
     {A::abandon, 0ms, 2, "lease lost: another worker owns the step"}},
    {E::lease_lost, kLast, kNoCancel, kNotLast,
     {A::abandon, 0ms, 3, "lease lost: another worker owns the step"}},
    {E::lease_lost, kPastMax, kNoCancel, kNotLast,
     {A::abandon, 0ms, 4, "lease lost: another worker owns the step"}},
    {E::lease_lost, kFirst, kNoCancel, kLastStep,
     {A::abandon, 0ms, 1, "lease lost: another worker owns the step"}},
    {E::lease_lost, kMiddle, kNoCancel, kLastStep,
     {A::abandon, 0ms, 2, "lease lost: another worker owns the step"}},
    {E::lease_lost, kLast, kNoCancel, kLastStep,
     {A::abandon, 0ms, 3, "lease lost: another worker owns the step"}},
    {E::lease_lost, kPastMax, kNoCancel, kLastStep,
     {A::abandon, 0ms, 4, "lease lost: another worker owns the step"}},
    {E::lease_lost, kFirst, kCancel, kNotLast,
     {A::abandon, 0ms, 1, "lease lost: another worker owns the step"}},
    {E::lease_lost, kMiddle, kCancel, kNotLast,
     {A::abandon, 0ms, 2, "lease lost: another worker owns the step"}},
    {E::lease_lost, kLast, kCancel, kNotLast,
     {A::abandon, 0ms, 3, "lease lost: another worker owns the step"}},
    {E::lease_lost, kPastMax, kCancel, kNotLast,
     {A::abandon, 0ms, 4, "lease lost: another worker owns the step"}},
    {E::lease_lost, kFirst, kCancel, kLastStep,
     {A::abandon, 0ms, 1, "lease lost: another worker owns the step"}},
    {E::lease_lost, kMiddle, kCancel, kLastStep,
     {A::abandon, 0ms, 2, "lease lost: another worker owns the step"}},
    {E::lease_lost, kLast, kCancel, kLastStep,
     {A::abandon, 0ms, 3, "lease lost: another worker owns the step"}},
    {E::lease_lost, kPastMax, kCancel, kLastStep,
     {A::abandon, 0ms, 4, "lease lost: another worker owns the step"}},
    // clang-format on
};

class DecideAfterAttempt : public ::testing::TestWithParam<AfterRow> {};

TEST_P(DecideAfterAttempt, GivesTheWholeDecision) {
  const AfterRow& row = GetParam();
  AttemptReport report;
  report.end = row.end;
  report.attempt = row.attempt;
  report.is_last_step = row.last_step;
  report.cancel_requested = row.cancel;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "boom"), row.expected);
}

INSTANTIATE_TEST_SUITE_P(Table, DecideAfterAttempt, ::testing::ValuesIn(kAfterRows),
                         [](const ::testing::TestParamInfo<AfterRow>& param_info) {
                           const AfterRow& row = param_info.param;
                           return end_name(row.end) + "_attempt" + std::to_string(row.attempt) +
                                  (row.cancel ? "_cancel" : "") +
                                  (row.last_step ? "_laststep" : "");
                         });

TEST(DecideAfterAttemptTable, CoversTheWholeProductOnce) {
  std::set<std::tuple<AttemptEnd, int, bool, bool>> seen;
  for (const AfterRow& row : kAfterRows) {
    EXPECT_TRUE(seen.emplace(row.end, row.attempt, row.cancel, row.last_step).second)
        << end_name(row.end) << " attempt " << row.attempt << " twice";
  }
  EXPECT_EQ(seen.size(), 7u * 4u * 2u * 2u);
}

TEST(DecideAfterAttempt, RateLimitedWaitsForRetryAfterWhenGiven) {
  AttemptReport report;
  report.end = E::rate_limited;
  report.attempt = 2;
  report.retry_after = 7s;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "429"),
            limited(Decision{A::retry_later, 7s, 1, "rate limited: 429"}));
}

TEST(DecideAfterAttempt, RateLimitedNegativeRetryAfterFallsBackToBackoff) {
  AttemptReport report;
  report.end = E::rate_limited;
  report.attempt = 1;
  report.retry_after = -5ms;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "429").delay, 100ms);
}

TEST(DecideAfterAttempt, RateLimitedNeverDeadLettersEvenFarPastMax) {
  AttemptReport report;
  report.end = E::rate_limited;
  report.attempt = 1000;
  const Decision d = decide_after_attempt(report, table_policy(), 0.0);
  EXPECT_EQ(d.action, A::retry_later);
  EXPECT_EQ(d.attempts, 999);
  EXPECT_EQ(d.delay, 10s);  // the backoff's cap
  EXPECT_EQ(d.reason, "rate limited");
}

TEST(DecideAfterAttempt, RetryableWaitsForRetryAfterWhenLongerThanTheBackoff) {
  AttemptReport report;
  report.end = E::retryable_error;
  report.attempt = 2;  // backoff 200ms
  report.retry_after = 5s;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "503"),
            (Decision{A::retry_later, 5s, 2, "attempt 2 of 3 failed: 503"}));
}

TEST(DecideAfterAttempt, RetryableKeepsTheBackoffWhenRetryAfterIsShorter) {
  AttemptReport report;
  report.end = E::retryable_error;
  report.attempt = 2;  // backoff 200ms
  report.retry_after = 50ms;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "503").delay, 200ms);
  report.retry_after = -5s;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "503").delay, 200ms);
}

TEST(DecideAfterAttempt, RetryableRetryAfterCanExceedTheBackoffCap) {
  AttemptReport report;
  report.end = E::retryable_error;
  report.attempt = 1;
  report.retry_after = 2min;  // the cap is 10s; the upstream knows better
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "503").delay, 2min);
}

TEST(DecideAfterAttempt, RetryableRetryAfterDoesNotBuyAnExtraAttempt) {
  AttemptReport report;
  report.end = E::retryable_error;
  report.attempt = 3;
  report.retry_after = 5s;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "503"),
            (Decision{A::dead_letter, 0ms, 3, "attempts exhausted (3 of 3): 503"}));
}

TEST(DecideAfterAttempt, RetryableRetryAfterUnderFullJitterIsStillAFloor) {
  RetryPolicy policy = table_policy();
  policy.backoff.full_jitter = true;
  AttemptReport report;
  report.end = E::retryable_error;
  report.attempt = 1;
  report.retry_after = 300ms;
  EXPECT_EQ(decide_after_attempt(report, policy, 0.0, "x").delay, 300ms);
}

TEST(DecideAfterAttempt, TimedOutIgnoresRetryAfter) {
  AttemptReport report;
  report.end = E::timed_out;
  report.attempt = 1;
  report.retry_after = 5s;  // only handler errors carry a hint
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5).delay, 100ms);
}

TEST(StepError, RetryableCarriesAnOptionalRetryAfter) {
  EXPECT_EQ(StepError::retryable("x").retry_after(), 0ms);
  EXPECT_EQ(StepError::retryable("x", 3s).retry_after(), 3s);
  EXPECT_EQ(StepError::retryable("x", 3s).kind(), StepError::Kind::retryable);
  EXPECT_EQ(StepError::rate_limited("x", 2s).retry_after(), 2s);
  EXPECT_EQ(StepError::fatal("x").retry_after(), 0ms);
}

TEST(DecideAfterAttempt, RetryUsesTheJitterSample) {
  RetryPolicy policy = table_policy();
  policy.backoff.full_jitter = true;
  AttemptReport report;
  report.end = E::retryable_error;
  report.attempt = 2;  // d = 200ms
  EXPECT_EQ(decide_after_attempt(report, policy, 0.25, "x").delay, 50ms);
  EXPECT_EQ(decide_after_attempt(report, policy, 0.0, "x").delay, 0ms);
}

TEST(DecideAfterAttempt, SingleAttemptPolicyDeadLettersAtOnce) {
  RetryPolicy policy = table_policy();
  policy.max_attempts = 1;
  AttemptReport report;
  report.end = E::retryable_error;
  report.attempt = 1;
  EXPECT_EQ(decide_after_attempt(report, policy, 0.5, "boom"),
            (Decision{A::dead_letter, 0ms, 1, "attempts exhausted (1 of 1): boom"}));
}

TEST(DecideAfterAttempt, ReasonsWithoutAMessage) {
  AttemptReport report;
  report.attempt = 1;
  report.end = E::fatal_error;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5).reason, "fatal error");
  report.end = E::retryable_error;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5).reason, "attempt 1 of 3 failed");
  report.end = E::timed_out;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5).reason,
            "attempt 1 of 3 failed: timed out");
  report.attempt = 3;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5).reason,
            "attempts exhausted (3 of 3): timed out");
}

TEST(DecideAfterAttempt, LeaseLostWinsOverCancelAndSuccess) {
  AttemptReport report;
  report.end = E::lease_lost;
  report.attempt = 2;
  report.cancel_requested = true;
  report.is_last_step = true;
  EXPECT_EQ(decide_after_attempt(report, table_policy(), 0.5, "boom").action, A::abandon);
}

// --- decide_on_claim: every status x cancel x attempt position, max_attempts 3 ---

struct ClaimRow {
  RunStatus status;
  int attempt;
  bool cancel;
  Decision expected;
};

constexpr std::string_view kCrashed = "the step's worker crashed or lost its lease";
const std::string kExhausted = "attempts exhausted (3 of 3): " + std::string(kCrashed);

const std::vector<ClaimRow> kClaimRows = {
    // clang-format off
    // queued
    {RunStatus::queued, kFirst, kNoCancel, {A::execute, 0ms, 1, ""}},
    {RunStatus::queued, kMiddle, kNoCancel, {A::execute, 0ms, 2, ""}},
    {RunStatus::queued, kLast, kNoCancel, {A::execute, 0ms, 3, ""}},
    {RunStatus::queued, kPastMax, kNoCancel, {A::dead_letter, 0ms, 3, kExhausted}},
    {RunStatus::queued, kFirst, kCancel, {A::cancel_run, 0ms, 0, "run cancelled"}},
    {RunStatus::queued, kMiddle, kCancel, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {RunStatus::queued, kLast, kCancel, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {RunStatus::queued, kPastMax, kCancel, {A::cancel_run, 0ms, 3, "run cancelled"}},
    // running
    {RunStatus::running, kFirst, kNoCancel, {A::execute, 0ms, 1, ""}},
    {RunStatus::running, kMiddle, kNoCancel, {A::execute, 0ms, 2, ""}},
    {RunStatus::running, kLast, kNoCancel, {A::execute, 0ms, 3, ""}},
    {RunStatus::running, kPastMax, kNoCancel, {A::dead_letter, 0ms, 3, kExhausted}},
    {RunStatus::running, kFirst, kCancel, {A::cancel_run, 0ms, 0, "run cancelled"}},
    {RunStatus::running, kMiddle, kCancel, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {RunStatus::running, kLast, kCancel, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {RunStatus::running, kPastMax, kCancel, {A::cancel_run, 0ms, 3, "run cancelled"}},
    // retrying
    {RunStatus::retrying, kFirst, kNoCancel, {A::execute, 0ms, 1, ""}},
    {RunStatus::retrying, kMiddle, kNoCancel, {A::execute, 0ms, 2, ""}},
    {RunStatus::retrying, kLast, kNoCancel, {A::execute, 0ms, 3, ""}},
    {RunStatus::retrying, kPastMax, kNoCancel, {A::dead_letter, 0ms, 3, kExhausted}},
    {RunStatus::retrying, kFirst, kCancel, {A::cancel_run, 0ms, 0, "run cancelled"}},
    {RunStatus::retrying, kMiddle, kCancel, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {RunStatus::retrying, kLast, kCancel, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {RunStatus::retrying, kPastMax, kCancel, {A::cancel_run, 0ms, 3, "run cancelled"}},
    // completed
    {RunStatus::completed, kFirst, kNoCancel, {A::discard, 0ms, 0, "run already completed"}},
    {RunStatus::completed, kMiddle, kNoCancel, {A::discard, 0ms, 1, "run already completed"}},
    {RunStatus::completed, kLast, kNoCancel, {A::discard, 0ms, 2, "run already completed"}},
    {RunStatus::completed, kPastMax, kNoCancel, {A::discard, 0ms, 3, "run already completed"}},
    {RunStatus::completed, kFirst, kCancel, {A::discard, 0ms, 0, "run already completed"}},
    {RunStatus::completed, kMiddle, kCancel, {A::discard, 0ms, 1, "run already completed"}},
    {RunStatus::completed, kLast, kCancel, {A::discard, 0ms, 2, "run already completed"}},
    {RunStatus::completed, kPastMax, kCancel, {A::discard, 0ms, 3, "run already completed"}},
    // failed
    {RunStatus::failed, kFirst, kNoCancel, {A::discard, 0ms, 0, "run already failed"}},
    {RunStatus::failed, kMiddle, kNoCancel, {A::discard, 0ms, 1, "run already failed"}},
    {RunStatus::failed, kLast, kNoCancel, {A::discard, 0ms, 2, "run already failed"}},
    {RunStatus::failed, kPastMax, kNoCancel, {A::discard, 0ms, 3, "run already failed"}},
    {RunStatus::failed, kFirst, kCancel, {A::discard, 0ms, 0, "run already failed"}},
    {RunStatus::failed, kMiddle, kCancel, {A::discard, 0ms, 1, "run already failed"}},
    {RunStatus::failed, kLast, kCancel, {A::discard, 0ms, 2, "run already failed"}},
    {RunStatus::failed, kPastMax, kCancel, {A::discard, 0ms, 3, "run already failed"}},
    // cancelled
    {RunStatus::cancelled, kFirst, kNoCancel, {A::discard, 0ms, 0, "run already cancelled"}},
    {RunStatus::cancelled, kMiddle, kNoCancel, {A::discard, 0ms, 1, "run already cancelled"}},
    {RunStatus::cancelled, kLast, kNoCancel, {A::discard, 0ms, 2, "run already cancelled"}},
    {RunStatus::cancelled, kPastMax, kNoCancel, {A::discard, 0ms, 3, "run already cancelled"}},
    {RunStatus::cancelled, kFirst, kCancel, {A::discard, 0ms, 0, "run already cancelled"}},
    {RunStatus::cancelled, kMiddle, kCancel, {A::discard, 0ms, 1, "run already cancelled"}},
    {RunStatus::cancelled, kLast, kCancel, {A::discard, 0ms, 2, "run already cancelled"}},
    {RunStatus::cancelled, kPastMax, kCancel, {A::discard, 0ms, 3, "run already cancelled"}},
    // scheduled
    {RunStatus::scheduled, kFirst, kNoCancel, {A::execute, 0ms, 1, ""}},
    {RunStatus::scheduled, kMiddle, kNoCancel, {A::execute, 0ms, 2, ""}},
    {RunStatus::scheduled, kLast, kNoCancel, {A::execute, 0ms, 3, ""}},
    {RunStatus::scheduled, kPastMax, kNoCancel, {A::dead_letter, 0ms, 3, kExhausted}},
    {RunStatus::scheduled, kFirst, kCancel, {A::cancel_run, 0ms, 0, "run cancelled"}},
    {RunStatus::scheduled, kMiddle, kCancel, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {RunStatus::scheduled, kLast, kCancel, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {RunStatus::scheduled, kPastMax, kCancel, {A::cancel_run, 0ms, 3, "run cancelled"}},
    // waiting
    {RunStatus::waiting, kFirst, kNoCancel, {A::execute, 0ms, 1, ""}},
    {RunStatus::waiting, kMiddle, kNoCancel, {A::execute, 0ms, 2, ""}},
    {RunStatus::waiting, kLast, kNoCancel, {A::execute, 0ms, 3, ""}},
    {RunStatus::waiting, kPastMax, kNoCancel, {A::dead_letter, 0ms, 3, kExhausted}},
    {RunStatus::waiting, kFirst, kCancel, {A::cancel_run, 0ms, 0, "run cancelled"}},
    {RunStatus::waiting, kMiddle, kCancel, {A::cancel_run, 0ms, 1, "run cancelled"}},
    {RunStatus::waiting, kLast, kCancel, {A::cancel_run, 0ms, 2, "run cancelled"}},
    {RunStatus::waiting, kPastMax, kCancel, {A::cancel_run, 0ms, 3, "run cancelled"}},
    // clang-format on
};

class DecideOnClaim : public ::testing::TestWithParam<ClaimRow> {};

TEST_P(DecideOnClaim, GivesTheWholeDecision) {
  const ClaimRow& row = GetParam();
  EXPECT_EQ(decide_on_claim(row.attempt, 3, row.status, row.cancel), row.expected);
}

INSTANTIATE_TEST_SUITE_P(Table, DecideOnClaim, ::testing::ValuesIn(kClaimRows),
                         [](const ::testing::TestParamInfo<ClaimRow>& param_info) {
                           const ClaimRow& row = param_info.param;
                           return std::string(to_string(row.status)) + "_attempt" +
                                  std::to_string(row.attempt) + (row.cancel ? "_cancel" : "");
                         });

TEST(DecideOnClaimTable, CoversTheWholeProductOnce) {
  std::set<std::tuple<RunStatus, int, bool>> seen;
  for (const ClaimRow& row : kClaimRows) {
    EXPECT_TRUE(seen.emplace(row.status, row.attempt, row.cancel).second);
  }
  EXPECT_EQ(seen.size(), 8u * 4u * 2u);
}

TEST(DecideOnClaim, CrashLoopEndsInTheDeadLetterQueue) {
  // A step that kills its worker on every attempt: claims 1..3 execute, the 4th
  // claim (a reclaim after the 3rd crash) dead-letters instead of looping.
  for (int claim = 1; claim <= 3; ++claim) {
    EXPECT_EQ(decide_on_claim(claim, 3, RunStatus::running, false).action, A::execute);
  }
  EXPECT_EQ(decide_on_claim(4, 3, RunStatus::running, false).action, A::dead_letter);
  EXPECT_EQ(decide_on_claim(50, 3, RunStatus::running, false).reason,
            "attempts exhausted (49 of 3): " + std::string(kCrashed));
}

// --- backoff_delay ---

TEST(BackoffDelay, DoublesFromInitial) {
  const Backoff backoff{100ms, 2.0, 1h, false};
  const std::vector<std::chrono::milliseconds> expected = {100ms,  200ms,  400ms,  800ms,
                                                           1600ms, 3200ms, 6400ms, 12800ms};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(backoff_delay(backoff, static_cast<int>(i) + 1, 0.5), expected[i])
        << "attempt " << i + 1;
  }
}

TEST(BackoffDelay, StopsAtMax) {
  const Backoff backoff{100ms, 2.0, 1000ms, false};
  EXPECT_EQ(backoff_delay(backoff, 4, 0.5), 800ms);
  EXPECT_EQ(backoff_delay(backoff, 5, 0.5), 1000ms);
  EXPECT_EQ(backoff_delay(backoff, 6, 0.5), 1000ms);
  EXPECT_EQ(backoff_delay(backoff, 100, 0.5), 1000ms);
}

TEST(BackoffDelay, MultiplierOneIsConstant) {
  const Backoff backoff{250ms, 1.0, 10s, false};
  for (int attempt : {1, 2, 3, 10, 1000, INT_MAX}) {
    EXPECT_EQ(backoff_delay(backoff, attempt, 0.5), 250ms) << "attempt " << attempt;
  }
}

TEST(BackoffDelay, FractionalMultiplierRoundsDown) {
  const Backoff backoff{100ms, 1.5, 10s, false};
  EXPECT_EQ(backoff_delay(backoff, 1, 0.5), 100ms);
  EXPECT_EQ(backoff_delay(backoff, 2, 0.5), 150ms);
  EXPECT_EQ(backoff_delay(backoff, 3, 0.5), 225ms);
  EXPECT_EQ(backoff_delay(backoff, 4, 0.5), 337ms);
}

TEST(BackoffDelay, AttemptBelowOneCountsAsOne) {
  const Backoff backoff{100ms, 2.0, 10s, false};
  EXPECT_EQ(backoff_delay(backoff, 0, 0.5), 100ms);
  EXPECT_EQ(backoff_delay(backoff, -7, 0.5), 100ms);
  EXPECT_EQ(backoff_delay(backoff, INT_MIN, 0.5), 100ms);
}

TEST(BackoffDelay, ZeroInitialMeansImmediateRetry) {
  const Backoff backoff{0ms, 2.0, 10s, false};
  EXPECT_EQ(backoff_delay(backoff, 5, 0.5), 0ms);
}

TEST(BackoffDelay, MaxBelowInitialCaps) {
  const Backoff backoff{5s, 2.0, 1s, false};
  EXPECT_EQ(backoff_delay(backoff, 1, 0.5), 1s);
}

TEST(BackoffDelay, HugeAttemptsDoNotOverflow) {
  const Backoff backoff{100ms, 2.0, 10s, false};
  EXPECT_EQ(backoff_delay(backoff, INT_MAX, 0.5), 10s);
  EXPECT_EQ(backoff_delay(backoff, 1025, 0.5), 10s);  // 2^1024 is inf in double
}

TEST(BackoffDelay, HugeValuesAtTheLimitsOfMilliseconds) {
  const auto biggest = std::chrono::milliseconds::max();
  EXPECT_EQ(backoff_delay(Backoff{100ms, 2.0, biggest, false}, INT_MAX, 0.5), biggest);
  EXPECT_EQ(backoff_delay(Backoff{biggest, 1.0, biggest, false}, 1, 0.5), biggest);
  EXPECT_EQ(backoff_delay(Backoff{biggest, 1e300, biggest, false}, 3, 0.5), biggest);
  const auto jittered = backoff_delay(Backoff{100ms, 2.0, biggest, true}, INT_MAX, 0.999999);
  EXPECT_GE(jittered.count(), 0);
  EXPECT_LE(jittered, biggest);
}

TEST(BackoffDelay, UnvalidatedMultipliersStayInRange) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(backoff_delay(Backoff{100ms, nan, 10s, false}, 3, 0.5), 10s);
  EXPECT_EQ(backoff_delay(Backoff{100ms, inf, 10s, false}, 3, 0.5), 10s);
  EXPECT_EQ(backoff_delay(Backoff{100ms, 0.0, 10s, false}, 3, 0.5), 0ms);
  EXPECT_EQ(backoff_delay(Backoff{-100ms, 2.0, 10s, false}, 3, 0.5), 0ms);
  EXPECT_EQ(backoff_delay(Backoff{100ms, 2.0, -1s, false}, 3, 0.5), 0ms);
}

TEST(BackoffDelay, FullJitterScalesTheDelay) {
  const Backoff backoff{100ms, 2.0, 10s, true};  // attempt 3: d = 400ms
  EXPECT_EQ(backoff_delay(backoff, 3, 0.0), 0ms);
  EXPECT_EQ(backoff_delay(backoff, 3, 0.5), 200ms);
  EXPECT_EQ(backoff_delay(backoff, 3, 0.999999), 399ms);
  EXPECT_EQ(backoff_delay(backoff, 100, 0.5), 5s);  // jitter applies after the cap
}

TEST(BackoffDelay, FullJitterStaysWithinBounds) {
  const Backoff backoff{100ms, 2.0, 10s, true};
  for (int attempt = 1; attempt <= 12; ++attempt) {
    const auto ceiling = backoff_delay(Backoff{100ms, 2.0, 10s, false}, attempt, 0.0);
    for (int i = 0; i < 1000; ++i) {
      const double unit = i / 1000.0;
      const auto d = backoff_delay(backoff, attempt, unit);
      ASSERT_GE(d.count(), 0) << "attempt " << attempt << " unit " << unit;
      ASSERT_LT(d, ceiling) << "attempt " << attempt << " unit " << unit;
    }
  }
}

TEST(BackoffDelay, JitterSampleOutOfRangeIsClamped) {
  const Backoff backoff{100ms, 2.0, 10s, true};
  EXPECT_EQ(backoff_delay(backoff, 1, -3.0), 0ms);
  EXPECT_EQ(backoff_delay(backoff, 1, 1.0), 100ms);
  EXPECT_EQ(backoff_delay(backoff, 1, 42.0), 100ms);
  EXPECT_EQ(backoff_delay(backoff, 1, std::numeric_limits<double>::quiet_NaN()), 0ms);
}

// --- names ---

TEST(RunStatus, RoundTripsThroughText) {
  for (RunStatus s : {RunStatus::scheduled, RunStatus::queued, RunStatus::running,
                      RunStatus::waiting, RunStatus::retrying, RunStatus::completed,
                      RunStatus::failed, RunStatus::cancelled}) {
    EXPECT_EQ(parse_run_status(to_string(s)), s);
  }
  EXPECT_EQ(to_string(RunStatus::failed), "failed");
  EXPECT_EQ(parse_run_status(""), std::nullopt);
  EXPECT_EQ(parse_run_status("Completed"), std::nullopt);
  EXPECT_EQ(parse_run_status("done"), std::nullopt);
  EXPECT_EQ(to_string(RunStatus::scheduled), "scheduled");
  EXPECT_EQ(to_string(RunStatus::waiting), "waiting");
}

TEST(RunStatus, TerminalOnesAreCompletedFailedCancelled) {
  EXPECT_FALSE(is_terminal(RunStatus::scheduled));
  EXPECT_FALSE(is_terminal(RunStatus::queued));
  EXPECT_FALSE(is_terminal(RunStatus::running));
  EXPECT_FALSE(is_terminal(RunStatus::waiting));
  EXPECT_FALSE(is_terminal(RunStatus::retrying));
  EXPECT_TRUE(is_terminal(RunStatus::completed));
  EXPECT_TRUE(is_terminal(RunStatus::failed));
  EXPECT_TRUE(is_terminal(RunStatus::cancelled));
}

TEST(ActionNames, AreDistinctSnakeCase) {
  std::set<std::string_view> names;
  for (Action a : {A::execute, A::advance, A::complete_run, A::retry_later, A::release,
                   A::dead_letter, A::cancel_run, A::discard, A::abandon}) {
    EXPECT_TRUE(names.insert(to_string(a)).second) << to_string(a);
  }
  EXPECT_EQ(to_string(A::retry_later), "retry_later");
  EXPECT_EQ(to_string(A::complete_run), "complete_run");
}


// --- bounded waiting: retry.max_rate_limited and retry.max_wait ---

RetryPolicy bounded_policy() {
  RetryPolicy p = table_policy();
  p.max_rate_limited = 3;
  p.max_wait = 10s;
  return p;
}

struct BoundRow {
  const char* name;
  int attempt;
  int rate_limited_before;               // this attempt's earlier rate-limited answers
  std::chrono::milliseconds waited;      // and its waiting so far
  std::chrono::milliseconds retry_after; // this answer's
  Decision expected;
};

Decision counted(Decision d, int rate_limited, std::chrono::milliseconds waited) {
  d.rate_limited = rate_limited;
  d.waited = waited;
  return d;
}

const std::vector<BoundRow> kBoundRows = {
    {"first_answer_waits", 1, 0, 0ms, 2s,
     counted({A::retry_later, 2s, 0, "rate limited: 429"}, 1, 2s)},
    {"below_both_bounds_waits", 2, 1, 4s, 2s,
     counted({A::retry_later, 2s, 1, "rate limited: 429"}, 2, 6s)},
    {"a_wait_ending_exactly_at_max_wait_is_allowed", 1, 1, 8s, 2s,
     counted({A::retry_later, 2s, 0, "rate limited: 429"}, 2, 10s)},
    {"max_rate_limited_fails_the_attempt", 1, 2, 1s, 1s,
     {A::retry_later, 100ms, 1,
      "attempt 1 of 3 failed: rate limited 3 times (retry.max_rate_limited): 429"}},
    {"max_rate_limited_on_the_last_attempt_dead_letters", 3, 2, 1s, 1s,
     {A::dead_letter, 0ms, 3,
      "attempts exhausted (3 of 3): rate limited 3 times (retry.max_rate_limited): 429"}},
    {"a_wait_past_max_wait_fails_the_attempt", 1, 1, 9s, 2s,
     {A::retry_later, 100ms, 1,
      "attempt 1 of 3 failed: waited 9s for admission; the next wait of 2s would pass 10s "
      "(retry.max_wait): 429"}},
    {"a_huge_retry_after_fails_at_once", 2, 0, 0ms, 24h,
     {A::retry_later, 200ms, 2,
      "attempt 2 of 3 failed: waited 0s for admission; the next wait of 24h would pass 10s "
      "(retry.max_wait): 429"}},
    {"max_wait_on_the_last_attempt_dead_letters", 3, 0, 9s, 2s,
     {A::dead_letter, 0ms, 3,
      "attempts exhausted (3 of 3): waited 9s for admission; the next wait of 2s would pass 10s "
      "(retry.max_wait): 429"}},
    {"max_rate_limited_is_checked_first", 1, 2, 9s, 2s,
     {A::retry_later, 100ms, 1,
      "attempt 1 of 3 failed: rate limited 3 times (retry.max_rate_limited): 429"}},
};

void PrintTo(const BoundRow& r, std::ostream* os) { *os << r.name; }

class RateLimitBounds : public ::testing::TestWithParam<BoundRow> {};

TEST_P(RateLimitBounds, DecideTheAnswer) {
  const BoundRow& row = GetParam();
  AttemptReport report;
  report.end = E::rate_limited;
  report.attempt = row.attempt;
  report.rate_limited = row.rate_limited_before;
  report.waited = row.waited;
  report.retry_after = row.retry_after;
  EXPECT_EQ(decide_after_attempt(report, bounded_policy(), 0.5, "429"), row.expected);
}

INSTANTIATE_TEST_SUITE_P(Table, RateLimitBounds, ::testing::ValuesIn(kBoundRows),
                         [](const ::testing::TestParamInfo<BoundRow>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(RateLimitBounds, ZeroMeansNoBound) {
  RetryPolicy p = table_policy();
  p.max_rate_limited = 0;
  p.max_wait = 0ms;
  AttemptReport report;
  report.end = E::rate_limited;
  report.rate_limited = 1'000'000;
  report.waited = 1000h;
  report.retry_after = 1s;
  const Decision d = decide_after_attempt(report, p, 0.0, "429");
  EXPECT_EQ(d.action, A::retry_later);
  EXPECT_EQ(d.attempts, 0);
  EXPECT_EQ(d.rate_limited, 1'000'001);
}

TEST(RateLimitBounds, TheDefaultsAreAHundredAnswersAndAnHour) {
  const RetryPolicy p;
  EXPECT_EQ(p.max_rate_limited, 100);
  EXPECT_EQ(p.max_wait, 1h);
  AttemptReport report;
  report.end = E::rate_limited;
  report.rate_limited = 99;
  report.retry_after = 1s;
  EXPECT_EQ(decide_after_attempt(report, p, 0.0, "429").reason,
            "attempt 1 of 3 failed: rate limited 100 times (retry.max_rate_limited): 429");
}

TEST(RateLimitBounds, OtherEndsResetTheCounters) {
  for (const AttemptEnd end : {E::succeeded, E::retryable_error, E::fatal_error, E::timed_out}) {
    AttemptReport report;
    report.end = end;
    report.rate_limited = 5;
    report.waited = 5s;
    const Decision d = decide_after_attempt(report, bounded_policy(), 0.0, "x");
    EXPECT_EQ(d.rate_limited, 0) << to_string(d.action);
    EXPECT_EQ(d.waited, 0ms) << to_string(d.action);
  }
}

TEST(AdmissionWaitExceeded, NamesTheBoundOncePastIt) {
  EXPECT_EQ(admission_wait_exceeded(bounded_policy(), 9999ms), std::nullopt);
  EXPECT_EQ(admission_wait_exceeded(bounded_policy(), 10s),
            "waited 10s for admission (retry.max_wait 10s)");
  RetryPolicy unbounded;
  unbounded.max_wait = 0ms;
  EXPECT_EQ(admission_wait_exceeded(unbounded, 1000h), std::nullopt);
}

// --- a step this worker has no handler for (rolling deploys) ---

NoHandler no_handler() {
  NoHandler n;
  n.attempt = 3;
  n.what = "workflow 'new' step 'a'";
  n.worker_id = "w-old";
  n.queue = "default";
  n.grace = 10min;
  return n;
}

TEST(DecideNoHandler, AnotherLiveWorkerHasItSoItIsHandedBackSoon) {
  NoHandler n = no_handler();
  n.another_worker_has_it = true;
  n.unhandled_for = 1h;  // never dead-letters while a worker can take it
  Decision expected{A::release, kHandBackDelay, 2, ""};
  expected.unhandled = true;
  EXPECT_EQ(decide_no_handler(n), expected);
}

TEST(DecideNoHandler, NoLiveWorkerHasItSoItWaitsForOneWithinTheGrace) {
  using Since = std::optional<std::chrono::milliseconds>;
  for (const Since& since : {Since{}, Since{9min}}) {
    NoHandler n = no_handler();
    n.unhandled_for = since;
    Decision expected{A::release, 5s, 2, ""};
    expected.unhandled = true;
    expected.no_worker_queue = "default";
    EXPECT_EQ(decide_no_handler(n), expected);
  }
}

TEST(DecideNoHandler, PastTheGraceItIsDeadLetteredSpendingNoAttempt) {
  NoHandler n = no_handler();
  n.unhandled_for = 10min;
  EXPECT_EQ(decide_no_handler(n),
            (Decision{A::dead_letter, 0ms, 2,
                      "no live worker on queue 'default' has a handler for workflow 'new' step 'a' "
                      "(worker w-old has none) for 10m, past the grace of 10m "
                      "(--no-handler-grace)"}));
}

TEST(DecideNoHandler, AZeroGraceDeadLettersAtOnce) {
  NoHandler n = no_handler();
  n.grace = 0ms;
  const Decision d = decide_no_handler(n);
  EXPECT_EQ(d.action, A::dead_letter);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.reason,
            "worker w-old has no handler for workflow 'new' step 'a' and no live worker on queue "
            "'default' has one (--no-handler-grace 0s)");
}

TEST(DecideNoHandler, TheRecheckDelayIsATenthOfTheGraceWithinBounds) {
  EXPECT_EQ(no_worker_delay(10min), 5s);
  EXPECT_EQ(no_worker_delay(20s), 2s);
  EXPECT_EQ(no_worker_delay(300ms), 100ms);
}


}  // namespace
}  // namespace steadfast::engine
