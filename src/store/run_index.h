// The run indexes (CONTRACTS.md §5) and the run list that pages through them.
//
// Per partition, lex-ordered ZSETs of run ids (keys.h: index_*): every run,
// per workflow, per status group (live / failed / cancelled; completed runs,
// most of any retention, are found by filtering every run: one write fewer
// on the hot path) and per metadata pair. submit.lua adds a run to all of them; the scripts that
// end a run (complete, dead_letter, drop, cancel) and replay move it between
// the status groups; expire.lua (retention) and purge.lua remove it. Nothing
// is written per step. A list request reads the smallest index that covers
// its filter, newest id first, and checks the remaining conditions on the run
// hashes (HMGET): no SCAN on any request path.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/run_filter.h"
#include "engine/run_metadata.h"
#include "redis/client.h"
#include "store/keys.h"

namespace steadfast::store {

// "completed", "failed", "cancelled" for those run statuses; "live" for every other.
[[nodiscard]] std::string_view status_group(std::string_view run_status) noexcept;

// Every index a run is in: all, its workflow, its status group (none for
// "completed"), one per metadata pair.
[[nodiscard]] std::vector<std::string> run_index_keys(const KeySpace& keys, int partition,
                                                      std::string_view workflow,
                                                      const engine::RunMetadata& metadata,
                                                      std::string_view status_group);

// The index keys (in one partition) that each hold every run `filter` can
// match: the candidates a list walks, the smallest first once counted.
[[nodiscard]] std::vector<std::string> covering_indexes(const KeySpace& keys, int partition,
                                                        const engine::RunFilter& filter);

// The id range to walk, as ZRANGE ... BYLEX REV bounds: `upper` ("+" or
// "(<id>") below the cursor (exclusive, a run id; empty = from the newest)
// and created_before, `lower` ("-" or "[<prefix>") from created_after. The
// creation-time bounds are widened by `clock_slack_ms` (an id carries the
// submitter's clock, created_at Redis'): the run hash's created_at decides.
struct LexRange {
  std::string upper = "+";
  std::string lower = "-";
};
[[nodiscard]] LexRange lex_range(const engine::RunFilter& filter, std::string_view cursor,
                                 std::int64_t clock_slack_ms = 60'000);

// One row of the run list.
struct RunSummary {
  std::string id;
  std::string workflow;
  std::string status;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  engine::RunMetadata metadata;
  std::int64_t run_at_ms = 0;  // a delayed run's start (0: started on submit)
};

// Whether a run (as read from its hash) matches every condition of `filter`.
[[nodiscard]] bool matches(const engine::RunFilter& filter, const RunSummary& run);

struct RunPage {
  std::vector<RunSummary> runs;  // newest first
  // The cursor of the next page (a run id: the page continues below it);
  // empty when no run is left. A page may hold fewer than `limit` runs and a
  // cursor when it stopped after examining `kListExamineBudget` runs.
  std::string next_cursor;
};

// How many ids a list reads per partition in its first round: the page and
// one more (to know whether a next page exists) when the index it walks holds
// exactly the runs the filter selects (no condition; only a workflow, one
// metadata pair, or status failed or cancelled: creation bounds only trim the
// edges), else twice the page (at least 64), as the filter will reject some.
// At most 1000.
[[nodiscard]] std::size_t list_first_chunk(const engine::RunFilter& filter, std::size_t limit);

// Index entries one list request examines at most (HMGET of their runs).
inline constexpr std::size_t kListExamineBudget = 5000;

// The runs matching `filter`, newest first, at most `limit` (>= 1), below
// `cursor` (a run id; empty = from the newest). Stable under concurrent
// writes: a run submitted meanwhile has a newer id and never shifts a page.
// Index entries whose run is gone (its TTL fired with no worker to run the
// retention) are removed from the index walked.
boost::asio::awaitable<RunPage> list_runs(redis::Client& client, const KeySpace& keys,
                                          const engine::RunFilter& filter, std::size_t limit,
                                          std::string_view cursor);

}  // namespace steadfast::store
