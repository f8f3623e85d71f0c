// The store: every read and transition of runs in Redis, as coroutines over the
// shared redis::Client. Transitions are the Lua scripts of lua/ (atomic; each
// refuses a stale token). No decisions here: the worker decides (engine/
// lifecycle.h) and the store applies.
//
// Thread-safety: as redis::Client — call from the client's executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/lifecycle.h"
#include "engine/run_filter.h"
#include "engine/run_metadata.h"
#include "steadfast/queue_order.h"
#include "engine/start_time.h"
#include "redis/client.h"
#include "steadfast/run.h"
#include "steadfast/step.h"
#include "store/keys.h"
#include "store/local_actor.h"
#include "store/run_index.h"
#include "store/run_view.h"

namespace steadfast::store {

namespace asio = boost::asio;

// Dead-letter entries per purge script call: one call never holds Redis for
// long, however long the dead-letter queue.
inline constexpr std::size_t kPurgeBatch = 500;

// {"<name>": value}: an audit entry's detail. (A function, not a braced
// Json{{...}}, which GCC 12 refuses inside coroutine lambdas.)
template <typename V>
[[nodiscard]] Json audit_detail(const char* name, const V& value) {
  Json j = Json::object();
  j[name] = value;
  return j;
}

// Entries the audit log keeps (about: trimmed with MAXLEN ~).
inline constexpr long long kAuditEntries = 10000;

// Largest input or output JSON a run may carry (bytes, serialized).
inline constexpr std::size_t kMaxPayloadBytes = 1 << 20;

struct SubmitRequest {
  std::string workflow;
  Json input;
  std::vector<std::string> steps;  // step names in order; the first is enqueued
  std::string first_queue;
  // The needs of every step (JSON object) when the workflow is not a chain
  // (store::run_graph_of); empty = a chain, whose first step is enqueued.
  std::string graph;
  engine::RunMetadata metadata;    // checked by the caller (engine::check_run_metadata)
  std::string idempotency_key;     // empty = none
  std::chrono::milliseconds idempotency_ttl{std::chrono::hours(24)};
  std::int64_t max_backlog = 0;    // refuse when the first queue holds this many entries; 0 = no bound
  // When the run starts (checked by the caller: engine::check_delay); a
  // deferred run is `scheduled` and holds no entry in any queue (nor counts
  // against max_backlog) until then. The same key with another start time is
  // an idempotency conflict.
  engine::StartTime start;
  // The workflow's deadline (Workflow::deadline), from when the run starts
  // (its run_at, or its creation); 0 = none.
  std::chrono::milliseconds deadline{0};
  // 0..9 (checked by the caller); part of what an idempotent repeat must
  // match when not the default.
  int priority = kDefaultPriority;
  // The run's place on ordered queues (store::run_sched of the workflow's
  // definition, the input and `priority`); "" = none.
  std::string sched;
};

struct SubmitResult {
  std::string run_id;
  bool created = true;  // false: an earlier submit with the same idempotency key made run_id
  // When a created run starts, Unix ms (Redis time); 0 = queued at once, or not created.
  std::int64_t run_at_ms = 0;
};

// Thrown by submit for a run_at more than engine::kRunAtPastGrace before, or
// more than engine::kMaxScheduleAhead after, Redis time; what() says which.
class RunAtOutOfRange : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Thrown by submit when the idempotency key was used (within its lifetime) for
// a submit of the same workflow with a different request; names that run.
class IdempotencyConflict : public std::runtime_error {
 public:
  explicit IdempotencyConflict(std::string run_id)
      : std::runtime_error("the idempotency key was used for run " + run_id + " with a different input"),
        run_id_(std::move(run_id)) {}
  [[nodiscard]] const std::string& run_id() const noexcept { return run_id_; }

