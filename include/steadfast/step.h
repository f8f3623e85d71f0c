// What a step handler sees (StepContext) and what it returns (StepResult).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "steadfast/json.h"

namespace steadfast {

// A failed attempt, as data. The retry policy acts on kind():
//  - retryable: try again after the step's backoff (or retry_after(), if
//    longer), while attempts remain;
//  - fatal: no retry; the run goes to the dead-letter queue at once;
//  - rate_limited: try again after retry_after(); this attempt is not counted
//    against max_attempts (the upstream said "later", not "broken").
class StepError {
 public:
  enum class Kind { retryable, fatal, rate_limited };

  // `retry_after`: the upstream's hint (an HTTP 503's Retry-After, say); the
  // next attempt waits at least that long. Zero = the backoff alone.
  static StepError retryable(std::string message,
                             std::chrono::milliseconds retry_after = std::chrono::milliseconds{0}) {
    return {Kind::retryable, std::move(message), retry_after};
  }
  static StepError fatal(std::string message) { return {Kind::fatal, std::move(message), {}}; }
  static StepError rate_limited(std::string message, std::chrono::milliseconds retry_after) {
    return {Kind::rate_limited, std::move(message), retry_after};
  }

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  // For rate_limited and retryable: how long to wait before the next attempt
  // (zero = the backoff's; for retryable, the longer of the two is used).
  [[nodiscard]] std::chrono::milliseconds retry_after() const noexcept { return retry_after_; }

 private:
  StepError(Kind k, std::string m, std::chrono::milliseconds after)
      : kind_(k), message_(std::move(m)), retry_after_(after) {}
  Kind kind_;
  std::string message_;
  std::chrono::milliseconds retry_after_;
};

// The outcome of one attempt: an output JSON or a StepError.
class [[nodiscard]] StepResult {
 public:
  StepResult(Json output) : value_(std::move(output)) {}  // NOLINT(google-explicit-constructor)
  StepResult(StepError error) : value_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return std::holds_alternative<Json>(value_); }
  [[nodiscard]] const Json& output() const { return std::get<Json>(value_); }
  [[nodiscard]] Json& output() { return std::get<Json>(value_); }
  [[nodiscard]] const StepError& error() const { return std::get<StepError>(value_); }

 private:
  std::variant<Json, StepError> value_;
};

// A handler's progress report (StepContext::heartbeat).
struct StepProgress {
  std::optional<double> progress;  // fraction done, 0..1; nullopt = not known
  std::string message;             // what it is doing; may be empty

  friend bool operator==(const StepProgress&, const StepProgress&) = default;
};

// Everything a handler may know about the attempt it runs. The worker owns it;
// the handler gets a reference valid for the duration of the call.
//
// Thread-safety: a handler runs on one executor thread; cancelled(),
// heartbeat(), request_cancel() and take_progress() may be called from any
// thread.
class StepContext {
 public:
  StepContext(std::string run_id, std::string workflow, std::string step, int attempt,
              Json input, std::map<std::string, Json> outputs)
      : run_id_(std::move(run_id)),
        workflow_(std::move(workflow)),
        step_(std::move(step)),
        attempt_(attempt),
        input_(std::move(input)),
        outputs_(std::move(outputs)) {}

  [[nodiscard]] const std::string& run_id() const noexcept { return run_id_; }
  [[nodiscard]] const std::string& workflow() const noexcept { return workflow_; }
  [[nodiscard]] const std::string& step() const noexcept { return step_; }
  // 1 for the first attempt; counted when the step is claimed, so an attempt
  // that crashed its worker counts too.
  [[nodiscard]] int attempt() const noexcept { return attempt_; }
  // The run's input, as submitted.
  [[nodiscard]] const Json& input() const noexcept { return input_; }
  // The outputs of the steps that completed before this one, by step name.
  [[nodiscard]] const std::map<std::string, Json>& outputs() const noexcept { return outputs_; }
  // "<run id>:<step>" ("<run id>:<step>:<item index>" for an item of a map
  // step): the same on every attempt of this step of this run, so an
  // upstream can deduplicate the side effects of retries.
  [[nodiscard]] std::string idempotency_key() const {
    return run_id_ + ":" + step_ + (item_index_ >= 0 ? ":" + std::to_string(item_index_) : std::string());
  }
  // A map step's item (MapSpec): its element of the `over` array, and its
  // index there (from 0). null and -1 for any other step.
  [[nodiscard]] const Json& item() const noexcept { return item_; }
  [[nodiscard]] std::int64_t item_index() const noexcept { return item_index_; }

