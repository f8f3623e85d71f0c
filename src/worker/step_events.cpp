// The one place the worker acts on a step's StepMachine: feed it an event,
// then do what it answers, in a fixed order (see engine::StepActions).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "engine/duration.h"
#include "engine/rfc3339.h"
#include "worker/transition.h"
#include "worker/worker_impl.h"

namespace steadfast {

void Worker::Impl::feed(const std::string& key, const engine::StepEvent& event,
                        const StepResult* result, std::string output) {
  auto it = inflight_.find(key);
  if (it == inflight_.end()) return;
  Inflight& s = it->second;
  const engine::StepState before = s.machine.state();
  const bool held_slot = s.machine.holds_slot();
  const engine::StepActions a = s.machine.on(event);
  holding_slots_ += int{s.machine.holds_slot()} - int{held_slot};
  if (a.illegal) {
    spdlog::error("worker {}: run {} step {}: event {} is not possible in state {}; ignored (a bug)",
                  options_.id, s.item.run_id, s.item.step, engine::event_name(event),
                  engine::to_string(before));
    return;
  }
  // The machine owns the token's delivery count (start.lua's reading at the
  // claim, a higher one from a re-delivery); every write and renewal uses it.
  s.item.token.deliveries = s.machine.deliveries();
  // (A lease lost to failing renewals is logged by renew_loop, with the error.)
  // (A task step's claim moved to its external worker looks lost to a
  // renewal that crossed its handover: not worth a warning.)
  if (std::holds_alternative<engine::step_event::LeaseLost>(event) && s.machine.state() != before && !s.offered) {
    spdlog::warn("worker {}: lost the lease of run {} step {} (another worker owns it now)",
                 options_.id, s.item.run_id, s.item.step);
  }
  if (a.cancel_handler && s.ctx) s.ctx->request_cancel();
  if (a.cancel_handler && s.offered && options_.tasks && options_.tasks->withdraw(key)) {
    // Never handed over: the offer "returns" now (a claim that took it
    // meanwhile reports through on_offer_resolved instead).
    asio::post(*io_, [this, key] { on_finished(key, StepError::retryable("withdrawn before an external worker took it")); });
  }
  if (a.attempt_ended) {
    bump(*a.attempt_ended == engine::AttemptEnd::succeeded ? &WorkerStats::succeeded
                                                           : &WorkerStats::failed);
  }
  if (a.release_limit) release_limit(s, result != nullptr && result->ok() ? &result->output() : nullptr);
  if (a.count_stale) {
    bump(&WorkerStats::stale);
    if (before == engine::StepState::lost) {
      spdlog::warn("worker {}: lease of run {} step {} lost; its outcome is not written",
                   options_.id, s.item.run_id, s.item.step);
    }
  }
  if (a.write) write_transition(key, s, *a.write, std::move(output));
  if (a.start_admission) {
    asio::co_spawn(*io_, admit_then_launch(key), [this](std::exception_ptr e) {
      if (e) log_background_error("admission", e);
    });
  }
  if (a.launch_handler) launch(key);
  if (a.free_slot) slot_signal_.cancel();
  if (a.forget) {
    holding_slots_ -= s.machine.holds_slot() ? 1 : 0;
    inflight_.erase(it);
    slot_signal_.cancel();
    if (draining_ && inflight_.empty() && drained_signal_) drained_signal_->cancel();
  }
}

// output: the serialized output of a successful attempt (moved from); written
// only with advance and complete_run.
void Worker::Impl::write_transition(const std::string& key, const Inflight& s,
                                    const engine::Decision& d, std::string output) {
  worker::StepShape shape;
  shape.workflow = s.workflow;
  shape.step_index = s.step_index;
  shape.graph = s.graph;
  shape.expands = s.expands;
  shape.item_index = s.item_index;
  shape.skip = s.skip;
  shape.signal = s.signal;
  store::Transition t = worker::make_transition(s.item.token, s.item.run_id, s.item.step, d, std::move(output), shape);
  if (d.action == engine::Action::sleep) t.child = s.child;
  if (s.workflow != nullptr && s.started_at != Clock::time_point{}) {
    t.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - s.started_at);
  }
  if (d.action == engine::Action::release) bump(&WorkerStats::handed_back);
  queue_transition(key, std::move(t));
}

// One line per retry scheduled and per run dead-lettered, once its script
// applied it (levels: a counted retry info, a rate-limited try or a hand-back
// for want of a handler debug, a dead letter warn; `--log-level` turns them
// down). The next attempt's time is this host's clock plus the delay: the
// timer itself runs on Redis time.
void Worker::Impl::log_outcome(const std::string& key, const store::Transition& t) {
  auto it = inflight_.find(key);
  const int attempt = it != inflight_.end() ? it->second.machine.attempt() : t.attempts;
  const auto next_at = [&t] {
    const auto now = std::chrono::duration_cast<milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return engine::rfc3339_ms((now + t.delay).count());
  };
  switch (t.action) {
    case engine::Action::retry_later:
      if (t.rate_limited > 0) {
        spdlog::debug("worker {}: run {} step {} attempt {} rate limited ({} so far, waited {}); "
                      "next try at {}: {}",
                      options_.id, t.run_id, t.step, attempt, t.rate_limited,
                      engine::format_duration(t.waited), next_at(), t.error);
      } else {
        spdlog::info("worker {}: run {} step {} attempt {} failed; retry at {}: {}", options_.id,
                     t.run_id, t.step, attempt, next_at(), t.error);
      }
      break;
    case engine::Action::dead_letter:
      spdlog::warn("worker {}: run {} step {} attempt {} dead-lettered: {}", options_.id, t.run_id,
                   t.step, attempt, t.error);
      break;
    case engine::Action::advance:
    case engine::Action::complete_run:
      if (t.failed) {
        spdlog::warn("worker {}: run {} step {} attempt {} failed for good; on_failure continue, the run goes on: {}",
                     options_.id, t.run_id, t.step, attempt, t.error);
      }
      break;
    case engine::Action::release:
      if (t.unhandled) {
        spdlog::debug("worker {}: run {} step {} handed back (no handler here{}); offered again at {}",
                      options_.id, t.run_id, t.step,
                      t.no_worker_queue.empty() ? "" : ", nor on any live worker of queue " + t.no_worker_queue,
                      next_at());
      } else if (!t.parked_limiter.empty()) {
        spdlog::debug("worker {}: run {} step {} parked while limiter {}{} refuses it; offered again at {}",
                      options_.id, t.run_id, t.step, t.parked_limiter,
                      t.parked_key.empty() ? "" : " (key " + t.parked_key + ")", next_at());
      }
      break;
    default: break;
  }
}

}  // namespace steadfast