 private:
  std::string run_id_;
};

// Thrown by submit when the queue's backlog is over its bound (load shedding).
class BacklogFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A rerun's source run (POST /v1/runs/{id}/rerun), as read to plan it: what
// never changes after submit.
struct RerunSource {
  std::string run_id;
  std::string workflow;
  std::vector<std::string> steps;  // in order (the run hash's `steps`)
  engine::RunMetadata metadata;
  // A graph run's needs of every step (its `graph` field, JSON); empty for a
  // chain. A rerun from a step of a graph keeps every step that does not
  // need it (engine::plan_rerun).
  std::string graph;
  // Its priority (the `sched` field's "p"; kDefaultPriority without one): a
  // rerun with an edited input keeps it (store::run_sched).
  int priority = kDefaultPriority;
};

struct RerunRequest {
  RerunSource source;
  std::string from_step;   // the first step to run again (engine::plan_rerun)
  std::string from_queue;  // its queue, from the workflow's definition
  std::optional<Json> input;  // checked by the caller; nullopt = the source's input, byte for byte
  // The new run's place in ordered queues (store::run_sched of the edited
  // input, the source's priority): its fairness key comes from its own
  // input. nullopt = the source's `sched`, byte for byte.
  std::optional<std::string> sched;
};

struct RerunResult {
  // created: run_id is the new run. missing: the source run is gone (expired
  // or purged since it was read). unfinished: a step the rerun would keep has
  // not finished in the source (`step`, `step_status`; "pending" = never
  // started): there is no output to keep. Nothing is written unless created.
  enum class Outcome { created, missing, unfinished } outcome = Outcome::created;
  std::string run_id;
  std::string step;
  std::string step_status;
};

// A claimed stream entry: the fencing token (entry id, this consumer, delivery count).
struct Token {
  int partition = 0;
  std::string queue;
  std::string entry_id;
  long long deliveries = 0;  // 0 = not known yet (start reads it from the PEL)
};

struct StartItem {
  Token token;
  std::string run_id;
  std::string step;
  // The entry's backlog ticket (its field `b`: it came through an ordered
  // queue's backlog, lua/lib.lua "Ordered queues"); empty = none.
  std::string ticket;
  // renew only: the handler's latest heartbeat not sent yet (the worker sets
  // it at most once a second per step); nullopt = nothing new to write.
  std::optional<StepProgress> progress;
};

struct Started {
  enum class State { ok, lost, missing } state = State::ok;
  long long deliveries = 0;
  Fields run;  // the run hash as it was after the claim
  std::int64_t now_ms = 0;  // Redis time of the claim (Unix ms)
};

// An entry read and claimed in one call (Store::read_and_start): its token,
// delivered once, and its claim as start() answers it (never `lost`).
struct ReadClaim {
  StartItem item;
  Started started;
};

// The child run a child workflow step starts (ChildSpec; spawn.lua), as
// submit would create it.
struct ChildStart {
  std::string run_id;      // store::child_run_id of the parent and the token holder
  std::string workflow;
  std::string first_step;  // a chain's first step (a graph child: every root starts)
  std::string queue;       // the queue of its first step
  std::string steps;       // its step names, a JSON array in list order
  std::string graph;       // store::run_graph_of its definition; "" = a chain
  std::string input;       // JSON
  std::int64_t deadline_ms = 0;  // Workflow::deadline; 0 = none
  // Its place in ordered queues: store::run_sched of its definition and
  // input at the default priority (spawn.lua lays the parent's priority
  // over it). "-" = the parent's `sched` as it is.
  std::string sched = "-";
};

// One decided transition, applied by the script matching its action.
struct Transition {
  Token token;
  std::string run_id;
  std::string step;
  engine::Action action = engine::Action::advance;
  int attempts = 0;
  std::string output;      // advance / complete_run: the output JSON
  std::string next_step;   // advance ("*": a node of a graph run; complete.lua finds what follows)
  std::string next_queue;  // advance
  std::chrono::milliseconds delay{0};  // retry_later, release
  std::string error;       // retry_later / dead_letter
  // retry_later / release: the attempt's admission counters (engine::Decision's).
  int rate_limited = 0;
  std::chrono::milliseconds waited{0};
  bool unhandled = false;       // release: handed back for want of a handler
  std::string no_worker_queue;  // release: ... and no live worker on this queue has it
  // release: parked while this limiter (and key, '' for a plain limiter)
  // refuses the step: status waiting, waiting_for limiter
  std::string parked_limiter;
  std::string parked_key;
  std::int64_t wake_at_ms = 0;  // sleep: when the durable wait is due (Redis Unix ms); 0 = never (a signal wait)
  // sleep: the signal a signal wait parks on ('' = a timed wait);
  // advance / complete_run: the kept signal this completion took ('' = none).
  std::string signal;
  // advance / complete_run: the step's `if` was false (status 'skipped',
  // attempts 0; the output is null).
  bool skipped = false;
  // advance / complete_run: the step failed for good and its on_failure is
  // continue (status 'failed', `error` recorded; the output is null).
  bool failed = false;
  // advance of a map step's own token (next step '*'): it expands into its
  // items instead of completing; `output` holds them, compact JSON one per
  // line, and this is the map's max_parallel (>= 1). 0 = no expansion.
  int expand_max_parallel = 0;
  std::int64_t expand_max_output_bytes = 0;  // ... and its max_output_bytes
  // advance of a map item: its step's on_item_failure is continue (an
  // output over the map's max_output_bytes is then a continued failure;
  // otherwise it fails the run).
  bool item_continues = false;
  // sleep of a child workflow step: the child to start, or to wait for if it
  // exists (spawn.lua instead of sleep.lua).
  std::optional<ChildStart> child;
  std::string workflow;    // advance / complete_run: for the worker's counters
  std::chrono::milliseconds duration{0};  // advance / complete_run: the attempt's wall time
};

// Upper bounds (ms) of the step duration histogram kept in the stats hash
// (fields step_ms:<workflow>:<step>:<bound or inf> and step_ms_sum:<workflow>:<step>).
inline constexpr std::int64_t kStepDurationBucketsMs[] = {10,   50,    100,   250,   500,    1000,
                                                          2500, 5000, 10000, 30000, 60000, 300000};

// The histogram bucket of a duration: the smallest bound at or above it, or "inf".
[[nodiscard]] std::string duration_bucket(std::chrono::milliseconds d);

enum class Applied { ok, stale, discarded };

struct Reclaimed {
  std::string cursor;  // "0-0" when the scan wrapped around
  std::vector<StartItem> items;  // deliveries filled in
  long long payload_lost = 0;    // deleted entries moved to the dead-letter queue
};

struct RunTokens {
  std::string status;
  int in_stream = 0;
  int in_delayed = 0;
  int in_dlq = 0;
  int pending = 0;  // stream entries a worker has claimed (0/1 for a chain run)
  // A graph run's (its steps run in parallel branches): the tokens it should
  // hold, its `live` count; -1 for a chain run, which holds exactly one.
  int graph_live = -1;
};

// Acknowledged means replicated (`--wait-replicas`): after a submit's
// writes, `WAIT replicas timeout` on the same connection, so the answer
// waits until that many replicas have the runs (or the timeout passes:
// NotReplicated). replicas 0 = answer once the primary has them.
struct ReplicaWait {
  int replicas = 0;
  // How long WAIT may take; at least 1 ms (WAIT's 0 would wait forever).
  std::chrono::milliseconds timeout{1000};
};

class Store {
 public:
  Store(redis::Client& client, KeySpace keys, std::string consumer = {});

