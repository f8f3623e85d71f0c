// The client side of steadfast: submit runs, read them, cancel them, manage the
// dead-letter queue. Synchronous calls over a private I/O thread.
//
// Thread-safety: every method is thread-safe; calls from several threads are
// pipelined on one Redis connection.
#pragma once

#include <chrono>
#include <map>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "steadfast/json.h"
#include "steadfast/queue_order.h"
#include "steadfast/run.h"
#include "steadfast/workflow.h"

namespace steadfast {

struct ClientOptions {
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string key_prefix = "sf";
  int partitions = 0;  // must match the workers'; 0 = 1 on one Redis, 12 on a Redis Cluster
  // Cancelled runs expire this long after they end. Zero = never.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  // Who this client's operator actions (cancel, replay, purge) are in the
  // audit log; empty = "client:<user>@<host>".
  std::string actor;
  // Time one call may take, including waiting for Redis to come back. Zero = no limit.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // Acknowledged means replicated: submit and submit_many return only once
  // this many replicas have the new runs (Redis WAIT on the same
  // connection), or throw NotReplicatedError after wait_replicas_timeout
  // (at least 1 ms). 0 = return once the primary has them.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_replicas_timeout{std::chrono::seconds(1)};
};

struct SubmitOptions {
  // String pairs to find the run by later (the run list's and DLQ purge's
  // filters): at most 16, keys ^[A-Za-z0-9_.-]{1,64}$, values at most 256
  // bytes (std::invalid_argument otherwise). Part of what an idempotent repeat must match.
  std::map<std::string, std::string> metadata;
  // A repeated submit of the same workflow with the same key and the same input
  // (within idempotency_ttl of the first) returns the run of the first one; with
  // another input it throws IdempotencyConflictError. Keys are scoped per
  // workflow. Printable ASCII without spaces, 1-256 chars; empty = none.
  std::string idempotency_key;
  std::chrono::milliseconds idempotency_ttl{std::chrono::hours(24)};
  // Refuse (BacklogFullError) when the first queue holds this many entries; 0 = no bound.
  // A delayed run is not counted against it until it starts.
  std::int64_t max_backlog = 0;
  // Start later: after `delay` (from Redis time at submit; 0 = at once; at
  // most 365 days), or at `run_at` (by Redis time; at most 1 s in the past —
  // then it starts at once — and 365 days ahead). At most one of the two
  // (std::invalid_argument otherwise, and for a negative or too long delay; a
  // run_at out of range throws std::invalid_argument from Redis' answer).
  // Until then the run is `scheduled`, holds no entry in any queue, and can
  // be cancelled; it starts within about 100 ms of its time while a worker
  // (or `serve`) runs. Part of what an idempotent repeat must match.
  std::chrono::milliseconds delay{0};
  std::optional<std::chrono::system_clock::time_point> run_at;
  // 0 (lowest) to 9 (highest; std::invalid_argument otherwise). On a queue
  // declared with priorities or fairness (QueueOrder) a higher priority is
  // handed out first; elsewhere it is only recorded. Part of what an
  // idempotent repeat must match.
  int priority = kDefaultPriority;
};

struct Submitted {
  std::string run_id;
  bool created = true;  // false: an earlier submit with the same idempotency key made it
  // When a created run with a delay or run_at starts, Unix ms (Redis time);
  // 0 = it was queued at once (or not created).
  std::int64_t run_at_ms = 0;
};

// One run of a batch (Client::submit_many): a single submit's input and options.
struct SubmitItem {
  Json input;
  SubmitOptions options;
};

// What became of one item of a batch: a run (created, or the run of an
// earlier submit with its idempotency key and the same request), or a refusal
// that wrote nothing.
struct BatchSubmitted {
  std::string run_id;          // empty when refused
  bool created = false;
  std::int64_t run_at_ms = 0;  // as Submitted::run_at_ms
  // Empty unless refused, else why: the input (bounds, input_schema,
  // max_input_bytes), the options (metadata, key, delay, run_at), an
  // idempotency conflict (naming the run), or a full backlog.
  std::string error;
};

// The workflow is not known: no worker has registered it and the client was
// not given it (register_workflow).
class UnknownWorkflowError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The input does not match the workflow's input_schema. what() lists every
// violation ("/input/url: is required"); violations() has them one by one.
class InvalidInputError : public std::invalid_argument {
 public:
  struct Violation {
    std::string pointer;  // JSON pointer into the submit body: "/input/url"
    std::string detail;
  };
  InvalidInputError(const std::string& what, std::vector<Violation> violations)
      : std::invalid_argument(what), violations_(std::move(violations)) {}
  [[nodiscard]] const std::vector<Violation>& violations() const noexcept { return violations_; }

 private:
  std::vector<Violation> violations_;
};

// The idempotency key was used (within its lifetime) for a submit of the same
// workflow with a different input. run_id() is the first submit's run.
class IdempotencyConflictError : public std::runtime_error {
 public:
  IdempotencyConflictError(const std::string& what, std::string run_id)
      : std::runtime_error(what), run_id_(std::move(run_id)) {}
  [[nodiscard]] const std::string& run_id() const noexcept { return run_id_; }

