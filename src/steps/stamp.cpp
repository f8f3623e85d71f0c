#include <chrono>

#include "steps/params.h"
#include "steps/test_kinds.h"

namespace steadfast::steps {

StepHandler stamp_kind(const Json& with) {
  Params("stamp", with).finish();
  return [](StepContext&) -> StepResult {
    const auto now = std::chrono::steady_clock::now().time_since_epoch();
    return Json{{"started_ns", std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()}};
  };
}

}  // namespace steadfast::steps
