// A task step (StepDefinition::task) at its launch: offered to the external
// workers through `serve` (TaskBroker) instead of a handler, and what became
// of the offer: handed over (forgotten here: the external worker writes its
// outcome), lost, or not taken in time (handed back, no attempt spent).
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "worker/worker_impl.h"

namespace steadfast {

using worker_detail::sleep_for;

namespace {

// A step nobody claimed is offered again after this (it goes back to its queue).
constexpr std::chrono::milliseconds kNotTakenDelay{500};

}  // namespace

void Worker::Impl::offer_task(const std::string& key, Inflight& slot, const StepDefinition& step, Json input,
                              std::map<std::string, Json> outputs) {
  TaskOffer o;
  o.key = key;
  o.token = slot.item.token;
  o.token.deliveries = slot.machine.deliveries();
  o.consumer = options_.id;
  o.run_id = slot.item.run_id;
  o.workflow = slot.workflow->name();
  o.step = slot.item.step;
  o.task = step.task;
  o.attempt = slot.machine.attempt();
  o.budget_from = slot.budget_from;
  o.rate_limited = slot.rate_limited_at_claim;
  o.waited_ms = slot.machine.waited().count();
  o.graph = slot.graph;
  o.item_index = slot.item_index;
  o.input = std::move(input);
  o.outputs = Json::object();
  for (auto& [name, value] : outputs) o.outputs[name] = std::move(value);
  o.item = item_value(slot);
  o.lease_ms = step.options.lease.count();
  o.timeout_ms = step.options.timeout.count();
  o.limit_holder = slot.limit_holder;
  for (const store::LimitRequest& r : slot.held_limits) {
    o.limits.push_back(HeldLimit{r.limiter->spec().name, r.instance.key, r.cost});
  }
  slot.run.clear();
  slot.offered = true;
  slot.started_at = Clock::now();
  if (!options_.tasks) {  // not reached: only a task worker serves task queues
    asio::post(*io_, [this, key] { on_finished(key, StepError::fatal("a task step reached a worker without external workers")); });
    return;
  }
  options_.tasks->offer(std::move(o));
}

void Worker::Impl::on_offer_resolved(const std::string& key, TaskBroker::Resolution r) {
  switch (r) {
    case TaskBroker::Resolution::taken:
      bump(&WorkerStats::handed_over);
      feed(key, engine::step_event::HandedOff{});
      return;
    case TaskBroker::Resolution::lost:
      // Another worker reclaimed the entry before the handover: nothing to write.
      feed(key, engine::step_event::LeaseLost{});
      on_finished(key, StepError::retryable("the claim was lost before its handover"));
      return;
    case TaskBroker::Resolution::not_taken:
      feed(key, engine::step_event::NotTaken{kNotTakenDelay});
      return;
  }
}

asio::awaitable<void> Worker::Impl::offer_patience_loop() {
  while (!draining_) {
    options_.tasks->expire_stale();
    co_await sleep_for(milliseconds(250));
  }
}

}  // namespace steadfast
