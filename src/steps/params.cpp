#include "steps/params.h"

#include <limits>
#include <stdexcept>

#include "engine/duration.h"
#include "engine/quote.h"

namespace steadfast::steps {

Params::Params(std::string_view kind, const Json& with) : kind_(kind), with_(with) {
  if (!with_.is_null() && !with_.is_object()) {
    throw std::invalid_argument(kind_ + ": key 'with': expected a map of parameters, got " +
                                with_.type_name());
  }
}

void Params::fail(std::string_view key, const std::string& what) const {
  throw std::invalid_argument(kind_ + ": key " + engine::quote(key) + ": " + what);
}

const Json* Params::lookup(std::string_view key) {
  read_.emplace(key);
  if (with_.is_null()) return nullptr;
  const auto it = with_.find(key);
  return it == with_.end() ? nullptr : &*it;
}

std::int64_t Params::integer(std::string_view key, std::optional<std::int64_t> fallback,
                             std::int64_t min, std::int64_t max) {
  const Json* value = lookup(key);
  if (value == nullptr) {
    if (!fallback) fail(key, "is required");
    return *fallback;
  }
  const std::string range = " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (!value->is_number_integer()) {
    fail(key, "expected an integer" + range + ", got " + value->type_name() + " " + value->dump());
  }
  if (value->is_number_unsigned() &&
      value->get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    fail(key, "expected an integer" + range + ", got " + value->dump());
  }
  const auto number = value->get<std::int64_t>();
  if (number < min || number > max) {
    fail(key, "expected an integer" + range + ", got " + std::to_string(number));
  }
  return number;
}

bool Params::boolean(std::string_view key, std::optional<bool> fallback) {
  const Json* value = lookup(key);
  if (value == nullptr) {
    if (!fallback) fail(key, "is required");
    return *fallback;
  }
  if (!value->is_boolean()) {
    fail(key,
         std::string("expected true or false, got ") + value->type_name() + " " + value->dump());
  }
  return value->get<bool>();
}

std::string Params::string(std::string_view key, std::optional<std::string> fallback) {
  const Json* value = lookup(key);
  if (value == nullptr) {
    if (!fallback) fail(key, "is required");
    return *fallback;
  }
  if (!value->is_string()) {
    fail(key, std::string("expected a string, got ") + value->type_name() + " " +
                  engine::quote(value->dump(), 100));
  }
  return value->get<std::string>();
}

std::chrono::milliseconds Params::duration(std::string_view key,
                                           std::optional<std::chrono::milliseconds> fallback,
                                           std::chrono::milliseconds min,
                                           std::chrono::milliseconds max) {
  const Json* value = lookup(key);
  if (value == nullptr) {
    if (!fallback) fail(key, "is required");
    return *fallback;
  }
  const std::string range =
      " in [" + std::to_string(min.count()) + "ms, " + std::to_string(max.count()) + "ms]";
  if (!value->is_string()) {
    fail(key, std::string("expected a duration like \"30s\"") + range + ", got " +
                  value->type_name() + " " + engine::quote(value->dump(), 100));
  }
  std::chrono::milliseconds d{0};
  try {
    d = engine::parse_duration(value->get_ref<const std::string&>());
  } catch (const std::invalid_argument& e) {
    fail(key, e.what());
  }
  if (d < min || d > max) fail(key, "expected a duration" + range + ", got " + std::to_string(d.count()) + "ms");
  return d;
}

const Json* Params::raw(std::string_view key) { return lookup(key); }

void Params::finish() const {
  if (with_.is_null()) return;
  for (const auto& [key, value] : with_.items()) {
    if (!read_.contains(key)) fail(key, "unknown parameter");
  }
}

}  // namespace steadfast::steps
