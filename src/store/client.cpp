#include "steadfast/client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "engine/duration.h"
#include "engine/json_depth.h"
#include "engine/json_schema.h"
#include "engine/json_size.h"
#include "engine/run_metadata.h"
#include "engine/quote.h"
#include "redis/client.h"
#include "store/config.h"
#include "store/definition.h"
#include "store/keys.h"
#include "store/run_id.h"
#include "store/run_order.h"
#include "store/signals.h"
#include "store/store.h"
#include "store/submit_many.h"

namespace steadfast {

namespace asio = boost::asio;

namespace {

// Names and ids are checked before anything reaches Redis; the message quotes
// them (control characters escaped, cut at 80 bytes), so it stays one line.
void check_run_id(const std::string& id) {
  if (!store::is_valid_run_id(id)) {
    throw std::invalid_argument("invalid run id " + engine::quote(id, 80) +
                                " (expected 26 characters of Crockford base32)");
  }
}

// The bounds every input meets before it reaches Redis (submit and rerun):
// depth, size, and the cost of parsing it again for each step.
void check_input_bounds(const Json& input) {
  // Before any copy or dump(), which recurse once per level: a deeper input
  // would crash this process here, and every worker that later copies it.
  if (!engine::json_depth_within(input, engine::kMaxJsonDepth)) {
    throw std::invalid_argument("input nests deeper than " + std::to_string(engine::kMaxJsonDepth) + " levels");
  }
  const std::string text = input.dump();
  if (text.size() > store::kMaxPayloadBytes) {
    throw std::invalid_argument("input exceeds the " + std::to_string(store::kMaxPayloadBytes) +
                                "-byte limit");
  }
  // Every worker parses the input again for each step: refused when that would be too costly.
  if (const engine::ParsedSize size = engine::parsed_size_estimate(text); size.bytes > engine::kMaxParsedBytes) {
    throw std::invalid_argument("input would take about " + std::to_string(size.bytes >> 20) +
                                " MiB once parsed (" + std::to_string(size.values) + " JSON values), over the " +
                                std::to_string(engine::kMaxParsedBytes >> 20) + " MiB a run's input may take");
  }
}

// A workflow definition's max_input_bytes, when it has one.
void check_max_input_bytes(const std::string& workflow, const Json& definition, const Json& input) {
  if (!definition.contains("max_input_bytes")) return;
  const auto most = definition["max_input_bytes"].get<std::size_t>();
  if (const std::size_t size = input.dump().size(); size > most) {
    throw std::invalid_argument("input is " + std::to_string(size) + " bytes as compact JSON, over the " +
                                std::to_string(most) + " bytes of workflow '" + workflow + "' (max_input_bytes)");
  }
}

}  // namespace

class Client::Impl {
 public:
  explicit Impl(ClientOptions options)
      : options_(std::move(options)),
        work_(io_.get_executor()),
        redis_(io_.get_executor(), config_for(options_)),
        store_(redis_, store::KeySpace::for_redis(redis_.config(), options_.key_prefix, options_.partitions)) {
    store_.set_replica_wait({options_.wait_replicas, options_.wait_replicas_timeout});
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    asio::post(io_, [this] { redis_.close(); });
    work_.reset();
    thread_.join();
  }

  // Who this client is in the audit log.
  [[nodiscard]] std::string actor() const {
    return options_.actor.empty() ? store::local_actor("client") : options_.actor;
  }

  template <typename T>
  T call(asio::awaitable<T> op) {
    return asio::co_spawn(io_, connected_then(std::move(op)), asio::use_future).get();
  }

  // Fails fast (after connect_timeout, with the connection error) when Redis is
  // unreachable, instead of queueing the command until its timeout. On a
  // cluster with one primary down (failing over), the others' commands go on.
  // Also checks the deployment's config once per client: a client with
  // another partition count would submit runs no worker reads.
  template <typename T>
  asio::awaitable<T> connected_then(asio::awaitable<T> op) {
    if (!redis_.reachable()) co_await redis_.wait_connected();
    if (!config_checked_) {
      co_await store::check_config(redis_, store_.keys());
      config_checked_ = true;
    }
    co_return co_await std::move(op);
  }

