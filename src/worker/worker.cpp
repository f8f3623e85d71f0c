// The worker's construction, run/stop, start-up and main loop; the other
// concerns are in the files listed in worker_impl.h.
#include "steadfast/worker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <random>
#include <set>

#include "engine/callback_signing.h"
#include "engine/quote.h"
#include "engine/workflow_graph.h"
#include "store/config.h"
#include "store/definition.h"
#include "store/redis_settings.h"
#include "store/run_id.h"
#include "worker/worker_impl.h"

namespace steadfast {

namespace worker_detail {

asio::awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

double jitter_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

Json parse_json(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(text) : j;
}

}  // namespace worker_detail

using worker_detail::sleep_for;

namespace {

std::string default_worker_id() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

}  // namespace

Worker::Impl::Impl(WorkerOptions options, std::vector<Workflow> workflows)
    : options_(std::move(options)),
      workflows_(std::move(workflows)),
      io_(std::make_shared<asio::io_context>(1)),
      redis_config_(redis::Config::from_url(options_.redis_url)),
      main_(io_->get_executor(), redis_config_),
      blocking_(io_->get_executor(), redis_config_),
      keys_(store::KeySpace::for_redis(redis_config_, options_.key_prefix, options_.partitions)),
      slot_signal_(*io_) {
  if (options_.id.empty()) options_.id = default_worker_id();
  if (!is_valid_name(options_.id)) {
    throw std::invalid_argument("invalid worker id " + engine::quote(options_.id, 80) +
                                " (use 1-64 of A-Z a-z 0-9 _ -)");
  }
  if (options_.concurrency < 1 || options_.concurrency > 10000) {
    throw std::invalid_argument("concurrency must be in 1..10000");
  }
  if (workflows_.empty()) throw std::invalid_argument("a worker needs at least one workflow");
  if (options_.public_url.empty() != options_.signing_key_file.empty()) {
    throw std::invalid_argument("callback URLs need both a public URL and a signing key file, or neither");
  }
  if (!options_.public_url.empty()) {
    callbacks_ = std::make_shared<const engine::CallbackSigner>(options_.public_url,
                                                               engine::load_signing_keys(options_.signing_key_file));
  }
  if (options_.no_handler_grace.count() < 0) {
    throw std::invalid_argument("no_handler_grace must not be negative");
  }
  std::set<std::string> names;
  for (const Workflow& w : workflows_) {
    if (!names.insert(w.name()).second) {
      throw std::invalid_argument("workflow '" + w.name() + "' is defined twice");
    }
    try {
      engine::check_runnable(w);
      graphs_.emplace(&w, engine::graph_of(w));
    } catch (const engine::GraphError& e) {
      throw std::invalid_argument("workflow '" + w.name() + "': " + e.what());
    }
  }
  // A child workflow step starts its child from the worker's own definition.
  for (const Workflow& w : workflows_) {
    for (const StepDefinition& s : w.steps()) {
      if (!s.child) continue;
      const Workflow* child = find_workflow(s.child->workflow);
      if (child == nullptr) {
        throw std::invalid_argument("workflow '" + w.name() + "' step '" + s.name + "' starts workflow '" +
                                    s.child->workflow + "', which this worker was not given");
      }
      child_plans_.try_emplace(child->name(), child_plan(*child, options_.queue_order));
    }
  }
  // Task queues (steps of kind task) are served by `serve`'s task worker
  // only, and it serves nothing else.
  std::set<std::string> task_queues;
  for (const Workflow& w : workflows_) {
    for (const StepDefinition& s : w.steps()) {
      if (!s.task.empty()) task_queues.insert(s.options.queue);
    }
  }
  const bool for_tasks = options_.tasks != nullptr;
  std::set<std::string> queues(options_.queues.begin(), options_.queues.end());
  for (const std::string& q : queues) {
    if (task_queues.contains(q) != for_tasks) {
      throw std::invalid_argument(
          for_tasks ? "queue " + engine::quote(q, 80) + " holds no task steps: a task worker serves task queues only"
                    : "queue " + engine::quote(q, 80) +
                          " holds task steps: external workers serve it through `steadfast serve` "
                          "(docs/worker-protocol.md), never a C++ worker");
    }
  }
  if (queues.empty()) {
    for (const Workflow& w : workflows_) {
      for (const StepDefinition& s : w.steps()) {
        if (task_queues.contains(s.options.queue) == for_tasks) queues.insert(s.options.queue);
      }
    }
  }
  if (queues.empty()) {
    throw std::invalid_argument(for_tasks ? "no task queue to serve: no workflow has a step of kind task"
                                          : "every queue of these workflows holds task steps, which external workers "
                                            "serve through `steadfast serve`: nothing for this worker to do");
  }
  for (const std::string& q : queues) {
    if (!is_valid_name(q)) throw std::invalid_argument("invalid queue name " + engine::quote(q, 80));
  }
  // The shortest lease of any step sets the renewal pace; per queue, the
  // shortest lease of its steps is how idle an entry must be to be reclaimed.
  milliseconds shortest = milliseconds::max();
  for (const std::string& q : queues) {
    milliseconds q_lease = milliseconds::max();
    for (const Workflow& w : workflows_) {
      for (const StepDefinition& s : w.steps()) {
        if (s.options.queue == q) q_lease = std::min(q_lease, s.options.lease);
      }
    }
    if (q_lease == milliseconds::max()) q_lease = milliseconds(30000);
    shortest = std::min(shortest, q_lease);
    for (int p = 0; p < keys_.partitions(); ++p) {
      streams_.push_back(Stream{p, q, keys_.queue(p, q), q_lease, options_.queue_order.contains(q)});
    }
  }
  // Renewals also bring the runs' cancel flags: at least once a second, so a
  // cancelled run's handler hears of it promptly even under a long lease.
  renew_interval_ = std::clamp(shortest / 3, milliseconds(20), milliseconds(1000));
  limiter_hold_ = milliseconds(1000);
  for (const Workflow& w : workflows_) {
    for (const StepDefinition& st : w.steps()) {
      if (!limit_uses(st.options).empty()) limiter_hold_ = std::max(limiter_hold_, st.options.lease);
    }
  }
  reclaim_interval_ = std::clamp(shortest / 2, milliseconds(50), milliseconds(1000));
  store_ = std::make_unique<store::Store>(main_, keys_, options_.id);
  for (const LimitSpec& l : options_.limits) {
    if (!is_valid_name(l.name)) throw std::invalid_argument("invalid limiter name " + engine::quote(l.name, 80));
    limiters_[l.name] = std::make_unique<store::Limiter>(main_, keys_, l);
  }
  if (options_.schedules) {
    schedules_.emplace();
    std::set<std::string> schedule_names;
    for (const Schedule& s : *options_.schedules) {
      store::ScheduleDefinition d = store::schedule_definition_of(s);
      if (!names.contains(d.workflow)) {
        throw std::invalid_argument("schedule " + engine::quote(d.name, 80) + " starts the workflow " +
                                    engine::quote(d.workflow, 80) + ", which this worker does not have");
      }
      if (!schedule_names.insert(d.name).second) {
        throw std::invalid_argument("schedule " + engine::quote(d.name, 80) + " is defined twice");
      }
      schedules_->push_back(std::move(d));
    }
  }
  for (const Workflow& w : workflows_) {
    for (const StepDefinition& st : w.steps()) {
      std::set<std::string> used;
      for (const LimitUse* use : limit_uses(st.options)) {
        const std::string where = "workflow '" + w.name() + "' step '" + st.name + "'";
        if (limiters_.count(use->name) == 0) {
          throw std::invalid_argument(where + " uses the undeclared limiter " + engine::quote(use->name, 80));
        }
        if (!used.insert(use->name).second) {
          throw std::invalid_argument(where + " goes through limiter " + engine::quote(use->name, 80) + " twice");
        }
        try {
          if (!use->tokens_template.empty()) token_estimates_[use] = engine::Template::parse(use->tokens_template);
        } catch (const engine::TemplateSyntaxError& e) {
          throw std::invalid_argument(where + ": limit tokens: " + e.what());
        }
        try {
          if (!use->key_template.empty()) limit_keys_[use] = engine::Template::parse(use->key_template);
        } catch (const engine::TemplateSyntaxError& e) {
          throw std::invalid_argument(where + ": limit key: " + e.what());
        }
      }
    }
  }
}

int Worker::Impl::run() {
  if (auto warning = redis_config_.insecure_warning()) spdlog::warn("worker {}: {}", options_.id, *warning);
  pool_ = std::make_unique<worker::ThreadPool>(options_.concurrency);
  std::unique_ptr<asio::signal_set> signals;
  if (options_.handle_signals) {
    signals = std::make_unique<asio::signal_set>(*io_, SIGTERM, SIGINT);
    signals->async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("worker {}: signal {}, draining (up to {} ms)", options_.id, sig,
                   options_.drain_timeout.count());
      begin_drain();
    });
  }
  if (options_.tasks) {
    options_.tasks->attach([io = io_, this] { asio::post(*io, [this] { slot_signal_.cancel(); }); },
                           [io = io_, this](const std::string& key, TaskBroker::Resolution r) {
                             asio::post(*io, [this, key, r] { on_offer_resolved(key, r); });
                           });
  }
  asio::co_spawn(*io_, main_loop(), [this](std::exception_ptr e) {
    if (e) fatal_ = e;
    io_->stop();
  });
  io_->run();
  if (options_.tasks) options_.tasks->detach();
  if (signals) signals->cancel();
  pool_->shutdown(milliseconds(200));
  if (fatal_) std::rethrow_exception(fatal_);
  return 0;
}

