// Bulk jobs: cancel or replay every run a filter selects, as a job that
// survives the process doing it. A job is a hash (KeySpace::bulk_job) made by
// bulk_create.lua; any `serve` (or the CLI that made it) claims it with a
// lease (bulk_claim.lua) and walks the runs newest first, a page at a time,
// recording each page's counts, its cursor and a renewed lease in one fenced
// script (bulk_progress.lua). If the holder dies, the lease ends and another
// claims the job and goes on from the last recorded cursor. The page in
// progress is then done again: cancelling or replaying a run twice is a no-op
// the second time (counted as skipped), so no run is acted on wrongly and
// none is missed; only `succeeded` may undercount by that page.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/bulk.h"
#include "steadfast/json.h"

namespace steadfast::store {

class Store;

// How long a holder keeps a job without recording a page.
inline constexpr std::chrono::milliseconds kBulkLease{30'000};
// How long a done job can still be read (GET /v1/bulk/{id}), and listed.
inline constexpr std::chrono::milliseconds kBulkKeep{7LL * 24 * 3600 * 1000};
// Runs per page: one list_runs call and one progress record.
inline constexpr std::size_t kBulkPage = 100;

struct BulkJob {
  std::string id;  // a run-id-shaped ULID (time-ordered)
  engine::BulkRequest request;
  std::string who;     // as in the audit log
  std::string status;  // queued (never claimed), running, done, stopped (stop_bulk_job)
  std::int64_t created_at_ms = 0;  // Redis ms; also the newest creation time a run it walks may have
  std::int64_t updated_at_ms = 0;
  std::int64_t finished_at_ms = 0;  // when it was done or stopped; 0 = neither yet
  std::string cursor;               // the walk goes on below this run id; empty = from the newest
  std::int64_t matched = 0;         // runs the filter selected so far
  std::int64_t succeeded = 0;       // cancelled or replayed by the job
  std::int64_t skipped = 0;         // nothing to do (bulk.h: engine::BulkOutcome)
  std::string owner;                // the holder's name; empty = never claimed
  std::int64_t lease_until_ms = 0;  // 0 when done or never claimed
  std::int64_t claims = 0;          // how many times a holder took it (> 1: it was taken over)
  std::string error;                // why a page last failed (it is tried again); empty = never
  std::string stopped_by;           // who stopped it (as in the audit log); empty = not stopped
};

// The API's shape (GET /v1/bulk/{id}): times as RFC 3339, null when not yet.
[[nodiscard]] Json to_json(const BulkJob& job);

// Makes a queued job; throws what Redis throws.
boost::asio::awaitable<BulkJob> create_bulk_job(Store& store, const engine::BulkRequest& request, std::string who);

// nullopt: no such job (never made, or expired kBulkKeep after it was done).
boost::asio::awaitable<std::optional<BulkJob>> read_bulk_job(Store& store, std::string_view id);

// The newest jobs still kept, newest first, at most `limit`.
boost::asio::awaitable<std::vector<BulkJob>> recent_bulk_jobs(Store& store, std::size_t limit);

// Claims one active job whose lease ended (or that was never claimed, or
// that `owner` itself holds) for `owner` until now + lease; nullopt if none.
boost::asio::awaitable<std::optional<BulkJob>> claim_bulk_job(Store& store, std::string_view owner,
                                                              std::chrono::milliseconds lease = kBulkLease);

// Claims the job `id` (as claim_bulk_job); nullopt when it is held by
// another owner's unexpired lease, done, or unknown.
boost::asio::awaitable<std::optional<BulkJob>> claim_bulk_job_by_id(Store& store, std::string_view id,
                                                                    std::string_view owner,
                                                                    std::chrono::milliseconds lease = kBulkLease);

enum class BulkStop { stopped, ended, missing };

// Stops a job that is neither done nor stopped: no one claims it again, and
// its holder stops after the page in progress (bulk_stop.lua). `ended`: it
// was done or stopped already (nothing changed); `missing`: no such job.
boost::asio::awaitable<BulkStop> stop_bulk_job(Store& store, std::string_view id, std::string_view who);

struct BulkRunOptions {
  std::string owner;
  std::chrono::milliseconds lease = kBulkLease;
  // The retention of runs a cancel ends (as the cancel endpoint's).
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  std::size_t page = kBulkPage;
  // Asked between pages; true stops the walk (the lease then runs out and
  // another holder goes on). Empty = never.
  std::function<bool()> stopping;
  // Called after each recorded page with the job as it now is. Empty = none.
  std::function<void(const BulkJob&)> on_page;
};

enum class BulkRunEnd {
  done,
  lost,             // another holder took the job (this one's lease had ended)
  stopped,          // options.stopping said so
  operator_stopped  // stop_bulk_job
};

// Walks a claimed job to its end from job.cursor, acting on each run and
// recording each page (job is updated as recorded).
// An error of Redis is thrown after being recorded in the job (best effort);
// the caller claims the job again to retry the page.
boost::asio::awaitable<BulkRunEnd> run_bulk_job(Store& store, BulkJob& job, const BulkRunOptions& options);

}  // namespace steadfast::store
