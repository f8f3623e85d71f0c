#include "api/task_protocol.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include "api/problem.h"
#include "config/workflows_file.h"
#include "engine/map_item.h"
#include "engine/quote.h"
#include "engine/step_machine.h"
#include "redis/checked.h"
#include "store/scripts.h"
#include "worker/transition.h"

namespace steadfast::api {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

Response json_ok(const Json& body) { return json_response(200, body); }

Response bad(std::string detail) { return problem(400, "invalid-request", std::move(detail)); }

Response stale() {
  return problem(409, "stale-token",
                 "the step is no longer this worker's (its lease ran out and another worker took it, or the run "
                 "ended): its outcome is not written",
                 "Stale token");
}

// ^[A-Za-z0-9_.:-]{1,max}$
bool is_id(const Json& v, std::size_t max = 64) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// An outcome reported this long after the attempt's deadline is the
// timeout's (as a C++ worker's handler result after its timeout is), not the
// worker's: room for the report's way here.
constexpr milliseconds kTimeoutGrace{1000};

double jitter_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// A duration field: a string ("20s") or, where `seconds_number`, a number of seconds.
std::optional<milliseconds> duration_field(const Json& v, bool seconds_number) {
  if (v.is_string()) {
    try {
      return config::parse_duration(v.get<std::string>());
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (seconds_number && v.is_number() && v.get<double>() >= 0 && std::isfinite(v.get<double>())) {
    return milliseconds(static_cast<std::int64_t>(std::llround(v.get<double>() * 1000)));
  }
  return std::nullopt;
}

// One step of a claim's answer (docs/worker-protocol.md); moves the offer's values.
Json step_json(std::string token, TaskOffer& o) {
  const std::optional<engine::MapItem> item = engine::parse_item_step(o.step);
  return {{"token", std::move(token)},
          {"run_id", o.run_id},
          {"workflow", o.workflow},
          {"step", item ? item->step : o.step},
          {"task", o.task},
          {"attempt", o.attempt},
          {"idempotency_key", o.run_id + ":" + o.step},
          {"input", std::move(o.input)},
          {"outputs", std::move(o.outputs)},
          {"item", std::move(o.item)},
          {"item_index", o.item_index},
          {"lease_ms", o.lease_ms},
          {"timeout_ms", o.timeout_ms}};
}

}  // namespace

TaskProtocol::TaskProtocol(redis::Client& redis, store::KeySpace keys, std::shared_ptr<TaskBroker> broker,
                           std::shared_ptr<const engine::TaskTokenSigner> signer, std::vector<Workflow> workflows,
                           const std::vector<LimitSpec>& limits, milliseconds max_wait, milliseconds retention)
    : redis_(redis),
      keys_(std::move(keys)),
      broker_(std::move(broker)),
      signer_(std::move(signer)),
      workflows_(std::move(workflows)),
      max_wait_(max_wait),
      retention_(retention) {
  for (const LimitSpec& l : limits) limiters_[l.name] = std::make_unique<store::Limiter>(redis_, keys_, l);
  for (const Workflow& w : workflows_) {
    for (const StepDefinition& s : w.steps()) {
      if (!s.task.empty()) task_queues_.insert(s.options.queue);
    }
  }
}

void TaskProtocol::begin_shutdown() {
  shutting_down_ = true;
  for (const auto& [key, w] : waiting_) w->timer->cancel();
}

TaskProtocol::Located TaskProtocol::locate(const engine::TaskToken& t) const {
  for (const Workflow& w : workflows_) {
    if (w.name() != t.workflow) continue;
    const std::optional<engine::MapItem> item = engine::parse_item_step(t.step);
    const int index = w.index_of(item ? item->step : t.step);
    if (index < 0 || w.steps()[static_cast<std::size_t>(index)].task.empty()) return {};
    return {&w, index};
  }
  return {};
}

asio::awaitable<Response> TaskProtocol::claim(const Json& body, std::shared_ptr<ClientWatch> client) {
  if (!body.is_object()) co_return bad("the body must be a JSON object");
  if (body.value("protocol", Json()) != Json(1)) {
    co_return bad("`protocol` must be 1 (the version of the worker protocol this server speaks)");
  }
  if (!body.contains("worker") || !is_id(body["worker"])) {
    co_return bad("`worker` must be the worker's id: 1 to 64 of A-Z a-z 0-9 _ . : -");
  }
  if (!body.contains("request_id") || !is_id(body["request_id"])) {
    co_return bad("`request_id` must be 1 to 64 of A-Z a-z 0-9 _ . : - (new for each claim)");
  }
  const std::string worker = body["worker"].get<std::string>();
  const std::string request_id = body["request_id"].get<std::string>();
  std::string host;
  if (body.contains("host")) {
    if (!body["host"].is_string() || body["host"].get_ref<const std::string&>().size() > 255 ||
        (!body["host"].get_ref<const std::string&>().empty() && !is_id(body["host"], 255))) {
      co_return bad("`host` must be the worker's host name: up to 255 of A-Z a-z 0-9 _ . : -");
    }
    host = body["host"].get<std::string>();
  }
  std::set<std::string> queues;
  const Json q = body.value("queues", Json());
  if (!q.is_array() || q.empty() || q.size() > kMaxClaimQueues) {
    co_return bad("`queues` must list 1 to " + std::to_string(kMaxClaimQueues) + " task queues");
  }
  for (const Json& name : q) {
    if (!name.is_string() || !task_queues_.contains(name.get<std::string>())) {
      std::string known;
      for (const std::string& tq : task_queues_) known += (known.empty() ? "" : ", ") + tq;
      co_return bad("`queues`: " + engine::quote(name.dump(), 80) + " is no task queue of this server's workflows (" +
                    (known.empty() ? std::string("it has none") : "task queues: " + known) + ")");
    }
    queues.insert(name.get<std::string>());
  }
  std::set<std::string> tasks;
  const Json tl = body.value("tasks", Json());
  if (!tl.is_array() || tl.empty() || tl.size() > kMaxClaimTasks) {
    co_return bad("`tasks` must list 1 to " + std::to_string(kMaxClaimTasks) + " task names");
  }
  for (const Json& name : tl) {
    if (!is_id(name)) co_return bad("`tasks`: " + engine::quote(name.dump(), 80) + " is not a task name");
    tasks.insert(name.get<std::string>());
  }
  const Json max = body.value("max", Json());
  if (!max.is_number_integer() || max.get<std::int64_t>() < 1 || max.get<std::int64_t>() > kMaxClaimSteps) {
    co_return bad("`max` must be an integer from 1 to " + std::to_string(kMaxClaimSteps));
  }
  std::optional<milliseconds> wait = body.contains("wait") ? duration_field(body["wait"], false) : milliseconds(0);
  if (!wait) co_return bad("`wait` must be a duration like \"20s\" or \"500ms\"");
  wait = std::min(*wait, max_wait_);
  const std::string remote = std::string(kRemoteConsumerPrefix) + worker;

  // A repeated request_id: the same steps (a reply lost on the way costs no attempt).
  const std::string claim_key = keys_.task_claim(worker, request_id);
  const redis::Reply earlier = co_await redis_.command("GET", claim_key);
  if (earlier.is_string()) {
    Response r;
    r.body = std::string(earlier.str());
    co_return r;
  }
  // The worker's record (GET /v1/workers, "kind": "remote").
  {
    Json record = Json::object();
    record["kind"] = "remote";
    record["host"] = host;
    record["queues"] = queues;
    record["tasks"] = tasks;
    // The worker's own concurrency when it says (else what this claim asks for).
    record["concurrency"] = body.contains("concurrency") && body["concurrency"].is_number_integer() ? body["concurrency"] : max;
    record["beat_at_ms"] =
        std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    redis::checked(co_await redis_.command("HSET", keys_.workers(), remote, record.dump()));
  }

  // Wait for offers: the task worker claims as many steps as waiting claims
  // ask for (TaskBroker::room) and offers them once admitted.
  auto ex = co_await asio::this_coro::executor;
  auto me = std::make_shared<Waiting>();
  me->timer = std::make_shared<asio::steady_timer>(ex);
  const std::shared_ptr<asio::steady_timer>& timer = me->timer;
  const std::string waiting_key = worker + ":" + request_id;
  if (auto earlier_wait = waiting_.find(waiting_key); earlier_wait != waiting_.end()) {
    earlier_wait->second->superseded = true;
    earlier_wait->second->timer->cancel();
  }
  waiting_[waiting_key] = me;
  const auto deadline = std::chrono::steady_clock::now() + *wait;
  std::weak_ptr<asio::steady_timer> weak = timer;
  if (client) {
    // A client that hangs up while waiting gets no steps (they would go to
    // a reply nobody reads, and cost an attempt and a lease each).
    client->notify = [ex, weak] {
      asio::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
  }
  const auto gone = [&client] { return client && client->gone; };
  TaskBroker::WaiterHandle handle = broker_->wait(TaskBroker::Waiter{
      queues, tasks, static_cast<int>(max.get<std::int64_t>()), [ex, weak] {
        asio::post(ex, [weak] {
          if (auto t = weak.lock()) t->cancel();
        });
      }});
  std::vector<TaskOffer> offers;
  for (;;) {
    if (me->superseded || gone()) break;
    offers = broker_->take(handle);
    if (!offers.empty() || shutting_down_ || std::chrono::steady_clock::now() >= deadline) break;
    timer->expires_at(deadline);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  broker_->stop_waiting(handle);
  if (auto mine = waiting_.find(waiting_key); mine != waiting_.end() && mine->second == me) waiting_.erase(mine);
  if (client) client->notify = nullptr;
  if (!offers.empty() && gone()) {
    // Taken just as the client hung up: handed back, no attempt spent.
    for (const TaskOffer& o : offers) broker_->resolve(o.key, TaskBroker::Resolution::not_taken);
    offers.clear();
  }
  if (offers.empty()) {
    Json none = Json::object();
    none["steps"] = Json::array();
    co_return json_ok(none);
  }

  // Move each claim to this worker's consumer, fenced (handover.lua).
  std::vector<redis::Reply> replies;
  try {
    redis::Pipeline p;
    for (const TaskOffer& o : offers) {
      const std::string stream = keys_.queue(o.token.partition, o.token.queue);
      p.add_eval(store::scripts::handover(), std::vector<std::string>{stream, keys_.run(o.run_id)},
                 std::vector<std::string>{std::string(store::kGroup), o.consumer, remote, o.token.entry_id,
                                          std::to_string(o.token.deliveries), o.step});
    }
    replies = co_await redis_.exec(std::move(p));
  } catch (...) {
    // Not handed over: the task worker hands them back (no attempt spent).
    for (const TaskOffer& o : offers) broker_->resolve(o.key, TaskBroker::Resolution::not_taken);
    throw;
  }
  Json steps = Json::array();
  std::int64_t longest_lease = 1000;
  for (std::size_t i = 0; i < offers.size(); ++i) {
    TaskOffer& o = offers[i];
    const bool ok = !replies[i].is_error() && replies[i].is_array() && replies[i].size() == 1 &&
                    replies[i][0].str() == "ok";
    if (replies[i].is_error()) {
      spdlog::warn("api: handing run {} step {} to worker {} failed: {}", o.run_id, o.step, worker,
                   replies[i].str());
    }
    broker_->resolve(o.key, ok ? TaskBroker::Resolution::taken
                               : replies[i].is_error() ? TaskBroker::Resolution::not_taken
                                                       : TaskBroker::Resolution::lost);
    if (!ok) continue;
    engine::TaskToken t;
    t.partition = o.token.partition;
    t.queue = o.token.queue;
    t.entry_id = o.token.entry_id;
    t.consumer = remote;
    t.deliveries = o.token.deliveries;
    t.run_id = o.run_id;
    t.workflow = o.workflow;
    t.step = o.step;
    t.attempt = o.attempt;
    t.budget_from = o.budget_from;
    t.rate_limited = o.rate_limited;
    t.waited_ms = o.waited_ms;
    t.graph = o.graph;
    t.item_index = o.item_index;
    t.lease_ms = o.lease_ms;
    t.deadline_ms = o.timeout_ms > 0 ? unix_ms_now() + o.timeout_ms : 0;
    t.limit_holder = o.limit_holder;
    for (const HeldLimit& l : o.limits) t.limits.push_back(engine::TaskLimit{l.limiter, l.key, l.cost});
    longest_lease = std::max(longest_lease, o.lease_ms);
    steps.push_back(step_json(signer_->sign(t), o));
  }
  Json answer = Json::object();
  answer["steps"] = std::move(steps);
  Response r = json_ok(answer);
  // Kept for a repeat of a reply lost on the way (the client asks again at
  // once): 10 s, or the lease if shorter (after it the steps are reclaimed
  // anyway). Not longer: the answer holds the steps' inputs a second time.
  redis::checked(co_await redis_.command("SET", claim_key, r.body, "PX",
                                         std::to_string(std::min<std::int64_t>(longest_lease, 10000))));
  co_return r;
}

asio::awaitable<Response> TaskProtocol::heartbeat(const Json& body) {
  if (!body.is_object()) co_return bad("the body must be a JSON object");
  const Json tokens = body.value("tokens", Json());
  if (!tokens.is_array() || tokens.size() > kMaxHeartbeatTokens) {
    co_return bad("`tokens` must list at most " + std::to_string(kMaxHeartbeatTokens) +
                  " objects {\"token\", \"progress\", \"message\"}");
  }
  // Per consumer (one per worker, normally), in the order given.
  std::map<std::string, std::vector<std::size_t>> by_consumer;
  std::vector<engine::TaskToken> parsed;
  std::vector<store::StartItem> items;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Json& e = tokens[i];
    if (!e.is_object() || !e.contains("token") || !e["token"].is_string()) {
      co_return bad("`tokens`[" + std::to_string(i) + "] must be an object with a `token`");
    }
    std::optional<engine::TaskToken> t = signer_->verify(e["token"].get<std::string>());
    if (!t) co_return bad("`tokens`[" + std::to_string(i) + "]: the token does not verify (forged, altered, or "
                          "signed with another key)");
    store::StartItem it;
    it.token = store::Token{t->partition, t->queue, t->entry_id, t->deliveries};
    it.run_id = t->run_id;
    it.step = t->step;
    if (e.contains("progress") || e.contains("message")) {
      StepProgress p;
      if (e.contains("progress") && !e["progress"].is_null()) {
        if (!e["progress"].is_number()) co_return bad("`tokens`[" + std::to_string(i) + "].progress must be a number from 0 to 1");
        p.progress = std::clamp(e["progress"].get<double>(), 0.0, 1.0);
      }
      if (e.contains("message") && e["message"].is_string()) {
        p.message = e["message"].get<std::string>().substr(0, StepContext::kMaxProgressMessageBytes);
      }
      it.progress = std::move(p);
    }
    by_consumer[t->consumer].push_back(i);
    parsed.push_back(std::move(*t));
    items.push_back(std::move(it));
  }
  std::vector<std::string> results(items.size(), "lost");
  // An attempt past its timeout ends here, as a C++ worker's timer ends it:
  // the timed-out outcome is written (fenced) and the worker told `lost`.
  const std::int64_t now_ms = unix_ms_now();
  std::vector<bool> timed_out(items.size(), false);
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (parsed[i].deadline_ms == 0 || now_ms < parsed[i].deadline_ms) continue;
    timed_out[i] = true;
    co_await finish(parsed[i], "timed_out", Json(), {}, milliseconds(0));
  }
  for (auto& [consumer, indexes] : by_consumer) {
    std::erase_if(indexes, [&](std::size_t i) { return timed_out[i]; });
  }
  for (const auto& [consumer, indexes] : by_consumer) {
    if (indexes.empty()) continue;
    std::vector<store::StartItem> batch;
    for (std::size_t i : indexes) batch.push_back(items[i]);
    store::Store remote(redis_, keys_, consumer);
    const std::vector<store::Store::Renewal> renewed = co_await remote.renew(batch);
    for (std::size_t k = 0; k < indexes.size() && k < renewed.size(); ++k) {
      results[indexes[k]] = renewed[k] == store::Store::Renewal::ok       ? "ok"
                            : renewed[k] == store::Store::Renewal::cancel ? "cancel"
                                                                          : "lost";
    }
  }
  // The limiter slots the steps hold live as long as their leases.
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (results[i] == "lost") continue;
    for (const engine::TaskLimit& l : parsed[i].limits) {
      auto it = limiters_.find(l.limiter);
      if (it == limiters_.end()) continue;
      std::vector<std::string> holders;
      holders.push_back(parsed[i].limit_holder);
      co_await it->second->renew(it->second->instance(l.key), holders,
                                 milliseconds(std::max<std::int64_t>(1000, parsed[i].lease_ms)));
    }
  }
  Json answer = Json::object();
  answer["results"] = results;
  co_return json_ok(answer);
}

asio::awaitable<Response> TaskProtocol::complete(const Json& body) {
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
    co_return bad("the body must be {\"token\": \"...\", \"output\": <JSON>}");
  }
  std::optional<engine::TaskToken> t = signer_->verify(body["token"].get<std::string>());
  if (!t) co_return bad("the token does not verify (forged, altered, or signed with another key)");
  co_return co_await finish(*t, "ok", body.value("output", Json()), {}, milliseconds(0));
}

