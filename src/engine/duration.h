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

// The same notation back, largest units first, zero parts left out:
// 86400000 -> "24h", 5400000 -> "1h30m", 1500 -> "1s500ms", 0 -> "0s".
// parse_duration() reads every form this writes only when it has one unit;
// this is for messages. Negative values get a leading '-'.
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

}  // namespace steadfast::engine
