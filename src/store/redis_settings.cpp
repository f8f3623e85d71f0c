#include "store/redis_settings.h"

namespace steadfast::store {

namespace asio = boost::asio;

namespace {

// CONFIG GET's reply: [name, value] (RESP2), empty when the setting is unknown.
asio::awaitable<std::optional<std::string>> config_get(redis::Client& client, const char* name,
                                                       std::string& error) {
  redis::Pipeline p;
  p.add("CONFIG", "GET", name);
  auto replies = co_await client.exec(std::move(p));
  const redis::Reply& r = replies.at(0);
  if (r.is_error()) {
    error = std::string(r.str());
    co_return std::nullopt;
  }
  if (!r.is_array() || r.size() < 2) co_return std::nullopt;
  co_return std::string(r[1].str());
}

}  // namespace

asio::awaitable<RedisSettings> read_redis_settings(redis::Client& client) {
  RedisSettings s;
  s.maxmemory_policy = co_await config_get(client, "maxmemory-policy", s.config_error);
  s.appendonly = co_await config_get(client, "appendonly", s.config_error);
  co_return s;
}

std::vector<std::string> durability_warnings(const RedisSettings& s, bool allow_eviction) {
  std::vector<std::string> out;
  if (!s.config_error.empty()) {
    out.push_back("cannot read the Redis settings (" + s.config_error +
                  "); make sure maxmemory-policy is noeviction and appendonly is yes");
  }
  if (s.maxmemory_policy && *s.maxmemory_policy != "noeviction") {
    const std::string what = "Redis maxmemory-policy is '" + *s.maxmemory_policy +
                             "': under memory pressure Redis deletes keys, and runs with them";
    if (!allow_eviction) {
      throw EvictionPolicyError(what + " (set it to noeviction, or pass --allow-eviction)");
    }
    out.push_back(what + " (allowed by --allow-eviction)");
  }
  if (s.appendonly && *s.appendonly == "no") {
    out.push_back("Redis appendonly is 'no': a Redis restart loses the runs written since its "
                  "last snapshot (set appendonly yes)");
  }
  return out;
}

}  // namespace steadfast::store
