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

namespace {

// A refusal expected to last this long (the limiter's own answer) parks the
// step at once: a slot held that long is a slot other work could use.
constexpr std::chrono::milliseconds kParkWhenRefusedFor{2000};
// A step refused again and again for this long is parked too (a concurrency
// cap answers short waits: its slots free up at no known time).
constexpr std::chrono::milliseconds kParkAfterWaiting{5000};
// A parked step asks again after the limiter's wait, and not sooner than this.
constexpr std::chrono::milliseconds kParkedAtLeast{1000};

}  // namespace

// Waits for the step's limiter to admit it. The step keeps its lease (it is
// in flight and renewed) and no attempt is spent while it waits. Ends when
// the step leaves `admitting` (cancelled, handed back, lease lost) — an
// admission granted meanwhile is given back.
// The wait counts toward the step's retry.max_wait: past it the attempt fails.
// A wait that will be long is not held: the step is parked (handed back
// under a 'limiter' timer, status waiting, no attempt spent, its waiting
// counted on) and the worker takes other work.
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
    const std::string holder = options_.id + ":" + s.item.token.entry_id;
    if (auto problem = parse_budget_problem(*s.workflow, s.step_index, s.run)) {
      // launch() fails the attempt without parsing the run: nothing to take.
      s.admission_error = std::move(*problem);
      feed(key, engine::step_event::Admitted{});
      co_return;
    }
    std::vector<store::LimitRequest> requests;
    for (const LimitUse* use : limit_uses(o)) {
      const store::Limiter& limiter = *limiters_.at(use->name);
      const std::optional<std::string> instance_key = limit_key(s, *use, &s.admission_error);
      if (!instance_key) {  // fatal: admission_error says why
        feed(key, engine::step_event::Admitted{});
        co_return;
      }
      const std::int64_t cost = token_cost(s, *use);
      store::Limiter::Instance at = limiter.instance(*instance_key);
      const LimitSpec& bounds = limiter.bounds(at);
      // A key's bucket may be changed at run time (an override in Redis): the
      // script checks a keyed instance's (reason "capacity"), this the others.
      if (at.key.empty() && bounds.tokens_per_minute > 0 && cost > store::Limiter::token_capacity(bounds)) {
        s.admission_error = over_capacity(s, *use, cost, store::Limiter::token_capacity(bounds));
        feed(key, engine::step_event::Admitted{});
        co_return;
      }
      requests.push_back(store::LimitRequest{&limiter, std::move(at), cost});
    }
    store::Limiter::Admission a;
    bool asked = true;
    try {
      a = co_await store::acquire_all(main_, requests, holder, limiter_hold_);
    } catch (const redis::Error& e) {
      spdlog::warn("worker {}: limiters unreachable: {}", options_.id, e.what());
      asked = false;
    }
    it = inflight_.find(key);
    const bool still_admitting =
        it != inflight_.end() && it->second.machine.state() == engine::StepState::admitting;
    if (asked && a.admitted) {
      if (!still_admitting) {
        for (const store::LimitRequest& r : requests) {
          // Given back whole: the tokens just taken too.
          asio::co_spawn(*io_, r.limiter->release(r.instance, holder, r.cost), [this](std::exception_ptr e) {
            if (e) log_background_error("limiter release", e);
          });
        }
        co_return;
      }
      if (it->second.limiter_wait_noted) {
        note_limiter_wait(it->second, {}, {});
        it->second.limiter_wait_noted = false;
      }
      it->second.held_limits = std::move(requests);
      it->second.limit_holder = holder;
      feed(key, engine::step_event::Admitted{
                    std::chrono::duration_cast<milliseconds>(Clock::now() - it->second.admitting_since)});
      co_return;
    }
    if (!still_admitting) co_return;
    if (asked && a.reason == "capacity") {
      const store::LimitRequest& r = requests.at(a.which);
      it->second.admission_error = over_capacity(it->second, *limit_uses(o).at(a.which), r.cost, a.capacity);
      feed(key, engine::step_event::Admitted{});
      co_return;
    }
    if (asked) bump(&WorkerStats::limiter_waits);
    if (asked && a.which < requests.size()) {
      const auto so_far = std::chrono::duration_cast<milliseconds>(Clock::now() - it->second.admitting_since);
      const milliseconds waited = it->second.machine.waited() + so_far;
      const milliseconds delay = std::max(a.wait, kParkedAtLeast);
      // Not past retry.max_wait: a step that would wait longer than it may
      // stays here and fails when the bound comes (the check above).
      const milliseconds max_wait = it->second.machine.retry().max_wait;
      const bool within_bound = max_wait.count() <= 0 || waited + delay < max_wait;
      if (within_bound && (a.wait >= kParkWhenRefusedFor || so_far >= kParkAfterWaiting)) {
        const store::LimitRequest& r = requests[a.which];
        bump(&WorkerStats::limiter_parked);
        feed(key, engine::step_event::AdmissionParked{waited, delay, r.limiter->spec().name, r.instance.key});
        co_return;
      }
    }
    if (asked && !it->second.limiter_wait_noted && a.which < requests.size()) {
      const store::LimitRequest& r = requests[a.which];
      note_limiter_wait(it->second, r.limiter->spec().name, r.instance.key);
      it->second.limiter_wait_noted = true;
    }
    co_await sleep_for(asked ? std::clamp(a.wait, milliseconds(1), milliseconds(1000))
                             : milliseconds(200));
  }
}

