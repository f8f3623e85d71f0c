// How a run moves through its steps' graph (issue 14's runtime), as a pure
// model: which nodes hold a token, which become ready when one finishes,
// when the run ends, and what a replay starts again. The transition scripts
// keep the same state in the run hash (a countdown of unfinished needs per
// node, a count of open nodes); this model is the reference their tests
// compare against, and the rules below are the contract they implement.
//
// Rules:
//  * A node is `waiting` until every node it needs has finished (completed,
//    skipped, or failed with on_failure: continue); it then becomes `ready`
//    (it holds a token: a queue entry), `running` once claimed, and ends.
//  * Finishing a node counts down each dependent's unfinished needs; each
//    that reaches zero becomes ready — unless the run is failing.
//  * A node that fails for good (dead) fails the run at once: no node starts
//    after that (ready ones lose their token when claimed, waiting ones never
//    get one); nodes already running finish their attempt and their outcome
//    is kept (it still counts down its dependents, for a replay).
//  * A retry puts the running node's token back (a timer, then the queue):
//    ready again, so a failed or cancelled run never starts it.
//  * Cancel: no node starts after it, as for a failure; running nodes see
//    the cancel and end.
//  * The run is completed when every node has finished; failed from the
//    first dead node on (unless it was cancelled first).
//  * Replay of a failed run: every node that has not finished and whose
//    needs have all finished gets a token again (the dead ones, and the ones
//    the failure kept from starting); finished nodes keep their outputs.
//
// Not thread-safe; a value type.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "engine/workflow_graph.h"

namespace steadfast::engine {

enum class NodeState {
  waiting,    // needs unfinished; no token
  ready,      // holds a token (queued)
  running,    // claimed by a worker
  completed,
  skipped,    // its `if` was false
  continued,  // failed for good with on_failure: continue (output null)
  dead,       // failed for good: the run failed
};

// Finished: completed, skipped or continued (its dependents may start).
[[nodiscard]] bool finished(NodeState s) noexcept;
[[nodiscard]] std::string_view to_string(NodeState s) noexcept;

enum class GraphRunState { running, completed, failed, cancelled };

// A transition the rules do not allow (claiming a node without a token,
// finishing one that is not running): the caller's bug, or a stale token.
class GraphRunError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// How a running node ended.
enum class NodeEnd { completed, skipped, continued, dead };

class GraphRun {
 public:
  // A new run: every root is ready.
  explicit GraphRun(const WorkflowGraph& graph);

  [[nodiscard]] GraphRunState state() const noexcept;
  [[nodiscard]] NodeState node(std::size_t n) const { return nodes_.at(n); }
  // Needs of `n` not finished yet.
  [[nodiscard]] std::size_t unfinished_needs(std::size_t n) const { return need_.at(n); }
  // Nodes not finished (what the run hash's `open` counts).
  [[nodiscard]] std::size_t open() const noexcept { return open_; }
  // Nodes holding a token or a claim (ready or running): what `doctor` counts.
  [[nodiscard]] std::vector<std::size_t> live_nodes() const;

  // A worker claims a ready node. Returns false when the run has failed:
  // the token is dropped (the node goes back to waiting) and nothing runs.
  bool claim(std::size_t n);
  // A running node ended. Returns the nodes that became ready, in list order.
  std::vector<std::size_t> finish(std::size_t n, NodeEnd end);
  // A running node will be tried again: it holds a token, not a claim.
  void retry(std::size_t n);
  // The user cancelled the run (no effect once it ended).
  void cancel();
  // Replays a failed run: the nodes that get a token again, in list order.
  std::vector<std::size_t> replay();

 private:
  const WorkflowGraph* graph_;
  std::vector<NodeState> nodes_;
  std::vector<std::size_t> need_;
  std::size_t open_ = 0;
  bool failed_ = false;
  bool cancelled_ = false;
};

}  // namespace steadfast::engine
