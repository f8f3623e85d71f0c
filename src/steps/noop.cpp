#include "steps/params.h"
#include "steps/test_kinds.h"

namespace steadfast::steps {

StepHandler noop_kind(const Json& with) {
  Params("noop", with).finish();
  return [](StepContext&) -> StepResult { return Json::object(); };
}

}  // namespace steadfast::steps
