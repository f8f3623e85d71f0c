// Per-minute series for charts (GET /v1/stats/series), computed from the
// minute samples store/lua/series_sample.lua writes: cumulative counters per
// partition, so a minute's count is the next sample minus its own. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steadfast::engine {

// One partition's samples: minute (Unix ms / 60000) → field → value. Fields:
// "@" (the minute's counters were sampled), "<counter>:<workflow>" (cumulative;
// counter: submitted, completed, failed, retried), "depth:<queue>" and
// "read:<queue>" (the queue's consumer group's entries-read: cumulative).
using MinuteSamples = std::map<std::int64_t, std::map<std::string, std::int64_t>>;

// One value per minute of the window, oldest first; nullopt = unknown.
using PerMinute = std::vector<std::optional<std::int64_t>>;

struct Series {
  std::int64_t from_minute = 0;  // inclusive
  std::int64_t to_minute = 0;    // inclusive
  // counter → workflow → how many in each minute. A minute is unknown when a
  // partition lacks the sample at its start or at the next minute's (no worker
  // sampled then), or a counter went down (its stats were reset).
  std::map<std::string, std::map<std::string, PerMinute>> counts;
  // queue → entries (undelivered + pending) at the start of each minute,
  // summed over the partitions that sampled it; unknown when none did.
  std::map<std::string, PerMinute> queue_depth;
  // queue → entries delivered to workers in each minute (new entries read by
  // the consumer group; reclaims not counted), summed over the partitions
  // that sampled the queue at the minute's start and the next one's; unknown
  // when none did, or the count went down (the group was made again).
  std::map<std::string, PerMinute> queue_throughput;
};

// The newest known value of `values` (the latest minute first); nullopt if none.
[[nodiscard]] std::optional<std::int64_t> latest(const PerMinute& values);

// The counters a series holds, in the order a reply lists them.
inline constexpr std::string_view kSeriesCounters[] = {"submitted", "completed", "failed", "retried"};

// `partitions`: every partition's samples of at least [from_minute,
// to_minute + 1]. `workflow`: only this workflow's counts ("" = all).
// Requires from_minute <= to_minute.
[[nodiscard]] Series build_series(const std::vector<MinuteSamples>& partitions, std::int64_t from_minute,
                                  std::int64_t to_minute, std::string_view workflow);

}  // namespace steadfast::engine
