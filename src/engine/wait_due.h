// When a durable wait (WaitSpec, the `wait` kind) is due: pure, from the
// spec, the run's data and the Redis time of the step's claim.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "steadfast/json.h"
#include "steadfast/workflow.h"

namespace steadfast::engine {

// Why a wait has no due time: its `until` renders to no time, or one more
// than kMaxWait ahead. what() names the value; the step fails as fatal.
struct WaitDueError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The due time (Unix ms). `stored_ms` is the one an earlier claim parked the
// step with (the run's s.<step>.wake_at): kept, so a `for` counts from the
// first claim however often the step is claimed again. Otherwise `for` is
// claimed_at_ms + duration, and `until` renders its template on the run's
// input and earlier outputs: an RFC 3339 time ("2026-12-24T08:00:00Z",
// fractions and offsets allowed) or Unix milliseconds (digits). Throws
// WaitDueError for anything else, or for a time more than kMaxWait after
// claimed_at_ms.
[[nodiscard]] std::int64_t wait_due_ms(const WaitSpec& spec, const Json& input,
                                       const std::map<std::string, Json>& outputs,
                                       std::optional<std::int64_t> stored_ms, std::int64_t claimed_at_ms);

}  // namespace steadfast::engine
