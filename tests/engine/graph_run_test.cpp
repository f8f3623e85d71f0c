// The graph runtime's rules as a pure model (engine/graph_run.h): a diamond,
// fan-in waiting for every branch, skips and on_failure: continue passing
// through, a dead node stopping every later start while running ones finish,
// retries and cancels of a failed run never starting again, and replay
// re-tokening exactly the unfinished nodes whose needs are done (unit).
#include "engine/graph_run.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace steadfast::engine {
namespace {

using Needs = std::optional<std::vector<std::string>>;
using Indexes = std::vector<std::size_t>;

StepNeeds step(std::string name, Needs needs = std::nullopt) { return StepNeeds{std::move(name), std::move(needs)}; }

// 0 fetch -> 1 split -> 2 summarize; 0 -> 3 keywords; {2, 3} -> 4 merge.
WorkflowGraph analyze() {
  return WorkflowGraph::build({step("fetch"), step("split"), step("summarize", Needs{{"split"}}),
                               step("keywords", Needs{{"fetch"}}), step("merge", Needs{{"summarize", "keywords"}})});
}

// Claims and finishes `n`; returns the nodes that became ready.
Indexes run(GraphRun& g, std::size_t n, NodeEnd end = NodeEnd::completed) {
  EXPECT_TRUE(g.claim(n));
  return g.finish(n, end);
}

TEST(GraphRun, TheDiamondRunsItsBranchesSideBySideAndMergesOnceBothFinished) {
  const WorkflowGraph graph = analyze();
  GraphRun g(graph);
  EXPECT_EQ(g.live_nodes(), Indexes{0});
  EXPECT_EQ(run(g, 0), (Indexes{1, 3})) << "both branches start when fetch completes";
  EXPECT_EQ(g.live_nodes(), (Indexes{1, 3}));
  EXPECT_EQ(run(g, 3), Indexes{}) << "merge still needs summarize";
  EXPECT_EQ(g.unfinished_needs(4), 1u);
  EXPECT_EQ(run(g, 1), Indexes{2});
  EXPECT_EQ(g.state(), GraphRunState::running);
  EXPECT_EQ(run(g, 2), Indexes{4});
  EXPECT_EQ(g.open(), 1u);
  EXPECT_EQ(run(g, 4), Indexes{});
  EXPECT_EQ(g.state(), GraphRunState::completed);
  EXPECT_TRUE(g.live_nodes().empty());
}

TEST(GraphRun, ASkippedOrContinuedNodeLetsItsDependentsGoOn) {
  const WorkflowGraph graph = analyze();
  for (NodeEnd end : {NodeEnd::skipped, NodeEnd::continued}) {
    GraphRun g(graph);
    run(g, 0);
    run(g, 1);
    run(g, 3);
    EXPECT_EQ(run(g, 2, end), Indexes{4});
    EXPECT_EQ(g.node(2), end == NodeEnd::skipped ? NodeState::skipped : NodeState::continued);
    run(g, 4);
    EXPECT_EQ(g.state(), GraphRunState::completed);
  }
}

TEST(GraphRun, ADeadNodeFailsTheRunAtOnceAndNothingStartsAfterItButRunningNodesFinish) {
  const WorkflowGraph graph = analyze();
  GraphRun g(graph);
  run(g, 0);                    // split and keywords ready
  ASSERT_TRUE(g.claim(1));      // split running
  ASSERT_TRUE(g.claim(3));      // keywords running
  EXPECT_EQ(g.finish(3, NodeEnd::dead), Indexes{});
  EXPECT_EQ(g.state(), GraphRunState::failed);
  // split finishes its attempt: kept, but summarize does not start.
  EXPECT_EQ(g.finish(1, NodeEnd::completed), Indexes{});
  EXPECT_EQ(g.node(1), NodeState::completed);
  EXPECT_EQ(g.node(2), NodeState::waiting);
  EXPECT_EQ(g.unfinished_needs(2), 0u) << "counted down, for the replay";
  EXPECT_TRUE(g.live_nodes().empty());
}

TEST(GraphRun, AReadyNodeOfAFailedOrCancelledRunLosesItsTokenWhenClaimed) {
  const WorkflowGraph graph = analyze();
  GraphRun failed(graph);
  run(failed, 0);
  ASSERT_TRUE(failed.claim(3));
  failed.finish(3, NodeEnd::dead);
  EXPECT_FALSE(failed.claim(1)) << "split was queued before the failure";
  EXPECT_EQ(failed.node(1), NodeState::waiting);

  GraphRun cancelled(graph);
  run(cancelled, 0);
  ASSERT_TRUE(cancelled.claim(1));
  cancelled.cancel();
  EXPECT_EQ(cancelled.state(), GraphRunState::cancelled);
  EXPECT_FALSE(cancelled.claim(3));
  EXPECT_EQ(cancelled.finish(1, NodeEnd::completed), Indexes{}) << "summarize never starts";
  EXPECT_EQ(cancelled.state(), GraphRunState::cancelled);
}

TEST(GraphRun, ARetryOfAFailedRunNeverRunsAgain) {
  const WorkflowGraph graph = analyze();
  GraphRun g(graph);
  run(g, 0);
  ASSERT_TRUE(g.claim(1));
  ASSERT_TRUE(g.claim(3));
  g.retry(1);  // split will be tried again: its token is on a timer
  g.finish(3, NodeEnd::dead);
  EXPECT_FALSE(g.claim(1));
  EXPECT_TRUE(g.live_nodes().empty());
}

TEST(GraphRun, ReplayTokensTheDeadNodesAndTheOnesTheFailureKeptFromStartingOnly) {
  const WorkflowGraph graph = analyze();
  GraphRun g(graph);
  run(g, 0);
  ASSERT_TRUE(g.claim(1));
  ASSERT_TRUE(g.claim(3));
  g.finish(3, NodeEnd::dead);
  g.finish(1, NodeEnd::completed);  // summarize kept from starting
  EXPECT_EQ(g.replay(), (Indexes{2, 3}));
  EXPECT_EQ(g.state(), GraphRunState::running);
  EXPECT_EQ(g.node(0), NodeState::completed) << "finished nodes keep their outputs";
  run(g, 2);
  EXPECT_EQ(run(g, 3), Indexes{4});
  run(g, 4);
  EXPECT_EQ(g.state(), GraphRunState::completed);
}

TEST(GraphRun, ReplayLeavesATokenStillQueuedAlone) {
  const WorkflowGraph graph = analyze();
  GraphRun g(graph);
  run(g, 0);  // split and keywords queued
  ASSERT_TRUE(g.claim(3));
  g.finish(3, NodeEnd::dead);
  EXPECT_EQ(g.replay(), Indexes{3}) << "split still holds its entry: a second would run it twice";
  EXPECT_TRUE(g.claim(1));
}

TEST(GraphRun, TransitionsTheRulesDoNotAllowAreRefused) {
  const WorkflowGraph graph = analyze();
  GraphRun g(graph);
  EXPECT_THROW(g.claim(1), GraphRunError) << "split has no token yet";
  EXPECT_THROW(g.finish(0, NodeEnd::completed), GraphRunError) << "fetch was not claimed";
  EXPECT_THROW(g.retry(0), GraphRunError);
  EXPECT_THROW(g.replay(), GraphRunError) << "the run has not failed";
  run(g, 0);
  EXPECT_THROW(g.finish(0, NodeEnd::completed), GraphRunError) << "a second outcome for one claim";
}

TEST(GraphRun, AChainRunsItsStepsOneAfterAnother) {
  const WorkflowGraph graph = WorkflowGraph::build({step("a"), step("b"), step("c")});
  GraphRun g(graph);
  EXPECT_EQ(run(g, 0), Indexes{1});
  EXPECT_EQ(run(g, 1), Indexes{2});
  EXPECT_EQ(run(g, 2), Indexes{});
  EXPECT_EQ(g.state(), GraphRunState::completed);
}

TEST(GraphRun, ManyRootsAllStartWithTheRun) {
  const WorkflowGraph graph =
      WorkflowGraph::build({step("a", Needs{std::vector<std::string>{}}), step("b", Needs{std::vector<std::string>{}}),
                            step("c", Needs{{"a", "b"}})});
  GraphRun g(graph);
  EXPECT_EQ(g.live_nodes(), (Indexes{0, 1}));
  EXPECT_EQ(run(g, 1), Indexes{});
  EXPECT_EQ(run(g, 0), Indexes{2});
}

}  // namespace
}  // namespace steadfast::engine
