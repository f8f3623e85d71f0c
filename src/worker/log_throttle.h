// Rate-limits the log lines of an error that recurs in a loop (a Redis that
// refuses every reclaim pass, say): at most one line per interval; the
// occurrences in between are counted and reported by the next line.
//
// Not thread-safe: one per loop, used from the worker's event loop only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace steadfast::worker {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  // interval: the least time between two lines; zero = every occurrence is logged.
  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  // Records one occurrence at `now`. Returns the number of occurrences left
  // unlogged since the last line when this one should be logged, else
  // nullopt (it is counted for the next line).
  [[nodiscard]] std::optional<std::uint64_t> admit(Clock::time_point now) {
    if (logged_once_ && now - last_ < interval_) {
      ++suppressed_;
      return std::nullopt;
    }
    logged_once_ = true;
    last_ = now;
    const std::uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  Clock::duration interval_;
  Clock::time_point last_{};
  bool logged_once_ = false;
  std::uint64_t suppressed_ = 0;
};

}  // namespace steadfast::worker