void Worker::Impl::note_limiter_wait(const Inflight& s, const std::string& limiter, const std::string& key) {
  const std::int64_t attempt = s.machine.attempt();
  asio::co_spawn(*io_,
                 store::note_limiter_wait(main_, keys_, s.item.run_id, s.item.step, options_.id, attempt, limiter, key),
                 [this](std::exception_ptr e, bool) {
                   if (e) log_background_error("limiter wait note", e);
                 });
}

// Admitting an estimate over the bucket would put it in debt for everyone (a
// run's input can make the estimate as large as it likes): the attempt fails.
std::string Worker::Impl::over_capacity(const Inflight& s, const LimitUse& use, std::int64_t cost,
                                        std::int64_t capacity) const {
  spdlog::warn("worker {}: run {} step {}: token estimate {} is over limiter {}'s bucket of {}", options_.id,
               s.item.run_id, s.item.step, cost, use.name, capacity);
  return "the attempt's token estimate (" + std::to_string(cost) + " tokens) exceeds limiter '" + use.name +
         "' bucket of " + std::to_string(capacity) +
         " tokens (token_burst, or a tenth of tokens_per_minute): it could never run without "
         "starving every other run; send a smaller input or raise token_burst";
}

// Frees the step's limiter slots once its handler is really done, reconciling
// each limiter's token estimate with the usage the output reports.
void Worker::Impl::release_limit(Inflight& s, const Json* output) {
  if (s.held_limits.empty()) return;
  const std::vector<const LimitUse*> uses = limit_uses(s.options());
  std::vector<store::LimitRequest> held = std::move(s.held_limits);
  s.held_limits.clear();
  for (std::size_t i = 0; i < held.size(); ++i) {
    const store::LimitRequest& r = held[i];
    std::int64_t adjust = 0;
    const std::string& usage = i < uses.size() ? uses[i]->usage_pointer : std::string();
    if (output != nullptr && !usage.empty()) {
      try {
        const Json& used = output->at(Json::json_pointer(usage));
        if (used.is_number()) adjust = r.cost - used.get<std::int64_t>();
      } catch (const Json::exception&) {
        spdlog::warn("worker {}: run {} step {}: no usage at {} in the output; limiter {} not reconciled",
                     options_.id, s.item.run_id, s.item.step, usage, r.limiter->spec().name);
      }
    }
    asio::co_spawn(*io_, r.limiter->release(r.instance, s.limit_holder, adjust), [this](std::exception_ptr e) {
      if (e) log_background_error("limiter release", e);
    });
  }
}