void Worker::Impl::stop() {
  asio::post(*io_, [this] { begin_drain(); });
}

WorkerStats Worker::Impl::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

// Slots free for new claims: the concurrency minus the claimed steps not
// finished yet (running, or waiting for their claim or for admission) and
// the slots promised to a read in flight. A finished step whose outcome is
// still being written holds no slot, so the refill overlaps the write (for
// 50 ms steps at concurrency 200 this was 86% of the ideal rate against
// 9x%); at most `concurrency` outcomes may wait so, so a Redis slow to take
// writes also stops the fetching.
int Worker::Impl::free_slots() const {
  const int by_running = options_.concurrency - holding_slots_ - reserved_;
  const int by_total = 2 * options_.concurrency - static_cast<int>(inflight_.size()) - reserved_;
  return std::min(by_running, by_total);
}

int Worker::Impl::free_slots(const Stream& s) const {
  const int free = free_slots();
  if (!options_.tasks) return free;
  // A task worker claims only what the external workers' claims ask for.
  return std::min(free, options_.tasks->room(s.queue));
}

const Workflow* Worker::Impl::find_workflow(const std::string& name) const {
  for (const Workflow& w : workflows_) {
    if (w.name() == name) return &w;
  }
  return nullptr;
}

void Worker::Impl::log_background_error(const char* what, std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::warn("worker {}: {} failed: {}", options_.id, what, ex.what());
  }
}