  // Submits (submit, submit_many) wait for replicas from now on. Throws
  // std::invalid_argument for replicas < 0 or a timeout under 1 ms.
  void set_replica_wait(ReplicaWait wait);
  [[nodiscard]] const ReplicaWait& replica_wait() const noexcept { return replica_wait_; }

  [[nodiscard]] const KeySpace& keys() const noexcept { return keys_; }
  [[nodiscard]] redis::Client& client() noexcept { return client_; }

  // --- clients ---
  asio::awaitable<SubmitResult> submit(const SubmitRequest& request);
  asio::awaitable<std::optional<RunInfo>> get_run(std::string_view run_id);
  // Items [offset, offset + limit) of map step `step` of the run (limit at
  // most kMaxItemsPage); nullopt when the run does not exist. Throws
  // std::invalid_argument when `step` is no map step of the run whose list
  // is known yet.
  asio::awaitable<std::optional<MapItemsPage>> map_items(std::string_view run_id, const std::string& step,
                                                         std::int64_t offset, std::int64_t limit);
  // The source of a rerun; nullopt when no such run.
  asio::awaitable<std::optional<RerunSource>> rerun_source(std::string_view run_id);
  // A new run of the source's workflow, in the source's partition, keeping
  // the outputs of the steps before from_step (engine::plan_rerun) and
  // running from_step and every later step again: one script (rerun.lua).
  // The source run is left as it is, whatever its status. Throws
  // std::invalid_argument naming the steps for a from_step not among them.
  asio::awaitable<RerunResult> rerun(const RerunRequest& request);
  // "cancelled", "cancelling" (a worker will stop it), "terminal:<status>", "missing".
  // Then cancels the live child runs its steps started (children_of), and
  // theirs: the run first, so that a child's end finds it no longer waiting.
  asio::awaitable<std::string> cancel(std::string_view run_id, std::chrono::milliseconds retention);
  asio::awaitable<std::vector<DeadLetter>> dlq_list(std::size_t limit);
  // Replays by dead-letter entry id or by run id; returns the run id. A
  // failed child run its steps started is replayed first (and its own
  // failed children): the parent's step, claimed again, then waits for it.
  asio::awaitable<std::string> dlq_replay(std::string_view id);

