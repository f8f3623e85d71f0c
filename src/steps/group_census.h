// Which process groups still have a live member, for many `exec` programs at
// once. Looking is a walk of /proc (a system call per process on the
// machine), which at thousands of programs costs milliseconds, and every
// program that exits must be looked at (what it left running in its group is
// stopped). So one walk answers every group asked about since the walk
// before, and walks are spaced: at least kMinSpacing apart and at least four
// times as long apart as the last walk took, which bounds the walks to about
// a fifth of the loop's thread however many programs exit.
//
// Only for groups whose leader has exited and is not reaped (the caller's
// Child): such a group, once without a live member, gains none, so "gone" is
// final; "live" may be stale and is asked again.
//
// Not thread-safe: one per ProcessLoop thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace steadfast::steps {

class GroupCensus {
 public:
  using Clock = std::chrono::steady_clock;
  // The groups of `asked` that have a live member.
  using Walk = std::function<std::vector<pid_t>(std::span<const pid_t> asked)>;

  static constexpr std::chrono::milliseconds kMinSpacing{5};

  // `walk` defaults to proc::groups_with_live_members; `clock` to Clock::now
  // (tests pass their own of both).
  explicit GroupCensus(Walk walk = {}, std::function<Clock::time_point()> clock = {});

  // Whether `group` has a live member: known when a walk after the first ask
  // has looked (it walks now when one is due); nullopt until then: ask again
  // at next_walk(). An answer is handed out once.
  std::optional<bool> live(pid_t group);

  // When the next walk may run (the time of the last walk plus its spacing).
  [[nodiscard]] Clock::time_point next_walk() const noexcept { return next_walk_; }

  // The caller no longer asks about `group` (its leader was reaped: the id
  // may name another group soon). Drops a pending question or answer.
  void forget(pid_t group);

  // Walks so far.
  [[nodiscard]] int walks() const noexcept { return walks_; }

 private:
  Walk walk_;
  std::function<Clock::time_point()> clock_;
  std::vector<pid_t> asked_;                 // for the next walk
  std::unordered_map<pid_t, bool> answers_;  // from the last walks, not yet handed out
  Clock::time_point next_walk_{};
  int walks_ = 0;
};

}  // namespace steadfast::steps
