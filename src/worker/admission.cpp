// Admission through a step's limiter before its handler launches, the
// release of the limiter slot once the handler is done (reconciling the token
// estimate with the usage reported), and the Retry-After pause.
#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "worker/worker_impl.h"

namespace steadfast {

using worker_detail::sleep_for;

// Waits for the step's limiter to admit it. The step keeps its lease (it is
// in flight and renewed) and no attempt is spent while it waits. Ends when
// the step leaves `admitting` (cancelled, handed back, lease lost) — an
// admission granted meanwhile is given back.
// The wait counts toward the step's retry.max_wait: past it the attempt fails.
asio::awaitable<void> Worker::Impl::admit_then_launch(std::string key) {
  if (auto it = inflight_.find(key); it != inflight_.end()) it->second.admitting_since = Clock::now();
  for (;;) {
    auto it = inflight_.find(key);
    if (it == inflight_.end() || it->second.machine.state() != engine::StepState::admitting) co_return;
    Inflight& s = it->second;
    const auto here = std::chrono::duration_cast<milliseconds>(Clock::now() - s.admitting_since);
    if (const auto waited = s.machine.waited() + here;
        engine::admission_wait_exceeded(s.machine.retry(), waited)) {
      feed(key, engine::step_event::AdmissionExpired{waited, worker_detail::jitter_unit()});
      co_return;
    }
    const StepOptions& o = s.options();
    store::Limiter& limiter = *limiters_.at(o.limit.name);
    const std::string holder = options_.id + ":" + s.item.token.entry_id;
    if (auto problem = parse_budget_problem(*s.workflow, s.step_index, s.run)) {
      // launch() fails the attempt without parsing the run: nothing to take.
      s.admission_error = std::move(*problem);
      feed(key, engine::step_event::Admitted{});
      co_return;
    }
    const std::int64_t cost = token_cost(s);
    if (limiter.spec().tokens_per_minute > 0 && cost > limiter.token_capacity()) {
      // Admitting it would put the shared bucket in debt for everyone (a run's
      // input can make the estimate as large as it likes): fail the attempt.
      spdlog::warn("worker {}: run {} step {}: token estimate {} is over limiter {}'s bucket of {}",
                   options_.id, s.item.run_id, s.item.step, cost, o.limit.name, limiter.token_capacity());
      s.admission_error = "the attempt's token estimate (" + std::to_string(cost) + " tokens) exceeds limiter '" +
                          o.limit.name + "' bucket of " + std::to_string(limiter.token_capacity()) +
                          " tokens (token_burst, or a tenth of tokens_per_minute): it could never run without "
                          "starving every other run; send a smaller input or raise token_burst";
      feed(key, engine::step_event::Admitted{});
      co_return;
    }
    store::Limiter::Admission a;
    bool asked = true;
    try {
      a = co_await limiter.try_acquire(cost, holder, limiter_hold_);
    } catch (const redis::Error& e) {
      spdlog::warn("worker {}: limiter {} unreachable: {}", options_.id, o.limit.name, e.what());
      asked = false;
    }
    it = inflight_.find(key);
    const bool still_admitting =
        it != inflight_.end() && it->second.machine.state() == engine::StepState::admitting;
    if (asked && a.admitted) {
      if (!still_admitting) {
        asio::co_spawn(*io_, limiter.release(holder, 0), [this](std::exception_ptr e) {
          if (e) log_background_error("limiter release", e);
        });
        co_return;
      }
      it->second.limiter = &limiter;
      it->second.limit_holder = holder;
      it->second.limit_cost = cost;
      feed(key, engine::step_event::Admitted{
                    std::chrono::duration_cast<milliseconds>(Clock::now() - it->second.admitting_since)});
      co_return;
    }
    if (!still_admitting) co_return;
    if (asked) bump(&WorkerStats::limiter_waits);
    co_await sleep_for(asked ? std::clamp(a.wait, milliseconds(1), milliseconds(1000))
                             : milliseconds(200));
  }
}

// Frees the step's limiter slot once its handler is really done, reconciling
// the token estimate with the usage the output reports.
void Worker::Impl::release_limit(Inflight& s, const Json* output) {
  if (s.limiter == nullptr) return;
  const StepOptions& o = s.options();
  std::int64_t adjust = 0;
  if (output != nullptr && !o.limit.usage_pointer.empty()) {
    try {
      const Json& used = output->at(Json::json_pointer(o.limit.usage_pointer));
      if (used.is_number()) adjust = s.limit_cost - used.get<std::int64_t>();
    } catch (const Json::exception&) {
      spdlog::warn("worker {}: run {} step {}: no usage at {} in the output; not reconciled",
                   options_.id, s.item.run_id, s.item.step, o.limit.usage_pointer);
    }
  }
  store::Limiter* limiter = s.limiter;
  s.limiter = nullptr;
  asio::co_spawn(*io_, limiter->release(s.limit_holder, adjust), [this](std::exception_ptr e) {
    if (e) log_background_error("limiter release", e);
  });
}

// Adaptive backpressure: the upstream's Retry-After pauses the step's limiter
// for every worker.
void Worker::Impl::pause_limit(const Inflight& s, milliseconds retry_after) {
  const StepOptions& o = s.options();
  if (o.limit.name.empty()) return;
  bump(&WorkerStats::limiter_pauses);
  store::Limiter& limiter = *limiters_.at(o.limit.name);
  spdlog::info("worker {}: limiter {} paused for {} ms (upstream asked to retry after {} ms; max_pause {} ms)",
               options_.id, o.limit.name, limiter.capped_pause(retry_after).count(), retry_after.count(),
               limiter.spec().max_pause.count());
  asio::co_spawn(*io_, limiter.pause(retry_after), [this](std::exception_ptr e) {
    if (e) log_background_error("limiter pause", e);
  });
}

// The attempt's token cost: the fixed number, or the template evaluated on the run.
std::int64_t Worker::Impl::token_cost(const Inflight& s) const {
  const StepDefinition& step = s.workflow->steps()[static_cast<std::size_t>(s.step_index)];
  auto t = token_estimates_.find(&step);
  if (t == token_estimates_.end()) return step.options.limit.tokens;
  // Too large to parse: launch() fails the attempt; its estimate does not matter.
  if (parse_budget_problem(*s.workflow, s.step_index, s.run)) return 0;
  auto [input, outputs] = run_data(*s.workflow, s.step_index, s.run);
  engine::Redactor unused;
  try {
    Json v = t->second.render_value(engine::TemplateContext(input, outputs), unused);
    if (v.is_number()) return std::max<std::int64_t>(0, static_cast<std::int64_t>(v.get<double>()));
    if (v.is_string()) return std::max<std::int64_t>(0, std::atoll(v.get<std::string>().c_str()));
  } catch (const std::exception& e) {
    spdlog::warn("worker {}: run {} step {}: token estimate failed ({}); using {}", options_.id,
                 s.item.run_id, s.item.step, e.what(), step.options.limit.tokens);
  }
  return step.options.limit.tokens;
}

}  // namespace steadfast
