// Durations as people write them in workflows files and on command lines.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace steadfast::engine {

// "250ms", "5s", "2m", "1h", "1.5s", "0s": digits, an optional fraction, a
// unit (ms, s, m, h), nothing else. The result must be a whole number of
// milliseconds. Throws std::invalid_argument naming the text for a bare
// number, a negative value, an unknown unit or an overflow.
[[nodiscard]] std::chrono::milliseconds parse_duration(std::string_view text);

// For messages: "1h0m", "2h5m30s", "5m0s", "12s", "1.5s", "250ms", "0s".
// A negative duration prints as "0s".
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

}  // namespace steadfast::engine