  static redis::Config config_for(const ClientOptions& o) {
    redis::Config c = redis::Config::from_url(o.redis_url);
    c.command_timeout = o.timeout;
    return c;
  }

  asio::awaitable<Json> definition(const std::string& workflow) {
    {
      std::lock_guard lock(mu_);
      auto it = definitions_.find(workflow);
      if (it != definitions_.end()) co_return it->second;
    }
    auto d = co_await store_.workflow_definition(workflow);
    if (!d) {
      throw UnknownWorkflowError("unknown workflow '" + workflow +
                                 "': no worker has registered it (start a worker with its "
                                 "workflows file, or register it from the client)");
    }
    std::lock_guard lock(mu_);
    definitions_[workflow] = *d;
    co_return *d;
  }

  // Throws InvalidInputError when `input` does not match the definition's
  // input_schema (compiled once per workflow and definition).
  void check_input(const std::string& workflow, const Json& definition, const Json& input) {
    const auto it = definition.find("input_schema");
    if (it == definition.end() || it->is_null()) return;
    std::shared_ptr<const engine::JsonSchema> schema;
    {
      std::lock_guard lock(mu_);
      auto& cached = schemas_[workflow];
      if (!cached.second || cached.first != *it) {
        try {
          cached = {*it, std::make_shared<const engine::JsonSchema>(*it)};
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument("workflow '" + workflow + "' is registered with an input_schema that cannot be used: " + e.what());
        }
      }
      schema = cached.second;
    }
    const auto errors = schema->validate(input, "/input");
    if (errors.empty()) return;
    std::string what = "the input does not match the input_schema of workflow '" + workflow + "':";
    std::vector<InvalidInputError::Violation> violations;
    for (const auto& e : errors) {
      what += " " + (e.pointer.empty() ? std::string("/") : e.pointer) + ": " + e.detail + ";";
      violations.push_back({e.pointer, e.detail});
    }
    what.pop_back();
    throw InvalidInputError(what, std::move(violations));
  }

  // `graph`: store::run_graph_of(def) when the caller has it (a batch reads it once).
  void complete(const Json& def, store::SubmitRequest& req, const std::string* graph = nullptr);