asio::awaitable<Response> TaskProtocol::fail(const Json& body) {
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
    co_return bad("the body must be {\"token\", \"kind\", \"error\", \"retry_after\"}");
  }
  std::optional<engine::TaskToken> t = signer_->verify(body["token"].get<std::string>());
  if (!t) co_return bad("the token does not verify (forged, altered, or signed with another key)");
  const Json kind = body.value("kind", Json("retryable"));
  if (kind != "retryable" && kind != "fatal" && kind != "rate_limited") {
    co_return bad("`kind` must be retryable, fatal or rate_limited");
  }
  const Json error = body.value("error", Json(""));
  if (!error.is_string()) co_return bad("`error` must be a string");
  milliseconds retry_after{0};
  if (body.contains("retry_after") && !body["retry_after"].is_null()) {
    const std::optional<milliseconds> d = duration_field(body["retry_after"], true);
    if (!d) co_return bad("`retry_after` must be a duration like \"30s\" or a number of seconds");
    retry_after = *d;
  }
  std::string message = error.get<std::string>();
  if (message.empty()) message = "the external worker reported a " + kind.get<std::string>() + " failure";
  co_return co_await finish(*t, kind, Json(), message.substr(0, 4096), retry_after);
}

asio::awaitable<Response> TaskProtocol::release(const Json& body) {
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
    co_return bad("the body must be {\"token\": \"...\"}");
  }
  std::optional<engine::TaskToken> t = signer_->verify(body["token"].get<std::string>());
  if (!t) co_return bad("the token does not verify (forged, altered, or signed with another key)");
  co_return co_await finish(*t, "release", Json(), {}, milliseconds(0));
}

