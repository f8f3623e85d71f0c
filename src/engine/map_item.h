// The items of a map step (MapSpec) as the store names them: item k of step
// "summarize" is the token step "summarize[k]" (k from 0, decimal, no
// leading zeros), so that every per-step field (s.<step>.status, .attempts,
// .base, .entry, ...), timer and stream entry of the runtime works for an
// item unchanged. Step names cannot hold '[' (is_valid_name), so the two
// never collide. lib.lua's sf_item_of reads the same form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace steadfast::engine {

struct MapItem {
  std::string step;     // the map step's name
  std::int64_t index = 0;

  friend bool operator==(const MapItem&, const MapItem&) = default;
};

// "step[index]".
[[nodiscard]] std::string item_step(std::string_view step, std::int64_t index);

// The item a token's step names, or nullopt for a plain step name (or any
// text not of the form above).
[[nodiscard]] std::optional<MapItem> parse_item_step(std::string_view token_step);

}  // namespace steadfast::engine
