// What a cron schedule does about ticks it missed and about a run still going
// when the next tick comes: the `catch_up:` and `overlap:` options of a
// schedule in the workflows file.
#pragma once

#include <string_view>

namespace steadfast::engine {

// Ticks that came due while nothing fired them (the scheduler was down, or
// Redis was away). due_ticks() in engine/due_ticks.h applies it.
enum class CatchUp {
  none,  // fire no late tick; a tick is fired only on time
  one,   // fire the newest due tick, late or not; the older ones are skipped
  all,   // fire every due tick, oldest first, at most a bound (the oldest dropped)
};

// A tick comes while the run of the previous tick has not finished.
enum class Overlap {
  allow,            // start another run anyway
  skip,             // start nothing for this tick
  cancel_previous,  // cancel the running one, then start
};

// "none", "one", "all". Throws std::invalid_argument naming the value and the
// option: catch_up 'some': expected none, one or all.
[[nodiscard]] CatchUp parse_catch_up(std::string_view text);
[[nodiscard]] std::string_view to_string(CatchUp catch_up);

// "allow", "skip", "cancel_previous". Throws std::invalid_argument naming the
// value and the option: overlap 'queue': expected allow, skip or cancel_previous.
[[nodiscard]] Overlap parse_overlap(std::string_view text);
[[nodiscard]] std::string_view to_string(Overlap overlap);

}  // namespace steadfast::engine
