// Workflows: named, ordered steps, each with a handler and its options.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steadfast/step.h"

namespace steadfast {

// Delay before attempt n+1 after a failed attempt n (n >= 1):
//   d = min(max, initial * multiplier^(n-1)); with full jitter, uniform in [0, d].
struct Backoff {
  std::chrono::milliseconds initial{1000};
  double multiplier = 2.0;
  std::chrono::milliseconds max{60000};
  bool full_jitter = false;
};

struct RetryPolicy {
  int max_attempts = 3;  // total attempts, the first included; 1 = never retry
  Backoff backoff;
  // Bounds on how long one attempt may wait for admission. Rate-limited
  // answers (StepError::rate_limited) and limiter refusals spend no attempt;
  // past either bound the attempt fails like a retryable error (then the
  // backoff, or the dead-letter queue once attempts are exhausted) with an
  // error naming the bound. Both count per attempt, survive worker restarts
  // (kept in the run) and start again at zero with the next attempt. Zero = no bound.
  int max_rate_limited = 100;  // rate-limited answers in one attempt
  // Time one attempt waited for admission: the Retry-After delays of its
  // rate-limited answers and its waits at the step's limiter. A wait that
  // would end past it fails the attempt at once.
  std::chrono::milliseconds max_wait{std::chrono::hours(1)};
};

// One key's bounds of a keyed limiter where they differ from the declared
// ones (a tenant with a larger quota): each field given replaces the
// limiter's. Whole numbers >= 1 (token_burst: 0 = a tenth of a minute's tokens).
struct LimitOverride {
  std::optional<std::int64_t> requests_per_minute;
  std::optional<std::int64_t> burst;
  std::optional<std::int64_t> tokens_per_minute;
  std::optional<std::int64_t> token_burst;
  std::optional<std::int64_t> concurrency;
};

// A global limiter, shared by every worker through Redis (Redis time). Each
// bound is off when zero. Declared once (a workflows file's `limits:`),
// referenced by steps (StepOptions::limit).
struct LimitSpec {
  std::string name;
  // Requests admitted per minute, evenly spaced (GCRA); `burst` requests may
  // go back to back after an idle period.
  std::int64_t requests_per_minute = 0;
  std::int64_t burst = 1;
  // Tokens per minute (token bucket refilled continuously); the bucket holds
  // `token_burst` tokens at most (zero = a tenth of a minute's tokens).
  std::int64_t tokens_per_minute = 0;
  std::int64_t token_burst = 0;
  // Steps holding a slot at once across all workers; a slot is an expiring
  // lease (the step's lease), so a crashed worker's slots come back by themselves.
  std::int64_t concurrency = 0;
  // The longest pause an upstream's Retry-After may put on this limiter (for
  // every worker); a longer Retry-After pauses it this long. Must be > 0.
  std::chrono::milliseconds max_pause{60000};
  // For a keyed limiter: the bounds of some keys (by the key's value) where
  // they differ. An override set at run time (PUT
  // /v1/limiters/{name}/overrides/{key}, kept in Redis) comes before these.
  std::map<std::string, LimitOverride> overrides;
};

// `spec` with `o`'s fields laid over it.
[[nodiscard]] LimitSpec with_override(const LimitSpec& spec, const LimitOverride& o);

// What an upstream's "429, retry after N" pauses: the step's instance of a
// keyed limiter (that key only), or the whole limiter (every key).
enum class PauseScope { key, limiter };

// How a step uses a limiter.
struct LimitUse {
  std::string name;  // a LimitSpec's name
  // A keyed limiter: a template evaluated on the run ("{{input.tenant}}")
  // whose value picks the limiter's instance this step goes through. Every
  // value gets its own instance of the limiter's bounds, kept in Redis under
  // the value's hash and expired once idle. A template that yields no value
  // (missing, null, "", an empty array or object) fails the attempt as
  // fatal, naming the limiter. Empty = the limiter itself (one instance).
  std::string key_template;
  // For a keyed limiter: what a 429 with Retry-After pauses (an unkeyed one
  // always pauses the limiter).
  PauseScope pause_on_429 = PauseScope::key;
  // Estimated tokens of one attempt: a number, or a template evaluated on the
  // run (e.g. "{{len(input.text) / 4}}") when tokens_template is set. An
  // estimate above the limiter's token bucket (token_burst, or a tenth of
  // tokens_per_minute) fails the attempt as fatal: it could never be admitted
  // without putting every other run in debt.
  std::int64_t tokens = 0;
  std::string tokens_template;
  // JSON pointer into the step's output giving the tokens actually used; the
  // limiter is reconciled with it (empty = no reconciliation).
  std::string usage_pointer;
};

// What a step's failure for good (attempts exhausted, a fatal error) does.
enum class OnFailure {
  fail_run,   // the run fails into the dead-letter queue (the default)
  continue_,  // the step is recorded as failed, with its error, and the run
              // goes on with its output null (no dead-letter entry, no alert)
};

struct StepOptions {
  RetryPolicy retry;
  OnFailure on_failure = OnFailure::fail_run;
  // Admission through limiters before each attempt: `limit` (empty name =
  // none) and every entry of `limits`, all at once — one script takes from
  // all of them or from none. Waiting for them keeps the step's lease and
  // costs no attempt. A limiter may appear once per step.
  LimitUse limit;
  std::vector<LimitUse> limits;
  // Wall time one attempt may run; the handler is then cancelled and the
  // attempt fails as retryable. Zero = no limit.
  std::chrono::milliseconds timeout{0};
  // How long a worker owns the step without renewing; the owner renews every
  // lease/3, others reclaim it after a full lease without renewal.
  std::chrono::milliseconds lease{30000};
  // The stream the step's entries go to; workers choose queues with --queues.
  std::string queue = "default";
  // True for a handler that returns at once and never blocks (no I/O, no
  // sleep, no lock held long): the worker calls it on its event loop instead
  // of handing it to a pool thread, saving two thread switches per attempt.
  // Leases, checkpoints and fencing are the same. A blocking handler marked
  // so stalls every step of the worker: leave it false when unsure.
  bool nonblocking = false;
};

// Every limiter a step goes through: `limit` (when named), then `limits`.
[[nodiscard]] inline std::vector<const LimitUse*> limit_uses(const StepOptions& o) {
  std::vector<const LimitUse*> out;
  if (!o.limit.name.empty()) out.push_back(&o.limit);
  for (const LimitUse& l : o.limits) out.push_back(&l);
  return out;
}

// The shortest lease a step may have: renewals every lease/3 must have time
// to reach Redis.
inline constexpr std::chrono::milliseconds kMinLease{100};

// Longest workflow, step or queue name, in bytes.
inline constexpr std::size_t kMaxNameLength = 64;

// What a signal wait does when its timeout passes first.
enum class OnTimeout {
  fail,       // the step fails (fatal: no retry) and the run goes to the dead-letter queue
  continue_,  // the step completes with the output null and the run goes on
};

// A durable wait (the `wait` kind): the step holds no worker slot and no
// thread while it waits, and the wait survives worker and Redis restarts (its
// due time is a member of the partition's timer set; a signal wait without a
// timeout is recorded in the run alone). Exactly one form is set.
struct WaitSpec {
  // `for`: this long after the step's first claim (positive, at most kMaxWait).
  std::chrono::milliseconds duration{0};
  // `until`: a template on the run ("{{input.remind_at}}") giving an RFC 3339
  // time or Unix milliseconds; a time already past completes the step at once.
  std::string until;
  // `signal`: a name (^[A-Za-z0-9_-]{1,64}$); the step completes with the
  // body of the signal of that name sent to the run (POST
  // /v1/runs/{id}/signals/{name}, `steadfast signal`, Client::signal), taken
  // from the run's kept signals if it was sent before the step began to wait.
  std::string signal;
  // signal only: how long after the step's first claim the wait gives up
  // (zero = never; at most kMaxWait), and what it does then.
  std::chrono::milliseconds timeout{0};
  OnTimeout on_timeout = OnTimeout::fail;

