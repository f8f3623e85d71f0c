#include "store/run_index.h"

#include <algorithm>
#include <limits>
#include <map>

#include "redis/checked.h"
#include "redis/error.h"
#include "redis/pipeline.h"
#include "store/run_id.h"

namespace steadfast::store {

namespace asio = boost::asio;
using redis::Pipeline;
using redis::Reply;

std::string_view status_group(std::string_view run_status) noexcept {
  if (run_status == "completed" || run_status == "failed" || run_status == "cancelled") return run_status;
  return "live";
}

std::vector<std::string> run_index_keys(const KeySpace& keys, int partition, std::string_view workflow,
                                        const engine::RunMetadata& metadata, std::string_view group) {
  std::vector<std::string> out{keys.index_all(partition), keys.index_workflow(partition, workflow)};
  if (group != "completed") out.push_back(keys.index_status(partition, group));
  for (const auto& [k, v] : metadata) out.push_back(keys.index_meta(partition, k, v));
  return out;
}

std::vector<std::string> covering_indexes(const KeySpace& keys, int partition, const engine::RunFilter& filter) {
  std::vector<std::string> out;
  if (!filter.status.empty() && status_group(filter.status) != "completed") {
    out.push_back(keys.index_status(partition, status_group(filter.status)));
  }
  if (!filter.workflow.empty()) out.push_back(keys.index_workflow(partition, filter.workflow));
  for (const auto& [k, v] : filter.meta) out.push_back(keys.index_meta(partition, k, v));
  if (out.empty()) out.push_back(keys.index_all(partition));
  return out;
}

LexRange lex_range(const engine::RunFilter& filter, std::string_view cursor, std::int64_t clock_slack_ms) {
  LexRange r;
  std::string upper;  // exclusive; empty = none
  if (!cursor.empty()) upper = std::string(cursor);
  if (filter.created_before_ms) {
    const std::int64_t b = *filter.created_before_ms;
    const std::string bound =
        run_id_time_prefix(b > std::numeric_limits<std::int64_t>::max() - clock_slack_ms ? b : b + clock_slack_ms);
    if (upper.empty() || bound < upper) upper = bound;
  }
  if (!upper.empty()) r.upper = "(" + upper;
  if (filter.created_after_ms) r.lower = "[" + run_id_time_prefix(*filter.created_after_ms - clock_slack_ms);
  return r;
}

bool matches(const engine::RunFilter& filter, const RunSummary& run) {
  if (!filter.workflow.empty() && run.workflow != filter.workflow) return false;
  if (!engine::status_matches(filter.status, run.status)) return false;
  for (const auto& [k, v] : filter.meta) {
    const auto it = run.metadata.find(k);
    if (it == run.metadata.end() || it->second != v) return false;
  }
  if (filter.created_after_ms && !(run.created_at_ms > *filter.created_after_ms)) return false;
  if (filter.created_before_ms && !(run.created_at_ms < *filter.created_before_ms)) return false;
  return true;
}

std::size_t list_first_chunk(const engine::RunFilter& filter, std::size_t limit) {
  const std::size_t conditions = (filter.workflow.empty() ? 0 : 1) + (filter.status.empty() ? 0 : 1) + filter.meta.size();
  const bool status_has_own_index = filter.status == "failed" || filter.status == "cancelled" || filter.status == "live";
  const bool exact = conditions == 0 || (conditions == 1 && (filter.status.empty() || status_has_own_index));
  if (exact) return std::min<std::size_t>(limit + 1, 1000);
  return std::clamp<std::size_t>(2 * limit, 64, 1000);
}

namespace {

using redis::checked;

std::int64_t integer_or_zero(const Reply& r) {
  if (r.is_nil()) return 0;
  const std::string s(r.str());
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  return end && *end == '\0' ? v : 0;
}

}  // namespace



asio::awaitable<RunPage> list_runs(redis::Client& client, const KeySpace& keys, const engine::RunFilter& filter,
                                   std::size_t limit, std::string_view cursor) {
  const int partitions = keys.partitions();
  limit = std::max<std::size_t>(limit, 1);

  // The smallest covering index, counted over every partition.
  std::vector<std::vector<std::string>> candidates;
  Pipeline counts;
  for (int p = 0; p < partitions; ++p) {
    candidates.push_back(covering_indexes(keys, p, filter));
    for (const std::string& key : candidates.back()) counts.add("ZCARD", key);
  }
  const std::vector<Reply> sizes = co_await client.exec(std::move(counts));
  const std::size_t per = candidates.front().size();
  std::size_t best = 0;
  std::int64_t best_size = std::numeric_limits<std::int64_t>::max();
  for (std::size_t c = 0; c < per; ++c) {
    std::int64_t total = 0;
    for (int p = 0; p < partitions; ++p) total += sizes[static_cast<std::size_t>(p) * per + c].as_integer();
    if (total < best_size) best = c, best_size = total;
  }

  struct Walk {
    std::string key;
    std::string upper;
    std::string last;  // the lowest id read so far
    bool done = false;
  };
  const LexRange range = lex_range(filter, cursor);
  std::vector<Walk> walks;
  for (int p = 0; p < partitions; ++p) {
    walks.push_back({candidates[static_cast<std::size_t>(p)][best], range.upper, {}, false});
  }
  // Ids read per partition and round (list_first_chunk), doubling (to 1000)
  // while the filter keeps rejecting what is read.
  long long chunk = static_cast<long long>(list_first_chunk(filter, limit));

  RunPage page;
  std::vector<RunSummary> pool;  // matching, read, not yet placed on the page
  std::size_t examined = 0;
  for (;;) {
    const auto active = static_cast<std::size_t>(
        std::count_if(walks.begin(), walks.end(), [](const Walk& w) { return !w.done; }));
    if (active == 0) break;
    // Never read past the budget: the last round reads what is left of it.
    chunk = std::min<long long>(chunk, static_cast<long long>(
                                           std::max<std::size_t>(1, (kListExamineBudget - examined) / active)));
    Pipeline fetch;
    std::vector<std::size_t> asked;
    for (std::size_t p = 0; p < walks.size(); ++p) {
      if (walks[p].done) continue;
      fetch.add("ZRANGE", walks[p].key, walks[p].upper, range.lower, "BYLEX", "REV", "LIMIT", 0, chunk);
      asked.push_back(p);
    }
    if (asked.empty()) break;
    const std::vector<Reply> fetched = co_await client.exec(std::move(fetch));
    std::vector<std::pair<std::size_t, std::string>> ids;
    for (std::size_t i = 0; i < asked.size(); ++i) {
      Walk& w = walks[asked[i]];
      const Reply& r = checked(fetched[i]);
      for (const Reply& id : r.elements()) ids.emplace_back(asked[i], std::string(id.str()));
      if (static_cast<long long>(r.size()) < chunk) w.done = true;
      if (r.size() > 0) {
        w.last = std::string(r[r.size() - 1].str());
        w.upper = "(" + w.last;
      }
    }
    if (!ids.empty()) {
      Pipeline reads;
      for (const auto& [p, id] : ids) {
        reads.add("HMGET", keys.run(id), "workflow", "status", "created_at", "updated_at", "metadata", "run_at");
      }
      const std::vector<Reply> rows = co_await client.exec(std::move(reads));
      Pipeline orphans;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const Reply& r = checked(rows[i]);
        if (r[1].is_nil()) {
          orphans.add("ZREM", walks[ids[i].first].key, ids[i].second);
          continue;
        }
        // The cheap conditions first: a run another workflow's or status's is
        // dropped before its metadata JSON is parsed.
        const std::string_view workflow = r[0].is_nil() ? std::string_view() : r[0].str();
        if ((!filter.workflow.empty() && workflow != filter.workflow) ||
            !engine::status_matches(filter.status, r[1].str())) {
          continue;
        }
        RunSummary s{ids[i].second,         std::string(workflow),
                     std::string(r[1].str()), integer_or_zero(r[2]),
                     integer_or_zero(r[3]),  engine::stored_metadata(r[4].is_nil() ? "" : r[4].str()),
                     integer_or_zero(r[5])};
        if (matches(filter, s)) pool.push_back(std::move(s));
      }
      if (!orphans.empty()) co_await client.exec(std::move(orphans));
      examined += ids.size();
    }

    // Every id at or above the frontier has been read in every partition.
    std::string frontier;
    for (const Walk& w : walks) {
      if (!w.done && w.last > frontier) frontier = w.last;
    }
    std::sort(pool.begin(), pool.end(), [](const RunSummary& a, const RunSummary& b) { return a.id > b.id; });
    std::size_t placed = 0;
    while (placed < pool.size() && page.runs.size() < limit && (frontier.empty() || pool[placed].id >= frontier)) {
      page.runs.push_back(std::move(pool[placed++]));
    }
    pool.erase(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(placed));
    const bool all_done = std::all_of(walks.begin(), walks.end(), [](const Walk& w) { return w.done; });
    if (page.runs.size() == limit) {
      if (!all_done || !pool.empty()) page.next_cursor = page.runs.back().id;
      break;
    }
    if (all_done) break;
    if (examined >= kListExamineBudget) {
      page.next_cursor = frontier;
      break;
    }
    chunk = std::min<long long>(chunk * 2, 1000);
  }
  co_return page;
}

}  // namespace steadfast::store
