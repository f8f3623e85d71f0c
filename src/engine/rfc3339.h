// Timestamps as the status JSON shows them: RFC 3339 in UTC with milliseconds.
#pragma once

#include <cstdint>
#include <string>

namespace steadfast::engine {

// "2026-12-02T10:00:00.000Z" for `unix_ms` (ms since the Unix epoch, Redis
// TIME). Years 1970..9999; outside them (a negative time, say) throws
// std::out_of_range naming the value.
[[nodiscard]] std::string rfc3339_ms(std::int64_t unix_ms);

}  // namespace steadfast::engine
