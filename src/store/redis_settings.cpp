#include "store/redis_settings.h"

#include <algorithm>
#include <string_view>

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

// The value of `field` in INFO's "field:value" lines.
std::optional<std::string> info_field(std::string_view info, std::string_view field) {
  for (std::size_t at = 0; at < info.size();) {
    const std::size_t end = std::min(info.find('\n', at), info.size());
    std::string_view line = info.substr(at, end - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > field.size() && line.starts_with(field) && line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<RedisSettings> read_redis_settings(redis::Client& client) {
  RedisSettings s;
  // INFO first: it tells both settings and holds no secret, so a least-privilege
  // ACL user needs +info, not +config|get (which also reads masterauth and the
  // like). CONFIG GET is the fallback where INFO is renamed or denied.
  redis::Pipeline p;
  p.add("INFO", "memory");
  p.add("INFO", "persistence");
  // On a cluster, every primary: the weakest setting of any is the answer.
  const auto nodes = co_await client.exec_on_primaries(std::move(p));
  std::string info_error;
  for (const auto& replies : nodes) {
    for (const redis::Reply& r : replies) {
      if (r.is_error() && info_error.empty()) info_error = "INFO: " + std::string(r.str());
    }
  }
  if (info_error.empty()) {
    for (const auto& replies : nodes) {
      const auto policy = info_field(replies.at(0).str(), "maxmemory_policy");
      if (policy && (!s.maxmemory_policy || *s.maxmemory_policy == "noeviction")) s.maxmemory_policy = policy;
      if (auto aof = info_field(replies.at(1).str(), "aof_enabled")) {
        if (!s.appendonly || *s.appendonly == "yes") s.appendonly = *aof == "0" ? "no" : "yes";
      }
    }
    if (s.maxmemory_policy && s.appendonly) co_return s;
  }
  std::string config_error;
  s.maxmemory_policy = co_await config_get(client, "maxmemory-policy", config_error);
  s.appendonly = co_await config_get(client, "appendonly", config_error);
  if (!config_error.empty()) {
    s.config_error = (info_error.empty() ? "" : info_error + "; ") + "CONFIG GET: " + config_error;
  }
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
