// Executing a step: its context, its handler on the pool (or on the event
// loop for non-blocking kinds), its timeout, and its result handed to the
// step machine.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "engine/json_size.h"
#include "engine/quote.h"
#include "engine/template.h"
#include "worker/worker_impl.h"

namespace steadfast {

bool Worker::Impl::precedes(const Workflow& wf, int a, int s) const {
  return graphs_.at(&wf).precedes(static_cast<std::size_t>(a), static_cast<std::size_t>(s));
}

std::optional<std::string> Worker::Impl::parse_budget_problem(const Workflow& wf, int step_index,
                                                              const store::Fields& f) const {
  std::size_t bytes = 0;
  std::size_t values = 0;
  const auto add = [&](const std::string& field) {
    auto it = f.find(field);
    if (it == f.end()) return;
    const engine::ParsedSize size = engine::parsed_size_estimate(it->second);
    bytes += size.bytes;
    values += size.values;
  };
  add("input");
  for (int i = 0; i < static_cast<int>(wf.steps().size()); ++i) {
    if (precedes(wf, i, step_index)) add("s." + wf.steps()[static_cast<std::size_t>(i)].name + ".output");
  }
  if (bytes <= engine::kMaxParsedBytesPerStep) return std::nullopt;
  return "the run's input and earlier outputs would take about " + std::to_string(bytes >> 20) + " MiB parsed (" +
         std::to_string(values) + " JSON values), over the " + std::to_string(engine::kMaxParsedBytesPerStep >> 20) +
         " MiB a step may be handed: fewer, larger values (one string rather than many small objects) are cheaper";
}

Json Worker::Impl::item_value(const Inflight& slot) const {
  if (slot.item_index < 0) return Json();
  auto it = slot.run.find("s." + slot.item.step + ".item");
  return it == slot.run.end() ? Json() : worker_detail::parse_json(it->second);
}

bool Worker::Impl::decide_condition(Inflight& slot) {
  const StepDefinition& step = slot.workflow->steps()[static_cast<std::size_t>(slot.step_index)];
  // A map step's `if` was decided once, at its own token's claim.
  if (step.condition.empty() || slot.item_index >= 0) return true;
  // Too large to parse: launch() fails the attempt and says why.
  if (parse_budget_problem(*slot.workflow, slot.step_index, slot.run)) return true;
  auto [input, outputs] = run_data(*slot.workflow, slot.step_index, slot.run);
  try {
    engine::Redactor unused;
    const engine::TemplateContext context(input, outputs);
    slot.skip = !engine::condition_holds(engine::Template::parse(step.condition).render_value(context, unused));
  } catch (const std::exception& e) {  // TemplateRenderError; a syntax error was refused at load
    slot.admission_error = "`if` " + engine::quote(step.condition, 120) + " could not be evaluated: " + e.what();
    return false;
  }
  return !slot.skip;
}

std::pair<Json, std::map<std::string, Json>> Worker::Impl::run_data(const Workflow& wf, int step_index,
                                                                    const store::Fields& f) const {
  std::map<std::string, Json> outputs;
  for (int i = 0; i < static_cast<int>(wf.steps().size()); ++i) {
    if (!precedes(wf, i, step_index)) continue;
    const std::string& name = wf.steps()[static_cast<std::size_t>(i)].name;
    auto it = f.find("s." + name + ".output");
    if (it != f.end()) outputs.emplace(name, worker_detail::parse_json(it->second));
  }
  auto input_it = f.find("input");
  return {input_it == f.end() ? Json() : worker_detail::parse_json(input_it->second), std::move(outputs)};
}

void Worker::Impl::launch(const std::string& key) {
  Inflight& slot = inflight_.at(key);
  const Workflow& wf = *slot.workflow;
  const StepDefinition& step = wf.steps()[static_cast<std::size_t>(slot.step_index)];
  if (slot.admission_error.empty()) {
    if (auto problem = parse_budget_problem(wf, slot.step_index, slot.run)) slot.admission_error = std::move(*problem);
  }
  if (!slot.admission_error.empty()) {
    // Refused by admission for good: the attempt fails without its handler.
    slot.run.clear();
    asio::post(*io_, [this, key, error = slot.admission_error] { on_finished(key, StepError::fatal(error)); });
    return;
  }
  if (slot.skip) {
    slot.run.clear();
    spdlog::info("worker {}: run {} step {} skipped: its `if` is false", options_.id, slot.item.run_id, step.name);
    asio::post(*io_, [this, key] { on_finished(key, StepResult(Json(nullptr))); });
    return;
  }
  auto [input, outputs] = run_data(wf, slot.step_index, slot.run);
  if (step.wait) {
    finish_wait(key, slot, step, input, outputs);
    return;
  }
  if (slot.expands) {
    expand_map(key, slot, step, input, outputs);
    return;
  }
  if (step.child) {
    run_child_step(key, slot, step, input, outputs);
    return;
  }
  if (!step.task.empty()) {
    offer_task(key, slot, step, std::move(input), std::move(outputs));
    return;
  }
  Json item = item_value(slot);
  slot.run.clear();  // the context holds what the handler needs
  slot.ctx = std::make_shared<StepContext>(slot.item.run_id, wf.name(), step.name, slot.machine.attempt(),
                                           std::move(input), std::move(outputs));
  if (slot.item_index >= 0) slot.ctx->set_item(std::move(item), slot.item_index);
  if (callbacks_) {
    slot.ctx->set_callback_maker([signer = callbacks_](std::string_view run_id, std::string_view wait_step) {
      return signer->url(run_id, wait_step);
    });
  }
  if (step.options.timeout.count() > 0) {
    slot.timeout = std::make_unique<asio::steady_timer>(*io_, step.options.timeout);
    slot.timeout->async_wait([this, key](boost::system::error_code ec) {
      if (!ec) on_timeout(key);
    });
  }
  bump(&WorkerStats::started);
  slot.started_at = Clock::now();
  if (step.async_handler) {
    start_async(key, step.async_handler);
    return;
  }
  if (step.options.nonblocking) {
    // On the event loop, after the claims being handled now: the outcomes of
    // one batch still reach Redis together.
    asio::post(*io_, [this, key, ctx = slot.ctx, handler = step.handler] {
      StepResult result = run_handler(handler, *ctx);
      on_finished(key, std::move(result));
    });
    return;
  }
  auto io = io_;
  pool_->post([this, io, key, ctx = slot.ctx, handler = step.handler] {
    StepResult result = run_handler(handler, *ctx);
    asio::post(*io, [this, key, r = std::move(result)]() mutable { on_finished(key, std::move(r)); });
  });
}

void Worker::Impl::start_async(const std::string& key, const AsyncStepHandler& handler) {
  // `done` may come from any thread, after the step timed out or the worker
  // began to stop: it only posts; on_finished() drops a step already
  // forgotten, and the step machine takes a late result as it does from a
  // pool thread (not a success). Only its first call counts.
  auto called = std::make_shared<std::atomic<bool>>(false);
  auto io = io_;
  StepDone done = [this, io, key, called](StepResult result) {
    if (called->exchange(true)) return;
    asio::post(*io, [this, key, r = std::move(result)]() mutable { on_finished(key, std::move(r)); });
  };
  try {
    handler(inflight_.at(key).ctx, done);
  } catch (const std::exception& e) {
    done(StepError::retryable(std::string("handler threw: ") + e.what()));
  } catch (...) {
    done(StepError::retryable("handler threw a non-std exception"));
  }
}

// A handler's exception is a retryable failure, never the worker's end.
StepResult Worker::Impl::run_handler(const StepHandler& handler, StepContext& ctx) {
  try {
    return handler(ctx);
  } catch (const std::exception& e) {
    return StepError::retryable(std::string("handler threw: ") + e.what());
  } catch (...) {
    return StepError::retryable("handler threw a non-std exception");
  }
}

void Worker::Impl::on_timeout(const std::string& key) {
  auto it = inflight_.find(key);
  if (it == inflight_.end() || it->second.machine.state() != engine::StepState::running) return;
  const Inflight& s = it->second;
  const milliseconds timeout = s.options().timeout;
  spdlog::warn("worker {}: run {} step {} attempt {} timed out after {} ms", options_.id,
               s.item.run_id, s.item.step, s.machine.attempt(), timeout.count());
  feed(key, engine::step_event::TimedOut{timeout, worker_detail::jitter_unit()});
}

void Worker::Impl::on_finished(const std::string& key, StepResult result) {
  auto it = inflight_.find(key);
  if (it == inflight_.end()) return;  // forgotten: abandoned at the drain's end and written
  Inflight& s = it->second;
  if (s.timeout) s.timeout->cancel();
  engine::HandlerResult r;
  std::string output;  // the output as written to Redis, serialized once
  if (result.ok()) {
    // A map's expansion hands complete.lua its items one per line (lib.lua's
    // "Map steps"; compact JSON never holds a raw newline).
    if (s.expands && !s.skip && result.output().is_array()) {
      for (const Json& item : result.output()) {
        if (!output.empty()) output += '\n';
        output += item.dump();
      }
    } else {
      output = result.output().dump();
    }
    r.output_bytes = output.size();
  } else {
    const StepError& e = result.error();
    r.message = e.message();
    r.retry_after = e.retry_after();  // a 503's Retry-After, or a 429's
    switch (e.kind()) {
      case StepError::Kind::retryable: r.kind = engine::HandlerResult::Kind::retryable; break;
      case StepError::Kind::fatal: r.kind = engine::HandlerResult::Kind::fatal; break;
      case StepError::Kind::rate_limited:
        r.kind = engine::HandlerResult::Kind::rate_limited;
        if (e.retry_after().count() > 0 && s.machine.state() != engine::StepState::lost) {
          pause_limit(s, e.retry_after());
        }
        break;
    }
  }
  feed(key, engine::step_event::HandlerReturned{std::move(r), worker_detail::jitter_unit()}, &result,
       std::move(output));
}

}  // namespace steadfast
