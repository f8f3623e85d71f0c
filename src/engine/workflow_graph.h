// The dependency graph of a workflow's steps: which steps each one needs
// finished before it may start (`needs`), resolved and checked.
//
// `needs` absent means the step before it in the list (none for the first),
// so a workflow without any `needs` is the chain it always was; `needs: []`
// starts the step with the run. Names may refer to steps later in the list;
// cycles are refused. Pure: no I/O. Immutable once built; safe to share.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "steadfast/workflow.h"

namespace steadfast::engine {

// A step as the graph sees it: its name and its `needs` as written.
struct StepNeeds {
  std::string name;
  std::optional<std::vector<std::string>> needs;  // nullopt = the step before it
};

// What is wrong, and where: `step` is the index of the step whose `needs`
// is at fault (for a cycle, the first step of the cycle in list order).
class GraphError : public std::invalid_argument {
 public:
  GraphError(std::size_t step, const std::string& what) : std::invalid_argument(what), step_(step) {}
  [[nodiscard]] std::size_t step() const noexcept { return step_; }

 private:
  std::size_t step_;
};

class WorkflowGraph {
 public:
  // Throws GraphError for a need that names no step, the step itself, or the
  // same step twice, and for a cycle (its message walks the cycle:
  // "a -> b -> a"). Step names are unique (the caller checked).
  [[nodiscard]] static WorkflowGraph build(const std::vector<StepNeeds>& steps);

  [[nodiscard]] std::size_t size() const noexcept { return needs_.size(); }
  // The steps `step` needs (indexes, in the order written).
  [[nodiscard]] const std::vector<std::size_t>& needs(std::size_t step) const { return needs_.at(step); }
  // The steps that need `step`, in list order.
  [[nodiscard]] const std::vector<std::size_t>& dependents(std::size_t step) const { return dependents_.at(step); }
  // Whether `ancestor` finishes before `step` may start: it is among
  // `step`'s needs, or theirs, transitively. A step is not its own ancestor.
  [[nodiscard]] bool precedes(std::size_t ancestor, std::size_t step) const;
  // The steps that start with the run (no needs), in list order.
  [[nodiscard]] std::vector<std::size_t> roots() const;
  // True when every step needs exactly the one before it: the workflow runs
  // its steps one after another, as a workflow without `needs` does.
  [[nodiscard]] bool is_chain() const noexcept;

 private:
  std::vector<std::vector<std::size_t>> needs_;
  std::vector<std::vector<std::size_t>> dependents_;
  std::vector<std::vector<bool>> ancestors_;  // ancestors_[s][a]: a precedes s
};

// The graph of `workflow`'s steps (StepDefinition::needs). Throws GraphError.
[[nodiscard]] WorkflowGraph graph_of(const Workflow& workflow);

// A step as the runtime check sees it.
struct RunnableStep {
  std::string name;
  std::string queue;
  bool map = false;  // a map step (StepDefinition::map)
  bool child = false;  // a child workflow step (StepDefinition::child)
};

// Whether runs of these steps are graph runs (a token per ready node, and
// per item in flight of a map step): anything but a chain, or a chain with
// a map step or a child workflow step.
[[nodiscard]] bool runs_as_graph(const WorkflowGraph& graph, const std::vector<RunnableStep>& steps);

// Refuses what this version cannot run yet. A chain runs as it always did;
// a graph run (runs_as_graph) keeps all its tokens in one queue's stream:
// every step of it must name the same queue. Throws GraphError naming the
// first step at fault.
void check_runnable(const WorkflowGraph& graph, const std::vector<RunnableStep>& steps);
// graph_of(), then the above.
void check_runnable(const Workflow& workflow);

}  // namespace steadfast::engine