// Adaptive backpressure: the upstream's Retry-After pauses the step's
// limiters for every worker — a keyed one at this run's key (or, with
// pause_on_429: limiter, every key).
void Worker::Impl::pause_limit(const Inflight& s, milliseconds retry_after) {
  for (const LimitUse* use : limit_uses(s.options())) {
    const store::Limiter& limiter = *limiters_.at(use->name);
    store::Limiter::Instance at = limiter.instance({});
    if (!use->key_template.empty() && use->pause_on_429 == PauseScope::key) {
      const std::optional<std::string> k = limit_key(s, *use, nullptr);
      if (!k) continue;  // a run without a key was never admitted through it
      at = limiter.instance(*k);
    }
    bump(&WorkerStats::limiter_pauses);
    spdlog::info("worker {}: limiter {}{} paused for {} ms (upstream asked to retry after {} ms; max_pause {} ms)",
                 options_.id, use->name, at.key.empty() ? "" : " (one key)", limiter.capped_pause(retry_after).count(),
                 retry_after.count(), limiter.spec().max_pause.count());
    asio::co_spawn(*io_, limiter.pause(at, retry_after), [this](std::exception_ptr e) {
      if (e) log_background_error("limiter pause", e);
    });
  }
}

// The attempt's token cost: the fixed number, or the template evaluated on the run.
std::int64_t Worker::Impl::token_cost(const Inflight& s, const LimitUse& use) const {
  auto t = token_estimates_.find(&use);
  if (t == token_estimates_.end()) return use.tokens;
  // Too large to parse: launch() fails the attempt; its estimate does not matter.
  if (parse_budget_problem(*s.workflow, s.step_index, s.run)) return 0;
  auto [input, outputs] = run_data(*s.workflow, s.step_index, s.run);
  const Json item = item_value(s);
  engine::TemplateContext context(input, outputs);
  if (s.item_index >= 0) context.with_item(item, s.item_index);
  engine::Redactor unused;
  try {
    Json v = t->second.render_value(context, unused);
    if (v.is_number()) return std::max<std::int64_t>(0, static_cast<std::int64_t>(v.get<double>()));
    if (v.is_string()) return std::max<std::int64_t>(0, std::atoll(v.get<std::string>().c_str()));
  } catch (const std::exception& e) {
    spdlog::warn("worker {}: run {} step {}: token estimate failed ({}); using {}", options_.id,
                 s.item.run_id, s.item.step, e.what(), use.tokens);
  }
  return use.tokens;
}

std::optional<std::string> Worker::Impl::limit_key(const Inflight& s, const LimitUse& use, std::string* error) const {
  auto t = limit_keys_.find(&use);
  if (t == limit_keys_.end()) return std::string();
  auto [input, outputs] = run_data(*s.workflow, s.step_index, s.run);
  const Json item = item_value(s);
  engine::TemplateContext context(input, outputs);
  if (s.item_index >= 0) context.with_item(item, s.item_index);
  engine::Redactor unused;
  std::string why;
  try {
    const Json v = t->second.render_value(context, unused);
    if (v.is_string() && !v.get<std::string>().empty()) return v.get<std::string>();
    if (v.is_number() || v.is_boolean()) return v.dump();
    if ((v.is_array() || v.is_object()) && !v.empty()) return v.dump();
    why = "it yielded " + (v.is_null() ? std::string("null") : v.is_string() ? std::string("\"\"") : v.dump());
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (error != nullptr) {
    *error = "limit key of limiter '" + use.name + "' (" + use.key_template + ") has no value for this run: " + why;
  }
  return std::nullopt;
}

}  // namespace steadfast
