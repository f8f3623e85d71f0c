// YAML nodes as JSON values, with YAML 1.2 core-schema scalars: a plain 123 is
// an integer, a quoted "123" stays a string; true/false, null/~, floats. Only
// the config library sees yaml-cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "steadfast/json.h"

namespace steadfast::config {

// A conversion failure at `mark`, about `key` (the nearest map key, or the
// caller's key for a top-level value).
class YamlError : public std::runtime_error {
 public:
  YamlError(YAML::Mark mark_, std::string key_, const std::string& what)
      : runtime_error(what), mark(mark_), key(std::move(key_)) {}
  YAML::Mark mark;
  std::string key;
};

// Shared by every conversion of one file, so that aliases cannot multiply it.
struct JsonBudget {
  std::size_t max_nodes;   // for messages
  std::size_t nodes_left;  // decremented by every value converted
  int max_depth;           // of nested maps and lists
};

// Resolves a scalar (or null) node per the core schema and its tag
// (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`; other tags are refused).
// Throws YamlError naming `key`.
[[nodiscard]] Json yaml_scalar_to_json(const YAML::Node& node, const std::string& key);

// Converts a whole tree. Map keys must be scalars and unique. Throws YamlError.
[[nodiscard]] Json yaml_to_json(const YAML::Node& node, const std::string& key, JsonBudget& budget);

}  // namespace steadfast::config
