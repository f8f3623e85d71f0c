#include "config/workflows_file.h"
#include "engine/duration.h"

namespace steadfast::config {

// The parser lives in the engine so that step kinds (which config depends on)
// read their `timeout:` parameters with the same rules.
std::chrono::milliseconds parse_duration(std::string_view text) {
  return engine::parse_duration(text);
}

}  // namespace steadfast::config
