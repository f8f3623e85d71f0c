#include "engine/workflow_graph.h"

#include <algorithm>

#include "engine/quote.h"

namespace steadfast::engine {

namespace {

// Depth-first search for a cycle; returns the cycle's steps, the first
// repeated at the end, or empty.
class CycleFinder {
 public:
  explicit CycleFinder(const std::vector<std::vector<std::size_t>>& needs)
      : needs_(needs), color_(needs.size(), Color::white) {}

  std::vector<std::size_t> find() {
    for (std::size_t s = 0; s < needs_.size(); ++s) {
      if (color_[s] == Color::white && visit(s)) return cycle_;
    }
    return {};
  }

 private:
  enum class Color { white, grey, black };

  bool visit(std::size_t s) {
    color_[s] = Color::grey;
    path_.push_back(s);
    for (const std::size_t n : needs_[s]) {
      if (color_[n] == Color::grey) {
        // The cycle is the path from n to s, closed by n; written in the
        // order the steps run (each needs the one before it).
        const auto from = std::find(path_.begin(), path_.end(), n);
        cycle_.assign(from, path_.end());
        cycle_.push_back(n);
        std::reverse(cycle_.begin(), cycle_.end());
        return true;
      }
      if (color_[n] == Color::white && visit(n)) return true;
    }
    path_.pop_back();
    color_[s] = Color::black;
    return false;
  }

  const std::vector<std::vector<std::size_t>>& needs_;
  std::vector<Color> color_;
  std::vector<std::size_t> path_;
  std::vector<std::size_t> cycle_;
};

}  // namespace

WorkflowGraph WorkflowGraph::build(const std::vector<StepNeeds>& steps) {
  const std::size_t n = steps.size();
  const auto index_of = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < n; ++i) {
      if (steps[i].name == name) return i;
    }
    return std::nullopt;
  };
  WorkflowGraph g;
  g.needs_.resize(n);
  g.dependents_.resize(n);
  for (std::size_t s = 0; s < n; ++s) {
    const StepNeeds& step = steps[s];
    if (!step.needs) {
      if (s > 0) g.needs_[s].push_back(s - 1);
      continue;
    }
    for (const std::string& name : *step.needs) {
      const std::optional<std::size_t> need = index_of(name);
      if (!need) {
        throw GraphError(s, "step " + quote(step.name) + " needs " + quote(name) + ", which is no step of the workflow");
      }
      if (*need == s) throw GraphError(s, "step " + quote(step.name) + " needs itself");
      if (std::find(g.needs_[s].begin(), g.needs_[s].end(), *need) != g.needs_[s].end()) {
        throw GraphError(s, "step " + quote(step.name) + " needs " + quote(name) + " twice");
      }
      g.needs_[s].push_back(*need);
    }
  }
  const std::vector<std::size_t> cycle = CycleFinder(g.needs_).find();
  if (!cycle.empty()) {
    std::string walk;
    for (const std::size_t s : cycle) walk += (walk.empty() ? "" : " -> ") + steps[s].name;
    throw GraphError(*std::min_element(cycle.begin(), cycle.end()),
                     "the steps' needs form a cycle (" + walk + "): none of them could ever start");
  }
  for (std::size_t s = 0; s < n; ++s) {
    for (const std::size_t need : g.needs_[s]) g.dependents_[need].push_back(s);
  }
  // Ancestors in an order where every step comes after its needs.
  g.ancestors_.assign(n, std::vector<bool>(n, false));
  std::vector<bool> done(n, false);
  for (std::size_t finished = 0; finished < n;) {
    for (std::size_t s = 0; s < n; ++s) {
      if (done[s]) continue;
      const bool ready = std::all_of(g.needs_[s].begin(), g.needs_[s].end(), [&](std::size_t x) { return done[x]; });
      if (!ready) continue;
      for (const std::size_t need : g.needs_[s]) {
        g.ancestors_[s][need] = true;
        for (std::size_t a = 0; a < n; ++a) {
          if (g.ancestors_[need][a]) g.ancestors_[s][a] = true;
        }
      }
      done[s] = true;
      ++finished;
    }
  }
  return g;
}

bool WorkflowGraph::precedes(std::size_t ancestor, std::size_t step) const {
  return ancestors_.at(step).at(ancestor);
}

std::vector<std::size_t> WorkflowGraph::roots() const {
  std::vector<std::size_t> out;
  for (std::size_t s = 0; s < needs_.size(); ++s) {
    if (needs_[s].empty()) out.push_back(s);
  }
  return out;
}

bool WorkflowGraph::is_chain() const noexcept {
  for (std::size_t s = 0; s < needs_.size(); ++s) {
    const bool ok = s == 0 ? needs_[s].empty() : needs_[s].size() == 1 && needs_[s][0] == s - 1;
    if (!ok) return false;
  }
  return true;
}

WorkflowGraph graph_of(const Workflow& workflow) {
  std::vector<StepNeeds> steps;
  steps.reserve(workflow.steps().size());
  for (const StepDefinition& s : workflow.steps()) steps.push_back(StepNeeds{s.name, s.needs});
  return WorkflowGraph::build(steps);
}

void check_runnable(const Workflow& workflow) {
  std::vector<RunnableStep> steps;
  for (const StepDefinition& s : workflow.steps()) {
    steps.push_back(RunnableStep{s.name, s.options.queue, s.map.has_value(), s.child.has_value()});
  }
  check_runnable(graph_of(workflow), steps);
}

bool runs_as_graph(const WorkflowGraph& g, const std::vector<RunnableStep>& steps) {
  if (!g.is_chain()) return true;
  return std::any_of(steps.begin(), steps.end(), [](const RunnableStep& s) { return s.map || s.child; });
}

void check_runnable(const WorkflowGraph& g, const std::vector<RunnableStep>& steps) {
  if (!runs_as_graph(g, steps)) return;
  for (std::size_t s = 0; s < g.size(); ++s) {
    if (steps[s].queue != steps[0].queue) {
      throw GraphError(s, "step " + quote(steps[s].name) + " runs on queue " + quote(steps[s].queue) +
                              " and step " + quote(steps[0].name) + " on " + quote(steps[0].queue) +
                              ": this version runs every step of a workflow with parallel branches, "
                              "fan-in, a map step or a child workflow step on one queue");
    }
  }
}

}  // namespace steadfast::engine