  // The three forms, by name (Workflow::wait checks the values).
  static WaitSpec sleep_for(std::chrono::milliseconds duration) {
    WaitSpec w;
    w.duration = duration;
    return w;
  }
  static WaitSpec sleep_until(std::string until_template) {
    WaitSpec w;
    w.until = std::move(until_template);
    return w;
  }
  static WaitSpec for_signal(std::string name, std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                             OnTimeout on_timeout = OnTimeout::fail) {
    WaitSpec w;
    w.signal = std::move(name);
    w.timeout = timeout;
    w.on_timeout = on_timeout;
    return w;
  }
};

// What an item of a map step that fails for good does.
enum class OnItemFailure {
  fail_run,   // the run fails into the dead-letter queue, naming the item; a
              // replay runs the failed items again (the default)
  continue_,  // the item's output is null and its error is kept in the step's
              // `failed` list; the other items go on
};

// A map step (`map:`): the step runs once per element of the JSON array
// `over` evaluates to when the step becomes ready, each element an item
// with its own attempts, lease, retries and idempotency key
// ("<run>:<step>:<index>"); its handler and templates see it as `item` and
// `item_index` (StepContext::item()). The step's output is the array of the
// items' outputs in input order.
struct MapSpec {
  std::string over;                 // a template giving an array ("{{steps.split.output.chunks}}")
  int max_parallel = 100;           // items of one run in flight at once, >= 1
  OnItemFailure on_item_failure = OnItemFailure::fail_run;
  int max_items = 10'000;           // a longer array fails the step (fatal), naming its length
  // The items' outputs together, in bytes (as compact JSON): an item whose
  // output would take them past it fails for good, naming the bound (a
  // continued failure under on_item_failure: continue).
  std::int64_t max_output_bytes = std::int64_t{64} << 20;
};

// A child workflow step (`kind: workflow`): the step starts a run of
// `workflow` (the child) and completes with the child's output — the output
// of the child's last step in list order — once the child completes; it
// fails for good when the child fails or is cancelled (the step's
// on_failure says what the run does then). The child's id is derived from
// "<run>:<step>[:<item index>]", so a step claimed again after a crash
// finds the child it started instead of starting a second one. While the
// child runs the step holds no worker: it is `waiting`, waiting_for
// {"kind": "child", "run_id"}. Cancelling the run cancels its live
// children; replaying it replays its failed children.
struct ChildSpec {
  std::string workflow;  // the child's workflow: a workflow the same worker runs
  // The child's input: a JSON value whose strings are templates on the run
  // ("{{steps.split.output.chunks}}", "{{item}}" in a map step), rendered
  // when the step starts. null = the child's input is {}.
  Json input;
};

// The largest max_items and max_parallel a map step may set.
inline constexpr int kMaxMapItems = 100'000;
// The largest max_output_bytes a map step may set (256 MiB).
inline constexpr std::int64_t kMaxMapOutputBytes = std::int64_t{256} << 20;

// The attempts of a wait step and of a child workflow step: neither
// retries its own failure (a timeout, a failed child: fatal), but a worker
// that dies holding its token costs a delivery, and so an attempt.
inline constexpr int kClaimsBeforeGivingUp = 10;

// The longest `for` of a wait step, and how far ahead an `until` may lie.
inline constexpr std::chrono::milliseconds kMaxWait{std::chrono::hours(24 * 365)};

struct StepDefinition {
  std::string name;
  StepHandler handler;  // empty for a wait step and an asynchronous step
  AsyncStepHandler async_handler;  // set for an asynchronous step (Workflow::async_step)
  StepOptions options;
  std::optional<WaitSpec> wait;  // set for a wait step
  // The steps that must finish before this one starts (Workflow::needs);
  // nullopt = the step before it in the list (none for the first).
  std::optional<std::vector<std::string>> needs = std::nullopt;
  // A template evaluated when the step is claimed (Workflow::only_if); empty
  // = always run.
  std::string condition = {};
  // Set for a map step (Workflow::map).
  std::optional<MapSpec> map = std::nullopt;
  // Set for a child workflow step (Workflow::child).
  std::optional<ChildSpec> child = std::nullopt;
  // The task name of a step external workers carry out (Workflow::task,
  // `kind: task`; docs/worker-protocol.md); empty for every other step.
  std::string task = {};
};

// The largest input a run may have, as compact JSON (the store's payload
// limit), and the default of Workflow::max_input_bytes().
inline constexpr std::size_t kMaxInputBytes = std::size_t{1} << 20;

// Names (workflow, step, queue) match ^[A-Za-z0-9_-]{1,64}$; they become parts
// of Redis keys. Not thread-safe to modify; safe to share once built.
class Workflow {
 public:
  // Throws std::invalid_argument for a bad name.
  explicit Workflow(std::string name);