 private:
  std::string run_id_;
};

// Client::wait: the run had not ended when the timeout passed.
class WaitTimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Load shedding: the queue's backlog is over the submit's bound.
class BacklogFullError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ClientOptions::wait_replicas: fewer replicas than asked acknowledged a
// submit's writes in time. The runs were written to the primary — runs()
// holds every item's answer as submit_many would have returned it (one item
// for submit) — but a failover now could lose them: submit again with the
// same idempotency key(s) to be sure, which never makes a second run.
class NotReplicatedError : public std::runtime_error {
 public:
  NotReplicatedError(const std::string& what, std::vector<BatchSubmitted> runs)
      : std::runtime_error(what), runs_(std::move(runs)) {}
  [[nodiscard]] const std::vector<BatchSubmitted>& runs() const noexcept { return runs_; }
  // The first item's run id (submit's run).
  [[nodiscard]] std::string run_id() const { return runs_.empty() ? std::string() : runs_.front().run_id; }

 private:
  std::vector<BatchSubmitted> runs_;
};

class Client {
 public:
  // Connects lazily; throws std::invalid_argument for a bad URL.
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Makes a workflow's shape (steps, queues) known in Redis, for submits from
  // anywhere. Workers do this for their workflows when they start. The queue
  // settings a worker recorded (max_backlog, ordered queues) are kept for the
  // queues the workflow still uses: they are the workers' to set.
  void register_workflow(const Workflow& workflow);

  // Creates a run. Throws UnknownWorkflowError, InvalidInputError (the input
  // does not match the workflow's input_schema), std::invalid_argument (bad
  // input: over 1 MiB, bad idempotency key), IdempotencyConflictError,
  // BacklogFullError, NotReplicatedError (with wait_replicas), or a Redis
  // error (std::runtime_error) when Redis is unreachable past the timeout.
  Submitted submit(const std::string& workflow, const Json& input, const SubmitOptions& options = {});
  // Submits many runs of one workflow in one round trip (one script call per
  // partition and 200 runs): the answers in item order, each on its own — an
  // item refused (see BatchSubmitted::error) writes nothing and never stops
  // the others. Throws only what stops every item: a bad or unknown workflow
  // name (UnknownWorkflowError), Redis unreachable (then some runs may
  // exist: items with an idempotency key can be submitted again safely),
  // too few replicas in time (NotReplicatedError, with every item's answer).
  std::vector<BatchSubmitted> submit_many(const std::string& workflow, const std::vector<SubmitItem>& items);

  // nullopt when no such run (never existed, or expired after its retention).
  std::optional<RunInfo> get_run(const std::string& run_id);

  // Items [offset, offset + limit) of map step `step` of the run, limit at
  // most kMaxItemsPage; nullopt when no such run. Throws
  // std::invalid_argument when `step` is no map step of the run whose list
  // is known yet.
  std::optional<MapItemsPage> map_items(const std::string& run_id, const std::string& step, std::int64_t offset = 0,
                                        std::int64_t limit = 100);

  // Polls until the run is completed, failed or cancelled; throws
  // WaitTimeoutError after `timeout`, std::runtime_error if the run does not exist.
  RunInfo wait(const std::string& run_id, std::chrono::milliseconds timeout);

  // "cancelled" (it was waiting), "cancelling" (its worker stops it shortly),
  // "terminal:<status>" (already finished: nothing done), "missing".
  std::string cancel(const std::string& run_id);

  // Sends the signal `name` with `body` (the waiting step's output; at most
  // 64 KiB as JSON) to a run, as POST /v1/runs/{id}/signals/{name} does:
  // "delivered" (a step waiting on the name takes it), "kept" (the first
  // wait on the name will take it; a run keeps at most 100), "repeat" (this
  // idempotency key was seen: nothing done), "missing" (no such run),
  // "ended:<status>", "unknown:<why>" (no wait step of the run's workflow
  // waits on the name) or "full:<why>". Writes a `signal` audit entry when
  // delivered or kept. Throws std::invalid_argument for a bad run id, signal
  // name, idempotency key, or a body over 64 KiB.
  std::string signal(const std::string& run_id, const std::string& name, const Json& body,
                     const std::string& idempotency_key = {});

  // Starts a new run of `run_id`'s workflow that keeps the outputs of every
  // step before `from_step` (byte for byte) and runs `from_step` and every
  // later step again, with `input` (checked as submit checks it) or, without one, the source run's input. The new run carries the
  // source's metadata; the source run is left as it is, whatever its status.
  // Writes a `rerun` audit entry. Returns the new run's id. Throws
  // std::invalid_argument for a bad or unknown run id, a step that is not the
  // run's (naming its steps), a kept step that has not completed in the
  // source, a bad input; InvalidInputError, UnknownWorkflowError as submit.
  std::string rerun(const std::string& run_id, const std::string& from_step,
                    const std::optional<Json>& input = std::nullopt);

  std::vector<DeadLetter> dead_letters(std::size_t limit = 100);
  // Restarts a dead-lettered run from its failed step (by dead-letter entry id
  // or run id), keeping the outputs of earlier steps; returns the run id.
  std::string replay(const std::string& id);
  // Deletes every dead-letter entry and its run; returns how many.
  std::size_t purge_dead_letters();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steadfast
