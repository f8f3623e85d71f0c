// The graph of a workflow's steps (`needs`), pure: defaults, roots,
// dependents, transitive order, the chain test, and every refusal (unit).
#include "engine/workflow_graph.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace steadfast::engine {
namespace {

using Needs = std::optional<std::vector<std::string>>;
using Indexes = std::vector<std::size_t>;

StepNeeds step(std::string name, Needs needs = std::nullopt) { return StepNeeds{std::move(name), std::move(needs)}; }

// The analysis pipeline: fetch, split, summarize (after split),
// keywords (after fetch), merge (after summarize and keywords).
std::vector<StepNeeds> analyze() {
  return {step("fetch"), step("split"), step("summarize", Needs{{"split"}}), step("keywords", Needs{{"fetch"}}),
          step("merge", Needs{{"summarize", "keywords"}})};
}

TEST(WorkflowGraph, AbsentNeedsMeanThePreviousStepSoOldFilesStayChains) {
  const WorkflowGraph g = WorkflowGraph::build({step("a"), step("b"), step("c")});
  EXPECT_TRUE(g.is_chain());
  EXPECT_EQ(g.roots(), Indexes{0});
  EXPECT_EQ(g.needs(2), Indexes{1});
  EXPECT_EQ(g.dependents(0), Indexes{1});
  EXPECT_TRUE(g.dependents(2).empty());
  EXPECT_TRUE(g.precedes(0, 2));
  EXPECT_FALSE(g.precedes(2, 0));
  EXPECT_FALSE(g.precedes(1, 1)) << "a step is not its own ancestor";
}

TEST(WorkflowGraph, NeedsSpellingOutTheChainIsStillAChain) {
  EXPECT_TRUE(WorkflowGraph::build({step("a", Needs{std::vector<std::string>{}}), step("b", Needs{{"a"}}),
                                    step("c", Needs{{"b"}})})
                  .is_chain());
  EXPECT_TRUE(WorkflowGraph::build({step("only")}).is_chain());
}

TEST(WorkflowGraph, ADiamondHasOneRootTwoBranchesAndAFanIn) {
  const WorkflowGraph g = WorkflowGraph::build(analyze());
  EXPECT_FALSE(g.is_chain());
  EXPECT_EQ(g.roots(), Indexes{0});
  EXPECT_EQ(g.dependents(0), (Indexes{1, 3})) << "fetch starts split and keywords";
  EXPECT_EQ(g.needs(4), (Indexes{2, 3})) << "merge waits for both branches, in the order written";
  EXPECT_TRUE(g.precedes(0, 4)) << "fetch before merge, through either branch";
  EXPECT_TRUE(g.precedes(1, 4));
  EXPECT_FALSE(g.precedes(3, 2)) << "keywords and summarize run side by side";
  EXPECT_FALSE(g.precedes(2, 3));
}

TEST(WorkflowGraph, EmptyNeedsStartAStepWithTheRunAndNeedsMayNameALaterStep) {
  const WorkflowGraph g =
      WorkflowGraph::build({step("report", Needs{{"b"}}), step("a", Needs{std::vector<std::string>{}}),
                            step("b", Needs{std::vector<std::string>{}})});
  EXPECT_EQ(g.roots(), (Indexes{1, 2}));
  EXPECT_TRUE(g.precedes(2, 0));
  EXPECT_FALSE(g.precedes(1, 0));
  EXPECT_FALSE(g.is_chain());
}

TEST(WorkflowGraph, RefusesUnknownSelfDuplicateAndCyclicNeedsNamingTheStep) {
  struct Case {
    std::string name;
    std::vector<StepNeeds> steps;
    std::size_t step;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"unknown", {step("a"), step("b", Needs{{"nope"}})}, 1,
       "step 'b' needs 'nope', which is no step of the workflow"},
      {"itself", {step("a"), step("b", Needs{{"b"}})}, 1, "step 'b' needs itself"},
      {"twice", {step("a"), step("b", Needs{{"a", "a"}})}, 1, "step 'b' needs 'a' twice"},
      {"two-step cycle", {step("a", Needs{{"b"}}), step("b")}, 0,
       "the steps' needs form a cycle (a -> b -> a): none of them could ever start"},
      {"longer cycle behind a root",
       {step("root", Needs{std::vector<std::string>{}}), step("x", Needs{{"root", "z"}}), step("y", Needs{{"x"}}),
        step("z", Needs{{"y"}})},
       1, "the steps' needs form a cycle (x -> y -> z -> x): none of them could ever start"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      (void)WorkflowGraph::build(c.steps);
      ADD_FAILURE() << "built";
    } catch (const GraphError& e) {
      EXPECT_EQ(e.step(), c.step);
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

}  // namespace
}  // namespace steadfast::engine
