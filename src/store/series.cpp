#include "store/series.h"

#include <charconv>
#include <stdexcept>

#include "redis/error.h"
#include "store/scripts.h"

namespace steadfast::store {

namespace {

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

boost::asio::awaitable<SeriesSampled> sample_series(redis::Client& client, const KeySpace& keys, int partition,
                                             const std::vector<std::string>& queues, std::int64_t hour) {
  std::vector<std::string> script_keys{keys.stats(partition), keys.series(partition, hour)};
  std::vector<std::string> args{std::to_string(hour), std::string(kGroup)};
  for (const std::string& q : queues) {
    script_keys.push_back(keys.queue(partition, q));
    args.push_back(q);
  }
  const redis::Reply r = co_await client.eval(scripts::series_sample(), script_keys, args);
  if (r.is_error()) throw redis::ServerError(std::string(r.str()));
  co_return SeriesSampled{r[0].str() != "hour", r[1].as_integer()};
}

boost::asio::awaitable<std::vector<engine::MinuteSamples>> read_series(redis::Client& client, const KeySpace& keys,
                                                                std::int64_t from_minute, std::int64_t to_minute) {
  if (from_minute > to_minute || to_minute - from_minute + 1 > kSeriesMaxMinutes) {
    throw std::invalid_argument("a series window is 1 to " + std::to_string(kSeriesMaxMinutes) + " minutes");
  }
  const std::int64_t first_hour = from_minute / 60;
  const std::int64_t last_hour = (to_minute + 1) / 60;
  redis::Pipeline reads;
  for (int p = 0; p < keys.partitions(); ++p) {
    for (std::int64_t h = first_hour; h <= last_hour; ++h) reads.add("HGETALL", keys.series(p, h));
  }
  const std::vector<redis::Reply> replies = co_await client.exec(std::move(reads));
  std::vector<engine::MinuteSamples> out(static_cast<std::size_t>(keys.partitions()));
  std::size_t i = 0;
  for (int p = 0; p < keys.partitions(); ++p) {
    for (std::int64_t h = first_hour; h <= last_hour; ++h, ++i) {
      const redis::Reply& r = replies[i];
      if (r.is_error()) throw redis::ServerError(std::string(r.str()));
      for (std::size_t k = 0; k + 1 < r.size(); k += 2) {
        const std::string_view field = r[k].str();
        const auto bar = field.find('|');
        if (bar == std::string_view::npos) continue;
        const auto minute = parse_int(field.substr(0, bar));
        const auto value = parse_int(r[k + 1].str());
        if (!minute || !value || *minute < from_minute || *minute > to_minute + 1) continue;
        out[static_cast<std::size_t>(p)][*minute][std::string(field.substr(bar + 1))] = *value;
      }
    }
  }
  co_return out;
}

boost::asio::awaitable<std::map<std::string, std::int64_t>> recent_queue_throughput(redis::Client& client,
                                                                                    const KeySpace& keys,
                                                                                    std::int64_t now_minute) {
  const std::int64_t from = now_minute - 3;
  const std::int64_t to = now_minute - 1;  // its end is the sample at now_minute
  const engine::Series s = engine::build_series(co_await read_series(client, keys, from, to), from, to, "");
  std::map<std::string, std::int64_t> out;
  for (const auto& [queue, per_minute] : s.queue_throughput) {
    if (const auto v = engine::latest(per_minute)) out[queue] = *v;
  }
  co_return out;
}

}  // namespace steadfast::store
