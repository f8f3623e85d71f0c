// The status model of ../shared/CONTRACTS.md §1: names, the run status by
// precedence, current_steps and the attempt history.
#include "engine/status.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "engine/rfc3339.h"

namespace steadfast::engine {
namespace {

using St = StepStatus;

TEST(StepStatus, RoundTripsThroughText) {
  const St all[] = {St::pending,   St::queued,  St::running, St::waiting,  St::retrying,
                    St::completed, St::skipped, St::failed,  St::cancelled};
  for (St s : all) EXPECT_EQ(parse_step_status(to_string(s)), s);
  EXPECT_EQ(to_string(St::retrying), "retrying");
  EXPECT_EQ(parse_step_status("Running"), std::nullopt);
  EXPECT_EQ(parse_step_status(""), std::nullopt);
}

TEST(StepStatus, FinishedOnesAreCompletedSkippedFailedCancelled) {
  EXPECT_TRUE(is_finished(St::completed));
  EXPECT_TRUE(is_finished(St::skipped));
  EXPECT_TRUE(is_finished(St::failed));
  EXPECT_TRUE(is_finished(St::cancelled));
  for (St s : {St::pending, St::queued, St::running, St::waiting, St::retrying}) {
    EXPECT_FALSE(is_finished(s)) << to_string(s);
  }
}

struct RunRow {
  std::vector<St> nodes;
  RunEnd end;
  bool scheduled;
  RunStatus expected;
};

const std::vector<RunRow> kRunRows = {
    // An ended run shows its end, whatever its nodes or run_at say.
    {{St::running}, RunEnd::completed, false, RunStatus::completed},
    {{St::queued}, RunEnd::failed, true, RunStatus::failed},
    {{St::pending, St::running}, RunEnd::cancelled, false, RunStatus::cancelled},
    // A future run_at comes next.
    {{St::pending}, RunEnd::not_ended, true, RunStatus::scheduled},
    {{St::running}, RunEnd::not_ended, true, RunStatus::scheduled},
    // Then running > queued > retrying > waiting.
    {{St::waiting, St::retrying, St::queued, St::running}, RunEnd::not_ended, false, RunStatus::running},
    {{St::completed, St::running}, RunEnd::not_ended, false, RunStatus::running},
    {{St::waiting, St::retrying, St::queued}, RunEnd::not_ended, false, RunStatus::queued},
    {{St::waiting, St::retrying, St::pending}, RunEnd::not_ended, false, RunStatus::retrying},
    {{St::waiting, St::pending}, RunEnd::not_ended, false, RunStatus::waiting},
    {{St::completed, St::pending}, RunEnd::not_ended, false, RunStatus::waiting},
    {{}, RunEnd::not_ended, false, RunStatus::waiting},
};

TEST(DeriveRunStatus, ByPrecedence) {
  for (std::size_t i = 0; i < kRunRows.size(); ++i) {
    const RunRow& r = kRunRows[i];
    EXPECT_EQ(to_string(derive_run_status(r.nodes, r.end, r.scheduled)), to_string(r.expected))
        << "row " << i;
  }
}

TEST(CurrentSteps, AreTheUnfinishedStartedNodesInOrder) {
  const std::vector<NodeStatus> nodes = {
      {"fetch", St::completed}, {"a[0]", St::running},  {"a[1]", St::queued},
      {"wait", St::waiting},    {"b", St::retrying},    {"later", St::pending},
      {"skip", St::skipped},    {"x", St::failed},      {"y", St::cancelled}};
  EXPECT_EQ(current_steps(nodes), (std::vector<std::string>{"a[0]", "a[1]", "wait", "b"}));
  EXPECT_TRUE(current_steps(std::vector<NodeStatus>{{"a", St::completed}}).empty());
  EXPECT_TRUE(current_steps(std::vector<NodeStatus>{}).empty());
}

TEST(AttemptOutcome, FollowsTheTransition) {
  EXPECT_EQ(outcome_of(Action::advance), AttemptOutcome::completed);
  EXPECT_EQ(outcome_of(Action::complete_run), AttemptOutcome::completed);
  EXPECT_EQ(outcome_of(Action::retry_later), AttemptOutcome::retrying);
  EXPECT_EQ(outcome_of(Action::release), AttemptOutcome::released);
  EXPECT_EQ(outcome_of(Action::dead_letter), AttemptOutcome::failed);
  EXPECT_EQ(outcome_of(Action::cancel_run), AttemptOutcome::cancelled);
  EXPECT_EQ(outcome_of(Action::execute), std::nullopt);
  EXPECT_EQ(outcome_of(Action::discard), std::nullopt);
  EXPECT_EQ(outcome_of(Action::abandon), std::nullopt);
  EXPECT_EQ(to_string(AttemptOutcome::released), "released");
}

AttemptRecord record(int attempt, AttemptOutcome outcome, std::string error = "boom") {
  AttemptRecord r;
  r.attempt = attempt;
  r.worker = "w1";
  r.started_at = 1764669600000;  // 2025-12-02T10:00:00.000Z
  r.finished_at = 1764669601234;
  r.outcome = outcome;
  r.error = std::move(error);
  return r;
}

TEST(AttemptHistory, AnEntryHasItsFieldsAndAnErrorUnlessItCompleted) {
  EXPECT_EQ(to_json(record(2, AttemptOutcome::retrying)),
            (Json{{"attempt", 2},
                  {"worker", "w1"},
                  {"started_at", "2025-12-02T10:00:00.000Z"},
                  {"finished_at", "2025-12-02T10:00:01.234Z"},
                  {"outcome", "retrying"},
                  {"error", "boom"}}));
  EXPECT_FALSE(to_json(record(1, AttemptOutcome::completed)).contains("error"));
  EXPECT_FALSE(to_json(record(1, AttemptOutcome::skipped)).contains("error"));
  EXPECT_EQ(to_json(record(1, AttemptOutcome::failed, "")).at("error"), "");
  EXPECT_TRUE(to_json(record(1, AttemptOutcome::cancelled)).contains("error"));
}

TEST(AttemptHistory, KeepsTheNewestTwenty) {
  Json history;  // null: none yet
  for (int i = 1; i <= 25; ++i) history = append_attempt(std::move(history), record(i, AttemptOutcome::retrying));
  ASSERT_EQ(history.size(), kMaxAttemptHistory);
  EXPECT_EQ(history.front().at("attempt"), 6);
  EXPECT_EQ(history.back().at("attempt"), 25);
}

TEST(AttemptHistory, RefusesSomethingThatIsNotAList) {
  try {
    (void)append_attempt(Json{{"attempt", 1}}, record(1, AttemptOutcome::completed));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "attempt_history must be a JSON array, not object");
  }
}

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_ms(951782400000), "2000-02-29T00:00:00.000Z");  // a leap day
  EXPECT_EQ(rfc3339_ms(1798761599999), "2026-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339_ms(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_THROW((void)rfc3339_ms(-1), std::out_of_range);
  EXPECT_THROW((void)rfc3339_ms(253402300800000), std::out_of_range);
}

}  // namespace
}  // namespace steadfast::engine
