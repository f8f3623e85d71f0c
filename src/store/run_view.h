// Reading a run hash (HGETALL's flat field/value list) into a RunInfo.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "redis/reply.h"
#include "steadfast/run.h"

namespace steadfast::store {

using Fields = std::unordered_map<std::string, std::string>;

// From an HGETALL reply (or a nested flat array). Throws redis::ProtocolError
// for an odd-sized array.
[[nodiscard]] Fields to_fields(const redis::Reply& flat);

// The run's view; JSON fields that fail to parse are kept as strings.
[[nodiscard]] RunInfo to_run_info(std::string_view run_id, const Fields& fields);

[[nodiscard]] std::string iso8601_ms(std::int64_t unix_ms);

}  // namespace steadfast::store
