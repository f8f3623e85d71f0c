// What a worker believes of one partition's promoter duty (lua/duty.lua),
// and how each answer of duty.lua changes it. Pure: the promote loop
// (reclaim_promote.cpp) asks, these decide; tests/worker/promoter_duty_test.cpp.
#pragma once

#include <algorithm>
#include <chrono>

namespace steadfast::worker {

struct PromoterDuty {
  using Clock = std::chrono::steady_clock;
  using milliseconds = std::chrono::milliseconds;

  // How long a holder keeps a duty without renewing it: a stopped or killed
  // holder's partition waits at most about this long for another promoter.
  static constexpr milliseconds kLease{2000};
  // After a failed ask, the next one.
  static constexpr milliseconds kRetry{200};

  Clock::time_point held_until{};  // ours until then (the lease counted from the ask)
  Clock::time_point ask_at{};      // when to ask again: to renew ours, or to try for another's

  [[nodiscard]] bool held(Clock::time_point now) const noexcept { return now < held_until; }

  // duty.lua answered an ask sent at `asked`: ours (`held`) for a lease,
  // renewed every third of it; or another's with `left` of its lease, asked
  // again just after that ends (5 ms later; between 10 ms and a lease ahead).
  void answered(bool held_now, milliseconds left, Clock::time_point asked) noexcept {
    if (held_now) {
      held_until = asked + kLease;
      ask_at = asked + kLease / 3;
    } else {
      held_until = {};
      ask_at = asked + std::clamp(left + milliseconds(5), milliseconds(10), kLease);
    }
  }
  // The ask failed (Redis unreachable): what we held we keep believing until
  // its lease ends — promotion is idempotent, so a duty held twice costs a
  // poll, a duty dropped a delay — and we ask again soon.
  void failed(Clock::time_point asked) noexcept { ask_at = asked + kRetry; }
};

}  // namespace steadfast::worker