  // --- child runs (ChildSpec; child_runs.cpp) ---
  // A token holder of a run (a step, or "step[k]") that started a child run.
  struct ChildLink {
    std::string holder;
    std::string child;          // the child's run id
    std::string holder_status;  // the holder's status ("waiting" while it waits for the child)
  };
  // Every such holder of a run, in step (and item) order; {} for a run without any.
  asio::awaitable<std::vector<ChildLink>> child_links(std::string_view run_id);
  // The ids of the child runs a run's steps (and map items) started, in
  // step order; {} for a run without any.
  asio::awaitable<std::vector<std::string>> children_of(std::string_view run_id);
  // A child run's outcome as its parent's step takes it: nullopt when the
  // run no longer exists.
  struct ChildOutcome {
    std::string status;    // the child's stored status
    std::string workflow;
    std::string step;      // failed: the step it failed at
    std::string error;     // failed: that step's error
    std::string output;    // completed: its last step's output (JSON; "null" if none)
  };
  asio::awaitable<std::optional<ChildOutcome>> child_outcome(std::string_view run_id);
  // Deletes the dead-letter entries whose failed runs match `filter` (all when
  // empty), with those runs; returns how many. purge.lua re-checks each entry
  // (still there, its run still failed and still pointing at it, matching), so
  // a run replayed meanwhile is left alone; at most `batch` entries per call.
  // Throws std::invalid_argument for a filter it cannot apply: a status other
  // than failed.
  asio::awaitable<std::size_t> dlq_purge(const engine::RunFilter& filter = {},
                                         std::size_t batch = kPurgeBatch);
  asio::awaitable<void> register_workflow(const std::string& name, const Json& definition);
  asio::awaitable<std::optional<Json>> workflow_definition(const std::string& name);
  asio::awaitable<std::vector<std::string>> known_queues();
  // Pausing a queue: workers stop taking its entries (new ones and reclaims)
  // within 1.25 s (a blocked read of up to 1 s, then a check every 250 ms); submits still go in, and the runs show waiting_for
  // queue_paused. Steps already running finish. Both return false for a
  // queue no workflow uses (known_queues); pausing twice is no change.
  asio::awaitable<bool> pause_queue(const std::string& queue);
  asio::awaitable<bool> resume_queue(const std::string& queue);
  asio::awaitable<std::set<std::string>> paused_queues();
  // Makes limiters and their bounds known (GET /v1/limiters, /metrics: no SCAN).
  asio::awaitable<void> register_limiters(const std::vector<LimitSpec>& specs);
  // A limiter as registered, with its state now.
  struct LimiterState {
    std::string name;
    Json bounds;                     // requests_per_minute, burst, tokens_per_minute, token_burst, concurrency, max_pause_ms
    std::int64_t tokens = 0;         // in the token bucket (refilled to now); 0 without a token rate
    std::int64_t holders = 0;        // concurrency slots held (unexpired)
    std::int64_t paused_until_ms = 0;  // Redis ms; 0 or past = not paused
    std::int64_t waits = 0;          // admissions refused so far
    std::int64_t admitted = 0;       // admissions so far
    // The two newest minutes limit_acquire.lua counted (it rolls them at the
    // first call of a minute): `minute` (Redis ms / 60000; -1 = never) and the
    // one before it. recent_limiter_counts() makes them "this minute" and
    // "the last minute" as of now_ms.
    struct Minutes {
      std::int64_t minute = -1;
      std::int64_t admitted = 0;
      std::int64_t waits = 0;
      std::int64_t previous_admitted = 0;
      std::int64_t previous_waits = 0;
    } minutes;
    std::int64_t now_ms = 0;         // Redis time of the read
    // A keyed limiter's busiest keys: most asks (admissions + waits) this
    // minute and the last (limit_acquire.lua ranks them), most first, at most
    // kBusiestLimiterKeys. Empty for a limiter without a key.
    struct BusyKey {
      std::string key;     // its value (at most 128 bytes of it)
      std::int64_t admitted_this_minute = 0;
      std::int64_t waits_this_minute = 0;
      std::int64_t admitted_last_minute = 0;
      std::int64_t waits_last_minute = 0;
      std::optional<std::int64_t> tokens;  // in its bucket now, at the declared rate; none without a token rate
    };
    std::vector<BusyKey> busiest_keys;
  };
  static constexpr std::size_t kBusiestLimiterKeys = 10;
  asio::awaitable<std::vector<LimiterState>> limiters();
  // The audit log of operator actions. `who`: the token's name (API) or
  // cli:<user>@<host>; `action`: cancel, dlq_replay, dlq_purge, rerun; `target`: a
  // run id, a dead-letter entry or a filter; `detail`: JSON (the result).
  struct AuditEntry {
    std::string id;  // the stream entry id (time-ordered); set when read
    std::int64_t at_ms = 0;  // Redis time; set when read
    std::string who;
    std::string action;
    std::string target;
    Json detail;
  };
  // Appends one entry (XADD, trimmed to about kAuditEntries).
  asio::awaitable<void> audit(std::string who, std::string action, std::string target, Json detail);
  // The newest `limit` entries, newest first, older than `before` (an entry id; empty = the newest).
  asio::awaitable<std::vector<AuditEntry>> audit_log(std::size_t limit, std::string_view before = {});
  // The worker registry (CONTRACTS.md §4 records, as workers wrote them), by id.
  asio::awaitable<std::vector<Json>> workers();
  // Every run id (SCAN over the run keys): for doctor, never a request path.
  asio::awaitable<std::vector<std::string>> all_run_ids();
  asio::awaitable<RunTokens> run_tokens(std::string_view run_id);
  // A page of the runs matching `filter`, newest first, below `cursor` (a
  // run id; empty = from the newest): store/run_index.h.
  asio::awaitable<RunPage> list_runs(const engine::RunFilter& filter, std::size_t limit,
                                     std::string_view cursor = {});
  // The counters of every partition, summed: submitted:<workflow>,
  // completed:<workflow>, failed:<workflow>, retries, reclaims.
  asio::awaitable<std::map<std::string, std::int64_t>> counters();
  // One counter of counters(), summed over the partitions; 0 when never counted.
  asio::awaitable<std::int64_t> counter(std::string_view field);
  // How many workers are registered (the workers hash; a worker registers
  // when it starts serving and removes itself when it stops).
  asio::awaitable<std::int64_t> registered_workers();
  struct QueueDepth {
    std::string queue;
    std::int64_t entries = 0;  // undelivered + pending (entries are deleted when done)
    std::int64_t pending = 0;  // claimed by a worker (running or waiting for admission)
    // An ordered queue's backlog (lua/lib.lua "Ordered queues"): tokens not
    // in the stream yet, in all, and by the level they count at (priority,
    // aged); and its keys with tokens waiting (a key waiting at two levels
    // counts twice; a key that ran dry may count until the next feed meets
    // it). All 0 for a FIFO queue.
    std::int64_t backlog = 0;
    std::map<int, std::int64_t> backlog_by_priority;  // only levels with tokens
    std::int64_t active_keys = 0;
  };
  asio::awaitable<std::vector<QueueDepth>> queue_depths();
  asio::awaitable<std::int64_t> delayed_count();
  asio::awaitable<std::int64_t> dlq_count();

