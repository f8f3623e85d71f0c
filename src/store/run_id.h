// Run ids: ULIDs (26 Crockford base32 characters: 48 bits of Unix ms, then 80
// random bits), so ids sort by creation time. Thread-safe.
#pragma once

#include <string>

namespace steadfast::store {

[[nodiscard]] std::string new_run_id();

// True for a well-formed run id (what new_run_id makes). Checked before an id
// from a user reaches a key.
[[nodiscard]] bool is_valid_run_id(std::string_view id) noexcept;

}  // namespace steadfast::store
