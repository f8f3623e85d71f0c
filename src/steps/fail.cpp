#include <limits>
#include <string>

#include "steps/params.h"
#include "steps/test_kinds.h"

namespace steadfast::steps {

StepHandler fail_kind(const Json& with) {
  Params params("fail", with);
  const auto times =
      static_cast<int>(params.integer("times", std::nullopt, 0, std::numeric_limits<int>::max()));
  const bool fatal = params.boolean("fatal", false);
  params.finish();
  return [times, fatal](StepContext& ctx) -> StepResult {
    const int attempt = ctx.attempt();
    if (attempt <= times) {
      std::string message =
          "injected failure " + std::to_string(attempt) + " of " + std::to_string(times);
      return fatal ? StepError::fatal(std::move(message))
                   : StepError::retryable(std::move(message));
    }
    return Json{{"attempt", attempt}};
  };
}

}  // namespace steadfast::steps
