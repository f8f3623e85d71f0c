#include "steps/params.h"

#include <limits>
#include <stdexcept>

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

void Params::finish() const {
  if (with_.is_null()) return;
  for (const auto& [key, value] : with_.items()) {
    if (!read_.contains(key)) fail(key, "unknown parameter");
  }
}

}  // namespace steadfast::steps
