// Bulk operations on runs (POST /v1/runs:bulk, `dlq replay --all`): what a
// request asks, which runs a job walks, and what each run's answer counts as.
// Pure: the job's state and its runner live in store/bulk.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/run_filter.h"
#include "steadfast/json.h"

namespace steadfast::engine {

enum class BulkAction { cancel, replay };

[[nodiscard]] std::string_view to_string(BulkAction action) noexcept;

struct BulkRequest {
  BulkAction action = BulkAction::cancel;
  RunFilter filter;
  friend bool operator==(const BulkRequest&, const BulkRequest&) = default;
};

// {"action": "cancel"|"replay", "filter": {...}} (filter optional: every
// run). Throws std::invalid_argument naming the member and what is wrong: not
// an object, an unknown member (also inside filter), a missing or unknown
// action, a bad filter (engine::run_filter_from_json), a cancel without any
// condition (it would cancel every run), or a replay with a status other than
// failed (only failed runs can be replayed).
[[nodiscard]] BulkRequest parse_bulk_request(const Json& body);

// The filter a job walks: the request's, with replay's status set to failed,
// and created_before at most the job's creation (`created_at_ms`, Redis ms;
// the bound is exclusive, so a run created in that very millisecond is
// included). Runs submitted after the job was made are never touched.
[[nodiscard]] RunFilter bulk_walk_filter(const BulkRequest& request, std::int64_t created_at_ms);

// What one run's answer counts as in a job's progress.
enum class BulkOutcome {
  succeeded,  // cancelled or replayed by this job
  skipped,    // nothing to do: already ended (cancel), no longer failed or dead-lettered (replay), gone
};

// Store::cancel's answer: "cancelled" and "cancelling" succeeded; "terminal:*"
// and "missing" are skipped. Throws std::invalid_argument for anything else.
[[nodiscard]] BulkOutcome cancel_outcome(std::string_view result);

// Whether a refused replay (Store::dlq_replay's std::invalid_argument, or
// replay.lua's error reply) means the run no longer needs one — it is not in
// the dead-letter queue, not failed, or gone: skipped. False for any other
// error (Redis unreachable, say), which the job retries.
[[nodiscard]] bool replay_refusal_is_skip(std::string_view message) noexcept;

}  // namespace steadfast::engine
