// The JSON type of steadfast's public API: nlohmann::json, which users know.
#pragma once

#include <nlohmann/json.hpp>

namespace steadfast {
using Json = nlohmann::json;
}  // namespace steadfast
