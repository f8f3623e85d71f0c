// A child workflow step (ChildSpec) at its claim. No handler runs. The first
// claim renders the child's input and parks the step on the child it starts
// (spawn.lua, through the step machine's `sleep`: the claim is refunded and
// the child is the step's token). The child's end queues the step again
// (lib.lua's "Child runs"); that claim reads how the child ended and
// finishes the step with it: the child's output, or a fatal failure naming
// the child (the step's on_failure decides what the run does). A claim
// that finds the child still live (a replay of the parent, a stale wake-up)
// parks on it again.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "engine/json_schema.h"
#include "engine/quote.h"
#include "engine/template.h"
#include "store/definition.h"
#include "store/run_id.h"
#include "store/run_order.h"
#include "worker/worker_impl.h"

namespace steadfast {

Worker::Impl::ChildPlan Worker::Impl::child_plan(const Workflow& child,
                                                const std::map<std::string, QueueOrder>& queue_order) {
  ChildPlan plan;
  store::ChildStart& c = plan.shape;
  c.workflow = child.name();
  c.first_step = child.steps().front().name;
  c.queue = child.steps().front().options.queue;
  Json names = Json::array();
  for (const StepDefinition& s : child.steps()) names.push_back(s.name);
  c.steps = names.dump();
  plan.definition = store::definition_of(child, {}, queue_order);
  c.graph = store::run_graph_of(plan.definition);
  c.deadline_ms = child.deadline().count();
  if (!child.input_schema().is_null()) plan.schema = std::make_shared<const engine::JsonSchema>(child.input_schema());
  plan.max_input_bytes = child.max_input_bytes();
  return plan;
}

void Worker::Impl::run_child_step(const std::string& key, Inflight& slot, const StepDefinition& step,
                                  const Json& input, const std::map<std::string, Json>& outputs) {
  const ChildSpec& spec = *step.child;
  const ChildPlan& plan = child_plans_.at(spec.workflow);  // the constructor made one for every child
  const std::string holder = slot.item.step;
  const std::string child_id = store::child_run_id(store_->keys(), slot.item.run_id, holder);
  const auto link = slot.run.find("s." + holder + ".child");
  const bool started = link != slot.run.end() && !link->second.empty();
  const Json item = item_value(slot);
  slot.run.clear();
  slot.started_at = Clock::now();
  const auto fail = [this, key](std::string error) {
    bump(&WorkerStats::started);
    asio::post(*io_, [this, key, e = std::move(error)] { on_finished(key, StepError::fatal(e)); });
  };
  if (!started) {
    Json rendered;
    try {
      engine::Redactor unused;
      engine::TemplateContext context(input, outputs);
      if (slot.item_index >= 0) context.with_item(item, slot.item_index);
      rendered = engine::JsonTemplate::parse(spec.input).render(context, unused);
    } catch (const std::exception& e) {  // TemplateRenderError; a syntax error was refused at load
      fail("the input of child workflow " + engine::quote(spec.workflow) + " could not be rendered: " + e.what());
      return;
    }
    if (rendered.is_null()) rendered = Json::object();
    std::string text = rendered.dump();
    if (text.size() > plan.max_input_bytes) {
      fail("the input of child workflow " + engine::quote(spec.workflow) + " takes " + std::to_string(text.size()) +
           " bytes, over its max_input_bytes of " + std::to_string(plan.max_input_bytes));
      return;
    }
    if (plan.schema) {
      const std::vector<engine::FieldError> errors = plan.schema->validate(rendered, "/input");
      if (!errors.empty()) {
        fail("the input of child workflow " + engine::quote(spec.workflow) + " does not match its input_schema: " +
             (errors.front().pointer.empty() ? std::string() : errors.front().pointer + ": ") + errors.front().detail);
        return;
      }
    }
    slot.child = plan.shape;
    slot.child->run_id = child_id;
    // Its own fairness keys from its own input; the parent's priority (spawn.lua).
    slot.child->sched = store::run_sched(plan.definition, rendered, kDefaultPriority);
    slot.child->input = std::move(text);
    spdlog::info("worker {}: run {} step {} starts child run {} of workflow {}", options_.id, slot.item.run_id,
                 holder, child_id, spec.workflow);
    park(key, 0);
    return;
  }
  asio::co_spawn(
      *io_,
      [this, key, child_id, workflow = spec.workflow, &plan]() -> asio::awaitable<void> {
        std::optional<store::Store::ChildOutcome> o;
        // Redis unreachable: read again while the step is held (renew_loop
        // keeps its lease, or finds it lost and forgets it).
        for (;;) {
          try {
            o = co_await store_->child_outcome(child_id);
            break;
          } catch (const std::exception& e) {
            outage("child run").failed(e.what());
          }
          if (inflight_.find(key) == inflight_.end()) co_return;
          co_await sleep_for(milliseconds(1000));
        }
        auto it = inflight_.find(key);
        if (it == inflight_.end()) co_return;
        Inflight& s = it->second;
        if (!o) {
          bump(&WorkerStats::started);
          on_finished(key, StepError::fatal("child run " + child_id + " of workflow " + engine::quote(workflow) +
                                            " no longer exists"));
        } else if (o->status == "completed") {
          bump(&WorkerStats::started);
          Json output = Json::parse(o->output, nullptr, false);
          if (output.is_discarded()) output = Json(o->output);
          on_finished(key, StepResult(std::move(output)));
        } else if (o->status == "failed") {
          bump(&WorkerStats::started);
          on_finished(key, StepError::fatal("child run " + child_id + " of workflow " + engine::quote(workflow) +
                                            " failed at step " + engine::quote(o->step) + ": " + o->error));
        } else if (o->status == "cancelled") {
          bump(&WorkerStats::started);
          on_finished(key, StepError::fatal("child run " + child_id + " of workflow " + engine::quote(workflow) +
                                            " was cancelled"));
        } else {
          s.child = plan.shape;  // it exists: spawn.lua waits for it again
          s.child->run_id = child_id;
          s.child->input = "{}";
          park(key, 0);
        }
      },
      [this](std::exception_ptr e) {
        if (e) log_background_error("child run", e);
      });
}

}  // namespace steadfast
