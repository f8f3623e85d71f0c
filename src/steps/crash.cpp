#include <spdlog/spdlog.h>

#include <cstdlib>
#include <limits>

#include "steps/params.h"
#include "steps/test_kinds.h"

namespace steadfast::steps {

StepHandler crash_kind(const Json& with) {
  Params params("crash", with);
  const auto times =
      static_cast<int>(params.integer("times", std::nullopt, 0, std::numeric_limits<int>::max()));
  params.finish();
  return [times](StepContext& ctx) -> StepResult {
    const int attempt = ctx.attempt();
    if (attempt <= times) {
      ctx.log("crash: aborting the worker process on purpose (attempt " + std::to_string(attempt) +
              " of " + std::to_string(times) + ")");
      spdlog::default_logger()->flush();
      std::abort();
    }
    return Json{{"attempt", attempt}};
  };
}

}  // namespace steadfast::steps