  // Appends a step. Throws std::invalid_argument for a bad or duplicate name,
  // an empty handler, max_attempts < 1, a negative max_rate_limited or duration, a lease under
  // kMinLease, a backoff multiplier under 1 (or not finite) or a bad queue name.
  Workflow& step(std::string name, StepHandler handler, StepOptions options = {});

  // Appends a step whose handler holds no thread while it waits
  // (AsyncStepHandler); the same checks as step(). StepOptions::nonblocking
  // does not apply: the handler always starts on the event loop.
  Workflow& async_step(std::string name, AsyncStepHandler handler, StepOptions options = {});

  // Appends a durable wait (WaitSpec). A timed wait completes with the output
  // {"until": "<RFC 3339>"} once due; a signal wait with the signal's body.
  // Throws std::invalid_argument for a bad or duplicate name, a bad queue,
  // not exactly one form, a duration or timeout out of (0, kMaxWait], a
  // timeout without a signal, a bad signal name, or an `until` template that
  // does not parse.
  Workflow& wait(std::string name, WaitSpec wait, std::string queue = "default");

  // Appends a child workflow step (ChildSpec). Of `options` only queue,
  // lease and on_failure apply: its own failure (the child's) is fatal, and
  // the child's steps retry (its max_attempts is kClaimsBeforeGivingUp). A workflow with a child step runs as a graph (all its
  // steps on one queue). Throws std::invalid_argument for a bad or
  // duplicate name, a bad child workflow name, an input template that does
  // not parse, or a bad queue.
  Workflow& child(std::string name, ChildSpec spec, StepOptions options = {});

