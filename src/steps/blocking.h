// A blocking StepHandler made of an asynchronous one: the calling thread
// waits until `done` (on whatever thread the work ends) hands the result.
#pragma once

#include "steadfast/step.h"

namespace steadfast::steps {

[[nodiscard]] StepHandler blocking(AsyncStepHandler async);

}  // namespace steadfast::steps