  // True once the run was cancelled, the step timed out, the worker is
  // shutting down past its drain timeout, or the worker lost this step's
  // lease. A long handler should check it and return early; whatever it
  // returns then is not recorded as a success.
  [[nodiscard]] bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }

  // Blocks up to `d`, returning early once cancelled; returns cancelled().
  // For handlers that wait (a backoff, a poll interval): one wake-up instead
  // of polling cancelled() in a loop.
  bool wait_cancelled_for(std::chrono::milliseconds d) const;

  // Reports progress: the fraction done (clamped to [0, 1]; NaN or nullopt =
  // not known) and a short message (cut at kMaxProgressMessageBytes, on a
  // UTF-8 boundary). Only the latest report counts: the worker hands it to
  // Redis with its next lease renewal, at most once a second, and `steadfast
  // status` shows it per step. Optional: leases are renewed by the worker on
  // their own.
  void heartbeat(std::optional<double> progress = std::nullopt, std::string message = {});
  static constexpr std::size_t kMaxProgressMessageBytes = 1024;

  // Logs a line tagged with the run, step and attempt.
  void log(std::string_view message) const;

  // The signed URL that sends the signal of `wait_step` (a signal wait of
  // this workflow) to this run: a POST of a JSON body to it, with no token,
  // completes that wait with the body (see README, "Signals and
  // approvals"). nullopt when the worker has no public URL and signing key
  // (WorkerOptions::public_url, signing_key_file). The workflow is not
  // checked here: a URL for a step that is no signal wait is answered 404.
  [[nodiscard]] std::optional<std::string> callback_url(std::string_view wait_step) const;

  // --- for the worker runtime ---
  // How callback_url() makes URLs: (run id, step) -> URL. Set before the handler runs.
  using CallbackMaker = std::function<std::string(std::string_view run_id, std::string_view step)>;
  void set_callback_maker(CallbackMaker maker) { callback_maker_ = std::move(maker); }
  // Makes this the context of item `index` of a map step. Before the handler runs.
  void set_item(Json item, std::int64_t index) {
    item_ = std::move(item);
    item_index_ = index;
  }
  void request_cancel() noexcept;
  // The latest report since the last call, or nullopt if none came since
  // (each report is handed out once).
  [[nodiscard]] std::optional<StepProgress> take_progress();

 private:
  std::string run_id_;
  std::string workflow_;
  std::string step_;
  int attempt_;
  Json input_;
  std::map<std::string, Json> outputs_;
  Json item_;
  std::int64_t item_index_ = -1;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex cancel_mu_;  // with cancel_cv_: wakes wait_cancelled_for()
  mutable std::condition_variable cancel_cv_;
  std::mutex progress_mu_;  // guards progress_
  std::optional<StepProgress> progress_;  // reported, not taken yet
  CallbackMaker callback_maker_;          // empty = no callback URLs
};

// A step's code. Runs on the worker's executor pool; may block (network calls,
// subprocesses). Exceptions it throws are taken as retryable errors.
using StepHandler = std::function<StepResult(StepContext&)>;

// How an asynchronous step hands back its result: call it exactly once, from
// any thread (later calls are ignored).
using StepDone = std::function<void(StepResult)>;

// A step's code that holds no thread while it waits (Workflow::async_step):
// it starts its work and returns at once, on the worker's event loop, so it
// must never block; the work calls `done` when it ends. It keeps `ctx` for as
// long as it needs it and should end soon after ctx->cancelled() (the
// worker's timeout and cancellation set it, as for a StepHandler). An
// exception thrown before it returns is a retryable error, and `done` is not
// to be called then. Thousands may be in flight on one worker: the `http`
// kind is one (one event-loop thread drives every transfer of the process).
using AsyncStepHandler = std::function<void(std::shared_ptr<StepContext> ctx, StepDone done)>;

}  // namespace steadfast
