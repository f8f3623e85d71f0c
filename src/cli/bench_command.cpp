// `steadfast bench <workload>`: every performance claim as one command that
// prints one JSON line. The bench starts its own redis-server (unless --redis
// names one), real `steadfast worker` / `steadfast serve` child processes,
// and measures them from outside: rates from Redis' counters, commands per
// step from INFO commandstats, memory from the workers' peak RSS.
#include <signal.h>
#include <stdlib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/bench_delay_server.h"
#include "cli/bench_stats.h"
#include "cli/children.h"
#include "cli/common.h"
#include "cli/http_load.h"
#include "cli/open_files.h"
#include "config/workflows_file.h"
#include "redis/client.h"
#include "store/key_space_cleanup.h"
#include "store/keys.h"
#include "store/server_stats.h"
#include "store/store.h"
#include "store/run_order.h"
#include "store/submit_many.h"

namespace steadfast::cli {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct BenchArgs {
  std::string workload;
  std::string redis_url;  // empty: a private redis-server for this run
  int runs = 0;           // 0: the workload's default
  int concurrency = 0;    // 0: the workload's default
  int workers = 1;
  int partitions = 0;     // 0: the Redis' default (1 on one server, 12 on a cluster)
  int submitters = 64;    // enqueue coroutines (pipelined on one connection)
  bool aof = false;       // private Redis: appendonly yes, appendfsync everysec
  int step_ms = 50;       // io: the sleep of each step (sleep, exec) or the upstream's delay (http)
  // io: sleep (blocks a pool thread), http (the event loop) or exec (a
  // program per step, supervised by the process loop)
  std::string kind = "sleep";
  int interval_us = 5000; // latency: gap between two submits
  int connections = 32;   // http
  double rate = 5000;     // http: the fixed offered rate, req/s
  double seconds = 5;     // http: length of each phase
  int batch = 1;          // http: runs per request (1: POST .../runs; more: POST .../runs:batch)
  // noop, three-step: the queue is ordered with a fairness key and run i's
  // tenant is i mod fair_keys (docs/architecture.md "Ordered queues"); 0 = FIFO.
  int fair_keys = 0;
  // Every submit waits for the replicas (Store::set_replica_wait), as serve's
  // and submit's --wait-replicas; 0 = no WAIT.
  ReplicaWaitArgs replica_wait;
  // latency: a CSV of every run (see latency()); empty = none.
  std::string latencies_file;
};

struct Workload {
  std::string name;
  std::string yaml_steps;  // the steps of the one workflow, as YAML flow sequence
  int steps_per_run = 1;
  int default_runs = 0;
  int default_concurrency = 0;
  std::string graph = {};  // the needs of every step (store::run_graph_of) for a graph; "" = a chain
  // A map workload: each run's input holds this many items (`input.items`)
  // and its steps are a (the map over them) and b; 0 = none.
  int items = 0;
};

const Workload* find_workload(std::string_view name) {
  static const std::vector<Workload> all = {
      {"noop", "[{name: a, kind: noop}]", 1, 200000, 64},
      {"three-step", "[{name: a, kind: noop}, {name: b, kind: noop}, {name: c, kind: noop}]", 3, 60000, 64},
      // a fans out to b and c, which run side by side; d waits for both
      {"diamond",
       "[{name: a, kind: noop}, {name: b, kind: noop, needs: [a]}, {name: c, kind: noop, needs: [a]}, "
       "{name: d, kind: noop, needs: [b, c]}]",
       4, 50000, 64, R"({"a":[],"b":["a"],"c":["a"],"d":["b","c"]})"},
      // a maps over the run's 20 items, 10 at a time; b waits for all of them
      {"fanout",
       "[{name: a, kind: noop, map: {over: \"{{input.items}}\", max_parallel: 10}}, {name: b, kind: noop}]", 21,
       5000, 64, R"({"a":[],"b":["a"]})", 20},
      {"io", "[{name: a, kind: sleep, with: {ms: STEP_MS}}]", 1, 20000, 200},
      {"latency", "[{name: a, kind: stamp}]", 1, 1000, 16},
      {"http", "[{name: a, kind: noop}]", 1, 0, 16},
      {"submit", "[{name: a, kind: noop}]", 1, 200000, 0},
  };
  for (const Workload& w : all) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

asio::awaitable<void> pause(Clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One bench run's world: a scratch folder, Redis (private or given), the
// child processes. Everything it started is stopped, by PID, when it ends.
class BenchEnv {
 public:
  explicit BenchEnv(const BenchArgs& args) : args_(args) {
    char tmpl[] = "/tmp/steadfast-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("cannot create a scratch folder in /tmp");
    dir_ = tmpl;
    if (args.redis_url.empty()) {
      const int port = free_port();
      std::vector<std::string> argv{"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                                    "--dir", dir_, "--save", "", "--maxmemory-policy", "noeviction",
                                    "--daemonize", "no", "--logfile", ""};
      if (args.aof) {
        for (const char* a : {"--appendonly", "yes", "--appendfsync", "everysec"}) argv.emplace_back(a);
      } else {
        for (const char* a : {"--appendonly", "no"}) argv.emplace_back(a);
      }
      redis_ = Child{"redis-server", spawn(argv, dir_ + "/redis.log", SIGTERM)};
      const auto ready_by = Clock::now() + std::chrono::seconds(15);
      while (!redis_answers(port)) {
        if (Clock::now() > ready_by) throw std::runtime_error("redis-server did not start; see " + dir_ + "/redis.log");
        std::this_thread::sleep_for(milliseconds(20));
      }
      url_ = "redis://127.0.0.1:" + std::to_string(port);
      prefix_ = "sf";
    } else {
      url_ = args.redis_url;
      // A prefix of its own, so a shared Redis' other data is never touched.
      prefix_ = "sfbench" + std::to_string(::getpid());
    }
  }
  ~BenchEnv() {
    stop_children();
    redis_.process.terminate(std::chrono::seconds(10));
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  BenchEnv(const BenchEnv&) = delete;
  BenchEnv& operator=(const BenchEnv&) = delete;

  const std::string& url() const { return url_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& dir() const { return dir_; }
  bool private_redis() const { return redis_.process.pid() > 0; }

  // upstream_port: for `io --kind http`, the local server the step calls.
  std::string write_workflows(const Workload& w, int upstream_port = 0) const {
    std::string steps = w.yaml_steps;
    if (w.name == "io" && args_.kind == "http") {
      steps = "[{name: a, kind: http, with: {url: \"http://127.0.0.1:" + std::to_string(upstream_port) +
              "/\", timeout: 120s}}]";
    } else if (w.name == "io" && args_.kind == "exec") {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.3f", args_.step_ms / 1000.0);
      steps = std::string("[{name: a, kind: exec, with: {command: [sh, -c, \"sleep ") + seconds +
              "; echo null\"], timeout: 120s}}]";
    }
    if (auto p = steps.find("STEP_MS"); p != std::string::npos) steps.replace(p, 7, std::to_string(args_.step_ms));
    const std::string path = dir_ + "/workflows.yaml";
    std::ofstream out(path);
    if (args_.fair_keys > 0) out << "queues:\n  default: {fairness: {key: \"{{input.tenant}}\"}}\n";
    out << "workflows:\n  bench-" << w.name << ":\n    steps: " << steps << "\n";
    return path;
  }

  void start_workers(const std::string& yaml, int n, int concurrency) {
    for (int i = 1; i <= n; ++i) {
      const std::string id = "bench-" + std::to_string(i);
      children_.push_back({id, spawn({self_path(), "worker", "--workflows", yaml, "--redis", url_, "--key-prefix",
                                      prefix_, "--partitions", std::to_string(args_.partitions), "--id", id,
                                      "--concurrency", std::to_string(concurrency)},
                                     dir_ + "/" + id + ".log", SIGTERM)});
      workers_.push_back(children_.back().process.pid());
    }
  }
  void start_serve(const std::string& yaml, int port) {
    children_.push_back({"serve", spawn({self_path(), "serve", "--workflows", yaml, "--redis", url_, "--key-prefix",
                                         prefix_, "--partitions", std::to_string(args_.partitions), "--listen",
                                         "127.0.0.1:" + std::to_string(port)},
                                        dir_ + "/serve.log", SIGTERM)});
  }
  // Throws if a child exited (naming its log).
  void check_children() {
    for (Child& c : children_) {
      if (c.process.reaped()) continue;
      if (const auto status = c.process.try_wait()) {
        std::ifstream log(dir_ + "/" + c.name + ".log");
        std::string text((std::istreambuf_iterator<char>(log)), {});
        throw std::runtime_error(c.name + " " + status->describe() + ": " +
                                 text.substr(text.size() > 2000 ? text.size() - 2000 : 0));
      }
    }
  }
  double workers_cpu_seconds() const {
    double sum = 0;
    for (pid_t p : workers_) sum += cpu_seconds(p);
    return sum;
  }
  double workers_anon_rss_mb() const {
    long long most = 0;
    for (pid_t p : workers_) most = std::max(most, anon_rss_bytes(p));
    return static_cast<double>(most) / (1024.0 * 1024.0);
  }
  int workers_most_threads() const {
    int most = 0;
    for (pid_t p : workers_) most = std::max(most, thread_count(p));
    return most;
  }
  double workers_peak_rss_mb() const {
    long long peak = 0;
    for (pid_t p : workers_) peak = std::max(peak, peak_rss_bytes(p));
    return static_cast<double>(peak) / (1024.0 * 1024.0);
  }
  void stop_children() {
    for (Child& c : children_) c.process.terminate(std::chrono::seconds(10));
  }

 private:
  const BenchArgs& args_;
  std::string dir_;
  std::string url_;
  std::string prefix_;
  Child redis_;
  std::vector<Child> children_;
  std::vector<pid_t> workers_;
};

// The bench's own view of Redis: one pipelined connection, and the calls it
// makes itself, so they can be taken out of INFO commandstats.
class Probe {
 public:
  explicit Probe(store::Store& store) : store_(store) {}

  asio::awaitable<void> reset_stats() {
    co_await store::reset_server_stats(store_.client());
    own_.clear();
    own_["config|resetstat"] = 1;
  }
  // Commands by name since the last reset_stats(), the bench's own taken out.
  asio::awaitable<std::map<std::string, std::int64_t>> engine_calls() {
    co_return subtract_calls(co_await store::command_calls(store_.client()), own_);
  }
  // Microseconds Redis spent per command since the last reset_stats() (the
  // bench's own commands are INFO and HGET/HLEN: none the callers read).
  asio::awaitable<std::map<std::string, std::int64_t>> engine_usec() {
    ++own_["info"];
    co_return co_await store::command_usec(store_.client());
  }
  // Redis' own CPU time so far (used_cpu_user + used_cpu_sys of INFO cpu), seconds.
  asio::awaitable<double> redis_cpu_seconds() {
    ++own_["info"];
    co_return co_await store::server_cpu_seconds(store_.client());
  }
  asio::awaitable<std::int64_t> counter(const std::string& field) {
    ++own_["hget"];  // one partition: one HGET
    co_return co_await store_.counter(field);
  }
  // When a counter first reached a value (wait_counter's marks).
  struct Mark {
    std::int64_t value = 0;
    std::optional<Clock::time_point> at;
  };
  // Waits until `field` reaches `target`; throws after `limit` or if a child
  // died. Each of `marks` gets the time its value was first seen reached
  // (polled every 2 ms).
  asio::awaitable<void> wait_counter(const std::string& field, std::int64_t target, milliseconds limit,
                                     BenchEnv& env, std::vector<Mark>* marks = nullptr) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      std::int64_t now_at = -1;
      try {
        now_at = co_await counter(field);
      } catch (const redis::IoError&) {
        // A read lost with its connection (a node killed under the bench):
        // ask again, as a worker would wait it out.
        if (Clock::now() > deadline) throw;
      }
      if (now_at < 0) {
        co_await pause(milliseconds(20));
        continue;
      }
      if (marks != nullptr) {
        for (Mark& m : *marks) {
          if (!m.at && now_at >= m.value) m.at = Clock::now();
        }
      }
      if (now_at >= target) break;
      env.check_children();
      if (Clock::now() > deadline) {
        throw std::runtime_error("timed out waiting for " + field + " to reach " + std::to_string(target));
      }
      co_await pause(milliseconds(2));
    }
  }
  void count_own(const std::string& command, std::int64_t n = 1) { own_[command] += n; }
  // Waits until `n` workers have registered; throws if one died.
  asio::awaitable<void> wait_registered(int n, BenchEnv& env) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      env.check_children();
      ++own_["hlen"];
      if (co_await store_.registered_workers() >= n) break;
      if (Clock::now() > deadline) throw std::runtime_error("workers did not register within 30 s");
      co_await pause(milliseconds(1));
    }
  }

 private:
  store::Store& store_;
  std::map<std::string, std::int64_t> own_;
};

Json calls_per(const std::map<std::string, std::int64_t>& calls, double n, double* total) {
  Json j = Json::object();
  double sum = 0;
  for (const auto& [name, c] : calls) {
    j[name] = round_to(static_cast<double>(c) / n, 3);
    sum += static_cast<double>(c);
  }
  *total = sum / n;
  return j;
}

// What the enqueuing coroutines share (they run on one thread).
struct EnqueuePlan {
  std::string workflow;
  std::vector<std::string> steps;
  std::string graph;  // SubmitRequest::graph
  int items = 0;      // Workload::items
  int fair_keys = 0;  // BenchArgs::fair_keys
  std::vector<std::string> ids;  // one per run, filled in as submitted
  std::size_t next = 0;
  std::exception_ptr failure;
};

asio::awaitable<void> submitter(store::Store& store, EnqueuePlan& plan) {
  while (plan.next < plan.ids.size() && !plan.failure) {
    const std::size_t i = plan.next++;
    store::SubmitRequest req;
    req.workflow = plan.workflow;
    req.input = Json{{"i", i}};
    if (plan.items > 0) {
      req.input["items"] = Json::array();
      for (int k = 0; k < plan.items; ++k) req.input["items"].push_back(k);
    }
    req.steps = plan.steps;
    req.graph = plan.graph;
    req.first_queue = "default";
    if (plan.fair_keys > 0) {
      // As a submitter that read the workers' definition would (store::run_sched).
      static const Json ordered = {
          {"order", {{"default", store::queue_order_json(QueueOrder{"{{input.tenant}}", {}, std::chrono::minutes(5)})}}}};
      req.input["tenant"] = "t" + std::to_string(i % static_cast<std::size_t>(plan.fair_keys));
      req.sched = store::run_sched(ordered, req.input, kDefaultPriority);
    }
    const store::SubmitResult submitted = co_await store.submit(req);
    plan.ids[i] = submitted.run_id;
  }
}

// Enqueues `runs` runs of `workflow` from `submitters` coroutines sharing one
// connection (the client pipelines what they send in the same turn).
asio::awaitable<std::vector<std::string>> enqueue(store::Store& store, const std::string& workflow,
                                                  const std::vector<std::string>& steps, int runs,
                                                  int submitters, const std::string& graph = {}, int items = 0,
                                                  int fair_keys = 0) {
  EnqueuePlan plan{workflow, steps, graph, items, fair_keys, std::vector<std::string>(static_cast<std::size_t>(runs)), 0,
                   nullptr};
  int finished = 0;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer all_done(ex, Clock::time_point::max());
  for (int s = 0; s < submitters; ++s) {
    asio::co_spawn(ex, submitter(store, plan), [&](std::exception_ptr e) {
      if (e && !plan.failure) plan.failure = e;
      if (++finished == submitters) all_done.cancel();
    });
  }
  while (finished < submitters) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  if (plan.failure) std::rethrow_exception(plan.failure);
  co_return std::move(plan.ids);
}

std::vector<std::string> step_names(const Workload& w) {
  std::vector<std::string> names;
  if (w.items > 0) return {"a", "b"};  // a's items are steps of their own, not names of the workflow
  for (int i = 0; i < w.steps_per_run; ++i) names.emplace_back(1, static_cast<char>('a' + i));
  return names;
}

// noop, three-step, io: enqueue everything, then start the workers and drain.
asio::awaitable<Json> bulk(const BenchArgs& a, const Workload& w, BenchEnv& env, store::Store& store,
                           Probe& probe) {
  const int runs = a.runs > 0 ? a.runs : w.default_runs;
  const int conc = a.concurrency > 0 ? a.concurrency : w.default_concurrency;
  const std::string wf = "bench-" + w.name;
  // io --kind http: every step is a GET the local upstream answers step_ms
  // after it came; the workers hold them all on their event loops.
  std::unique_ptr<DelayServer> upstream;
  if (w.name == "io" && a.kind == "http") {
    raise_open_files_limit();  // the upstream's side of every connection
    upstream = std::make_unique<DelayServer>(milliseconds(a.step_ms));
  }
  const std::string yaml = env.write_workflows(w, upstream ? upstream->port() : 0);
  const std::int64_t steps = static_cast<std::int64_t>(runs) * w.steps_per_run;

  co_await probe.reset_stats();
  const auto t0 = Clock::now();
  co_await enqueue(store, wf, step_names(w), runs, a.submitters, w.graph, w.items, a.fair_keys);
  const double enqueue_s = seconds_since(t0);
  double enqueue_cmds = 0;
  const auto enqueue_calls = co_await probe.engine_calls();
  const Json enqueue_by = calls_per(enqueue_calls, runs, &enqueue_cmds);
  const auto enqueue_usec = co_await probe.engine_usec();

  env.start_workers(yaml, a.workers, conc);
  // The drain is timed from the workers' registration (their first command
  // after connecting), not from exec: process start-up is not throughput.
  co_await probe.wait_registered(a.workers, env);
  co_await probe.reset_stats();
  const double redis_cpu0 = co_await probe.redis_cpu_seconds();
  const auto t1 = Clock::now();
  // The middle 80% of the drain: a finite run's first and last cycles (slots
  // filling, the last steps finishing one by one) are not its steady rate.
  std::vector<Probe::Mark> marks{{runs / 10, {}}, {runs - runs / 10, {}}};
  co_await probe.wait_counter("completed:" + wf, runs, milliseconds(std::max<std::int64_t>(120000, steps)), env,
                              &marks);
  const double drain_s = seconds_since(t1);
  const double redis_cpu = co_await probe.redis_cpu_seconds() - redis_cpu0;
  const double worker_cpu = env.workers_cpu_seconds();
  double drain_cmds = 0;
  const auto drain_calls = co_await probe.engine_calls();
  const Json drain_by = calls_per(drain_calls, static_cast<double>(steps), &drain_cmds);
  const auto drain_usec = co_await probe.engine_usec();
  const double rss = env.workers_peak_rss_mb();
  const double anon = env.workers_anon_rss_mb();
  const int threads = env.workers_most_threads();
  const std::int64_t failed = co_await probe.counter("failed:" + wf);
  env.stop_children();

  Json j;
  j["workload"] = w.name;
  j["runs"] = runs;
  j["steps"] = steps;
  j["workers"] = a.workers;
  j["concurrency"] = conc;
  if (a.fair_keys > 0) j["fair_keys"] = a.fair_keys;
  j["enqueue_per_s"] = round_to(runs / enqueue_s, 0);
  j["drain_per_s"] = round_to(static_cast<double>(steps) / drain_s, 0);
  j["runs_per_s"] = round_to(runs / drain_s, 0);
  j["drain_seconds"] = round_to(drain_s, 3);
  j["p50_ms"] = nullptr;
  j["p99_ms"] = nullptr;
  if (w.name == "io") {
    const double ideal = a.workers * conc * 1000.0 / a.step_ms;
    j["kind"] = a.kind;
    j["ideal_per_s"] = ideal;
    j["of_ideal"] = round_to(runs / drain_s / ideal, 3);
    if (marks[0].at && marks[1].at && *marks[1].at > *marks[0].at) {
      const double middle_s = std::chrono::duration<double>(*marks[1].at - *marks[0].at).count();
      const double middle_per_s = static_cast<double>(marks[1].value - marks[0].value) / middle_s;
      j["steady_runs_per_s"] = round_to(middle_per_s, 0);
      j["steady_of_ideal"] = round_to(middle_per_s / ideal, 3);
    }
    if (upstream) {
      // The most requests the upstream held at once: the calls in flight together.
      j["upstream_most_in_flight"] = upstream->most_waiting();
      j["upstream_answered"] = upstream->answered();
      j["upstream_connections"] = upstream->connections();
      j["upstream_mean_reuse_gap_ms"] = round_to(upstream->mean_reuse_gap_ms(), 2);
    }
  }
  j["failed"] = failed;
  // CPU per step, whatever else the machine does: the ceiling on N cores is
  // about N / (worker + redis) steps per second.
  j["worker_cpu_us_per_step"] = round_to(worker_cpu * 1e6 / static_cast<double>(steps), 2);
  j["redis_cpu_us_per_step"] = round_to(redis_cpu * 1e6 / static_cast<double>(steps), 2);
  j["redis_commands_per_step"] = round_to(drain_cmds, 2);
  j["redis_commands_per_step_by_command"] = drain_by;
  // The run indexes' writes (CONTRACTS.md §5: on run-level changes only): in
  // these workloads every ZADD of the enqueue is one (submit.lua adds the run
  // to 'all', its workflow and 'live') and every ZREM of the drain is one
  // (complete.lua takes it out of 'live'; the drain's ZADD is the retention
  // end, not an index). Redis' time in those commands, per step.
  const auto count_of = [](const std::map<std::string, std::int64_t>& m, const char* c) {
    const auto it = m.find(c);
    return it == m.end() ? std::int64_t{0} : it->second;
  };
  const auto per_step = [&](std::int64_t v) { return round_to(static_cast<double>(v) / static_cast<double>(steps), 3); };
  j["index_write_redis_us_per_step"] = per_step(count_of(enqueue_usec, "zadd") + count_of(drain_usec, "zrem"));
  j["index_write_redis_us_per_step_in_drain"] = per_step(count_of(drain_usec, "zrem"));
  j["index_writes_per_step"] = per_step(count_of(enqueue_calls, "zadd") + count_of(drain_calls, "zrem"));
  j["enqueue_redis_commands_per_run"] = round_to(enqueue_cmds, 2);
  j["enqueue_redis_commands_by_command"] = enqueue_by;
  j["worker_rss_mb"] = round_to(rss, 1);
  // Of which the worker's own (heap, stacks); the rest is shared library pages.
  j["worker_anon_rss_mb"] = round_to(anon, 1);
  // At the end of the drain (the pool's threads, once started, stay).
  j["worker_threads"] = threads;
  co_return j;
}

// latency: submit -> handler start on an idle queue, one run at a time; and
// each submit's own time until acknowledged (with --wait-replicas, replicated).
// A submit that fails on the connection (a node lost, a failover under way)
// is sent again every 20 ms with the same idempotency key, as a careful
// client would, until it succeeds or 60 s have passed: its submit time and
// its time to start then include the outage (bench/cluster_failover.sh).
asio::awaitable<Json> latency(const BenchArgs& a, const Workload& w, BenchEnv& env, store::Store& store,
                              Probe& probe) {
  const int runs = a.runs > 0 ? a.runs : w.default_runs;
  const int conc = a.concurrency > 0 ? a.concurrency : w.default_concurrency;
  const std::string wf = "bench-" + w.name;
  env.start_workers(env.write_workflows(w), a.workers, conc);
  // Ready when every worker has registered and is blocked in its read.
  co_await probe.wait_registered(a.workers, env);
  co_await pause(milliseconds(300));
  co_await probe.reset_stats();
  const auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  };
  std::vector<std::pair<std::string, std::int64_t>> sent;  // run id, its first attempt's time
  std::vector<double> submit_ms;
  std::int64_t resent = 0;
  std::string last_error;
  for (int i = 0; i < runs; ++i) {
    store::SubmitRequest req;
    req.workflow = wf;
    req.input = Json{{"i", i}};
    req.steps = step_names(w);
    req.first_queue = "default";
    req.idempotency_key = "bench-latency-" + std::to_string(i);
    const std::int64_t t = now_ns();
    std::optional<store::SubmitResult> submitted;
    while (!submitted) {
      try {
        submitted = co_await store.submit(req);
      } catch (const redis::Error& e) {
        if (now_ns() - t > 60'000'000'000) throw;
        ++resent;
        last_error = e.what();
      }
      if (!submitted) co_await pause(milliseconds(20));
    }
    submit_ms.push_back(static_cast<double>(now_ns() - t) / 1e6);
    sent.emplace_back(submitted->run_id, t);
    co_await pause(std::chrono::microseconds(a.interval_us));
    env.check_children();
  }
  co_await probe.wait_counter("completed:" + wf, runs, milliseconds(60000), env);
  double drain_cmds = 0;
  const auto drain_calls = co_await probe.engine_calls();
  const Json drain_by = calls_per(drain_calls, runs, &drain_cmds);
  std::vector<double> ms;
  for (const auto& [id, t] : sent) {
    probe.count_own("hgetall");
    const std::optional<RunInfo> run = co_await store.get_run(id);
    const Json j = run && !run->steps.empty() ? run->steps.front().output : Json();
    if (!j.is_object() || !j.contains("started_ns")) throw std::runtime_error("run " + id + " has no stamp output");
    ms.push_back(static_cast<double>(j["started_ns"].get<std::int64_t>() - t) / 1e6);
  }
  if (!a.latencies_file.empty()) {
    // One line per run: when it was first sent (ms after the first run's),
    // its submit's time, its submit-to-start time, its partition.
    std::ofstream out(a.latencies_file);
    out << "sent_ms,submit_ms,start_ms,partition\n";
    for (std::size_t i = 0; i < sent.size(); ++i) {
      out << static_cast<double>(sent[i].second - sent.front().second) / 1e6 << ',' << submit_ms[i] << ',' << ms[i]
          << ',' << store.keys().partition_of(sent[i].first) << '\n';
    }
    if (!out) throw std::runtime_error("cannot write " + a.latencies_file);
  }
  const double rss = env.workers_peak_rss_mb();
  env.stop_children();
  Json j;
  j["workload"] = w.name;
  j["runs"] = runs;
  j["steps"] = runs;
  j["workers"] = a.workers;
  j["concurrency"] = conc;
  j["p50_ms"] = round_to(quantile(ms, 0.50), 3);
  j["p99_ms"] = round_to(quantile(ms, 0.99), 3);
  j["p999_ms"] = round_to(quantile(ms, 0.999), 3);
  j["max_ms"] = round_to(quantile(ms, 1.0), 3);
  j["submit_p50_ms"] = round_to(quantile(submit_ms, 0.50), 3);
  j["submit_p99_ms"] = round_to(quantile(submit_ms, 0.99), 3);
  j["submit_max_ms"] = round_to(quantile(submit_ms, 1.0), 3);
  j["wait_replicas"] = a.replica_wait.replicas;
  j["submits_resent"] = resent;
  if (resent > 0) j["last_submit_error"] = last_error;
  j["redis_commands_per_step"] = round_to(drain_cmds, 2);
  j["redis_commands_per_step_by_command"] = drain_by;
  j["worker_rss_mb"] = round_to(rss, 1);
  co_return j;
}

Json load_phase_json(LoadResult r) {
  Json j;
  j["requests"] = r.requests;
  j["ok"] = r.ok;
  j["errors"] = r.errors;
  j["req_per_s"] = round_to(static_cast<double>(r.ok) / r.seconds, 0);
  j["p50_ms"] = round_to(quantile(r.latencies_ms, 0.50), 3);
  j["p99_ms"] = round_to(quantile(r.latencies_ms, 0.99), 3);
  j["p999_ms"] = round_to(quantile(r.latencies_ms, 0.999), 3);
  return j;
}

// Redis' own CPU time so far (INFO cpu), seconds, over a connection of its own.
double redis_cpu_seconds(const std::string& url) {
  asio::io_context io(1);
  redis::Client client(io.get_executor(), redis::Config::from_url(url));
  return run_sync(io, [&]() -> asio::awaitable<double> {
    co_await client.wait_connected(milliseconds(10000));
    const double seconds = co_await store::server_cpu_seconds(client);
    client.close();
    co_return seconds;
  }());
}

// The body of one submit request: one run, or `batch` runs for runs:batch.
std::string submit_body(int batch) {
  const Json run = {{"input", {{"document_id", "d-1"}}}};
  if (batch <= 1) return run.dump();
  Json runs = Json::array();
  for (int i = 0; i < batch; ++i) runs.push_back(run);
  return Json{{"runs", runs}}.dump();
}

// http: keep-alive submit load against `steadfast serve`, at saturation and
// at the fixed offered rate; single submits, or `--batch` runs per request.
Json http(const BenchArgs& a, const Workload& w, BenchEnv& env) {
  const int port = free_port();
  env.start_serve(env.write_workflows(w), port);
  const auto ready_by = Clock::now() + std::chrono::seconds(15);
  for (;;) {
    env.check_children();
    LoadSpec probe{"127.0.0.1", port, "/healthz", "", 1, milliseconds(1), 0};
    try {
      if (run_http_load(probe).requests > 0) break;
    } catch (const std::runtime_error&) {
    }
    if (Clock::now() > ready_by) throw std::runtime_error("steadfast serve did not start; see " + env.dir());
    std::this_thread::sleep_for(milliseconds(50));
  }
  LoadSpec spec;
  spec.port = port;
  spec.target = "/v1/workflows/bench-" + w.name + (a.batch > 1 ? "/runs:batch" : "/runs");
  spec.body = submit_body(a.batch);
  spec.connections = a.connections;
  spec.duration = milliseconds(static_cast<long long>(a.seconds * 1000));
  // A short warm-up so connections, scripts and allocators are in place.
  spec.duration = milliseconds(500);
  (void)run_http_load(spec);
  spec.duration = milliseconds(static_cast<long long>(a.seconds * 1000));
  const double cpu0 = redis_cpu_seconds(env.url());
  Json sat = load_phase_json(run_http_load(spec));
  const double sat_cpu = redis_cpu_seconds(env.url()) - cpu0;
  spec.rate_per_s = a.rate;
  Json fixed = load_phase_json(run_http_load(spec));
  env.check_children();
  env.stop_children();
  Json j;
  j["workload"] = w.name;
  j["connections"] = a.connections;
  j["batch"] = a.batch;
  j["runs"] = (sat["requests"].get<std::int64_t>() + fixed["requests"].get<std::int64_t>()) * a.batch;
  j["req_per_s"] = sat["req_per_s"];
  j["runs_per_s"] = round_to(sat["req_per_s"].get<double>() * a.batch, 0);
  const auto sat_runs = static_cast<double>(sat["ok"].get<std::int64_t>() * a.batch);
  j["redis_us_per_run"] = sat_runs > 0 ? Json(round_to(sat_cpu * 1e6 / sat_runs, 2)) : Json(nullptr);
  j["p50_ms"] = sat["p50_ms"];
  j["p99_ms"] = sat["p99_ms"];
  j["saturation"] = sat;
  j["fixed_rate"] = fixed;
  j["fixed_rate"]["offered_per_s"] = a.rate;
  return j;
}

// Enqueues `runs` runs with store::submit_many, `in_flight` batches of
// `batch` runs at once on the one connection (as Client::submit_many and the
// HTTP batch endpoint do).
asio::awaitable<void> enqueue_batched(store::Store& store, const std::string& workflow,
                                      const std::vector<std::string>& steps, int runs, int batch, int in_flight) {
  int next = 0;
  int finished = 0;
  std::exception_ptr failure;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer all_done(ex, Clock::time_point::max());
  const auto one = [&]() -> asio::awaitable<void> {
    while (next < runs && !failure) {
      const int n = std::min(batch, runs - next);
      std::vector<store::SubmitRequest> requests(static_cast<std::size_t>(n));
      for (int k = 0; k < n; ++k) {
        store::SubmitRequest& req = requests[static_cast<std::size_t>(k)];
        req.workflow = workflow;
        req.input = Json::object();  // (no braced Json in a coroutine lambda: GCC 12)
        req.input["i"] = next + k;
        req.steps = steps;
        req.first_queue = "default";
      }
      next += n;
      const auto out = co_await store::submit_many(store, requests);
      for (const store::SubmitOutcome& o : out) {
        if (o.state != store::SubmitOutcome::State::created) throw std::runtime_error("a batched submit was refused");
      }
    }
  };
  for (int s = 0; s < in_flight; ++s) {
    asio::co_spawn(ex, one(), [&](std::exception_ptr e) {
      if (e && !failure) failure = e;
      if (++finished == in_flight) all_done.cancel();
    });
  }
  while (finished < in_flight) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  if (failure) std::rethrow_exception(failure);
}

// submit: the enqueue alone, single submits (`--submitters` at once, the way
// `noop` enqueues) against batches (store::submit_many, 1,000 runs per batch,
// 4 batches at once), the same number of runs each, in one run: runs/s and
// Redis CPU per run (INFO cpu) for both. No workers.
asio::awaitable<Json> submit_rates(const BenchArgs& a, const Workload& w, store::Store& store, Probe& probe) {
  const int runs = a.runs > 0 ? a.runs : w.default_runs;
  const std::string wf = "bench-" + w.name;
  const std::vector<std::string> steps = step_names(w);
  Json j;
  j["workload"] = w.name;
  j["runs"] = runs;
  for (const bool batched : {false, true}) {
    co_await probe.reset_stats();
    const double cpu0 = co_await probe.redis_cpu_seconds();
    const auto t0 = Clock::now();
    if (batched) {
      co_await enqueue_batched(store, wf, steps, runs, 1000, 4);
    } else {
      co_await enqueue(store, wf, steps, runs, a.submitters);
    }
    const double took = seconds_since(t0);
    const double cpu = co_await probe.redis_cpu_seconds() - cpu0;
    const std::string k = batched ? "batch" : "single";
    j[k + "_per_s"] = round_to(runs / took, 0);
    j[k + "_redis_us_per_run"] = round_to(cpu * 1e6 / runs, 2);
  }
  j["batch_over_single"] = round_to(j["batch_per_s"].get<double>() / j["single_per_s"].get<double>(), 2);
  j["p50_ms"] = nullptr;
  j["p99_ms"] = nullptr;
  co_return j;
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure a workload; prints one JSON line (docs/benchmarks.md)");
  auto a = std::make_shared<BenchArgs>();
  cmd->add_option("workload", a->workload, "noop | three-step | diamond | fanout | io | latency | http | submit")
      ->required()
      ->check(CLI::IsMember({"noop", "three-step", "diamond", "fanout", "io", "latency", "http", "submit"}));
  cmd->add_option("--redis", a->redis_url,
                  "Redis URL to use (keys under a prefix of the bench's own); default: a private redis-server");
  cmd->add_option("--runs", a->runs, "Runs to submit (default: per workload)")->check(CLI::Range(1, 100000000));
  cmd->add_option("--concurrency", a->concurrency, "Steps at once per worker (default: per workload)")
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--workers", a->workers, "Worker processes")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--partitions", a->partitions,
                  "Partitions of the bench's key space (0 = 1 on one Redis, 12 on a Redis Cluster)")
      ->capture_default_str()
      ->check(CLI::Range(0, 16384));
  cmd->add_option("--submitters", a->submitters, "Concurrent submits while enqueuing")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_flag("--aof", a->aof, "Private Redis with appendonly yes, appendfsync everysec");
  cmd->add_option("--step-ms", a->step_ms, "io: each step's sleep (sleep, exec), or the local upstream's delay (http)")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  cmd->add_option("--kind", a->kind, "io: the step kind, sleep (a handler thread per step), http (a GET of a local "
                                     "upstream, on the event loop) or exec (sh -c \"sleep; echo null\" per step)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sleep", "http", "exec"}));
  cmd->add_option("--interval-us", a->interval_us, "latency: gap between submits")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000000));
  cmd->add_option("--connections", a->connections, "http: keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--rate", a->rate, "http: fixed offered rate, requests/s")->capture_default_str()->check(CLI::Range(1.0, 1e7));
  cmd->add_option("--seconds", a->seconds, "http: length of each phase")->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--fair-keys", a->fair_keys,
                  "noop, three-step: an ordered queue with a fairness key, run i's tenant i mod K (0 = FIFO)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000000));
  add_replica_wait_options(*cmd, a->replica_wait);
  cmd->add_option("--latencies", a->latencies_file,
                  "latency: write every run's send time, submit time, submit-to-start time and partition "
                  "to this CSV file");
  cmd->add_option("--batch", a->batch, "http: runs per request (more than 1: POST .../runs:batch)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->final_callback([a] {
    const Workload& w = *find_workload(a->workload);
    if (a->fair_keys > 0 && (w.name == "http" || w.name == "latency" || w.name == "submit")) {
      throw std::invalid_argument("--fair-keys applies to the drain workloads (noop, three-step, diamond, fanout, io), "
                                  "not to " + w.name);
    }
    if (a->replica_wait.replicas > 0 && w.name == "http") {
      throw std::invalid_argument("--wait-replicas: give it to the serve under test; the http workload starts its own");
    }
    BenchEnv env(*a);
    Json result;
    if (w.name == "http") {
      result = http(*a, w, env);
    } else {
      asio::io_context io(1);
      redis::Client client(io.get_executor(), redis::Config::from_url(env.url()));
      const store::KeySpace keys = store::KeySpace::for_redis(client.config(), env.prefix(), a->partitions);
      store::Store store(client, keys);
      store.set_replica_wait({a->replica_wait.replicas, config::parse_duration(a->replica_wait.timeout)});
      Probe probe(store);
      result = run_sync(io, [&]() -> asio::awaitable<Json> {
        co_await client.wait_connected(milliseconds(10000));
        // (No co_await inside ?: — GCC 12 miscompiles it.)
        Json j;
        std::exception_ptr failed;
        try {
          if (w.name == "latency") {
            j = co_await latency(*a, w, env, store, probe);
          } else if (w.name == "submit") {
            j = co_await submit_rates(*a, w, store, probe);
          } else {
            j = co_await bulk(*a, w, env, store, probe);
          }
          if (!env.private_redis()) {
            // Leave a shared Redis as it was: drop every key of the bench's prefix.
            co_await store::delete_key_space(client, keys);
          }
        } catch (...) {
          failed = std::current_exception();
        }
        // An open client keeps the io_context running: close it on a failure
        // too, or the bench would hang instead of saying what went wrong.
        client.close();
        if (failed) std::rethrow_exception(failed);
        co_return j;
      }());
    }
    result["redis"] = env.private_redis() ? (a->aof ? "private, AOF everysec" : "private, no persistence")
                                          : "given";
    std::cout << result.dump() << std::endl;
  });
}

}  // namespace steadfast::cli
