#include <algorithm>
#include <chrono>
#include <thread>

#include "steps/params.h"
#include "steps/test_kinds.h"

namespace steadfast::steps {
namespace {

constexpr std::int64_t kMaxSleepMs = 24LL * 60 * 60 * 1000;

}  // namespace

StepHandler sleep_kind(const Json& with) {
  Params params("sleep", with);
  const std::int64_t ms = params.integer("ms", std::nullopt, 0, kMaxSleepMs);
  params.finish();
  return [ms](StepContext& ctx) -> StepResult {
    // One wait, woken early by cancellation (not a polling loop: 200 sleeping
    // steps would otherwise wake the machine 20,000 times a second).
    if (ctx.wait_cancelled_for(std::chrono::milliseconds{ms})) return StepError::retryable("cancelled");
    return Json{{"slept_ms", ms}};
  };
}

}  // namespace steadfast::steps
