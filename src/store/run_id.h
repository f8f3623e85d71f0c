// Run ids: ULIDs (26 Crockford base32 characters: 48 bits of Unix ms, then 80
// random bits), so ids sort by creation time. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace steadfast::store {

[[nodiscard]] std::string new_run_id();

// The run id of the child a child workflow step starts (ChildSpec): a
// function of the parent's id and the token holder ("step", or "step[k]"
// for item k of a map step), so a step claimed again finds the child it
// started. It keeps the parent's time part (children sort beside their
// parent) and its random part comes from the SHA-1 of
// "<parent>:<step>[:<k>]:<n>", n counting up from 0 until the id falls in
// the parent's partition of `keys` (one script writes both runs).
class KeySpace;
[[nodiscard]] std::string child_run_id(const KeySpace& keys, std::string_view parent_id, std::string_view holder);

// True for a well-formed run id (what new_run_id makes). Checked before an id
// from a user reaches a key.
[[nodiscard]] bool is_valid_run_id(std::string_view id) noexcept;

// A run id as a user may type it: in any case (Crockford base32 is
// case-insensitive), so upper-cased. Check it with is_valid_run_id.
[[nodiscard]] std::string canonical_run_id(std::string_view text);

// The 10-character time part of the run ids made at `unix_ms` (clamped to
// 0..2^48-1): every such id starts with it, an id of an earlier ms sorts
// before it and one of a later ms after it — a bound for ZRANGE ... BYLEX.
[[nodiscard]] std::string run_id_time_prefix(std::int64_t unix_ms);

}  // namespace steadfast::store
