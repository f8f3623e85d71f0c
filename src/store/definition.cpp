#include "store/definition.h"

#include <stdexcept>
#include <vector>

#include "store/run_order.h"

namespace steadfast::store {

Json definition_of(const Workflow& w, const std::map<std::string, std::int64_t>& max_backlog,
                   const std::map<std::string, QueueOrder>& order) {
  Json steps = Json::array();
  for (const StepDefinition& s : w.steps()) {
    steps.push_back({{"name", s.name},
                     {"queue", s.options.queue},
                     {"max_attempts", s.options.retry.max_attempts},
                     {"lease_ms", s.options.lease.count()},
                     {"timeout_ms", s.options.timeout.count()}});
    // Only on signal waits: the signals a run of the workflow can take.
    if (s.wait && !s.wait->signal.empty()) steps.back()["signal"] = s.wait->signal;
    // Only when set: the run view shows what a step waits for and why it was skipped.
    if (s.needs) steps.back()["needs"] = *s.needs;
    if (!s.condition.empty()) steps.back()["if"] = s.condition;
    // Only on map steps: their runs are graph runs, and the view counts their items.
    if (s.map) steps.back()["map"] = {{"max_parallel", s.map->max_parallel}, {"max_items", s.map->max_items}};
    // Only on child workflow steps: their runs are graph runs too.
    if (s.child) steps.back()["child_workflow"] = s.child->workflow;
  }
  Json def = {{"name", w.name()}, {"steps", steps}};
  if (!w.input_schema().is_null()) def["input_schema"] = w.input_schema();
  // Only when set: definitions registered before it existed stay equal.
  if (w.max_input_bytes() != kMaxInputBytes) def["max_input_bytes"] = w.max_input_bytes();
  if (w.deadline().count() > 0) def["deadline_ms"] = w.deadline().count();
  if (!w.steps().empty()) {
    auto bound = max_backlog.find(w.steps().front().options.queue);
    if (bound != max_backlog.end()) def["max_backlog"] = bound->second;
  }
  // Only when set, as above.
  Json ordered = Json::object();
  for (const StepDefinition& s : w.steps()) {
    auto o = order.find(s.options.queue);
    if (o != order.end()) ordered[o->first] = queue_order_json(o->second);
  }
  if (!ordered.empty()) def["order"] = std::move(ordered);
  return def;
}

Json with_recorded_queue_settings(Json definition, const Json& recorded) {
  if (!recorded.is_object() || !definition.is_object() || !definition.contains("steps")) return definition;
  const auto queue_of = [](const Json& step) {
    return step.is_object() && step.contains("queue") && step["queue"].is_string() ? step["queue"].get<std::string>()
                                                                                      : std::string();
  };
  const Json& steps = definition["steps"];
  const Json none = Json::array();
  const Json& before = recorded.contains("steps") && recorded["steps"].is_array() ? recorded["steps"] : none;
  if (!definition.contains("max_backlog") && recorded.contains("max_backlog") && !steps.empty() && !before.empty() &&
      queue_of(steps.front()) == queue_of(before.front())) {
    definition["max_backlog"] = recorded["max_backlog"];
  }
  if (recorded.contains("order") && recorded["order"].is_object()) {
    for (const Json& step : steps) {
      const std::string q = queue_of(step);
      const bool missing = !definition.contains("order") || !definition["order"].contains(q);
      if (missing && recorded["order"].contains(q)) definition["order"][q] = recorded["order"][q];
    }
  }
  return definition;
}

std::string run_graph_of(const Json& definition) {
  if (!definition.is_object() || !definition.contains("steps") || !definition["steps"].is_array()) return "";
  std::vector<engine::StepNeeds> steps;
  std::vector<engine::RunnableStep> runnable;
  for (const Json& s : definition["steps"]) {
    engine::StepNeeds n{s.at("name").get<std::string>(), std::nullopt};
    if (s.contains("needs")) n.needs = s["needs"].get<std::vector<std::string>>();
    runnable.push_back({n.name, "", s.contains("map"), s.contains("child_workflow")});
    steps.push_back(std::move(n));
  }
  const engine::WorkflowGraph graph = engine::WorkflowGraph::build(steps);
  if (!engine::runs_as_graph(graph, runnable)) return "";
  Json needs = Json::object();
  for (std::size_t s = 0; s < graph.size(); ++s) {
    Json names = Json::array();
    for (const std::size_t n : graph.needs(s)) names.push_back(steps[n].name);
    needs[steps[s].name] = std::move(names);
  }
  return needs.dump();
}

std::optional<engine::WorkflowGraph> parse_run_graph(const std::string& run_id, const std::vector<std::string>& steps,
                                                     const std::string& graph) {
  if (graph.empty()) return std::nullopt;
  const Json needs = Json::parse(graph, nullptr, false);
  std::vector<engine::StepNeeds> nodes;
  for (const std::string& name : steps) {
    const auto it = needs.is_object() ? needs.find(name) : needs.end();
    if (it == needs.end() || !it->is_array()) {
      throw std::invalid_argument("run " + run_id + " keeps no needs of step '" + name + "'");
    }
    nodes.push_back({name, it->get<std::vector<std::string>>()});
  }
  return engine::WorkflowGraph::build(nodes);
}

}  // namespace steadfast::store
