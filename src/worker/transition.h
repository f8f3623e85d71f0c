// A decided outcome as the store::Transition its script applies: shared by
// the worker (step_events.cpp) and `serve`'s external-worker outcomes
// (api/task_protocol.cpp), so both write the same thing.
#pragma once

#include <cstdint>
#include <string>

#include "engine/lifecycle.h"
#include "steadfast/workflow.h"
#include "store/store.h"

namespace steadfast::worker {

// What of the claimed step shapes its transition.
struct StepShape {
  const Workflow* workflow = nullptr;  // null: unknown here (no next step, no counters)
  int step_index = -1;
  bool graph = false;             // a graph run's node: complete.lua finds what follows ('*')
  bool expands = false;           // a map step's own token (its output: the items)
  std::int64_t item_index = -1;   // a map item's index, or -1
  bool skip = false;              // its `if` was false
  std::string signal;             // a signal wait's signal, else ''
};

// `output`: the serialized output (advance / complete_run only; moved from).
[[nodiscard]] store::Transition make_transition(const store::Token& token, const std::string& run_id,
                                                const std::string& step, const engine::Decision& d,
                                                std::string output, const StepShape& shape);

}  // namespace steadfast::worker
