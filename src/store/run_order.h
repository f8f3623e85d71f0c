// A run's ordering on ordered queues (include/steadfast/queue_order.h): the
// queues' orders as a workflow's definition records them, and the `sched`
// field a run is created with (lua/lib.lua "Ordered queues").
#pragma once

#include <map>
#include <string>

#include "steadfast/json.h"
#include "steadfast/queue_order.h"

namespace steadfast::store {

// {"fairness_key"?, "weights"?, "aging_ms"} and back. from_json throws
// std::invalid_argument for anything else.
[[nodiscard]] Json queue_order_json(const QueueOrder& order);
[[nodiscard]] QueueOrder queue_order_from_json(const Json& j);

// Throws std::invalid_argument naming what is wrong: a fairness key that is
// not a template, a weight outside 1..kMaxFairnessWeight, a negative aging.
void check_queue_order(const std::string& queue, const QueueOrder& order);

// Longest key value a run keeps for display (the view's waiting_for); the
// ordering itself uses the SHA-1 of the whole value.
inline constexpr std::size_t kFairnessKeyShown = 128;

// The `sched` field of a new run of the workflow `definition` (its "order":
// store::definition_of) with this input and priority: JSON {"p": priority,
// "q": {queue: [key hash, weight, key value (at most kFairnessKeyShown
// bytes), aging ms]}}; "" when the workflow uses no ordered queue and the
// priority is the default. A fairness template that cannot be rendered
// against the input gives the key "" (never an error: the run must not be
// refused for its place in line). Throws std::invalid_argument for a
// priority outside kMinPriority..kMaxPriority.
[[nodiscard]] std::string run_sched(const Json& definition, const Json& input, int priority);

// The fairness key value of `input` under `fairness_key` ("" when none).
[[nodiscard]] std::string fairness_value(const std::string& fairness_key, const Json& input);

}  // namespace steadfast::store
