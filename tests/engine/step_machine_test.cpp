// The in-flight step's state machine: every state × event (the illegal pairs
// included), then the decisions the events carry (claim facts, handler results,
// re-deliveries), each row asserting the next state and every action.
#include "engine/step_machine.h"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace steadfast::engine {
namespace {

using namespace std::chrono_literals;
namespace ev = step_event;
using S = StepState;

constexpr std::size_t kMaxOutput = 100;

ClaimFacts facts(bool limited = false) {
  ClaimFacts f;
  f.deliveries = 1;
  f.attempt = 1;
  f.status = RunStatus::running;
  f.limited = limited;
  f.retry.max_attempts = 3;
  f.retry.backoff = Backoff{100ms, 2.0, 10s, false};
  f.worker_id = "w1";
  return f;
}

HandlerResult ok_result(std::size_t bytes = 10) {
  HandlerResult r;
  r.output_bytes = bytes;
  return r;
}

// The actions as one line, in a fixed order: "cancel write:advance free ...".
std::string describe(const StepActions& a) {
  std::vector<std::string> parts;
  if (a.illegal) parts.emplace_back("illegal");
  if (a.cancel_handler) parts.emplace_back("cancel");
  if (a.write) parts.push_back("write:" + std::string(to_string(a.write->action)));
  if (a.release_limit) parts.emplace_back("release_limit");
  if (a.start_admission) parts.emplace_back("admit");
  if (a.launch_handler) parts.emplace_back("launch");
  if (a.free_slot) parts.emplace_back("free");
  if (a.forget) parts.emplace_back("forget");
  if (a.count_stale) parts.emplace_back("stale");
  if (a.update_deliveries) parts.emplace_back("deliveries");
  if (a.attempt_ended) {
    const char* names[] = {"succeeded", "retryable_error", "fatal_error", "rate_limited",
                           "timed_out", "interrupted",     "lease_lost"};
    parts.push_back(std::string("ended:") + names[static_cast<int>(*a.attempt_ended)]);
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

void expect_ok(StepMachine& m, const StepEvent& e) {
  const StepActions a = m.on(e);
  ASSERT_FALSE(a.illegal) << "setting up: " << event_name(e) << " in " << to_string(m.state());
}

// Ways to bring a machine into each state (two of them reach a state by two paths
// that differ in what it still waits for).
enum class Start {
  claimed, admitting, running, overrun, awaiting_handler, applying, applying_abandoned,
  lost_handler, lost_claim, done,
};

const char* setup_name(Start s) {
  const char* names[] = {"claimed",  "admitting",          "running",      "overrun",
                         "awaiting_handler", "applying", "applying_abandoned",
                         "lost_handler", "lost_claim", "done"};
  return names[static_cast<int>(s)];
}

StepMachine machine_in(Start setup) {
  StepMachine m(kMaxOutput, 1);
  switch (setup) {
    case Start::claimed: break;
    case Start::admitting: expect_ok(m, ev::ClaimStarted{facts(true)}); break;
    case Start::running: expect_ok(m, ev::ClaimStarted{facts()}); break;
    case Start::overrun:
      expect_ok(m, ev::ClaimStarted{facts()});
      expect_ok(m, ev::TimedOut{1000ms, 0.0});
      break;
    case Start::awaiting_handler:
      expect_ok(m, ev::ClaimStarted{facts()});
      expect_ok(m, ev::TimedOut{1000ms, 0.0});
      expect_ok(m, ev::Applied{false});
      break;
    case Start::applying:
      expect_ok(m, ev::ClaimStarted{facts()});
      expect_ok(m, ev::HandlerReturned{ok_result(), 0.0});
      break;
    case Start::applying_abandoned:
      expect_ok(m, ev::ClaimStarted{facts()});
      expect_ok(m, ev::DrainExpired{});
      break;
    case Start::lost_handler:
      expect_ok(m, ev::ClaimStarted{facts()});
      expect_ok(m, ev::LeaseLost{});
      break;
    case Start::lost_claim: expect_ok(m, ev::LeaseLost{}); break;
    case Start::done: expect_ok(m, ev::ClaimFailed{}); break;
  }
  return m;
}

enum class Ev {
  claim_started, claim_failed, admitted, handler_returned, timed_out, lease_lost,
  renewal_failed, cancel_requested, drain_started, drain_expired, applied, redelivered,
  admission_expired, admission_parked, handed_off, not_taken,
};

StepEvent make_event(Ev e) {
  switch (e) {
    case Ev::claim_started: return ev::ClaimStarted{facts()};
    case Ev::claim_failed: return ev::ClaimFailed{};
    case Ev::admitted: return ev::Admitted{};
    case Ev::handler_returned: return ev::HandlerReturned{ok_result(), 0.0};
    case Ev::timed_out: return ev::TimedOut{1000ms, 0.0};
    case Ev::lease_lost: return ev::LeaseLost{};
    case Ev::renewal_failed: return ev::RenewalFailed{31s, 30s};  // past a full lease
    case Ev::cancel_requested: return ev::CancelRequested{};
    case Ev::drain_started: return ev::DrainStarted{};
    case Ev::drain_expired: return ev::DrainExpired{};
    case Ev::applied: return ev::Applied{false};
    case Ev::redelivered: return ev::Redelivered{5};
    case Ev::admission_expired: return ev::AdmissionExpired{2h, 0.0};
    case Ev::admission_parked: return ev::AdmissionParked{3s, 2s, "llm", "acme"};
    case Ev::handed_off: return ev::HandedOff{};
    case Ev::not_taken: return ev::NotTaken{500ms};
  }
  return ev::ClaimFailed{};
}

struct Row {
  Start setup;
  Ev event;
  StepState next;
  std::string actions;
};

std::ostream& operator<<(std::ostream& os, const Row& r) {
  return os << setup_name(r.setup) << " + " << event_name(make_event(r.event));
}

using E = Ev;
const std::string kIllegal = "illegal";

const std::vector<Row> kRows = {
    // clang-format off
    {Start::claimed, E::claim_started,    S::running, "launch"},
    {Start::claimed, E::claim_failed,     S::done, "free forget"},
    {Start::claimed, E::admitted,         S::claimed, kIllegal},
    {Start::claimed, E::handler_returned, S::claimed, kIllegal},
    {Start::claimed, E::timed_out,        S::claimed, kIllegal},
    {Start::claimed, E::lease_lost,       S::lost, ""},
    {Start::claimed, E::renewal_failed,   S::lost, ""},
    {Start::claimed, E::cancel_requested, S::claimed, ""},
    {Start::claimed, E::drain_started,    S::claimed, ""},
    {Start::claimed, E::drain_expired,    S::claimed, ""},
    {Start::claimed, E::applied,          S::claimed, kIllegal},
    {Start::claimed, E::redelivered,      S::claimed, "deliveries"},
    {Start::claimed, E::admission_expired, S::claimed, kIllegal},
    {Start::claimed, E::admission_parked, S::claimed, kIllegal},
    {Start::claimed, E::handed_off, S::claimed, kIllegal},
    {Start::claimed, E::not_taken, S::claimed, kIllegal},

    {Start::admitting, E::claim_started,    S::admitting, kIllegal},
    {Start::admitting, E::claim_failed,     S::admitting, kIllegal},
    {Start::admitting, E::admitted,         S::running, "launch"},
    {Start::admitting, E::handler_returned, S::admitting, kIllegal},
    {Start::admitting, E::timed_out,        S::admitting, kIllegal},
    {Start::admitting, E::lease_lost,       S::done, "free forget stale"},
    {Start::admitting, E::renewal_failed,   S::done, "free forget stale"},
    {Start::admitting, E::cancel_requested, S::applying, "write:cancel_run free"},
    {Start::admitting, E::drain_started,    S::applying, "write:release free"},
    {Start::admitting, E::drain_expired,    S::applying, "write:release free"},
    {Start::admitting, E::applied,          S::admitting, kIllegal},
    {Start::admitting, E::redelivered,      S::admitting, "deliveries"},
    {Start::admitting, E::admission_expired, S::applying, "write:retry_later free ended:retryable_error"},
    {Start::admitting, E::admission_parked, S::applying, "write:release free"},
    {Start::admitting, E::handed_off, S::admitting, kIllegal},
    {Start::admitting, E::not_taken, S::admitting, kIllegal},

    {Start::running, E::claim_started,    S::running, kIllegal},
    {Start::running, E::claim_failed,     S::running, kIllegal},
    {Start::running, E::admitted,         S::running, kIllegal},
    {Start::running, E::handler_returned, S::applying, "write:advance free ended:succeeded"},
    {Start::running, E::timed_out,        S::overrun, "cancel write:retry_later ended:timed_out"},
    {Start::running, E::lease_lost,       S::lost, "cancel"},
    {Start::running, E::renewal_failed,   S::lost, "cancel"},
    {Start::running, E::cancel_requested, S::running, "cancel"},
    {Start::running, E::drain_started,    S::running, ""},
    {Start::running, E::drain_expired,    S::applying, "cancel write:release free"},
    {Start::running, E::applied,          S::running, kIllegal},
    {Start::running, E::redelivered,      S::running, "deliveries"},
    {Start::running, E::admission_expired, S::running, kIllegal},
    {Start::running, E::admission_parked, S::running, kIllegal},
    {Start::running, E::handed_off, S::done, "free forget"},
    {Start::running, E::not_taken, S::applying, "write:release free"},

    {Start::overrun, E::claim_started,    S::overrun, kIllegal},
    {Start::overrun, E::claim_failed,     S::overrun, kIllegal},
    {Start::overrun, E::admitted,         S::overrun, kIllegal},
    {Start::overrun, E::handler_returned, S::applying, "free"},
    {Start::overrun, E::timed_out,        S::overrun, kIllegal},
    {Start::overrun, E::lease_lost,       S::lost, ""},
    {Start::overrun, E::renewal_failed,   S::lost, ""},
    {Start::overrun, E::cancel_requested, S::overrun, ""},
    {Start::overrun, E::drain_started,    S::overrun, ""},
    {Start::overrun, E::drain_expired,    S::overrun, ""},
    {Start::overrun, E::applied,          S::awaiting_handler, ""},
    {Start::overrun, E::redelivered,      S::overrun, "deliveries"},
    {Start::overrun, E::admission_expired, S::overrun, kIllegal},
    {Start::overrun, E::admission_parked, S::overrun, kIllegal},
    {Start::overrun, E::handed_off, S::overrun, kIllegal},
    {Start::overrun, E::not_taken, S::overrun, kIllegal},

    {Start::awaiting_handler, E::claim_started,    S::awaiting_handler, kIllegal},
    {Start::awaiting_handler, E::claim_failed,     S::awaiting_handler, kIllegal},
    {Start::awaiting_handler, E::admitted,         S::awaiting_handler, kIllegal},
    {Start::awaiting_handler, E::handler_returned, S::done, "free forget"},
    {Start::awaiting_handler, E::timed_out,        S::awaiting_handler, kIllegal},
    {Start::awaiting_handler, E::lease_lost,       S::awaiting_handler, ""},
    {Start::awaiting_handler, E::renewal_failed,   S::awaiting_handler, ""},
    {Start::awaiting_handler, E::cancel_requested, S::awaiting_handler, ""},
    {Start::awaiting_handler, E::drain_started,    S::awaiting_handler, ""},
    {Start::awaiting_handler, E::drain_expired,    S::awaiting_handler, ""},
    {Start::awaiting_handler, E::applied,          S::awaiting_handler, kIllegal},
    {Start::awaiting_handler, E::redelivered,      S::awaiting_handler, "deliveries"},
    {Start::awaiting_handler, E::admission_expired, S::awaiting_handler, kIllegal},
    {Start::awaiting_handler, E::admission_parked, S::awaiting_handler, kIllegal},
    {Start::awaiting_handler, E::handed_off, S::awaiting_handler, kIllegal},
    {Start::awaiting_handler, E::not_taken, S::awaiting_handler, kIllegal},

    {Start::applying, E::claim_started,    S::applying, kIllegal},
    {Start::applying, E::claim_failed,     S::applying, kIllegal},
    {Start::applying, E::admitted,         S::applying, kIllegal},
    {Start::applying, E::handler_returned, S::applying, kIllegal},
    {Start::applying, E::timed_out,        S::applying, ""},
    {Start::applying, E::lease_lost,       S::done, "forget stale"},
    {Start::applying, E::renewal_failed,   S::done, "forget stale"},
    {Start::applying, E::cancel_requested, S::applying, ""},
    {Start::applying, E::drain_started,    S::applying, ""},
    {Start::applying, E::drain_expired,    S::applying, ""},
    {Start::applying, E::applied,          S::done, "forget"},
    {Start::applying, E::redelivered,      S::applying, "deliveries"},
    {Start::applying, E::admission_expired, S::applying, kIllegal},
    {Start::applying, E::admission_parked, S::applying, kIllegal},
    {Start::applying, E::handed_off, S::applying, kIllegal},
    {Start::applying, E::not_taken, S::applying, kIllegal},

    {Start::applying_abandoned, E::claim_started,    S::applying, kIllegal},
    {Start::applying_abandoned, E::claim_failed,     S::applying, kIllegal},
    {Start::applying_abandoned, E::admitted,         S::applying, kIllegal},
    {Start::applying_abandoned, E::handler_returned, S::applying, ""},
    {Start::applying_abandoned, E::timed_out,        S::applying, ""},
    {Start::applying_abandoned, E::lease_lost,       S::done, "forget stale"},
    {Start::applying_abandoned, E::renewal_failed,   S::done, "forget stale"},
    {Start::applying_abandoned, E::cancel_requested, S::applying, ""},
    {Start::applying_abandoned, E::drain_started,    S::applying, ""},
    {Start::applying_abandoned, E::drain_expired,    S::applying, ""},
    {Start::applying_abandoned, E::applied,          S::done, "forget"},
    {Start::applying_abandoned, E::redelivered,      S::applying, "deliveries"},
    {Start::applying_abandoned, E::admission_expired, S::applying, kIllegal},
    {Start::applying_abandoned, E::admission_parked, S::applying, kIllegal},
    {Start::applying_abandoned, E::handed_off, S::applying, kIllegal},
    {Start::applying_abandoned, E::not_taken, S::applying, kIllegal},

    {Start::lost_handler, E::claim_started,    S::lost, kIllegal},
    {Start::lost_handler, E::claim_failed,     S::lost, kIllegal},
    {Start::lost_handler, E::admitted,         S::lost, kIllegal},
    {Start::lost_handler, E::handler_returned, S::done, "free forget stale ended:lease_lost"},
    {Start::lost_handler, E::timed_out,        S::lost, ""},
    {Start::lost_handler, E::lease_lost,       S::lost, ""},
    {Start::lost_handler, E::renewal_failed,   S::lost, ""},
    {Start::lost_handler, E::cancel_requested, S::lost, ""},
    {Start::lost_handler, E::drain_started,    S::lost, ""},
    {Start::lost_handler, E::drain_expired,    S::lost, ""},
    {Start::lost_handler, E::applied,          S::lost, ""},
    {Start::lost_handler, E::redelivered,      S::lost, "deliveries"},
    {Start::lost_handler, E::admission_expired, S::lost, kIllegal},
    {Start::lost_handler, E::admission_parked, S::lost, kIllegal},
    {Start::lost_handler, E::handed_off, S::done, "free forget"},
    {Start::lost_handler, E::not_taken, S::lost, kIllegal},

    {Start::lost_claim, E::claim_started,    S::done, "free forget stale"},
    {Start::lost_claim, E::claim_failed,     S::done, "free forget stale"},
    {Start::lost_claim, E::admitted,         S::lost, kIllegal},
    {Start::lost_claim, E::handler_returned, S::lost, kIllegal},
    {Start::lost_claim, E::timed_out,        S::lost, ""},
    {Start::lost_claim, E::lease_lost,       S::lost, ""},
    {Start::lost_claim, E::renewal_failed,   S::lost, ""},
    {Start::lost_claim, E::cancel_requested, S::lost, ""},
    {Start::lost_claim, E::drain_started,    S::lost, ""},
    {Start::lost_claim, E::drain_expired,    S::lost, ""},
    {Start::lost_claim, E::applied,          S::lost, ""},
    {Start::lost_claim, E::redelivered,      S::lost, "deliveries"},
    {Start::lost_claim, E::admission_expired, S::lost, kIllegal},
    {Start::lost_claim, E::admission_parked, S::lost, kIllegal},
    {Start::lost_claim, E::handed_off, S::done, "free forget"},
    {Start::lost_claim, E::not_taken, S::lost, kIllegal},

    {Start::done, E::claim_started,    S::done, kIllegal},
    {Start::done, E::claim_failed,     S::done, kIllegal},
    {Start::done, E::admitted,         S::done, kIllegal},
    {Start::done, E::handler_returned, S::done, kIllegal},
    {Start::done, E::timed_out,        S::done, kIllegal},
    {Start::done, E::lease_lost,       S::done, kIllegal},
    {Start::done, E::renewal_failed,   S::done, kIllegal},
    {Start::done, E::cancel_requested, S::done, kIllegal},
    {Start::done, E::drain_started,    S::done, kIllegal},
    {Start::done, E::drain_expired,    S::done, kIllegal},
    {Start::done, E::applied,          S::done, kIllegal},
    {Start::done, E::redelivered,      S::done, kIllegal},
    {Start::done, E::admission_expired, S::done, kIllegal},
    {Start::done, E::admission_parked, S::done, kIllegal},
    {Start::done, E::handed_off, S::done, kIllegal},
    {Start::done, E::not_taken, S::done, kIllegal},
    // clang-format on
};

class Transitions : public ::testing::TestWithParam<Row> {};

TEST_P(Transitions, NextStateAndActions) {
  const Row& row = GetParam();
  StepMachine m = machine_in(row.setup);
  const StepActions a = m.on(make_event(row.event));
  EXPECT_EQ(describe(a), row.actions);
  EXPECT_EQ(to_string(m.state()), to_string(row.next));
}

INSTANTIATE_TEST_SUITE_P(Table, Transitions, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& param_info) {
                           return std::string(setup_name(param_info.param.setup)) + "_" +
                                  std::string(event_name(make_event(param_info.param.event)));
                         });

TEST(TransitionTable, CoversEverySetupAndEventOnce) {
  std::set<std::pair<int, int>> seen;
  for (const Row& r : kRows) {
    EXPECT_TRUE(seen.emplace(static_cast<int>(r.setup), static_cast<int>(r.event)).second) << r;
  }
  EXPECT_EQ(seen.size(), 10u * std::variant_size_v<StepEvent>);
}

TEST(StepMachine, WhatEachStateHoldsRenewsAndWrites) {
  struct Expect {
    Start setup;
    bool holds_slot, renews, writable;
  };
  const Expect rows[] = {
      {Start::claimed, true, true, false},           {Start::admitting, true, true, false},
      {Start::running, true, true, false},           {Start::overrun, true, true, true},
      {Start::awaiting_handler, true, false, false}, {Start::applying, false, true, true},
      {Start::applying_abandoned, false, true, true}, {Start::lost_handler, true, false, false},
      {Start::lost_claim, true, false, false},       {Start::done, false, false, false},
  };
  for (const Expect& e : rows) {
    const StepMachine m = machine_in(e.setup);
    EXPECT_EQ(m.holds_slot(), e.holds_slot) << setup_name(e.setup);
    EXPECT_EQ(m.renews(), e.renews) << setup_name(e.setup);
    EXPECT_EQ(m.writable(), e.writable) << setup_name(e.setup);
  }
}

// --- the decisions events carry ---

StepActions claim(StepMachine& m, const ClaimFacts& f) { return m.on(ev::ClaimStarted{f}); }

TEST(OnClaim, AStepWithoutAHandlerHereIsHandedBackSpendingNoAttempt) {
  StepMachine m(kMaxOutput, 1);
  ClaimFacts f = facts();
  f.handler_known = false;
  f.unknown_what = "workflow 'new' step 'a'";
  f.queue = "default";
  f.attempt = 2;
  f.another_worker_has_it = true;
  f.rate_limited = 4;  // the attempt's admission counters go on
  f.waited = 3s;
  const StepActions a = claim(m, f);
  ASSERT_TRUE(a.write);
  Decision expected{Action::release, kHandBackDelay, 1, ""};
  expected.unhandled = true;
  expected.rate_limited = 4;
  expected.waited = 3s;
  EXPECT_EQ(*a.write, expected);
  EXPECT_EQ(describe(a), "write:release free");
  EXPECT_EQ(m.state(), S::applying);
}

TEST(OnClaim, AStepNoLiveWorkerHandlesWaitsForOneThenIsDeadLettered) {
  ClaimFacts f = facts();
  f.handler_known = false;
  f.unknown_what = "workflow 'new' step 'a'";
  f.queue = "py";
  f.no_handler_grace = 1s;
  {
    StepMachine m(kMaxOutput, 1);
    const StepActions a = claim(m, f);
    ASSERT_TRUE(a.write);
    EXPECT_EQ(a.write->action, Action::release);
    EXPECT_EQ(a.write->no_worker_queue, "py");
    EXPECT_EQ(a.write->delay, 100ms);
  }
  f.unhandled_for = 1s;
  StepMachine m(kMaxOutput, 1);
  const StepActions a = claim(m, f);
  ASSERT_TRUE(a.write);
  EXPECT_EQ(a.write->action, Action::dead_letter);
  EXPECT_EQ(a.write->attempts, 0);
  EXPECT_EQ(describe(a), "write:dead_letter free");
}

TEST(OnClaim, AStepWithoutAHandlerOfACancelledRunIsCancelled) {
  StepMachine m(kMaxOutput, 1);
  ClaimFacts f = facts();
  f.handler_known = false;
  f.cancel_requested = true;
  const StepActions a = claim(m, f);
  ASSERT_TRUE(a.write);
  EXPECT_EQ(a.write->action, Action::cancel_run);
}

TEST(OnAdmission, WaitingAtTheLimiterPastMaxWaitFailsTheAttempt) {
  ClaimFacts f = facts(true);
  f.retry.max_wait = 10s;
  StepMachine m(kMaxOutput, 1);
  EXPECT_EQ(describe(claim(m, f)), "admit");
  const StepActions a = m.on(ev::AdmissionExpired{10s, 0.0});
  ASSERT_TRUE(a.write);
  EXPECT_EQ(*a.write, (Decision{Action::retry_later, 100ms, 1,
                                "attempt 1 of 3 failed: waited 10s for admission (retry.max_wait 10s)"}));
  EXPECT_EQ(m.state(), S::applying);
}

TEST(OnAdmission, ALimiterThatRefusesForAWhileParksTheStepWithoutSpendingAnAttempt) {
  ClaimFacts f = facts(true);
  f.attempt = 2;  // the second attempt's claim
  f.rate_limited = 1;
  StepMachine m(kMaxOutput, 1);
  EXPECT_EQ(describe(claim(m, f)), "admit");
  const StepActions a = m.on(ev::AdmissionParked{4s, 20s, "llm-tenant", "acme"});
  ASSERT_TRUE(a.write);
  Decision expected{Action::release, 20s, 1, ""};  // one attempt spent before, none now
  expected.rate_limited = 1;                         // the attempt's counters go on
  expected.waited = 24s;                             // waited so far, and parked
  expected.parked_limiter = "llm-tenant";
  expected.parked_key = "acme";
  EXPECT_EQ(*a.write, expected);
  EXPECT_TRUE(a.free_slot);
  EXPECT_FALSE(a.attempt_ended);
  EXPECT_EQ(m.state(), S::applying);
  EXPECT_FALSE(m.holds_slot());
}

// on_failure: continue turns every dead-letter decision into the run going
// on (the failure recorded), and leaves every other decision alone.
TEST(OnFailureContinue, AFailureForGoodLetsTheRunGoOnAndNothingElseChanges) {
  const auto fatal = [] {
    HandlerResult r;
    r.kind = HandlerResult::Kind::fatal;
    r.message = "bad input";
    return r;
  };
  for (const bool last : {false, true}) {
    SCOPED_TRACE(last ? "the last step" : "a middle step");
    ClaimFacts f = facts();
    f.continue_on_failure = true;
    f.is_last_step = last;
    StepMachine m(kMaxOutput, 1);
    EXPECT_EQ(describe(claim(m, f)), "launch");
    const StepActions a = m.on(ev::HandlerReturned{fatal(), 0.0});
    ASSERT_TRUE(a.write);
    Decision expected{last ? Action::complete_run : Action::advance, 0ms, 1, "fatal error: bad input"};
    expected.continued = true;
    EXPECT_EQ(*a.write, expected);
  }
  // Exhausted at the claim (the worker crashed on every attempt): the same.
  ClaimFacts crashed = facts();
  crashed.continue_on_failure = true;
  crashed.attempt = 4;
  StepMachine m(kMaxOutput, 4);
  const StepActions a = claim(m, crashed);
  ASSERT_TRUE(a.write);
  EXPECT_EQ(a.write->action, Action::advance);
  EXPECT_TRUE(a.write->continued);
  // A retryable failure with attempts left still retries.
  ClaimFacts f = facts();
  f.continue_on_failure = true;
  StepMachine retrying(kMaxOutput, 1);
  (void)claim(retrying, f);
  HandlerResult r;
  r.kind = HandlerResult::Kind::retryable;
  r.message = "503";
  const StepActions b = retrying.on(ev::HandlerReturned{r, 0.0});
  ASSERT_TRUE(b.write);
  EXPECT_EQ(b.write->action, Action::retry_later);
  EXPECT_FALSE(b.write->continued);
}

TEST(ContinuePastFailure, OnlyADeadLetterBecomesTheRunGoingOn) {
  for (const Action a : {Action::execute, Action::advance, Action::complete_run, Action::retry_later, Action::release,
                         Action::cancel_run, Action::discard, Action::abandon, Action::sleep}) {
    const Decision d{a, 5ms, 2, "why"};
    EXPECT_EQ(continue_past_failure(d, false), d) << to_string(a);
  }
  Decision expected{Action::complete_run, 0ms, 3, "attempts exhausted"};
  expected.continued = true;
  EXPECT_EQ(continue_past_failure(Decision{Action::dead_letter, 0ms, 3, "attempts exhausted"}, true), expected);
}

TEST(OnClaim, TerminalRunIsDiscarded) {
  StepMachine m(kMaxOutput, 1);
  ClaimFacts f = facts();
  f.status = RunStatus::completed;
  const StepActions a = claim(m, f);
  ASSERT_TRUE(a.write);
  // The first claim records the claim itself (attempt 1), as it always has.
  EXPECT_EQ(*a.write, (Decision{Action::discard, 0ms, 1, "run already completed"}));
}

TEST(OnClaim, CancelledRunIsCancelled) {
  StepMachine m(kMaxOutput, 2);
  ClaimFacts f = facts();
  f.attempt = 2;
  f.cancel_requested = true;
  const StepActions a = claim(m, f);
  ASSERT_TRUE(a.write);
  EXPECT_EQ(*a.write, (Decision{Action::cancel_run, 0ms, 1, "run cancelled"}));
}

TEST(OnClaim, CancelHeardBeforeTheClaimReplyCancelsTheRun) {
  StepMachine m(kMaxOutput, 1);
  EXPECT_EQ(describe(m.on(ev::CancelRequested{})), "");
  const StepActions a = claim(m, facts());
  ASSERT_TRUE(a.write);
  EXPECT_EQ(a.write->action, Action::cancel_run);
  EXPECT_FALSE(a.launch_handler);
}

TEST(OnClaim, AttemptBudgetCountsFromTheReplay) {
  // Replayed after 3 attempts (budget_from 3): the 4th attempt overall is the
  // 1st of the new budget, so it runs; the 7th overall is past it.
  StepMachine runs(kMaxOutput, 1);
  ClaimFacts f = facts();
  f.budget_from = 3;
  f.attempt = 4;
  EXPECT_EQ(describe(claim(runs, f)), "launch");
  EXPECT_EQ(runs.attempt(), 4);

  StepMachine dead(kMaxOutput, 4);
  f.attempt = 7;
  const StepActions a = claim(dead, f);
  ASSERT_TRUE(a.write);
  EXPECT_EQ(a.write->action, Action::dead_letter);
  EXPECT_EQ(a.write->attempts, 6);  // 3 before the replay + 3 of its budget
  EXPECT_EQ(a.write->reason,
            "attempts exhausted (3 of 3): the step's worker crashed or lost its lease");
}

TEST(OnClaim, ALimitedStepIsAdmittedFirst) {
  StepMachine m(kMaxOutput, 1);
  EXPECT_EQ(describe(claim(m, facts(true))), "admit");
  EXPECT_EQ(m.state(), S::admitting);
}

TEST(OnClaim, ALimitedStepClaimedWhileDrainingIsHandedBackUnspent) {
  StepMachine m(kMaxOutput, 2);
  EXPECT_EQ(describe(m.on(ev::DrainStarted{})), "");
  ClaimFacts f = facts(true);
  f.attempt = 2;
  const StepActions a = claim(m, f);
  ASSERT_TRUE(a.write);
  EXPECT_EQ(*a.write, (Decision{Action::release, 0ms, 1, "interrupted: the worker shut down"}));
  EXPECT_EQ(describe(a), "write:release free");
}

TEST(OnClaim, AnUnlimitedStepClaimedWhileDrainingStillRuns) {
  StepMachine m(kMaxOutput, 1);
  EXPECT_EQ(describe(m.on(ev::DrainStarted{})), "");
  EXPECT_EQ(describe(claim(m, facts())), "launch");
}

TEST(OnClaim, AClaimAnsweredAfterTheDrainExpiredIsHandedBack) {
  StepMachine m(kMaxOutput, 1);
  EXPECT_EQ(describe(m.on(ev::DrainExpired{})), "");
  const StepActions a = claim(m, facts());
  EXPECT_EQ(describe(a), "write:release free");
  EXPECT_EQ(a.write->attempts, 0);  // no handler ran
}

TEST(OnClaim, ALaterDeliveryCountSurvivesTheClaimReply) {
  StepMachine m(kMaxOutput, 1);
  EXPECT_EQ(describe(m.on(ev::Redelivered{3})), "deliveries");
  EXPECT_EQ(describe(claim(m, facts())), "launch");  // start.lua read 1
  EXPECT_EQ(m.deliveries(), 3);
}

StepMachine running(const ClaimFacts& f = facts()) {
  StepMachine m(kMaxOutput, f.deliveries);
  expect_ok(m, ev::ClaimStarted{f});
  return m;
}

HandlerResult error(HandlerResult::Kind kind, std::string message,
                    std::chrono::milliseconds retry_after = 0ms) {
  HandlerResult r;
  r.kind = kind;
  r.message = std::move(message);
  r.retry_after = retry_after;
  return r;
}

// A decision with the attempt's admission counters it records.
Decision counted(Decision d, int rate_limited, std::chrono::milliseconds waited) {
  d.rate_limited = rate_limited;
  d.waited = waited;
  return d;
}

struct ResultRow {
  const char* name;
  HandlerResult result;
  bool last_step;
  bool cancelled;
  std::string actions;
  Decision expected;
};

const std::vector<ResultRow> kResultRows = {
    {"ok", ok_result(), false, false, "write:advance free ended:succeeded",
     {Action::advance, 0ms, 1, ""}},
    {"ok_last_step", ok_result(), true, false, "write:complete_run free ended:succeeded",
     {Action::complete_run, 0ms, 1, ""}},
    {"ok_at_the_limit", ok_result(kMaxOutput), false, false, "write:advance free ended:succeeded",
     {Action::advance, 0ms, 1, ""}},
    {"output_too_large", ok_result(kMaxOutput + 1), false, false,
     "write:dead_letter free ended:fatal_error",
     {Action::dead_letter, 0ms, 1, "fatal error: output exceeds the 100-byte limit"}},
    {"retryable", error(HandlerResult::Kind::retryable, "boom"), false, false,
     "write:retry_later free ended:retryable_error",
     {Action::retry_later, 100ms, 1, "attempt 1 of 3 failed: boom"}},
    {"retryable_with_retry_after", error(HandlerResult::Kind::retryable, "503", 5s), false, false,
     "write:retry_later free ended:retryable_error",
     {Action::retry_later, 5s, 1, "attempt 1 of 3 failed: 503"}},
    {"fatal", error(HandlerResult::Kind::fatal, "bad input"), false, false,
     "write:dead_letter free ended:fatal_error",
     {Action::dead_letter, 0ms, 1, "fatal error: bad input"}},
    {"rate_limited_refunds_the_attempt", error(HandlerResult::Kind::rate_limited, "429", 2s), false,
     false, "write:retry_later free ended:rate_limited",
     counted(Decision{Action::retry_later, 2s, 0, "rate limited: 429"}, 1, 2s)},
    {"ok_after_cancel", ok_result(), false, true, "write:cancel_run free ended:succeeded",
     {Action::cancel_run, 0ms, 1, "run cancelled"}},
    {"error_after_cancel", error(HandlerResult::Kind::fatal, "x"), false, true,
     "write:cancel_run free ended:fatal_error", {Action::cancel_run, 0ms, 1, "run cancelled"}},
};

void PrintTo(const ResultRow& r, std::ostream* os) { *os << r.name; }

class OnHandlerReturned : public ::testing::TestWithParam<ResultRow> {};

TEST_P(OnHandlerReturned, DecidesTheTransition) {
  const ResultRow& row = GetParam();
  ClaimFacts f = facts();
  f.is_last_step = row.last_step;
  StepMachine m = running(f);
  if (row.cancelled) {
    EXPECT_EQ(describe(m.on(ev::CancelRequested{})), "cancel");
  }
  const StepActions a = m.on(ev::HandlerReturned{row.result, 0.0});
  EXPECT_EQ(describe(a), row.actions);
  ASSERT_TRUE(a.write);
  EXPECT_EQ(*a.write, row.expected);
}

INSTANTIATE_TEST_SUITE_P(Table, OnHandlerReturned, ::testing::ValuesIn(kResultRows),
                         [](const ::testing::TestParamInfo<ResultRow>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(OnHandlerReturned, AttemptsIncludeTheSpentBudgetBeforeAReplay) {
  ClaimFacts f = facts();
  f.budget_from = 3;
  f.attempt = 4;
  StepMachine m = running(f);
  const StepActions a = m.on(ev::HandlerReturned{error(HandlerResult::Kind::retryable, "e"), 0.0});
  ASSERT_TRUE(a.write);
  // Attempt 1 of the new budget; 4 recorded in all.
  EXPECT_EQ(*a.write, (Decision{Action::retry_later, 100ms, 4, "attempt 1 of 3 failed: e"}));
}

TEST(OnHandlerReturned, TheJitterSampleShapesTheBackoff) {
  ClaimFacts f = facts();
  f.retry.backoff.full_jitter = true;
  StepMachine m = running(f);
  const StepActions a = m.on(ev::HandlerReturned{error(HandlerResult::Kind::retryable, "e"), 0.5});
  ASSERT_TRUE(a.write);
  EXPECT_EQ(a.write->delay, 50ms);
}

TEST(OnHandlerReturned, AnAdmittedStepReleasesItsLimiterSlot) {
  StepMachine m(kMaxOutput, 1);
  expect_ok(m, ev::ClaimStarted{facts(true)});
  expect_ok(m, ev::Admitted{});
  EXPECT_EQ(describe(m.on(ev::HandlerReturned{ok_result(), 0.0})),
            "write:advance release_limit free ended:succeeded");
}

TEST(OnTimedOut, LastAttemptIsDeadLetteredWithTheTimeout) {
  ClaimFacts f = facts();
  f.attempt = 3;
  f.deliveries = 3;
  StepMachine m = running(f);
  const StepActions a = m.on(ev::TimedOut{250ms, 0.0});
  ASSERT_TRUE(a.write);
  EXPECT_EQ(*a.write,
            (Decision{Action::dead_letter, 0ms, 3, "attempts exhausted (3 of 3): timed out after 250 ms"}));
  // The late result changes nothing but the slot.
  EXPECT_EQ(describe(m.on(ev::HandlerReturned{ok_result(), 0.0})), "free");
}

TEST(OnTimedOut, ACancelledRunIsCancelledNotRetried) {
  StepMachine m = running();
  EXPECT_EQ(describe(m.on(ev::CancelRequested{})), "cancel");
  EXPECT_EQ(describe(m.on(ev::CancelRequested{})), "");  // once
  const StepActions a = m.on(ev::TimedOut{250ms, 0.0});
  ASSERT_TRUE(a.write);
  EXPECT_EQ(a.write->action, Action::cancel_run);
}

TEST(OnRenewalFailed, WithinTheLeaseTheStepKeepsRunning) {
  StepMachine m = running();
  EXPECT_EQ(describe(m.on(ev::RenewalFailed{30s, 30s})), "");
  EXPECT_EQ(m.state(), S::running);
  EXPECT_EQ(describe(m.on(ev::RenewalFailed{30001ms, 30s})), "cancel");
  EXPECT_EQ(m.state(), S::lost);
}

TEST(OnCancel, WhileAdmittingTheRunIsCancelledWithoutSpendingTheAttempt) {
  StepMachine m(kMaxOutput, 2);
  ClaimFacts f = facts(true);
  f.attempt = 2;
  expect_ok(m, ev::ClaimStarted{f});
  const StepActions a = m.on(ev::CancelRequested{});
  ASSERT_TRUE(a.write);
  EXPECT_EQ(*a.write, (Decision{Action::cancel_run, 0ms, 1, "run cancelled"}));
}

TEST(OnDrainExpired, ARunningHandlerIsHandedBackWithItsAttempt) {
  ClaimFacts f = facts();
  f.attempt = 2;
  StepMachine m = running(f);
  const StepActions a = m.on(ev::DrainExpired{});
  ASSERT_TRUE(a.write);
  EXPECT_EQ(*a.write, (Decision{Action::release, 0ms, 2, "interrupted: the worker shut down"}));
}

TEST(OnApplied, AStaleOutcomeIsCounted) {
  StepMachine m = running();
  expect_ok(m, ev::HandlerReturned{ok_result(), 0.0});
  EXPECT_EQ(describe(m.on(ev::Applied{true})), "forget stale");
  StepMachine o = running();
  expect_ok(o, ev::TimedOut{1s, 0.0});
  EXPECT_EQ(describe(o.on(ev::Applied{true})), "stale");
  EXPECT_EQ(o.state(), S::awaiting_handler);
}

// A re-delivery of an entry in flight: one handler, one outcome.
TEST(OnLeaseLost, ATimedOutOutcomeNotWrittenYetIsDroppedOnce) {
  StepMachine m = running();
  expect_ok(m, ev::TimedOut{1s, 0.0});
  EXPECT_TRUE(m.writable());
  EXPECT_EQ(describe(m.on(ev::RenewalFailed{2s, 1s})), "");
  EXPECT_FALSE(m.writable());  // the outbox drops it
  EXPECT_EQ(describe(m.on(ev::Applied{false})), "");  // a write already in flight
  // Counted as failed at the timeout, stale now: once each.
  EXPECT_EQ(describe(m.on(ev::HandlerReturned{ok_result(), 0.0})), "free forget stale");
}

TEST(OnRedelivered, NeverLaunchesASecondHandler) {
  StepMachine m = running();
  for (long long d : {1LL, 0LL, 2LL, 2LL, 7LL}) {
    const StepActions a = m.on(ev::Redelivered{d});
    EXPECT_FALSE(a.launch_handler);
    EXPECT_FALSE(a.start_admission);
    EXPECT_FALSE(a.write);
    EXPECT_FALSE(a.forget);
    EXPECT_EQ(m.state(), S::running);
  }
  EXPECT_EQ(m.deliveries(), 7);
  EXPECT_EQ(describe(m.on(ev::HandlerReturned{ok_result(), 0.0})),
            "write:advance free ended:succeeded");
}

TEST(OnRedelivered, KeepsTheHigherCountOnly) {
  StepMachine m = running();
  EXPECT_EQ(describe(m.on(ev::Redelivered{1})), "");  // a rolled-back read presumes 1
  EXPECT_EQ(m.deliveries(), 1);
  EXPECT_EQ(describe(m.on(ev::Redelivered{2})), "deliveries");  // our own reclaim bumped it
  EXPECT_EQ(m.deliveries(), 2);
  EXPECT_EQ(describe(m.on(ev::Redelivered{1})), "");
  EXPECT_EQ(m.deliveries(), 2);
}

TEST(EventName, NamesEveryEvent) {
  EXPECT_EQ(event_name(ev::ClaimStarted{}), "claim_started");
  EXPECT_EQ(event_name(ev::Redelivered{}), "redelivered");
  EXPECT_EQ(to_string(S::awaiting_handler), "awaiting_handler");
}

TEST(OnAdmission, TheLimiterWaitCountsTowardMaxWait) {
  ClaimFacts f = facts(true);
  f.rate_limited = 1;
  f.waited = 2s;  // an earlier Retry-After of this attempt
  f.retry.max_wait = 10s;
  StepMachine m(kMaxOutput, 1);
  EXPECT_EQ(describe(claim(m, f)), "admit");
  EXPECT_EQ(describe(m.on(ev::Admitted{7s})), "launch");
  EXPECT_EQ(m.waited(), 9s);
  // 9 s so far: a Retry-After of 2 s more would pass the 10 s bound.
  const StepActions a = m.on(ev::HandlerReturned{error(HandlerResult::Kind::rate_limited, "429", 2s), 0.0});
  ASSERT_TRUE(a.write);
  EXPECT_EQ(a.write->action, Action::retry_later);
  EXPECT_EQ(a.write->attempts, 1);
  EXPECT_EQ(a.write->reason,
            "attempt 1 of 3 failed: waited 9s for admission; the next wait of 2s would pass 10s "
            "(retry.max_wait): 429");
}

TEST(OnHandlerReturned, RateLimitedAnswersCountFromTheClaimedCounters) {
  ClaimFacts f = facts();
  f.retry.max_rate_limited = 5;
  f.rate_limited = 3;
  f.waited = 3s;
  StepMachine m = running(f);
  const StepActions a = m.on(ev::HandlerReturned{error(HandlerResult::Kind::rate_limited, "429", 1s), 0.0});
  ASSERT_TRUE(a.write);
  Decision expected{Action::retry_later, 1s, 0, "rate limited: 429"};
  expected.rate_limited = 4;
  expected.waited = 4s;
  EXPECT_EQ(*a.write, expected);
}

}  // namespace
}  // namespace steadfast::engine