  ClientOptions options_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  redis::Client redis_;
  store::Store store_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, Json> definitions_;
  // workflow -> (its input_schema, compiled)
  std::map<std::string, std::pair<Json, std::shared_ptr<const engine::JsonSchema>>> schemas_;
  bool config_checked_ = false;  // on the I/O thread only
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

void Client::register_workflow(const Workflow& w) {
  const Json def = impl_->call([&]() -> asio::awaitable<Json> {
    const std::optional<Json> recorded = co_await impl_->store_.workflow_definition(w.name());
    Json d = store::with_recorded_queue_settings(store::definition_of(w), recorded ? *recorded : Json());
    co_await impl_->store_.register_workflow(w.name(), d);
    co_return d;
  }());
  std::lock_guard lock(impl_->mu_);
  impl_->definitions_[w.name()] = def;
}

namespace {

void check_workflow_name(const std::string& workflow) {
  if (!is_valid_name(workflow)) {
    throw std::invalid_argument("invalid workflow name " + engine::quote(workflow, 80) +
                                " (1-64 of A-Z a-z 0-9 _ -)");
  }
}

// The checks of a submit that need no definition, then its request (steps,
// queue and the definition's checks follow in Client::Impl::complete).
store::SubmitRequest request_of(const std::string& workflow, const Json& input, const SubmitOptions& o) {
  if (!o.idempotency_key.empty() && !store::is_valid_idempotency_key(o.idempotency_key)) {
    throw std::invalid_argument("invalid idempotency key (1-256 printable ASCII characters, no spaces)");
  }
  check_input_bounds(input);
  engine::check_run_metadata(o.metadata);
  store::SubmitRequest req;
  req.workflow = workflow;
  req.input = input;
  req.metadata = o.metadata;
  req.idempotency_key = o.idempotency_key;
  req.idempotency_ttl = o.idempotency_ttl;
  req.max_backlog = o.max_backlog;
  if (o.priority < kMinPriority || o.priority > kMaxPriority) {
    throw std::invalid_argument("priority must be a whole number from 0 to 9, got " + std::to_string(o.priority));
  }
  req.priority = o.priority;
  if (o.delay.count() != 0 && o.run_at) throw std::invalid_argument("give delay or run_at, not both");
  engine::check_delay(o.delay);
  req.start.delay = o.delay;
  if (o.run_at) {
    req.start.run_at_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(o.run_at->time_since_epoch()).count();
    if (req.start.run_at_ms <= 0) throw std::invalid_argument("run_at must be after 1970-01-01T00:00:00Z");
  }
  return req;
}

std::string conflict_message(const store::SubmitRequest& req, const std::string& run_id) {
  return "idempotency key " + engine::quote(req.idempotency_key, 80) + " was used for run " + run_id +
         " of workflow '" + req.workflow + "' with a different input (keys live " +
         std::to_string(std::chrono::duration_cast<std::chrono::minutes>(req.idempotency_ttl).count()) +
         " min); repeat the same input, or use another key";
}

}  // namespace

// The checks that need the workflow's definition, and what it adds to the request.
void Client::Impl::complete(const Json& def, store::SubmitRequest& req, const std::string* graph) {
  check_input(req.workflow, def, req.input);
  for (const Json& s : def.at("steps")) req.steps.push_back(s.at("name").get<std::string>());
  if (req.steps.empty()) throw std::invalid_argument("workflow '" + req.workflow + "' has no steps");
  req.first_queue = def.at("steps").at(0).at("queue").get<std::string>();
  req.graph = graph != nullptr ? *graph : store::run_graph_of(def);
  check_max_input_bytes(req.workflow, def, req.input);
  req.deadline = std::chrono::milliseconds(def.value("deadline_ms", std::int64_t{0}));
  if (req.max_backlog == 0 && def.contains("max_backlog")) {
    req.max_backlog = def["max_backlog"].get<std::int64_t>();
  }
  req.sched = store::run_sched(def, req.input, req.priority);
}

Submitted Client::submit(const std::string& workflow, const Json& input, const SubmitOptions& o) {
  check_workflow_name(workflow);
  store::SubmitRequest req = request_of(workflow, input, o);
  return impl_->call([&]() -> asio::awaitable<Submitted> {
    const Json def = co_await impl_->definition(workflow);
    impl_->complete(def, req);
    try {
      auto r = co_await impl_->store_.submit(req);
      co_return Submitted{r.run_id, r.created, r.run_at_ms};
    } catch (const store::NotReplicated& e) {
      const store::SubmitOutcome& written = e.outcomes().at(0);
      throw NotReplicatedError(
          "run " + written.run_id + ": " + e.what() + "; submit again with the same idempotency key to be sure",
          {BatchSubmitted{written.run_id, written.state == store::SubmitOutcome::State::created, written.run_at_ms, {}}});
    } catch (const store::BacklogFull& e) {
      throw BacklogFullError(e.what());
    } catch (const store::IdempotencyConflict& e) {
      throw IdempotencyConflictError(conflict_message(req, e.run_id()), e.run_id());
    }
  }());
}

std::vector<BatchSubmitted> Client::submit_many(const std::string& workflow, const std::vector<SubmitItem>& items) {
  check_workflow_name(workflow);
  return impl_->call([&]() -> asio::awaitable<std::vector<BatchSubmitted>> {
    const Json def = co_await impl_->definition(workflow);
    const std::string graph = store::run_graph_of(def);
    std::vector<BatchSubmitted> out(items.size());
    std::vector<store::SubmitRequest> requests;
    std::vector<std::size_t> sent;  // the item of each request
    for (std::size_t i = 0; i < items.size(); ++i) {
      try {
        store::SubmitRequest req = request_of(workflow, items[i].input, items[i].options);
        impl_->complete(def, req, &graph);
        requests.push_back(std::move(req));
        sent.push_back(i);
      } catch (const std::invalid_argument& e) {
        out[i].error = e.what();
      }
    }
    auto answer = [&](const std::vector<store::SubmitOutcome>& outcomes) {
      for (std::size_t j = 0; j < outcomes.size(); ++j) {
        const store::SubmitOutcome& o = outcomes[j];
        BatchSubmitted& b = out[sent[j]];
        using State = store::SubmitOutcome::State;
        switch (o.state) {
          case State::created: b = {o.run_id, true, o.run_at_ms, {}}; break;
          case State::repeated: b = {o.run_id, false, 0, {}}; break;
          case State::conflict: b.error = conflict_message(requests[j], o.run_id); break;
          case State::backlog_full: b.error = o.detail; break;
          case State::run_at_out_of_range: b.error = o.detail; break;
        }
      }
    };
    try {
      answer(co_await store::submit_many(impl_->store_, requests));
    } catch (const store::NotReplicated& e) {
      answer(e.outcomes());
      throw NotReplicatedError(std::string("the batch: ") + e.what() +
                                   "; submit it again with the same idempotency keys to be sure",
                               std::move(out));
    }
    co_return out;
  }());
}

std::optional<RunInfo> Client::get_run(const std::string& run_id) {
  check_run_id(run_id);
  return impl_->call(impl_->store_.get_run(run_id));
}

std::optional<MapItemsPage> Client::map_items(const std::string& run_id, const std::string& step, std::int64_t offset,
                                              std::int64_t limit) {
  check_run_id(run_id);
  if (offset < 0 || limit < 1 || limit > kMaxItemsPage) {
    throw std::invalid_argument("map_items: offset must be >= 0 and limit from 1 to " + std::to_string(kMaxItemsPage));
  }
  return impl_->call(impl_->store_.map_items(run_id, step, offset, limit));
}

RunInfo Client::wait(const std::string& run_id, std::chrono::milliseconds timeout) {
  check_run_id(run_id);
  return impl_->call([&]() -> asio::awaitable<RunInfo> {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer t(impl_->io_);
    std::chrono::milliseconds poll{5};
    for (;;) {
      auto run = co_await impl_->store_.get_run(run_id);
      if (!run) throw std::runtime_error("run " + run_id + " does not exist");
      if (is_terminal_status(run->status)) co_return *run;
      if (std::chrono::steady_clock::now() >= deadline) {
        throw WaitTimeoutError("run " + run_id + " still " + run->status + " after " +
                               std::to_string(timeout.count()) + " ms");
      }
      t.expires_after(poll);
      co_await t.async_wait(asio::use_awaitable);
      poll = std::min(poll * 2, std::chrono::milliseconds(100));
    }
  }());
}

std::string Client::cancel(const std::string& run_id) {
  check_run_id(run_id);
  return impl_->call([&]() -> asio::awaitable<std::string> {
    const std::string result = co_await impl_->store_.cancel(run_id, impl_->options_.retention);
    if (result == "cancelled" || result == "cancelling") {
      co_await impl_->store_.audit(impl_->actor(), "cancel", run_id, store::audit_detail("result", result));
    }
    co_return result;
  }());
}

std::string Client::signal(const std::string& run_id, const std::string& name, const Json& body,
                           const std::string& idempotency_key) {
  check_run_id(run_id);
  store::SignalRequest req{run_id, name, body, idempotency_key};
  return impl_->call([&]() -> asio::awaitable<std::string> {
    const store::SignalResult r = co_await store::send_signal(impl_->store_, req);
    using O = store::SignalResult::Outcome;
    switch (r.outcome) {
      case O::delivered:
      case O::kept: {
        const std::string what = r.outcome == O::delivered ? "delivered" : "kept";
        Json detail = Json::object();
        detail["signal"] = name;
        detail["result"] = what;
        co_await impl_->store_.audit(impl_->actor(), "signal", run_id, std::move(detail));
        co_return what;
      }
      case O::repeat: co_return std::string("repeat");
      case O::missing: co_return std::string("missing");
      case O::ended: co_return "ended:" + r.detail;
      case O::unknown_signal: co_return "unknown:" + r.detail;
      case O::full: co_return "full:" + r.detail;
    }
    co_return std::string("missing");
  }());
}

std::string Client::rerun(const std::string& raw_run_id, const std::string& from_step,
                          const std::optional<Json>& input) {
  const std::string run_id = store::canonical_run_id(raw_run_id);
  check_run_id(run_id);
  if (input) check_input_bounds(*input);
  return impl_->call([&]() -> asio::awaitable<std::string> {
    auto source = co_await impl_->store_.rerun_source(run_id);
    if (!source) throw std::invalid_argument("no run " + run_id + " (never submitted, or expired)");
    const Json def = co_await impl_->definition(source->workflow);
    if (input) {
      check_max_input_bytes(source->workflow, def, *input);
      impl_->check_input(source->workflow, def, *input);
    }
    store::RerunRequest req{*source, from_step, {}, input, std::nullopt};
    if (input) req.sched = store::run_sched(def, *input, source->priority);  // its own tenant's place
    for (const Json& s : def.at("steps")) {
      if (s.at("name") == from_step) req.from_queue = s.at("queue").get<std::string>();
    }
    // An unknown step is named by plan_rerun (in Store::rerun) with the run's steps.
    if (req.from_queue.empty() && std::find(source->steps.begin(), source->steps.end(), from_step) != source->steps.end()) {
      throw std::invalid_argument("step " + engine::quote(from_step, 80) + " of run " + run_id +
                                  " is no longer in the definition of workflow '" + source->workflow + "'");
    }
    const store::RerunResult r = co_await impl_->store_.rerun(req);
    if (r.outcome == store::RerunResult::Outcome::missing) {
      throw std::invalid_argument("no run " + run_id + " (never submitted, or expired)");
    }
    if (r.outcome == store::RerunResult::Outcome::unfinished) {
      throw std::invalid_argument("step '" + r.step + "' of run " + run_id + " is " + r.step_status +
                                  ", not completed: a rerun from " + engine::quote(from_step, 80) +
                                  " would keep its output");
    }
    Json detail = store::audit_detail("run_id", r.run_id);
    detail["from_step"] = from_step;
    co_await impl_->store_.audit(impl_->actor(), "rerun", run_id, std::move(detail));
    co_return r.run_id;
  }());
}

std::vector<DeadLetter> Client::dead_letters(std::size_t limit) {
  return impl_->call(impl_->store_.dlq_list(limit));
}

std::string Client::replay(const std::string& id) {
  if (!store::is_valid_run_id(id) && !store::is_valid_stream_id(id)) {
    throw std::invalid_argument("invalid dead-letter id " + engine::quote(id, 80) +
                                " (a dead-letter entry id such as 1732749242001-0, or a run id)");
  }
  return impl_->call([&]() -> asio::awaitable<std::string> {
    const std::string run_id = co_await impl_->store_.dlq_replay(id);
    co_await impl_->store_.audit(impl_->actor(), "dlq_replay", id, store::audit_detail("run_id", run_id));
    co_return run_id;
  }());
}

std::size_t Client::purge_dead_letters() {
  return impl_->call([&]() -> asio::awaitable<std::size_t> {
    const std::size_t purged = co_await impl_->store_.dlq_purge();
    co_await impl_->store_.audit(impl_->actor(), "dlq_purge", "{}", store::audit_detail("purged", purged));
    co_return purged;
  }());
}

}  // namespace steadfast
