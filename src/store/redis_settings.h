// Checks of the Redis server's settings that decide whether runs survive:
// `maxmemory-policy` must be `noeviction` (an evicted run hash or stream entry
// is a lost run), and `appendonly` should be `yes` (without AOF a Redis restart
// loses everything since the last RDB snapshot).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "redis/client.h"

namespace steadfast::store {

struct RedisSettings {
  // nullopt when neither INFO nor CONFIG GET is permitted (ACL, renamed command).
  std::optional<std::string> maxmemory_policy;
  std::optional<std::string> appendonly;  // "yes" or "no"
  std::string config_error;  // Redis' refusals of INFO and CONFIG GET, if both were refused
};

// Reads the settings with INFO memory / INFO persistence (no secrets in them:
// an ACL user needs only +info), else with CONFIG GET; refusals are reported in
// config_error, not thrown. Throws the client's errors for I/O failures.
boost::asio::awaitable<RedisSettings> read_redis_settings(redis::Client& client);

// Thrown by durability_warnings when the server evicts keys and that was not allowed.
class EvictionPolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Human-readable warnings for settings that put runs at risk (AOF off, CONFIG
// not readable, an evicting policy that was allowed). Throws
// EvictionPolicyError for an evicting policy unless allow_eviction.
[[nodiscard]] std::vector<std::string> durability_warnings(const RedisSettings& settings,
                                                           bool allow_eviction);

}  // namespace steadfast::store
