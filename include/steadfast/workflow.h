// Workflows: named, ordered steps, each with a handler and its options.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "steadfast/step.h"

namespace steadfast {

// Delay before attempt n+1 after a failed attempt n (n >= 1):
//   d = min(max, initial * multiplier^(n-1)); with full jitter, uniform in [0, d].
struct Backoff {
  std::chrono::milliseconds initial{1000};
  double multiplier = 2.0;
  std::chrono::milliseconds max{60000};
  bool full_jitter = false;
};

struct RetryPolicy {
  int max_attempts = 3;  // total attempts, the first included; 1 = never retry
  Backoff backoff;
};

struct StepOptions {
  RetryPolicy retry;
  // Wall time one attempt may run; the handler is then cancelled and the
  // attempt fails as retryable. Zero = no limit.
  std::chrono::milliseconds timeout{0};
  // How long a worker owns the step without renewing; the owner renews every
  // lease/3, others reclaim it after a full lease without renewal.
  std::chrono::milliseconds lease{30000};
  // The stream the step's entries go to; workers choose queues with --queues.
  std::string queue = "default";
};

// The shortest lease a step may have: renewals every lease/3 must have time
// to reach Redis.
inline constexpr std::chrono::milliseconds kMinLease{100};

// Longest workflow, step or queue name, in bytes.
inline constexpr std::size_t kMaxNameLength = 64;

struct StepDefinition {
  std::string name;
  StepHandler handler;
  StepOptions options;
};

// Names (workflow, step, queue) match ^[A-Za-z0-9_-]{1,64}$; they become parts
// of Redis keys. Not thread-safe to modify; safe to share once built.
class Workflow {
 public:
  // Throws std::invalid_argument for a bad name.
  explicit Workflow(std::string name);

  // Appends a step. Throws std::invalid_argument for a bad or duplicate name,
  // an empty handler, max_attempts < 1, a negative duration, a lease under
  // kMinLease, a backoff multiplier under 1 (or not finite) or a bad queue name.
  Workflow& step(std::string name, StepHandler handler, StepOptions options = {});

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::vector<StepDefinition>& steps() const noexcept { return steps_; }
  // Index of the step named `name`, or -1.
  [[nodiscard]] int index_of(std::string_view name) const noexcept;

 private:
  std::string name_;
  std::vector<StepDefinition> steps_;
};

// True when name matches ^[A-Za-z0-9_-]{1,64}$.
[[nodiscard]] bool is_valid_name(std::string_view name) noexcept;

}  // namespace steadfast