  // --- workers (consumer = this worker's id) ---
  // Creates the consumer group at the stream's beginning if missing (never at $).
  // Of these queue streams, those whose ordered backlog holds tokens
  // (lua/lib.lua "Ordered queues"): a worker feeds them even when it does not
  // know the queue as ordered.
  asio::awaitable<std::set<std::string>> backlogged(const std::vector<std::string>& stream_keys);
  asio::awaitable<void> ensure_group(int partition, const std::string& queue);
  asio::awaitable<std::vector<Started>> start(int partition, const std::string& queue,
                                              const std::vector<StartItem>& items);
  // XREADGROUP '>' of up to `count` (> 0) new entries of the queue's stream
  // and their claims as start() makes them, in one atomic call (claim.lua):
  // no fencing check, no second round trip. Empty when nothing waits (the
  // caller then blocks on its XREADGROUP and calls start()). feed_first: an
  // ordered queue's backlog is fed first (feed.lua, up to `count` tokens, in
  // the same round trip; the duration is its blocked-worker note's expiry).
  // `options`: a worker's loop passes unsent_fails on a cluster, so that a
  // partition whose primary cannot be reached fails at once (NotSentError)
  // instead of holding the loop until a replica is promoted.
  asio::awaitable<std::vector<ReadClaim>> read_and_start(
      int partition, const std::string& queue, int count,
      std::optional<std::chrono::milliseconds> feed_first = std::nullopt, redis::CommandOptions options = {});
  asio::awaitable<std::vector<Applied>> apply(const std::vector<Transition>& batch,
                                              std::chrono::milliseconds retention);
  enum class Renewal { ok, cancel, lost };
  asio::awaitable<std::vector<Renewal>> renew(const std::vector<StartItem>& items);
  asio::awaitable<Reclaimed> reclaim(int partition, const std::string& queue,
                                     std::chrono::milliseconds min_idle, std::string cursor,
                                     int count, redis::CommandOptions options = {});
  // Adds to the partition's counters (HINCRBY per field, one pipeline). The
  // worker batches its step-duration histogram counts here instead of paying
  // for them inside every completion.
  asio::awaitable<void> add_counters(int partition, const std::map<std::string, std::int64_t>& deltas);
  // Handles the due members of the partition's timer set: retries go back to
  // their queues, ended runs whose retention is over are deleted with their
  // index entries. Returns ms until the next due member (-1 if none).
  // `fed`, if given, gets the key of each queue stream a token was moved
  // into (a retry or a wake due; the stream may hold it).
  asio::awaitable<long long> promote(int partition, int limit, redis::CommandOptions options = {},
                                     std::set<std::string>* fed = nullptr);
  // The partition's promoter duty (lua/duty.lua) for `worker`: taken or
  // renewed for `lease` when free or already its own; a zero lease gives it up.
  struct Duty {
    bool held = false;
    std::chrono::milliseconds left{0};  // of the lease: ours when held, else the holder's
  };
  asio::awaitable<Duty> take_duty(int partition, const std::string& worker, std::chrono::milliseconds lease,
                                  redis::CommandOptions options = {});

 private:
  redis::Client& client_;
  KeySpace keys_;
  std::string consumer_;
  ReplicaWait replica_wait_;
};

}  // namespace steadfast::store
