// A worker process's engine: reads steps from the queues it serves, runs their
// handlers on a bounded pool, checkpoints every outcome in Redis.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "steadfast/queue_order.h"
#include "steadfast/schedule.h"
#include "steadfast/workflow.h"

namespace steadfast {

class TaskBroker;  // src/worker/task_broker.h

struct WorkerOptions {
  std::string redis_url = "redis://127.0.0.1:6379";
  // Consumer name in the queues' group; one live process per id. Empty =
  // "<hostname>-<pid>". A worker restarted under the same id takes back the
  // entries it held at once; a second live worker with an id in use is refused.
  std::string id;
  int concurrency = 8;               // handlers running at once (pool threads)
  std::vector<std::string> queues;   // empty = every queue of the workflows given
  // On stop (SIGTERM, SIGINT, stop()): time to let running handlers finish;
  // what is left then is handed back for another worker at once.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(30)};
  // Completed and cancelled runs expire this long after they end. Zero = never.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  std::string key_prefix = "sf";
  int partitions = 0;  // as every process of the deployment; 0 = 1 on one Redis, 12 on a Redis Cluster
  // Global limiters the steps may name in StepOptions::limit (every worker
  // using a limiter must declare it the same way).
  std::vector<LimitSpec> limits;
  // Load shedding: queue -> the backlog at which submits are refused. Recorded
  // with the workflows' definitions, so submits from anywhere enforce it.
  std::map<std::string, std::int64_t> max_backlog;
  // Ordered queues: queue -> how it hands out steps (priorities, fairness;
  // include/steadfast/queue_order.h). Recorded with the workflows'
  // definitions, so that submits from anywhere give runs their place; the
  // worker moves an ordered queue's steps from its backlog into the stream
  // as it has free slots. Queues not named are FIFO.
  std::map<std::string, QueueOrder> queue_order;
  // Start even if Redis' maxmemory-policy is not noeviction (evicting a run's
  // keys loses the run). Off: such a Redis is refused.
  bool allow_eviction = false;
  // A claimed step whose workflow or step this worker does not have (a fleet
  // mid-deploy) is handed back without spending an attempt, for a worker that
  // has it; once no live worker serving its queue has had the handler for
  // this long, the run is dead-lettered. Zero = dead-letter at once.
  std::chrono::milliseconds no_handler_grace{std::chrono::minutes(10)};
  bool handle_signals = true;  // install SIGTERM/SIGINT handlers while run() runs
  // Cron schedules of this worker's workflows, published at start: they
  // replace every published schedule of these workflows (so one removed
  // here stops), and leave the schedules of other workflows alone. nullopt:
  // publish nothing (the published schedules stay as they are).
  std::optional<std::vector<Schedule>> schedules;
  // Run the cron scheduler: fire the due ticks of every published schedule
  // (any number of workers and servers may; each tick makes one run).
  bool run_scheduler = true;
  // Callback URLs of signal waits ({{steps.<wait>.callback_url}},
  // StepContext::callback_url): how third parties reach a `serve`
  // ("https://sf.example.com") and the signing key file every `serve`
  // verifies with (engine/callback_signing.h has its format). Both or
  // neither; without them a template reading a callback URL fails its attempt.
  std::string public_url;
  std::string signing_key_file;
  // `serve`'s task worker: serves the task queues (steps of kind task,
  // StepDefinition::task) only, claiming no more of them than external
  // workers ask for and handing them over through this broker
  // (docs/worker-protocol.md). Null (any other worker): task queues are
  // left out of the queues served, and naming one is refused.
  std::shared_ptr<TaskBroker> tasks;
};

struct WorkerStats {
  std::uint64_t started = 0;     // attempts begun
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;      // attempts that ended in an error or timeout
  std::uint64_t stale = 0;       // outcomes refused because the lease was lost
  std::uint64_t reclaimed = 0;   // entries taken over from other (dead) workers
  std::uint64_t handed_back = 0; // entries released: at shutdown, or for want of a handler here
  std::uint64_t limiter_waits = 0;  // admissions refused (the step waited, keeping its lease)
  // Steps parked while their limiter refused them (handed back for later,
  // holding no slot; also counted in handed_back)
  std::uint64_t limiter_parked = 0;
  std::uint64_t limiter_pauses = 0; // 429s with Retry-After that paused a limiter for all workers
  // Entries delivered again while in flight here (a reclaim, a read rolled
  // back by a failover): never run twice; see the worker's handle_claims.
  std::uint64_t redelivered = 0;
  std::uint64_t reclaim_errors = 0;  // reclaim passes that failed (logged at most once per 10 s)
  std::uint64_t promote_errors = 0;  // promote calls that failed (logged at most once per 10 s)
  // Task steps handed over to external workers (a task worker's, inside `serve`).
  std::uint64_t handed_over = 0;
};

class Worker {
 public:
  // Throws std::invalid_argument for bad options or workflows.
  Worker(WorkerOptions options, std::vector<Workflow> workflows);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs on the calling thread until stop() or a signal; then drains. Returns 0
  // after a clean stop; throws std::runtime_error naming the cause when the
  // worker cannot start (Redis unreachable, id in use) or must stop (consumer
  // group deleted, registration lost).
  int run();

  // Begins the drain. Thread-safe; may be called from a signal-free context at any time.
  void stop();

  // Counters since run() began. Thread-safe.
  [[nodiscard]] WorkerStats stats() const;
  [[nodiscard]] const std::string& id() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steadfast
