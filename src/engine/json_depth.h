// Nesting depth of JSON from outside the engine. nlohmann parses and destroys
// values of any depth without recursion, but copying, comparing and dumping
// them recurse once per level: a value nested a few hundred thousand levels
// deep (a 1 MiB input, a step's stdout, an HTTP response) overflows the stack
// of whichever process touches it next. Such values are refused where they
// come in.
#pragma once

#include <string_view>

#include "steadfast/json.h"

namespace steadfast::engine {

// The deepest nesting accepted in a run's input or a step's output.
inline constexpr int kMaxJsonDepth = 512;

// True when the JSON text nests arrays and objects at most max_depth deep.
// A scan of the text (strings skipped), without parsing it: safe on any input,
// valid JSON or not.
[[nodiscard]] bool json_text_depth_within(std::string_view text, int max_depth) noexcept;

// The same for a value, without recursion.
[[nodiscard]] bool json_depth_within(const Json& value, int max_depth);

}  // namespace steadfast::engine
