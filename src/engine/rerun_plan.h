// Which nodes of a run a rerun from a node keeps, and which run again: the
// decision of POST /v1/runs/{id}/rerun, pure so that graphs can extend it.
//
// A run's nodes are its steps in order (the run hash's `steps`). For a chain,
// a rerun from S keeps the output of every step before S, and S and every
// step after it run again. For a graph, S and every step that needs it
// (directly or through others) run again, and every other step is kept —
// a parallel branch too; the callers only see the two lists.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/workflow_graph.h"

namespace steadfast::engine {

struct RerunPlan {
  std::vector<std::string> keep;   // their outputs are copied; in run order
  std::vector<std::string> rerun;  // run again, the first one first; never empty
};

// The plan for rerunning a run whose steps are `steps` (in order) from
// `from_step`; `graph` (of the same steps, in the same order) for a graph
// run, null for a chain. Throws std::invalid_argument naming the steps when
// `from_step` is not one of them (or `steps` is empty).
[[nodiscard]] RerunPlan plan_rerun(const std::vector<std::string>& steps, std::string_view from_step,
                                   const WorkflowGraph* graph = nullptr);

}  // namespace steadfast::engine