  // Appends a step carried out by an external worker (any language, over
  // `steadfast serve`'s worker protocol: docs/worker-protocol.md) that
  // registered the task name `task`. Retries, timeouts, limits and the rest
  // of `options` apply as for any step; `options.queue` must name a queue
  // holding task steps only (a C++ worker never serves it: `serve` hands its
  // steps to the external workers). Throws std::invalid_argument for a bad
  // or duplicate name, a task name not matching ^[A-Za-z0-9_.-]{1,64}$, or
  // bad options.
  Workflow& task(std::string name, std::string task, StepOptions options);
  // The steps `step` needs finished before it starts; {} = it starts with
  // the run. Without a call, a step needs the step before it in the list.
  // Names may name later steps; the whole graph (unknown names, cycles) is
  // checked when a worker takes the workflow. A step starts once all its
  // needs have finished (completed, skipped, or failed with on_failure:
  // continue); steps whose needs are done run in parallel, and a handler sees
  // the outputs of the steps that precede it in the graph. This version runs
  // a graph (anything but the chain) only when all its steps name one queue:
  // a worker refuses others. Throws
  // std::invalid_argument for an unknown `step` or a bad name in `names`.
  Workflow& needs(std::string_view step, std::vector<std::string> names);

  // Runs `step` only if `condition`, a template on the run's input and
  // earlier outputs (e.g. "{{len(steps.search.output.hits)}}"), evaluated
  // when the step is claimed, is true: false, 0, "", null and [] skip it
  // (status `skipped`, output null, no attempt spent, no limiter asked) and
  // the run goes on with the next step. A condition that cannot be evaluated
  // (it reads a missing field) fails the step as fatal, naming it. Throws
  // std::invalid_argument for an unknown `step` or a template that does not
  // parse.
  Workflow& only_if(std::string_view step, std::string condition);

  // Makes `step` a map step (MapSpec): it runs once per element of the
  // array `spec.over` gives when the step becomes ready. A workflow with a
  // map step runs as a graph (all its steps on one queue). Throws
  // std::invalid_argument for an unknown or wait `step`, an `over` that does
  // not parse, max_parallel / max_items outside [1, kMaxMapItems], or
  // max_output_bytes outside [1, kMaxMapOutputBytes].
  Workflow& map(std::string_view step, MapSpec spec);

  // The JSON Schema (draft-04) every run's input must match: checked at submit
  // by Client::submit, `steadfast submit` and the HTTP API (workers register it
  // with the workflow). Throws std::invalid_argument saying what is wrong when
  // `schema` is not a valid draft-04 schema. null (the default) = any input.
  Workflow& input_schema(Json schema);
  [[nodiscard]] const Json& input_schema() const noexcept { return input_schema_; }

  // Submits whose input, as compact JSON, is longer than `bytes` are refused
  // (HTTP 413; Client::submit throws std::invalid_argument): a run's input is
  // stored in Redis for the run's retention and parsed by every step. Throws
  // std::invalid_argument unless 1 <= bytes <= kMaxInputBytes.
  Workflow& max_input_bytes(std::size_t bytes);
  [[nodiscard]] std::size_t max_input_bytes() const noexcept { return max_input_bytes_; }

  // A run deadline: this long after a run is created (or after its run_at,
  // for a delayed run), a run that has not ended fails into the dead-letter
  // queue with "deadline exceeded", whatever it is doing (a running step is
  // cancelled). Zero (the default) = none; at most kMaxWait. Throws
  // std::invalid_argument out of that range.
  Workflow& deadline(std::chrono::milliseconds deadline);
  [[nodiscard]] std::chrono::milliseconds deadline() const noexcept { return deadline_; }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::vector<StepDefinition>& steps() const noexcept { return steps_; }
  // Index of the step named `name`, or -1.
  [[nodiscard]] int index_of(std::string_view name) const noexcept;

 private:
  StepDefinition& step_named(std::string_view step);  // throws std::invalid_argument
  // step() and async_step(): checks the name and options, then appends.
  Workflow& add_step(StepDefinition def, bool empty_handler);

  std::string name_;
  std::vector<StepDefinition> steps_;
  Json input_schema_;

  std::size_t max_input_bytes_ = kMaxInputBytes;
  std::chrono::milliseconds deadline_{0};
};

// True when name matches ^[A-Za-z0-9_-]{1,64}$.
[[nodiscard]] bool is_valid_name(std::string_view name) noexcept;

}  // namespace steadfast
