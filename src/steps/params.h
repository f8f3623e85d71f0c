// Reading a step kind's `with` parameters strictly: wrong types, values out of
// range and unknown keys are errors that name the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "steadfast/json.h"

namespace steadfast::steps {

// Throws std::invalid_argument("<kind>: key '<key>': ...") on every error.
// Every key a kind accepts must be read before finish(), which rejects the rest.
class Params {
 public:
  // `with` must be an object or null (= no parameters).
  Params(std::string_view kind, const Json& with);

  // An integer in [min, max]; `fallback` when absent (nullopt = required).
  [[nodiscard]] std::int64_t integer(std::string_view key, std::optional<std::int64_t> fallback,
                                     std::int64_t min, std::int64_t max);
  // A boolean; `fallback` when absent (nullopt = required).
  [[nodiscard]] bool boolean(std::string_view key, std::optional<bool> fallback);
  // A string; `fallback` when absent (nullopt = required).
  [[nodiscard]] std::string string(std::string_view key, std::optional<std::string> fallback);
  // A duration string ("250ms", "30s", see engine/duration.h) in [min, max];
  // `fallback` when absent (nullopt = required).
  [[nodiscard]] std::chrono::milliseconds duration(std::string_view key,
                                                   std::optional<std::chrono::milliseconds> fallback,
                                                   std::chrono::milliseconds min,
                                                   std::chrono::milliseconds max);
  // The value as it is, for the kind to check; nullptr when absent.
  [[nodiscard]] const Json* raw(std::string_view key);

  // Throws like every reader: "<kind>: key '<key>': <what>".
  [[noreturn]] void fail(std::string_view key, const std::string& what) const;

  // Throws for the first key (in sorted order) that no reader asked for.
  void finish() const;

 private:
  const Json* lookup(std::string_view key);

  std::string kind_;
  const Json& with_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace steadfast::steps
