#include "engine/rerun_plan.h"

#include <algorithm>
#include <stdexcept>

#include "engine/quote.h"

namespace steadfast::engine {

RerunPlan plan_rerun(const std::vector<std::string>& steps, std::string_view from_step, const WorkflowGraph* graph) {
  const auto at = std::find(steps.begin(), steps.end(), from_step);
  if (at == steps.end()) {
    std::string names;
    for (const std::string& s : steps) names += (names.empty() ? "" : ", ") + s;
    throw std::invalid_argument("from_step " + quote(from_step, 80) + " is not a step of this run (its steps: " +
                                (names.empty() ? std::string("none") : names) + ")");
  }
  if (graph == nullptr) return RerunPlan{{steps.begin(), at}, {at, steps.end()}};
  const auto from = static_cast<std::size_t>(at - steps.begin());
  RerunPlan plan;
  plan.rerun.push_back(steps[from]);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    if (s == from) continue;
    (graph->precedes(from, s) ? plan.rerun : plan.keep).push_back(steps[s]);
  }
  return plan;
}

}  // namespace steadfast::engine
