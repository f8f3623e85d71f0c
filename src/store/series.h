// The per-minute series in Redis (engine/series.h computes the counts): one
// HASH per partition and hour of minute samples (lua/series_sample.lua).
// Workers sample once a minute; the API reads the hours of a window.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/series.h"
#include "redis/client.h"
#include "store/keys.h"

namespace steadfast::store {

// The longest window a read may ask for, in minutes (the samples expire after 50 h).
inline constexpr std::int64_t kSeriesMaxMinutes = 48 * 60;

struct SeriesSampled {
  // false: `hour` was not Redis's (the caller's clock is off, or the hour just
  // turned); nothing was written, call again with redis_now_ms's hour.
  bool written = false;
  std::int64_t redis_now_ms = 0;
};

// Samples one partition's counters (if no one did this minute) and the depth
// of each of `queues` (names, in that partition) into the series hash of
// `hour` (Unix ms / 3600000).
boost::asio::awaitable<SeriesSampled> sample_series(redis::Client& client, const KeySpace& keys, int partition,
                                             const std::vector<std::string>& queues, std::int64_t hour);

// Every partition's samples of minutes [from_minute, to_minute + 1] (one
// pipelined HGETALL per partition and hour). Requires from <= to and a window
// of at most kSeriesMaxMinutes.
boost::asio::awaitable<std::vector<engine::MinuteSamples>> read_series(redis::Client& client, const KeySpace& keys,
                                                                std::int64_t from_minute, std::int64_t to_minute);

// Each sampled queue's entries delivered per minute, in the newest minute
// whose start and end were both sampled among the three before `now_minute`
// (Unix ms / 60000); a queue no one sampled then is absent.
boost::asio::awaitable<std::map<std::string, std::int64_t>> recent_queue_throughput(redis::Client& client,
                                                                                    const KeySpace& keys,
                                                                                    std::int64_t now_minute);

}  // namespace steadfast::store
