// When a submitted run starts (../shared/CONTRACTS.md §3): at once, after a
// `delay`, or at `run_at`. Pure: the bounds that need Redis time (a run_at
// in the past, or more than a year ahead) are checked by submit.lua.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "steadfast/json.h"

namespace steadfast::engine {

// The furthest a run may be scheduled ahead, as a delay or a run_at.
inline constexpr std::chrono::milliseconds kMaxScheduleAhead{std::chrono::hours(24 * 365)};

// How far in the past a run_at may lie (by Redis time at submit) and still be
// taken, starting at once: the submitter's and Redis' clocks differ a little,
// and a request takes time to arrive. Earlier than that is refused.
inline constexpr std::chrono::milliseconds kRunAtPastGrace{1000};

// At most one of the two is set; both unset = start at once.
struct StartTime {
  std::chrono::milliseconds delay{0};  // from Redis time at submit; 0 = none
  std::int64_t run_at_ms = 0;          // Unix ms (Redis time); 0 = none

  [[nodiscard]] bool deferred() const noexcept { return delay.count() > 0 || run_at_ms > 0; }
  // What an idempotent repeat must match: "" when not deferred, else
  // "delay:<ms>" or "run_at:<ms>".
  [[nodiscard]] std::string fingerprint() const;
};

// A field of the request that is wrong, as a JSON pointer ("/delay").
struct StartTimeError : std::invalid_argument {
  StartTimeError(std::string pointer, const std::string& what)
      : std::invalid_argument(what), field(std::move(pointer)) {}
  std::string field;
};

// Checks a delay: 0 to kMaxScheduleAhead. Throws StartTimeError("/delay").
void check_delay(std::chrono::milliseconds delay);

// From the text forms of the CLI and the HTTP body: `delay` a duration
// ("10m", engine/duration.h), `run_at` RFC 3339 ("2026-12-24T08:00:00Z");
// empty = not given. Throws StartTimeError naming "/delay" or "/run_at" (or
// "/run_at" for both given: "give delay or run_at, not both").
[[nodiscard]] StartTime parse_start_time(const std::string& delay, const std::string& run_at);

// From a submit body's members "delay" and "run_at" (each absent, or a
// string); other members are the caller's. Throws StartTimeError.
[[nodiscard]] StartTime start_time_from_json(const Json& body);

}  // namespace steadfast::engine
