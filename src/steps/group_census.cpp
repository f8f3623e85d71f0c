#include "steps/group_census.h"

#include <algorithm>
#include <utility>

#include "proc/child.h"

namespace steadfast::steps {

GroupCensus::GroupCensus(Walk walk, std::function<Clock::time_point()> clock)
    : walk_(walk ? std::move(walk) : Walk(proc::groups_with_live_members)),
      clock_(clock ? std::move(clock) : std::function<Clock::time_point()>(&Clock::now)) {}

std::optional<bool> GroupCensus::live(pid_t group) {
  if (const auto it = answers_.find(group); it != answers_.end()) {
    const bool answer = it->second;
    answers_.erase(it);
    return answer;
  }
  if (std::find(asked_.begin(), asked_.end(), group) == asked_.end()) asked_.push_back(group);
  const Clock::time_point start = clock_();
  if (start < next_walk_) return std::nullopt;
  const std::vector<pid_t> found = walk_(asked_);
  const Clock::time_point end = clock_();
  ++walks_;
  next_walk_ = end + std::max<Clock::duration>(kMinSpacing, 4 * (end - start));
  for (const pid_t g : asked_) answers_[g] = std::find(found.begin(), found.end(), g) != found.end();
  asked_.clear();
  const bool answer = answers_.at(group);
  answers_.erase(group);
  return answer;
}

void GroupCensus::forget(pid_t group) {
  asked_.erase(std::remove(asked_.begin(), asked_.end(), group), asked_.end());
  answers_.erase(group);
}

}  // namespace steadfast::steps
