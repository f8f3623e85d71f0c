#include "engine/run_metadata.h"

#include <stdexcept>

namespace steadfast::engine {

bool is_valid_metadata_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void check_run_metadata(const RunMetadata& metadata, std::string_view what) {
  const std::string w(what);
  if (metadata.size() > kMaxMetadataPairs) {
    throw std::invalid_argument(w + ": at most 16 pairs, not " + std::to_string(metadata.size()));
  }
  for (const auto& [key, value] : metadata) {
    if (!is_valid_metadata_key(key)) {
      throw std::invalid_argument(w + ": key '" + key.substr(0, 64) + "' must match ^[A-Za-z0-9_.-]{1,64}$");
    }
    if (value.size() > kMaxMetadataValueBytes) {
      throw std::invalid_argument(w + ": the value of " + key + " exceeds 256 bytes (" +
                                  std::to_string(value.size()) + ")");
    }
  }
}

RunMetadata run_metadata_from_json(const Json& value) {
  RunMetadata out;
  if (value.is_null()) return out;
  if (!value.is_object()) throw std::invalid_argument("metadata must be an object of strings");
  if (value.size() > kMaxMetadataPairs) {
    throw std::invalid_argument("metadata: at most 16 pairs, not " + std::to_string(value.size()));
  }
  for (const auto& [k, v] : value.items()) {
    if (!v.is_string()) {
      throw std::invalid_argument("metadata: the value of " + k.substr(0, 64) + " must be a string");
    }
    out[k] = v.get<std::string>();
  }
  check_run_metadata(out);
  return out;
}

RunMetadata stored_metadata(std::string_view field) {
  RunMetadata out;
  if (field.empty()) return out;
  const Json j = Json::parse(field, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

std::pair<std::string, std::string> parse_metadata_pair(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw std::invalid_argument("metadata: expected KEY=VALUE, not '" + std::string(text.substr(0, 64)) + "'");
  }
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

}  // namespace steadfast::engine
