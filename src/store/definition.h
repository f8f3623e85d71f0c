// The definition of a workflow as registered in Redis (the sf:{sf}:workflows hash):
// what a submit from anywhere needs to know — the steps in order, their queues
// and options, and the first queue's backlog bound.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/workflow_graph.h"
#include "steadfast/json.h"
#include "steadfast/queue_order.h"
#include "steadfast/workflow.h"

namespace steadfast::store {

// {"name", "steps": [{"name", "queue", "max_attempts", "lease_ms", "timeout_ms",
//  "signal"? (a signal wait's name)}], "max_backlog"?, "order"?}. max_backlog maps a queue to its bound (load shedding); the
// entry of the first step's queue, if any, is recorded. Empty = no bound.
// `order` maps a queue to its QueueOrder: those of the workflow's queues are
// recorded ({queue: store::queue_order_json}), so that every submitter
// gives a run its place in line (store::run_sched).
[[nodiscard]] Json definition_of(const Workflow& workflow,
                                 const std::map<std::string, std::int64_t>& max_backlog = {},
                                 const std::map<std::string, QueueOrder>& order = {});

// `definition` with the queue settings `recorded` (the definition registered
// before it) holds for the queues `definition` still uses: its "max_backlog"
// when its first queue is the same, and "order" entries. Those settings are
// the workers' (their workflows file, WorkerOptions); a definition made
// without them (Client::register_workflow) must not erase them.
[[nodiscard]] Json with_recorded_queue_settings(Json definition, const Json& recorded);

// What a run of a registered workflow keeps of its graph (the `graph` field,
// lib.lua's "Graph runs"): the needs of every step, {"step": ["need", ...]},
// as compact JSON; empty when the steps run one after another (a chain).
// Throws std::invalid_argument for a definition whose needs do not form a
// graph (engine::WorkflowGraph::build). A definition without steps has none ("").
[[nodiscard]] std::string run_graph_of(const Json& definition);

// The inverse of run_graph_of: the graph a run keeps in `graph` over its
// `steps` (in order); nullopt for a chain (`graph` empty). Throws
// std::invalid_argument naming run `run_id` for a field that is not the
// needs of those steps (written by hand).
[[nodiscard]] std::optional<engine::WorkflowGraph> parse_run_graph(const std::string& run_id,
                                                                   const std::vector<std::string>& steps,
                                                                   const std::string& graph);

}  // namespace steadfast::store
