// Redis' own accounting, for measuring the engine from outside (`steadfast
// bench`): calls per command (INFO commandstats) and the server's CPU time
// (INFO cpu), and resetting them (CONFIG RESETSTAT). These are server-wide:
// every client of the server counts, not only one key prefix. On a Redis
// Cluster each is summed over (or sent to) every primary.
//
// Thread-safety: as redis::Client — call from the client's executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "redis/client.h"

namespace steadfast::store {

// Calls per command by Redis' lower-case name ("hget", "config|resetstat").
using CommandCalls = std::map<std::string, std::int64_t>;

// CONFIG RESETSTAT: zeroes the command statistics (itself then counts 1 call
// of "config|resetstat").
boost::asio::awaitable<void> reset_server_stats(redis::Client& client);

// Calls per command since the last reset, from INFO commandstats (this call
// itself counted in "info" from the next one on).
boost::asio::awaitable<CommandCalls> command_calls(redis::Client& client);

// Microseconds Redis spent in each command since the last reset (INFO
// commandstats' usec: commands a script calls count under their own name;
// the script's own Lua time is under "evalsha").
boost::asio::awaitable<CommandCalls> command_usec(redis::Client& client);

// The server's CPU time since it started, seconds: used_cpu_user +
// used_cpu_sys of INFO cpu (not reset by CONFIG RESETSTAT).
boost::asio::awaitable<double> server_cpu_seconds(redis::Client& client);

// One field of INFO commandstats text ("cmdstat_hget:calls=12,usec=..."; by
// default the calls) per command, subcommands with Redis' names
// ("config|resetstat"). Lines of other shapes are skipped.
[[nodiscard]] CommandCalls parse_commandstats(std::string_view info, std::string_view field = "calls");

// used_cpu_user + used_cpu_sys of INFO cpu text, seconds; a missing field counts 0.
[[nodiscard]] double parse_cpu_seconds(std::string_view info);

}  // namespace steadfast::store
