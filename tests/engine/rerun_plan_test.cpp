// Which steps a rerun keeps and which run again, for each kind of from_step.
#include "engine/rerun_plan.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace steadfast::engine {
namespace {

using Names = std::vector<std::string>;

TEST(RerunPlan, KeepsTheStepsBeforeFromStep) {
  struct Case {
    Names steps;
    std::string from;
    Names keep;
    Names rerun;
  };
  const std::vector<Case> cases = {
      {{"a"}, "a", {}, {"a"}},
      {{"a", "b", "c"}, "a", {}, {"a", "b", "c"}},
      {{"a", "b", "c"}, "b", {"a"}, {"b", "c"}},
      {{"a", "b", "c"}, "c", {"a", "b"}, {"c"}},
      {{"fetch", "summarize", "store", "notify"}, "store", {"fetch", "summarize"}, {"store", "notify"}},
  };
  for (const Case& c : cases) {
    const RerunPlan plan = plan_rerun(c.steps, c.from);
    EXPECT_EQ(plan.keep, c.keep) << c.from;
    EXPECT_EQ(plan.rerun, c.rerun) << c.from;
  }
}

// a -> b -> d, a -> c -> d, e -> d (e a second root): a rerun from a node
// runs it and what needs it, directly or not, and keeps the rest.
TEST(RerunPlan, InAGraphKeepsEveryStepThatDoesNotNeedFromStep) {
  const Names steps{"a", "b", "c", "d", "e"};
  const WorkflowGraph graph = WorkflowGraph::build({{"a", Names{}},
                                                    {"b", Names{"a"}},
                                                    {"c", Names{"a"}},
                                                    {"d", Names{"b", "c", "e"}},
                                                    {"e", Names{}}});
  struct Case {
    std::string from;
    Names keep;
    Names rerun;
  };
  const std::vector<Case> cases = {
      {"a", {"e"}, {"a", "b", "c", "d"}},
      {"b", {"a", "c", "e"}, {"b", "d"}},
      {"c", {"a", "b", "e"}, {"c", "d"}},
      {"d", {"a", "b", "c", "e"}, {"d"}},
      {"e", {"a", "b", "c"}, {"e", "d"}},
  };
  for (const Case& c : cases) {
    const RerunPlan plan = plan_rerun(steps, c.from, &graph);
    EXPECT_EQ(plan.keep, c.keep) << c.from;
    EXPECT_EQ(plan.rerun, c.rerun) << c.from;
  }
  EXPECT_THROW((void)plan_rerun(steps, "z", &graph), std::invalid_argument);
}

TEST(RerunPlan, AnUnknownStepIsRefusedNamingTheSteps) {
  struct Case {
    Names steps;
    std::string from;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"a", "b"}, "c", "from_step 'c' is not a step of this run (its steps: a, b)"},
      {{"a", "b"}, "", "from_step '' is not a step of this run (its steps: a, b)"},
      {{"a", "b"}, "A", "from_step 'A' is not a step of this run (its steps: a, b)"},
      {{}, "a", "from_step 'a' is not a step of this run (its steps: none)"},
      {{"a"}, "x\ny", "from_step 'x\\x0ay' is not a step of this run (its steps: a)"},
  };
  for (const Case& c : cases) {
    try {
      (void)plan_rerun(c.steps, c.from);
      ADD_FAILURE() << "no error for " << c.from;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

}  // namespace
}  // namespace steadfast::engine
