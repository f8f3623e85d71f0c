// How an ordered queue hands out its steps: priorities first, then fair
// shares among the values of a fairness key (docs/architecture.md "Ordered
// queues"). A queue with no QueueOrder is plain FIFO.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace steadfast {

// A run's priority: 0 (lowest) to 9 (highest), default 5. On an ordered
// queue a higher priority is handed out first; on a plain queue it is only
// recorded.
inline constexpr int kMinPriority = 0;
inline constexpr int kMaxPriority = 9;
inline constexpr int kDefaultPriority = 5;

// A fairness key's weight: 1 to kMaxFairnessWeight.
inline constexpr int kMaxFairnessWeight = 1000;

struct QueueOrder {
  // The fairness key: a template over the run's input ("{{input.tenant}}").
  // Among the runs of one priority, every key value with steps waiting gets
  // its weight's share of the steps handed out, instead of first come first
  // served. A run whose template yields nothing (a missing field, "", null)
  // shares the key "". Empty = no fairness: priorities only.
  std::string fairness_key;
  // Key value -> weight (1..kMaxFairnessWeight); other values weigh 1.
  std::map<std::string, int> weights;
  // A step waiting longer than this counts one priority higher per interval
  // waited (so a low priority never starves). Zero = never.
  std::chrono::milliseconds aging{std::chrono::minutes(5)};
};

}  // namespace steadfast
