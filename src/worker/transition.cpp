#include "worker/transition.h"

namespace steadfast::worker {

store::Transition make_transition(const store::Token& token, const std::string& run_id, const std::string& step,
                                  const engine::Decision& d, std::string output, const StepShape& shape) {
  store::Transition t;
  t.token = token;
  t.run_id = run_id;
  t.step = step;
  t.action = d.action;
  t.attempts = d.attempts;
  t.delay = d.delay;
  t.error = d.reason;
  t.rate_limited = d.rate_limited;
  t.waited = d.waited;
  t.unhandled = d.unhandled;
  t.no_worker_queue = d.no_worker_queue;
  t.parked_limiter = d.parked_limiter;
  t.parked_key = d.parked_key;
  t.wake_at_ms = d.wake_at_ms;
  t.signal = shape.signal;
  t.skipped = shape.skip;
  if (d.action == engine::Action::advance || d.action == engine::Action::complete_run) {
    t.output = d.continued ? std::string("null") : std::move(output);
    t.failed = d.continued;
  }
  if (shape.workflow == nullptr) return t;
  const Workflow& wf = *shape.workflow;
  t.workflow = wf.name();
  const StepDefinition& def = wf.steps()[static_cast<std::size_t>(shape.step_index)];
  if (d.action == engine::Action::advance && shape.graph) {
    t.next_step = "*";  // complete.lua finds the ready dependents
    t.next_queue = def.options.queue;
    if (shape.expands && !shape.skip && !d.continued) {
      t.expand_max_parallel = def.map->max_parallel;
      t.expand_max_output_bytes = def.map->max_output_bytes;
    }
    if (shape.item_index >= 0) t.item_continues = def.map->on_item_failure == OnItemFailure::continue_;
  } else if (d.action == engine::Action::advance) {
    const StepDefinition& next = wf.steps()[static_cast<std::size_t>(shape.step_index) + 1];
    t.next_step = next.name;
    t.next_queue = next.options.queue;
  }
  return t;
}

}  // namespace steadfast::worker
