// Which nodes of a run a rerun from a node keeps, and which run again: the
// decision of POST /v1/runs/{id}/rerun, pure so that graphs can extend it.
//
// Today a run's nodes are its steps in order (the run hash's `steps`): a
// rerun from S keeps the output of every step before S, and S and every step
// after it run again. With graphs, "before" becomes "neither S nor reachable
// from S" (the issue's wording); the callers only see the two lists.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace steadfast::engine {

struct RerunPlan {
  std::vector<std::string> keep;   // their outputs are copied; in run order
  std::vector<std::string> rerun;  // run again, the first one first; never empty
};

// The plan for rerunning a run whose steps are `steps` (in order) from
// `from_step`. Throws std::invalid_argument naming the steps when `from_step`
// is not one of them (or `steps` is empty).
[[nodiscard]] RerunPlan plan_rerun(const std::vector<std::string>& steps, std::string_view from_step);

}  // namespace steadfast::engine
