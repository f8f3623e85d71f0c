#include "store/bulk.h"

#include <charconv>
#include <stdexcept>

#include "engine/rfc3339.h"
#include "redis/error.h"
#include "store/run_id.h"
#include "store/run_view.h"
#include "store/scripts.h"
#include "store/store.h"

namespace steadfast::store {

namespace {

std::int64_t number(const Fields& f, const char* name) {
  const auto it = f.find(name);
  if (it == f.end()) return 0;
  std::int64_t v = 0;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return v;
}

std::string text(const Fields& f, const char* name) {
  const auto it = f.find(name);
  return it == f.end() ? std::string() : it->second;
}

BulkJob to_job(std::string_view id, const Fields& f) {
  BulkJob job;
  job.id = std::string(id);
  job.request.action = text(f, "action") == "replay" ? engine::BulkAction::replay : engine::BulkAction::cancel;
  const Json filter = Json::parse(text(f, "filter"), nullptr, false);
  if (filter.is_object()) job.request.filter = engine::run_filter_from_json(filter);
  job.who = text(f, "who");
  job.status = text(f, "status");
  job.created_at_ms = number(f, "created_at");
  job.updated_at_ms = number(f, "updated_at");
  job.finished_at_ms = number(f, "finished_at");
  job.cursor = text(f, "cursor");
  job.matched = number(f, "matched");
  job.succeeded = number(f, "succeeded");
  job.skipped = number(f, "skipped");
  job.owner = text(f, "owner");
  job.lease_until_ms = number(f, "lease_until");
  job.claims = number(f, "claims");
  job.error = text(f, "error");
  job.stopped_by = text(f, "stopped_by");
  return job;
}

Json time_or_null(std::int64_t ms) { return ms > 0 ? Json(engine::rfc3339_ms(ms)) : Json(nullptr); }

}  // namespace

Json to_json(const BulkJob& job) {
  return {{"id", job.id},
          {"action", std::string(engine::to_string(job.request.action))},
          {"filter", engine::run_filter_to_json(job.request.filter)},
          {"who", job.who},
          {"status", job.status},
          {"created_at", time_or_null(job.created_at_ms)},
          {"updated_at", time_or_null(job.updated_at_ms)},
          {"finished_at", time_or_null(job.finished_at_ms)},
          {"matched", job.matched},
          {"succeeded", job.succeeded},
          {"skipped", job.skipped},
          {"holder", job.owner.empty() ? Json(nullptr) : Json(job.owner)},
          {"lease_until", time_or_null(job.lease_until_ms)},
          {"claims", job.claims},
          {"error", job.error.empty() ? Json(nullptr) : Json(job.error)},
          {"stopped_by", job.stopped_by.empty() ? Json(nullptr) : Json(job.stopped_by)}};
}

asio::awaitable<BulkJob> create_bulk_job(Store& store, const engine::BulkRequest& request, std::string who) {
  const KeySpace& keys = store.keys();
  BulkJob job;
  job.id = new_run_id();
  job.request = request;
  job.who = std::move(who);
  job.status = "queued";
  const std::vector<std::string> script_keys{keys.bulk_job(job.id), keys.bulk_jobs(), keys.bulk_active()};
  const std::vector<std::string> args{job.id, std::string(engine::to_string(request.action)),
                                      engine::run_filter_to_json(request.filter).dump(), job.who,
                                      std::to_string(kBulkKeep.count())};
  const redis::Reply r = co_await store.client().eval(scripts::bulk_create(), script_keys, args);
  job.created_at_ms = job.updated_at_ms = r.as_integer();
  co_return job;
}

asio::awaitable<std::optional<BulkJob>> read_bulk_job(Store& store, std::string_view id) {
  const redis::Reply r = co_await store.client().command("HGETALL", store.keys().bulk_job(id));
  if (r.is_error()) throw redis::ServerError(std::string(r.str()));
  if (r.size() == 0) co_return std::nullopt;
  co_return to_job(id, to_fields(r));
}

asio::awaitable<std::vector<BulkJob>> recent_bulk_jobs(Store& store, std::size_t limit) {
  std::vector<BulkJob> out;
  if (limit == 0) co_return out;
  const redis::Reply ids = co_await store.client().command("ZRANGE", store.keys().bulk_jobs(), "+inf", "-inf",
                                                           "BYSCORE", "REV", "LIMIT", "0",
                                                           static_cast<long long>(limit));
  if (ids.is_error()) throw redis::ServerError(std::string(ids.str()));
  std::vector<std::string> names;
  for (const redis::Reply& id : ids.elements()) names.emplace_back(id.str());
  for (const std::string& id : names) {
    std::optional<BulkJob> job = co_await read_bulk_job(store, id);
    if (job) out.push_back(std::move(*job));  // a done job past kBulkKeep: its hash expired
  }
  co_return out;
}

asio::awaitable<std::optional<BulkJob>> claim_bulk_job_by_id(Store& store, std::string_view id,
                                                             std::string_view owner,
                                                             std::chrono::milliseconds lease) {
  const KeySpace& keys = store.keys();
  const std::vector<std::string> script_keys{keys.bulk_job(id), keys.bulk_active()};
  const std::vector<std::string> args{std::string(id), std::string(owner), std::to_string(lease.count())};
  const redis::Reply r = co_await store.client().eval(scripts::bulk_claim(), script_keys, args);
  if (r.size() != 2 || r[0].str() != "claimed") co_return std::nullopt;
  co_return to_job(id, to_fields(r[1]));
}

asio::awaitable<std::optional<BulkJob>> claim_bulk_job(Store& store, std::string_view owner,
                                                       std::chrono::milliseconds lease) {
  // The lowest lease ends first: never-claimed jobs (0), then lapsed leases.
  // Whether a lease has lapsed is the script's decision, on Redis' clock.
  const redis::Reply candidates = co_await store.client().command("ZRANGE", store.keys().bulk_active(), "0", "9");
  if (candidates.is_error()) throw redis::ServerError(std::string(candidates.str()));
  std::vector<std::string> ids;
  for (const redis::Reply& id : candidates.elements()) ids.emplace_back(id.str());
  for (const std::string& id : ids) {
    std::optional<BulkJob> job = co_await claim_bulk_job_by_id(store, id, owner, lease);
    if (job) co_return job;
  }
  co_return std::nullopt;
}

asio::awaitable<BulkStop> stop_bulk_job(Store& store, std::string_view id, std::string_view who) {
  const KeySpace& keys = store.keys();
  const std::vector<std::string> script_keys{keys.bulk_job(id), keys.bulk_active()};
  const std::vector<std::string> args{std::string(id), std::string(who), std::to_string(kBulkKeep.count())};
  const redis::Reply r = co_await store.client().eval(scripts::bulk_stop(), script_keys, args);
  if (r.str() == "stopped") co_return BulkStop::stopped;
  co_return r.str() == "done" ? BulkStop::ended : BulkStop::missing;
}

namespace {

struct PageCounts {
  std::int64_t matched = 0;
  std::int64_t succeeded = 0;
  std::int64_t skipped = 0;
};

enum class Recorded { ok, lost, stopped };

// Records a page, unless the job is no longer `owner`'s or was stopped.
asio::awaitable<Recorded> record_page(Store& store, BulkJob& job, const BulkRunOptions& options, const PageCounts& c,
                                  const std::string& cursor, bool done, const std::string& error) {
  const KeySpace& keys = store.keys();
  const std::vector<std::string> script_keys{keys.bulk_job(job.id), keys.bulk_active()};
  const std::vector<std::string> args{job.id,
                                      options.owner,
                                      cursor,
                                      std::to_string(c.matched),
                                      std::to_string(c.succeeded),
                                      std::to_string(c.skipped),
                                      std::to_string(options.lease.count()),
                                      done ? "1" : "0",
                                      std::to_string(kBulkKeep.count()),
                                      error};
  const redis::Reply r = co_await store.client().eval(scripts::bulk_progress(), script_keys, args);
  if (r.str() == "stopped") co_return Recorded::stopped;
  if (r.str() != "ok") co_return Recorded::lost;
  job.cursor = cursor;
  job.matched += c.matched;
  job.succeeded += c.succeeded;
  job.skipped += c.skipped;
  if (!error.empty()) job.error = error;
  if (done) job.status = "done";
  co_return Recorded::ok;
}

// One run's outcome; throws for an error that is not a "nothing to do".
asio::awaitable<engine::BulkOutcome> act(Store& store, engine::BulkAction action, const std::string& run_id,
                                         std::chrono::milliseconds retention) {
  if (action == engine::BulkAction::cancel) {
    const std::string result = co_await store.cancel(run_id, retention);
    co_return engine::cancel_outcome(result);
  }
  std::string refusal;
  try {
    (void)co_await store.dlq_replay(run_id);
    co_return engine::BulkOutcome::succeeded;
  } catch (const std::invalid_argument& e) {
    refusal = e.what();
  } catch (const redis::ServerError& e) {
    if (!engine::replay_refusal_is_skip(e.what())) throw;
    refusal = e.what();
  }
  if (!engine::replay_refusal_is_skip(refusal)) throw std::runtime_error("replay of " + run_id + ": " + refusal);
  co_return engine::BulkOutcome::skipped;
}

}  // namespace

asio::awaitable<BulkRunEnd> run_bulk_job(Store& store, BulkJob& job, const BulkRunOptions& options) {
  const engine::RunFilter walk = engine::bulk_walk_filter(job.request, job.created_at_ms);
  for (;;) {
    if (options.stopping && options.stopping()) co_return BulkRunEnd::stopped;
    PageCounts counts;
    std::string next_cursor;
    std::string error;
    try {
      const RunPage page = co_await store.list_runs(walk, options.page, job.cursor);
      for (const RunSummary& run : page.runs) {
        ++counts.matched;
        const engine::BulkOutcome outcome = co_await act(store, job.request.action, run.id, options.retention);
        ++(outcome == engine::BulkOutcome::succeeded ? counts.succeeded : counts.skipped);
      }
      next_cursor = page.next_cursor;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      // Best effort: the page is tried again by whoever claims the job next.
      try {
        (void)co_await record_page(store, job, options, {}, job.cursor, false, error);
      } catch (const std::exception&) {
      }
      throw std::runtime_error("bulk job " + job.id + ": " + error);
    }
    const bool done = next_cursor.empty();
    const Recorded recorded = co_await record_page(store, job, options, counts, next_cursor, done, "");
    if (recorded == Recorded::lost) co_return BulkRunEnd::lost;
    if (recorded == Recorded::stopped) co_return BulkRunEnd::operator_stopped;
    if (options.on_page) options.on_page(job);
    if (done) co_return BulkRunEnd::done;
  }
}

}  // namespace steadfast::store
