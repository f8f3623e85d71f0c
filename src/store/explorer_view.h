// The JSON shapes of the run explorer's records — a worker (CONTRACTS.md §4),
// a limiter with its state, an audit entry — built once for the API
// (GET /v1/workers, /v1/limiters, /v1/audit) and the CLI (`workers`,
// `limiters`, `audit --json`). Pure.
#pragma once

#include "steadfast/json.h"
#include "store/store.h"

namespace steadfast::store {

// {"id", "kind": "native", "host", "pid", "queues", "tasks" ("<workflow>.<step>"),
//  "concurrency", "in_flight", "started_at", "beat_at", "version"} from what a
// worker registered (Store::workers()).
[[nodiscard]] Json worker_record(const Json& registered);

// {"name", "paused", "entries", "in_flight", "waiting" (entries not claimed),
//  "workers" (registered workers reading it)}
[[nodiscard]] Json queue_record(const Store::QueueDepth& depth, bool paused, const std::vector<Json>& workers);

// {"name", "bounds", "tokens" (null without a token rate), "holders",
//  "paused_until" (null unless paused), "waits"}
[[nodiscard]] Json to_json(const Store::LimiterState& limiter);

// {"id", "at", "who", "action", "target", "detail"}
[[nodiscard]] Json to_json(const Store::AuditEntry& entry);

}  // namespace steadfast::store
