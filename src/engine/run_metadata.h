// Run metadata (CONTRACTS.md §3): string pairs a submitter attaches to a run
// ("customer": "acme") to find it again — the run list, bulk actions and the
// DLQ purge filter on them. Immutable after submit. Pure: no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "steadfast/json.h"

namespace steadfast::engine {

using RunMetadata = std::map<std::string, std::string>;

inline constexpr std::size_t kMaxMetadataPairs = 16;
inline constexpr std::size_t kMaxMetadataValueBytes = 256;

// ^[A-Za-z0-9_.-]{1,64}$
[[nodiscard]] bool is_valid_metadata_key(std::string_view key) noexcept;

// Throws std::invalid_argument naming the first pair out of bounds: more than
// 16 pairs, a key outside ^[A-Za-z0-9_.-]{1,64}$, a value over 256 bytes.
// `what` starts the message ("metadata", "filter: metadata").
void check_run_metadata(const RunMetadata& metadata, std::string_view what = "metadata");

// From a JSON object of strings (the submit body's "metadata"), checked as
// above; null is no metadata. Throws std::invalid_argument for anything else.
[[nodiscard]] RunMetadata run_metadata_from_json(const Json& value);

// The run hash's `metadata` field (a JSON object of strings, written by
// submit.lua) as pairs; empty or unreadable is no metadata.
[[nodiscard]] RunMetadata stored_metadata(std::string_view field);

// `k=v` (the CLI's --meta); the value may hold '='. Throws
// std::invalid_argument when there is no '=' or the key is empty.
[[nodiscard]] std::pair<std::string, std::string> parse_metadata_pair(std::string_view text);

}  // namespace steadfast::engine