// Connects, checks the settings, takes the id, registers the workflows and
// makes the consumer groups. Every step is idempotent, so while Redis is
// unreachable or not ready (loading, out of memory) the whole sequence is
// retried with a log line; other errors (auth, an evicting Redis, an id in
// use) stop the worker. False if a signal came first.
asio::awaitable<bool> Worker::Impl::start_up() {
  milliseconds pause{100};
  for (;;) {
    std::string error;
    try {
      co_await main_.wait_connected(milliseconds(2000));
      co_await store::ensure_config(main_, keys_);
      const auto settings = co_await store::read_redis_settings(main_);
      for (const std::string& w : store::durability_warnings(settings, options_.allow_eviction)) {
        spdlog::warn("worker {}: {}", options_.id, w);
      }
      if (!registration_) registration_ = std::make_unique<worker::Registration>(main_, keys_, options_.id);
      std::map<std::string, std::vector<std::string>> handles;
      for (const Workflow& w : workflows_) {
        for (const StepDefinition& st : w.steps()) handles[w.name()].push_back(st.name);
      }
      co_await registration_->acquire(options_.concurrency, queue_names(), handles);
      for (const Workflow& w : workflows_) {
        co_await store_->register_workflow(w.name(), store::definition_of(w, options_.max_backlog, options_.queue_order));
      }
      std::vector<LimitSpec> limiter_specs;
      for (const auto& [name, limiter] : limiters_) limiter_specs.push_back(limiter->spec());
      co_await store_->register_limiters(limiter_specs);
      if (schedules_) {
        std::vector<std::string> names;
        for (const Workflow& w : workflows_) names.push_back(w.name());
        const std::size_t removed = co_await store::publish_schedules(*store_, *schedules_, names);
        if (!schedules_->empty() || removed > 0) {
          spdlog::info("worker {}: published {} schedule(s){}", options_.id, schedules_->size(),
                       removed > 0 ? fmt::format(", removed {} no longer in the workflows", removed) : std::string());
        }
      }
      for (const Stream& s : streams_) co_await store_->ensure_group(s.partition, s.queue);
      co_return true;
    } catch (const redis::ServerError& e) {
      if (!e.transient()) throw;
      error = e.what();
    } catch (const redis::IoError& e) {
      error = e.what();
    }
    if (draining_) co_return false;
    spdlog::warn("worker {}: waiting for Redis at {}: {}; retrying in {} ms", options_.id,
                 redis_config_.redacted_url(), error, pause.count());
    co_await sleep_for(pause);
    if (draining_) co_return false;
    pause = std::min(pause * 2, milliseconds(2000));
  }
}

