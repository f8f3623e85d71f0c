#include "steps/blocking.h"

#include <future>
#include <memory>
#include <utility>

namespace steadfast::steps {

StepHandler blocking(AsyncStepHandler async) {
  return [async = std::move(async)](StepContext& ctx) -> StepResult {
    // Shared with `done`, which may still be inside set_value when get() returns.
    auto result = std::make_shared<std::promise<StepResult>>();
    std::future<StepResult> ready = result->get_future();
    // Not owned: this call outlives the attempt's use of ctx.
    async(std::shared_ptr<StepContext>(std::shared_ptr<void>(), &ctx),
          [result](StepResult r) { result->set_value(std::move(r)); });
    return ready.get();
  };
}

}  // namespace steadfast::steps
