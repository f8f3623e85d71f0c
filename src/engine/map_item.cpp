#include "engine/map_item.h"

#include <charconv>

namespace steadfast::engine {

std::string item_step(std::string_view step, std::int64_t index) {
  std::string out(step);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

std::optional<MapItem> parse_item_step(std::string_view token_step) {
  const std::size_t open = token_step.find('[');
  if (open == std::string_view::npos || open == 0 || token_step.size() < open + 3 || token_step.back() != ']') {
    return std::nullopt;
  }
  const std::string_view digits = token_step.substr(open + 1, token_step.size() - open - 2);
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  std::int64_t index = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size() || index < 0) return std::nullopt;
  return MapItem{std::string(token_step.substr(0, open)), index};
}

}  // namespace steadfast::engine