asio::awaitable<Response> TaskProtocol::finish(const engine::TaskToken& t, const Json& outcome_kind, Json output,
                                               const std::string& error, milliseconds retry_after) {
  // A repeat of an outcome this token already wrote (its reply was lost on
  // the way) gets the same answer, not a 409.
  // (Per call: a `fail` after a `complete` is refused, not answered as the complete.)
  const std::string call = outcome_kind == "ok"          ? "complete"
                           : outcome_kind == "release"   ? "release"
                           : outcome_kind == "timed_out" ? "timeout"
                                                         : "fail";
  const std::string done_key = keys_.task_done(t.partition, t.queue, t.entry_id, t.deliveries) + ":" + call;
  // One round trip: the repeat's answer, and the run's cancel flag (the decision's).
  redis::Pipeline reads;
  reads.add("GET", done_key);
  reads.add("HGET", keys_.run(t.run_id), "cancel");
  const std::vector<redis::Reply> read = co_await redis_.exec(std::move(reads));
  if (read.at(0).is_string()) {
    Response r;
    r.body = std::string(read[0].str());
    co_return r;
  }
  const bool cancel_requested = read.at(1).is_string() && read[1].str() == "1";
  const Located at = locate(t);
  if (at.workflow == nullptr) {
    co_return problem(409, "stale-token",
                      "workflow " + engine::quote(t.workflow) + " has no task step " + engine::quote(t.step) +
                          " on this server (its workflows file changed?)",
                      "Stale token");
  }
  const StepDefinition& def = at.workflow->steps()[static_cast<std::size_t>(at.step_index)];
  const std::optional<engine::MapItem> item = engine::parse_item_step(t.step);
  engine::Decision d;
  std::string serialized;
  if (outcome_kind == "release") {
    d = engine::Decision(engine::Action::release, milliseconds(0), std::max(t.attempt - 1, 0), "");
    d.rate_limited = t.rate_limited;
    d.waited = milliseconds(t.waited_ms);
  } else {
    engine::ClaimFacts f;
    f.deliveries = t.deliveries;
    f.attempt = t.attempt;
    f.budget_from = t.budget_from;
    f.status = engine::RunStatus::running;
    f.cancel_requested = cancel_requested;
    f.rate_limited = t.rate_limited;
    f.waited = milliseconds(t.waited_ms);
    f.is_last_step = !t.graph && at.step_index + 1 == static_cast<int>(at.workflow->steps().size());
    f.retry = def.options.retry;
    f.continue_on_failure = item && def.map ? def.map->on_item_failure == OnItemFailure::continue_
                                            : def.options.on_failure == OnFailure::continue_;
    engine::StepMachine machine(store::kMaxPayloadBytes, t.deliveries);
    engine::StepActions a = machine.on(engine::step_event::ClaimStarted{f});
    const bool past_deadline =
        t.deadline_ms > 0 && (outcome_kind == "timed_out" || unix_ms_now() >= t.deadline_ms + kTimeoutGrace.count());
    if (!a.write && past_deadline) {
      a = machine.on(engine::step_event::TimedOut{def.options.timeout, jitter_unit()});
    }
    if (!a.write) {
      engine::HandlerResult r;
      if (outcome_kind == "ok") {
        serialized = output.dump();
        r.output_bytes = serialized.size();
      } else {
        r.message = error;
        r.retry_after = retry_after;
        r.kind = outcome_kind == "fatal"          ? engine::HandlerResult::Kind::fatal
                 : outcome_kind == "rate_limited" ? engine::HandlerResult::Kind::rate_limited
                                                  : engine::HandlerResult::Kind::retryable;
      }
      a = machine.on(engine::step_event::HandlerReturned{std::move(r), jitter_unit()});
    }
    if (!a.write) co_return problem(500, "internal", "no outcome decided (a bug)");
    d = *a.write;
  }
  worker::StepShape shape;
  shape.workflow = at.workflow;
  shape.step_index = at.step_index;
  shape.graph = t.graph;
  shape.item_index = t.item_index;
  store::Transition tr = worker::make_transition(store::Token{t.partition, t.queue, t.entry_id, t.deliveries},
                                                 t.run_id, t.step, d, std::move(serialized), shape);
  store::Store remote(redis_, keys_, t.consumer);
  std::vector<store::Transition> batch;
  batch.push_back(std::move(tr));
  const std::vector<store::Applied> applied = co_await remote.apply(batch, retention_);
  // The limiter slots are ours to give back whatever the answer (a stale
  // claim's new holder took its own).
  const bool succeeded = outcome_kind == "ok";
  co_await release_limits(t, succeeded ? &output : nullptr, at);
  if (outcome_kind == "rate_limited" && retry_after.count() > 0) {
    for (const LimitUse* use : limit_uses(def.options)) {
      auto it = limiters_.find(use->name);
      if (it == limiters_.end()) continue;
      std::string key;
      for (const engine::TaskLimit& l : t.limits) {
        if (l.limiter == use->name && use->pause_on_429 == PauseScope::key) key = l.key;
      }
      co_await it->second->pause(it->second->instance(key), retry_after);
    }
  }
  if (applied.empty() || applied.front() == store::Applied::stale) co_return stale();
  Json answer = Json::object();
  answer["state"] = applied.front() == store::Applied::ok ? "ok" : "discarded";
  answer["action"] = std::string(engine::to_string(d.action));
  Response r = json_ok(answer);
  // Not waited for: were it lost, a repeat of this call would only be told
  // 409 (stale) instead of this answer.
  asio::co_spawn(redis_.executor(),
                 redis_.command("SET", done_key, r.body, "PX", std::to_string(std::max<std::int64_t>(60000, t.lease_ms))),
                 [](std::exception_ptr, redis::Reply) {});
  co_return r;
}

asio::awaitable<void> TaskProtocol::release_limits(const engine::TaskToken& t, const Json* output, const Located& at) {
  if (t.limits.empty()) co_return;
  const std::vector<const LimitUse*> uses = limit_uses(at.workflow->steps()[static_cast<std::size_t>(at.step_index)].options);
  for (const engine::TaskLimit& l : t.limits) {
    auto it = limiters_.find(l.limiter);
    if (it == limiters_.end()) continue;
    std::int64_t adjust = 0;
    for (const LimitUse* use : uses) {
      if (use->name != l.limiter || use->usage_pointer.empty() || output == nullptr) continue;
      try {
        const Json& used = output->at(Json::json_pointer(use->usage_pointer));
        if (used.is_number()) adjust = l.cost - used.get<std::int64_t>();
      } catch (const Json::exception&) {
      }
    }
    co_await it->second->release(it->second->instance(l.key), t.limit_holder, adjust);
  }
}

}  // namespace steadfast::api
