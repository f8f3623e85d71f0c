// Durable waits, pure: when a wait is due (wait_due_ms: `for` from the first
// claim, `until` from the run's data, a stored due time kept), the decision a
// parked wait makes (sleep, the claim refunded; cancel first), and the
// Workflow::wait checks (unit).
#include "engine/wait_due.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/lifecycle.h"
#include "engine/step_machine.h"

namespace steadfast::engine {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kClaim = 1'796'300'000'000;  // 2026-12-03T…Z, as Unix ms

std::string due_or_error(const WaitSpec& spec, const Json& input, std::optional<std::int64_t> stored = std::nullopt) {
  try {
    return std::to_string(wait_due_ms(spec, input, {}, stored, kClaim));
  } catch (const WaitDueError& e) {
    return std::string("error: ") + e.what();
  }
}

TEST(WaitDue, ForCountsFromTheClaimUntilFromTheRunAndAStoredTimeIsKept) {
  struct Case {
    std::string name;
    WaitSpec spec;
    Json input;
    std::optional<std::int64_t> stored;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"for: from the claim", WaitSpec::sleep_for(milliseconds(7'200'000)), Json::object(), std::nullopt,
       std::to_string(kClaim + 7'200'000)},
      {"a stored due time wins (claimed again later)", WaitSpec::sleep_for(milliseconds(7'200'000)), Json::object(), kClaim - 5,
       std::to_string(kClaim - 5)},
      {"until: RFC 3339 UTC", WaitSpec::sleep_until("{{input.at}}"), Json{{"at", "2026-12-24T08:00:00Z"}}, std::nullopt,
       "1798099200000"},
      {"until: with an offset and a fraction", WaitSpec::sleep_until("{{input.at}}"),
       Json{{"at", "2026-12-24T09:00:00.250+01:00"}}, std::nullopt, "1798099200250"},
      {"until: Unix ms", WaitSpec::sleep_until("{{input.at}}"), Json{{"at", 1798099200000}}, std::nullopt,
       "1798099200000"},
      {"until: in the past is due at once (the caller completes it)", WaitSpec::sleep_until("{{input.at}}"),
       Json{{"at", "2020-01-01T00:00:00Z"}}, std::nullopt, "1577836800000"},
      {"until: not a time", WaitSpec::sleep_until("{{input.at}}"), Json{{"at", "tomorrow"}}, std::nullopt,
       "error: `until` gave 'tomorrow', which is neither an RFC 3339 time (2026-12-24T08:00:00Z) nor Unix "
       "milliseconds"},
      {"until: a missing value", WaitSpec::sleep_until("{{input.at}}"), Json::object(), std::nullopt, "error: `until`: "},
      {"until: more than a year ahead", WaitSpec::sleep_until("{{input.at}}"), Json{{"at", "2030-01-01T00:00:00Z"}},
       std::nullopt, "error: `until` gave '2030-01-01T00:00:00Z', more than 365 days ahead"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string got = due_or_error(c.spec, c.input, c.stored);
    if (c.expected.ends_with(": ")) {
      EXPECT_TRUE(got.starts_with(c.expected)) << got;
    } else {
      EXPECT_EQ(got, c.expected);
    }
  }
}

TEST(WaitDecision, AParkedWaitSleepsWithTheClaimRefundedUnlessCancelled) {
  AttemptReport r;
  r.end = AttemptEnd::parked;
  r.attempt = 1;
  r.wake_at_ms = kClaim + 1000;
  const Decision d = decide_after_attempt(r, RetryPolicy{}, 0.0);
  EXPECT_EQ(d.action, Action::sleep);
  EXPECT_EQ(d.attempts, 0);
  EXPECT_EQ(d.wake_at_ms, kClaim + 1000);
  r.cancel_requested = true;
  EXPECT_EQ(decide_after_attempt(r, RetryPolicy{}, 0.0).action, Action::cancel_run);
}

TEST(WaitDecision, TheStepMachineWritesTheSleepAndEndsNoAttempt) {
  StepMachine m(1 << 20, 1);
  ClaimFacts facts;
  facts.deliveries = 1;
  facts.attempt = 1;
  (void)m.on(step_event::ClaimStarted{facts});
  ASSERT_EQ(m.state(), StepState::running);
  HandlerResult parked;
  parked.kind = HandlerResult::Kind::parked;
  parked.wake_at_ms = kClaim + 60'000;
  const StepActions a = m.on(step_event::HandlerReturned{parked, 0.0});
  ASSERT_TRUE(a.write.has_value());
  EXPECT_EQ(a.write->action, Action::sleep);
  EXPECT_EQ(a.write->wake_at_ms, kClaim + 60'000);
  EXPECT_EQ(a.write->attempts, 0);
  EXPECT_FALSE(a.attempt_ended.has_value()) << "neither succeeded nor failed";
  EXPECT_TRUE(a.free_slot);
  EXPECT_EQ(m.state(), StepState::applying);
}

TEST(WorkflowWait, RefusesNoneOrBothFormsAndBadValues) {
  const auto refusal = [](WaitSpec spec) -> std::string {
    try {
      Workflow("w").wait("nap", std::move(spec));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(refusal(WaitSpec::sleep_for(milliseconds(1000))), "accepted");
  EXPECT_EQ(refusal(WaitSpec::sleep_until("{{input.at}}")), "accepted");
  WaitSpec both_timed = WaitSpec::sleep_for(milliseconds(1000));
  both_timed.until = "{{input.at}}";
  const std::string one_form =
      "wait step 'nap': give exactly one of `for` (a duration), `until` (a time) and `signal` (a name)";
  EXPECT_EQ(refusal(WaitSpec{}), one_form);
  EXPECT_EQ(refusal(both_timed), one_form);
  EXPECT_EQ(refusal(WaitSpec::sleep_for(kMaxWait + milliseconds(1))), "wait step 'nap': `for` must be more than 0 and at most 8760h");
  EXPECT_EQ(refusal(WaitSpec::sleep_for(milliseconds(-5))), "wait step 'nap': `for` must be more than 0 and at most 8760h");
  EXPECT_TRUE(refusal(WaitSpec::sleep_until("{{input.at")).starts_with("wait step 'nap': `until`: ")) << refusal(WaitSpec::sleep_until("{{input.at"));
  const auto signal_wait = [](std::string name, milliseconds timeout, OnTimeout on_timeout = OnTimeout::fail) {
    return WaitSpec::for_signal(std::move(name), timeout, on_timeout);
  };
  EXPECT_EQ(refusal(signal_wait("approved", milliseconds(0))), "accepted") << "no timeout: it waits for good";
  EXPECT_EQ(refusal(signal_wait("approved", kMaxWait, OnTimeout::continue_)), "accepted");
  EXPECT_EQ(refusal(signal_wait("approved", kMaxWait + milliseconds(1))),
            "wait step 'nap': `timeout` must be more than 0 and at most 8760h");
  EXPECT_EQ(refusal(signal_wait("approved", milliseconds(-1))),
            "wait step 'nap': `timeout` must be more than 0 and at most 8760h");
  EXPECT_EQ(refusal(signal_wait("not ok", milliseconds(0))),
            "wait step 'nap': signal name 'not ok' is invalid: it must match ^[A-Za-z0-9_-]{1,64}$");
  EXPECT_EQ(refusal(signal_wait(std::string(65, 'a'), milliseconds(0))).substr(0, 34),
            "wait step 'nap': signal name 'aaaa");
  WaitSpec both = signal_wait("approved", milliseconds(0));
  both.duration = milliseconds(1000);
  EXPECT_EQ(refusal(both), one_form);
  WaitSpec timed_with_timeout = WaitSpec::sleep_for(milliseconds(1000));
  timed_with_timeout.timeout = milliseconds(5000);
  EXPECT_EQ(refusal(timed_with_timeout),
            "wait step 'nap': `timeout` and `on_timeout` belong to a signal wait (`signal`)");
  const Workflow w = Workflow("w").wait("nap", WaitSpec::sleep_for(milliseconds(1000)), "slow");
  ASSERT_TRUE(w.steps()[0].wait.has_value());
  EXPECT_FALSE(static_cast<bool>(w.steps()[0].handler));
  EXPECT_EQ(w.steps()[0].options.queue, "slow");
}

}  // namespace
}  // namespace steadfast::engine
