#include <algorithm>
#include <chrono>
#include <thread>

#include "steps/params.h"
#include "steps/test_kinds.h"

namespace steadfast::steps {
namespace {

constexpr std::int64_t kMaxSleepMs = 24LL * 60 * 60 * 1000;
// How late a sleeping step notices cancellation, at most.
constexpr std::chrono::milliseconds kSlice{10};

}  // namespace

StepHandler sleep_kind(const Json& with) {
  Params params("sleep", with);
  const std::int64_t ms = params.integer("ms", std::nullopt, 0, kMaxSleepMs);
  params.finish();
  return [ms](StepContext& ctx) -> StepResult {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::milliseconds{ms};
    for (auto now = clock::now(); now < deadline; now = clock::now()) {
      if (ctx.cancelled()) return StepError::retryable("cancelled");
      std::this_thread::sleep_for(std::min<clock::duration>(kSlice, deadline - now));
    }
    if (ctx.cancelled()) return StepError::retryable("cancelled");
    return Json{{"slept_ms", ms}};
  };
}

}  // namespace steadfast::steps