asio::awaitable<void> Worker::Impl::main_loop() {
  if (!co_await start_up()) co_return;
  spdlog::info("worker {}: serving {} queue stream(s) with concurrency {}", options_.id,
               streams_.size(), options_.concurrency);
  try {
    co_await take_back_own_entries();
  } catch (const redis::ServerError& e) {
    // A failover or an outage right after start-up: the reclaimer takes
    // them back after their lease.
    if (!e.transient()) throw;
    outage("taking back own entries").failed(e.what());
  } catch (const redis::IoError& e) {
    outage("taking back own entries").failed(e.what());
  }

  auto ex = co_await asio::this_coro::executor;
  auto on_loop_end = [this](std::exception_ptr e) {
    if (e && !stopping_) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex2) {
        spdlog::error("worker {}: {}", options_.id, ex2.what());
      }
      if (!fatal_) fatal_ = e;
      begin_drain();
    }
  };
  asio::co_spawn(ex, reads_per_partition() ? fetch_loop_partitioned() : fetch_loop(), on_loop_end);
  asio::co_spawn(ex, renew_loop(), on_loop_end);
  asio::co_spawn(ex, promote_loop(), on_loop_end);
  if (options_.run_scheduler) asio::co_spawn(ex, schedule_loop(), on_loop_end);
  asio::co_spawn(ex, heartbeat_loop(), on_loop_end);
  asio::co_spawn(ex, counters_loop(), on_loop_end);
  if (options_.tasks) asio::co_spawn(ex, offer_patience_loop(), on_loop_end);
  co_await drain_done();
}

std::vector<std::string> Worker::Impl::queue_names() const {
  std::set<std::string> q;
  for (const Stream& s : streams_) q.insert(s.queue);
  return {q.begin(), q.end()};
}

asio::awaitable<void> Worker::Impl::heartbeat_loop() {
  while (!stopping_) {
    co_await sleep_for(worker::Registration::kBeatInterval);
    if (stopping_) break;
    try {
      co_await registration_->beat(static_cast<int>(inflight_.size()));
      outage("heartbeat").succeeded();
    } catch (const worker::RegistrationLost&) {
      throw;
    } catch (const redis::Error& e) {
      // Kept through an outage or a demotion: a lock that expired meanwhile
      // is taken again by the next beat (Registration::beat).
      outage("heartbeat").failed(e.what());
    }
  }
}

worker::OutageLog& Worker::Impl::outage(const std::string& what) {
  auto it = outages_.find(what);
  if (it == outages_.end()) {
    it = outages_.emplace(what, worker::OutageLog("worker " + options_.id + ": " + what)).first;
  }
  return it->second;
}

Worker::Worker(WorkerOptions options, std::vector<Workflow> workflows)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(workflows))) {}
Worker::~Worker() = default;
int Worker::run() { return impl_->run(); }
void Worker::stop() { impl_->stop(); }
WorkerStats Worker::stats() const { return impl_->stats(); }
const std::string& Worker::id() const noexcept { return impl_->id(); }

}  // namespace steadfast
