// Step kinds for tests, benchmarks and fault injection. Each is a Factory
// (see kind_registry.h): it checks `with` and throws std::invalid_argument
// naming the bad key.
#pragma once

#include "steadfast/json.h"
#include "steadfast/step.h"

namespace steadfast::steps {

// `noop`: output {}. Takes no parameters.
[[nodiscard]] StepHandler noop_kind(const Json& with);

// `stamp`: output {"started_ns": N}, the handler's start on the steady clock
// (CLOCK_MONOTONIC: comparable between processes of one machine), for
// measuring pickup latency. Takes no parameters.
[[nodiscard]] StepHandler stamp_kind(const Json& with);

// `sleep {ms}`: sleeps ms milliseconds (0..86400000), woken at once by
// cancellation (ctx.wait_cancelled_for); cancelled, it fails as retryable with
// "cancelled". Output {"slept_ms": ms}.
[[nodiscard]] StepHandler sleep_kind(const Json& with);

// `fail {times, fatal = false}`: attempts 1..times fail (retryable, or fatal)
// with "injected failure N of times"; later attempts output {"attempt": N}.
[[nodiscard]] StepHandler fail_kind(const Json& with);

// `crash {times}`: attempts 1..times call std::abort(), killing the worker
// process on purpose (fault tests); later attempts output {"attempt": N}.
[[nodiscard]] StepHandler crash_kind(const Json& with);

}  // namespace steadfast::steps
