// The JSON shapes of the run explorer's records — a worker (CONTRACTS.md §4),
// a limiter with its state, an audit entry — built once for the API
// (GET /v1/workers, /v1/limiters, /v1/audit) and the CLI (`workers`,
// `limiters`, `audit --json`). Pure.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "steadfast/json.h"
#include "store/store.h"

namespace steadfast::store {

// {"id", "kind": "native", "host", "pid", "queues", "tasks" ("<workflow>.<step>"),
//  "concurrency", "in_flight", "started_at", "beat_at", "version"} from what a
// worker registered (Store::workers()).
[[nodiscard]] Json worker_record(const Json& registered);

// {"name", "paused", "entries", "in_flight", "waiting" (entries not claimed,
//  and an ordered queue's backlog), "workers" (registered workers reading it),
//  "backlog", "backlog_by_priority" ({"<level>": n} for the levels with
//  tokens), "active_keys" (Store::QueueDepth), "throughput_per_minute"
//  (entries delivered in the newest sampled minute: recent_queue_throughput;
//  null when not sampled)}
[[nodiscard]] Json queue_record(const Store::QueueDepth& depth, bool paused, const std::vector<Json>& workers,
                                std::optional<std::int64_t> throughput_per_minute);

// Every queue's record, in the order of `depths`; `throughput`: by queue
// name, as recent_queue_throughput answers it (a queue missing has null).
[[nodiscard]] std::vector<Json> queue_records(const std::vector<Store::QueueDepth>& depths,
                                              const std::set<std::string>& paused, const std::vector<Json>& workers,
                                              const std::map<std::string, std::int64_t>& throughput);

// A limiter's admissions and waits in the minute now_ms is in (so far) and
// in the whole minute before it, from the two minutes limit_acquire.lua
// counted last (0 for a minute it did not count: no call then).
struct RecentLimiterCounts {
  std::int64_t admitted_this_minute = 0;
  std::int64_t waits_this_minute = 0;
  std::int64_t admitted_last_minute = 0;
  std::int64_t waits_last_minute = 0;
  friend bool operator==(const RecentLimiterCounts&, const RecentLimiterCounts&) = default;
};
[[nodiscard]] RecentLimiterCounts recent_limiter_counts(const Store::LimiterState::Minutes& counted,
                                                        std::int64_t now_ms);

// {"name", "bounds", "tokens" (null without a token rate), "holders",
//  "paused_until" (null unless paused), "waits", "admitted" (totals),
//  "recent": {"admitted_this_minute", "waits_this_minute",
//  "admitted_last_minute", "waits_last_minute"}}
[[nodiscard]] Json to_json(const Store::LimiterState& limiter);

// {"id", "at", "who", "action", "target", "detail"}
[[nodiscard]] Json to_json(const Store::AuditEntry& entry);

}  // namespace steadfast::store
